/** The gRPC client transport against a raw node:http2 server answering as Envoy answers a
 * rejected call, and as hostile or broken servers answer. */
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { decodePing, encodePing, PING_PATH } from '../../src/grpc/builtin-messages';
import { frameMessage, MessageReader } from '../../src/grpc/grpc-frame';
import { createGrpcTransport, type GrpcCallTemplate } from '../../src/grpc/grpc-transport';
import { classifyFailure } from '../../src/model/failure-cause';
import type { Transport } from '../../src/transport/transport';
import type { Outcome } from '../../src/model/outcome';
import { FRAME, startHostileH2Server } from '../helpers/hostile-h2-server';

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

let server: http2.Http2Server | undefined;
let transport: Transport | undefined;
const sessions = new Set<http2.ServerHttp2Session>();

afterEach(async () => {
  transport?.close();
  transport = undefined;
  for (const s of sessions) s.destroy();
  sessions.clear();
  if (server !== undefined) await new Promise<void>((resolve) => server?.close(() => resolve()));
  server = undefined;
});

async function serve(handler: Handler): Promise<string> {
  server = http2.createServer();
  server.on('session', (s) => sessions.add(s));
  server.on('stream', (stream, headers) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => handler(stream, headers, Buffer.concat(parts)));
    stream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function call(url: string, overrides: Partial<GrpcCallTemplate> = {}): Promise<Outcome> {
  transport = createGrpcTransport({ url, path: PING_PATH, message: encodePing({ seq: 1, ts: 2, payload: 'hi', delayNanos: 0 }), metadata: [], timeoutMs: 5000, compression: false, streams: 1, insecure: false, ...overrides });
  const connection = transport.newConnection();
  return new Promise((resolve) => connection.send(resolve));
}

const GRPC_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };

function answer(stream: http2.ServerHttp2Stream, messages: Buffer[], trailers: Record<string, string>): void {
  stream.respond(GRPC_HEADERS, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  stream.end(Buffer.concat(messages));
}

describe('gRPC transport: the truth about failures', () => {
  test('a good unary call is OK, with the request framed and the headers gRPC wants', async () => {
    let seen: http2.IncomingHttpHeaders = {};
    let payload = '';
    const url = await serve((stream, headers, body) => {
      seen = headers;
      const reader = new MessageReader(1 << 20, true, undefined);
      reader.push(body);
      payload = decodePing(reader.kept[0] ?? Buffer.alloc(0)).payload;
      answer(stream, [frameMessage(body.subarray(5))], { 'grpc-status': '0' });
    });
    const outcome = await call(url, { metadata: [['x-meshload-grpc-status', '14:0']] });
    expect(outcome.grpcStatus).toBe(0);
    expect(outcome.status).toBe(200);
    expect(classifyFailure(outcome)).toBeUndefined();
    expect(payload).toBe('hi');
    expect(seen[':path']).toBe('/fgrpc.PingServer/Ping');
    expect(seen[':method']).toBe('POST');
    expect(seen['content-type']).toBe('application/grpc');
    expect(seen.te).toBe('trailers');
    expect(seen['x-meshload-grpc-status']).toBe('14:0');
  });

  test("Envoy's breaker answer (HTTP 200, trailers-only, grpc-status 14, x-envoy-overloaded) is a breaker failure, not OK", async () => {
    const url = await serve((stream) => {
      stream.respond(
        {
          ...GRPC_HEADERS,
          'grpc-status': '14',
          'grpc-message': 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
          'x-envoy-overloaded': 'true',
          server: 'envoy',
        },
        { endStream: true },
      );
    });
    const outcome = await call(url);
    expect(outcome.grpcStatus).toBe(14);
    expect(outcome.status).not.toBe(200);
    expect(outcome.envoyOverloaded).toBe(true);
    expect(classifyFailure(outcome)).toBe('breaker');
  });

  test('gzip: the request is compressed when asked and a gzip reply is read', async () => {
    let flag = -1;
    let encoding: unknown;
    const url = await serve((stream, headers, body) => {
      flag = body[0] ?? -1;
      encoding = headers['grpc-encoding'];
      stream.respond({ ...GRPC_HEADERS, 'grpc-encoding': 'gzip' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frameMessage(Buffer.from('zipped'), true));
    });
    const outcome = await call(url, { compression: true });
    expect(flag).toBe(1);
    expect(encoding).toBe('gzip');
    expect(outcome.grpcStatus).toBe(0);
  });

  test('missing trailers: HTTP 200 and a message but no grpc-status is Internal', async () => {
    const url = await serve((stream) => {
      stream.respond(GRPC_HEADERS);
      stream.end(frameMessage(Buffer.from('x')));
    });
    const outcome = await call(url);
    expect(outcome.grpcStatus).toBe(13);
    expect(outcome.bodyPrefix).toMatch(/without sending grpc-status/);
  });

  test('a bad length prefix claiming 4 GiB ends the call at once as Internal, without buffering', async () => {
    const url = await serve((stream) => {
      stream.respond(GRPC_HEADERS);
      const prefix = Buffer.from([0, 0xff, 0xff, 0xff, 0xff]);
      stream.write(Buffer.concat([prefix, Buffer.alloc(1000)]));
      // Never ends: the client must not wait for the rest.
    });
    const outcome = await call(url, { maxMessageBytes: 1024 });
    expect(outcome.grpcStatus).toBe(13);
    expect(outcome.bodyPrefix).toMatch(/over the 1024-byte limit/);
  });

  test('RST_STREAM before any answer is a reset with a gRPC status; the cause is socket-side', async () => {
    const url = await serve((stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    const outcome = await call(url);
    expect(outcome.status).toBe(-1);
    expect(outcome.errorKind).toBe('reset');
    expect(outcome.grpcStatus).toBe(13);
    expect(outcome.errorMessage).toMatch(/RST_STREAM code 2/);
    const refused = await serveAgainAndCall((stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
    expect(refused.grpcStatus).toBe(14);
  });

  test("the server's DEADLINE_EXCEEDED is told apart from the client's own timeout", async () => {
    const url = await serve((stream) => stream.respond({ ...GRPC_HEADERS, 'grpc-status': '4', 'grpc-message': 'deadline' }, { endStream: true }));
    const theirs = await call(url);
    expect(theirs.grpcStatus).toBe(4);
    expect(classifyFailure(theirs)).toBe('timeout');
    const ours = await serveAgainAndCall(() => undefined, { timeoutMs: 200 });
    expect(ours.status).toBe(-1);
    expect(ours.errorKind).toBe('timeout');
    expect(ours.grpcStatus).toBe(4);
    expect(classifyFailure(ours)).toBe('client_timeout');
  });

  test('a non-gRPC HTTP answer maps by its status: a 503 is Unavailable and keeps its body for the cause', async () => {
    const url = await serve((stream) => {
      stream.respond({ ':status': 503, 'content-type': 'text/plain' });
      stream.end('no healthy upstream');
    });
    const outcome = await call(url);
    expect(outcome.grpcStatus).toBe(14);
    expect(classifyFailure(outcome)).toBe('no_healthy');
  });

  test('a refused connection is Unavailable at the socket level', async () => {
    const url = await serve(() => undefined);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    for (const s of sessions) s.destroy();
    server = undefined;
    const outcome = await call(url);
    expect(outcome.status).toBe(-1);
    expect(outcome.errorKind).toBe('refused');
    expect(outcome.grpcStatus).toBe(14);
  });

  test('reconnect (-connection-reuse) closes the connection gracefully: the next call dials again and is OK', async () => {
    const url = await serve((stream, _h, body) => answer(stream, [frameMessage(body.subarray(5))], { 'grpc-status': '0' }));
    transport = createGrpcTransport({ url, path: PING_PATH, message: encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 0 }), metadata: [], timeoutMs: 5000, compression: false, streams: 1, insecure: false });
    const connection = transport.newConnection();
    const first = await new Promise<Outcome>((resolve) => connection.send(resolve));
    connection.reconnect();
    const second = await new Promise<Outcome>((resolve) => connection.send(resolve));
    expect([first.grpcStatus, second.grpcStatus]).toEqual([0, 0]);
    expect(connection.socketsOpened).toBe(2);
    expect(sessions.size).toBe(2);
  });

  test('-s: streams share one connection; many calls in flight complete', async () => {
    const url = await serve((stream, _h, body) => answer(stream, [frameMessage(body.subarray(5))], { 'grpc-status': '0' }));
    transport = createGrpcTransport({ url, path: PING_PATH, message: encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 0 }), metadata: [], timeoutMs: 5000, compression: false, streams: 4, insecure: false });
    const connections = Array.from({ length: 8 }, () => (transport as Transport).newConnection());
    const outcomes = await Promise.all(connections.map((c) => new Promise<Outcome>((resolve) => c.send(resolve))));
    expect(outcomes.map((o) => o.grpcStatus)).toEqual(Array(8).fill(0));
    expect(connections.reduce((n, c) => n + c.socketsOpened, 0)).toBe(2);
    expect(sessions.size).toBe(2);
  });
});

describe('gRPC transport: messages larger than the HTTP/2 windows', () => {
  test('a 300 KiB request and a 3 MiB response cross the default 64 KiB windows whole, OK', async () => {
    let received = -1;
    let payloadLength = -1;
    const reply = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const url = await serve((stream, _h, body) => {
      received = body.length;
      const reader = new MessageReader(1 << 20, true, undefined);
      reader.push(body);
      payloadLength = decodePing(reader.kept[0] ?? Buffer.alloc(0)).payload.length;
      answer(stream, [frameMessage(reply)], { 'grpc-status': '0' });
    });
    const payload = 'x'.repeat(300 * 1024);
    const outcome = await call(url, { message: encodePing({ seq: 1, ts: 2, payload, delayNanos: 0 }) });
    expect(outcome.errorMessage).toBeUndefined();
    expect(outcome.grpcStatus).toBe(0);
    expect(outcome.bodyBytes).toBe(reply.length + 5);
    expect(payloadLength).toBe(payload.length);
    expect(received).toBeGreaterThan(payload.length);
  });

  test('a gzip message spread over many socket reads decompresses whole (bytes kept across reads are copied)', async () => {
    // Random bytes do not compress: the compressed message spans many DATA frames and reads.
    const plain = randomBytes(400 * 1024);
    const url = await serve((stream) => {
      stream.respond({ ...GRPC_HEADERS, 'grpc-encoding': 'gzip' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frameMessage(plain, true));
    });
    const outcome = await call(url);
    expect(outcome.bodyPrefix).toBeUndefined();
    expect(outcome.grpcStatus).toBe(0);
    expect(outcome.bodyBytes).toBeGreaterThan(plain.length);
  });

  test('calls after a large one on the same connection still complete (windows replenished)', async () => {
    const reply = Buffer.alloc(2 * 1024 * 1024, 0x62);
    const url = await serve((stream) => answer(stream, [frameMessage(reply)], { 'grpc-status': '0' }));
    transport = createGrpcTransport({ url, path: PING_PATH, message: encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 0 }), metadata: [], timeoutMs: 5000, compression: false, streams: 1, insecure: false });
    const connection = transport.newConnection();
    // 10 x 2 MiB is above both our 1 MiB stream window and 16 MiB connection window.
    for (let i = 0; i < 10; i++) {
      const outcome = await new Promise<Outcome>((resolve) => connection.send(resolve));
      expect(outcome.grpcStatus).toBe(0);
      expect(outcome.bodyBytes).toBe(reply.length + 5);
    }
    expect(connection.socketsOpened).toBe(1);
  });
});

async function serveAgainAndCall(handler: Handler, overrides: Partial<GrpcCallTemplate> = {}): Promise<Outcome> {
  transport?.close();
  for (const s of sessions) s.destroy();
  sessions.clear();
  if (server !== undefined) await new Promise<void>((resolve) => server?.close(() => resolve()));
  const url = await serve(handler);
  return call(url, overrides);
}

describe('gRPC transport: grpc-status only where the protocol puts it', () => {
  test('grpc-status 0 in headers that do not end the stream, then a message and no trailers, is Internal', async () => {
    const url = await serve((stream, _h, body) => {
      stream.respond({ ...GRPC_HEADERS, 'grpc-status': '0' });
      stream.end(frameMessage(body.subarray(5)));
    });
    const outcome = await call(url);
    expect(outcome.grpcStatus).toBe(13);
    expect(outcome.bodyPrefix).toMatch(/without sending grpc-status/);
  });
});

describe('gRPC transport: streams the server did not process are sent again, as grpc-go does', () => {
  test('REFUSED_STREAM once, then an answer: OK, one resend', async () => {
    let seen = 0;
    const url = await serve((stream, _h, body) => {
      if (seen++ === 0) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else answer(stream, [frameMessage(body.subarray(5))], { 'grpc-status': '0' });
    });
    transport = createGrpcTransport({ url, path: PING_PATH, message: encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 0 }), metadata: [], timeoutMs: 5000, compression: false, streams: 1, insecure: false });
    const connection = transport.newConnection();
    const outcome = await new Promise<Outcome>((resolve) => connection.send(resolve));
    expect(outcome.grpcStatus).toBe(0);
    expect(connection.resends).toBe(1);
  });

  test('REFUSED_STREAM every time: Unavailable after MAX_RESENDS resends, never a loop', async () => {
    let seen = 0;
    const url = await serve((stream) => {
      seen++;
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    });
    transport = createGrpcTransport({ url, path: PING_PATH, message: encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 0 }), metadata: [], timeoutMs: 5000, compression: false, streams: 1, insecure: false });
    const connection = transport.newConnection();
    const outcome = await new Promise<Outcome>((resolve) => connection.send(resolve));
    expect(outcome.grpcStatus).toBe(14);
    expect(outcome.errorMessage).toMatch(/after 2 resends/);
    expect(connection.resends).toBe(2);
    expect(seen).toBe(3);
  });

  test('GOAWAY with last stream 0 (a draining server): the call goes out again on a new connection', async () => {
    const hostile = await startHostileH2Server({
      onStream(peer, streamId) {
        if (peer.index === 0) {
          peer.goaway(0, 0);
          return;
        }
        // HPACK: :status 200 (indexed), then literal fields without indexing, new names.
        const literal = (name: string, value: string): Buffer => Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
        peer.frame(FRAME.HEADERS, 0x1 | 0x4, streamId, Buffer.concat([Buffer.from([0x88]), literal('content-type', 'application/grpc'), literal('grpc-status', '14'), literal('grpc-message', 'second connection')]));
      },
    });
    try {
      transport = createGrpcTransport({ url: hostile.url, path: PING_PATH, message: encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 0 }), metadata: [], timeoutMs: 5000, compression: false, streams: 1, insecure: false });
      const connection = transport.newConnection();
      const outcome = await new Promise<Outcome>((resolve) => connection.send(resolve));
      expect(outcome.grpcStatus).toBe(14);
      expect(outcome.bodyPrefix).toBe('second connection');
      expect(connection.resends).toBe(1);
      expect(hostile.accepted).toBe(2);
    } finally {
      transport?.close();
      transport = undefined;
      await hostile.close();
    }
  });
});

describe('gRPC transport: a unary reply that never ends', () => {
  test('endless messages: the call ends at the second one as Internal, without a timeout', async () => {
    const url = await serve((stream) => {
      stream.respond(GRPC_HEADERS);
      const one = frameMessage(Buffer.from('x'));
      // Writes until the client resets the stream; never ends it.
      const pump = (): void => {
        while (!stream.destroyed && stream.write(one));
        if (!stream.destroyed) stream.once('drain', pump);
      };
      pump();
    });
    const outcome = await call(url, { timeoutMs: 0 });
    expect(outcome.grpcStatus).toBe(13);
    expect(outcome.bodyPrefix).toMatch(/more than one response message/);
  });
});

describe('gRPC transport: hostile peers on the raw wire', () => {
  const literal = (name: string, value: string): Buffer => Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
  const grpcHeaders = (): Buffer => Buffer.concat([Buffer.from([0x88]), literal('content-type', 'application/grpc')]);

  async function withHostile(script: Parameters<typeof startHostileH2Server>[0], run: (url: string) => Promise<void>): Promise<void> {
    const hostile = await startHostileH2Server(script);
    try {
      await run(hostile.url);
    } finally {
      transport?.close();
      transport = undefined;
      await hostile.close();
    }
  }

  test('trailers without END_STREAM: a malformed response (Internal, protocol), the stream reset, no hang', async () => {
    await withHostile(
      {
        onStream(peer, streamId) {
          peer.frame(FRAME.HEADERS, 0x4, streamId, grpcHeaders());
          peer.data(streamId, frameMessage(Buffer.alloc(0)));
          peer.frame(FRAME.HEADERS, 0x4, streamId, literal('grpc-status', '0'));
        },
      },
      async (url) => {
        const outcome = await call(url);
        expect(outcome.grpcStatus).toBe(13);
        expect(outcome.errorKind).toBe('protocol');
        expect(outcome.errorMessage).toMatch(/trailers without END_STREAM/);
      },
    );
  });

  test('a server that never sends SETTINGS: the call times out as DEADLINE_EXCEEDED and the next call dials again', async () => {
    await withHostile({ silent: true }, async (url) => {
      transport = createGrpcTransport({ url, path: PING_PATH, message: encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 0 }), metadata: [], timeoutMs: 300, compression: false, streams: 1, insecure: false });
      const connection = transport.newConnection();
      const started = performance.now();
      const first = await new Promise<Outcome>((resolve) => connection.send(resolve));
      expect(performance.now() - started).toBeLessThan(5000);
      expect(first.errorKind).toBe('timeout');
      expect(first.grpcName).toBe('DeadlineExceeded');
      const second = await new Promise<Outcome>((resolve) => connection.send(resolve));
      expect(second.errorKind).toBe('timeout');
      expect(connection.socketsOpened).toBe(2);
    });
  });

  test('DATA before HEADERS: a malformed response, Internal (not Unavailable), kind protocol', async () => {
    await withHostile({ onStream: (peer, streamId) => peer.data(streamId, frameMessage(Buffer.alloc(0)), true) }, async (url) => {
      const outcome = await call(url);
      expect(outcome.grpcName).toBe('Internal');
      expect(outcome.errorKind).toBe('protocol');
      expect(outcome.errorMessage).toMatch(/DATA before its HEADERS/);
    });
  });

  test('RST_STREAM INTERNAL_ERROR after the response headers: Internal, counted as a reset, with the code', async () => {
    await withHostile(
      {
        onStream(peer, streamId) {
          peer.frame(FRAME.HEADERS, 0x4, streamId, grpcHeaders());
          peer.rst(streamId, 2);
        },
      },
      async (url) => {
        const outcome = await call(url);
        expect(outcome.grpcStatus).toBe(13);
        expect(outcome.errorKind).toBe('reset');
        expect(outcome.errorMessage).toMatch(/RST_STREAM code 2\) before grpc-status/);
      },
    );
  });
});
