/** The echo / chaos server: Fortio's echo semantics on the echo port, and chaos control plus
 * metrics on a separate admin port that binds to 127.0.0.1 by default, so exposing the echo
 * port (a Service, a port-forward) never exposes control. */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { hostname } from 'node:os';
import { createGzip } from 'node:zlib';
import { meshloadVersion } from '../util/version';
import { BodySummary, renderDebugPage } from './debug-page';
import { MeshloadError } from '../util/errors';
import { httpUrl, type ListenAddress } from '../util/listen-address';
import { ChaosState } from './chaos-state';
import { ConnectionRouter } from './connection-router';
import { isSendableValue, printable } from './echo-header';
import { EMPTY_PLAN, type EchoPlan } from './echo-params';
import { MAX_BUFFERED_BODY, PayloadSource } from './payload';
import { ServerMetrics } from './server-metrics';
import { drawWeighted, EchoParamError } from './weighted-list';
import { redactRequestTarget } from '../util/redact';

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
const ADMIN_HELP = 'admin endpoints: GET|PUT|DELETE /chaos?<echo params>, GET /metrics, GET /healthz\n';

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

/** GOAWAY (close() alone does not send one), then close once the open streams are done. */
function endSession(session: http2.Http2Session): void {
  if (session.closed || session.destroyed) return;
  session.goaway(http2.constants.NGHTTP2_NO_ERROR);
  session.close();
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

class EchoHandler {
  draining = false;
  private readonly payload = new PayloadSource();
  private readonly random: () => number;
  /** Headers every echo response carries (the version tag), flat for writeHead. */
  private readonly fixedHeaders: string[];
  private readonly startedAt = Date.now();

  constructor(
    private readonly options: EchoServerOptions,
    private readonly chaos: ChaosState,
    private readonly metrics: ServerMetrics,
  ) {
    this.random = options.random ?? Math.random;
    this.fixedHeaders = options.versionTag === undefined ? [] : ['x-version', options.versionTag];
  }

  /** Never throws: an exception here would escape Node's request event and end the process. A
   * response that cannot be written is cut off (the client sees a reset) and counted. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, h2 = false): void {
    try {
      this.route(req, res, h2);
    } catch {
      this.fail(res);
    }
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, h2: boolean): void {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (this.options.accessLog !== undefined) {
      this.options.accessLog(printable(`${req.method ?? '?'} ${redactRequestTarget(url)} from ${req.socket?.remoteAddress ?? '?'}`));
    }
    if (path === '/healthz') {
      this.finishSimple(res, 200, 'text/plain; charset=utf-8', 'ok\n', false, h2);
      return;
    }
    // Fortio's Serve registers DebugHandler on exactly "/debug" (a ServeMux pattern without '/').
    if (path === '/debug') {
      this.debug(req, res, h2, queryAt < 0 ? undefined : url.slice(queryAt + 1));
      return;
    }
    if (path === '/headers') {
      this.finishSimple(res, 200, 'application/json', headersJson(req), true, h2, req);
      return;
    }
    // Fortio applies the server-wide defaults only when the URL has no '?' at all.
    const plan = queryAt < 0 ? this.chaos.defaultPlan : this.chaos.planFor(url.slice(queryAt + 1));
    if (plan instanceof EchoParamError) {
      req.resume();
      this.finishSimple(res, 400, 'text/plain; charset=utf-8', `meshload echo: bad parameter ${plan.message}\n`, true, h2);
      return;
    }
    this.echo(req, res, plan, h2);
  }

  /** Reads the body keeping only its head and tail, then answers with Fortio's dump. Fortio
   * 1.75's DebugHandler also applies handleCommonArgs (delay, close, header; not status, size or
   * gzip, and not the server-wide defaults): so does this. */
  private debug(req: http.IncomingMessage, res: http.ServerResponse, h2: boolean, query: string | undefined): void {
    const found = query === undefined ? EMPTY_PLAN : this.chaos.planFor(commonArgsOnly(query));
    const plan = found instanceof EchoParamError ? EMPTY_PLAN : found;
    const body = new BodySummary();
    req.on('data', (chunk: Buffer) => body.add(chunk));
    req.on('error', ignoreStreamError);
    req.on('end', () => {
      try {
        const page = renderDebugPage({
          version: meshloadVersion(),
          uptimeMs: Date.now() - this.startedAt,
          hostname: hostname(),
          remoteAddr: goRemoteAddr(req),
          method: req.method ?? '?',
          url: req.url ?? '/',
          proto: `HTTP/${req.httpVersion}`,
          host: debugHost(req, h2),
          headers: debugHeaders(req),
          body,
        });
        const delay = plan.delayMs === undefined ? undefined : drawWeighted(plan.delayMs, this.random() * 100);
        const delayMs = delay?.value ?? 0;
        if (delayMs > 0) this.metrics.recordFault('delay');
        if (delayMs > 0) setTimeout(() => this.writeDebugSafely(req, res, h2, plan, page), delayMs);
        else this.writeDebug(req, res, h2, plan, page);
      } catch {
        this.fail(res);
      }
    });
  }

  private writeDebugSafely(...args: Parameters<EchoHandler['writeDebug']>): void {
    try {
      this.writeDebug(...args);
    } catch {
      this.fail(args[1]);
    }
  }

  private writeDebug(req: http.IncomingMessage, res: http.ServerResponse, h2: boolean, plan: EchoPlan, page: string): void {
    const headers = [...this.fixedHeaders, ...plan.headers];
    // Fortio sets its content type only if header= did not (jrpc.SetHeaderIfMissing).
    if (!plan.setsContentType) headers.push('content-type', 'text/plain; charset=UTF-8');
    headers.push('content-length', String(Buffer.byteLength(page)));
    if (plan.ignored.length > 0) {
      headers.push('x-meshload-ignored', plan.ignored.join(', '));
      this.metrics.recordIgnored(plan.ignored);
    }
    const close = plan.closePercent > 0 && this.random() * 100 < plan.closePercent;
    if (close) this.metrics.recordFault('close');
    if (h2) {
      const session = (req as unknown as http2.Http2ServerRequest).stream.session;
      if (close && session !== undefined) res.once('finish', () => endSession(session));
    } else if (close || this.draining) {
      headers.push('connection', 'close');
    }
    addAttemptEcho(req, headers, this.metrics);
    this.metrics.recordResponse(200);
    res.writeHead(200, headers);
    res.end(page);
  }

  private fail(res: http.ServerResponse): void {
    this.metrics.internalErrors++;
    res.destroy();
  }

  private echo(req: http.IncomingMessage, res: http.ServerResponse, plan: EchoPlan, h2: boolean): void {
    const headers = this.fixedHeaders.length === 0 && plan.headers.length === 0 ? [] : [...this.fixedHeaders, ...plan.headers];
    let clampNotes: string | undefined;
    let status = 200;
    if (plan.status !== undefined) {
      status = drawWeighted(plan.status, this.random() * 100) ?? 200;
      if (status !== 200) this.metrics.recordFault('status');
    }
    let delayMs = 0;
    if (plan.delayMs !== undefined) {
      const delay = drawWeighted(plan.delayMs, this.random() * 100);
      if (delay !== undefined) {
        delayMs = delay.value;
        if (delay.clampNote !== undefined) clampNotes = delay.clampNote;
        if (delayMs > 0) this.metrics.recordFault('delay');
      }
    }
    let size = -1;
    if (plan.sizeBytes !== undefined) {
      const drawn = drawWeighted(plan.sizeBytes, this.random() * 100);
      if (drawn !== undefined) {
        size = drawn.value;
        if (drawn.clampNote !== undefined) clampNotes = clampNotes === undefined ? drawn.clampNote : `${clampNotes}, ${drawn.clampNote}`;
      }
    }
    const close = plan.closePercent > 0 && this.random() * 100 < plan.closePercent;
    if (close) this.metrics.recordFault('close');
    const gzip = plan.gzipPercent > 0 && this.random() * 100 < plan.gzipPercent && acceptsGzip(req);
    if (clampNotes !== undefined) headers.push('x-meshload-clamped', clampNotes);
    if (plan.ignored.length > 0) {
      headers.push('x-meshload-ignored', plan.ignored.join(', '));
      this.metrics.recordIgnored(plan.ignored);
    }
    if (h2 && status > 599) {
      // Node's HTTP/2 refuses :status past 599 (ERR_HTTP2_STATUS_INVALID); Go's sends it.
      req.resume();
      this.finishSimple(res, 400, 'text/plain; charset=utf-8', `meshload echo: status ${status} cannot be sent over HTTP/2 by this server; use HTTP/1.1\n`, true, h2);
      return;
    }
    addAttemptEcho(req, headers, this.metrics);
    this.metrics.recordResponse(status);
    if (delayMs > 0) setTimeout(() => this.writeSafely(req, res, status, headers, size, gzip, close, h2, plan.setsContentType), delayMs);
    else this.write(req, res, status, headers, size, gzip, close, h2, plan.setsContentType);
  }

  /** A timer callback's exception would be uncaught: the same guard as handle(). */
  private writeSafely(...args: Parameters<EchoHandler['write']>): void {
    try {
      this.write(...args);
    } catch {
      this.fail(args[1]);
    }
  }

  private write(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    headers: string[],
    size: number,
    gzip: boolean,
    close: boolean,
    h2: boolean,
    ownType: boolean,
  ): void {
    // Checked at write time: a delayed response that finishes during a drain closes too.
    if (h2) {
      // HTTP/2 forbids Connection headers; close=true ends the session after this response.
      const session = (req as unknown as http2.Http2ServerRequest).stream.session;
      if (close && session !== undefined) res.once('finish', () => endSession(session));
    } else if (close || this.draining) {
      headers.push('connection', 'close');
    }
    // 204 and 304 never carry a body (node:http2 refuses one, RFC 9110 6.4.1); HEAD gets the
    // headers a GET would.
    const bodiless = status === 204 || status === 304;
    if (bodiless || req.method === 'HEAD') {
      req.resume();
      if (!bodiless) {
        if (size >= 0 && !ownType) headers.push('content-type', 'application/octet-stream');
        // A streamed gzip body has no length known in advance: the GET would not send one either.
        if (size < 0) headers.push('content-length', '0');
        else if (!gzip) headers.push('content-length', String(size));
        else if (size <= MAX_BUFFERED_BODY) headers.push('content-length', String(this.payload.gzip(size).length));
        if (size >= 0 && gzip) headers.push('content-encoding', 'gzip');
      }
      res.writeHead(status, headers);
      res.end();
      return;
    }
    if (size > MAX_BUFFERED_BODY) {
      req.resume();
      if (!ownType) headers.push('content-type', 'application/octet-stream');
      if (gzip) headers.push('content-encoding', 'gzip');
      else headers.push('content-length', String(size));
      res.writeHead(status, headers);
      if (gzip) pipeline(this.payload.stream(size), createGzip(), res, ignoreStreamError);
      else pipeline(this.payload.stream(size), res, ignoreStreamError);
      return;
    }
    if (size >= 0) {
      req.resume();
      const body = gzip ? this.payload.gzip(size) : this.payload.plain(size);
      if (!ownType) headers.push('content-type', 'application/octet-stream');
      headers.push('content-length', String(body.length));
      if (gzip) headers.push('content-encoding', 'gzip');
      res.writeHead(status, headers);
      res.end(body);
      return;
    }
    const length = req.headers['content-length'];
    // An HTTP/2 body may come without content-length; the stream says whether one follows.
    const hasBody = h2
      ? !(req as unknown as http2.Http2ServerRequest).stream.endAfterHeaders
      : (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      headers.push('content-length', '0');
      res.writeHead(status, headers);
      res.end();
      return;
    }
    // Echoed request fields go back only if they can: HTTP/2 peers are not held to HTTP/1.1's
    // parser, and a value Node refuses to send would fail the response.
    const contentType = req.headers['content-type'];
    if (contentType !== undefined && !ownType && isSendableValue(contentType)) headers.push('content-type', contentType);
    if (gzip) {
      headers.push('content-encoding', 'gzip');
      res.writeHead(status, headers);
      pipeline(req, createGzip(), res, ignoreStreamError);
      return;
    }
    if (length !== undefined && /^\d+$/.test(length)) headers.push('content-length', length);
    res.writeHead(status, headers);
    pipeline(req, res, ignoreStreamError);
  }

  /** /healthz, /headers and 400s: small fixed bodies. */
  private finishSimple(
    res: http.ServerResponse,
    status: number,
    contentType: string,
    body: string,
    counted: boolean,
    h2: boolean,
    req?: http.IncomingMessage,
  ): void {
    const headers = [...this.fixedHeaders, 'content-type', contentType, 'content-length', String(Buffer.byteLength(body))];
    if (req !== undefined) addAttemptEcho(req, headers, this.metrics);
    if (this.draining && !h2) headers.push('connection', 'close');
    if (counted) this.metrics.recordResponse(status);
    res.writeHead(status, headers);
    res.end(body);
  }
}

/** Istio sets x-envoy-attempt-count on each try it sends upstream (1, 2, 3...), but not on the
 * response; echoing it lets the client see how many tries its response took. */
function addAttemptEcho(req: http.IncomingMessage, headers: string[], metrics: ServerMetrics): void {
  const attempt = req.headers['x-envoy-attempt-count'];
  if (typeof attempt === 'string' && isSendableValue(attempt)) {
    headers.push('x-envoy-attempt-count', attempt);
    metrics.recordAttempt(Number(attempt));
  }
}

function acceptsGzip(req: http.IncomingMessage): boolean {
  const accept = req.headers['accept-encoding'];
  return accept !== undefined && /\bgzip\b/i.test(accept);
}

/** httpbin's /headers shape, names as the client sent them, repeated headers joined by ",". */
function headersJson(req: http.IncomingMessage): string {
  const headers: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.startsWith(':')) continue; // HTTP/2 pseudo-headers are not headers
    const value = raw[i + 1] as string;
    const existing = headers[name];
    headers[name] = existing === undefined ? value : `${existing},${value}`;
  }
  return JSON.stringify({ headers }, null, 2) + '\n';
}

/** The query without the parameters Fortio's DebugHandler does not read (it reads only the
 * ones handleCommonArgs takes), so a bad status= there is no 400. */
function commonArgsOnly(query: string): string {
  return query
    .split('&')
    .filter((part) => !/^(status|size|gzip)(=|$)/.test(part))
    .join('&');
}

/** Go's r.Host: the HTTP/2 :authority, else the Host header. */
function debugHost(req: http.IncomingMessage, h2: boolean): string {
  const authority = h2 ? req.headers[':authority'] : undefined;
  return typeof authority === 'string' ? authority : (req.headers.host ?? '');
}

/** Go's RemoteAddr form, brackets around an IPv6 address. */
function goRemoteAddr(req: http.IncomingMessage): string {
  const address = req.socket?.remoteAddress ?? '?';
  const port = req.socket?.remotePort ?? 0;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The request's headers as Go's r.Header holds them: no pseudo-headers, no Host. */
function debugHeaders(req: http.IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.startsWith(':') || name.toLowerCase() === 'host') continue;
    out.push([name, raw[i + 1] as string]);
  }
  return out;
}

function ignoreStreamError(): void {
  // A client that goes away mid-body is normal under load (aborts, timeouts); nothing to do.
}

/** Never throws, as EchoHandler.handle. */
function handleAdmin(req: http.IncomingMessage, res: http.ServerResponse, chaos: ChaosState, metrics: ServerMetrics): void {
  try {
    routeAdmin(req, res, chaos, metrics);
  } catch {
    metrics.internalErrors++;
    res.destroy();
  }
}

function routeAdmin(req: http.IncomingMessage, res: http.ServerResponse, chaos: ChaosState, metrics: ServerMetrics): void {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : url.slice(queryAt + 1);
  const reply = (status: number, body: string, contentType = 'text/plain; charset=utf-8', extra: string[] = []): void => {
    res.writeHead(status, ['content-type', contentType, 'content-length', String(Buffer.byteLength(body)), ...extra]);
    res.end(body);
  };
  const chaosJson = (): string => JSON.stringify({ params: chaos.defaultPlan.query, active: chaos.defaultPlan.query !== '' }) + '\n';
  req.resume();
  switch (path) {
    case '/healthz':
      reply(200, 'ok\n');
      return;
    case '/metrics':
      reply(200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
      return;
    case '/chaos':
      if (req.method === 'GET' || req.method === 'HEAD') {
        reply(200, chaosJson(), 'application/json');
      } else if (req.method === 'PUT' || req.method === 'POST') {
        if (query === '') {
          reply(400, 'PUT /chaos needs echo parameters, e.g. /chaos?status=503:30&delay=100ms:10; DELETE /chaos clears them\n');
          return;
        }
        try {
          chaos.setDefaults(query);
        } catch (error) {
          if (!(error instanceof EchoParamError)) throw error;
          reply(400, `meshload admin: bad parameter ${error.message}; chaos defaults unchanged\n`);
          return;
        }
        metrics.chaosChanges++;
        reply(200, chaosJson(), 'application/json');
      } else if (req.method === 'DELETE') {
        chaos.clearDefaults();
        metrics.chaosChanges++;
        reply(200, chaosJson(), 'application/json');
      } else {
        reply(405, `method ${req.method ?? '?'} not allowed on /chaos; use GET, PUT or DELETE\n`, undefined, [
          'allow',
          'GET, HEAD, PUT, POST, DELETE',
        ]);
      }
      return;
    default:
      reply(404, `no admin endpoint ${path}; ${ADMIN_HELP}`);
  }
}
