// Over 600 lines as one concept: one byte-at-a-time HTTP/1.1 response state machine whose head, body and chunk states share the same cursor and result fields on every byte.
/** An incremental HTTP/1.1 response parser on Buffers, for the load path: it reads only the
 * few headers that decide framing, connection reuse and mesh evidence, and never turns a
 * response into a string (only a short error-body prefix). Pure: no I/O, no timers.
 *
 * Use: set `headRequest`, call `execute(data, start, end)` with each chunk as it arrives; it
 * stops after one complete response (`complete`), at a protocol error (`error`), or at the
 * end of the data. At EOF call `finish()`: it completes a close-delimited body. The result
 * fields describe the last complete response until the next `execute` starts a new one. */

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const SEMICOLON = 0x3b;
const COMMA = 0x2c;

/** Status line plus headers (or trailers); Node's own limit is 16 KiB, Envoy's 60 KiB. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** The header cap as people say it, for messages. */
const MAX_HEADER_TEXT = `${MAX_HEADER_BYTES / 1024} KiB`;
/** Hostile bytes quoted in an error message, at most; messages stay one short line. */
const QUOTED_BYTES = 32;
/** Longest x-version value kept. */
const MAX_VERSION_BYTES = 64;
/** Bytes of an error body kept to classify it (Envoy's short reason texts fit easily). */
export const BODY_PREFIX_BYTES = 256;
/** A chunk-size line longer than this (size plus extensions) is an attack or garbage. */
const MAX_CHUNK_LINE_BYTES = 4096;
/** Sizes beyond this lose integer precision in a double. */
const MAX_SAFE_SIZE = Number.MAX_SAFE_INTEGER;

// Parser states.
const S_START = 0; // nothing of a response consumed yet
const S_HEAD = 1; // in the status line or the header section
const S_BODY_LENGTH = 2;
const S_BODY_CLOSE = 3; // body runs to EOF
const S_CHUNK_SIZE = 4; // hex digits of a chunk-size line
const S_CHUNK_EXT = 5; // after the size: extensions or whitespace, up to LF
const S_CHUNK_DATA = 6;
const S_CHUNK_DATA_CR = 7; // the CRLF after chunk data
const S_CHUNK_DATA_LF = 8;
const S_TRAILER_LINE_START = 9;
const S_TRAILER_LINE = 10;
const S_TRAILER_END_LF = 11; // CR of the empty line that ends the trailers seen
const S_DONE = 12;
const S_ERROR = 13;

// Header names the parser reads, lower case; a byte b matches letter c when (b | 0x20) === c.
const H_CONTENT_LENGTH = bytes('content-length');
const H_TRANSFER_ENCODING = bytes('transfer-encoding');
const H_CONNECTION = bytes('connection');
const H_SERVER = bytes('server');
const H_UPSTREAM_TIME = bytes('x-envoy-upstream-service-time');
const H_OVERLOADED = bytes('x-envoy-overloaded');
const H_VERSION = bytes('x-version');
const H_ATTEMPT_COUNT = bytes('x-envoy-attempt-count');
const H_CLAMPED = bytes('x-meshload-clamped');
const V_CHUNKED = bytes('chunked');
const V_CLOSE = bytes('close');
const V_KEEP_ALIVE = bytes('keep-alive');
const V_ENVOY = bytes('envoy');
const V_TRUE = bytes('true');

function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** A complete response as plain data (tests and logs; the transport reads the fields). */
export interface ParsedResponse {
  status: number;
  headerBytes: number;
  bodyBytes: number;
  /** The server asked to close, or the body was delimited by the close. */
  shouldClose: boolean;
  viaEnvoy: boolean;
  envoyOverloaded: boolean;
  bodyPrefix: string | undefined;
  version: string | undefined;
  attempt: number;
}

export class Http1ResponseParser {
  /** The response answers a HEAD request: it has no body whatever its headers say. */
  headRequest = false;

  // The last complete response (valid while `complete`).
  status = 0;
  headerBytes = 0;
  bodyBytes = 0;
  shouldClose = false;
  viaEnvoy = false;
  envoyOverloaded = false;
  bodyPrefix: string | undefined = undefined;
  /** `x-version` (meshload server -version-tag): which subset answered. */
  version: string | undefined = undefined;
  /** `x-envoy-attempt-count` echoed by the upstream; 0 when absent. */
  attempt = 0;
  /** `x-meshload-clamped` was present (not in `response()`: read by the transport). */
  clamped = false;
  /** Set when `execute` or `finish` stopped on a protocol violation; sticky until `reset`. */
  error: string | undefined = undefined;

  private state = S_START;
  /** A header line split across chunks, gathered here; grown on demand up to
   * MAX_HEADER_BYTES so that thousands of idle parsers stay small. */
  private line: Buffer = Buffer.allocUnsafe(0);
  private lineLength = 0;
  /** Head bytes of the 1xx interim responses skipped so far: they count toward the cap, or an
   * endless stream of `100 Continue` would never end. */
  private interimBytes = 0;
  private sawStatusLine = false;
  private http10 = false;
  private closeToken = false;
  private keepAliveToken = false;
  /** -1: no Content-Length header. */
  private contentLength = -1;
  private hasTransferEncoding = false;
  private chunked = false;
  /** Bytes left in a Content-Length body or in the current chunk. */
  private remaining = 0;
  private chunkSizeDigits = 0;
  private chunkLineBytes = 0;
  private trailerBytes = 0;
  private readonly prefix = Buffer.allocUnsafe(BODY_PREFIX_BYTES);
  private prefixLength = 0;
  private keepPrefix = false;

  /** True after a whole response was parsed and before the next `execute` starts another. */
  get complete(): boolean {
    return this.state === S_DONE;
  }

  /** True when no byte of a response has been consumed since the last complete one. */
  get idle(): boolean {
    return this.state === S_START || this.state === S_DONE;
  }

  /** Forgets everything, for a new socket. */
  reset(): void {
    this.state = S_START;
    this.error = undefined;
    this.lineLength = 0;
  }

  /** Parses data[start, end). Returns the offset it stopped at: after a complete response,
   * at an error, or `end`. Never throws. */
  execute(data: Uint8Array, start = 0, end = data.length): number {
    if (this.state === S_ERROR) return start;
    if (this.state === S_DONE) this.state = S_START;
    let i = start;
    while (i < end) {
      switch (this.state) {
        case S_START:
          this.beginResponse();
          this.state = S_HEAD;
          break;
        case S_HEAD: {
          const lf = data.indexOf(LF, i);
          if (lf < 0 || lf >= end) {
            if (!this.appendLine(data, i, end)) return i;
            this.headerBytes += end - i;
            return end;
          }
          this.headerBytes += lf + 1 - i;
          if (this.headerBytes + this.interimBytes > MAX_HEADER_BYTES) return this.fail(`response headers exceed ${MAX_HEADER_TEXT}`, i);
          if (this.lineLength > 0) {
            if (!this.appendLine(data, i, lf + 1)) return i;
            this.headLine(this.line, 0, this.lineLength - 1);
            this.lineLength = 0;
          } else {
            this.headLine(data, i, lf);
          }
          i = lf + 1;
          if (this.headEnded()) return i;
          break;
        }
        case S_BODY_LENGTH: {
          const take = Math.min(this.remaining, end - i);
          this.body(data, i, take);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) return this.done(i);
          break;
        }
        case S_BODY_CLOSE:
          this.body(data, i, end - i);
          return end;
        case S_CHUNK_SIZE: {
          const c = data[i] as number;
          const digit = hexValue(c);
          if (digit >= 0) {
            if (this.remaining > (MAX_SAFE_SIZE - digit) / 16) return this.fail('chunk size too large', i);
            this.remaining = this.remaining * 16 + digit;
            this.chunkSizeDigits++;
          } else if (this.chunkSizeDigits === 0) {
            return this.fail('invalid chunk size', i);
          } else if (c === SEMICOLON || c === SP || c === HTAB || c === CR) {
            this.state = S_CHUNK_EXT;
          } else if (c === LF) {
            this.chunkSizeLineDone();
          } else {
            return this.fail('invalid chunk size', i);
          }
          i++;
          if (++this.chunkLineBytes > MAX_CHUNK_LINE_BYTES) return this.fail(`chunk size line exceeds ${MAX_CHUNK_LINE_BYTES} bytes`, i);
          break;
        }
        case S_CHUNK_EXT: {
          const lf = data.indexOf(LF, i);
          const stop = lf < 0 || lf >= end ? end : lf;
          this.chunkLineBytes += stop - i;
          if (this.chunkLineBytes > MAX_CHUNK_LINE_BYTES) return this.fail(`chunk size line exceeds ${MAX_CHUNK_LINE_BYTES} bytes`, i);
          i = stop;
          if (stop < end) {
            i++;
            this.chunkSizeLineDone();
          }
          break;
        }
        case S_CHUNK_DATA: {
          const take = Math.min(this.remaining, end - i);
          this.body(data, i, take);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = S_CHUNK_DATA_CR;
          break;
        }
        case S_CHUNK_DATA_CR: {
          const c = data[i++] as number;
          if (c === CR) this.state = S_CHUNK_DATA_LF;
          else if (c === LF) this.startChunkSizeLine();
          else return this.fail('chunk data not followed by CRLF', i - 1);
          break;
        }
        case S_CHUNK_DATA_LF:
          if (data[i++] !== LF) return this.fail('chunk data not followed by CRLF', i - 1);
          this.startChunkSizeLine();
          break;
        case S_TRAILER_LINE_START: {
          const c = data[i++] as number;
          if (c === LF) return this.done(i);
          this.state = c === CR ? S_TRAILER_END_LF : S_TRAILER_LINE;
          break;
        }
        case S_TRAILER_END_LF:
          if (data[i++] !== LF) return this.fail('invalid end of trailers', i - 1);
          return this.done(i);
        case S_TRAILER_LINE: {
          const lf = data.indexOf(LF, i);
          const stop = lf < 0 || lf >= end ? end : lf + 1;
          this.trailerBytes += stop - i;
          if (this.trailerBytes > MAX_HEADER_BYTES) return this.fail(`response trailers exceed ${MAX_HEADER_TEXT}`, i);
          i = stop;
          if (lf >= 0 && lf < end) this.state = S_TRAILER_LINE_START;
          break;
        }
        default:
          return i;
      }
    }
    return i;
  }

  /** The connection reached EOF. Returns true when that completed a response (a body
   * delimited by the close); sets `error` when a response was cut short; false otherwise. */
  finish(): boolean {
    if (this.state === S_BODY_CLOSE) {
      this.done(0);
      return true;
    }
    if (this.state !== S_START && this.state !== S_DONE && this.state !== S_ERROR) {
      this.fail('connection closed before the response was complete', 0);
    }
    return false;
  }

  /** A copy of the last complete response as plain data. */
  response(): ParsedResponse {
    return {
      status: this.status,
      headerBytes: this.headerBytes,
      bodyBytes: this.bodyBytes,
      shouldClose: this.shouldClose,
      viaEnvoy: this.viaEnvoy,
      envoyOverloaded: this.envoyOverloaded,
      bodyPrefix: this.bodyPrefix,
      version: this.version,
      attempt: this.attempt,
    };
  }

  /** After a head line: the response completed or failed (a method, so TS does not keep the
   * state narrowed from the enclosing switch). */
  private headEnded(): boolean {
    return this.state === S_DONE || this.state === S_ERROR;
  }

  private beginResponse(): void {
    this.status = 0;
    this.headerBytes = 0;
    this.bodyBytes = 0;
    this.shouldClose = false;
    this.viaEnvoy = false;
    this.envoyOverloaded = false;
    this.bodyPrefix = undefined;
    this.version = undefined;
    this.attempt = 0;
    this.clamped = false;
    this.interimBytes = 0;
    this.beginHead();
  }

  /** Per header section: a 1xx interim response starts a new one. */
  private beginHead(): void {
    this.sawStatusLine = false;
    this.http10 = false;
    this.closeToken = false;
    this.keepAliveToken = false;
    this.contentLength = -1;
    this.hasTransferEncoding = false;
    this.chunked = false;
    this.lineLength = 0;
  }

  private appendLine(data: Uint8Array, from: number, to: number): boolean {
    const length = to - from;
    if (this.lineLength + length > MAX_HEADER_BYTES) {
      this.fail(`response headers exceed ${MAX_HEADER_TEXT}`, from);
      return false;
    }
    if (this.lineLength + length > this.line.length) {
      const grown = Buffer.allocUnsafe(Math.min(MAX_HEADER_BYTES, Math.max(256, 2 * (this.lineLength + length))));
      this.line.copy(grown, 0, 0, this.lineLength);
      this.line = grown;
    }
    this.line.set(data.subarray(from, to), this.lineLength);
    this.lineLength += length;
    return true;
  }

  /** One line of the head, [from, lf) without its LF (a CR before it is dropped here). */
  private headLine(buf: Uint8Array, from: number, lf: number): void {
    let to = lf;
    if (to > from && buf[to - 1] === CR) to--;
    if (!this.sawStatusLine) {
      this.statusLine(buf, from, to);
      return;
    }
    if (to === from) {
      this.endOfHead();
      return;
    }
    const first = buf[from] as number;
    // Obsolete line folding continues the previous header; none of the ones read here fold.
    if (first === SP || first === HTAB) return;
    const colon = indexOfByte(buf, COLON, from, to);
    if (colon <= from) {
      this.fail(`invalid header line ${quoteBytes(buf, from, to)}`, from);
      return;
    }
    const nameLength = colon - from;
    let v = colon + 1;
    while (v < to && isOws(buf[v] as number)) v++;
    let ve = to;
    while (ve > v && isOws(buf[ve - 1] as number)) ve--;
    // Dispatch on length first: most headers are rejected by one comparison.
    switch (nameLength) {
      case 14:
        if (nameIs(buf, from, H_CONTENT_LENGTH)) this.contentLengthValue(buf, v, ve);
        break;
      case 17:
        if (nameIs(buf, from, H_TRANSFER_ENCODING)) {
          this.hasTransferEncoding = true;
          this.chunked = lastTokenIs(buf, v, ve, V_CHUNKED);
        }
        break;
      case 10:
        if (nameIs(buf, from, H_CONNECTION)) this.connectionValue(buf, v, ve);
        break;
      case 6:
        if (nameIs(buf, from, H_SERVER) && ve - v === V_ENVOY.length && nameIs(buf, v, V_ENVOY)) this.viaEnvoy = true;
        break;
      case 29:
        if (nameIs(buf, from, H_UPSTREAM_TIME)) this.viaEnvoy = true;
        break;
      case 18:
        if (nameIs(buf, from, H_OVERLOADED) && ve - v === V_TRUE.length && nameIs(buf, v, V_TRUE)) this.envoyOverloaded = true;
        else if (nameIs(buf, from, H_CLAMPED)) this.clamped = true;
        break;
      case 9:
        // Bounded: a tag is a short subset name, and a hostile value must not grow memory.
        if (nameIs(buf, from, H_VERSION) && ve > v) this.version = latin1(buf, v, Math.min(ve, v + MAX_VERSION_BYTES));
        break;
      case 21:
        if (nameIs(buf, from, H_ATTEMPT_COUNT)) this.attempt = smallInteger(buf, v, ve);
        break;
    }
  }

  /** `HTTP/1.x SSS[ reason]`. */
  private statusLine(buf: Uint8Array, from: number, to: number): void {
    const ok =
      to - from >= 12 &&
      buf[from] === 0x48 && // H
      buf[from + 1] === 0x54 && // T
      buf[from + 2] === 0x54 && // T
      buf[from + 3] === 0x50 && // P
      buf[from + 4] === 0x2f && // /
      buf[from + 5] === 0x31 && // 1
      buf[from + 6] === 0x2e && // .
      isDigit(buf[from + 7] as number) &&
      buf[from + 8] === SP &&
      isDigit(buf[from + 9] as number) &&
      isDigit(buf[from + 10] as number) &&
      isDigit(buf[from + 11] as number) &&
      (to - from === 12 || buf[from + 12] === SP);
    const status = ok ? ((buf[from + 9] as number) - 0x30) * 100 + ((buf[from + 10] as number) - 0x30) * 10 + ((buf[from + 11] as number) - 0x30) : 0;
    if (status < 100) {
      this.fail(`invalid status line ${quoteBytes(buf, from, to)}`, from);
      return;
    }
    this.http10 = buf[from + 7] === 0x30;
    this.status = status;
    this.sawStatusLine = true;
  }

  private contentLengthValue(buf: Uint8Array, from: number, to: number): void {
    if (from === to) {
      this.fail('invalid Content-Length ""', from);
      return;
    }
    let value = 0;
    for (let i = from; i < to; i++) {
      const c = buf[i] as number;
      if (!isDigit(c) || value > (MAX_SAFE_SIZE - 9) / 10) {
        this.fail(`invalid Content-Length ${quoteBytes(buf, from, to)}`, from);
        return;
      }
      value = value * 10 + (c - 0x30);
    }
    // Repeated identical values are allowed (RFC 9110 8.6); differing ones smuggle.
    if (this.contentLength >= 0 && this.contentLength !== value) {
      this.fail('conflicting Content-Length headers', from);
      return;
    }
    this.contentLength = value;
  }

  private connectionValue(buf: Uint8Array, from: number, to: number): void {
    let t = from;
    while (t < to) {
      let e = indexOfByte(buf, COMMA, t, to);
      if (e < 0) e = to;
      let a = t;
      let b = e;
      while (a < b && isOws(buf[a] as number)) a++;
      while (b > a && isOws(buf[b - 1] as number)) b--;
      if (b - a === V_CLOSE.length && nameIs(buf, a, V_CLOSE)) this.closeToken = true;
      else if (b - a === V_KEEP_ALIVE.length && nameIs(buf, a, V_KEEP_ALIVE)) this.keepAliveToken = true;
      t = e + 1;
    }
  }

  /** The empty line: decide how the body is framed (RFC 9112 6.3). */
  private endOfHead(): void {
    const status = this.status;
    if (status < 200) {
      // 101 would switch protocols, which meshload never asks for.
      if (status === 101) {
        this.fail('unexpected 101 Switching Protocols', 0);
        return;
      }
      // Interim (100 Continue, 103 Early Hints): skipped, its bytes not reported.
      this.interimBytes += this.headerBytes;
      this.headerBytes = 0;
      this.viaEnvoy = false;
      this.envoyOverloaded = false;
      this.version = undefined;
      this.attempt = 0;
      this.clamped = false;
      this.beginHead();
      return;
    }
    this.shouldClose = this.closeToken || (this.http10 && !this.keepAliveToken);
    this.keepPrefix = status >= 400;
    this.prefixLength = 0;
    if (this.headRequest || status === 204 || status === 304) {
      this.done(0);
    } else if (this.hasTransferEncoding) {
      if (this.chunked) {
        this.startChunkSizeLine();
      } else {
        // Transfer-Encoding without chunked last: only the close ends the body.
        this.state = S_BODY_CLOSE;
        this.shouldClose = true;
      }
    } else if (this.contentLength >= 0) {
      this.remaining = this.contentLength;
      if (this.remaining === 0) this.done(0);
      else this.state = S_BODY_LENGTH;
    } else {
      this.state = S_BODY_CLOSE;
      this.shouldClose = true;
    }
  }

  private startChunkSizeLine(): void {
    this.state = S_CHUNK_SIZE;
    this.remaining = 0;
    this.chunkSizeDigits = 0;
    this.chunkLineBytes = 0;
  }

  private chunkSizeLineDone(): void {
    if (this.remaining === 0) {
      this.state = S_TRAILER_LINE_START;
      this.trailerBytes = 0;
    } else {
      this.state = S_CHUNK_DATA;
    }
  }

  private body(data: Uint8Array, from: number, length: number): void {
    this.bodyBytes += length;
    if (this.keepPrefix && this.prefixLength < BODY_PREFIX_BYTES) {
      const take = Math.min(length, BODY_PREFIX_BYTES - this.prefixLength);
      this.prefix.set(data.subarray(from, from + take), this.prefixLength);
      this.prefixLength += take;
    }
  }

  private done(at: number): number {
    if (this.keepPrefix) this.bodyPrefix = this.prefix.toString('latin1', 0, this.prefixLength);
    this.keepPrefix = false;
    this.state = S_DONE;
    return at;
  }

  private fail(message: string, at: number): number {
    this.error = message;
    this.state = S_ERROR;
    return at;
  }
}

/** Hostile bytes for a one-line message: quoted, printable ASCII as is, every other byte (and
 * the quote and backslash) escaped, cut after QUOTED_BYTES with "...". */
export function quoteBytes(buf: Uint8Array, from: number, to: number): string {
  const stop = Math.min(to, from + QUOTED_BYTES);
  let text = '"';
  for (let i = from; i < stop; i++) {
    const c = buf[i] as number;
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) text += String.fromCharCode(c);
    else text += `\\x${c < 16 ? '0' : ''}${c.toString(16)}`;
  }
  return text + (stop < to ? '"...' : '"');
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/** Header bytes as text for reports: latin1, with control bytes (C0, DEL, C1) escaped as \xNN
 * so a hostile value cannot drive the terminal that shows it. */
function latin1(buf: Uint8Array, from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) {
    const c = buf[i] as number;
    text += c < 0x20 || (c >= 0x7f && c < 0xa0) ? `\\x${c < 16 ? '0' : ''}${c.toString(16)}` : String.fromCharCode(c);
  }
  return text;
}

/** A decimal of up to 6 digits; 0 when the value is anything else (an attempt count is small). */
function smallInteger(buf: Uint8Array, from: number, to: number): number {
  if (to <= from || to - from > 6) return 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) return 0;
    n = n * 10 + d;
  }
  return n;
}

/** Whether buf at `at` holds `name` (lower-case letters, digits and '-'), ignoring case. */
function nameIs(buf: Uint8Array, at: number, name: Uint8Array): boolean {
  for (let k = 0; k < name.length; k++) {
    const c = name[k] as number;
    const b = buf[at + k] as number;
    // Only letters fold: (b | 0x20) would also map CR to '-'.
    if (b !== c && (c < 0x61 || (b | 0x20) !== c)) return false;
  }
  return true;
}

/** Whether the last comma-separated token of [from, to) is `token` (RFC 9112 6.3: chunked
 * must be the final transfer coding). */
function lastTokenIs(buf: Uint8Array, from: number, to: number, token: Uint8Array): boolean {
  let b = to;
  while (b > from && isOws(buf[b - 1] as number)) b--;
  let a = b;
  while (a > from && buf[a - 1] !== COMMA) a--;
  while (a < b && isOws(buf[a] as number)) a++;
  return b - a === token.length && nameIs(buf, a, token);
}

function indexOfByte(buf: Uint8Array, byte: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] === byte) return i;
  return -1;
}
