/** A scripted HTTP/1.1 server on raw sockets, for responses node:http will not produce: split
 * writes, odd framing, resets, idle closes, silence. It frames requests (head plus a
 * Content-Length body) and hands each to the script with its socket. */
import net from 'node:net';

export interface RawRequest {
  /** Request line and headers, latin1, without the final empty line. */
  head: string;
  body: Buffer;
  /** 0 for the first request on its socket. */
  indexOnSocket: number;
  /** 0 for the first socket the server accepted. */
  socketIndex: number;
}

export type RawScript = (socket: net.Socket, request: RawRequest) => void;

export interface RawServerOptions {
  /** Called for each accepted socket before any request: for servers that speak first. */
  onConnect?: (socket: net.Socket, socketIndex: number) => void;
}

export interface RawServer {
  port: number;
  url: string;
  /** Every request received, in order. */
  requests: RawRequest[];
  accepted: number;
  /** Resolves once `count` accepted sockets have closed on the server side. */
  whenClosed(count: number): Promise<void>;
  /** Resolves once `count` requests have arrived. */
  whenRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRawServer(script: RawScript, options: RawServerOptions = {}): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const requests: RawRequest[] = [];
  let accepted = 0;
  let closed = 0;
  let waiters: Array<() => void> = [];
  const notify = (): void => {
    const current = waiters;
    waiters = [];
    for (const wake of current) wake();
  };
  const until = async (condition: () => boolean): Promise<void> => {
    while (!condition()) await new Promise<void>((resolve) => waiters.push(resolve));
  };

  const server = net.createServer((socket) => {
    const socketIndex = accepted++;
    sockets.add(socket);
    // Without Nagle each scripted write leaves as its own segment.
    socket.setNoDelay(true);
    socket.on('error', () => {
      // Clients reset and time out on purpose in these tests.
    });
    socket.on('close', () => {
      sockets.delete(socket);
      closed++;
      notify();
    });
    options.onConnect?.(socket, socketIndex);
    let pending = Buffer.alloc(0);
    let indexOnSocket = 0;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.toString('latin1', 0, end);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? '0');
        if (pending.length < end + 4 + length) return;
        const request = { head, body: pending.subarray(end + 4, end + 4 + length), indexOnSocket: indexOnSocket++, socketIndex };
        pending = pending.subarray(end + 4 + length);
        requests.push(request);
        notify();
        script(socket, request);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    get accepted() {
      return accepted;
    },
    whenClosed: (count) => until(() => closed >= count),
    whenRequests: (count) => until(() => requests.length >= count),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `data` in pieces of `size` bytes, each on a later turn of the event loop, so the
 * client sees them as separate reads. */
export async function writeInPieces(socket: net.Socket, data: string | Buffer, size: number): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  for (let i = 0; i < bytes.length; i += size) {
    if (socket.destroyed) return;
    socket.write(bytes.subarray(i, i + size));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Writes `chunk` again and again, as fast as the peer reads (respecting backpressure), until
 * the socket is destroyed: an endless body or header section. Resolves with the bytes written. */
export async function writeForever(socket: net.Socket, chunk: string | Buffer): Promise<number> {
  const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
  let written = 0;
  while (!socket.destroyed && socket.writable) {
    written += bytes.length;
    if (!socket.write(bytes)) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          socket.off('drain', wake);
          socket.off('close', wake);
          resolve();
        };
        socket.on('drain', wake);
        socket.on('close', wake);
      });
    } else {
      // Yields so a client on the same event loop gets its turn (in-process tests).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return written;
}
