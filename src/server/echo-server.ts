/** The echo / chaos server: Fortio's echo semantics on the echo port, and chaos control plus
 * metrics on a separate admin port that binds to 127.0.0.1 by default, so exposing the echo
 * port (a Service, a port-forward) never exposes control. */
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { Duplex, pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { MeshloadError } from '../util/errors';
import { httpUrl, type ListenAddress } from '../util/listen-address';
import { ChaosState } from './chaos-state';
import type { EchoPlan } from './echo-params';
import { PayloadSource } from './payload';
import { ServerMetrics } from './server-metrics';
import { drawWeighted, EchoParamError } from './weighted-list';

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
}

export interface RunningEchoServer {
  echoUrl: string;
  echoPort: number;
  adminUrl: string | undefined;
  adminPort: number | undefined;
  metrics: ServerMetrics;
  chaos: ChaosState;
  /** Stops accepting, lets in-flight requests finish (bounded by the max delay plus a grace
   * period), then closes every connection. */
  close(): Promise<void>;
}

/** Time in-flight requests get on shutdown beyond the longest delay the server can inject. */
const DRAIN_GRACE_MS = 2000;
/** Envoy's default upstream idle timeout is 1h. A server that closes idle keep-alive sockets
 * sooner (Node's default is 5s) races the sidecar reusing them and shows up as 503 UC errors
 * that the server did not mean to inject. */
const KEEP_ALIVE_TIMEOUT_MS = 3_600_000;
const ADMIN_HELP = 'admin endpoints: GET|PUT|DELETE /chaos?<echo params>, GET /metrics, GET /healthz\n';

export async function startEchoServer(options: EchoServerOptions): Promise<RunningEchoServer> {
  const metrics = new ServerMetrics();
  const chaos = new ChaosState({ maxDelayMs: options.maxDelayMs, maxPayloadBytes: options.maxPayloadBytes });
  if (options.defaultParams !== undefined && options.defaultParams !== '') {
    chaos.setDefaults(options.defaultParams); // throws EchoParamError for the CLI to report
  }
  const handler = new EchoHandler(options, chaos, metrics);
  const echoServer = http.createServer((req, res) => handler.handle(req, res));
  echoServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const h2Sessions = acceptH2c(echoServer, handler, metrics);
  const adminServer =
    options.admin === null ? undefined : http.createServer((req, res) => handleAdmin(req, res, chaos, metrics));

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

  const close = async (): Promise<void> => {
    handler.draining = true;
    // HTTP/2 has no Connection: close; GOAWAY lets open streams finish and refuses new ones.
    for (const session of h2Sessions) endSession(session);
    const drained = closeGracefully(echoServer, options.maxDelayMs + DRAIN_GRACE_MS, h2Sessions);
    if (adminServer !== undefined) {
      adminServer.close();
      adminServer.closeAllConnections();
    }
    await drained;
  };

  return {
    echoUrl: httpUrl(echoAddress.address, echoAddress.port),
    echoPort: echoAddress.port,
    adminUrl: adminAddress === undefined ? undefined : httpUrl(adminAddress.address, adminAddress.port),
    adminPort: adminAddress?.port,
    metrics,
    chaos,
    close,
  };
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
      resolve(server.address() as AddressInfo);
    });
  });
}

/** h2c (HTTP/2 with prior knowledge) on the echo port beside HTTP/1.1, as Fortio's server has:
 * the first bytes of each connection pick the protocol. The http.Server stays the listener (its
 * connection tracking, close() and idle handling keep working); only its 'connection' listener
 * is wrapped. Both protocols share the echo handler through node:http2's compatibility API.
 * Returns the live HTTP/2 sessions, for draining. */
function acceptH2c(server: http.Server, handler: EchoHandler, metrics: ServerMetrics): Set<http2.ServerHttp2Session> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const h2 = http2.createServer((req, res) => {
    // The compat request/response mirror http1's; the handler only uses their common part.
    handler.handle(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse, true);
  });
  h2.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined); // a client going away mid-stream is normal under load
  });
  const [http1Listener] = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    metrics.connections++;
    socket.once('data', (first: Buffer) => {
      if (first.subarray(0, H2_PREFACE.length).equals(H2_PREFACE.subarray(0, Math.min(first.length, H2_PREFACE.length)))) {
        h2.emit('connection', replaying(socket, first));
        return;
      }
      // http's own listener reads the socket as a stream, so the chunk can go back in front.
      socket.pause();
      socket.unshift(first);
      http1Listener?.call(server, socket);
      socket.resume();
    });
  });
  return sessions;
}

/** node:http2 reads a net.Socket natively, below the stream, so a chunk already read cannot be
 * put back; it accepts any Duplex instead (wrapping it itself). This one replays the sniffed
 * chunk, then relays the socket both ways. */
function replaying(socket: Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read: () => {
      socket.resume();
    },
    write: (chunk: Buffer, _encoding, callback) => {
      socket.write(chunk, callback);
    },
    final: (callback) => {
      socket.end(callback);
    },
    destroy: (error, callback) => {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  duplex.push(first);
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (error) => duplex.destroy(error));
  socket.on('close', () => duplex.destroy());
  return duplex;
}

/** GOAWAY (close() alone does not send one), then close once the open streams are done. */
function endSession(session: http2.Http2Session): void {
  if (session.closed || session.destroyed) return;
  session.goaway(http2.constants.NGHTTP2_NO_ERROR);
  session.close();
}

/** The start of the HTTP/2 client connection preface (RFC 9113 3.4). */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n');

function closeGracefully(server: http.Server, deadlineMs: number, h2Sessions: Set<http2.ServerHttp2Session>): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.closeAllConnections();
      for (const session of h2Sessions) session.destroy();
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

  constructor(
    private readonly options: EchoServerOptions,
    private readonly chaos: ChaosState,
    private readonly metrics: ServerMetrics,
  ) {
    this.random = options.random ?? Math.random;
    this.fixedHeaders = options.versionTag === undefined ? [] : ['x-version', options.versionTag];
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, h2 = false): void {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (this.options.accessLog !== undefined) {
      this.options.accessLog(`${req.method ?? '?'} ${url} from ${req.socket.remoteAddress ?? '?'}`);
    }
    if (path === '/healthz') {
      this.finishSimple(res, 200, 'text/plain; charset=utf-8', 'ok\n', false, h2);
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
    addAttemptEcho(req, headers, this.metrics);
    this.metrics.recordResponse(status);
    if (delayMs > 0) setTimeout(() => this.write(req, res, status, headers, size, gzip, close, h2), delayMs);
    else this.write(req, res, status, headers, size, gzip, close, h2);
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
  ): void {
    // Checked at write time: a delayed response that finishes during a drain closes too.
    if (h2) {
      // HTTP/2 forbids Connection headers; close=true ends the session after this response.
      const session = (req as unknown as http2.Http2ServerRequest).stream.session;
      if (close && session !== undefined) res.once('finish', () => endSession(session));
    } else if (close || this.draining) {
      headers.push('connection', 'close');
    }
    if (size >= 0) {
      req.resume();
      const body = gzip ? this.payload.gzip(size) : this.payload.plain(size);
      headers.push('content-type', 'application/octet-stream', 'content-length', String(body.length));
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
    const contentType = req.headers['content-type'];
    if (contentType !== undefined) headers.push('content-type', contentType);
    if (gzip) {
      headers.push('content-encoding', 'gzip');
      res.writeHead(status, headers);
      pipeline(req, createGzip(), res, ignoreStreamError);
      return;
    }
    if (length !== undefined) headers.push('content-length', length);
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
  if (typeof attempt === 'string') {
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

function ignoreStreamError(): void {
  // A client that goes away mid-body is normal under load (aborts, timeouts); nothing to do.
}

function handleAdmin(req: http.IncomingMessage, res: http.ServerResponse, chaos: ChaosState, metrics: ServerMetrics): void {
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
