/** The truth about one gRPC call, read from its response: headers, messages, trailers or a
 * trailers-only response, or a reset. Independent of the HTTP/2 session code: it takes header
 * objects and DATA chunks from whatever layer parsed them (node:http2 today).
 *
 * Rules (PROTOCOL-HTTP2.md, http-grpc-status-mapping.md, grpc-go's http2_client.go):
 * - OK only when grpc-status is 0, HTTP is 200, content-type is application/grpc*, and the
 *   messages ended on a boundary; a unary call also needs exactly one response message;
 * - grpc-status from the trailers, or from the headers of a trailers-only response (Envoy's
 *   local replies: HTTP 200, grpc-status 14, x-envoy-overloaded: true, no body);
 * - HTTP other than 200 without grpc-status maps per http-grpc-status-mapping.md;
 * - 200 with no grpc-status anywhere is Internal (grpc-go: "server closed the stream without
 *   sending trailers").
 * The outcome's `status` is the HTTP status the gRPC status stands for (code.proto), so the
 * engine's HTTP counting never calls a failed call 2xx; `grpcStatus` is the truth. */
import { BODY_PREFIX_BYTES } from '../transport/http1-response-parser';
import { failure, oneLine } from '../transport/outcome';
import type { ErrorKind, Outcome } from '../model/outcome';
import { DEFAULT_MAX_MESSAGE_BYTES, MessageReader } from './grpc-frame';
import {
  GRPC_CANCELLED,
  GRPC_INTERNAL,
  GRPC_UNAVAILABLE,
  GRPC_UNKNOWN,
  decodeGrpcMessage,
  grpcStatusFromHttp,
  grpcStatusName,
  httpStatusForGrpc,
} from './grpc-status';

/** Header values as node:http2 (and any HPACK decoder) hands them over. */
export type ReplyHeaders = Readonly<Record<string, string | string[] | number | undefined>>;

const REFUSED_STREAM = 7;
const CANCEL = 8;

export class GrpcReply {
  httpStatus = 0;
  /** grpc-status and grpc-message as received (headers of a trailers-only response, or trailers). */
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
  headerBytes = 0;
  bodyBytes = 0;
  trailersSeen = false;
  private contentType: string | undefined;
  private viaEnvoy = false;
  private envoyOverloaded = false;
  private version: string | undefined;
  private attempt = 0;
  private clamped = false;
  /** For a non-200 HTTP answer without grpc-status: the first body bytes (Envoy's own text). */
  private bodyPrefix: string | undefined;
  private readonly reader: MessageReader;
  private readonly block = new BlockFields();

  constructor(
    private readonly unary: boolean,
    private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
    private readonly keep = false,
  ) {
    this.reader = new MessageReader(maxMessageBytes, keep, undefined);
  }

  /** Clears everything for the next call (a Connection reuses its reply). */
  reset(): void {
    this.httpStatus = 0;
    this.grpcStatus = undefined;
    this.grpcMessage = undefined;
    this.headerBytes = 0;
    this.bodyBytes = 0;
    this.trailersSeen = false;
    this.contentType = undefined;
    this.viaEnvoy = false;
    this.envoyOverloaded = false;
    this.version = undefined;
    this.attempt = 0;
    this.clamped = false;
    this.bodyPrefix = undefined;
    this.reader.reset(undefined);
    this.block.reset();
  }

  /** The messages received, when the reply keeps them (curl, reflection). */
  get messages(): readonly Buffer[] {
    return this.reader.kept;
  }

  /** Response headers. `bytes` is their size as the HTTP/2 layer measured it; `endStream`: the
   * HEADERS frame ended the stream (a trailers-only response), the only case where grpc-status
   * in the headers counts (grpc-go's operateHeaders). */
  onHeaders(headers: ReplyHeaders, bytes: number, endStream: boolean): void {
    this.readBlock(headers);
    this.onHeadersEnd(bytes, endStream);
  }

  /** One field of the header block being read, as an HPACK decoder hands it over; the block
   * ends with onHeadersEnd or onTrailersEnd. The first of repeated fields counts. */
  onField(name: string, value: string): void {
    const block = this.block;
    switch (name) {
      case ':status':
        block.status ??= value;
        break;
      case 'content-type':
        block.contentType ??= value;
        break;
      case 'server':
        block.server ??= value;
        break;
      case 'x-envoy-upstream-service-time':
        block.upstreamTime = true;
        break;
      case 'x-envoy-overloaded':
        block.overloaded ??= value;
        break;
      case 'x-version':
        block.version ??= value;
        break;
      case 'x-envoy-attempt-count':
        block.attempt ??= value;
        break;
      case 'x-meshload-clamped':
        block.clamped = true;
        break;
      case 'grpc-encoding':
        block.encoding ??= value;
        break;
      case 'grpc-status':
        block.grpcStatus ??= value;
        break;
      case 'grpc-message':
        block.grpcMessage ??= value;
        break;
    }
  }

  /** A response header block (not trailers) whose fields (onField) are all in, checked as
   * RFC 9113 8.1 wants it: 'final', 'interim' (a 1xx: the reply is cleared for the final one), or
   * what makes the response malformed (no valid :status, a 1xx ending the stream, a 101). */
  headerBlockEnded(bytes: number, endStream: boolean): 'final' | 'interim' | { malformed: string } {
    this.onHeadersEnd(bytes, endStream);
    const status = this.httpStatus;
    if (status < 100 || status > 599) return { malformed: 'no valid :status in the response headers' };
    if (status >= 200) return 'final';
    if (endStream || status === 101) return { malformed: `informational :status ${status} ending the stream` };
    this.reset();
    return 'interim';
  }

  /** The response headers' fields (onField) are all in; see onHeaders. */
  onHeadersEnd(bytes: number, endStream: boolean): void {
    const block = this.block;
    this.headerBytes = bytes;
    const status = Number(block.status);
    this.httpStatus = Number.isInteger(status) ? status : 0;
    this.contentType = block.contentType;
    const server = block.server;
    this.viaEnvoy = (server !== undefined && server.toLowerCase() === 'envoy') || block.upstreamTime;
    this.readMarkers();
    const version = block.version;
    if (version !== undefined && version !== '') this.version = version.slice(0, 64);
    const attempt = block.attempt;
    if (attempt !== undefined && /^\d{1,6}$/.test(attempt)) this.attempt = Number(attempt);
    this.clamped = block.clamped;
    const encoding = block.encoding;
    this.reader.reset(encoding === undefined || encoding === 'identity' ? undefined : encoding);
    // Trailers-only: grpc-status rides in the headers. Elsewhere it would let a server skip its
    // trailers and still look OK.
    if (endStream) this.readStatus();
    if (this.httpStatus !== 200 && this.grpcStatus === undefined) this.bodyPrefix = '';
    block.reset();
  }

  /** A DATA chunk, `chunk[start, end)`; it may be a buffer the next socket read reuses. */
  onData(chunk: Buffer, start = 0, end = chunk.length): void {
    this.bodyBytes += end - start;
    const prefix = this.bodyPrefix;
    if (prefix !== undefined) {
      if (prefix.length < BODY_PREFIX_BYTES) this.bodyPrefix = prefix + chunk.toString('latin1', start, Math.min(end, start + BODY_PREFIX_BYTES - prefix.length));
      return;
    }
    this.reader.push(chunk, start, end);
    // A unary reply with a second message is broken whatever follows (grpc-go fails it at once):
    // a server streaming messages forever must not hold the call open.
    if (this.unary && this.reader.messages > 1 && this.reader.error === undefined) this.reader.error = `a unary call got more than one response message`;
  }

  onTrailers(trailers: ReplyHeaders, bytes: number): void {
    this.readBlock(trailers);
    this.onTrailersEnd(bytes);
  }

  /** The trailers' fields (onField) are all in. */
  onTrailersEnd(bytes: number): void {
    this.trailersSeen = true;
    this.headerBytes += bytes;
    this.readMarkers();
    this.readStatus();
    this.block.reset();
  }

  /** A frame error makes further DATA pointless: the caller may cancel the stream. */
  get frameError(): string | undefined {
    return this.reader.error;
  }

  /** The outcome of a stream that ended cleanly (END_STREAM received). */
  outcome(): Outcome {
    let code: number;
    let message: string | undefined;
    const http = this.httpStatus;
    const type = this.contentType;
    if (http !== 200) {
      // A grpc-status next to a non-200 is trusted only when not OK.
      code = this.grpcStatus !== undefined && this.grpcStatus !== 0 ? this.grpcStatus : grpcStatusFromHttp(http);
      message = this.grpcMessage ?? `HTTP status ${http} from a gRPC call`;
    } else if (type === undefined || !(type === 'application/grpc' || type.startsWith('application/grpc+') || type.startsWith('application/grpc;'))) {
      code = GRPC_UNKNOWN;
      message = `HTTP 200 with content-type ${type === undefined ? '(none)' : JSON.stringify(type.slice(0, 60))}: not a gRPC response`;
    } else if (this.reader.error !== undefined) {
      code = GRPC_INTERNAL;
      message = this.reader.error;
    } else if (this.grpcStatus === undefined) {
      code = GRPC_INTERNAL;
      message = 'the server closed the stream without sending grpc-status (no trailers)';
    } else if (!this.reader.atBoundary()) {
      code = GRPC_INTERNAL;
      message = 'the response ended inside a gRPC message (truncated)';
    } else if (this.grpcStatus === 0 && this.unary && this.reader.messages !== 1) {
      code = GRPC_INTERNAL;
      message = `a unary call got ${this.reader.messages} response messages, not 1`;
    } else {
      code = this.grpcStatus;
      message = this.grpcMessage;
    }
    return {
      status: httpStatusForGrpc(code),
      errorKind: undefined,
      errorMessage: undefined,
      headerBytes: this.headerBytes,
      bodyBytes: this.bodyBytes,
      viaEnvoy: this.viaEnvoy,
      envoyOverloaded: this.envoyOverloaded,
      // Envoy keeps its local reply's text in grpc-message: the failure causes read it here.
      bodyPrefix: code === 0 ? undefined : this.bodyPrefix !== undefined && this.bodyPrefix !== '' ? this.bodyPrefix : message?.slice(0, BODY_PREFIX_BYTES),
      version: this.version,
      attempt: this.attempt,
      clamped: this.clamped,
      grpcStatus: code,
      grpcName: grpcStatusName(code),
    };
  }

  /** The outcome of a stream reset (RST_STREAM) or a connection failure (`rstCode` -1) before
   * the call ended: a socket-level failure, with the status a gRPC client reports for it
   * (grpc-go: REFUSED_STREAM and transport failures are Unavailable, CANCEL is Canceled, any
   * other code Internal). */
  resetOutcome(rstCode: number, kind: ErrorKind, message: string): Outcome {
    const outcome = failure(kind, message);
    outcome.grpcStatus = rstCode === REFUSED_STREAM || rstCode === -1 ? GRPC_UNAVAILABLE : rstCode === CANCEL ? GRPC_CANCELLED : GRPC_INTERNAL;
    outcome.grpcName = grpcStatusName(outcome.grpcStatus);
    outcome.headerBytes = this.headerBytes;
    outcome.bodyBytes = this.bodyBytes;
    return outcome;
  }

  /** One line describing the call's end, for curl and logs. */
  describe(outcome: Outcome): string {
    const code = outcome.grpcStatus ?? GRPC_UNKNOWN;
    const text = outcome.bodyPrefix;
    return oneLine(`gRPC status ${code} ${grpcStatusName(code)}${text !== undefined && text !== '' ? `: ${text}` : ''}`);
  }

  /** A header object, field by field, as an HPACK decoder would hand it over. */
  private readBlock(headers: ReplyHeaders): void {
    this.block.reset();
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const one of value) this.onField(name, one);
      else this.onField(name, String(value));
    }
  }

  private readMarkers(): void {
    const overloaded = this.block.overloaded;
    if (overloaded !== undefined && overloaded.toLowerCase() === 'true') this.envoyOverloaded = true;
  }

  private readStatus(): void {
    const status = this.block.grpcStatus;
    if (status === undefined) return;
    // A grpc-status that is not a small number is not a status: the call failed as Unknown.
    this.grpcStatus = /^\d{1,3}$/.test(status.trim()) ? Number(status.trim()) : GRPC_UNKNOWN;
    const message = this.block.grpcMessage;
    this.grpcMessage = message === undefined ? (/^\d{1,3}$/.test(status.trim()) ? undefined : `grpc-status ${JSON.stringify(status.slice(0, 20))} is not a number`) : oneLine(decodeGrpcMessage(message.slice(0, 1024)));
  }
}

/** The fields of one header block that a reply reads; reused, so a call allocates no object. */
class BlockFields {
  status: string | undefined;
  contentType: string | undefined;
  server: string | undefined;
  upstreamTime = false;
  overloaded: string | undefined;
  version: string | undefined;
  attempt: string | undefined;
  clamped = false;
  encoding: string | undefined;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;

  reset(): void {
    this.status = undefined;
    this.contentType = undefined;
    this.server = undefined;
    this.upstreamTime = false;
    this.overloaded = undefined;
    this.version = undefined;
    this.attempt = undefined;
    this.clamped = false;
    this.encoding = undefined;
    this.grpcStatus = undefined;
    this.grpcMessage = undefined;
  }
}
