/** HPACK (RFC 7541): the static table, a dynamic table, a decoder for response header blocks
 * and an encoder for request header blocks. Strings are latin1: a byte per character, as on
 * the wire. */
import { huffmanDecode, huffmanEncode, huffmanLength } from './huffman';

/** RFC 7541 Appendix A: index i + 1 is STATIC[i]. */
export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length;
/** First static index of each name, and of each name + value. */
const STATIC_NAME = new Map<string, number>();
const STATIC_FIELD = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
  if (value !== '') STATIC_FIELD.set(`${name}\0${value}`, i + 1);
});

/** An entry's size counts 32 octets of overhead (RFC 7541 4.1). */
export const ENTRY_OVERHEAD = 32;
export const DEFAULT_TABLE_SIZE = 4096;

/** The dynamic table: newest first (index 0), evicting the oldest to stay within `maxSize`. A
 * ring, so adding is O(1): servers such as nginx index a fresh Date with every response. */
export class DynamicTable {
  private ringNames: string[] = [];
  private ringValues: string[] = [];
  /** Ring slot of the newest entry, and the entry count. */
  private head = 0;
  private count = 0;
  size = 0;
  /** Bumped on every change: an encoded block that only references entries stays valid while
   * this is unchanged. */
  version = 0;

  constructor(public maxSize = DEFAULT_TABLE_SIZE) {}

  get length(): number {
    return this.count;
  }

  /** Entry i (0: newest), or undefined. */
  nameAt(i: number): string | undefined {
    return i >= 0 && i < this.count ? this.ringNames[(this.head + i) % this.ringNames.length] : undefined;
  }

  valueAt(i: number): string | undefined {
    return i >= 0 && i < this.count ? this.ringValues[(this.head + i) % this.ringValues.length] : undefined;
  }

  /** Newest first, for tests and the encoder's look-ups. */
  get names(): string[] {
    return Array.from({ length: this.count }, (_, i) => this.nameAt(i) as string);
  }

  get values(): string[] {
    return Array.from({ length: this.count }, (_, i) => this.valueAt(i) as string);
  }

  add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.version++;
    // An entry larger than the table empties it and is not added (RFC 7541 4.4).
    if (size > this.maxSize) {
      this.count = 0;
      this.size = 0;
      return;
    }
    this.evict(this.maxSize - size);
    // Every entry takes at least 32 bytes, so maxSize / 32 slots always suffice.
    const capacity = Math.floor(this.maxSize / ENTRY_OVERHEAD) + 1;
    if (this.ringNames.length < capacity) this.grow(capacity);
    const slots = this.ringNames.length;
    this.head = (this.head - 1 + slots) % slots;
    this.ringNames[this.head] = name;
    this.ringValues[this.head] = value;
    this.count++;
    this.size += size;
  }

  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.version++;
    this.evict(maxSize);
  }

  private grow(capacity: number): void {
    const names = this.names;
    const values = this.values;
    this.ringNames = new Array<string>(capacity);
    this.ringValues = new Array<string>(capacity);
    for (let i = 0; i < names.length; i++) {
      this.ringNames[i] = names[i] as string;
      this.ringValues[i] = values[i] as string;
    }
    this.head = 0;
  }

  private evict(limit: number): void {
    while (this.size > limit && this.count > 0) {
      const last = (this.head + this.count - 1) % this.ringNames.length;
      this.size -= (this.ringNames[last] as string).length + (this.ringValues[last] as string).length + ENTRY_OVERHEAD;
      this.count--;
    }
  }
}

/** Receives the fields of a decoded block, in order. */
export interface HeaderSink {
  onField(name: string, value: string): void;
}

/** Why a header block could not be decoded: a COMPRESSION_ERROR for the connection. */
export class HpackError extends Error {}

/** Decodes header blocks of one connection direction (RFC 7541 3 and 6). */
export class HpackDecoder {
  readonly table: DynamicTable;
  /** Total decoded header list size (name + value + 32 per field) of the last block. */
  listSize = 0;

  constructor(
    /** SETTINGS_HEADER_TABLE_SIZE we advertised: size updates may not exceed it. */
    private readonly maxTableSize = DEFAULT_TABLE_SIZE,
  ) {
    this.table = new DynamicTable(maxTableSize);
  }

  /** Decodes a complete block (HEADERS + CONTINUATION payloads joined); throws HpackError.
   * Every field reaches `sink`; the caller bounds the list by `listSize` afterwards (the
   * dynamic table must be updated whatever the size, so the block is always decoded whole). */
  decode(block: Buffer, sink: HeaderSink, start = 0, end = block.length): void {
    const table = this.table;
    let at = start;
    let listSize = 0;
    let fieldSeen = false;
    while (at < end) {
      const first = block[at] as number;
      let name: string;
      let value: string;
      if (first & 0x80) {
        // Indexed field (6.1).
        const index = readInt(block, at, 7, end);
        at = cursor;
        name = this.name(index);
        value = this.value(index);
      } else if ((first & 0xe0) === 0x20) {
        // Dynamic table size update (6.3): only before the first field.
        const size = readInt(block, at, 5, end);
        at = cursor;
        if (fieldSeen) throw new HpackError('dynamic table size update after a header field');
        if (size > this.maxTableSize) throw new HpackError(`dynamic table size update to ${size} above the ${this.maxTableSize} allowed`);
        table.resize(size);
        continue;
      } else {
        // Literal with incremental indexing (6.2.1, 6 bits), without indexing or never
        // indexed (6.2.2, 6.2.3, 4 bits).
        const indexing = (first & 0xc0) === 0x40;
        const index = readInt(block, at, indexing ? 6 : 4, end);
        at = cursor;
        if (index === 0) {
          name = readString(block, at, end);
          at = cursor;
        } else {
          name = this.name(index);
        }
        value = readString(block, at, end);
        at = cursor;
        if (indexing) table.add(name, value);
      }
      fieldSeen = true;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      sink.onField(name, value);
    }
    this.listSize = listSize;
  }

  private name(index: number): string {
    if (index >= 1 && index <= STATIC_COUNT) return (STATIC_TABLE[index - 1] as readonly [string, string])[0];
    const name = this.table.nameAt(index - STATIC_COUNT - 1);
    if (name === undefined) throw new HpackError(`header index ${index} is not in the table`);
    return name;
  }

  private value(index: number): string {
    if (index >= 1 && index <= STATIC_COUNT) return (STATIC_TABLE[index - 1] as readonly [string, string])[1];
    const value = this.table.valueAt(index - STATIC_COUNT - 1);
    if (value === undefined) throw new HpackError(`header index ${index} is not in the table`);
    return value;
  }
}

/** Integers above this are refused: no header block needs them, and they stay exact. */
const MAX_INTEGER = 2 ** 31;

/** Where the last readInt or readString stopped: the decoder's cursor without a tuple per read. */
let cursor = 0;

/** Reads a prefixed integer (RFC 7541 5.1) at `at`: [value, next offset]. */
export function readInteger(block: Buffer, at: number, prefixBits: number, end = block.length): [number, number] {
  const value = readInt(block, at, prefixBits, end);
  return [value, cursor];
}

function readInt(block: Buffer, at: number, prefixBits: number, end: number): number {
  const mask = (1 << prefixBits) - 1;
  let value = (block[at] as number) & mask;
  at++;
  if (value < mask) {
    cursor = at;
    return value;
  }
  let shift = 1;
  for (;;) {
    if (at >= end) throw new HpackError('header block ends inside an integer');
    const byte = block[at++] as number;
    value += (byte & 0x7f) * shift;
    if (value > MAX_INTEGER) throw new HpackError('integer in header block too large');
    if ((byte & 0x80) === 0) {
      cursor = at;
      return value;
    }
    shift *= 128;
  }
}

/** Decoded strings by their encoded bytes: servers repeat the same literals response after
 * response (nginx re-sends Server, Content-Type, Last-Modified, ETag as Huffman literals), and
 * looking one up costs less than decoding it and building a string. Direct-mapped and
 * bounded: CACHE_SLOTS entries of at most MAX_CACHED_BYTES. */
const CACHE_SLOTS = 512;
const MAX_CACHED_BYTES = 64;
/** Per slot: a Huffman flag byte, then the encoded bytes. */
const cacheKeys: Array<Buffer | undefined> = new Array<Buffer | undefined>(CACHE_SLOTS);
const cacheTexts: string[] = new Array<string>(CACHE_SLOTS);

function readString(block: Buffer, at: number, blockEnd: number): string {
  if (at >= blockEnd) throw new HpackError('header block ends before a string');
  const huffman = ((block[at] as number) & 0x80) !== 0;
  const length = readInt(block, at, 7, blockEnd);
  const start = cursor;
  const end = start + length;
  if (end > blockEnd) throw new HpackError('string longer than the header block');
  cursor = end;
  if (length === 0) return '';
  if (length > MAX_CACHED_BYTES) return decodeString(block, start, end, huffman);
  // FNV-1a over the flag and the bytes.
  let hash = huffman ? 0x050c5d1f : 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ (block[i] as number), 16777619);
  const slot = (hash >>> 0) & (CACHE_SLOTS - 1);
  const key = cacheKeys[slot];
  if (key !== undefined && key.length === length + 1 && key[0] === (huffman ? 1 : 0)) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (key[i + 1] !== block[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cacheTexts[slot] as string;
  }
  const text = decodeString(block, start, end, huffman);
  const copy = Buffer.allocUnsafe(length + 1);
  copy[0] = huffman ? 1 : 0;
  block.copy(copy, 1, start, end);
  cacheKeys[slot] = copy;
  cacheTexts[slot] = text;
  return text;
}

function decodeString(block: Buffer, start: number, end: number, huffman: boolean): string {
  if (!huffman) return block.toString('latin1', start, end);
  const text = huffmanDecode(block, start, end);
  if (text === 'eos') throw new HpackError('Huffman string holds EOS');
  if (text === 'padding') throw new HpackError('Huffman string badly padded');
  return text;
}

/** How the encoder represents one field (RFC 7541 6.2). */
export type Indexing = 'index' | 'no-index' | 'never';
export type HuffmanPolicy = 'always' | 'never' | 'shorter';

/** Names whose values are secrets: sent as never-indexed literals (RFC 7541 7.1.3), so no
 * intermediary keeps them in a table. */
const SENSITIVE = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** Encodes header blocks of one connection direction. */
export class HpackEncoder {
  readonly table: DynamicTable;
  /** A table size change to announce at the start of the next block. */
  private pendingSizeUpdate: number | undefined;

  constructor(
    private readonly huffman: HuffmanPolicy = 'shorter',
    tableSize = DEFAULT_TABLE_SIZE,
    /** Names whose values change per request (a :path with {uuid}): literals without indexing,
     * so they do not evict the constant fields from the table each time. */
    private readonly unindexed?: ReadonlySet<string>,
  ) {
    this.table = new DynamicTable(tableSize);
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE: we use at most that much, announced in the next block. */
  setMaxTableSize(size: number): void {
    const use = Math.min(size, DEFAULT_TABLE_SIZE);
    if (use === this.table.maxSize && this.pendingSizeUpdate === undefined) return;
    this.table.resize(use);
    this.pendingSizeUpdate = use;
  }

  /** Encodes fields (names lower-case) into one block. `indexing` decides per field: by default
   * everything is indexed except secrets (never indexed) and the `unindexed` names. */
  encode(fields: ReadonlyArray<readonly [string, string]>, indexing?: (name: string) => Indexing): Buffer {
    const parts: Buffer[] = [];
    if (this.pendingSizeUpdate !== undefined) {
      parts.push(integer(this.pendingSizeUpdate, 5, 0x20));
      this.pendingSizeUpdate = undefined;
    }
    for (const [name, value] of fields) {
      const mode = indexing !== undefined ? indexing(name) : SENSITIVE.has(name) ? 'never' : this.unindexed?.has(name) === true ? 'no-index' : 'index';
      parts.push(this.field(name, value, mode));
    }
    return Buffer.concat(parts);
  }

  private field(name: string, value: string, mode: Indexing): Buffer {
    if (mode !== 'never') {
      const exact = STATIC_FIELD.get(`${name}\0${value}`) ?? this.dynamicIndex(name, value);
      if (exact !== undefined) return integer(exact, 7, 0x80);
    }
    const nameIndex = STATIC_NAME.get(name) ?? this.dynamicNameIndex(name) ?? 0;
    const [prefixBits, flag] = mode === 'index' ? [6, 0x40] : mode === 'never' ? [4, 0x10] : [4, 0x00];
    const parts = [integer(nameIndex, prefixBits, flag)];
    if (nameIndex === 0) parts.push(this.string(name));
    parts.push(this.string(value));
    if (mode === 'index') this.table.add(name, value);
    return Buffer.concat(parts);
  }

  private dynamicIndex(name: string, value: string): number | undefined {
    const table = this.table;
    for (let i = 0; i < table.length; i++) if (table.nameAt(i) === name && table.valueAt(i) === value) return STATIC_COUNT + 1 + i;
    return undefined;
  }

  private dynamicNameIndex(name: string): number | undefined {
    const table = this.table;
    for (let i = 0; i < table.length; i++) if (table.nameAt(i) === name) return STATIC_COUNT + 1 + i;
    return undefined;
  }

  private string(text: string): Buffer {
    const packed = huffmanLength(text);
    const useHuffman = this.huffman === 'always' || (this.huffman === 'shorter' && packed < text.length);
    if (!useHuffman) return Buffer.concat([integer(text.length, 7, 0), Buffer.from(text, 'latin1')]);
    const head = integer(packed, 7, 0x80);
    const out = Buffer.allocUnsafe(head.length + packed);
    head.copy(out, 0);
    huffmanEncode(text, out, head.length);
    return out;
  }
}

/** A prefixed integer (RFC 7541 5.1) with `flags` in the first byte's high bits. */
export function integer(value: number, prefixBits: number, flags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const bytes = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
