/** HPACK's static Huffman code (RFC 7541 Appendix B). The code is canonical, so the table is
 * only each symbol's code length; the codes follow from the lengths (RFC 7541 5.2). */

/** Code lengths in bits of bytes 0..255 and of EOS (256), from RFC 7541 Appendix B. */
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8,
  11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22,
  22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24,
  21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21,
  26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27,
  27, 28, 27, 27, 27, 27, 27, 26, 30,
];
const EOS = 256;

/** Code of each symbol, right-aligned. */
const CODES = new Uint32Array(257);

(function assignCodes(): void {
  const order = Array.from({ length: 257 }, (_, s) => s).sort((a, b) => (LENGTHS[a] as number) - (LENGTHS[b] as number) || a - b);
  let code = 0;
  let previous = LENGTHS[order[0] as number] as number;
  order.forEach((symbol, i) => {
    const length = LENGTHS[symbol] as number;
    if (i > 0) code = (code + 1) * 2 ** (length - previous);
    previous = length;
    CODES[symbol] = code;
  });
})();

/** Decoding reads 4 bits at a time through a state machine over the code tree's 256 inner
 * nodes (as nghttp2 does): each (state, nibble) gives the next state and at most one symbol,
 * since no code is shorter than 5 bits. Entry: next state | (symbol + 1) << 8 | FAIL. */
const FAIL = 1 << 20;
const TRANSITIONS = new Int32Array(256 * 16);
/** A state where the string may end: the bits since the last symbol are at most 7 ones. */
const ACCEPTING = new Uint8Array(256);

(function buildDecoder(): void {
  // The tree: inner nodes 0..255 (0 is the root), children as node ids or ~symbol for leaves.
  const children: Array<[number, number]> = [[0, 0]];
  const depth = [0];
  const allOnes = [true];
  for (let symbol = 0; symbol < 257; symbol++) {
    const length = LENGTHS[symbol] as number;
    const code = CODES[symbol] as number;
    let node = 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      const b = Math.floor(code / 2 ** bit) & 1;
      const pair = children[node] as [number, number];
      if (bit === 0) {
        pair[b] = ~symbol;
      } else {
        if (pair[b] === 0) {
          children.push([0, 0]);
          depth.push((depth[node] as number) + 1);
          allOnes.push((allOnes[node] as boolean) && b === 1);
          pair[b] = children.length - 1;
        }
        node = pair[b] as number;
      }
    }
  }
  for (let state = 0; state < children.length; state++) {
    ACCEPTING[state] = (depth[state] as number) <= 7 && (allOnes[state] as boolean) ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const next = (children[node] as [number, number])[(nibble >> bit) & 1] as number;
        if (next < 0) {
          const symbol = ~next;
          if (symbol === EOS) entry |= FAIL;
          else entry |= (symbol + 1) << 8;
          node = 0;
        } else {
          node = next;
        }
      }
      TRANSITIONS[state * 16 + nibble] = entry | node;
    }
  }
})();

/** Bytes the Huffman encoding of `text` (latin1) takes. */
export function huffmanLength(text: string): number {
  let bits = 0;
  for (let i = 0; i < text.length; i++) bits += LENGTHS[text.charCodeAt(i) & 0xff] as number;
  return Math.ceil(bits / 8);
}

/** Writes the Huffman encoding of `text` (latin1) at `offset`, padded with EOS's leading ones;
 * returns the offset after it. `out` must hold huffmanLength(text) bytes from offset. */
export function huffmanEncode(text: string, out: Buffer, offset: number): number {
  // Pending bits as a number below 2^38 (at most 7 left over plus a 30-bit code): exact in a double.
  let pending = 0;
  let count = 0;
  let at = offset;
  for (let i = 0; i < text.length; i++) {
    const symbol = text.charCodeAt(i) & 0xff;
    const length = LENGTHS[symbol] as number;
    pending = pending * 2 ** length + (CODES[symbol] as number);
    count += length;
    while (count >= 8) {
      count -= 8;
      const divisor = 2 ** count;
      out[at++] = Math.floor(pending / divisor) & 0xff;
      pending %= divisor;
    }
  }
  if (count > 0) out[at++] = ((pending << (8 - count)) | (0xff >> count)) & 0xff;
  return at;
}

/** Why a Huffman string is not valid (RFC 7541 5.2), or undefined. */
export type HuffmanError = 'eos' | 'padding';

/** Scratch for decoded bytes: a header string is bounded by the header list size limit. */
let scratch = Buffer.allocUnsafe(4096);

/** Decodes `input[start, end)` into a latin1 string; a string, or the error it has: EOS inside
 * the string, padding longer than 7 bits or not all ones. */
export function huffmanDecode(input: Buffer, start: number, end: number): string | HuffmanError {
  // Every byte decodes to at most 8 / 5 symbols.
  const most = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < most) scratch = Buffer.allocUnsafe(most);
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = input[i] as number;
    let entry = TRANSITIONS[state * 16 + (byte >> 4)] as number;
    if (entry & FAIL) return 'eos';
    if (entry & 0x1ff00) out[n++] = ((entry >> 8) & 0x1ff) - 1;
    state = entry & 0xff;
    entry = TRANSITIONS[state * 16 + (byte & 0x0f)] as number;
    if (entry & FAIL) return 'eos';
    if (entry & 0x1ff00) out[n++] = ((entry >> 8) & 0x1ff) - 1;
    state = entry & 0xff;
  }
  if (ACCEPTING[state] !== 1) return 'padding';
  return out.toString('latin1', 0, n);
}
