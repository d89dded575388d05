/** Clients that misbehave on purpose, for the echo server's hostile-peer tests: raw sockets that
 * reset, stall or dribble, HTTP/2 clients whose preface arrives a byte at a time, and the
 * descriptor count of a process. Every socket here has an 'error' listener: a test's own client
 * must not be what crashes. */
import { readdirSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { Duplex } from 'node:stream';

export function connectRaw(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves once the peer has closed or reset the socket (or it was destroyed here). */
export function whenClosed(socket: net.Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    // A FIN from the server: reading on shows it; end our side so the socket closes.
    socket.once('end', () => socket.end());
    socket.resume();
  });
}

/** Resolves with everything the peer sent until it closed. */
export function readAll(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.once('end', () => socket.end());
    socket.once('close', () => resolve(text));
  });
}

/** Resolves with the first data the peer sends. */
export function firstData(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('close', () => reject(new Error('closed before any data')));
  });
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes `bytes` one at a time with `pauseMs` between them; stops quietly if the socket dies. */
export async function dribble(socket: net.Socket, bytes: string | Buffer, pauseMs: number): Promise<void> {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  for (let i = 0; i < buffer.length; i++) {
    if (socket.destroyed) return;
    socket.write(buffer.subarray(i, i + 1));
    await pause(pauseMs);
  }
}

/** Opens and closes `count` connections (a FIN each, or a reset), `concurrency` at a time. */
export async function probe(port: number, count: number, concurrency: number, how: 'close' | 'reset' = 'close'): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      const socket = await connectRaw(port);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      if (how === 'reset') socket.resetAndDestroy();
      else socket.end();
      socket.resume();
      await closed;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Open descriptors of process `pid` (Linux /proc). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Polls `read` until it returns at most `target`, or `timeoutMs` passes; returns the last
 * value. A descriptor count has no event to await. */
export async function settlesTo(read: () => number, target: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  while (value > target && Date.now() < deadline) {
    await pause(50);
    value = read();
  }
  return value;
}

/** An HTTP/2 client session whose first `slowBytes` bytes (the preface is 24) reach the server
 * one per write, `pauseMs` apart, in separate TCP segments; the rest flows normally. */
export async function slowPrefaceSession(port: number, slowBytes: number, pauseMs: number): Promise<http2.ClientHttp2Session> {
  const socket = await connectRaw(port);
  socket.setNoDelay(true);
  let sent = 0;
  const relay = new Duplex({
    read: () => {
      socket.resume();
    },
    write: (chunk: Buffer, _encoding, callback) => {
      void (async () => {
        let rest = chunk;
        while (sent < slowBytes && rest.length > 0 && !socket.destroyed) {
          socket.write(rest.subarray(0, 1));
          rest = rest.subarray(1);
          sent++;
          await pause(pauseMs);
        }
        if (rest.length > 0 && !socket.destroyed) socket.write(rest, () => callback());
        else callback();
      })();
    },
    final: (callback) => {
      socket.end(callback);
    },
    destroy: (error, callback) => {
      socket.destroy();
      callback(error);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!relay.push(chunk)) socket.pause();
  });
  socket.on('end', () => relay.push(null));
  socket.on('close', () => relay.destroy());
  const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => relay });
  session.on('error', () => undefined);
  return session;
}

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** One request on an HTTP/2 session: a GET, or a POST of `body`; the whole reply as text. */
export function h2Request(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}, body?: string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ':method': body === undefined ? 'GET' : 'POST', ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: Buffer.concat(chunks).toString() }));
    stream.on('error', reject);
    stream.end(body);
  });
}

export function h2Get(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}): Promise<H2Reply> {
  return h2Request(session, path, headers);
}
