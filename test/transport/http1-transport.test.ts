import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { createHttp1Transport, errorKindOf, serialiseRequest } from '../../src/transport/http1-transport';
import { failure, oneLine } from '../../src/transport/outcome';
import type { RequestTemplate, Transport } from '../../src/transport/transport';
import type { Outcome } from '../../src/model/outcome';
import { meshloadVersion } from '../../src/util/version';
import { freePort, startNginx, type RunningNginx } from '../helpers/nginx';
import { startRawServer, writeInPieces, type RawScript, type RawServer } from '../helpers/raw-http-server';
import { haveOpenssl, makeSelfSignedCert } from '../helpers/self-signed-cert';
import { send, sendMany, template } from '../helpers/transport-harness';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const UA = `meshload/${meshloadVersion()}`;

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  // Transports first (they hold client sockets), then the servers.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});


function transport(url: string, overrides: Partial<RequestTemplate> = {}): Transport {
  const created = createHttp1Transport(template(url, overrides));
  cleanups.push(() => created.close());
  return created;
}



async function echo(): Promise<RunningEchoServer> {
  const server = await startEchoServer({ echo: LOOPBACK, admin: null, maxDelayMs: 1000, maxPayloadBytes: 1024 * 1024 });
  cleanups.push(() => server.close());
  return server;
}

async function raw(script: RawScript): Promise<RawServer> {
  const server = await startRawServer(script);
  cleanups.push(() => server.close());
  return server;
}

function ok(status: number, extra: Partial<Outcome> = {}): Partial<Outcome> {
  return { status, errorKind: undefined, errorMessage: undefined, ...extra };
}

function failed(kind: Outcome['errorKind']): Partial<Outcome> {
  return { status: -1, errorKind: kind, headerBytes: 0, bodyBytes: 0 };
}

const OK_HEAD = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n';
const OK_RESPONSE = OK_HEAD + 'ok';

describe('serialiseRequest', () => {
  it('writes the request line, Host, User-Agent and the user headers in order', () => {
    const bytes = serialiseRequest(template('http://example.com/a/b?x=1&y=2#frag', { headers: [['X-One', '1'], ['accept', '*/*']] }));
    expect(bytes.toString('latin1')).toBe(
      `GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: ${UA}\r\nX-One: 1\r\naccept: */*\r\n\r\n`,
    );
  });

  it('keeps a non-default port in Host, drops a default one', () => {
    expect(serialiseRequest(template('http://example.com:8080/')).toString()).toContain('\r\nHost: example.com:8080\r\n');
    expect(serialiseRequest(template('http://example.com:80/')).toString()).toContain('\r\nHost: example.com\r\n');
    expect(serialiseRequest(template('https://example.com:443/')).toString()).toContain('\r\nHost: example.com\r\n');
    expect(serialiseRequest(template('http://[::1]:9/')).toString()).toContain('\r\nHost: [::1]:9\r\n');
  });

  it('keeps the user Host and User-Agent instead of its own', () => {
    const text = serialiseRequest(template('http://10.0.0.1/', { headers: [['host', 'svc.local'], ['User-Agent', 'fortio.org/fortio-1.69']] })).toString();
    expect(text).toBe('GET / HTTP/1.1\r\nhost: svc.local\r\nUser-Agent: fortio.org/fortio-1.69\r\n\r\n');
  });

  it('adds Content-Length for a body, and 0 for an empty POST, PUT or PATCH', () => {
    const post = serialiseRequest(template('http://h/', { method: 'POST', body: Buffer.from('abc') }));
    expect(post.toString()).toBe(`POST / HTTP/1.1\r\nHost: h\r\nUser-Agent: ${UA}\r\nContent-Length: 3\r\n\r\nabc`);
    for (const method of ['POST', 'PUT', 'PATCH']) {
      expect(serialiseRequest(template('http://h/', { method })).toString()).toContain('\r\nContent-Length: 0\r\n\r\n');
    }
    expect(serialiseRequest(template('http://h/', { method: 'DELETE' })).toString()).not.toContain('Content-Length');
  });

  it('sends Connection: close without keep-alive', () => {
    expect(serialiseRequest(template('http://h/', { keepAlive: false })).toString()).toMatch(/\r\nConnection: close\r\n\r\n$/);
  });

  it('rejects header names and values that could inject lines', () => {
    expect(() => serialiseRequest(template('http://h/', { headers: [['X-A', 'ok\r\nX-Evil: 1']] }))).toThrow(/bad request header/);
    expect(() => serialiseRequest(template('http://h/', { headers: [['X A', 'v']] }))).toThrow(/bad request header/);
  });

  it('rejects schemes other than http and https', () => {
    expect(() => createHttp1Transport(template('ftp://h/'))).toThrow(/unsupported URL scheme/);
  });
});

describe('errorKindOf', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ECONNRESET', 'reset'],
    ['EPIPE', 'reset'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['EAI_FAIL', 'dns'],
    ['EAI_NONAME', 'dns'],
    ['ETIMEDOUT', 'timeout'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['EHOSTUNREACH', 'other'],
    [undefined, 'other'],
  ])('%s -> %s', (code, kind) => {
    const error: NodeJS.ErrnoException = new Error('x');
    if (code !== undefined) error.code = code;
    expect(errorKindOf(error)).toBe(kind);
  });
});

describe('failure messages', () => {
  it('are one line of at most 200 characters, control bytes escaped', () => {
    expect(failure('dns', 'getaddrinfo ENOTFOUND x').errorMessage).toBe('getaddrinfo ENOTFOUND x');
    expect(oneLine('a\r\nb\x1b[31m\x7f\x9b')).toBe('a\\x0d\\x0ab\\x1b[31m\\x7f\\x9b');
    const long = failure('other', `x\n${'y'.repeat(500)}`).errorMessage ?? '';
    expect(long).toHaveLength(200);
    expect(long).toMatch(/^x\\x0ay+\.\.\.$/);
    expect(oneLine('ünïcode stays')).toBe('ünïcode stays');
  });
});

describe('against the echo server', () => {
  it('reuses one keep-alive socket for many requests', async () => {
    const server = await echo();
    const connection = transport(`${server.echoUrl}/echo`).newConnection();
    const outcomes = await sendMany(connection, 20);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200, { bodyBytes: 0, viaEnvoy: false, bodyPrefix: undefined }));
    expect(outcomes[0]?.headerBytes).toBeGreaterThan(30);
    expect(connection.socketsOpened).toBe(1);
    expect(server.metrics.connections).toBe(1);
  });

  it('opens one socket per request when the server closes (?close=true)', async () => {
    const server = await echo();
    const connection = transport(`${server.echoUrl}/echo?close=true`).newConnection();
    const outcomes = await sendMany(connection, 5);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200));
    expect(connection.socketsOpened).toBe(5);
    expect(server.metrics.connections).toBe(5);
  });

  it('opens one socket per request without keep-alive', async () => {
    const server = await echo();
    const connection = transport(`${server.echoUrl}/echo`, { keepAlive: false }).newConnection();
    const outcomes = await sendMany(connection, 4);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200));
    expect(connection.socketsOpened).toBe(4);
    expect(server.metrics.connections).toBe(4);
  });

  it('counts body bytes of large payloads (?size=N)', async () => {
    const server = await echo();
    const connection = transport(`${server.echoUrl}/echo?size=200000`).newConnection();
    const outcomes = await sendMany(connection, 3);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200, { bodyBytes: 200000, bodyPrefix: undefined }));
    expect(connection.socketsOpened).toBe(1);
  });

  it('reports error statuses with a body prefix (?status=503)', async () => {
    const server = await echo();
    const empty = await send(transport(`${server.echoUrl}/echo?status=503`).newConnection());
    expect(empty).toMatchObject(ok(503, { bodyBytes: 0, bodyPrefix: '' }));
    const sized = await send(transport(`${server.echoUrl}/echo?status=429&size=1000`).newConnection());
    expect(sized).toMatchObject(ok(429, { bodyBytes: 1000 }));
    expect(sized.bodyPrefix).toHaveLength(256);
  });

  it('POSTs a body that the server echoes back', async () => {
    const server = await echo();
    const body = Buffer.alloc(5000, 'p');
    const connection = transport(`${server.echoUrl}/echo`, { method: 'POST', body, headers: [['content-type', 'text/plain']] }).newConnection();
    const outcomes = await sendMany(connection, 3);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200, { bodyBytes: 5000 }));
    expect(connection.socketsOpened).toBe(1);
  });

  it('runs a bounded closed loop on several connections', async () => {
    const server = await echo();
    const t = transport(`${server.echoUrl}/echo`);
    const connections = Array.from({ length: 8 }, () => t.newConnection());
    const results = await Promise.all(connections.map((c) => sendMany(c, 250)));
    expect(results.flat().every((o) => o.status === 200)).toBe(true);
    expect(connections.reduce((sum, c) => sum + c.socketsOpened, 0)).toBe(8);
    expect(server.metrics.totalRequests()).toBe(2000);
  });

  it('opens a new socket after reconnect()', async () => {
    const server = await echo();
    const connection = transport(`${server.echoUrl}/echo`).newConnection();
    await send(connection);
    connection.reconnect();
    expect(await send(connection)).toMatchObject(ok(200));
    expect(connection.socketsOpened).toBe(2);
    // During a request, reconnect() waits for its response before dropping the socket.
    const inFlight = send(connection);
    connection.reconnect();
    expect(await inFlight).toMatchObject(ok(200));
    await send(connection);
    expect(connection.socketsOpened).toBe(3);
  });

  it('calls done asynchronously, once, and fails sends after close()', async () => {
    const server = await echo();
    const t = transport(`${server.echoUrl}/echo?delay=500ms`);
    const connection = t.newConnection();
    const calls: Array<{ outcome: Outcome; afterReturn: boolean }> = [];
    let returned = false;
    const first = new Promise<void>((resolve) =>
      connection.send((outcome) => {
        calls.push({ outcome, afterReturn: returned });
        resolve();
      }),
    );
    // A second send while one is in flight is refused, asynchronously too.
    const second = new Promise<void>((resolve) =>
      connection.send((outcome) => {
        calls.push({ outcome, afterReturn: returned });
        resolve();
      }),
    );
    returned = true;
    await second;
    expect(calls).toMatchObject([{ outcome: failed('other'), afterReturn: true }]);
    // The request is in flight once the echo server has counted it (it answers after 500ms).
    while (server.metrics.totalRequests() === 0) await new Promise((resolve) => setImmediate(resolve));
    returned = false;
    connection.close();
    returned = true;
    await first;
    expect(calls).toHaveLength(2);
    expect(calls[1]).toMatchObject({ outcome: failed('closed'), afterReturn: true });
    expect(await send(connection)).toMatchObject(failed('other'));
    t.close();
    expect(await send(t.newConnection())).toMatchObject(failed('other'));
    expect(calls).toHaveLength(2);
  });
});

describe('against scripted raw servers', () => {
  it('parses responses split into small writes', async () => {
    const body = 'x'.repeat(100);
    const response = `HTTP/1.1 200 OK\r\nServer: envoy\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const server = await raw((socket) => void writeInPieces(socket, response, 3));
    const connection = transport(`${server.url}/`).newConnection();
    const outcomes = await sendMany(connection, 3);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject(ok(200, { headerBytes: response.length - body.length, bodyBytes: 100, viaEnvoy: true }));
    }
    expect(connection.socketsOpened).toBe(1);
    expect(server.requests[0]?.head).toBe(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUser-Agent: ${UA}`);
  });

  it('parses chunked responses split mid chunk-size line', async () => {
    const response = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1F;ext=1\r\n' + 'c'.repeat(31) + '\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n';
    const server = await raw((socket) => void writeInPieces(socket, response, 2));
    const connection = transport(`${server.url}/`).newConnection();
    const outcomes = await sendMany(connection, 3);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200, { bodyBytes: 36 }));
    expect(connection.socketsOpened).toBe(1);
  });

  it('reads a close-delimited body to the end and reconnects for the next request', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\n\r\nbody until ');
      setImmediate(() => socket.end('the close'));
    });
    const connection = transport(`${server.url}/`).newConnection();
    const outcomes = await sendMany(connection, 2);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(500, { bodyBytes: 20, bodyPrefix: 'body until the close' }));
    expect(connection.socketsOpened).toBe(2);
  });

  it('skips 100 Continue and reports Envoy evidence', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      setImmediate(() =>
        socket.write('HTTP/1.1 503 Service Unavailable\r\nx-envoy-overloaded: true\r\nserver: envoy\r\ncontent-length: 8\r\n\r\noverflow'),
      );
    });
    const outcome = await send(transport(`${server.url}/`, { method: 'POST', body: Buffer.from('x') }).newConnection());
    expect(outcome).toMatchObject(ok(503, { viaEnvoy: true, envoyOverloaded: true, bodyPrefix: 'overflow', bodyBytes: 8 }));
    expect(server.requests[0]?.body.toString()).toBe('x');
  });

  it('resends a GET once, counted in resends, when the server closed a reused idle socket (FIN)', async () => {
    // The server takes the second request on a socket as the one that raced its idle close.
    const server = await raw((socket, request) => {
      if (request.indexOnSocket === 0) socket.write(OK_RESPONSE);
      else socket.end();
    });
    const connection = transport(`${server.url}/`).newConnection();
    const outcomes = await sendMany(connection, 3);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200));
    // Each later request lands on a socket's second turn, so each is resent once.
    expect(connection.socketsOpened).toBe(3);
    expect(connection.resends).toBe(2);
    expect(server.requests.map((r) => r.socketIndex)).toEqual([0, 0, 1, 1, 2]);
  });

  it('resends a GET once, counted in resends, when the server reset a reused socket (RST)', async () => {
    const server = await raw((socket, request) => {
      if (request.indexOnSocket === 0) socket.write(OK_RESPONSE);
      else socket.resetAndDestroy();
    });
    const connection = transport(`${server.url}/`).newConnection();
    const outcomes = await sendMany(connection, 3);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200));
    expect(connection.socketsOpened).toBe(3);
    expect(connection.resends).toBe(2);
  });

  it('notices an idle close before the next send', async () => {
    const server = await raw((socket) => {
      socket.write(OK_RESPONSE);
      setImmediate(() => socket.end());
    });
    const connection = transport(`${server.url}/`).newConnection();
    expect(await send(connection)).toMatchObject(ok(200));
    await server.whenClosed(1);
    expect(await send(connection)).toMatchObject(ok(200));
    expect(connection.socketsOpened).toBe(2);
  });

  it('does not resend on a fresh socket, nor twice', async () => {
    const closing = await raw((socket) => socket.end());
    const fresh = transport(`${closing.url}/`).newConnection();
    expect(await send(fresh)).toMatchObject(failed('closed'));
    expect(fresh.socketsOpened).toBe(1);

    // First request answered; every later one is dropped: one resend, then the error shows.
    const once = await raw((socket, request) => {
      if (request.socketIndex === 0 && request.indexOnSocket === 0) socket.write(OK_RESPONSE);
      else socket.end();
    });
    const reused = transport(`${once.url}/`).newConnection();
    expect(await send(reused)).toMatchObject(ok(200));
    expect(await send(reused)).toMatchObject(failed('closed'));
    expect(reused.socketsOpened).toBe(2);
    expect(reused.resends).toBe(1);
    expect(once.requests).toHaveLength(3);
  });

  it('does not resend once response bytes arrived: closed mid-response', async () => {
    const server = await raw((socket, request) => {
      if (request.indexOnSocket === 0) socket.write(OK_RESPONSE);
      else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    });
    const connection = transport(`${server.url}/`).newConnection();
    expect(await send(connection)).toMatchObject(ok(200));
    const cut = await send(connection);
    expect(cut).toMatchObject(failed('closed'));
    expect(cut.errorMessage).toMatch(/closed before the response was complete/);
    expect(server.requests).toHaveLength(2);
  });

  it('reports a reset before any response byte on a fresh socket, without resending', async () => {
    const server = await raw((socket) => socket.resetAndDestroy());
    const connection = transport(`${server.url}/`).newConnection();
    const outcome = await send(connection);
    expect(outcome).toMatchObject(failed('reset'));
    expect(outcome.errorMessage).toMatch(/ECONNRESET/);
    expect(connection.socketsOpened).toBe(1);
  });

  it('reports a reset mid-response', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
      // The reset must come in a later read than the bytes: libuv reports data plus RST in one
      // wake-up as a plain EOF (which the transport counts as 'closed').
      setTimeout(() => socket.resetAndDestroy(), 50);
    });
    const connection = transport(`${server.url}/`).newConnection();
    expect(await send(connection)).toMatchObject(failed('reset'));
    // The next send starts clean on a new socket.
    expect(await send(connection)).toMatchObject(failed('reset'));
    expect(connection.socketsOpened).toBe(2);
  });

  it('times out a server that never answers, and closes the socket', async () => {
    const server = await raw(() => {
      // silence
    });
    const connection = transport(`${server.url}/`, { timeoutMs: 150 }).newConnection();
    const started = performance.now();
    const outcome = await send(connection);
    const elapsed = performance.now() - started;
    expect(outcome).toMatchObject(failed('timeout'));
    expect(outcome.errorMessage).toMatch(/150ms/);
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect(elapsed).toBeLessThan(2000);
    await server.whenClosed(1);
  });

  it('reports garbage as a protocol error and drops the socket', async () => {
    const server = await raw((socket, request) => {
      socket.write(request.socketIndex === 0 ? 'SSH-2.0-OpenSSH_9.2\r\n\r\n' : OK_RESPONSE);
    });
    const connection = transport(`${server.url}/`).newConnection();
    expect(await send(connection)).toMatchObject(failed('protocol'));
    expect(await send(connection)).toMatchObject(ok(200));
    expect(connection.socketsOpened).toBe(2);
  });

  it('counts a second response in the same read as a protocol error and drops the socket', async () => {
    const server = await raw((socket) => socket.write(OK_RESPONSE + OK_RESPONSE));
    const connection = transport(`${server.url}/`).newConnection();
    const outcomes = await sendMany(connection, 2);
    expect(outcomes).toMatchObject([failed('protocol'), failed('protocol')]);
    // 32 bytes quoted at most, then "...".
    expect(outcomes[0]?.errorMessage).toBe('unsolicited bytes after response: "HTTP/1.1 200 OK\\x0d\\x0aContent-Length:"...');
    expect(connection.socketsOpened).toBe(2);
  });

  it('does not read a body after HEAD', async () => {
    const server = await raw((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'));
    const connection = transport(`${server.url}/`, { method: 'HEAD' }).newConnection();
    expect(await sendMany(connection, 3)).toMatchObject([ok(200, { bodyBytes: 0 }), ok(200), ok(200)]);
    expect(connection.socketsOpened).toBe(1);
  });
});

describe('the timeout sweep', () => {
  afterEach(() => jest.restoreAllMocks());

  it('is one unref\'d interval per transport, a tenth of the timeout, cleared by close()', () => {
    const set = jest.spyOn(global, 'setInterval');
    const clear = jest.spyOn(global, 'clearInterval');
    const t = createHttp1Transport(template('http://127.0.0.1:9/', { timeoutMs: 300 }));
    t.newConnection();
    t.newConnection();
    expect(set).toHaveBeenCalledTimes(1);
    expect(set.mock.calls[0]?.[1]).toBe(30);
    const timer = set.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    t.close();
    expect(clear).toHaveBeenCalledWith(timer);
  });

  it('runs at most every 50ms, and not at all without a timeout', () => {
    const set = jest.spyOn(global, 'setInterval');
    createHttp1Transport(template('http://127.0.0.1:9/', { timeoutMs: 0 })).close();
    expect(set).not.toHaveBeenCalled();
    createHttp1Transport(template('http://127.0.0.1:9/', { timeoutMs: 60_000 })).close();
    expect(set.mock.calls[0]?.[1]).toBe(50);
  });
});

describe('socket-level failures', () => {
  it('reports a refused connection', async () => {
    const port = await freePort(); // bound, then closed: nothing listens there now
    const outcome = await send(transport(`http://127.0.0.1:${port}/`).newConnection());
    expect(outcome).toMatchObject(failed('refused'));
    expect(outcome.errorMessage).toMatch(/ECONNREFUSED/);
  });

  it('reports an unresolvable host as dns, and tries again on the next send', async () => {
    const connection = transport('http://nonexistent.invalid/').newConnection();
    expect(await send(connection)).toMatchObject(failed('dns'));
    expect(await send(connection)).toMatchObject(failed('dns'));
    expect(connection.socketsOpened).toBe(0);
  });
});

// A missing nginx fails here with the line naming the package (startNginx), never a skip.
describe('against nginx', () => {
  const TEXT = 'hello from nginx\n';
  const LONG = 'n'.repeat(4000);
  let nginx: RunningNginx;

  beforeEach(async () => {
    nginx = await startNginx({
      http: 'keepalive_requests 3; gzip on; gzip_min_length 1; gzip_types text/plain; default_type text/plain;',
      server:
        `location = /text { gzip off; return 200 "${TEXT.trim()}\\n"; }\n` +
        `    location = /chunked { return 200 "${LONG}"; }\n` +
        `    location = /missing { gzip off; return 404; }`,
    });
    cleanups.push(() => nginx.stop());
  });

  it('reads Content-Length responses, and reconnects when keepalive_requests runs out', async () => {
    const connection = transport(`${nginx.url}/text`).newConnection();
    const outcomes = await sendMany(connection, 7);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200, { bodyBytes: TEXT.length }));
    expect(connection.socketsOpened).toBe(3);
  });

  it('reads chunked responses (gzip) and keeps the socket', async () => {
    // Confirm the framing nginx uses, so the test keeps testing what it says.
    const rawReply = await rawExchange(nginx.port, 'GET /chunked HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n');
    expect(rawReply).toMatch(/\r\nTransfer-Encoding: chunked\r\n/i);
    const connection = transport(`${nginx.url}/chunked`, { headers: [['Accept-Encoding', 'gzip']] }).newConnection();
    const outcomes = await sendMany(connection, 3);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe(200);
      expect(outcome.bodyBytes).toBeGreaterThan(10);
      expect(outcome.bodyBytes).toBeLessThan(LONG.length);
    }
    expect(connection.socketsOpened).toBe(1);
  });

  it('reports a 404 with its body prefix, and HEAD without a body', async () => {
    const missing = await send(transport(`${nginx.url}/missing`).newConnection());
    expect(missing).toMatchObject(ok(404));
    expect(missing.bodyPrefix).toMatch(/404 Not Found/);
    const head = transport(`${nginx.url}/text`, { method: 'HEAD' }).newConnection();
    expect(await sendMany(head, 2)).toMatchObject([ok(200, { bodyBytes: 0 }), ok(200, { bodyBytes: 0 })]);
  });
});

function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

describe('over TLS', () => {
  let key: Buffer;
  let cert: Buffer;

  beforeAll(() => {
    if (!haveOpenssl) throw new Error('the TLS tests need the openssl CLI (apt-get install -y openssl)');
    ({ key, cert } = makeSelfSignedCert());
  });

  async function httpsServer(): Promise<{ url: string; connections: () => number }> {
    let connections = 0;
    const server = https.createServer({ key, cert }, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': '3', server: 'envoy' });
      res.end('tls');
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return { url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => connections };
  }

  it('rejects a self-signed certificate unless insecure', async () => {
    const server = await httpsServer();
    const strict = await send(transport(`${server.url}/`).newConnection());
    expect(strict).toMatchObject(failed('tls'));
    expect(strict.errorMessage).toMatch(/self[- ]signed/i);
    const connection = transport(`${server.url}/`, { insecure: true }).newConnection();
    const outcomes = await sendMany(connection, 3);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200, { bodyBytes: 3, viaEnvoy: true }));
    expect(connection.socketsOpened).toBe(1);
  });

  it('opens a TLS socket per request without keep-alive', async () => {
    const server = await httpsServer();
    const connection = transport(`${server.url}/`, { insecure: true, keepAlive: false }).newConnection();
    const outcomes = await sendMany(connection, 3);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200));
    expect(connection.socketsOpened).toBe(3);
    expect(server.connections()).toBe(3);
  });
});

describe('connection model after a non-2xx (Fortio fast client)', () => {
  /** Answers `statusOf(n)` to the n-th request (from 1) and counts the TCP connections it accepted. */
  async function alternating(statusOf: (n: number) => number): Promise<{ url: string; connections: () => number }> {
    let requests = 0;
    let connections = 0;
    const server = http.createServer((_req, res) => {
      res.writeHead(statusOf(++requests), { 'content-length': '2' }).end('no');
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`, connections: () => connections };
  }

  it('closes the socket after each non-2xx and opens a new one for the next call', async () => {
    const server = await alternating((n) => (n % 2 === 0 ? 503 : 200));
    const connection = transport(server.url).newConnection();
    const outcomes = await sendMany(connection, 10);
    expect(outcomes.map((o) => o.status)).toEqual([200, 503, 200, 503, 200, 503, 200, 503, 200, 503]);
    // 5 503s; the last one's close opens nothing: 1 + 4 sockets, as Fortio counts them.
    expect(connection.socketsOpened).toBe(5);
    expect(server.connections()).toBe(5);
  });

  it('keeps the socket after 2xx and 418 (Fortio counts the teapot as OK)', async () => {
    const server = await alternating((n) => (n % 2 === 0 ? 418 : 204));
    const connection = transport(server.url).newConnection();
    await sendMany(connection, 6);
    expect(connection.socketsOpened).toBe(1);
  });

  it('keeps the socket whatever the status with reuseAfterError', async () => {
    const server = await alternating((n) => (n % 2 === 0 ? 503 : 200));
    const connection = transport(server.url, { reuseAfterError: true }).newConnection();
    const outcomes = await sendMany(connection, 10);
    expect(outcomes.filter((o) => o.status === 503)).toHaveLength(5);
    expect(connection.socketsOpened).toBe(1);
    expect(server.connections()).toBe(1);
  });

  it('does not resend a GET on the socket opened after a non-2xx', async () => {
    const server = await alternating(() => 500);
    const connection = transport(server.url).newConnection();
    const outcomes = await sendMany(connection, 3);
    expect(outcomes.map((o) => o.status)).toEqual([500, 500, 500]);
    expect(connection.resends).toBe(0);
    expect(connection.socketsOpened).toBe(3);
  });
});
