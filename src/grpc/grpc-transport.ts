/** meshload's gRPC client transport: unary calls over meshload's own HTTP/2 framing
 * (../transport/h2-wire; h2c prior knowledge, or TLS with ALPN h2), not node:http2, whose
 * internals and garbage dominated the profile (issue 16). Fortio's -s: `streams` Connections
 * share one session (HTTP/2 connection), so `-c 2 -s 4` is 8 calls in flight on 2 connections,
 * as Fortio's grpcrunner dials one connection per `Streams` threads.
 *
 * The message layer (grpc-reply.ts, grpc-frame.ts) sees header fields and DATA chunks. Per
 * call: the header block is encoded once per session and reused (all indexed after the first),
 * the pre-framed message goes out with END_STREAM in the same write, and one reused H2Stream and
 * GrpcReply read the answer; no closures or objects per call. Streams the server did not process
 * (REFUSED_STREAM, above a GOAWAY's last stream id) are sent again, at most MAX_RESENDS times. */
import type http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { ErrorKind, Outcome } from '../model/outcome';
import { H2_ERROR } from '../transport/h2-wire/frames';
import { H2Stream, H2WireSession, type SessionOwner, type StreamEnd, type StreamHandler } from '../transport/h2-wire/session';
import { failure, oneLine, refusedSend } from '../transport/outcome';
import { startSweeper, tlsBaseOptions, type Connection, type Transport } from '../transport/transport';
import type { TlsClientOptions } from '../model/load-plan';
import { meshloadVersion } from '../util/version';
import { usageError } from '../util/errors';
import { DEFAULT_MAX_MESSAGE_BYTES, frameMessage } from './grpc-frame';
import { decodeHealthResponse, HEALTH_SERVING, healthStatusName } from './builtin-messages';
import { GrpcReply } from './grpc-reply';
import { GRPC_DEADLINE_EXCEEDED, grpcStatusName } from './grpc-status';
import { SessionSlots } from '../transport/h2-wire/session-slots';

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
  /** -unix-socket: every session dials this path (Fortio's grpcrunner Dial); :authority and
   * the TLS SNI stay the URL's host. */
  unixSocket?: string;
}

/** Metadata a user cannot set: HTTP/2 pseudo-headers, connection headers and the gRPC
 * protocol's own (PROTOCOL-HTTP2.md reserves grpc-*). */
const RESERVED = /^(:|connection$|keep-alive$|proxy-connection$|transfer-encoding$|upgrade$|te$|content-type$|grpc-)/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const READ_BUFFER_BYTES = 64 * 1024;
/** A session whose call timed out must acknowledge a PING within the timeout, and at least
 * this long, or be destroyed (a dead peer looks alive to TCP). */
const MIN_PROBE_MS = 1000;
/** Resends of one call the server did not process, before it fails (as the HTTP/2 transport). */
export const MAX_RESENDS = 2;

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

/** The request headers as HTTP/2 fields in order, pseudo-headers first. */
export function grpcRequestFields(template: Pick<GrpcCallTemplate, 'path' | 'metadata' | 'compression'>, url: URL): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(grpcRequestHeaders(template, url))) {
    if (Array.isArray(value)) for (const one of value) fields.push([name, String(one)]);
    else if (value !== undefined) fields.push([name, String(value)]);
  }
  return fields;
}

export function createGrpcTransport(template: GrpcCallTemplate): Transport {
  return new GrpcTransport(template);
}

/** Where a plain socket's reads go, set once its session exists (the socket is made first). */
interface ReadTarget {
  session: H2WireSession | undefined;
}

class GrpcTransport implements Transport, SessionOwner {
  readonly fields: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  readonly tls: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly maxMessageBytes: number;
  readonly health: boolean;
  private readonly tlsOptions: tls.ConnectionOptions;
  private readonly perSession: number;
  private readonly unixSocket: string | undefined;
  private readonly sessions = new SessionSlots();
  private readonly connections = new Set<GrpcConnection>();
  private created = 0;
  private sweeper: NodeJS.Timeout | undefined;
  /** The address the first session connected to, reused by later ones (one DNS lookup). */
  private address: string | undefined;
  /** Reads of plain sockets land here, one buffer for all the transport's sockets: each read is
   * parsed at once and what outlives it is copied, so no Buffer is allocated per read. */
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  closed = false;

  constructor(template: GrpcCallTemplate) {
    const url = new URL(template.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`unsupported gRPC URL ${url.href}`);
    this.tls = url.protocol === 'https:';
    this.hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? (this.tls ? 443 : 80) : Number(url.port);
    this.fields = grpcRequestFields(template, url);
    this.body = frameMessage(template.message, template.compression);
    this.timeoutMs = template.timeoutMs;
    this.maxMessageBytes = template.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.health = template.health === true;
    this.tlsOptions = tlsBaseOptions(this.hostname, template.insecure, template.tls);
    this.perSession = Math.max(1, Math.floor(template.streams));
    this.unixSocket = template.unixSocket;
    if (net.isIP(this.hostname) !== 0) this.address = this.hostname;
    this.sweeper = startSweeper(this.timeoutMs, () => this.sweep());
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
    this.sessions.destroyAll();
  }

  forget(connection: GrpcConnection): void {
    this.connections.delete(connection);
  }

  /** The slot's session if it can take a stream; undefined means open one. */
  usableSession(slot: number): H2WireSession | undefined {
    return this.sessions.usable(slot);
  }

  /** Closes a slot's session gracefully (-connection-reuse): calls in flight finish. */
  closeShared(slot: number): void {
    this.sessions.shutdown(slot);
  }

  /** Opens the slot's session. Throws on options Node rejects (a bad port); socket errors
   * arrive as stream failures. */
  open(slot: number): H2WireSession {
    const reader: ReadTarget = { session: undefined };
    const session = new H2WireSession(this.connectSocket(reader), this, { tls: this.tls, readsFed: !this.tls });
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

  private connectSocket(reader: ReadTarget): net.Socket {
    const target = this.unixSocket !== undefined ? { path: this.unixSocket } : { host: this.address ?? this.hostname, port: this.port };
    let socket: net.Socket;
    if (!this.tls) {
      socket = net.connect({
        ...target,
        onread: {
          buffer: this.readBuffer,
          callback: (length: number, buffer: Uint8Array): boolean => {
            // Calls answered in this read send their next call at once: corked, all of them
            // leave in one writev, and the server reads them in one go.
            const session = reader.session;
            if (session === undefined) return true;
            session.socket.cork();
            try {
              session.onBytes(buffer as Buffer, length);
            } finally {
              session.socket.uncork();
            }
            return true;
          },
        },
      });
    } else {
      // gRPC needs h2; offering http/1.1 too lets an HTTP/1.1-only server finish the handshake
      // so the session can say so, rather than fail it with a no_application_protocol alert.
      socket = tls.connect({ ...this.tlsOptions, ...target, ALPNProtocols: ['h2', 'http/1.1'] });
    }
    if (this.unixSocket === undefined) {
      socket.once(this.tls ? 'secureConnect' : 'connect', () => {
        if (this.address === undefined && socket.remoteAddress !== undefined) this.address = socket.remoteAddress;
      });
    }
    return socket;
  }

  private sweep(): void {
    const now = performance.now();
    for (const connection of this.connections) connection.expireIfLate(now);
  }
}

class GrpcConnection implements Connection, StreamHandler {
  socketsOpened = 0;
  resends = 0;
  private readonly stream = new H2Stream(this);
  private readonly reply: GrpcReply;
  /** The session of the call in flight. */
  private session: H2WireSession | undefined;
  private done: ((outcome: Outcome) => void) | undefined;
  private deadline = 0;
  /** The final (non-1xx) response headers arrived: later fields are trailers. */
  private headersDone = false;
  /** Uncompressed size of the block being read (name + value + 4 per field, as -h2 counts). */
  private blockBytes = 0;
  /** Resends of the call in flight. */
  private resent = 0;
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
    this.reply.reset();
    this.headersDone = false;
    this.blockBytes = 0;
    let session = t.usableSession(this.slot);
    if (session === undefined) {
      try {
        session = t.open(this.slot);
      } catch (error) {
        // Synchronous throws (a port Node rejects); `done` stays asynchronous.
        this.finish(this.reply.resetOutcome(-1, 'other', oneLine(error instanceof Error ? error.message : String(error))), true);
        return;
      }
      this.socketsOpened++;
    }
    this.session = session;
    session.request(this.stream, t.fields, t.body, true);
  }

  reconnect(): void {
    this.transport.closeShared(this.slot);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.forget(this);
    if (this.done !== undefined) {
      this.cancel(H2_ERROR.CANCEL);
      this.finish(this.reply.resetOutcome(H2_ERROR.CANCEL, 'closed', 'connection closed by meshload while the call was in flight'), true);
    }
  }

  expireIfLate(now: number): void {
    if (this.done === undefined || this.deadline === 0 || now < this.deadline) return;
    const session = this.session;
    this.cancel(H2_ERROR.CANCEL);
    // The client's own deadline: a socket-level timeout (cause client_timeout), reported as
    // DEADLINE_EXCEEDED the way gRPC clients report a local deadline.
    const message = `no gRPC status within ${this.transport.timeoutMs}ms`;
    const outcome = failure('timeout', message);
    outcome.grpcStatus = GRPC_DEADLINE_EXCEEDED;
    outcome.grpcName = grpcStatusName(GRPC_DEADLINE_EXCEEDED);
    this.finish(outcome, false);
    if (session === undefined || session.destroyed) return;
    // A session that never connected or never acknowledged our SETTINGS serves nobody: drop it
    // so the next call dials again; a live-looking one must answer a PING.
    if (!session.ready || !session.settingsAcked) session.destroy('timeout', `${!session.ready ? 'session not connected' : 'no SETTINGS acknowledgement from the server'}: ${message}`);
    else session.probe(Math.max(this.transport.timeoutMs, MIN_PROBE_MS));
  }

  // StreamHandler: the hot path.
  onField(name: string, value: string): void {
    this.blockBytes += name.length + value.length + 4;
    this.reply.onField(name, value);
  }

  onHeaders(stream: H2Stream, endStream: boolean): void {
    const bytes = this.blockBytes;
    this.blockBytes = 0;
    if (stream !== this.stream || this.done === undefined) return;
    if (this.headersDone) {
      // Trailers must end the stream (RFC 9113 8.1).
      if (!endStream) return this.malformed('trailers without END_STREAM');
      this.reply.onTrailersEnd(bytes);
      this.finish(this.completed(), false);
      return;
    }
    const verdict = this.reply.headerBlockEnded(bytes, endStream);
    if (verdict === 'interim') return;
    if (verdict !== 'final') return this.malformed(verdict.malformed);
    this.headersDone = true;
    // A trailers-only response (grpc-status in the headers) is the whole call.
    if (endStream) this.finish(this.completed(), false);
  }

  onData(stream: H2Stream, data: Buffer, start: number, end: number, endStream: boolean): void {
    if (stream !== this.stream || this.done === undefined) return;
    if (end > start) {
      this.reply.onData(data, start, end);
      // A bad prefix or an oversized message: no point reading on.
      if (this.reply.frameError !== undefined) {
        if (!endStream) this.cancel(H2_ERROR.CANCEL);
        this.finish(this.reply.outcome(), false);
        return;
      }
    }
    // END_STREAM on DATA: no trailers, so no grpc-status: the reply says Internal.
    if (endStream) this.finish(this.completed(), false);
  }

  onFailed(stream: H2Stream, end: StreamEnd, code: number, kind: ErrorKind, message: string, unprocessed: boolean): void {
    if (stream !== this.stream || this.done === undefined) return;
    // RFC 9113 8.7: a stream the server did not process is safe to send again; grpc-go retries
    // these transparently, so a Fortio user behind a draining Envoy sees no error. Counted.
    if (unprocessed && (end === 'goaway' || end === 'reset') && this.reply.httpStatus === 0 && this.resent < MAX_RESENDS) {
      this.resent++;
      this.resends++;
      this.start();
      return;
    }
    const cut = this.reply.httpStatus === 0 ? 'before the response headers' : 'before grpc-status';
    const resent = this.resent > 0 ? ` after ${this.resent} resends` : '';
    switch (end) {
      case 'reset':
        // RST_STREAM NO_ERROR after the response headers: the server is done; the reply says
        // what the call got (Internal without grpc-status).
        if (code === H2_ERROR.NO_ERROR && this.reply.httpStatus !== 0) {
          this.finish(this.completed(), false);
          return;
        }
        this.finish(this.reply.resetOutcome(code, 'reset', `stream reset by the server (RST_STREAM code ${code}) ${cut}${resent}`), false);
        return;
      case 'goaway':
        this.finish(this.reply.resetOutcome(-1, kind, oneLine(unprocessed ? `${message}: not processed${resent}` : `${message} ${cut}`)), false);
        return;
      case 'closed':
        this.finish(this.reply.resetOutcome(-1, 'closed', `the connection closed ${cut}`), false);
        return;
      default:
        // A stream error of ours (a malformed response) carries its RST_STREAM code: Internal,
        // as grpc-go; a failed connection (code 0) is Unavailable.
        this.finish(this.reply.resetOutcome(code !== H2_ERROR.NO_ERROR ? code : -1, kind, oneLine(message)), false);
    }
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

  /** A response HTTP/2 forbids: the stream is reset with PROTOCOL_ERROR. */
  private malformed(why: string): void {
    this.cancel(H2_ERROR.PROTOCOL_ERROR);
    this.finish(this.reply.resetOutcome(H2_ERROR.PROTOCOL_ERROR, 'protocol', `malformed response: ${why}`), false);
  }

  /** RST_STREAM for the call in flight; later frames for it are ignored. */
  private cancel(code: number): void {
    const session = this.session;
    if (session !== undefined && this.stream.active) session.cancel(this.stream, code);
  }

  /** Clears the call's state before calling back: `done` may send again at once. */
  private finish(outcome: Outcome, deferred: boolean): void {
    const done = this.done;
    if (done === undefined) return;
    this.done = undefined;
    this.deadline = 0;
    this.session = undefined;
    if (deferred) process.nextTick(done, outcome);
    else done(outcome);
  }
}
