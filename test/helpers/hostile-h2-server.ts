/** A hand-written HTTP/2 (h2c, prior knowledge) server on raw sockets, for misbehaviour
 * node:http2 will not produce: GOAWAY with any last-stream-id, frames on closed streams,
 * silence (no SETTINGS), resets mid-response. It frames what the client sends (preface, then
 * 9-byte frame headers) without decoding HPACK: the script tells streams apart by their ids. */
import net from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;

/** One accepted connection, and the frames a script can write on it. */
export class H2Peer {
  constructor(
    readonly socket: net.Socket,
    /** 0 for the first connection the server accepted. */
    readonly index: number,
  ) {}

  frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): void {
    if (this.socket.destroyed) return;
    const header = Buffer.alloc(9);
    header.writeUIntBE(payload.length, 0, 3);
    header[3] = type;
    header[4] = flags;
    header.writeUInt32BE(streamId & 0x7fffffff, 5);
    this.socket.write(Buffer.concat([header, payload]));
  }

  settings(): void {
    this.frame(FRAME.SETTINGS, 0, 0);
  }

  /** Response HEADERS with only `:status` (HPACK: indexed 200, else literal with indexed name). */
  headers(streamId: number, status = 200, endStream = false): void {
    const code = String(status);
    const block = status === 200 ? Buffer.from([0x88]) : Buffer.concat([Buffer.from([0x08, code.length]), Buffer.from(code, 'latin1')]);
    this.frame(FRAME.HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), streamId, block);
  }

  data(streamId: number, body: string | Buffer, endStream = false): void {
    this.frame(FRAME.DATA, endStream ? END_STREAM : 0, streamId, typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
  }

  respond(streamId: number, body = 'ok'): void {
    this.headers(streamId, 200);
    this.data(streamId, body, true);
  }

  rst(streamId: number, code: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(code, 0);
    this.frame(FRAME.RST_STREAM, 0, streamId, payload);
  }

  goaway(lastStreamId: number, code: number, debug = ''): void {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
    payload.writeUInt32BE(code, 4);
    this.frame(FRAME.GOAWAY, 0, 0, Buffer.concat([payload, Buffer.from(debug, 'latin1')]));
  }
}

export interface HostileScript {
  /** The server does not send SETTINGS nor acknowledge the client's: a silent peer. */
  silent?: boolean;
  /** The server never closes a connection itself, not even after the client's FIN
   * (allowHalfOpen): only the client can end it. */
  keepOpen?: boolean;
  /** A request's HEADERS frame arrived on `streamId`. */
  onStream?(peer: H2Peer, streamId: number): void;
}

export interface HostileStream {
  /** The connection it came on. */
  peer: number;
  id: number;
}

export interface HostileH2Server {
  url: string;
  port: number;
  accepted: number;
  /** Accepted connections that have closed. */
  closed: number;
  /** Every request stream, in arrival order. */
  streams: HostileStream[];
  /** RST_STREAM frames the client sent: [stream id, error code]. */
  resetsFromClient: Array<[number, number]>;
  whenStreams(count: number): Promise<void>;
  whenClosed(count: number): Promise<void>;
  whenAccepted(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHostileH2Server(script: HostileScript): Promise<HostileH2Server> {
  const sockets = new Set<net.Socket>();
  let waiters: Array<() => void> = [];
  const notify = (): void => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };
  const until = async (ready: () => boolean): Promise<void> => {
    while (!ready()) await new Promise<void>((resolve) => waiters.push(resolve));
  };

  const server = net.createServer({ allowHalfOpen: script.keepOpen === true }, (socket) => {
    const peer = new H2Peer(socket, handle.accepted++);
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {
      // Clients reset and time out on purpose in these tests.
    });
    socket.on('close', () => {
      sockets.delete(socket);
      handle.closed++;
      notify();
    });
    if (script.silent !== true) peer.settings();
    let pending = Buffer.alloc(0);
    let prefaceSeen = false;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!prefaceSeen) {
        if (pending.length < PREFACE.length) return;
        if (!pending.subarray(0, PREFACE.length).equals(PREFACE)) {
          socket.destroy();
          return;
        }
        prefaceSeen = true;
        pending = pending.subarray(PREFACE.length);
      }
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) return;
        const type = pending[3];
        const flags = pending[4] ?? 0;
        const streamId = pending.readUInt32BE(5) & 0x7fffffff;
        const payload = pending.subarray(9, 9 + length);
        pending = pending.subarray(9 + length);
        if (type === FRAME.SETTINGS && (flags & ACK) === 0 && script.silent !== true) peer.frame(FRAME.SETTINGS, ACK, 0);
        else if (type === FRAME.PING && (flags & ACK) === 0 && script.silent !== true) peer.frame(FRAME.PING, ACK, 0, payload);
        else if (type === FRAME.RST_STREAM) handle.resetsFromClient.push([streamId, payload.readUInt32BE(0)]);
        else if (type === FRAME.HEADERS) {
          handle.streams.push({ peer: peer.index, id: streamId });
          script.onStream?.(peer, streamId);
        }
        notify();
      }
    });
    notify();
  });

  const handle: HostileH2Server = {
    url: '',
    port: 0,
    accepted: 0,
    closed: 0,
    streams: [],
    resetsFromClient: [],
    whenStreams: (count) => until(() => handle.streams.length >= count),
    whenClosed: (count) => until(() => handle.closed >= count),
    whenAccepted: (count) => until(() => handle.accepted >= count),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  handle.port = (server.address() as net.AddressInfo).port;
  handle.url = `http://127.0.0.1:${handle.port}`;
  return handle;
}
