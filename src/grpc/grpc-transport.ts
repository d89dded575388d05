/** meshload's gRPC client transport: unary calls over node:http2 (h2c prior knowledge, or TLS
 * with ALPN h2). Fortio's -s: `streams` Connections share one session (HTTP/2 connection), so
 * `-c 2 -s 4` is 8 calls in flight on 2 connections, as Fortio's grpcrunner dials one
 * connection per `Streams` threads.
 *
 * The message layer (grpc-reply.ts, grpc-frame.ts) only sees header objects and DATA chunks,
 * so the session code here can be swapped for a faster HTTP/2 framing layer without touching
 * it. The request is framed once per transport; per call: one stream, a reused GrpcReply, no
 * closures (module-level listeners find their Connection through a symbol on the stream). */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { ErrorKind } from '../engine/load-result';
import { errorKindOf, failure, oneLine, refusedSend } from '../transport/outcome';
import { tlsBaseOptions, type Connection, type Outcome, type TlsClientOptions, type Transport } from '../transport/transport';
import { meshloadVersion } from '../util/version';
import { usageError } from '../util/errors';
import { DEFAULT_MAX_MESSAGE_BYTES, frameMessage } from './grpc-frame';
import { decodeHealthResponse, HEALTH_SERVING, healthStatusName } from './builtin-messages';
import { GrpcReply } from './grpc-reply';
import { GRPC_DEADLINE_EXCEEDED, grpcStatusName } from './grpc-status';

/** What every call of a run sends. Plain data: crosses worker threads. */
export interface GrpcCallTemplate {
  /** http://host:port (h2c) or https://host:port (TLS). */
  url: string;
  /** "/package.Service/Method". */
  path: string;
  /** The request message, protobuf-encoded, unframed. */
  message: Uint8Array;
  /** Custom metadata (-H), in order; `host` becomes :authority, `user-agent` replaces ours
   * (Fortio's extractDialOptionsAndFilter). */
  metadata: Array<[string, string]>;
  /** Per call, from send to the trailers; 0 for none. */
  timeoutMs: number;
  /** -grpc-compression: gzip the request (grpc-encoding: gzip). */
  compression: boolean;
  /** -s: Connections per HTTP/2 connection (at least 1). */
  streams: number;
  insecure: boolean;
  tls?: TlsClientOptions;
  /** Largest response message accepted; default 4 MiB as grpc-go. */
  maxMessageBytes?: number;
  /** A grpc.health.v1 Check: OK only when the response says SERVING. */
  health?: boolean;
}

/** Metadata a user cannot set: HTTP/2 pseudo-headers, connection headers and the gRPC
 * protocol's own (PROTOCOL-HTTP2.md reserves grpc-*). */
const RESERVED = /^(:|connection$|keep-alive$|proxy-connection$|transfer-encoding$|upgrade$|te$|content-type$|grpc-)/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const STREAM_WINDOW_BYTES = 1 << 20;
const MAX_SWEEP_MS = 50;
const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
/** Resends of one call the server did not process, before it fails (as the HTTP/2 transport). */
export const MAX_RESENDS = 2;
/** RFC 9113 END_STREAM on the HEADERS frame that carried the response headers. */
export const END_STREAM_FLAG = 0x1;
/** Every call has a request message: HEADERS without END_STREAM, then the DATA. */
const REQUEST_OPTIONS: http2.ClientSessionRequestOptions = { endStream: false };

/** The request headers, built once per transport. */
export function grpcRequestHeaders(template: Pick<GrpcCallTemplate, 'path' | 'metadata' | 'compression'>, url: URL): http2.OutgoingHttpHeaders {
  const headers: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    ':scheme': url.protocol.slice(0, -1),
    ':authority': url.host,
    ':path': template.path,
    'content-type': 'application/grpc',
    te: 'trailers',
    'user-agent': `meshload/${meshloadVersion()} grpc`,
    'grpc-accept-encoding': 'identity,gzip',
  };
  if (template.compression) headers['grpc-encoding'] = 'gzip';
  for (const [rawName, value] of template.metadata) {
    const name = rawName.toLowerCase();
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) throw usageError(`bad gRPC metadata ${JSON.stringify(rawName)}: names are lower-case tokens and values cannot hold CR, LF or NUL`);
    if (name === 'host') {
      headers[':authority'] = value;
      continue;
    }
    if (name === 'user-agent') {
      headers['user-agent'] = value;
      continue;
    }
    if (RESERVED.test(name)) throw usageError(`gRPC metadata ${JSON.stringify(rawName)} is reserved by the protocol`, 'drop this -H');
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [String(existing), value];
  }
  return headers;
}

export function createGrpcTransport(template: GrpcCallTemplate): Transport {
  return new GrpcTransport(template);
}

/** An error this transport raises itself, with the kind it counts as. */
class GrpcFailure extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
  ) {
    super(message);
  }
}

interface NodeError {
  message: string;
  code?: unknown;
  cause?: unknown;
}

/** The kind a stream or session error counts as. */
export function kindOf(error: unknown): ErrorKind {
  if (error instanceof GrpcFailure) return error.kind;
  if (typeof error !== 'object' || error === null) return 'other';
  const e = error as NodeError;
  const code = typeof e.code === 'string' ? e.code : '';
  if (code === 'ERR_HTTP2_STREAM_CANCEL' && e.cause !== undefined) return kindOf(e.cause);
  if (code === 'ERR_HTTP2_STREAM_CANCEL' || code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION') return 'closed';
  if (code === 'ERR_HTTP2_STREAM_ERROR') return 'reset';
  if (code.startsWith('ERR_HTTP2_')) return 'protocol';
  return errorKindOf(e as NodeJS.ErrnoException);
}

/** An error's message, unwrapping node:http2's stream cancel to the session's cause. */
export function messageOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const e = error as NodeError;
  if (e.code === 'ERR_HTTP2_STREAM_CANCEL' && typeof e.cause === 'object' && e.cause !== null) return messageOf(e.cause);
  return typeof e.message === 'string' ? e.message : String(error);
}

class GrpcSession {
  constructor(
    readonly h2: http2.ClientHttp2Session,
    readonly slot: number,
    readonly socket: net.Socket | undefined,
  ) {}

  usable(): boolean {
    return !this.h2.closed && !this.h2.destroyed && !this.goaway;
  }

  goaway = false;
  goawayLastStreamId = 0;

  release(): void {
    this.h2.destroy();
    this.socket?.destroy();
  }
}

class GrpcTransport implements Transport {
  readonly headers: http2.OutgoingHttpHeaders;
  readonly body: Buffer;
  readonly url: URL;
  readonly tls: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly maxMessageBytes: number;
  readonly health: boolean;
  private readonly tlsOptions: tls.ConnectionOptions;
  private readonly perSession: number;
  private readonly shared: Array<GrpcSession | undefined> = [];
  private readonly sessions = new Set<GrpcSession>();
  private readonly connections = new Set<GrpcConnection>();
  private created = 0;
  private sweeper: NodeJS.Timeout | undefined;
  address: string | undefined;
  closed = false;

  constructor(template: GrpcCallTemplate) {
    this.url = new URL(template.url);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') throw usageError(`unsupported gRPC URL ${this.url.href}`);
    this.tls = this.url.protocol === 'https:';
    this.hostname = this.url.hostname.startsWith('[') ? this.url.hostname.slice(1, -1) : this.url.hostname;
    this.port = this.url.port === '' ? (this.tls ? 443 : 80) : Number(this.url.port);
    this.headers = grpcRequestHeaders(template, this.url);
    this.body = frameMessage(template.message, template.compression);
    this.timeoutMs = template.timeoutMs;
    this.maxMessageBytes = template.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.health = template.health === true;
    this.tlsOptions = tlsBaseOptions(this.hostname, template.insecure, template.tls);
    this.perSession = Math.max(1, Math.floor(template.streams));
    if (net.isIP(this.hostname) !== 0) this.address = this.hostname;
    if (this.timeoutMs > 0) {
      const every = Math.max(1, Math.min(Math.floor(this.timeoutMs / 10), MAX_SWEEP_MS));
      this.sweeper = setInterval(() => this.sweep(), every);
      this.sweeper.unref();
    }
  }

  newConnection(): Connection {
    const connection = new GrpcConnection(this, Math.floor(this.created++ / this.perSession));
    if (!this.closed) this.connections.add(connection);
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

  forget(connection: GrpcConnection): void {
    this.connections.delete(connection);
  }

  /** The slot's session if it can take a stream; undefined means open one. */
  usableSession(slot: number): GrpcSession | undefined {
    const existing = this.shared[slot];
    return existing !== undefined && existing.usable() ? existing : undefined;
  }

  /** Closes a slot's session gracefully (-connection-reuse): calls in flight finish. */
  closeShared(slot: number): void {
    const session = this.shared[slot];
    if (session === undefined) return;
    this.shared[slot] = undefined;
    session.h2.close();
  }

  open(slot: number): GrpcSession {
    let socket = undefined as net.Socket | undefined;
    const h2 = http2.connect(this.url, {
      createConnection: () => (socket = this.connectSocket()),
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
    });
    const session = new GrpcSession(h2, slot, socket);
    const retire = (): void => {
      if (this.shared[slot] === session) this.shared[slot] = undefined;
    };
    h2.on('error', retire);
    h2.on('goaway', (_code: number, lastStreamId: number) => {
      session.goaway = true;
      session.goawayLastStreamId = lastStreamId;
      retire();
    });
    h2.on('close', () => {
      retire();
      this.sessions.delete(session);
    });
    h2.on('connect', (_h2: http2.ClientHttp2Session, connected: net.Socket) => {
      if (h2.destroyed) return;
      if (this.address === undefined && connected.remoteAddress !== undefined) this.address = connected.remoteAddress;
      if (this.tls && h2.alpnProtocol !== 'h2') {
        h2.destroy(new GrpcFailure(`the server does not speak HTTP/2 over TLS (ALPN ${String(h2.alpnProtocol)}): gRPC needs h2`, 'protocol'));
      }
    });
    this.sessions.add(session);
    this.shared[slot] = session;
    return session;
  }

  private connectSocket(): net.Socket {
    const host = this.address ?? this.hostname;
    // A call is a few small frames each way: Nagle's algorithm against the peer's delayed ACK
    // would add ~40 ms to every call.
    if (!this.tls) return net.connect({ host, port: this.port, noDelay: true });
    const socket = tls.connect({ ...this.tlsOptions, host, port: this.port, ALPNProtocols: ['h2'] });
    socket.setNoDelay(true);
    return socket;
  }

  private sweep(): void {
    const now = performance.now();
    for (const connection of this.connections) connection.expireIfLate(now);
  }
}

const OWNER = Symbol('meshload.grpc.owner');
interface OwnedStream extends http2.ClientHttp2Stream {
  [OWNER]?: GrpcConnection;
}

class GrpcConnection implements Connection {
  socketsOpened = 0;
  resends = 0;
  stream: OwnedStream | undefined;
  private session: GrpcSession | undefined;
  private done: ((outcome: Outcome) => void) | undefined;
  private deadline = 0;
  private error: unknown;
  /** Resends of the call in flight. */
  private resent = 0;
  private readonly reply: GrpcReply;
  private closed = false;

  constructor(
    private readonly transport: GrpcTransport,
    private readonly slot: number,
  ) {
    this.reply = new GrpcReply(true, transport.maxMessageBytes, transport.health);
    if (transport.closed) this.closed = true;
  }

  send(done: (outcome: Outcome) => void): void {
    if (refusedSend(this.done !== undefined, this.closed, done)) return;
    const t = this.transport;
    this.done = done;
    this.resent = 0;
    this.deadline = t.timeoutMs > 0 ? performance.now() + t.timeoutMs : 0;
    this.start();
  }

  /** Opens the call's stream: its first try, or a resend of one the server did not process. */
  private start(): void {
    const t = this.transport;
    this.error = undefined;
    this.reply.reset();
    let stream: OwnedStream;
    try {
      let session = t.usableSession(this.slot);
      if (session === undefined) {
        session = t.open(this.slot);
        this.socketsOpened++;
      }
      this.session = session;
      stream = session.h2.request(t.headers, REQUEST_OPTIONS);
    } catch (error) {
      this.finish(this.reply.resetOutcome(-1, kindOf(error), oneLine(messageOf(error))), true);
      return;
    }
    stream[OWNER] = this;
    this.stream = stream;
    stream.on('response', onStreamResponse);
    stream.on('data', onStreamData);
    stream.on('trailers', onStreamTrailers);
    stream.on('end', onStreamEnd);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    stream.end(t.body);
  }

  reconnect(): void {
    this.transport.closeShared(this.slot);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.forget(this);
    if (this.done !== undefined) {
      this.cancel();
      this.finish(this.reply.resetOutcome(NGHTTP2_CANCEL, 'closed', 'connection closed by meshload while the call was in flight'), true);
    }
  }

  expireIfLate(now: number): void {
    if (this.done === undefined || this.deadline === 0 || now < this.deadline) return;
    this.cancel();
    // The client's own deadline: a socket-level timeout (cause client_timeout), reported as
    // DEADLINE_EXCEEDED the way gRPC clients report a local deadline.
    const outcome = failure('timeout', `no gRPC status within ${this.transport.timeoutMs}ms`);
    outcome.grpcStatus = GRPC_DEADLINE_EXCEEDED;
    outcome.grpcName = grpcStatusName(GRPC_DEADLINE_EXCEEDED);
    this.finish(outcome, false);
  }

  onResponse(headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number, raw: string[] | undefined): void {
    this.reply.onHeaders(headers, rawBytes(headers, raw), (flags & END_STREAM_FLAG) !== 0);
  }

  onData(chunk: Buffer): void {
    this.reply.onData(chunk);
    // A bad prefix or an oversized message: no point reading on.
    if (this.reply.frameError !== undefined) {
      this.cancel();
      this.finish(this.reply.outcome(), false);
    }
  }

  onTrailers(trailers: http2.IncomingHttpHeaders, raw: string[] | undefined): void {
    this.reply.onTrailers(trailers, rawBytes(trailers, raw));
  }

  onEnd(): void {
    // END_STREAM with a status (trailers, or trailers-only headers): the call is complete.
    if (this.reply.grpcStatus !== undefined) this.finish(this.completed(), false);
  }

  onError(error: unknown): void {
    this.error = error;
  }

  onClose(stream: OwnedStream): void {
    if (this.done === undefined || this.resentUnprocessed(stream)) return;
    const rst = stream.rstCode;
    if (this.error === undefined && (rst === undefined || rst === NGHTTP2_NO_ERROR) && this.session?.h2.destroyed !== true && this.reply.httpStatus !== 0) {
      // Ended without grpc-status: the reply says Internal.
      this.finish(this.completed(), false);
      return;
    }
    const cut = this.reply.httpStatus === 0 ? 'before the response headers' : 'before grpc-status';
    if (rst !== undefined && rst !== NGHTTP2_NO_ERROR && (this.error === undefined || (this.error as NodeError).code === 'ERR_HTTP2_STREAM_ERROR')) {
      const resent = this.resent > 0 ? ` after ${this.resent} resends` : '';
      this.finish(this.reply.resetOutcome(rst, 'reset', `stream reset by the server (RST_STREAM code ${rst}) ${cut}${resent}`), false);
      return;
    }
    if (this.error !== undefined) {
      this.finish(this.reply.resetOutcome(-1, kindOf(this.error), oneLine(messageOf(this.error))), false);
      return;
    }
    this.finish(this.reply.resetOutcome(-1, 'closed', `the connection closed ${cut}`), false);
  }

  /** The reply's outcome; a health check must also say SERVING (Fortio's grpcrunner.go Run
   * counts NOT_SERVING and the others apart, as failures). */
  private completed(): Outcome {
    const outcome = this.reply.outcome();
    if (!this.transport.health || outcome.grpcStatus !== 0) return outcome;
    let serving: number;
    try {
      serving = decodeHealthResponse(this.reply.messages[0] ?? new Uint8Array(0));
    } catch {
      serving = -1;
    }
    if (serving === HEALTH_SERVING) return outcome;
    const name = serving < 0 ? 'ERROR' : healthStatusName(serving);
    outcome.status = 503;
    outcome.grpcName = name;
    outcome.bodyPrefix = serving < 0 ? 'health check response is not a HealthCheckResponse' : `health status ${name}`;
    return outcome;
  }

  /** Sends the call again when the server did not process its stream (RFC 9113 section 8.7:
   * RST_STREAM REFUSED_STREAM, or above a GOAWAY's last stream id) before any response, at most
   * MAX_RESENDS times: grpc-go retries these transparently, so a Fortio user behind a draining
   * Envoy sees no error, and neither must meshload's. Counted in `resends`. */
  private resentUnprocessed(stream: OwnedStream): boolean {
    if (this.reply.httpStatus !== 0 || this.resent >= MAX_RESENDS) return false;
    const session = this.session;
    const id = stream.id;
    const aboveGoaway = session?.goaway === true && id !== undefined && id > session.goawayLastStreamId;
    if (!aboveGoaway && stream.rstCode !== NGHTTP2_REFUSED_STREAM) return false;
    this.resent++;
    this.resends++;
    this.stream = undefined;
    this.start();
    return true;
  }

  private cancel(): void {
    const stream = this.stream;
    if (stream === undefined) return;
    this.stream = undefined;
    if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
  }

  private finish(outcome: Outcome, deferred: boolean): void {
    const done = this.done;
    if (done === undefined) return;
    this.done = undefined;
    this.deadline = 0;
    this.stream = undefined;
    this.session = undefined;
    if (deferred) process.nextTick(done, outcome);
    else done(outcome);
  }
}

/** Uncompressed header size, as the HTTP/2 transport counts it (name + value + 4 per field). */
function rawBytes(headers: http2.IncomingHttpHeaders, raw: string[] | undefined): number {
  let bytes = 0;
  if (raw !== undefined) {
    for (let i = 0; i < raw.length; i++) bytes += (raw[i] as string).length + 2;
  } else {
    for (const name in headers) bytes += name.length + String(headers[name]).length + 4;
  }
  return bytes;
}

function ownerOf(stream: OwnedStream): GrpcConnection | undefined {
  const owner = stream[OWNER];
  return owner !== undefined && owner.stream === stream ? owner : undefined;
}

function onStreamResponse(this: OwnedStream, headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number, raw?: string[]): void {
  ownerOf(this)?.onResponse(headers, flags, raw);
}

function onStreamData(this: OwnedStream, chunk: Buffer): void {
  ownerOf(this)?.onData(chunk);
}

function onStreamTrailers(this: OwnedStream, trailers: http2.IncomingHttpHeaders, _flags: number, raw?: string[]): void {
  ownerOf(this)?.onTrailers(trailers, raw);
}

function onStreamEnd(this: OwnedStream): void {
  ownerOf(this)?.onEnd();
}

function onStreamError(this: OwnedStream, error: Error): void {
  ownerOf(this)?.onError(error);
}

function onStreamClose(this: OwnedStream): void {
  ownerOf(this)?.onClose(this);
}
