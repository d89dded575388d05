import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import { h2RequestHeaders, MAX_RESENDS, oneLine } from '../../src/transport/h2-shared';
import { createH2Transport } from '../../src/transport/h2-transport';
import { kindOfH2Code } from '../../src/transport/h2-wire/session';
import { createFastH2Transport } from '../../src/transport/h2-fast-transport';
import type { Connection, RequestTemplate, Transport } from '../../src/transport/transport';
import type { Outcome } from '../../src/model/outcome';
import { transportForPlan } from '../../src/engine/transport-for-plan';
import { meshloadVersion } from '../../src/util/version';
import { respond, startH2Server, type H2Script, type H2Server } from '../helpers/h2-server';
import { loadPlan } from '../helpers/load-plan';
import { freePort, nginxBinary, startNginx, type RunningNginx } from '../helpers/nginx';
import { haveOpenssl, makeSelfSignedCert, type SelfSignedCert } from '../helpers/self-signed-cert';
import { send, sendMany, template } from '../helpers/transport-harness';

const UA = `meshload/${meshloadVersion()}`;
const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
/** meshload's multiplexed mode: Connections as streams sharing a session (the default is Fortio's one session each). */
const MULTIPLEX = { h2Multiplex: true } as const;
const OVERFLOW_TEXT = 'upstream connect error or disconnect/reset before headers. reset reason: overflow';

const cleanups: Array<() => Promise<void> | void> = [];

type CreateTransport = (template: RequestTemplate) => Transport;
const TRANSPORTS: Array<{ name: string; create: CreateTransport; ownFraming: boolean }> = [
  { name: 'node:http2 transport', create: createH2Transport, ownFraming: false },
  { name: 'h2-wire transport (-h2)', create: createFastH2Transport, ownFraming: true },
];
/** The transport under test; the CLI runs at the end use what -h2 selects. */
let createTransport: CreateTransport = createFastH2Transport;

afterEach(async () => {
  // Transports first (they hold client sessions), then the servers.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});


function transport(url: string, overrides: Partial<RequestTemplate> = {}): Transport {
  const created = createTransport(template(url, overrides));
  cleanups.push(() => created.close());
  return created;
}



function socketsOf(connections: Connection[]): number {
  return connections.reduce((sum, c) => sum + c.socketsOpened, 0);
}

async function server(script: H2Script, tls?: SelfSignedCert): Promise<H2Server> {
  const started = await startH2Server(script, tls);
  cleanups.push(() => started.close());
  return started;
}

/** Routes by path: /status/NNN, /echo (the request body back), /envoy-overflow, /envoy-ok, /refuse,
 * /silent (never answers). */
const routes: H2Script = (stream, headers) => {
  const path = String(headers[':path']).split('?')[0] ?? '';
  const status = /^\/status\/(\d{3})/.exec(path);
  if (status !== null) return respond(stream, Number(status[1]));
  if (path === '/echo') {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => respond(stream, 200, Buffer.concat(chunks).toString('latin1')));
    return;
  }
  if (path === '/envoy-overflow') {
    return respond(stream, 503, OVERFLOW_TEXT, { server: 'envoy', 'x-envoy-overloaded': 'true', 'content-type': 'text/plain' });
  }
  if (path === '/envoy-ok') return respond(stream, 200, 'fine', { 'x-envoy-upstream-service-time': '3' });
  if (path === '/refuse') return stream.close(NGHTTP2_REFUSED_STREAM);
  if (path === '/silent') return;
  respond(stream, 404, 'no route');
};

function ok(status: number, extra: Partial<Outcome> = {}): Partial<Outcome> {
  return { status, errorKind: undefined, errorMessage: undefined, ...extra };
}

function failed(kind: Outcome['errorKind']): Partial<Outcome> {
  return { status: -1, errorKind: kind, headerBytes: 0, bodyBytes: 0 };
}

describe('h2RequestHeaders', () => {
  it('derives the pseudo-headers from the URL and adds User-Agent', () => {
    expect(h2RequestHeaders(template('http://example.com:8080/a/b?x=1&y=2#frag'))).toEqual({
      ':method': 'GET',
      ':scheme': 'http',
      ':authority': 'example.com:8080',
      ':path': '/a/b?x=1&y=2',
      'user-agent': UA,
    });
    expect(h2RequestHeaders(template('https://example.com:443'))).toMatchObject({ ':scheme': 'https', ':authority': 'example.com', ':path': '/' });
    expect(h2RequestHeaders(template('http://[::1]:9/'))).toMatchObject({ ':authority': '[::1]:9' });
  });

  it('lower-cases user headers, joins repeats, drops HTTP/1-only ones, takes Host as :authority', () => {
    const headers = h2RequestHeaders(
      template('http://10.0.0.1/', {
        method: 'DELETE',
        headers: [
          ['Host', 'svc.local'],
          ['X-Tag', 'a'],
          ['x-tag', 'b'],
          ['Connection', 'close'],
          ['Keep-Alive', 'timeout=5'],
          ['Proxy-Connection', 'keep-alive'],
          ['Transfer-Encoding', 'chunked'],
          ['Upgrade', 'h2c'],
          ['TE', 'gzip'],
          ['User-Agent', 'fortio.org/fortio-1.69'],
        ],
      }),
    );
    expect(headers).toEqual({
      ':method': 'DELETE',
      ':scheme': 'http',
      ':authority': 'svc.local',
      ':path': '/',
      'x-tag': ['a', 'b'],
      'user-agent': 'fortio.org/fortio-1.69',
    });
    expect(h2RequestHeaders(template('http://h/', { headers: [['TE', 'trailers']] }))).toMatchObject({ te: 'trailers' });
  });

  it('adds content-length only when there is a body', () => {
    expect(h2RequestHeaders(template('http://h/', { method: 'POST', body: Buffer.from('abc') }))['content-length']).toBe('3');
    expect(h2RequestHeaders(template('http://h/', { method: 'POST' }))['content-length']).toBeUndefined();
    expect(h2RequestHeaders(template('http://h/', { body: Buffer.from('abc'), headers: [['Content-Length', '3']] }))['content-length']).toBe('3');
  });

  it('rejects header names and values that could inject, and non-HTTP schemes', () => {
    expect(() => h2RequestHeaders(template('http://h/', { headers: [['X-A', 'ok\r\nx-evil: 1']] }))).toThrow(/bad request header/);
    expect(() => h2RequestHeaders(template('http://h/', { headers: [['X A', 'v']] }))).toThrow(/bad request header/);
    expect(() => createH2Transport(template('ftp://h/'))).toThrow(/unsupported URL scheme/);
    expect(() => createFastH2Transport(template('ftp://h/'))).toThrow(/unsupported URL scheme/);
  });
});

describe.each([['h2-wire, shared by both transports', kindOfH2Code]])('kindOfH2Code (%s)', (_name, kindOf) => {
  it.each([
    [NGHTTP2_NO_ERROR, 'closed'],
    [NGHTTP2_PROTOCOL_ERROR, 'protocol'],
    [http2.constants.NGHTTP2_COMPRESSION_ERROR, 'protocol'],
    [http2.constants.NGHTTP2_FLOW_CONTROL_ERROR, 'protocol'],
    [NGHTTP2_REFUSED_STREAM, 'reset'],
    [NGHTTP2_CANCEL, 'reset'],
    [http2.constants.NGHTTP2_INTERNAL_ERROR, 'reset'],
    [NGHTTP2_ENHANCE_YOUR_CALM, 'reset'],
  ])('%d -> %s', (code, kind) => expect(kindOf(code)).toBe(kind));
});

describe('oneLine', () => {
  it('keeps messages to one line of at most 200 characters', () => {
    expect(oneLine('GOAWAY PROTOCOL_ERROR (last stream 5)')).toBe('GOAWAY PROTOCOL_ERROR (last stream 5)');
    expect(oneLine('a\r\nb\n\tc\0d')).toBe('a b c d');
    const long = oneLine('x'.repeat(500));
    expect(long).toHaveLength(200);
    expect(long.endsWith('...')).toBe(true);
  });
});

describe('transportForPlan', () => {
  it('builds the HTTP/2 transport for -h2', async () => {
    const h2 = await server(routes);
    const t = transportForPlan(loadPlan({ url: `${h2.url}/status/200`, h2: true }));
    cleanups.push(() => t.close());
    expect(await send(t.newConnection())).toMatchObject(ok(200));
    expect(h2.sessions).toBe(1);
  });

  it('opens one session per Connection by default, as Fortio -h2 -c 4 opens 4 connections', async () => {
    const h2 = await server(routes);
    const t = transportForPlan(loadPlan({ url: `${h2.url}/status/200`, h2: true }));
    cleanups.push(() => t.close());
    const connections = Array.from({ length: 4 }, () => t.newConnection());
    const results = await Promise.all(connections.map((c) => sendMany(c, 3)));
    for (const outcome of results.flat()) expect(outcome).toMatchObject(ok(200));
    expect(h2.sessions).toBe(4);
    expect(socketsOf(connections)).toBe(4);
  });

  it('shares one session among the Connections with h2Multiplex (-h2 --h2-multiplex -c 4)', async () => {
    const h2 = await server(routes);
    const t = transportForPlan(loadPlan({ url: `${h2.url}/status/200`, h2: true, h2Multiplex: true }));
    cleanups.push(() => t.close());
    const connections = Array.from({ length: 4 }, () => t.newConnection());
    const results = await Promise.all(connections.map((c) => sendMany(c, 3)));
    for (const outcome of results.flat()) expect(outcome).toMatchObject(ok(200));
    expect(h2.sessions).toBe(1);
    expect(socketsOf(connections)).toBe(1);
  });

  it('closes a Connection\'s own session with the Connection, leaving the others open', async () => {
    const h2 = await server(routes);
    const t = transport(`${h2.url}/status/200`);
    const [first, second] = [t.newConnection(), t.newConnection()];
    await Promise.all([send(first), send(second)]);
    first.close();
    await h2.whenSessionsClosed(1);
    expect(await send(second)).toMatchObject(ok(200));
    expect(h2.sessions).toBe(2);
    expect(second.socketsOpened).toBe(1);
  });
});

/** Both HTTP/2 transports must pass every test below: node:http2's (kept as the reference)
 * and meshload's own framing (h2-wire), which -h2 uses. */
describe.each(TRANSPORTS)('$name', ({ create, ownFraming }) => {
  beforeAll(() => {
    createTransport = create;
  });
  afterAll(() => {
    createTransport = createFastH2Transport;
  });
  describe('against a node:http2 cleartext server', () => {
    it('sends the pseudo-headers, user headers and body the template describes', async () => {
      const h2 = await server(routes);
      const connection = transport(`${h2.url}/echo?q=1`, {
        method: 'POST',
        body: Buffer.from('hello h2'),
        headers: [['X-Trace', 't1'], ['Connection', 'keep-alive']],
      }).newConnection();
      expect(await send(connection)).toMatchObject(ok(200, { bodyBytes: 8, bodyPrefix: undefined }));
      expect(h2.requests[0]).toMatchObject({
        ':method': 'POST',
        ':scheme': 'http',
        ':authority': `127.0.0.1:${h2.port}`,
        ':path': '/echo?q=1',
        'user-agent': UA,
        'x-trace': 't1',
        'content-length': '8',
      });
      expect(h2.requests[0]?.connection).toBeUndefined();
    });

    it('reports statuses, with a body prefix only from 400 up', async () => {
      const h2 = await server(routes);
      for (const status of [200, 204, 302, 404, 503]) {
        const outcome = await send(transport(`${h2.url}/status/${status}`).newConnection());
        expect(outcome).toMatchObject(ok(status, { bodyBytes: 0, bodyPrefix: status >= 400 ? '' : undefined, viaEnvoy: false }));
      }
      const missing = await send(transport(`${h2.url}/nowhere`).newConnection());
      expect(missing).toMatchObject(ok(404, { bodyBytes: 8, bodyPrefix: 'no route' }));
    });

    it('counts uncompressed header bytes: name + value + 4 per field, :status included', async () => {
      const h2 = await server((stream) => {
        stream.respond({ ':status': 200, 'x-a': 'bc' }, { endStream: true });
      });
      const connection = transport(`${h2.url}/`).newConnection();
      const outcomes = await sendMany(connection, 2);
      // node:http2 adds `date: <29 characters>`.
      const expected = ':status'.length + 3 + 4 + ('x-a'.length + 2 + 4) + ('date'.length + 29 + 4);
      for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200, { headerBytes: expected, bodyBytes: 0 }));
    });

    it('POSTs a large body the server echoes back, on one session', async () => {
      const h2 = await server(routes);
      const body = Buffer.alloc(200_000, 'p');
      const connection = transport(`${h2.url}/echo`, { method: 'POST', body }).newConnection();
      const outcomes = await sendMany(connection, 3);
      for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200, { bodyBytes: body.length }));
      expect(connection.socketsOpened).toBe(1);
      expect(h2.sessions).toBe(1);
    });

    it('multiplexes 64 Connections x 20 requests as concurrent streams on ONE session', async () => {
      const CONNECTIONS = 64;
      const held: http2.ServerHttp2Stream[] = [];
      // The first stream of each Connection is held until all 64 are open at once: proof they
      // are concurrent streams of one session, not a queue.
      const h2 = await server((stream, headers) => {
        if (headers[':path'] !== '/gate') return respond(stream, 200, 'ok');
        held.push(stream);
        if (held.length === CONNECTIONS) for (const waiting of held) respond(waiting, 200, 'ok');
      });
      const gate = transport(`${h2.url}/gate`, MULTIPLEX);
      const rest = transport(`${h2.url}/`, MULTIPLEX);
      const gated = Array.from({ length: CONNECTIONS }, () => gate.newConnection());
      const first = await Promise.all(gated.map((c) => send(c)));
      for (const outcome of first) expect(outcome).toMatchObject(ok(200, { bodyBytes: 2 }));
      expect(h2.sessions).toBe(1);
      expect(h2.maxOpenStreams).toBe(CONNECTIONS);
      expect(socketsOf(gated)).toBe(1);

      const connections = Array.from({ length: CONNECTIONS }, () => rest.newConnection());
      const results = await Promise.all(connections.map((c) => sendMany(c, 20)));
      expect(results.flat().every((o) => o.status === 200 && o.bodyBytes === 2)).toBe(true);
      expect(socketsOf(connections)).toBe(1);
      expect(h2.sessions).toBe(2); // one per transport
      expect(h2.requests).toHaveLength(CONNECTIONS + CONNECTIONS * 20);
    });

    it('opens one session per 100 Connections: 150 Connections -> 2 sessions', async () => {
      const h2 = await server(routes);
      const t = transport(`${h2.url}/status/200`, MULTIPLEX);
      const connections = Array.from({ length: 150 }, () => t.newConnection());
      const results = await Promise.all(connections.map((c) => sendMany(c, 3)));
      expect(results.flat().every((o) => o.status === 200)).toBe(true);
      expect(h2.sessions).toBe(2);
      expect(socketsOf(connections)).toBe(2);
      // Each session is counted by the Connection that opened it: the first of its hundred.
      expect(connections[0]?.socketsOpened).toBe(1);
      expect(connections[100]?.socketsOpened).toBe(1);
    });

    it('reports Envoy evidence: server: envoy, x-envoy-overloaded on a 503, the reason text', async () => {
      const h2 = await server(routes);
      const overflow = await send(transport(`${h2.url}/envoy-overflow`).newConnection());
      expect(overflow).toMatchObject(
        ok(503, { viaEnvoy: true, envoyOverloaded: true, bodyPrefix: OVERFLOW_TEXT, bodyBytes: OVERFLOW_TEXT.length }),
      );
      const fine = await send(transport(`${h2.url}/envoy-ok`).newConnection());
      expect(fine).toMatchObject(ok(200, { viaEnvoy: true, envoyOverloaded: false, bodyPrefix: undefined, bodyBytes: 4 }));
    });

    it('reads x-version (up to 64 characters) and x-envoy-attempt-count, per stream', async () => {
      const answers: http2.OutgoingHttpHeaders[] = [
        { 'x-version': 'v2', 'x-envoy-attempt-count': '3' },
        {},
        { 'x-version': 'x'.repeat(100), 'x-envoy-attempt-count': '2x' },
        { 'x-envoy-attempt-count': '1234567' },
        { 'x-version': 'canary-v1', 'x-envoy-attempt-count': '999999' },
      ];
      // Streams of one session, answered in arrival order: each must start from nothing.
      const h2 = await server((stream, _headers, self) => respond(stream, 503, 'retried', answers[self.requests.length - 1]));
      const outcomes = await sendMany(transport(`${h2.url}/`).newConnection(), answers.length);
      expect(outcomes.map((o) => ({ status: o.status, version: o.version, attempt: o.attempt }))).toEqual([
        { status: 503, version: 'v2', attempt: 3 },
        { status: 503, version: undefined, attempt: 0 },
        { status: 503, version: 'x'.repeat(64), attempt: 0 },
        { status: 503, version: undefined, attempt: 0 },
        { status: 503, version: 'canary-v1', attempt: 999999 },
      ]);
      expect(h2.sessions).toBe(1);
    });

    it('keeps at most 256 bytes of an error body, as latin1', async () => {
      const h2 = await server((stream) => respond(stream, 500, 'é'.repeat(300), { 'content-type': 'text/plain; charset=latin1' }));
      const outcome = await send(transport(`${h2.url}/`).newConnection());
      expect(outcome).toMatchObject(ok(500, { bodyBytes: 600 }));
      expect(outcome.bodyPrefix).toHaveLength(256);
    });

    it('resends a stream the server always refuses (REFUSED_STREAM) MAX_RESENDS times, each on a new session, then reports reset', async () => {
      const h2 = await server(routes);
      const connection = transport(`${h2.url}/refuse`).newConnection();
      const outcomes = await sendMany(connection, 3);
      for (const outcome of outcomes) expect(outcome).toMatchObject(failed('reset'));
      expect(outcomes[0]?.errorMessage).toBe(`stream reset by server: REFUSED_STREAM before the response headers (${MAX_RESENDS} resends)`);
      expect(connection.resends).toBe(3 * MAX_RESENDS);
      expect(h2.requests).toHaveLength(3 * (1 + MAX_RESENDS));
      expect(connection.socketsOpened).toBe(1 + 3 * MAX_RESENDS);
      expect(h2.sessions).toBe(1 + 3 * MAX_RESENDS);
    });

    it('times out a stream the server never answers, cancels it, and keeps the session', async () => {
      let cancelled: Promise<number | undefined> | undefined;
      const h2 = await server((stream) => {
        if (cancelled === undefined) {
          cancelled = new Promise((resolve) => stream.on('close', () => resolve(stream.rstCode)));
          return;
        }
        respond(stream, 200);
      });
      const connection = transport(`${h2.url}/`, { timeoutMs: 150 }).newConnection();
      const started = performance.now();
      const outcome = await send(connection);
      const elapsed = performance.now() - started;
      expect(outcome).toMatchObject(failed('timeout'));
      expect(outcome.errorMessage).toMatch(/150ms/);
      expect(elapsed).toBeGreaterThanOrEqual(145);
      // The deadline plus a sweep interval (15ms), with generous slack for a loaded machine.
      expect(elapsed).toBeLessThan(1500);
      expect(await cancelled).toBe(NGHTTP2_CANCEL);
      expect(await send(connection)).toMatchObject(ok(200));
      expect(connection.socketsOpened).toBe(1);
    });

    it('fails pending streams when the server destroys the session, then opens a new one', async () => {
      const h2 = await server((stream, _headers, self) => {
        if (self.sessions === 1) {
          if (self.requests.length === 3) stream.session?.destroy();
          return;
        }
        respond(stream, 200);
      });
      const t = transport(`${h2.url}/`, MULTIPLEX);
      const connections = [t.newConnection(), t.newConnection(), t.newConnection()];
      const outcomes = await Promise.all(connections.map((c) => send(c)));
      for (const outcome of outcomes) {
        expect(outcome.status).toBe(-1);
        expect(['closed', 'reset']).toContain(outcome.errorKind);
      }
      expect(await send(connections[1] as Connection)).toMatchObject(ok(200));
      expect(await send(connections[0] as Connection)).toMatchObject(ok(200));
      expect(h2.sessions).toBe(2);
      expect(socketsOf(connections)).toBe(2);
    });

    it('reports a response cut short by the server (RST_STREAM NO_ERROR) as closed, not a short success', async () => {
      const h2 = await server((stream) => {
        stream.respond({ ':status': 200, 'content-length': '10' });
        stream.write('abc', () => stream.close(NGHTTP2_NO_ERROR));
      });
      const connection = transport(`${h2.url}/`).newConnection();
      const outcome = await send(connection);
      expect(outcome).toMatchObject(failed('closed'));
      // On the wire node:http2 ends the stream (empty DATA with END_STREAM), then resets it: our
      // own framing sees the END_STREAM first.
      expect(outcome.errorMessage).toBe(
        ownFraming ? 'response cut short: END_STREAM after 3 of 10 body bytes (content-length)' : 'stream reset by server: NO_ERROR before the response was complete',
      );
      expect(h2.sessions).toBe(1);
    });

    it('reports a response cut short by the connection closing as closed', async () => {
      const h2 = await server((stream, _headers, self) => {
        stream.respond({ ':status': 200 });
        stream.write('abc', () => self.dropConnections());
      });
      const outcome = await send(transport(`${h2.url}/`).newConnection());
      expect(outcome).toMatchObject(failed('closed'));
      expect(outcome.errorMessage).toMatch(/connection closed before the response was complete/);
    });

    it('on GOAWAY (NO_ERROR): streams it covers finish, the rest are resent once on a new session', async () => {
      const first: http2.ServerHttp2Stream[] = [];
      const h2 = await server((stream, _headers, self) => {
        if (self.sessions > 1) return respond(stream, 200, 'again');
        first.push(stream);
        if (first.length < 3) return;
        // Covers only the first stream (id 1); streams 3 and 5 go unprocessed.
        stream.session?.goaway(NGHTTP2_NO_ERROR, 1);
        respond(first[0] as http2.ServerHttp2Stream, 200, 'done');
      });
      const t = transport(`${h2.url}/`, MULTIPLEX);
      const connections = [t.newConnection(), t.newConnection(), t.newConnection()];
      const outcomes = await Promise.all(connections.map((c) => send(c)));
      expect(outcomes[0]).toMatchObject(ok(200, { bodyBytes: 4 }));
      for (const outcome of outcomes.slice(1)) expect(outcome).toMatchObject(ok(200, { bodyBytes: 5 }));
      expect(connections.map((c) => c.resends)).toEqual([0, 1, 1]);
      expect(h2.sessions).toBe(2);
      expect(h2.requests).toHaveLength(5);
      expect(await send(connections[2] as Connection)).toMatchObject(ok(200));
      expect(h2.sessions).toBe(2);
      expect(socketsOf(connections)).toBe(2);
    });

    it('on GOAWAY with an error code, fails the pending streams by that code', async () => {
      const h2 = await server((stream, _headers, self) => {
        if (self.sessions > 1) return respond(stream, 200);
        if (self.requests.length === 2) stream.session?.goaway(NGHTTP2_PROTOCOL_ERROR, 0);
      });
      const t = transport(`${h2.url}/`, MULTIPLEX);
      const connections = [t.newConnection(), t.newConnection()];
      const outcomes = await Promise.all(connections.map((c) => send(c)));
      for (const outcome of outcomes) expect(outcome).toMatchObject(failed('protocol'));
      expect(await send(connections[0] as Connection)).toMatchObject(ok(200));
    });

    it('reconnect() closes the shared session gracefully: in-flight streams finish, the next send opens a new one', async () => {
      let held: http2.ServerHttp2Stream | undefined;
      const h2 = await server((stream, headers) => {
        if (headers[':path'] === '/hold' && held === undefined) held = stream;
        else respond(stream, 200);
      });
      const t = transport(`${h2.url}/hold`, MULTIPLEX);
      const holder = t.newConnection();
      const other = t.newConnection();
      const inFlight = send(holder);
      await h2.whenStreams(1);
      expect(await send(other)).toMatchObject(ok(200));
      other.reconnect();
      respond(held as http2.ServerHttp2Stream, 200, 'held');
      expect(await inFlight).toMatchObject(ok(200, { bodyBytes: 4 }));
      await h2.whenSessionsClosed(1);
      expect(await send(holder)).toMatchObject(ok(200));
      expect(await send(other)).toMatchObject(ok(200));
      expect(h2.sessions).toBe(2);
      expect(holder.socketsOpened + other.socketsOpened).toBe(2);
    });

    it('without keep-alive, resends a refused stream on a fresh session of its own', async () => {
      const h2 = await server((stream, _headers, self) => {
        if (self.sessions === 1) return stream.close(NGHTTP2_REFUSED_STREAM);
        respond(stream, 200);
      });
      const connection = transport(`${h2.url}/`, { keepAlive: false }).newConnection();
      expect(await send(connection)).toMatchObject(ok(200));
      expect(connection.resends).toBe(1);
      expect(connection.socketsOpened).toBe(2);
      await h2.whenSessionsClosed(2);
    });

    it('opens and closes one session per request without keep-alive', async () => {
      const h2 = await server(routes);
      const connection = transport(`${h2.url}/status/200`, { keepAlive: false }).newConnection();
      const outcomes = await sendMany(connection, 4);
      for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200));
      expect(connection.socketsOpened).toBe(4);
      expect(h2.sessions).toBe(4);
      await h2.whenSessionsClosed(4);
    });

    it('reports close() of a Connection with a request in flight as closed, asynchronously', async () => {
      const h2 = await server(routes);
      const connection = transport(`${h2.url}/silent`).newConnection();
      let settled: Outcome | undefined;
      const inFlight = new Promise<Outcome>((resolve) =>
        connection.send((outcome) => {
          settled = outcome;
          resolve(outcome);
        }),
      );
      await h2.whenStreams(1);
      connection.close();
      expect(settled).toBeUndefined();
      expect(await inFlight).toMatchObject(failed('closed'));
      expect(await send(connection)).toMatchObject(failed('other'));
    });

    it('closes a shared session once all its Connections are closed', async () => {
      const h2 = await server(routes);
      const t = transport(`${h2.url}/status/200`);
      const connections = [t.newConnection(), t.newConnection()];
      await Promise.all(connections.map((c) => send(c)));
      connections[0]?.close();
      expect(h2.sessionsClosed).toBe(0);
      connections[1]?.close();
      await h2.whenSessionsClosed(1);
    });

    it('fails requests still waiting for their session when the transport closes', async () => {
      const h2 = await server(routes);
      const t = transport(`${h2.url}/status/200`);
      const pending = [send(t.newConnection()), send(t.newConnection())];
      t.close();
      for (const outcome of await Promise.all(pending)) expect(outcome).toMatchObject(failed('closed'));
      expect(await send(t.newConnection())).toMatchObject(failed('other'));
    });

    it('rejects a second send while one is in flight, without disturbing it', async () => {
      const h2 = await server(routes);
      const connection = transport(`${h2.url}/status/200`).newConnection();
      const first = send(connection);
      const second = await send(connection);
      expect(second).toMatchObject(failed('other'));
      expect(await first).toMatchObject(ok(200));
    });
  });

  describe('socket-level failures', () => {
    it('reports a refused connection, and dials again on the next send', async () => {
      const port = await freePort(); // bound, then closed: nothing listens there now
      const connection = transport(`http://127.0.0.1:${port}/`).newConnection();
      const outcome = await send(connection);
      expect(outcome).toMatchObject(failed('refused'));
      expect(outcome.errorMessage).toMatch(/ECONNREFUSED/);
      expect(await send(connection)).toMatchObject(failed('refused'));
      expect(connection.socketsOpened).toBe(2);
    });

    it('reports an HTTP/1.1-only server spoken to with prior knowledge as a protocol error', async () => {
      const h1 = http.createServer((req, res) => res.end('h1'));
      await new Promise<void>((resolve) => h1.listen(0, '127.0.0.1', resolve));
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            h1.closeAllConnections();
            h1.close(() => resolve());
          }),
      );
      const outcome = await send(transport(`http://127.0.0.1:${(h1.address() as net.AddressInfo).port}/`).newConnection());
      expect(outcome).toMatchObject(failed('protocol'));
    });
  });

  describe('the timeout sweep', () => {
    afterEach(() => jest.restoreAllMocks());

    it("is one unref'd interval per transport, a tenth of the timeout, at most 50ms, cleared by close()", () => {
      const set = jest.spyOn(global, 'setInterval');
      const clear = jest.spyOn(global, 'clearInterval');
      const t = createTransport(template('http://127.0.0.1:9/', { timeoutMs: 300 }));
      t.newConnection();
      t.newConnection();
      expect(set).toHaveBeenCalledTimes(1);
      expect(set.mock.calls[0]?.[1]).toBe(30);
      const timer = set.mock.results[0]?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      t.close();
      expect(clear).toHaveBeenCalledWith(timer);
      createTransport(template('http://127.0.0.1:9/', { timeoutMs: 0 })).close();
      createTransport(template('http://127.0.0.1:9/', { timeoutMs: 60_000 })).close();
      expect(set).toHaveBeenCalledTimes(2);
      expect(set.mock.calls[1]?.[1]).toBe(50);
    });
  });

  const describeTls = haveOpenssl ? describe : describe.skip;

  describeTls('over TLS (ALPN h2)', () => {
    let cert: SelfSignedCert;

    beforeAll(() => {
      cert = makeSelfSignedCert();
    });

    it('rejects a self-signed certificate unless insecure, then multiplexes over one TLS session', async () => {
      const h2 = await server(routes, cert);
      const strict = await send(transport(`${h2.url}/status/200`).newConnection());
      expect(strict).toMatchObject(failed('tls'));
      expect(strict.errorMessage).toMatch(/self[- ]signed/i);

      const t = transport(`${h2.url}/envoy-ok`, { insecure: true, h2Multiplex: true });
      const connections = Array.from({ length: 4 }, () => t.newConnection());
      const results = await Promise.all(connections.map((c) => sendMany(c, 3)));
      for (const outcome of results.flat()) expect(outcome).toMatchObject(ok(200, { bodyBytes: 4, viaEnvoy: true }));
      expect(socketsOf(connections)).toBe(1);
      expect(h2.requests.at(-1)).toMatchObject({ ':scheme': 'https' });
    });

    it('reports an HTTPS server that only speaks HTTP/1.1 as a protocol error', async () => {
      const h1 = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => res.end('h1'));
      await new Promise<void>((resolve) => h1.listen(0, '127.0.0.1', resolve));
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            h1.closeAllConnections();
            h1.close(() => resolve());
          }),
      );
      const connection = transport(`https://127.0.0.1:${(h1.address() as net.AddressInfo).port}/`, { insecure: true }).newConnection();
      const outcome = await send(connection);
      expect(outcome).toMatchObject(failed('protocol'));
      expect(outcome.errorMessage).toMatch(/does not speak HTTP\/2 over TLS/);
    });
  });

  const describeNginx = nginxBinary() === undefined ? describe.skip : describe;

  describeNginx('against nginx (listen ... http2: cleartext, prior knowledge)', () => {
    let nginx: RunningNginx;
    let h2Url: string;

    beforeEach(async () => {
      // The helper's own listen stays HTTP/1.1 (for stub_status); a second one speaks h2c. A
      // free port can collide with the helper's own pick: nginx then fails, so try again.
      for (let attempt = 1; ; attempt++) {
        const h2Port = await freePort();
        try {
          nginx = await startNginx({
            server:
              `listen 127.0.0.1:${h2Port} http2;\n` +
              '    location = /ok { return 200 "ok"; }\n' +
              '    location = /status { stub_status; }',
          });
          h2Url = `http://127.0.0.1:${h2Port}`;
          break;
        } catch (error) {
          if (attempt === 3) throw error;
        }
      }
      cleanups.push(() => nginx.stop());
    });

    it('answers 200 "ok" over h2, and 10 Connections share one session (one accepted connection)', async () => {
      const t = transport(`${h2Url}/ok`, MULTIPLEX);
      const connections = Array.from({ length: 10 }, () => t.newConnection());
      const results = await Promise.all(connections.map((c) => sendMany(c, 5)));
      for (const outcome of results.flat()) expect(outcome).toMatchObject(ok(200, { bodyBytes: 2 }));
      expect(results[0]?.[0]?.headerBytes).toBeGreaterThan(20);
      expect(socketsOf(connections)).toBe(1);
      // stub_status counts accepted connections: the h2 session, then this HTTP/1.1 query.
      const status = await httpGet(`${nginx.url}/status`);
      expect(status).toMatch(/\n\s*2 2 \d+\s*\n/);
    });
  });

  function httpGet(url: string): Promise<string> {
    return new Promise((resolve, reject) => {
      http
        .get(url, { agent: false }, (res) => {
          let text = '';
          res.setEncoding('latin1');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
  }
});
