/** gRPC length-prefixed messages (PROTOCOL-HTTP2.md "Length-Prefixed-Message"): one byte
 * compressed flag, four bytes big-endian length, the message. The reader is bounded: a length
 * over the limit is an error at once, before any of the message is buffered. */
import { gunzipSync, gzipSync } from 'node:zlib';

/** Default largest message accepted: grpc-go's and grpc-js's default receive limit (4 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const FRAME_HEADER_BYTES = 5;

/** One framed message; `gzip` compresses it and sets the flag (the call must then send
 * grpc-encoding: gzip). */
export function frameMessage(message: Uint8Array, gzip = false): Buffer {
  const body = gzip ? gzipSync(message) : message;
  const framed = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  framed[0] = gzip ? 1 : 0;
  framed.writeUInt32BE(body.length, 1);
  framed.set(body, FRAME_HEADER_BYTES);
  return framed;
}

/** Why a response's messages cannot be read, or undefined while they can. */
export type FrameError = string | undefined;

/** Reads framed messages from DATA chunks. Keeps at most one message's bytes (bounded by
 * `maxMessageBytes`); counts every message. `keep` false counts without keeping bytes (the
 * load path), true keeps the messages (curl, reflection). */
export class MessageReader {
  messages = 0;
  /** Messages in order, when kept; decompressed. */
  readonly kept: Buffer[] = [];
  error: FrameError;
  private header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** Bytes of the current message still to come; -1 while reading a header. */
  private remaining = -1;
  private compressed = false;
  private parts: Buffer[] = [];

  constructor(
    private readonly maxMessageBytes: number,
    private readonly keep: boolean,
    /** The response's grpc-encoding: a compressed message needs one we can decode. */
    private encoding: string | undefined,
  ) {}

  /** Resets for another call (the reader is reused per connection). */
  reset(encoding: string | undefined): void {
    this.encoding = encoding;
    this.messages = 0;
    this.kept.length = 0;
    this.error = undefined;
    this.headerFill = 0;
    this.remaining = -1;
    this.parts.length = 0;
  }

  /** Reads `chunk[start, end)`, which may be a buffer the next socket read reuses: bytes kept
   * past this call are copied. */
  push(chunk: Buffer, start = 0, end = chunk.length): void {
    let at = start;
    while (at < end && this.error === undefined) {
      if (this.remaining < 0) {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, end - at);
        chunk.copy(this.header, this.headerFill, at, at + take);
        this.headerFill += take;
        at += take;
        if (this.headerFill < FRAME_HEADER_BYTES) return;
        this.headerFill = 0;
        const flag = this.header[0] as number;
        const length = this.header.readUInt32BE(1);
        if (flag > 1) {
          this.error = `bad gRPC message prefix: compressed flag ${flag} (must be 0 or 1)`;
          return;
        }
        if (length > this.maxMessageBytes) {
          this.error = `gRPC message of ${length} bytes is over the ${this.maxMessageBytes}-byte limit`;
          return;
        }
        if (flag === 1 && this.encoding !== 'gzip') {
          this.error = `compressed gRPC message with grpc-encoding ${this.encoding === undefined ? '(none)' : JSON.stringify(this.encoding.slice(0, 40))}: meshload reads only gzip`;
          return;
        }
        this.compressed = flag === 1;
        this.remaining = length;
        if (length === 0) this.complete();
        continue;
      }
      const take = Math.min(this.remaining, end - at);
      if (this.keep || this.compressed) {
        const part = chunk.subarray(at, at + take);
        this.parts.push(take < this.remaining ? Buffer.from(part) : part);
      }
      at += take;
      this.remaining -= take;
      if (this.remaining === 0) this.complete();
    }
  }

  /** True when the last message ended exactly: no half header or half message pending. */
  atBoundary(): boolean {
    return this.remaining < 0 && this.headerFill === 0;
  }

  private complete(): void {
    this.remaining = -1;
    this.messages++;
    if (!this.keep && !this.compressed) return;
    const whole = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
    this.parts.length = 0;
    if (!this.compressed) {
      this.kept.push(Buffer.from(whole));
      return;
    }
    try {
      // Bounded like the compressed size: a small gzip bomb must not expand without limit.
      const plain = gunzipSync(whole, { maxOutputLength: this.maxMessageBytes });
      if (this.keep) this.kept.push(plain);
    } catch (error) {
      this.error = `gRPC message does not decompress within ${this.maxMessageBytes} bytes: ${(error as Error).message}`;
    }
  }
}
