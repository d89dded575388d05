/** Response bodies for `size=N`: slices of one buffer of printable bytes, grown on demand, so a
 * sized response costs no allocation. Gzipped forms are cached per size for `gzip=true`. Sizes
 * over MAX_BUFFERED_BODY (a raised -maxpayloadsizekb allows up to 1 GiB) are streamed instead:
 * one peer asking for the cap must not make the server hold, or gzip in one go, that much. */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

const GZIP_CACHE_LIMIT = 32;
export const MAX_BUFFERED_BODY = 1024 * 1024;

export class PayloadSource {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly gzipped = new Map<number, Buffer>();

  plain(size: number): Buffer {
    if (size > this.buffer.length) this.buffer = printableBytes(Math.max(size, 64 * 1024));
    return this.buffer.subarray(0, size);
  }

  gzip(size: number): Buffer {
    let body = this.gzipped.get(size);
    if (body === undefined) {
      body = gzipSync(this.plain(size));
      if (this.gzipped.size >= GZIP_CACHE_LIMIT) this.gzipped.clear();
      this.gzipped.set(size, body);
    }
    return body;
  }

  /** `size` bytes: the MAX_BUFFERED_BODY block over and over, read as the client takes them. */
  stream(size: number): Readable {
    const block = this.plain(MAX_BUFFERED_BODY);
    let left = size;
    return new Readable({
      highWaterMark: 64 * 1024,
      read(wanted) {
        const n = Math.min(left, Math.max(wanted, 64 * 1024), block.length);
        left -= n;
        this.push(block.subarray(0, n));
        if (left === 0) this.push(null);
      },
    });
  }
}

/** Deterministic pseudo-random letters and digits (a fixed LCG), so bodies are repeatable. */
function printableBytes(size: number): Buffer {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const out = Buffer.allocUnsafe(size);
  let state = 0x2545f491;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = alphabet.charCodeAt((state >>> 16) % alphabet.length);
  }
  return out;
}
