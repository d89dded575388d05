/** meshload's HTTP/1.1 client against raw-TCP servers with one misbehaviour each. Every test
 * checks that the exchange ends in bounded time, that every send got exactly one outcome, and
 * that the server saw exactly the requests expected (no silent resend). */
import type net from 'node:net';
import { runLoad } from '../../src/engine/run-load';
import { createHttp1Transport } from '../../src/transport/http1-transport';
import type { Connection, RequestTemplate, Transport } from '../../src/transport/transport';
import type { Outcome } from '../../src/model/outcome';
import { startRawServer, writeForever, type RawScript, type RawServer, type RawServerOptions } from '../helpers/raw-http-server';
import { loadPlan } from '../helpers/load-plan';
import { template } from '../helpers/transport-harness';

const cleanups: Array<() => Promise<void> | void> = [];
let calls: Calls;

beforeEach(() => {
  calls = new Calls();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // A late second callback would show up here: every send answered exactly once.
  await new Promise<void>((resolve) => setImmediate(resolve));
  expect(calls.answered).toBe(calls.made);
  expect(calls.extra).toBe(0);
});

/** Sends and counts: `made` sends, `answered` first callbacks, `extra` callbacks beyond one. */
class Calls {
  made = 0;
  answered = 0;
  extra = 0;

  send(connection: Connection): Promise<Outcome> {
    this.made++;
    let times = 0;
    return new Promise((resolve) =>
      connection.send((outcome) => {
        if (++times > 1) {
          this.extra++;
          return;
        }
        this.answered++;
        resolve(outcome);
      }),
    );
  }

  async many(connection: Connection, count: number): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (let i = 0; i < count; i++) outcomes.push(await this.send(connection));
    return outcomes;
  }
}

/** Rejects when `promise` has not settled within `ms`: the bound every exchange must keep. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${ms}ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function transport(url: string, overrides: Partial<RequestTemplate> = {}): Transport {
  const created = createHttp1Transport(template(url, overrides));
  cleanups.push(() => created.close());
  return created;
}

async function raw(script: RawScript, options: RawServerOptions = {}): Promise<RawServer> {
  const server = await startRawServer(script, options);
  cleanups.push(() => server.close());
  return server;
}

function ok(status: number, extra: Partial<Outcome> = {}): Partial<Outcome> {
  return { status, errorKind: undefined, errorMessage: undefined, ...extra };
}

function failed(kind: Outcome['errorKind'], message?: RegExp): Partial<Outcome> {
  return { status: -1, errorKind: kind, ...(message !== undefined ? { errorMessage: expect.stringMatching(message) as unknown as string } : {}) };
}

/** No raw control byte, one line, at most 200 characters. */
function expectOneLine(message: string | undefined): void {
  expect(message).toBeDefined();
  expect(message?.length).toBeLessThanOrEqual(200);
  // eslint-disable-next-line no-control-regex
  expect(message).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
}

const OK_RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
/** Also a whole answer to HEAD. */
const EMPTY_RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

describe('split writes at every byte boundary', () => {
  const responses: Array<[string, string]> = [
    ['Content-Length', 'HTTP/1.1 200 OK\r\nServer: envoy\r\nX-Version: v2\r\nContent-Length: 11\r\n\r\nhello world'],
    [
      'chunked with extensions and trailers',
      'HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n',
    ],
    ['1xx interim responses first', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'],
  ];

  it.each(responses)('%s: every split gives the unsplit result', async (_name, text) => {
    const response = Buffer.from(text, 'latin1');
    // Request i is answered in two writes split at byte i (request 0: one write).
    const server = await raw((socket, request) => {
      const at = request.indexOnSocket;
      if (at === 0) {
        socket.write(response);
        return;
      }
      socket.write(response.subarray(0, at));
      setImmediate(() => {
        if (!socket.destroyed) socket.write(response.subarray(at));
      });
    });
    // Parsing is under test, not the connection model: the socket stays whatever the status.
    const connection = transport(`${server.url}/`, { reuseAfterError: true }).newConnection();
    const outcomes = await within(20_000, calls.many(connection, response.length));
    const whole = outcomes[0];
    expect(whole?.status).toBeGreaterThanOrEqual(200);
    for (const outcome of outcomes) expect(outcome).toEqual(whole);
    expect(connection.socketsOpened).toBe(1);
    expect(server.requests).toHaveLength(response.length);
  });
});

describe('endless responses', () => {
  it('a huge Content-Length body is counted, not kept, and the per-request timeout ends it', async () => {
    let written = Promise.resolve(0);
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n');
      written = writeForever(socket, Buffer.alloc(64 * 1024, 'b'));
    });
    const connection = transport(`${server.url}/`, { timeoutMs: 300 }).newConnection();
    const started = performance.now();
    const outcome = await within(5000, calls.send(connection));
    expect(outcome).toMatchObject(failed('timeout', /^no complete response within 300ms$/));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    // The client destroyed its socket: the server's side closes and its writer stops.
    await within(5000, server.whenClosed(1));
    expect(await within(5000, written)).toBeGreaterThan(64 * 1024);
    expect(server.requests).toHaveLength(1);
  });

  it('an endless chunked body ends at the per-request timeout', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      void writeForever(socket, `1000\r\n${'c'.repeat(0x1000)}\r\n`);
    });
    const connection = transport(`${server.url}/`, { timeoutMs: 300 }).newConnection();
    expect(await within(5000, calls.send(connection))).toMatchObject(failed('timeout'));
    await within(5000, server.whenClosed(1));
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['endless header lines', 'HTTP/1.1 200 OK\r\n', `X-Filler: ${'f'.repeat(100)}\r\n`],
    ['one endless header line', 'HTTP/1.1 200 OK\r\nX-Endless: ', 'e'.repeat(1000)],
    ['an endless status line', 'HTTP/1.1 200 ', 'r'.repeat(1000)],
    ['endless 100 Continue', '', 'HTTP/1.1 100 Continue\r\n\r\n'],
  ])('%s end at the 64 KiB header cap, long before the timeout', async (_name, head, filler) => {
    const server = await raw((socket) => {
      socket.write(head);
      void writeForever(socket, filler);
    });
    const connection = transport(`${server.url}/`, { timeoutMs: 30_000 }).newConnection();
    const outcome = await within(5000, calls.send(connection));
    expect(outcome).toMatchObject(failed('protocol', /^response headers exceed 64 KiB$/));
    await within(5000, server.whenClosed(1));
    expect(server.requests).toHaveLength(1);
  });
});

describe('silence and resets', () => {
  it('a silent server meets the per-request timeout, and the socket is closed', async () => {
    const server = await raw(() => {
      // never answers
    });
    const connection = transport(`${server.url}/`, { timeoutMs: 200 }).newConnection();
    const started = performance.now();
    const outcomes = await within(5000, calls.many(connection, 2));
    expect(outcomes).toMatchObject([failed('timeout'), failed('timeout')]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    await within(5000, server.whenClosed(2));
    expect(server.requests).toHaveLength(2);
    expect(connection.resends).toBe(0);
  });

  it('a reset before any response byte on a fresh socket is an error, never resent', async () => {
    const server = await raw((socket) => socket.resetAndDestroy());
    const connection = transport(`${server.url}/`).newConnection();
    expect(await within(5000, calls.send(connection))).toMatchObject(failed('reset', /ECONNRESET/));
    expect(server.requests).toHaveLength(1);
    expect(connection.resends).toBe(0);
  });

  it('a reset mid-body is an error, never resent', async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
      // A later read than the bytes: libuv reports data plus RST in one wake-up as a plain EOF.
      setTimeout(() => socket.resetAndDestroy(), 50);
    });
    const connection = transport(`${server.url}/`).newConnection();
    const outcome = await within(5000, calls.send(connection));
    expect(outcome.status).toBe(-1);
    expect(['reset', 'closed']).toContain(outcome.errorKind);
    expect(server.requests).toHaveLength(1);
    expect(connection.resends).toBe(0);
  });

  it('a close mid-body on a reused socket is an error, never resent', async () => {
    const server = await raw((socket, request) => {
      if (request.indexOnSocket === 0) socket.write(OK_RESPONSE);
      else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    });
    const connection = transport(`${server.url}/`).newConnection();
    const outcomes = await within(5000, calls.many(connection, 2));
    expect(outcomes).toMatchObject([ok(200), failed('closed', /closed before the response was complete/)]);
    expect(server.requests).toHaveLength(2);
    expect(connection.resends).toBe(0);
  });
});

describe('drop on the second request (the server closes a served keep-alive socket without answering)', () => {
  function dropSecond(how: 'end' | 'reset'): RawScript {
    return (socket, request) => {
      if (request.indexOnSocket === 0) socket.write(EMPTY_RESPONSE);
      else if (how === 'end') socket.end();
      else socket.resetAndDestroy();
    };
  }

  it.each(['end', 'reset'] as const)('GET, HEAD and OPTIONS are resent once on a new socket and counted (%s)', async (how) => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      const server = await raw(dropSecond(how));
      const connection = transport(`${server.url}/`, { method }).newConnection();
      const outcomes = await within(5000, calls.many(connection, 2));
      expect(outcomes).toMatchObject([ok(200), ok(200)]);
      expect(connection.resends).toBe(1);
      expect(connection.socketsOpened).toBe(2);
      // First request, the dropped one, and its one resend.
      expect(server.requests.map((r) => [r.socketIndex, r.indexOnSocket])).toEqual([
        [0, 0],
        [0, 1],
        [1, 0],
      ]);
    }
  });

  it.each([
    ['POST with a body', { method: 'POST', body: Buffer.from('once') }],
    ['empty POST', { method: 'POST' }],
    ['PUT', { method: 'PUT', body: Buffer.from('x') }],
    ['DELETE', { method: 'DELETE' }],
    ['PATCH', { method: 'PATCH', body: Buffer.from('x') }],
    ['GET with a body', { method: 'GET', body: Buffer.from('x') }],
  ] as Array<[string, Partial<RequestTemplate>]>)('%s is never resent: the drop is an error', async (_name, overrides) => {
    for (const how of ['end', 'reset'] as const) {
      const server = await raw(dropSecond(how));
      const connection = transport(`${server.url}/`, overrides).newConnection();
      const outcomes = await within(5000, calls.many(connection, 2));
      expect(outcomes[0]).toMatchObject(ok(200));
      expect(outcomes[1]?.status).toBe(-1);
      expect(['closed', 'reset']).toContain(outcomes[1]?.errorKind);
      expect(connection.resends).toBe(0);
      expect(server.requests).toHaveLength(2);
    }
  });

  it('load-like loop: a POST upstream that drops every second request shows every drop', async () => {
    const server = await raw(dropSecond('end'));
    const connection = transport(`${server.url}/`, { method: 'POST', body: Buffer.from('p') }).newConnection();
    const outcomes = await within(10_000, calls.many(connection, 10));
    expect(outcomes.filter((o) => o.status === 200)).toHaveLength(5);
    expect(outcomes.filter((o) => o.status === -1)).toHaveLength(5);
    expect(server.requests).toHaveLength(10);
    expect(connection.resends).toBe(0);
  });
});

describe('through the load engine (the -n 10 that reached the server 18 times)', () => {
  it.each([
    ['POST', Buffer.from('p'), { '200': 5, '-1': 5 }, 10],
    // Every GET after the first meets a served socket that drops it and is resent once on a
    // fresh one: 10 calls, 19 requests on the wire (the engine counts the 9 resends).
    ['GET', Buffer.alloc(0), { '200': 10 }, 19],
  ] as Array<[string, Buffer, Record<string, number>, number]>)('%s -n 10: calls counted as sent', async (method, payload, codes, onWire) => {
    const server = await raw((socket, request) => {
      if (request.indexOnSocket === 0) socket.write(EMPTY_RESPONSE);
      else socket.end();
    });
    const plan = loadPlan({ url: `${server.url}/`, method, payload, connections: 1, qps: 0, requests: 10 });
    const t = createHttp1Transport(template(plan.url, { method, body: payload }));
    const result = await within(10_000, runLoad(plan, t));
    expect(result.codes).toEqual(codes);
    expect(server.requests).toHaveLength(onWire);
  });
});

describe('unsolicited bytes', () => {
  it('a response before a request fails the next send with the bytes quoted, unsent', async () => {
    const sockets: net.Socket[] = [];
    const server = await raw((socket) => socket.write(OK_RESPONSE), { onConnect: (socket) => sockets.push(socket) });
    const connection = transport(`${server.url}/`).newConnection();
    expect(await within(5000, calls.send(connection))).toMatchObject(ok(200));
    // Only now, with the client idle: an answer to nothing.
    sockets[0]?.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\x1b[2J');
    // The client drops the socket when the bytes arrive; the server then sees it close.
    await within(5000, server.whenClosed(1));
    const outcomes = await within(5000, calls.many(connection, 2));
    expect(outcomes).toMatchObject([failed('protocol', /^response before request: "HTTP\/1\.1 200 OK\\x0d\\x0a/), ok(200)]);
    expectOneLine(outcomes[0]?.errorMessage);
    expect(server.requests).toHaveLength(2);
    expect(connection.socketsOpened).toBe(2);
  });

  it('a 408 or empty lines on an idle socket only drop it: the next send goes out on a new one', async () => {
    for (const noise of ['HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n', '\r\n']) {
      const sockets: net.Socket[] = [];
      const server = await raw((socket) => socket.write(OK_RESPONSE), { onConnect: (socket) => sockets.push(socket) });
      const connection = transport(`${server.url}/`).newConnection();
      expect(await within(5000, calls.send(connection))).toMatchObject(ok(200));
      sockets[0]?.write(noise);
      await within(5000, server.whenClosed(1));
      expect(await within(5000, calls.send(connection))).toMatchObject(ok(200));
      expect(connection.socketsOpened).toBe(2);
      expect(connection.resends).toBe(0);
    }
  });

  it('a stray CRLF after a complete response is tolerated', async () => {
    const server = await raw((socket) => socket.write(`${OK_RESPONSE}\r\n`));
    const connection = transport(`${server.url}/`).newConnection();
    expect(await within(5000, calls.send(connection))).toMatchObject(ok(200));
  });

  it('bytes after a complete response make the exchange a protocol error', async () => {
    const server = await raw((socket) => socket.write(Buffer.from(`${OK_RESPONSE}junk\x00\xff`, 'latin1')));
    const connection = transport(`${server.url}/`).newConnection();
    const outcome = await within(5000, calls.send(connection));
    expect(outcome).toMatchObject(failed('protocol'));
    expect(outcome.errorMessage).toBe('unsolicited bytes after response: "junk\\x00\\xff"');
    expect(server.requests).toHaveLength(1);
  });

  it('garbage instead of a status line is quoted, escaped and bounded', async () => {
    const server = await raw((socket) => socket.write(`HTTP/1.1 abc\x1b]0;pwned\x07${'z'.repeat(5000)}\r\n\r\n`));
    const outcome = await within(5000, calls.send(transport(`${server.url}/`).newConnection()));
    expect(outcome).toMatchObject(failed('protocol', /^invalid status line "HTTP\/1\.1 abc\\x1b\]0;pwned\\x07z+"\.\.\.$/));
    expectOneLine(outcome.errorMessage);
  });

  it.each([
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /^invalid chunk size$/],
    ['a bad Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n', /^invalid Content-Length "1e3"$/],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nno colon\x01\r\n\r\n', /^invalid header line "no colon\\x01"$/],
  ])('%s reaches errorMessage', async (_name, response, message) => {
    const server = await raw((socket) => socket.write(response));
    const outcome = await within(5000, calls.send(transport(`${server.url}/`).newConnection()));
    expect(outcome).toMatchObject(failed('protocol', message));
    expectOneLine(outcome.errorMessage);
  });
});

describe('legal but unusual framing', () => {
  it('an HTTP/1.0 close-delimited body is read to the close; the next request opens a socket', async () => {
    const server = await raw((socket: net.Socket) => {
      socket.write('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ');
      setImmediate(() => socket.end('the close'));
    });
    const connection = transport(`${server.url}/`).newConnection();
    const outcomes = await within(5000, calls.many(connection, 3));
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200, { bodyBytes: 15 }));
    expect(connection.socketsOpened).toBe(3);
    expect(connection.resends).toBe(0);
    expect(server.requests).toHaveLength(3);
  });

  it('an HTTP/1.0 response with Content-Length and no keep-alive closes the socket after it', async () => {
    const server = await raw((socket) => socket.write('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const connection = transport(`${server.url}/`).newConnection();
    expect(await within(5000, calls.many(connection, 2))).toMatchObject([ok(200, { bodyBytes: 2 }), ok(200, { bodyBytes: 2 })]);
    expect(connection.socketsOpened).toBe(2);
    expect(server.requests).toHaveLength(2);
  });

  it('1xx interim responses are skipped; only the final head is counted', async () => {
    const final = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n';
    const server = await raw((socket) => socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n${final}ok`));
    const connection = transport(`${server.url}/`, { method: 'POST', body: Buffer.from('b') }).newConnection();
    const outcomes = await within(5000, calls.many(connection, 2));
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(200, { headerBytes: final.length, bodyBytes: 2 }));
    expect(connection.socketsOpened).toBe(1);
    expect(server.requests).toHaveLength(2);
  });

  it('101 Switching Protocols, never asked for, is a protocol error', async () => {
    const server = await raw((socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n'));
    const outcome = await within(5000, calls.send(transport(`${server.url}/`).newConnection()));
    expect(outcome).toMatchObject(failed('protocol', /101/));
  });
});
