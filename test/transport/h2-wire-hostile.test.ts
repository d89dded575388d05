/** The h2-wire transport (meshload's own framing, used by -h2) against a raw HTTP/2 server that
 * sends what the protocol forbids or what would grow us without bound: each send gets exactly
 * one honest outcome (a protocol error names the frame), connection errors drop the session
 * (the next send dials again), stream errors leave it serving. */
import net from 'node:net';
import { createFastH2Transport } from '../../src/transport/h2-fast-transport';
import { FrameType } from '../../src/transport/h2-wire/frames';
import { HpackEncoder } from '../../src/transport/h2-wire/hpack';
import { MAX_HEADER_BLOCK_BYTES, MAX_HEADER_LIST_BYTES } from '../../src/transport/h2-wire/session';
import type { Connection, Transport } from '../../src/transport/transport';
import type { Outcome } from '../../src/model/outcome';
import { startHostileH2Server, type H2Peer, type HostileH2Server, type HostileScript } from '../helpers/hostile-h2-server';
import { template } from '../helpers/transport-harness';

const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function hostile(script: HostileScript): Promise<HostileH2Server> {
  const started = await startHostileH2Server(script);
  cleanups.push(() => started.close());
  return started;
}

function transport(url: string): Transport {
  const created = createFastH2Transport(template(url, { timeoutMs: 3000 }));
  cleanups.push(() => created.close());
  return created;
}

/** Resolves with the outcome, and fails the test if a second callback arrives. */
async function sendOnce(connection: Connection): Promise<Outcome> {
  let calls = 0;
  const outcome = await new Promise<Outcome>((resolve) =>
    connection.send((o) => {
      calls++;
      resolve(o);
    }),
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  expect(calls).toBe(1);
  return outcome;
}

/** A header block the peer can send without touching its HPACK table (no indexing). */
function block(fields: Array<[string, string]>): Buffer {
  return new HpackEncoder('never').encode(fields, () => 'no-index');
}

/** Answers every stream of connections after the first normally: a session dropped after a
 * connection error is replaced, and the replacement works. */
function afterFirst(misbehave: (peer: H2Peer, id: number) => void): HostileScript {
  return { onStream: (peer, id) => (peer.index === 0 ? misbehave(peer, id) : peer.respond(id)) };
}

interface ConnectionErrorCase {
  name: string;
  misbehave: (peer: H2Peer, id: number) => void;
  message: string;
}

const CONNECTION_ERRORS: ConnectionErrorCase[] = [
  {
    name: 'a frame above the 16 KiB we allow',
    misbehave: (peer, id) => {
      peer.headers(id);
      peer.data(id, Buffer.alloc(20_000));
    },
    message: 'HTTP/2 protocol error from the server (FRAME_SIZE_ERROR): a frame of 20000 bytes, above the 16384 allowed',
  },
  {
    name: 'a header index in neither table',
    misbehave: (peer, id) => peer.frame(FrameType.HEADERS, END_HEADERS, id, Buffer.from([0xbe])),
    message: 'HTTP/2 protocol error from the server (COMPRESSION_ERROR): bad header block: header index 62 is not in the table',
  },
  {
    name: 'PUSH_PROMISE although push is off',
    misbehave: (peer, id) => peer.frame(FrameType.PUSH_PROMISE, END_HEADERS, id, Buffer.concat([Buffer.from([0, 0, 0, 2]), block([[':method', 'GET']])])),
    message: 'HTTP/2 protocol error from the server (PROTOCOL_ERROR): PUSH_PROMISE although we disabled push',
  },
  {
    name: 'HEADERS on a stream we never opened',
    misbehave: (peer) => peer.headers(99),
    message: 'HTTP/2 protocol error from the server (PROTOCOL_ERROR): HEADERS on idle stream 99',
  },
  {
    name: 'RST_STREAM on stream 0',
    misbehave: (peer) => peer.rst(0, 2),
    message: 'HTTP/2 protocol error from the server (PROTOCOL_ERROR): RST_STREAM on stream 0',
  },
  {
    name: 'a WINDOW_UPDATE of 0 on the connection',
    misbehave: (peer) => peer.frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(4)),
    message: 'HTTP/2 protocol error from the server (PROTOCOL_ERROR): WINDOW_UPDATE of 0 on the connection',
  },
  {
    name: 'a connection window above 2^31-1',
    misbehave: (peer) => peer.frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0x7f, 0xff, 0xff, 0xff])),
    message: 'HTTP/2 protocol error from the server (FLOW_CONTROL_ERROR): connection window above 2^31-1',
  },
  {
    name: 'SETTINGS_MAX_FRAME_SIZE below 16 KiB',
    misbehave: (peer) => peer.frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 5, 0, 0, 0x10, 0])),
    message: 'HTTP/2 protocol error from the server (PROTOCOL_ERROR): SETTINGS_MAX_FRAME_SIZE 4096',
  },
  {
    name: 'a PING of 3 bytes',
    misbehave: (peer) => peer.frame(FrameType.PING, 0, 0, Buffer.alloc(3)),
    message: 'HTTP/2 protocol error from the server (FRAME_SIZE_ERROR): PING of 3 bytes',
  },
  {
    name: 'a DATA frame inside a header block',
    misbehave: (peer, id) => {
      peer.frame(FrameType.HEADERS, 0, id, Buffer.from([0x88]));
      peer.data(id, 'x');
    },
    message: 'HTTP/2 protocol error from the server (PROTOCOL_ERROR): a DATA frame inside a header block',
  },
  {
    name: 'DATA padding as long as the frame',
    misbehave: (peer, id) => {
      peer.headers(id);
      peer.frame(FrameType.DATA, PADDED | END_STREAM, id, Buffer.from([4, 1, 2, 3]));
    },
    message: 'HTTP/2 protocol error from the server (PROTOCOL_ERROR): DATA padding as long as the frame',
  },
];

describe('connection errors: GOAWAY, one protocol outcome, and a new session next time', () => {
  it.each(CONNECTION_ERRORS)('$name', async ({ misbehave, message }) => {
    const server = await hostile(afterFirst(misbehave));
    const connection = transport(server.url).newConnection();
    const outcome = await sendOnce(connection);
    expect(outcome).toMatchObject({ status: -1, errorKind: 'protocol', errorMessage: message });
    await server.whenClosed(1);
    expect(await sendOnce(connection)).toMatchObject({ status: 200, bodyBytes: 2 });
    expect(server.accepted).toBe(2);
  });

  it('CONTINUATION without end: stops collecting at MAX_HEADER_BLOCK_BYTES', async () => {
    let sent = 0;
    const server = await hostile(
      afterFirst((peer, id) => {
        peer.frame(FrameType.HEADERS, 0, id, Buffer.from([0x88]));
        const chunk = Buffer.alloc(16_384, 0x82);
        const pump = (): void => {
          while (!peer.socket.destroyed && sent < 4 * MAX_HEADER_BLOCK_BYTES) {
            sent += chunk.length;
            peer.frame(FrameType.CONTINUATION, 0, id, chunk);
            if (peer.socket.writableLength > 1 << 20) return void peer.socket.once('drain', pump);
          }
        };
        pump();
      }),
    );
    const connection = transport(server.url).newConnection();
    const outcome = await sendOnce(connection);
    expect(outcome).toMatchObject({
      status: -1,
      errorKind: 'protocol',
      errorMessage: `HTTP/2 protocol error from the server (ENHANCE_YOUR_CALM): a header block above ${MAX_HEADER_BLOCK_BYTES} bytes`,
    });
    await server.whenClosed(1);
    expect(await sendOnce(connection)).toMatchObject({ status: 200 });
  });

  it("a server whose first frame is not SETTINGS (an HTTP/2 server's preface)", async () => {
    const server = await hostile({ silent: true, onStream: (peer, id) => peer.headers(id, 200, true) });
    const outcome = await sendOnce(transport(server.url).newConnection());
    expect(outcome).toMatchObject({
      status: -1,
      errorKind: 'protocol',
      errorMessage: "HTTP/2 protocol error from the server (PROTOCOL_ERROR): the server's first frame was HEADERS, not SETTINGS",
    });
  });
});

describe('a flood', () => {
  it('of PINGs from a server that never reads our answers: ENHANCE_YOUR_CALM once 1 MiB of answers waits', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
      // Never read: our PING acknowledgements pile up on our side.
      socket.pause();
      socket.write(frameBytes(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)));
      const ping = frameBytes(FrameType.PING, 0, 0, Buffer.alloc(8));
      const burst = Buffer.concat(Array.from({ length: 4096 }, () => ping));
      let sent = 0;
      const pump = (): void => {
        // At most 64 MiB: far beyond what loopback buffers hold.
        while (!socket.destroyed && sent < 64 << 20) {
          sent += burst.length;
          if (!socket.write(burst)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    );
    const port = (server.address() as net.AddressInfo).port;
    const outcome = await sendOnce(transport(`http://127.0.0.1:${port}/`).newConnection());
    expect(outcome).toMatchObject({
      status: -1,
      errorKind: 'protocol',
      errorMessage: 'HTTP/2 protocol error from the server (ENHANCE_YOUR_CALM): the server sends PINGs or SETTINGS faster than it reads our answers',
    });
  });
});

interface StreamErrorCase {
  name: string;
  misbehave: (peer: H2Peer, id: number) => void;
  kind: Outcome['errorKind'];
  message: string;
}

const STREAM_ERRORS: StreamErrorCase[] = [
  {
    name: 'response headers above MAX_HEADER_LIST_BYTES',
    misbehave: (peer, id) => {
      const big = block([[':status', '200'], ['x-big', 'v'.repeat(MAX_HEADER_LIST_BYTES)]]);
      peer.frame(FrameType.HEADERS, 0, id, big.subarray(0, 16_000));
      for (let at = 16_000; at < big.length; at += 16_000) {
        peer.frame(FrameType.CONTINUATION, at + 16_000 >= big.length ? END_HEADERS : 0, id, big.subarray(at, at + 16_000));
      }
    },
    kind: 'protocol',
    message: `malformed response: response headers of ${MAX_HEADER_LIST_BYTES + 'x-big'.length + ':status'.length + 3 + 2 * 32} bytes, above the ${MAX_HEADER_LIST_BYTES} allowed`,
  },
  {
    name: 'DATA before HEADERS',
    misbehave: (peer, id) => peer.data(id, 'early', true),
    kind: 'protocol',
    message: 'malformed response: response DATA before its HEADERS',
  },
  {
    name: 'no :status',
    misbehave: (peer, id) => peer.frame(FrameType.HEADERS, END_HEADERS | END_STREAM, id, block([['server', 'x']])),
    kind: 'protocol',
    message: 'malformed response: no valid :status in the response headers',
  },
  {
    name: 'a :status that is not 3 digits',
    misbehave: (peer, id) => peer.frame(FrameType.HEADERS, END_HEADERS | END_STREAM, id, block([[':status', '20x']])),
    kind: 'protocol',
    message: 'malformed response: no valid :status in the response headers',
  },
  {
    name: 'a body longer than its content-length',
    misbehave: (peer, id) => {
      peer.frame(FrameType.HEADERS, END_HEADERS, id, block([[':status', '200'], ['content-length', '2']]));
      peer.data(id, 'four', true);
    },
    kind: 'protocol',
    message: 'malformed response: 4 body bytes, content-length 2',
  },
  {
    name: 'a body shorter than its content-length',
    misbehave: (peer, id) => {
      peer.frame(FrameType.HEADERS, END_HEADERS, id, block([[':status', '200'], ['content-length', '10']]));
      peer.data(id, 'four', true);
    },
    kind: 'closed',
    message: 'response cut short: END_STREAM after 4 of 10 body bytes (content-length)',
  },
  {
    name: 'trailers without END_STREAM',
    misbehave: (peer, id) => {
      peer.headers(id);
      peer.frame(FrameType.HEADERS, END_HEADERS, id, block([['x-trailer', '1']]));
    },
    kind: 'protocol',
    message: 'malformed response: trailers without END_STREAM',
  },
];

describe('stream errors: one outcome for the call, the session keeps serving', () => {
  it.each(STREAM_ERRORS)('$name', async ({ misbehave, kind, message }) => {
    let streams = 0;
    const server = await hostile({ onStream: (peer, id) => (streams++ === 0 ? misbehave(peer, id) : peer.respond(id)) });
    const connection = transport(server.url).newConnection();
    expect(await sendOnce(connection)).toMatchObject({ status: -1, errorKind: kind, errorMessage: message });
    expect(await sendOnce(connection)).toMatchObject({ status: 200, bodyBytes: 2 });
    expect(server.accepted).toBe(1);
  });
});

describe('what the protocol allows, however unusual', () => {
  it('skips 1xx informational responses, reads padded frames, ignores trailers and PRIORITY and unknown frames', async () => {
    const server = await hostile({
      onStream: (peer, id) => {
        peer.frame(FrameType.HEADERS, END_HEADERS, id, block([[':status', '103'], ['link', '</a>']]));
        peer.frame(0xfa, 0, 0, Buffer.from('unknown frame type'));
        peer.frame(FrameType.PRIORITY, 0, id, Buffer.alloc(5));
        const headers = block([[':status', '201'], ['content-length', '5']]);
        peer.frame(FrameType.HEADERS, END_HEADERS | PADDED, id, Buffer.concat([Buffer.from([3]), headers, Buffer.alloc(3)]));
        peer.frame(FrameType.DATA, PADDED, id, Buffer.concat([Buffer.from([2]), Buffer.from('hello'), Buffer.alloc(2)]));
        peer.frame(FrameType.HEADERS, END_HEADERS | END_STREAM, id, block([['grpc-status', '0']]));
      },
    });
    const outcome = await sendOnce(transport(server.url).newConnection());
    expect(outcome).toMatchObject({ status: 201, bodyBytes: 5, errorKind: undefined });
    // The final response's fields only: ':status' 201 and content-length 5.
    expect(outcome.headerBytes).toBe(':status'.length + 3 + 4 + 'content-length'.length + 1 + 4);
  });

  it('a response split across many tiny socket writes', async () => {
    const server = await hostile({
      onStream: (peer, id) => {
        const header = block([[':status', '200'], ['content-length', '2']]);
        const frames = Buffer.concat([frameBytes(FrameType.HEADERS, END_HEADERS, id, header), frameBytes(FrameType.DATA, END_STREAM, id, Buffer.from('ok'))]);
        let at = 0;
        const drip = (): void => {
          if (at >= frames.length || peer.socket.destroyed) return;
          peer.socket.write(frames.subarray(at, at + 1), drip);
          at++;
        };
        drip();
      },
    });
    expect(await sendOnce(transport(server.url).newConnection())).toMatchObject({ status: 200, bodyBytes: 2 });
  });
});

function frameBytes(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(id, 5);
  return Buffer.concat([header, payload]);
}
