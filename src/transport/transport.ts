/** The one small interface between the engine (which knows nothing of HTTP) and a protocol.
 * Callbacks, not promises: this is the per-request path. */
import { isIP } from 'node:net';
import type { Outcome } from '../model/outcome';
import type { TlsClientOptions } from '../model/load-plan';

export interface RequestTemplate {
  url: URL;
  method: string;
  /** User headers in order; a transport adds Host, User-Agent and Content-Length when absent. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** Per request, from send to the last body byte; 0 for none. */
  timeoutMs: number;
  /** false: a new connection (HTTP/1.1 socket, HTTP/2 session) for every request. */
  keepAlive: boolean;
  /** TLS: do not verify the server certificate (-k). */
  insecure: boolean;
  /** TLS: client certificate, CA bundle and SNI name (-cert, -key, -cacert, -H Host). */
  tls?: TlsClientOptions;
  /** HTTP/1.1: keep the socket after a non-2xx response. Absent or false is Fortio's fast
   * client, which closes it (418 aside), so a breaker's 503s cost a new connection each. */
  reuseAfterError?: boolean;
  /** HTTP/2: Connections share sessions, 100 streams to one. Absent or false is Fortio's -h2
   * (Go's client, one transport per thread): one session per Connection. */
  h2Multiplex?: boolean;
  /** -resolve: connect to this IP or host name instead of the URL's host; Host and SNI stay the URL's. */
  resolve?: string;
  /** -unix-socket: connect over this unix domain socket path instead of TCP (wins over resolve). */
  unixSocket?: string;
  /** -http1.0: HTTP/1.0 requests without keep-alive, Host only when the user gives one. */
  http10?: boolean;
}

/** The TLS connect options that do not change per socket, built once per transport. SNI must
 * be a name (RFC 6066): for an IP literal none is sent and the certificate is checked against it. */
export function tlsBaseOptions(hostname: string, insecure: boolean, options: TlsClientOptions | undefined): {
  servername?: string;
  rejectUnauthorized: boolean;
  cert?: string;
  key?: string;
  ca?: string;
} {
  const name = options?.servername ?? hostname;
  return {
    ...(isIP(name) === 0 && name !== '' ? { servername: name } : {}),
    rejectUnauthorized: !insecure,
    ...(options?.cert !== undefined ? { cert: options.cert } : {}),
    ...(options?.key !== undefined ? { key: options.key } : {}),
    ...(options?.ca !== undefined ? { ca: options.ca } : {}),
  };
}

/** One virtual user's path to the target, one request in flight at a time. Over HTTP/1.1 it owns
 * a socket; over HTTP/2 it owns a session, or with `h2Multiplex` is a stream slot on a session
 * shared with other Connections, so a session failure or `reconnect()` also affects its
 * neighbours. */
export interface Connection {
  /** Sends one request; calls `done` exactly once, asynchronously. Never throws: socket errors
   * become outcomes with status -1. At most one request is in flight per connection. */
  send(done: (outcome: Outcome) => void): void;
  /** Closes the socket or session (for -connection-reuse); the next send opens a new one. */
  reconnect(): void;
  /** Closes for good. */
  close(): void;
  /** Sockets (HTTP/2: sessions) this connection caused to be opened; summed for "Sockets used". */
  readonly socketsOpened: number;
  /** Requests this connection sent again by itself, each counted once in the results: an HTTP/1.1
   * GET whose idle keep-alive socket closed before any response byte, an HTTP/2 stream the server
   * did not process (GOAWAY beyond its last-stream-id, REFUSED_STREAM). Summed into the result. */
  readonly resends: number;
}

/** Told of each socket (HTTP/2: session) a Connection opens: once per socket, never per request.
 * Fortio keeps these per thread: "Sockets used", the connection time histogram, IPCountMap. */
export interface SocketWatcher {
  /** A socket is being dialled. */
  socketOpened(): void;
  /** Its dial ended (TCP connected, and the TLS handshake done for https), or failed: `ms` since
   * socketOpened, `address` the peer as Go prints a TCP address ("127.0.0.1:80", "[::1]:80"), or
   * undefined for a failed dial the protocol's Fortio client does not count by address. */
  socketDialled(ms: number, address: string | undefined): void;
}

/** Go's net.TCPAddr.String(): IPv6 in brackets. */
export function goAddress(host: string, port: number | undefined): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port ?? 0}`;
}

export interface Transport {
  /** `watcher` hears of every socket the connection opens, warm-up included. */
  newConnection(watcher?: SocketWatcher): Connection;
  /** Closes every connection and any timers. */
  close(): void;
}

/** The timeout sweep runs at a tenth of the timeout, at most this long apart. */
const MAX_SWEEP_MS = 50;

/** A timer that calls `sweep` (expire calls past their deadline) often enough for `timeoutMs`,
 * without holding the process open; none without a timeout. */
export function startSweeper(timeoutMs: number, sweep: () => void): NodeJS.Timeout | undefined {
  if (timeoutMs <= 0) return undefined;
  const sweeper = setInterval(sweep, Math.max(1, Math.min(Math.floor(timeoutMs / 10), MAX_SWEEP_MS)));
  sweeper.unref();
  return sweeper;
}
