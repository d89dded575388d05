// Over 600 lines as one concept: the node:http2 reference transport the fast one is tested against; kept whole and unchanged so it stays a faithful reference.
/** meshload's HTTP/2 transport (-h2) on node:http2: h2c with prior knowledge for http://, TLS
 * with ALPN h2 for https://. Each Connection is one stream at a time on a session of its own
 * (opened lazily), so `-c 10 -h2` is 10 TCP connections, as in Fortio, whose -h2 uses Go's client
 * with one transport per thread. With `h2Multiplex` Connections share sessions, 100 to a session
 * (Connection i uses session floor(i/100)), so `-c 64` is 64 concurrent streams on one TCP
 * connection: the load that reaches Envoy's `http2MaxRequests` breaker rather than
 * `maxConnections`.
 *
 * Lifecycle, kept simple:
 * - a session that gets GOAWAY, errors or closes takes no new streams: the next send on its
 *   slot opens a fresh one. Its pending streams complete with -1 by the error; after a GOAWAY
 *   without an error code those it covers still finish;
 * - a stream the server did not process (above a GOAWAY's last stream id, or reset with
 *   REFUSED_STREAM before any response) is sent again on a new session, at most MAX_RESENDS
 *   times per call, and counted in `resends` (RFC 9113 section 8.7); the call still gets one
 *   outcome;
 * - node:http2 only half-closes the socket of a session it shut down gracefully (GOAWAY,
 *   `close()`), so a peer that keeps it open would keep the process alive: we destroy such a
 *   socket LINGER_MS after our FIN, and `close()` destroys every session and socket at once;
 * - `reconnect()` closes the Connection's shared session gracefully (`session.close()`:
 *   in-flight streams of every Connection on it finish), so the next send opens a new one;
 * - `keepAlive: false` opens a fresh session per request and closes it after the response;
 * - a session still connecting, or whose server never acknowledged our SETTINGS, when one of
 *   its requests times out is destroyed (its other pending streams fail 'timeout' too), like
 *   HTTP/1.1 dropping a socket that never answered; any other such session must answer a PING
 *   within the timeout (at least MIN_PROBE_MS), or is destroyed the same way.
 *
 * `headerBytes` is the uncompressed size (name + value + 4 per field, pseudo-headers
 * included), comparable with HTTP/1.1: node:http2 does not expose HPACK-compressed sizes. */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { ErrorKind, Outcome } from '../model/outcome';
import { usageError } from '../util/errors';
import { CONNECTIONS_PER_SESSION, h2RequestHeaders, MAX_RESENDS, oneLine } from './h2-shared';
import { h2ErrorName } from './h2-wire/frames';
import { kindOfH2Code } from './h2-wire/session';
import { BODY_PREFIX_BYTES } from './http1-response-parser';
import { markerOffsets, markUuids, newUuidMarker, uuidsInText, withFreshUuids } from './uuid-request';
import { errorKindOf, failure, refusedSend } from './outcome';
import { goAddress, startSweeper, tlsBaseOptions, type Connection, type RequestTemplate, type SocketWatcher, type Transport } from './transport';

/** Flow-control windows we advertise: node:http2 defaults to RFC 9113's 64 KiB for the
 * connection and each stream, which throttles large responses on 64 streams of one session to
 * a window per round trip (Go's client uses 4 MiB per stream; Envoy 1 MiB per connection). */
const STREAM_WINDOW_BYTES = 1 << 20;
const SESSION_WINDOW_BYTES = 16 << 20;
/** After node:http2 sent our FIN on a session it shut down, the peer gets this long to close. */
const LINGER_MS = 1000;
/** A session whose request timed out must acknowledge a PING within the timeout, and at
 * least this long, or be destroyed. */
const MIN_PROBE_MS = 1000;
const {
  NGHTTP2_NO_ERROR,
  NGHTTP2_PROTOCOL_ERROR,
  NGHTTP2_CANCEL,
  NGHTTP2_REFUSED_STREAM,
} = http2.constants;

/** An error this transport raises itself, carrying the kind it counts as. */
class H2Failure extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
  ) {
    super(message);
  }
}


/** Node's errors, checked by shape: under jest's VM contexts they fail `instanceof Error`. */
interface NodeError {
  message: string;
  code?: unknown;
  cause?: unknown;
}

function isNodeError(error: unknown): error is NodeError {
  return typeof error === 'object' && error !== null && typeof (error as NodeError).message === 'string';
}

/** Maps an error a stream or session reported to a kind. `rstCode` is the stream's. */
function kindOfError(error: unknown, rstCode: number | undefined): ErrorKind {
  if (error instanceof H2Failure) return error.kind;
  if (!isNodeError(error)) return 'other';
  const code = typeof error.code === 'string' ? error.code : '';
  switch (code) {
    case 'ERR_HTTP2_STREAM_CANCEL':
      // A stream still waiting for its session when the session died: the cause says why.
      return error.cause !== undefined ? kindOfError(error.cause, undefined) : 'closed';
    case 'ERR_HTTP2_STREAM_ERROR':
      return kindOfH2Code(rstCode ?? NGHTTP2_PROTOCOL_ERROR);
    case 'ERR_HTTP2_GOAWAY_SESSION':
    case 'ERR_HTTP2_INVALID_SESSION':
      return 'closed';
  }
  // ERR_HTTP2_ERROR (nghttp2 rejected what it read), ERR_HTTP2_SESSION_ERROR (GOAWAY with an
  // error code), invalid headers, frame errors.
  if (code.startsWith('ERR_HTTP2_')) return 'protocol';
  return errorKindOf(error as NodeJS.ErrnoException);
}

function messageOf(error: unknown): string {
  if (!isNodeError(error)) return String(error);
  if (error.code === 'ERR_HTTP2_STREAM_CANCEL' && isNodeError(error.cause)) return messageOf(error.cause);
  // nghttp2 rejected what the server sent (a frame on a closed stream, bad framing): its own
  // words are terse ("Protocol error").
  if (error.code === 'ERR_HTTP2_ERROR') return `HTTP/2 protocol error from the server: ${error.message}`;
  return error.message;
}

export function createH2Transport(template: RequestTemplate): Transport {
  return new H2Transport(template);
}

/** One HTTP/2 session (one TCP or TLS connection) and what this transport learnt about it. */
class H2Session {
  /** GOAWAY received: no new streams; pending ones fail by its code. */
  goawayCode: number | undefined;
  goawayLastStreamId = 0;
  /** Destroys the socket a while after node:http2 half-closed it. */
  private linger: NodeJS.Timeout | undefined;
  /** Destroys the session unless the PING sent by `probe()` is acknowledged in time. */
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly h2: http2.ClientHttp2Session,
    /** The shared slot it serves, or -1 for a per-request session (keepAlive false). */
    readonly slot: number,
    /** The socket under it: `h2.socket` is a proxy that refuses `destroy()`. */
    readonly socket: net.Socket | undefined,
  ) {
    // node:http2 ends a gracefully closed session's socket and waits for the peer's FIN, which
    // a hostile or broken peer never sends: the socket (and the process) would live on.
    socket?.once('finish', () => {
      this.linger = setTimeout(() => socket.destroy(), LINGER_MS);
      this.linger.unref();
    });
  }

  usable(): boolean {
    return this.goawayCode === undefined && !this.h2.closed && !this.h2.destroyed;
  }

  /** After a request timed out: PINGs the server and destroys the session unless the PING is
   * acknowledged within `ms`. nghttp2 stops a session it found broken (a frame the protocol
   * forbids) by sending GOAWAY PROTOCOL_ERROR, and node:http2 tells us nothing: its streams,
   * present and future, would only ever time out. A dead peer looks the same. */
  probe(ms: number): void {
    const h2 = this.h2;
    if (this.probeTimer !== undefined || h2.destroyed || h2.closed) return;
    const timer = setTimeout(() => {
      this.probeTimer = undefined;
      h2.destroy(new H2Failure(`no PING acknowledgement within ${ms}ms after a request timed out: the session is dead or broken`, 'timeout'));
    }, ms);
    timer.unref();
    this.probeTimer = timer;
    const answered = (): void => {
      clearTimeout(timer);
      this.probeTimer = undefined;
    };
    try {
      if (!h2.ping(answered)) answered();
    } catch {
      answered();
    }
  }

  /** Destroys the session and its socket now, whatever state they are in. */
  release(): void {
    if (this.linger !== undefined) clearTimeout(this.linger);
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    this.h2.destroy();
    this.socket?.destroy();
  }
}

class H2Transport implements Transport {
  readonly headers: http2.OutgoingHttpHeaders;
  readonly requestOptions: http2.ClientSessionRequestOptions;
  readonly body: Buffer;
  /** `{uuid}` placeholders, replaced per request; undefined when there are none. */
  readonly uuids: { marker: string; path: string; bodyOffsets: number[] } | undefined;
  readonly url: URL;
  readonly tls: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly keepAlive: boolean;
  readonly insecure: boolean;
  /** SNI, verification and client certificate: the same for every session. */
  private readonly tlsOptions: tls.ConnectionOptions;
  readonly headRequest: boolean;
  /** The address the first session connected to, reused by later ones (one DNS lookup, as
   * Fortio and the HTTP/1.1 transport do). */
  address: string | undefined;
  /** -unix-socket: every session connects to this path. */
  readonly unixSocket: string | undefined;
  /** TLS session to resume on the next handshake. */
  tlsSession: Buffer | undefined;
  closed = false;
  /** The live shared session of each slot. */
  private readonly shared: Array<H2Session | undefined> = [];
  /** Open Connections per slot: the last one closing closes the slot's session. */
  private readonly members: number[] = [];
  private readonly sessions = new Set<H2Session>();
  private readonly connections = new Set<H2Connection>();
  private created = 0;
  /** Connections per slot: CONNECTIONS_PER_SESSION with `h2Multiplex`, else 1. */
  private readonly perSession: number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(template: RequestTemplate) {
    const { url } = template;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw usageError(`unsupported URL scheme ${url.protocol} in ${url.href}`, 'use http:// or https://');
    }
    const marker = newUuidMarker();
    const marked = markUuids(template, marker);
    this.headers = h2RequestHeaders(marked ?? template);
    this.body = (marked ?? template).body;
    this.uuids = marked === undefined ? undefined : { marker, path: String(this.headers[':path']), bodyOffsets: markerOffsets(this.body, marker) };
    // An empty body rides as END_STREAM on HEADERS.
    this.requestOptions = { endStream: template.body.length === 0 };
    this.url = url;
    this.tls = url.protocol === 'https:';
    this.hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? (this.tls ? 443 : 80) : Number(url.port);
    this.timeoutMs = template.timeoutMs;
    this.keepAlive = template.keepAlive;
    this.insecure = template.insecure;
    this.tlsOptions = tlsBaseOptions(this.hostname, template.insecure, template.tls);
    this.headRequest = template.method.toUpperCase() === 'HEAD';
    this.perSession = template.h2Multiplex === true ? CONNECTIONS_PER_SESSION : 1;
    if (net.isIP(this.hostname) !== 0) this.address = this.hostname;
    if (template.resolve !== undefined) this.address = template.resolve;
    this.unixSocket = template.unixSocket;
    this.sweeper = startSweeper(this.timeoutMs, () => this.sweep());
  }

  newConnection(watcher?: SocketWatcher): Connection {
    const slot = Math.floor(this.created++ / this.perSession);
    const connection = new H2Connection(this, slot, watcher);
    if (!this.closed) {
      this.connections.add(connection);
      this.members[slot] = (this.members[slot] ?? 0) + 1;
    }
    return connection;
  }

  close(): void {
    this.closed = true;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const connection of this.connections) connection.close();
    this.connections.clear();
    for (const session of this.sessions) session.release();
    this.sessions.clear();
    this.shared.length = 0;
  }

  /** The slot's session if it can take a stream. */
  sharedSession(slot: number): H2Session | undefined {
    const session = this.shared[slot];
    return session !== undefined && session.usable() ? session : undefined;
  }

  /** Closes a slot's session gracefully: its streams finish, new ones go to a new session. */
  closeShared(slot: number): void {
    const session = this.shared[slot];
    if (session === undefined) return;
    this.shared[slot] = undefined;
    session.h2.close();
  }

  /** A Connection closed for good. */
  forget(connection: H2Connection, slot: number): void {
    if (!this.connections.delete(connection)) return;
    const left = (this.members[slot] ?? 1) - 1;
    this.members[slot] = left;
    if (left === 0) this.closeShared(slot);
  }

  /** Opens a session for a slot (or -1: unshared), its dial reported to `watcher`. Throws on bad
   * options (a port Node rejects); socket errors arrive later as events. */
  open(slot: number, watcher?: SocketWatcher): H2Session {
    // node:http2 calls createConnection synchronously, inside connect().
    let socket = undefined as net.Socket | undefined;
    const h2 = http2.connect(this.url, {
      createConnection: () => (socket = this.connectSocket()),
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
    });
    const session = new H2Session(h2, slot, socket);
    if (watcher !== undefined) this.watchDial(h2, watcher);
    // Every session keeps these listeners for its whole life: an unhandled 'error' would crash,
    // and its streams report the same error themselves.
    h2.on('error', () => this.retire(session));
    h2.on('close', () => {
      this.retire(session);
      this.sessions.delete(session);
    });
    h2.on('goaway', (code: number, lastStreamId: number) => {
      session.goawayCode = code;
      session.goawayLastStreamId = lastStreamId;
      this.retire(session);
    });
    // Registered before any request, so it runs before node:http2 sends the pending streams.
    h2.on('connect', (_h2: http2.ClientHttp2Session, socket: net.Socket) => {
      // node:http2 emits 'connect' even for a session destroyed while connecting.
      if (h2.destroyed) return;
      if (this.address === undefined && socket.remoteAddress !== undefined) this.address = socket.remoteAddress;
      if (this.tls && h2.alpnProtocol !== 'h2') {
        const chosen = typeof h2.alpnProtocol === 'string' ? `ALPN chose ${h2.alpnProtocol}` : 'no ALPN protocol agreed';
        h2.destroy(new H2Failure(`the server does not speak HTTP/2 over TLS (${chosen})`, 'protocol'));
        return;
      }
      h2.setLocalWindowSize(SESSION_WINDOW_BYTES);
    });
    this.sessions.add(session);
    if (slot >= 0) this.shared[slot] = session;
    return session;
  }

  /** Reports the session's dial (TCP, and TLS with ALPN for https: Go's client times the same in
   * its DialContext) once, when it connects or closes first: per session, never per request.
   * Fortio's std client (its -h2) counts a peer only for a dial that connected (http_client.go
   * dialCtx: ipAddrUsage.Record when conn != nil), so a failed one has no address. */
  private watchDial(h2: http2.ClientHttp2Session, watcher: SocketWatcher): void {
    const host = this.address ?? this.hostname;
    const startMs = performance.now();
    let pending = true;
    const ended = (address: string | undefined): void => {
      if (!pending) return;
      pending = false;
      watcher.socketDialled(performance.now() - startMs, address);
    };
    watcher.socketOpened();
    h2.once('connect', (_h2: http2.ClientHttp2Session, socket: net.Socket) => ended(this.unixSocket ?? goAddress(socket.remoteAddress ?? host, socket.remotePort ?? this.port)));
    h2.once('close', () => ended(undefined));
  }

  /** Takes a session out of service: the next send on its slot opens a new one. */
  retire(session: H2Session): void {
    if (session.slot >= 0 && this.shared[session.slot] === session) this.shared[session.slot] = undefined;
  }

  private connectSocket(): net.Socket {
    const target = this.unixSocket !== undefined ? { path: this.unixSocket } : { host: this.address ?? this.hostname, port: this.port };
    if (!this.tls) return net.connect(target);
    const socket = tls.connect({
      ...this.tlsOptions,
      ...target,
      // Offering http/1.1 too lets an HTTP/1.1-only server finish the handshake and say so,
      // rather than fail it with a no_application_protocol alert.
      ALPNProtocols: ['h2', 'http/1.1'],
      ...(this.tlsSession !== undefined ? { session: this.tlsSession } : {}),
    });
    socket.on('session', (tlsSession: Buffer) => {
      this.tlsSession = tlsSession;
    });
    return socket;
  }

  private sweep(): void {
    const now = performance.now();
    for (const connection of this.connections) connection.expireIfLate(now);
  }
}

const OWNER = Symbol('meshload.h2.owner');
/** node:http2 streams, tagged with the Connection they answer, so one set of module-level
 * listeners serves every request (no closures per request). */
interface OwnedStream extends http2.ClientHttp2Stream {
  [OWNER]?: H2Connection;
}

class H2Connection implements Connection {
  socketsOpened = 0;
  resends = 0;
  /** The in-flight stream, and the session it went out on. */
  stream: OwnedStream | undefined;
  private session: H2Session | undefined;
  /** The per-request session of keepAlive false. */
  private own: H2Session | undefined;
  private done: ((outcome: Outcome) => void) | undefined;
  /** 0: no deadline. */
  private deadline = 0;
  private status = 0;
  private headerBytes = 0;
  private bodyBytes = 0;
  /** The response's Content-Length, or -1. */
  private expectedBodyBytes = -1;
  private viaEnvoy = false;
  private envoyOverloaded = false;
  private version: string | undefined;
  private attempt = 0;
  private clamped = false;
  /** Collected only for status >= 400. */
  private bodyPrefix: string | undefined;
  /** Resends of the call in flight. */
  private resent = 0;
  /** The next try goes out on a fresh session of its own (a REFUSED_STREAM resend). */
  private freshSession = false;
  private closed = false;

  /** This call's headers and body: the transport's, or copies with fresh UUIDs. */
  private headers: http2.OutgoingHttpHeaders;
  private body: Buffer;

  constructor(
    private readonly transport: H2Transport,
    private readonly slot: number,
    private readonly watcher: SocketWatcher | undefined,
  ) {
    this.headers = transport.headers;
    this.body = transport.body;
    if (transport.closed) this.closed = true;
  }

  send(done: (outcome: Outcome) => void): void {
    if (refusedSend(this.done !== undefined, this.closed, done)) return;
    const t = this.transport;
    this.done = done;
    this.resent = 0;
    this.deadline = t.timeoutMs > 0 ? performance.now() + t.timeoutMs : 0;
    if (t.uuids !== undefined) this.freshUuids(t.uuids);
    this.start();
  }

  /** Opens the stream of the call in flight: its first try, or a resend (same deadline). */
  private start(): void {
    const t = this.transport;
    this.status = 0;
    this.headerBytes = 0;
    this.bodyBytes = 0;
    this.expectedBodyBytes = -1;
    this.viaEnvoy = false;
    this.envoyOverloaded = false;
    this.version = undefined;
    this.attempt = 0;
    this.clamped = false;
    this.bodyPrefix = undefined;
    let stream: OwnedStream;
    try {
      const session = this.acquireSession();
      this.session = session;
      stream = session.h2.request(this.headers, t.requestOptions);
    } catch (error) {
      // Synchronous throws (bad options, a session closing under us); `done` stays async.
      this.fail(kindOfError(error, undefined), messageOf(error), true);
      return;
    }
    stream[OWNER] = this;
    this.stream = stream;
    stream.on('response', onStreamResponse);
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    if (!t.requestOptions.endStream) stream.end(this.body);
  }

  /** New UUIDs for this call's `{uuid}` placeholders; a resend keeps them. */
  private freshUuids(uuids: { marker: string; path: string; bodyOffsets: number[] }): void {
    this.headers = { ...this.transport.headers, ':path': uuidsInText(uuids.path, uuids.marker) };
    if (uuids.bodyOffsets.length > 0) this.body = withFreshUuids(this.transport.body, uuids.bodyOffsets);
  }

  /** Closes the slot's shared session gracefully: streams in flight on it finish, and every
   * Connection of the slot moves to a new session on its next send. Without keep-alive each
   * request has a fresh session already. */
  reconnect(): void {
    if (this.transport.keepAlive) this.transport.closeShared(this.slot);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.forget(this, this.slot);
    if (this.done !== undefined) {
      this.cancelStream();
      this.fail('closed', 'connection closed by meshload while the request was in flight', true);
    }
  }

  /** Called by the transport's sweep. */
  expireIfLate(now: number): void {
    if (this.done === undefined || this.deadline === 0 || now < this.deadline) return;
    const session = this.session;
    const message = `no complete response within ${this.transport.timeoutMs}ms`;
    this.cancelStream();
    this.fail('timeout', message, false);
    // A session that never connected, or whose server never acknowledged our SETTINGS (silent,
    // or not HTTP/2 at all), serves nobody: drop it so the next send dials again.
    if (session === undefined || session.h2.destroyed) return;
    if (session.h2.connecting || session.h2.pendingSettingsAck) {
      const state = session.h2.connecting ? 'session not connected' : 'no SETTINGS acknowledgement from the server';
      session.h2.destroy(new H2Failure(`${state}: ${message}`, 'timeout'));
    } else {
      session.probe(Math.max(this.transport.timeoutMs, MIN_PROBE_MS));
    }
  }

  onResponse(headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, raw: string[] | undefined): void {
    this.status = headers[':status'] ?? 0;
    let bytes = 0;
    if (raw !== undefined) {
      // Flat [name, value, name, value, ...] as received, repeats and pseudo-headers included:
      // 2 per entry is the 4 per field of "name: value\r\n".
      for (let i = 0; i < raw.length; i++) bytes += (raw[i] as string).length + 2;
    } else {
      for (const name in headers) bytes += name.length + String(headers[name]).length + 4;
    }
    this.headerBytes = bytes;
    const server = headers.server;
    this.viaEnvoy = (typeof server === 'string' && server.toLowerCase() === 'envoy') || headers['x-envoy-upstream-service-time'] !== undefined;
    const overloaded = headers['x-envoy-overloaded'];
    this.envoyOverloaded = typeof overloaded === 'string' && overloaded.toLowerCase() === 'true';
    const version = headers['x-version'];
    if (typeof version === 'string' && version !== '') this.version = version.slice(0, 64);
    const attempt = headers['x-envoy-attempt-count'];
    if (typeof attempt === 'string' && /^\d{1,6}$/.test(attempt)) this.attempt = Number(attempt);
    this.clamped = headers['x-meshload-clamped'] !== undefined;
    if (this.status >= 400) this.bodyPrefix = '';
    // HEAD and 204/304 responses carry a Content-Length without a body.
    const length = headers['content-length'];
    if (length !== undefined && !this.transport.headRequest && this.status !== 204 && this.status !== 304) {
      const expected = Number(length);
      if (Number.isSafeInteger(expected) && expected >= 0) this.expectedBodyBytes = expected;
    }
  }

  onData(chunk: Buffer): void {
    this.bodyBytes += chunk.length;
    const prefix = this.bodyPrefix;
    if (prefix !== undefined && prefix.length < BODY_PREFIX_BYTES) {
      this.bodyPrefix = prefix + chunk.toString('latin1', 0, Math.min(chunk.length, BODY_PREFIX_BYTES - prefix.length));
    }
  }

  onEnd(stream: OwnedStream): void {
    // node:http2 also ends the readable side of a stream the peer resets with NO_ERROR, or that
    // it cancels itself when the connection drops: a Content-Length shows the cut.
    const rstCode = stream.rstCode ?? NGHTTP2_NO_ERROR;
    if (this.status === 0 || rstCode !== NGHTTP2_NO_ERROR || (this.expectedBodyBytes >= 0 && this.bodyBytes !== this.expectedBodyBytes)) {
      this.onClose(stream);
      return;
    }
    this.finish(
      {
        status: this.status,
        errorKind: undefined,
        errorMessage: undefined,
        headerBytes: this.headerBytes,
        bodyBytes: this.bodyBytes,
        viaEnvoy: this.viaEnvoy,
        envoyOverloaded: this.envoyOverloaded,
        bodyPrefix: this.bodyPrefix,
        version: this.version,
        attempt: this.attempt,
        clamped: this.clamped,
      },
      false,
    );
  }

  onError(stream: OwnedStream, error: Error): void {
    if (this.resentUnprocessed(stream)) return;
    const goaway = this.goawayFailure(stream);
    if (goaway !== undefined) this.fail(goaway[0], goaway[1], false);
    else if ((error as NodeError).code === 'ERR_HTTP2_STREAM_ERROR' && stream.rstCode !== undefined) this.failReset(stream.rstCode);
    else this.fail(kindOfError(error, stream.rstCode), messageOf(error), false);
  }

  /** Closed without a complete response and without an 'error' event: the connection dropped
   * (node:http2 then cancels the session's streams itself), or the peer reset the stream with
   * CANCEL or NO_ERROR (which node:http2 does not report as errors). */
  onClose(stream: OwnedStream): void {
    if (this.resentUnprocessed(stream)) return;
    const goaway = this.goawayFailure(stream);
    if (goaway !== undefined) this.fail(goaway[0], goaway[1], false);
    else if (this.session?.h2.destroyed === true) this.fail('closed', `the connection closed ${this.cut()}`, false);
    else this.failReset(stream.rstCode ?? NGHTTP2_NO_ERROR);
  }

  private cut(): string {
    return this.status === 0 ? 'before the response headers' : 'before the response was complete';
  }

  /** A stream reset (RST_STREAM) with `code`. nghttp2 also resets a malformed response itself
   * with a protocol-kind code, so only the other codes are surely the server's. */
  private failReset(code: number): void {
    const kind = kindOfH2Code(code);
    const by = kind === 'protocol' ? 'stream reset (malformed response, or by the server)' : 'stream reset by server';
    const resent = this.resent > 0 ? ` (${this.resent} resends)` : '';
    this.fail(kind, `${by}: ${h2ErrorName(code)} ${this.cut()}${resent}`, false);
  }

  /** Sends the call again when the server did not process this stream (RFC 9113 section 8.7:
   * above a GOAWAY's last stream id, or RST_STREAM REFUSED_STREAM), before any response byte
   * and within MAX_RESENDS; returns false to let the stream fail. A GOAWAY retired the session,
   * so the resend opens a new shared one; a refused stream is resent on a session of its own. */
  private resentUnprocessed(stream: OwnedStream): boolean {
    if (this.status !== 0 || this.resent >= MAX_RESENDS) return false;
    const session = this.session;
    const id = stream.id;
    const aboveGoaway = session?.goawayCode !== undefined && id !== undefined && id > session.goawayLastStreamId;
    if (!aboveGoaway && stream.rstCode !== NGHTTP2_REFUSED_STREAM) return false;
    this.resent++;
    this.resends++;
    this.stream = undefined;
    // A session that refused the stream may refuse it again (its stream limit, its load): the
    // resend goes on a new session, as the issue and RFC 9113 section 8.7 allow; neighbours
    // keep the shared one. After a GOAWAY the shared session is retired and replaced anyway.
    this.freshSession = !aboveGoaway;
    const own = this.own;
    if (own !== undefined) {
      this.own = undefined;
      own.h2.destroy();
    }
    this.start();
    return true;
  }

  /** A stream fails because of a GOAWAY with an error code, or one that left it unprocessed
   * (above the last stream id, which nghttp2 reports as REFUSED_STREAM) after its resends. */
  private goawayFailure(stream: OwnedStream): [ErrorKind, string] | undefined {
    const session = this.session;
    const code = session?.goawayCode;
    if (session === undefined || code === undefined) return undefined;
    const last = session.goawayLastStreamId;
    const id = stream.id;
    if (id !== undefined && id <= last) {
      if (code === NGHTTP2_NO_ERROR) return undefined;
      return [kindOfH2Code(code), `GOAWAY ${h2ErrorName(code)} (last stream ${last}) ${this.cut()}`];
    }
    return [kindOfH2Code(code), `GOAWAY ${h2ErrorName(code)} (last stream ${last}): not processed, ${this.resent} resends`];
  }

  private acquireSession(): H2Session {
    const t = this.transport;
    if (!t.keepAlive || this.freshSession) {
      this.freshSession = false;
      const own = t.open(-1, this.watcher);
      this.own = own;
      this.socketsOpened++;
      return own;
    }
    const shared = t.sharedSession(this.slot);
    if (shared !== undefined) return shared;
    const opened = t.open(this.slot, this.watcher);
    this.socketsOpened++;
    return opened;
  }

  /** Sends RST_STREAM(CANCEL) for the in-flight stream; its later events are ignored. */
  private cancelStream(): void {
    const stream = this.stream;
    if (stream === undefined) return;
    this.stream = undefined;
    if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
  }

  private fail(kind: ErrorKind, message: string, deferred: boolean): void {
    this.finish(failure(kind, oneLine(message)), deferred);
  }

  /** Clears the request state before calling back: `done` may send again at once. */
  private finish(outcome: Outcome, deferred: boolean): void {
    const done = this.done;
    if (done === undefined) return;
    this.done = undefined;
    this.deadline = 0;
    this.stream = undefined;
    this.session = undefined;
    const own = this.own;
    if (own !== undefined) {
      this.own = undefined;
      if (outcome.status === -1) own.h2.destroy();
      else own.h2.close();
    }
    if (deferred) process.nextTick(done, outcome);
    else done(outcome);
  }
}

// Stream listeners: `this` is the stream; events of a stream its Connection gave up on
// (timed out, closed) are ignored.
function ownerOf(stream: OwnedStream): H2Connection | undefined {
  const owner = stream[OWNER];
  return owner !== undefined && owner.stream === stream ? owner : undefined;
}

function onStreamResponse(
  this: OwnedStream,
  headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader,
  _flags: number,
  raw?: string[],
): void {
  ownerOf(this)?.onResponse(headers, raw);
}

function onStreamData(this: OwnedStream, chunk: Buffer): void {
  ownerOf(this)?.onData(chunk);
}

function onStreamEnd(this: OwnedStream): void {
  ownerOf(this)?.onEnd(this);
}

function onStreamError(this: OwnedStream, error: Error): void {
  ownerOf(this)?.onError(this, error);
}

function onStreamClose(this: OwnedStream): void {
  ownerOf(this)?.onClose(this);
}

