/** One gRPC call outside a load run (reflection, `curl -grpc`) on meshload's own HTTP/2 framing,
 * as the load transport: sends its request messages, keeps the response messages (bounded) and
 * the response metadata, and settles once. Not the hot path: clarity over allocation. */
import type { ErrorKind, Outcome } from '../model/outcome';
import { openWireSession } from '../transport/h2-wire/connect';
import { H2_ERROR } from '../transport/h2-wire/frames';
import { H2Stream, type H2WireSession, type SessionOwner, type StreamEnd, type StreamHandler } from '../transport/h2-wire/session';
import { oneLine } from '../transport/outcome';
import type { TlsClientOptions } from '../model/load-plan';
import { DEFAULT_MAX_MESSAGE_BYTES, frameMessage } from './grpc-frame';
import { GrpcReply } from './grpc-reply';
import { GRPC_DEADLINE_EXCEEDED, grpcStatusName } from './grpc-status';
import { grpcRequestFields } from './grpc-transport';

export interface OneCallOptions {
  /** http://host:port or https://host:port. */
  url: string;
  path: string;
  messages: readonly Uint8Array[];
  metadata: Array<[string, string]>;
  timeoutMs: number;
  compression: boolean;
  insecure: boolean;
  tls?: TlsClientOptions;
  /** -unix-socket: dial this path instead of the URL's host and port. */
  unixSocket?: string;
  /** True for a unary method: exactly one response message is OK. */
  unary: boolean;
  maxMessageBytes?: number;
}

/** Header fields as received (names lower case); a repeated name holds its values in order. */
export type ReceivedHeaders = Record<string, string | string[]>;

export interface OneCallResult {
  outcome: Outcome;
  messages: readonly Buffer[];
  headers: ReceivedHeaders;
  trailers: ReceivedHeaders;
}

export function oneGrpcCall(options: OneCallOptions): Promise<OneCallResult> {
  return new Promise((resolve) => new OneCall(options, resolve).start());
}

class OneCall implements StreamHandler, SessionOwner {
  private readonly reply: GrpcReply;
  private readonly stream = new H2Stream(this);
  private session: H2WireSession | undefined;
  private timer: NodeJS.Timeout | undefined;
  private headers: ReceivedHeaders = {};
  private trailers: ReceivedHeaders = {};
  /** The header block being read, and its size as the load transport counts it. */
  private block: ReceivedHeaders = {};
  private blockBytes = 0;
  private headersDone = false;
  private settled = false;

  constructor(
    private readonly options: OneCallOptions,
    private readonly resolve: (result: OneCallResult) => void,
  ) {
    this.reply = new GrpcReply(options.unary, options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, true);
  }

  start(): void {
    const options = this.options;
    let session: H2WireSession;
    let fields: Array<[string, string]>;
    try {
      const url = new URL(options.url);
      fields = grpcRequestFields({ path: options.path, metadata: options.metadata, compression: options.compression }, url);
      session = openWireSession(url, this, { insecure: options.insecure, ...(options.tls !== undefined ? { tls: options.tls } : {}), ...(options.unixSocket !== undefined ? { unixSocket: options.unixSocket } : {}) });
    } catch (error) {
      this.fail('other', error instanceof Error ? error.message : String(error));
      return;
    }
    this.session = session;
    if (options.timeoutMs > 0) {
      this.timer = setTimeout(() => {
        const outcome = this.reply.resetOutcome(H2_ERROR.CANCEL, 'timeout', `no gRPC status within ${options.timeoutMs}ms`);
        outcome.grpcStatus = GRPC_DEADLINE_EXCEEDED;
        outcome.grpcName = grpcStatusName(GRPC_DEADLINE_EXCEEDED);
        this.settle(outcome);
      }, options.timeoutMs);
    }
    const body = Buffer.concat(options.messages.map((message) => frameMessage(message, options.compression)));
    session.request(this.stream, fields, body, true);
  }

  onSessionRetired(): void {
    // One call per session: nothing pools it.
  }

  onSessionClosed(): void {
    // The stream has been told already (onFailed).
  }

  onField(name: string, value: string): void {
    this.blockBytes += name.length + value.length + 4;
    const existing = this.block[name];
    if (existing === undefined) this.block[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else this.block[name] = [existing, value];
    this.reply.onField(name, value);
  }

  onHeaders(_stream: H2Stream, endStream: boolean): void {
    const block = this.block;
    const bytes = this.blockBytes;
    this.block = {};
    this.blockBytes = 0;
    if (this.settled) return;
    if (this.headersDone) {
      this.trailers = block;
      // Trailers must end the stream (RFC 9113 8.1).
      if (!endStream) return this.malformed('trailers without END_STREAM');
      this.reply.onTrailersEnd(bytes);
      this.settle(this.reply.outcome());
      return;
    }
    const verdict = this.reply.headerBlockEnded(bytes, endStream);
    if (verdict === 'interim') return;
    if (verdict !== 'final') return this.malformed(verdict.malformed);
    this.headers = block;
    this.headersDone = true;
    if (endStream) this.settle(this.reply.outcome());
  }

  onData(_stream: H2Stream, data: Buffer, start: number, end: number, endStream: boolean): void {
    if (this.settled) return;
    if (end > start) {
      this.reply.onData(data, start, end);
      if (this.reply.frameError !== undefined) {
        this.settle(this.reply.outcome());
        return;
      }
    }
    if (endStream) this.settle(this.reply.outcome());
  }

  onFailed(_stream: H2Stream, end: StreamEnd, code: number, kind: ErrorKind, message: string): void {
    if (this.settled) return;
    if (end === 'reset') {
      // RST_STREAM NO_ERROR after the headers: the server is done; the reply says what we got.
      if (code === H2_ERROR.NO_ERROR && this.reply.httpStatus !== 0) this.settle(this.reply.outcome());
      else this.fail('reset', `stream reset by the server (RST_STREAM code ${code})`, code);
      return;
    }
    if (end === 'closed') this.fail('closed', 'the connection closed before grpc-status');
    else this.fail(kind, message, code !== H2_ERROR.NO_ERROR ? code : -1);
  }

  private malformed(why: string): void {
    this.fail('protocol', `malformed response: ${why}`, H2_ERROR.PROTOCOL_ERROR);
  }

  private fail(kind: ErrorKind, message: string, rstCode = -1): void {
    this.settle(this.reply.resetOutcome(rstCode, kind, oneLine(message)));
  }

  /** Settles once; the session goes with the call (a stream still open is reset by it). */
  private settle(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.session?.destroy();
    this.resolve({ outcome, messages: this.reply.messages, headers: this.headers, trailers: this.trailers });
  }
}
