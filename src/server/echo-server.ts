/** The echo / chaos server: Fortio's echo semantics on the echo port, and chaos control plus
 * metrics on a separate admin port that binds to 127.0.0.1 by default, so exposing the echo
 * port (a Service, a port-forward) never exposes control. */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { MeshloadError } from '../util/errors';
import { httpUrl, type ListenAddress } from '../util/listen-address';
import { handleAdmin } from './admin-handler';
import { ChaosState } from './chaos-state';
import { ConnectionRouter } from './connection-router';
import { EchoHandler, endSession, ignoreStreamError } from './echo-handler';
import { ServerMetrics } from './server-metrics';


export interface EchoServerOptions {
  echo: ListenAddress;
  /** null: no admin port. */
  admin: ListenAddress | null;
  maxDelayMs: number;
  maxPayloadBytes: number;
  /** Server-wide defaults for requests without a query string; validated at start. */
  defaultParams?: string;
  /** Adds `x-version: <tag>` to every response, so a traffic split shows which subset answered. */
  versionTag?: string;
  /** Called with one line per request when set (verbose logging). */
  accessLog?: (line: string) => void;
  /** Uniform in [0, 1); tests may pass a deterministic one. */
  random?: () => number;
  /** -echo-debug-path: '/debug' by default, '' for none. */
  debugPath?: string;
  /** Time a connection gets to send its first bytes, and then each request's headers
   * (HEADERS_TIMEOUT_MS by default). */
  headersTimeoutMs?: number;
  /** The echo port speaks TLS (HTTP/1.1 and h2 by ALPN); with ca, client certificates are required. */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
}

export interface RunningEchoServer {
  echoUrl: string;
  echoPort: number;
  adminUrl: string | undefined;
  adminPort: number | undefined;
  metrics: ServerMetrics;
  chaos: ChaosState;
  /** Stops accepting, closes idle connections, lets in-flight requests finish (bounded by the
   * max delay plus a grace period), then destroys every connection left. */
  close(): Promise<void>;
}

/** Time in-flight requests get on shutdown beyond the longest delay the server can inject. */
const DRAIN_GRACE_MS = 2000;
/** Envoy's default upstream idle timeout is 1h. A server that closes idle keep-alive sockets
 * sooner (Node's default is 5s) races the sidecar reusing them and shows up as 503 UC errors
 * that the server did not mean to inject. HTTP/2 sessions without streams get the same. */
const KEEP_ALIVE_TIMEOUT_MS = 3_600_000;
/** A connection that has not sent a request's headers within this is closed (408 for
 * HTTP/1.1): slowloris peers and silent probes cannot hold descriptors. A sidecar sends a
 * request in one segment; the delay= an echo asks for runs after the headers, so never counts. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** A whole request, body included (Node's default is 5 minutes); the response's own delay is
 * not part of it. */
const REQUEST_TIMEOUT_MS = 60_000;
/** How often Node checks the two timeouts above (its default, 30s, would let them run late). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;
/** setTimeout's ceiling: a longer delay would fire at once. */
const MAX_TIMER_MS = 2_147_483_647 - DRAIN_GRACE_MS;

export async function startEchoServer(options: EchoServerOptions): Promise<RunningEchoServer> {
  if (!(options.maxDelayMs >= 0 && options.maxDelayMs <= MAX_TIMER_MS)) {
    throw new MeshloadError('E_USAGE', `max echo delay ${options.maxDelayMs}ms is out of range`, `use 0 to ${MAX_TIMER_MS}ms`);
  }
  const headersTimeoutMs = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  const metrics = new ServerMetrics();
  const chaos = new ChaosState({ maxDelayMs: options.maxDelayMs, maxPayloadBytes: options.maxPayloadBytes });
  if (options.defaultParams !== undefined && options.defaultParams !== '') {
    chaos.setDefaults(options.defaultParams); // throws EchoParamError for the CLI to report
  }
  const handler = new EchoHandler(options, chaos, metrics);
  const echoServer = boundedHttpServer(headersTimeoutMs, (req, res) => handler.handle(req, res), options.tls);
  echoServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Over TLS, http's listener reads decrypted sockets from 'secureConnection'; the router then
  // sees the h2 preface after ALPN picked h2, as it does for h2c.
  const h2 = acceptH2c(echoServer, handler, metrics, headersTimeoutMs, options.tls === undefined ? 'connection' : 'secureConnection');
  // Over TLS a socket mid-handshake is in neither http's tracking nor the router: kept here so
  // the bounded drain can end it too.
  const handshaking = new Set<Socket>();
  if (options.tls !== undefined) {
    echoServer.on('connection', (socket: Socket) => {
      handshaking.add(socket);
      socket.once('close', () => handshaking.delete(socket));
    });
  }
  const adminServer =
    options.admin === null ? undefined : boundedHttpServer(headersTimeoutMs, (req, res) => handleAdmin(req, res, chaos, metrics));

  const echoAddress = await listen(echoServer, options.echo, 'echo', '-http-port');
  let adminAddress: AddressInfo | undefined;
  if (adminServer !== undefined && options.admin !== null) {
    try {
      adminAddress = await listen(adminServer, options.admin, 'admin', '-admin-port');
    } catch (error) {
      echoServer.close();
      throw error;
    }
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      handler.draining = true;
      h2.router.stopAccepting();
      // HTTP/2 has no Connection: close; GOAWAY lets open streams finish and refuses new ones.
      for (const session of h2.sessions) endSession(session);
      const drained = closeGracefully(echoServer, options.maxDelayMs + DRAIN_GRACE_MS, () => {
        for (const session of h2.sessions) session.destroy();
        h2.router.destroyAll();
        for (const socket of handshaking) socket.destroy();
      });
      if (adminServer !== undefined) {
        adminServer.close();
        adminServer.closeAllConnections();
      }
      await drained;
    })();
    return closed;
  };

  return {
    echoUrl: (options.tls === undefined ? '' : 'https') + httpUrl(echoAddress.address, echoAddress.port).slice(options.tls === undefined ? 0 : 4),
    echoPort: echoAddress.port,
    adminUrl: adminAddress === undefined ? undefined : httpUrl(adminAddress.address, adminAddress.port),
    adminPort: adminAddress?.port,
    metrics,
    chaos,
    close,
  };
}

/** An http.Server whose headers and request timeouts are checked often enough to matter; a
 * peer's protocol errors and timeouts get Node's default answer (400, 408, 431) and a close. */
function boundedHttpServer(headersTimeoutMs: number, handle: http.RequestListener, tls?: EchoServerOptions['tls']): http.Server {
  const bounds = {
    headersTimeout: headersTimeoutMs,
    requestTimeout: Math.max(REQUEST_TIMEOUT_MS, headersTimeoutMs),
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  };
  if (tls === undefined) return http.createServer(bounds, handle);
  const server = https.createServer(
    {
      ...bounds,
      cert: tls.cert,
      key: tls.key,
      ALPNProtocols: ['h2', 'http/1.1'],
      // A handshake is bounded like a request's headers.
      handshakeTimeout: headersTimeoutMs,
      ...(tls.ca !== undefined ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
    },
    handle,
  );
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  // https.Server has http.Server's connection tracking, timeouts and close methods at runtime;
  // its typings descend from tls.Server only.
  return server as unknown as http.Server;
}

function listen(server: http.Server, address: ListenAddress, what: string, flag: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = `${address.host ?? ''}:${address.port}`;
      const reason = error.code === 'EADDRINUSE' ? 'address already in use' : error.message;
      reject(
        new MeshloadError('E_LISTEN', `cannot listen for ${what} on ${where}: ${reason}`, `choose another ${flag}, or 0 for a free port`),
      );
    };
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      // After listen, 'error' means a failed accept (EMFILE when descriptors run out): that
      // connection is lost, the server is not.
      server.on('error', ignoreStreamError);
      resolve(server.address() as AddressInfo);
    });
  });
}

interface H2c {
  router: ConnectionRouter;
  /** The live HTTP/2 sessions, for draining. */
  sessions: Set<http2.ServerHttp2Session>;
}

/** h2c (HTTP/2 with prior knowledge) on the echo port beside HTTP/1.1, as Fortio's server has:
 * the router reads each connection's first bytes and puts them back for the protocol it picks.
 * The http.Server stays the listener (its connection tracking, close() and timeouts keep
 * working); only its 'connection' listener is wrapped. Both protocols share the echo handler
 * through node:http2's compatibility API. */
function acceptH2c(server: http.Server, handler: EchoHandler, metrics: ServerMetrics, firstBytesTimeoutMs: number, event: 'connection' | 'secureConnection'): H2c {
  const sessions = new Set<http2.ServerHttp2Session>();
  const h2 = http2.createServer((req, res) => {
    // The compat request/response mirror http1's; the handler only uses their common part.
    handler.handle(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse, true);
  });
  // Without streams a session is idle like a keep-alive socket; with no 'timeout' listener
  // node:http2 destroys it.
  h2.setTimeout(KEEP_ALIVE_TIMEOUT_MS);
  h2.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    // As an HTTP/1.1 connection must send its first request's headers in time, a session must
    // open its first stream: a bare preface holds no descriptor for the keep-alive hour.
    const firstStream = setTimeout(() => endSession(session), firstBytesTimeoutMs);
    session.once('stream', () => clearTimeout(firstStream));
    session.on('close', () => {
      clearTimeout(firstStream);
      sessions.delete(session);
    });
    session.on('error', ignoreStreamError); // a client going away mid-stream is normal under load
  });
  const [http1Listener] = server.listeners(event) as Array<(socket: Socket) => void>;
  server.removeAllListeners(event);
  const router = new ConnectionRouter({
    firstBytesTimeoutMs,
    route: (socket, protocol) => {
      if (protocol === 'h2') {
        // A new session reads what is already in the socket's buffer first (nodejs/node#41185).
        h2.emit('connection', socket);
        return;
      }
      // http's own listener reads the socket as a stream: the sniffed bytes are read first.
      http1Listener?.call(server, socket);
      socket.resume();
    },
  });
  server.on(event, (socket: Socket) => {
    metrics.connections++;
    router.accept(socket);
  });
  return { router, sessions };
}

function closeGracefully(server: http.Server, deadlineMs: number, destroyRest: () => void): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.closeAllConnections();
      destroyRest();
    }, deadlineMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
