/** meshload's HTTP/2 transport (-h2) on its own framing and HPACK (./h2-wire), not node:http2:
 * h2c with prior knowledge for http://, TLS with ALPN h2 for https://. The connection model
 * and every outcome are those of h2-transport.ts (node:http2), which it replaces on the load
 * path because node:http2 cost most of the CPU (issue 16):
 * - each Connection is one stream at a time on a session of its own (Fortio's -h2), or with
 *   `h2Multiplex` a stream slot on a session shared by CONNECTIONS_PER_SESSION Connections;
 * - a session that gets GOAWAY, fails or closes takes no new streams: the next send on its slot
 *   opens a fresh one. Streams the server did not process (above a GOAWAY's last stream id,
 *   REFUSED_STREAM) are sent again before any response byte, at most MAX_RESENDS times per
 *   call, and counted in `resends`; anything else fails once with its cause;
 * - `reconnect()` closes the slot's session gracefully; `keepAlive: false` opens a session per
 *   request; a timed-out request's session must answer a PING (or is destroyed), one that never
 *   connected or never sent SETTINGS is destroyed at once.
 * Sessions dial the -resolve IP (SNI and :authority stay the URL's host) or the -unix-socket
 * path, and report each dial to the Connection's SocketWatcher (as h2-transport.ts does).
 * Per request: the request's header block is encoded once per session and then reused (all
 * indexed after the first), so a request costs one frame write; the response is read from the
 * socket's buffers with no per-request closures. Only a `{uuid}` request allocates per call: its
 * :path (a literal without indexing, so the table does not churn) and body are copied fresh. */
import net from 'node:net';
import tls from 'node:tls';
import type { ErrorKind, Outcome } from '../model/outcome';
import { usageError } from '../util/errors';
import { H2_ERROR, h2ErrorName } from './h2-wire/frames';
import { H2Stream, H2WireSession, kindOfH2Code, type SessionOptions, type SessionOwner, type StreamEnd, type StreamHandler } from './h2-wire/session';
import { CONNECTIONS_PER_SESSION, h2RequestHeaders, MAX_RESENDS, oneLine } from './h2-shared';
import { BODY_PREFIX_BYTES } from './http1-response-parser';
import { failure, refusedSend } from './outcome';
import { goAddress, startSweeper, tlsBaseOptions, type Connection, type RequestTemplate, type SocketWatcher, type Transport } from './transport';
import { markerOffsets, markUuids, newUuidMarker, uuidsInText, withFreshUuids } from './uuid-request';
import { SessionSlots } from './h2-wire/session-slots';

const READ_BUFFER_BYTES = 64 * 1024;
/** A session whose request timed out must acknowledge a PING within the timeout, and at
 * least this long, or be destroyed. */
const MIN_PROBE_MS = 1000;

/** The request as HTTP/2 fields in order, pseudo-headers first (see h2RequestHeaders). */
export function h2RequestFields(template: RequestTemplate): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(h2RequestHeaders(template))) {
    if (Array.isArray(value)) for (const v of value) fields.push([name, String(v)]);
    else if (value !== undefined) fields.push([name, String(value)]);
  }
  return fields;
}

/** Where a socket's reads go, set once the session exists (the socket is made first). */
interface ReadTarget {
  session: H2WireSession | undefined;
}

/** `{uuid}` placeholders of the request: where they sit, replaced per request. */
interface UuidPlan {
  marker: string;
  /** Index of :path in the fields, and its value with markers; -1 when only the body has them. */
  pathIndex: number;
  path: string;
  bodyOffsets: number[];
}

/** Sent as a literal without indexing when it carries a per-request UUID. */
const PATH_UNINDEXED: ReadonlySet<string> = new Set([':path']);

export function createFastH2Transport(template: RequestTemplate): Transport {
  return new FastH2Transport(template);
}

class FastH2Transport implements Transport, SessionOwner {
  readonly fields: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer | undefined;
  readonly tls: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly keepAlive: boolean;
  readonly headRequest: boolean;
  /** Undefined when the request has no `{uuid}`: then it is the same fields and body each time. */
  readonly uuids: UuidPlan | undefined;
  /** -unix-socket: every session connects to this path. */
  private readonly unixSocket: string | undefined;
  private readonly sessionOptions: SessionOptions;
  private readonly tlsOptions: tls.ConnectionOptions;
  /** The address the first session connected to, reused by later ones (one DNS lookup, as
   * Fortio and the HTTP/1.1 transport do). */
  private address: string | undefined;
  private tlsSession: Buffer | undefined;
  closed = false;
  private readonly sessions = new SessionSlots();
  private readonly members: number[] = [];
  private readonly connections = new Set<FastH2Connection>();
  private created = 0;
  private readonly perSession: number;
  private sweeper: NodeJS.Timeout | undefined;
  /** Reads of plain sockets land here, one buffer for all the transport's sockets: each read is
   * parsed synchronously and what outlives it is copied, so no Buffer is allocated per read. */
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

  constructor(template: RequestTemplate) {
    const { url } = template;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw usageError(`unsupported URL scheme ${url.protocol} in ${url.href}`, 'use http:// or https://');
    }
    const marker = newUuidMarker();
    const marked = markUuids(template, marker);
    const request = marked ?? template;
    this.fields = h2RequestFields(request);
    this.body = request.body.length > 0 ? request.body : undefined;
    if (marked !== undefined) {
      const pathIndex = this.fields.findIndex(([name, value]) => name === ':path' && value.includes(marker));
      this.uuids = { marker, pathIndex, path: this.fields[pathIndex]?.[1] ?? '', bodyOffsets: markerOffsets(request.body, marker) };
    }
    this.tls = url.protocol === 'https:';
    this.hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? (this.tls ? 443 : 80) : Number(url.port);
    this.timeoutMs = template.timeoutMs;
    this.keepAlive = template.keepAlive;
    this.tlsOptions = tlsBaseOptions(this.hostname, template.insecure, template.tls);
    this.headRequest = template.method.toUpperCase() === 'HEAD';
    this.perSession = template.h2Multiplex === true ? CONNECTIONS_PER_SESSION : 1;
    if (net.isIP(this.hostname) !== 0) this.address = this.hostname;
    if (template.resolve !== undefined) this.address = template.resolve;
    this.unixSocket = template.unixSocket;
    this.sessionOptions = {
      tls: this.tls,
      readsFed: !this.tls,
      ...(this.uuids !== undefined && this.uuids.pathIndex >= 0 ? { unindexedNames: PATH_UNINDEXED } : {}),
    };
    this.sweeper = startSweeper(this.timeoutMs, () => this.sweep());
  }

  newConnection(watcher?: SocketWatcher): Connection {
    const slot = Math.floor(this.created++ / this.perSession);
    const connection = new FastH2Connection(this, slot, watcher);
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
    this.sessions.destroyAll();
  }

  /** The slot's session if it can take a stream. */
  sharedSession(slot: number): H2WireSession | undefined {
    return this.sessions.usable(slot);
  }

  closeShared(slot: number): void {
    this.sessions.shutdown(slot);
  }

  forget(connection: FastH2Connection, slot: number): void {
    if (!this.connections.delete(connection)) return;
    const left = (this.members[slot] ?? 1) - 1;
    this.members[slot] = left;
    if (left === 0) this.closeShared(slot);
  }

  /** Opens a session for a slot (or -1: unshared), its dial reported to `watcher`. Throws on
   * options Node rejects (a bad port); socket errors arrive as stream failures. */
  open(slot: number, watcher: SocketWatcher | undefined): H2WireSession {
    const reader: ReadTarget = { session: undefined };
    const session = new H2WireSession(this.connectSocket(reader, watcher), this, this.sessionOptions);
    reader.session = session;
    this.sessions.add(session, slot);
    return session;
  }

  onSessionRetired(session: H2WireSession): void {
    this.sessions.retired(session);
  }

  onSessionClosed(session: H2WireSession): void {
    this.sessions.closed(session);
  }

  /** A socket to the target (the -resolve IP or the URL's host, or the -unix-socket path); plain
   * ones read into the transport's shared buffer and hand the bytes to `reader.session`. */
  private connectSocket(reader: ReadTarget, watcher: SocketWatcher | undefined): net.Socket {
    const host = this.address ?? this.hostname;
    const target = this.unixSocket !== undefined ? { path: this.unixSocket } : { host, port: this.port };
    const started = performance.now();
    let socket: net.Socket;
    if (!this.tls) {
      socket = net.connect({
        ...target,
        onread: {
          buffer: this.readBuffer,
          callback: (length: number, buffer: Uint8Array): boolean => {
            reader.session?.onBytes(buffer as Buffer, length);
            return true;
          },
        },
      });
    } else {
      const secure = tls.connect({
        ...this.tlsOptions,
        ...target,
        // Offering http/1.1 too lets an HTTP/1.1-only server finish the handshake and say so,
        // rather than fail it with a no_application_protocol alert.
        ALPNProtocols: ['h2', 'http/1.1'],
        ...(this.tlsSession !== undefined ? { session: this.tlsSession } : {}),
      });
      secure.on('session', (tlsSession: Buffer) => {
        this.tlsSession = tlsSession;
      });
      socket = secure;
    }
    socket.once(this.tls ? 'secureConnect' : 'connect', () => {
      if (this.address === undefined && socket.remoteAddress !== undefined && this.unixSocket === undefined) this.address = socket.remoteAddress;
    });
    if (watcher !== undefined) this.watchDial(socket, watcher, started, host);
    return socket;
  }

  /** Reports the socket's dial (TCP, and TLS for https: Go's client times the same in its
   * DialContext) once: per session, never per request. Fortio's std client (its -h2) counts a
   * peer only for a dial that connected (http_client.go dialCtx), so a failed one has no address. */
  private watchDial(socket: net.Socket, watcher: SocketWatcher, started: number, host: string): void {
    let pending = true;
    const ended = (address: string | undefined): void => {
      if (!pending) return;
      pending = false;
      watcher.socketDialled(performance.now() - started, address);
    };
    watcher.socketOpened();
    socket.once(this.tls ? 'secureConnect' : 'connect', () => ended(this.unixSocket ?? goAddress(socket.remoteAddress ?? host, socket.remotePort ?? this.port)));
    socket.once('close', () => ended(undefined));
  }

  private sweep(): void {
    const now = performance.now();
    for (const connection of this.connections) connection.expireIfLate(now);
  }
}

class FastH2Connection implements Connection, StreamHandler {
  socketsOpened = 0;
  resends = 0;
  private readonly stream = new H2Stream(this);
  /** The session of the call in flight. */
  private session: H2WireSession | undefined;
  /** The per-request session of keepAlive false, or of a REFUSED_STREAM resend. */
  private own: H2WireSession | undefined;
  private done: ((outcome: Outcome) => void) | undefined;
  private deadline = 0;
  private status = 0;
  /** The final (non-1xx) response headers arrived; later blocks are trailers. */
  private headersDone = false;
  private headerBytes = 0;
  private bodyBytes = 0;
  private expectedBodyBytes = -1;
  private viaEnvoy = false;
  private envoyOverloaded = false;
  private version: string | undefined;
  private attempt = 0;
  private clamped = false;
  private bodyPrefix: string | undefined;
  private resent = 0;
  private freshSession = false;
  private closed = false;

  /** This call's fields and body: the transport's, or copies with fresh UUIDs. */
  private fields: ReadonlyArray<readonly [string, string]>;
  private body: Buffer | undefined;

  constructor(
    private readonly transport: FastH2Transport,
    private readonly slot: number,
    private readonly watcher: SocketWatcher | undefined,
  ) {
    this.fields = transport.fields;
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

  /** New UUIDs for this call's `{uuid}` placeholders; a resend keeps them. A new fields array
   * each time: the session reuses a block only for the same array. */
  private freshUuids(uuids: UuidPlan): void {
    const t = this.transport;
    if (uuids.pathIndex >= 0) {
      const fields = t.fields.slice();
      fields[uuids.pathIndex] = [':path', uuidsInText(uuids.path, uuids.marker)];
      this.fields = fields;
    }
    if (uuids.bodyOffsets.length > 0 && t.body !== undefined) this.body = withFreshUuids(t.body, uuids.bodyOffsets);
  }

  private start(): void {
    this.status = 0;
    this.headersDone = false;
    this.headerBytes = 0;
    this.bodyBytes = 0;
    this.expectedBodyBytes = -1;
    this.viaEnvoy = false;
    this.envoyOverloaded = false;
    this.version = undefined;
    this.attempt = 0;
    this.clamped = false;
    this.bodyPrefix = undefined;
    let session: H2WireSession;
    try {
      session = this.acquireSession();
    } catch (error) {
      // Synchronous throws (a port Node rejects); `done` stays asynchronous.
      this.fail('other', error instanceof Error ? error.message : String(error), true);
      return;
    }
    this.session = session;
    session.request(this.stream, this.fields, this.body, true);
  }

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

  expireIfLate(now: number): void {
    if (this.done === undefined || this.deadline === 0 || now < this.deadline) return;
    const session = this.session;
    const message = `no complete response within ${this.transport.timeoutMs}ms`;
    this.cancelStream();
    this.fail('timeout', message, false);
    if (session === undefined || session.destroyed) return;
    // A session that never connected, or whose server never acknowledged our SETTINGS (silent,
    // or not HTTP/2 at all), serves nobody: drop it so the next send dials again.
    if (!session.ready || !session.settingsAcked) {
      const state = !session.ready ? 'session not connected' : 'no SETTINGS acknowledgement from the server';
      session.destroy('timeout', `${state}: ${message}`);
    } else {
      session.probe(Math.max(this.transport.timeoutMs, MIN_PROBE_MS));
    }
  }

  // StreamHandler: the hot path. Fields of the final response headers are counted and the few
  // meshload reads are kept; trailers are ignored.
  onField(name: string, value: string): void {
    if (this.headersDone) return;
    this.headerBytes += name.length + value.length + 4;
    switch (name) {
      case ':status':
        this.status = value.length === 3 ? Number(value) || -2 : -2;
        break;
      case 'content-length': {
        const length = Number(value);
        this.expectedBodyBytes = value !== '' && Number.isSafeInteger(length) && length >= 0 ? length : -1;
        break;
      }
      case 'server':
        if (value.toLowerCase() === 'envoy') this.viaEnvoy = true;
        break;
      case 'x-envoy-upstream-service-time':
        this.viaEnvoy = true;
        break;
      case 'x-envoy-overloaded':
        this.envoyOverloaded = value.toLowerCase() === 'true';
        break;
      case 'x-version':
        if (value !== '') this.version = value.slice(0, 64);
        break;
      case 'x-envoy-attempt-count':
        if (/^\d{1,6}$/.test(value)) this.attempt = Number(value);
        break;
      case 'x-meshload-clamped':
        this.clamped = true;
        break;
    }
  }

  onHeaders(stream: H2Stream, endStream: boolean): void {
    if (stream !== this.stream || this.done === undefined) return;
    if (this.headersDone) {
      // Trailers must end the stream (RFC 9113 8.1).
      if (endStream) this.complete();
      else this.malformed('trailers without END_STREAM');
      return;
    }
    const status = this.status;
    if (status < 100 || status > 599) return this.malformed('no valid :status in the response headers');
    if (status < 200) {
      // Informational (1xx): the final response follows; 101 is not allowed in HTTP/2.
      if (endStream || status === 101) return this.malformed(`informational :status ${status} ending the stream`);
      this.status = 0;
      this.headerBytes = 0;
      this.expectedBodyBytes = -1;
      return;
    }
    this.headersDone = true;
    // HEAD and 204/304 responses carry a Content-Length without a body.
    if (this.transport.headRequest || status === 204 || status === 304) this.expectedBodyBytes = -1;
    if (status >= 400) this.bodyPrefix = '';
    if (endStream) this.complete();
  }

  onData(stream: H2Stream, data: Buffer, start: number, end: number, endStream: boolean): void {
    if (stream !== this.stream || this.done === undefined) return;
    const length = end - start;
    this.bodyBytes += length;
    const prefix = this.bodyPrefix;
    if (prefix !== undefined && prefix.length < BODY_PREFIX_BYTES && length > 0) {
      this.bodyPrefix = prefix + data.toString('latin1', start, start + Math.min(length, BODY_PREFIX_BYTES - prefix.length));
    }
    if (endStream) this.complete();
  }

  onFailed(stream: H2Stream, end: StreamEnd, code: number, kind: ErrorKind, message: string, unprocessed: boolean): void {
    if (stream !== this.stream || this.done === undefined) return;
    if (unprocessed && (end === 'goaway' || end === 'reset') && this.status === 0 && this.resent < MAX_RESENDS) {
      this.resend(end === 'reset');
      return;
    }
    const cut = this.cut();
    switch (end) {
      case 'reset': {
        const resent = this.resent > 0 ? ` (${this.resent} resends)` : '';
        this.fail(kindOfH2Code(code), `stream reset by server: ${h2ErrorName(code)} ${cut}${resent}`, false);
        return;
      }
      case 'goaway':
        this.fail(kind, unprocessed ? `${message}: not processed, ${this.resent} resends` : `${message} ${cut}`, false);
        return;
      case 'closed':
        this.fail('closed', `the connection closed ${cut}`, false);
        return;
      default:
        this.fail(kind, message, false);
    }
  }

  private complete(): void {
    // A body shorter than its Content-Length was cut short (node:http2 servers end a stream they
    // close early that way); a longer one is malformed (RFC 9113 8.1.1).
    const expected = this.expectedBodyBytes;
    if (expected >= 0 && this.bodyBytes < expected) {
      this.fail('closed', `response cut short: END_STREAM after ${this.bodyBytes} of ${expected} body bytes (content-length)`, false);
      return;
    }
    if (expected >= 0 && this.bodyBytes > expected) {
      this.fail('protocol', `malformed response: ${this.bodyBytes} body bytes, content-length ${expected}`, false);
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

  /** A response HTTP/2 forbids: the stream is reset with PROTOCOL_ERROR. */
  private malformed(why: string): void {
    this.cancelStream(H2_ERROR.PROTOCOL_ERROR);
    this.fail('protocol', `malformed response: ${why}`, false);
  }

  private cut(): string {
    return this.status <= 0 || !this.headersDone ? 'before the response headers' : 'before the response was complete';
  }

  /** Sends the call again: the server did not process it (RFC 9113 8.7). A GOAWAY retired the
   * session, so the next try opens a new shared one; a refused stream goes on a session of its
   * own, as the server that refused it may refuse it again; neighbours keep the shared one. */
  private resend(refused: boolean): void {
    this.resent++;
    this.resends++;
    this.freshSession = refused;
    const own = this.own;
    if (own !== undefined) {
      this.own = undefined;
      own.destroy();
    }
    this.start();
  }

  private acquireSession(): H2WireSession {
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

  /** RST_STREAM for the call in flight (CANCEL unless said otherwise); later frames are ignored. */
  private cancelStream(code: number = H2_ERROR.CANCEL): void {
    const session = this.session;
    if (session !== undefined && this.stream.active) session.cancel(this.stream, code);
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
    this.session = undefined;
    const own = this.own;
    if (own !== undefined) {
      this.own = undefined;
      if (outcome.status === -1) own.destroy();
      else own.shutdown();
    }
    if (deferred) process.nextTick(done, outcome);
    else done(outcome);
  }
}
