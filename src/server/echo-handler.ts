/** The echo port's request handler: Fortio's echo semantics (status, delay, size, close, gzip,
 * header), /debug, /headers and /healthz, on HTTP/1.1 and HTTP/2 alike through node:http2's
 * compatibility API. */
import type http from 'node:http';
import http2 from 'node:http2';
import { pipeline } from 'node:stream';
import { hostname } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { createGzip, gzipSync } from 'node:zlib';
import { meshloadVersion } from '../util/version';
import { redactRequestTarget } from '../util/redact';
import type { ChaosState } from './chaos-state';
import { BodySummary, goDistinguishedName, renderDebugPage, type DebugRequest } from './debug-page';
import { isSendableValue, printable } from './echo-header';
import { BAD_REQUEST, EMPTY_PLAN, parseQuery, type EchoPlan } from './echo-params';
import { MAX_BUFFERED_BODY, PayloadSource } from './payload';
import type { ServerMetrics } from './server-metrics';
import { drawWeighted, EchoParamError } from './weighted-list';

/** The part of the server's options the handler reads. */
export interface EchoHandlerOptions {
  /** Adds `x-version: <tag>` to every response. */
  versionTag?: string;
  /** Called with one line per request when set. */
  accessLog?: (line: string) => void;
  /** Uniform in [0, 1). */
  random?: () => number;
  /** -echo-debug-path: where Fortio's /debug dump answers ('/debug' by default); '' turns it
   * and its echo path off (cli/fortio_main.go:98, http_server.go:476-479). */
  debugPath?: string;
}

export class EchoHandler {
  draining = false;
  private readonly payload = new PayloadSource();
  private readonly random: () => number;
  /** Headers every echo response carries (the version tag), flat for writeHead. */
  private readonly fixedHeaders: string[];
  private readonly startedAt = Date.now();
  private readonly debugPath: string;
  /** EchoDebugPath (http_server.go:450-452) without its trailing '/': the subtree root that
   * ServeMux redirects to itself plus '/'. */
  private readonly debugEchoRoot: string | undefined;

  constructor(
    private readonly options: EchoHandlerOptions,
    private readonly chaos: ChaosState,
    private readonly metrics: ServerMetrics,
  ) {
    this.random = options.random ?? Math.random;
    this.debugPath = options.debugPath ?? '/debug';
    this.debugEchoRoot = this.debugPath === '' ? undefined : `${this.debugPath.replace(/\/$/, '')}/echo`;
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
    // Fortio's ServeMux (Go 1.22+): a path with '//', '.' or '..' segments is redirected to its
    // clean form, and the subtree root /debug/echo to /debug/echo/ (http_server.go:477-478).
    const target = path === this.debugEchoRoot ? `${path}/` : path.startsWith('/') && isUnclean(path) ? cleanPath(path) : undefined;
    if (target !== undefined) {
      this.redirect(req, res, h2, queryAt < 0 ? target : target + url.slice(queryAt));
      return;
    }
    if (path === '/healthz') {
      this.finishSimple(res, 200, 'text/plain; charset=utf-8', 'ok\n', false, h2);
      return;
    }
    if (this.isDebugPath(path)) {
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

  /** Fortio's Serve registers DebugHandler on -echo-debug-path: exactly that path, or, as a
   * ServeMux pattern ending in '/', the subtree under it, where the debug echo subtree wins. */
  private isDebugPath(path: string): boolean {
    const debugPath = this.debugPath;
    if (debugPath === '' || !path.startsWith(debugPath)) return false;
    if (path.length === debugPath.length) return true;
    return debugPath.endsWith('/') && !path.startsWith(`${this.debugEchoRoot as string}/`);
  }

  /** Reads the body keeping only its head and tail, then answers with Fortio's dump. Fortio
   * 1.75's DebugHandler also applies handleCommonArgs (delay, close, header; not status, size or
   * gzip, and not the server-wide defaults): so does this. Its `env=dump` (the server's whole
   * environment, http_server.go:429) is not done: it would hand out secrets; it is reported. */
  private debug(req: http.IncomingMessage, res: http.ServerResponse, h2: boolean, query: string | undefined): void {
    const found = query === undefined ? EMPTY_PLAN : this.chaos.planFor(commonArgsOnly(query));
    const common = found instanceof EchoParamError ? EMPTY_PLAN : found;
    const plan = query !== undefined && asksEnvDump(query) ? { ...common, ignored: [...common.ignored, 'env=dump'] } : common;
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
          ...debugTls(req, h2),
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
    // Fortio mounts DebugHandler inside its Gzip wrapper (http_server.go:477, http_utils.go:550-561).
    const gzip = acceptsGzip(req);
    const body = gzip ? gzipSync(page) : Buffer.from(page);
    if (gzip) headers.push('content-encoding', 'gzip');
    headers.push('content-length', String(body.length));
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
    res.end(body);
  }

  /** Go's http.Redirect with 301, as ServeMux sends it: a small HTML body for GET only. */
  private redirect(req: http.IncomingMessage, res: http.ServerResponse, h2: boolean, location: string): void {
    req.resume();
    const headers = [...this.fixedHeaders, 'location', location];
    if (req.method === 'GET' || req.method === 'HEAD') headers.push('content-type', 'text/html; charset=utf-8');
    const body = req.method === 'GET' ? `<a href="${htmlEscape(location)}">Moved Permanently</a>.\n\n` : '';
    headers.push('content-length', String(Buffer.byteLength(body)));
    if (this.draining && !h2) headers.push('connection', 'close');
    this.metrics.recordResponse(301);
    res.writeHead(301, headers);
    res.end(body);
  }

  private fail(res: http.ServerResponse): void {
    this.metrics.internalErrors++;
    res.destroy();
  }

  private echo(req: http.IncomingMessage, res: http.ServerResponse, plan: EchoPlan, h2: boolean): void {
    const headers = this.fixedHeaders.length === 0 && plan.headers.length === 0 ? [] : [...this.fixedHeaders, ...plan.headers];
    let clampNotes: string | undefined;
    let status = 200;
    let interim = false;
    if (plan.status !== undefined) {
      status = drawWeighted(plan.status, this.random() * 100) ?? 200;
      // Go's WriteHeader sends a 1xx (101 aside) as an interim response; the body's Write then
      // sends 200 (net/http server.go, Fortio http_server.go:155,167).
      if (status >= 100 && status < 200 && status !== 101) {
        interim = status === 100;
        status = 200;
      }
      if (status !== 200 && plan.status !== BAD_REQUEST) this.metrics.recordFault('status');
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
    if (status < 100 || status > 999 || status === 101) {
      // Go's WriteHeader panics outside 100-999 and Fortio's client sees the connection drop;
      // a 101 would switch protocols. A 400 saying so is the honest answer.
      req.resume();
      this.finishSimple(res, 400, 'text/plain; charset=utf-8', `meshload echo: status ${status} cannot be sent (Fortio's Go server drops the connection outside 100-999; 101 switches protocols)\n`, true, h2);
      return;
    }
    if (h2 && status > 599) {
      // Node's HTTP/2 refuses :status past 599 (ERR_HTTP2_STATUS_INVALID); Go's sends it.
      req.resume();
      this.finishSimple(res, 400, 'text/plain; charset=utf-8', `meshload echo: status ${status} cannot be sent over HTTP/2 by this server; use HTTP/1.1\n`, true, h2);
      return;
    }
    // Node sends 100 Continue only (writeContinue); other 1xx codes go straight to the 200.
    if (interim && req.httpVersion !== '1.0') res.writeContinue();
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
    // Fortio echoes the request's Content-Type whether or not a body came (http_server.go:147-150).
    // Echoed request fields go back only if they can: HTTP/2 peers are not held to HTTP/1.1's
    // parser, and a value Node refuses to send would fail the response.
    const contentType = req.headers['content-type'];
    if (contentType !== undefined && contentType !== '' && !ownType && isSendableValue(contentType)) headers.push('content-type', contentType);
    if (!hasBody) {
      // Fortio's gzip writer sends a gzip stream of nothing (http_utils.go:524-527).
      const body = gzip ? this.payload.gzip(0) : undefined;
      if (gzip) headers.push('content-encoding', 'gzip');
      headers.push('content-length', String(body?.length ?? 0));
      res.writeHead(status, headers);
      res.end(body);
      return;
    }
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

/** Fortio's test: strings.Contains(Accept-Encoding, "gzip"), case and all (http_server.go:121). */
function acceptsGzip(req: http.IncomingMessage): boolean {
  const accept = req.headers['accept-encoding'];
  return accept !== undefined && accept.includes('gzip');
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

/** True when Go's mux would clean `path` (empty, '.' or '..' segments). Scans without allocating:
 * it runs on every request. */
function isUnclean(path: string): boolean {
  return path.includes('//') || path.includes('/./') || path.includes('/../') || path.endsWith('/.') || path.endsWith('/..');
}

/** Go's path.Clean, keeping a trailing slash as ServeMux's cleanPath does. */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const cleaned = '/' + out.join('/');
  return path.endsWith('/') && cleaned !== '/' ? cleaned + '/' : cleaned;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

/** Go's htmlEscape in http.Redirect. */
function htmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

/** Go's QueryArg(r, "env") == "dump": the first env= value, decoded. */
function asksEnvDump(query: string): boolean {
  for (const [key, value] of parseQuery(query, [])) if (key === 'env') return value === 'dump';
  return false;
}

/** What Go's r.TLS gives log.TLSInfo; nothing on plain text or if the socket will not say. */
function debugTls(req: http.IncomingMessage, h2: boolean): Pick<DebugRequest, 'tls'> {
  try {
    const socket = (h2 ? (req as unknown as http2.Http2ServerRequest).stream.session?.socket : req.socket) as TLSSocket | undefined;
    if (socket === undefined || socket.encrypted !== true) return {};
    const cipher = socket.getCipher();
    const peer = socket.getPeerX509Certificate();
    return { tls: { cipher: cipher.standardName ?? cipher.name, ...(peer === undefined ? {} : { clientSubject: goDistinguishedName(peer.subject) }) } };
  } catch {
    return {};
  }
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

/** Fields Go's server takes out of r.Header: Host (into r.Host), Transfer-Encoding and Trailer
 * (net/http transfer.go parseTransferEncoding and fixTrailer, into r.TransferEncoding, r.Trailer). */
const NOT_IN_GO_HEADER: ReadonlySet<string> = new Set(['host', 'transfer-encoding', 'trailer']);

/** The request's headers as Go's r.Header holds them: no pseudo-headers, none of the above. */
function debugHeaders(req: http.IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.startsWith(':') || NOT_IN_GO_HEADER.has(name.toLowerCase())) continue;
    out.push([name, raw[i + 1] as string]);
  }
  return out;
}

export function ignoreStreamError(): void {
  // A client that goes away mid-body is normal under load (aborts, timeouts); nothing to do.
}

/** GOAWAY (close() alone does not send one), then close once the open streams are done. */
export function endSession(session: http2.Http2Session): void {
  if (session.closed || session.destroyed) return;
  session.goaway(http2.constants.NGHTTP2_NO_ERROR);
  session.close();
}
