/** A scripted node:http2 server for tests, cleartext (h2c, prior knowledge) or TLS, on a free
 * 127.0.0.1 port. It counts sessions and streams and lets a test await counts (events, never
 * sleeps); the script answers each stream. */
import http2 from 'node:http2';
import type net from 'node:net';
import type { SelfSignedCert } from './self-signed-cert';

export type H2Script = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, server: H2Server) => void;

export interface H2Server {
  url: string;
  port: number;
  /** Sessions accepted so far. */
  sessions: number;
  /** Sessions that have closed on the server side. */
  sessionsClosed: number;
  /** Request headers of every stream, in arrival order. */
  requests: http2.IncomingHttpHeaders[];
  /** Streams open right now, and the most open at once. */
  openStreams: number;
  maxOpenStreams: number;
  /** Closes every client connection at the TCP level (FIN), under node:http2's feet. */
  dropConnections(): void;
  /** Replaces the script for later streams. */
  setScript(script: H2Script): void;
  whenSessions(count: number): Promise<void>;
  whenSessionsClosed(count: number): Promise<void>;
  whenStreams(count: number): Promise<void>;
  /** Destroys every session and stops listening. */
  close(): Promise<void>;
}

export async function startH2Server(script: H2Script, tls?: SelfSignedCert): Promise<H2Server> {
  const server = tls === undefined ? http2.createServer() : http2.createSecureServer({ key: tls.key, cert: tls.cert });
  const live = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  let current = script;
  let waiters: Array<() => void> = [];
  const notify = (): void => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };
  const until = (ready: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (ready()) resolve();
        else waiters.push(check);
      };
      check();
    });

  const handle: H2Server = {
    url: '',
    port: 0,
    sessions: 0,
    sessionsClosed: 0,
    requests: [],
    openStreams: 0,
    maxOpenStreams: 0,
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    setScript: (next) => {
      current = next;
    },
    whenSessions: (count) => until(() => handle.sessions >= count),
    whenSessionsClosed: (count) => until(() => handle.sessionsClosed >= count),
    whenStreams: (count) => until(() => handle.requests.length >= count),
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of live) session.destroy();
        server.close(() => resolve());
      }),
  };

  // TLS servers report the TCP socket as 'connection' too; the TLS socket on top closes with it.
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('session', (session: http2.ServerHttp2Session) => {
    live.add(session);
    handle.sessions++;
    // Clients that vanish mid-stream make sessions emit errors; a test server shrugs.
    session.on('error', () => undefined);
    session.on('close', () => {
      live.delete(session);
      handle.sessionsClosed++;
      notify();
    });
    notify();
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    stream.on('error', () => undefined);
    handle.openStreams++;
    handle.maxOpenStreams = Math.max(handle.maxOpenStreams, handle.openStreams);
    stream.on('close', () => handle.openStreams--);
    handle.requests.push(headers);
    current(stream, headers, handle);
    notify();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  handle.port = (server.address() as net.AddressInfo).port;
  handle.url = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${handle.port}`;
  return handle;
}

/** Answers with a status, optional headers and body. */
export function respond(stream: http2.ServerHttp2Stream, status: number, body = '', headers: http2.OutgoingHttpHeaders = {}): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ':status': status, ...headers }, { endStream: body.length === 0 });
  if (body.length > 0) stream.end(body);
}
