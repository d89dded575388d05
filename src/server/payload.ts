/** Response bodies for `size=N`: slices of one buffer of printable bytes, grown on demand, so a
 * sized response costs no allocation. Gzipped forms are cached per size for `gzip=true`. */
import { gzipSync } from 'node:zlib';

const GZIP_CACHE_LIMIT = 32;

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
