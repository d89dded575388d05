// Over 600 lines as one concept: JSON's grammar and Envoy's document share per-character state (depth, capture), so parting them would add a call per token.
/** Streaming parser for Envoy's `/stats?format=json`. One pass over the characters with a small
 * state machine, whatever the chunking: Envoy writes the whole document on one line, so anything
 * that searches the rest of the text per entry (for the next newline, the next key) is quadratic
 * on it. Only the small values it needs (an entry's name and value, one computed histogram) are
 * cut out and given to JSON.parse; everything else is validated and dropped as it streams.
 * Envoy buffers all histograms into one trailing `{"histograms": ...}` entry (stats_render.cc). */

import { StatsParseError, type Quantile, type StatSample } from '../stat-sample';

const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const OPEN_BRACKET = 91;
const BACKSLASH = 92;
const CLOSE_BRACKET = 93;
const E_LOWER = 101;
const E_UPPER = 69;
const U_LOWER = 117;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const BOM = 0xfeff;

/** What the scanner expects next between tokens. */
const enum Expect {
  Value,
  /** Just after `[`: a value or `]`. */
  ValueOrClose,
  Key,
  /** Just after `{`: a key or `}`. */
  KeyOrClose,
  Colon,
  /** After a value inside a container: `,` or its close. */
  Next,
  End,
}

/** The token being read, when a chunk ends inside one. */
const enum Token {
  None,
  String,
  Number,
  Literal,
}

/** Number grammar (RFC 8259 section 6), one state per position. */
const enum Num {
  Minus,
  Zero,
  Int,
  Dot,
  Frac,
  Exp,
  ExpSign,
  ExpDigits,
}

/** What a container is, in Envoy's document. */
const enum Role {
  Root,
  Stats,
  Entry,
  Histograms,
  Computed,
  /** Inside a value that is validated and dropped, or cut out whole. */
  Other,
}

/** Where a cut-out value goes. */
const enum Target {
  Drop,
  EntryName,
  EntryValue,
  EntryPercentiles,
  Supported,
  Computed,
}

const OBJECT = 0;
const ARRAY = 1;

const T_LOWER = 116;
const F_LOWER = 102;
const N_LOWER = 110;

/** Deep enough for any Envoy document, shallow enough that `[[[[...` cannot grow the stack. */
const MAX_DEPTH = 64;

interface Entry {
  index: number;
  name: unknown;
  value: unknown;
  hasName: boolean;
  hasValue: boolean;
  nameLine: number;
  startLine: number;
  histograms: boolean;
  percentiles: boolean;
}

interface Histograms {
  path: string;
  line: number;
  supported: number[] | undefined;
  supportedSeen: boolean;
  computedSeen: boolean;
  /** Computed entries that came before supported_quantiles (JSON keys have no order). */
  waiting: Array<{ value: unknown; index: number; line: number }>;
}

export class EnvoyJsonParser {
  private line = 1;
  private lastWasLf = false;
  private expect = Expect.Value;
  private token = Token.None;
  private num = Num.Int;
  private literal = '';
  private literalAt = 0;
  /** 0 outside an escape; 1 after `\`; 2..5 inside `\uXXXX` (hex digits still to come + 1). */
  private escape = 0;
  private readonly kinds: number[] = [];
  private readonly roles: Role[] = [];
  private readonly counts: number[] = [];
  /** The key of the member being read, where it matters (roles other than Other). */
  private key = '';
  private keyPieces: string[] | undefined;
  private keyStart = -1;
  private keyEscaped = false;
  /** The cut-out value being collected, across chunks. */
  private captureDepth = -1;
  private target = Target.Drop;
  private pieces: string[] = [];
  private captureStart = -1;
  private captureNameLine = 0;
  private captureIndex = 0;
  private statsSeen = false;
  private bomSkipped = false;
  /** The role of the container whose opening character is being read. */
  private nextRole = Role.Other;
  private entry: Entry | undefined;
  private histograms: Histograms | undefined;

  constructor(private readonly onSample: (sample: StatSample) => void) {}

  /** Lines consumed so far; a last line without a newline counts. */
  get lines(): number {
    return this.lastWasLf ? this.line - 1 : this.line;
  }

  push(chunk: string): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.token !== Token.None) {
        i = this.continueToken(chunk, i);
        continue;
      }
      const c = chunk.charCodeAt(i);
      if (c === SPACE || c === LF || c === TAB || c === CR) {
        if (c === LF) this.line++;
        this.lastWasLf = c === LF;
        i++;
        continue;
      }
      this.lastWasLf = false;
      i = this.structural(chunk, i, c);
    }
    if (this.captureStart !== -1) {
      this.pieces.push(chunk.slice(this.captureStart));
      this.captureStart = 0;
    }
    if (this.keyStart !== -1) {
      (this.keyPieces ??= []).push(chunk.slice(this.keyStart));
      this.keyStart = 0;
    }
  }

  end(): void {
    if (this.token === Token.Number && this.numberCanEnd()) {
      this.token = Token.None;
      this.scalarDone('', 0);
    }
    if (this.expect !== Expect.End || this.token !== Token.None) this.syntax('Unexpected end of JSON input');
    if (!this.statsSeen) throw new StatsParseError(1, 'expected a JSON object {"stats":[...]} (Envoy /stats?format=json)');
  }

  // ---- tokens -----------------------------------------------------------------------------------

  /** A character outside any token: punctuation or the start of a token. Returns the next index. */
  private structural(chunk: string, i: number, c: number): number {
    switch (this.expect) {
      case Expect.Colon:
        if (c !== COLON) this.unexpected(c);
        this.expect = Expect.Value;
        return i + 1;
      case Expect.Next: {
        const kind = this.kinds[this.kinds.length - 1];
        if (c === COMMA) {
          this.expect = kind === OBJECT ? Expect.Key : Expect.Value;
          return i + 1;
        }
        if ((c === CLOSE_BRACE && kind === OBJECT) || (c === CLOSE_BRACKET && kind === ARRAY)) return this.close(chunk, i);
        return this.unexpected(c);
      }
      case Expect.KeyOrClose:
      case Expect.Key:
        if (c === CLOSE_BRACE && this.expect === Expect.KeyOrClose) return this.close(chunk, i);
        if (c !== QUOTE) return this.unexpected(c);
        this.beginKey(i);
        this.token = Token.String;
        return i + 1;
      case Expect.ValueOrClose:
      case Expect.Value:
        if (c === CLOSE_BRACKET && this.expect === Expect.ValueOrClose) return this.close(chunk, i);
        return this.beginValue(chunk, i, c);
      case Expect.End:
        return this.syntax('Unexpected non-whitespace character after JSON');
    }
  }

  private beginValue(chunk: string, i: number, c: number): number {
    const isContainer = c === OPEN_BRACE || c === OPEN_BRACKET;
    if (!isContainer && c !== QUOTE && c !== MINUS && !(c >= ZERO && c <= NINE) && c !== T_LOWER && c !== F_LOWER && c !== N_LOWER) {
      // A dump saved by an editor may start with a byte order mark; detectFormat skips it too.
      if (c === BOM && this.kinds.length === 0 && !this.bomSkipped && this.line === 1) {
        this.bomSkipped = true;
        return i + 1;
      }
      return this.unexpected(c);
    }
    if (this.captureDepth === -1) this.route(c, i);
    if (isContainer) {
      if (this.kinds.length === MAX_DEPTH) this.syntax(`nesting deeper than ${MAX_DEPTH} levels (Envoy's document has 6)`);
      this.kinds.push(c === OPEN_BRACE ? OBJECT : ARRAY);
      this.roles.push(this.nextRole);
      this.counts.push(0);
      this.nextRole = Role.Other;
      this.expect = c === OPEN_BRACE ? Expect.KeyOrClose : Expect.ValueOrClose;
      return i + 1;
    }
    if (c === QUOTE) {
      this.token = Token.String;
      return i + 1;
    }
    if (c === MINUS || (c >= ZERO && c <= NINE)) {
      this.token = Token.Number;
      this.num = c === MINUS ? Num.Minus : c === ZERO ? Num.Zero : Num.Int;
      return i + 1;
    }
    this.token = Token.Literal;
    this.literal = c === T_LOWER ? 'true' : c === F_LOWER ? 'false' : 'null';
    this.literalAt = 1;
    return i + 1;
  }

  /** Decides, at the first character of a value outside any cut-out, what the value is in
   * Envoy's document: a container to walk into, a value to cut out, or one to drop. */
  private route(c: number, i: number): void {
    const depth = this.roles.length;
    const role = depth === 0 ? undefined : this.roles[depth - 1];
    const isObject = c === OPEN_BRACE;
    const isArray = c === OPEN_BRACKET;
    switch (role) {
      case undefined:
        if (!isObject) throw new StatsParseError(this.line, 'expected a JSON object {"stats":[...]} (Envoy /stats?format=json)');
        this.nextRole = Role.Root;
        return;
      case Role.Root:
        if (this.key !== 'stats') return;
        if (!isArray || this.statsSeen) throw new StatsParseError(this.line, 'expected a JSON object {"stats":[...]} with one "stats" array (Envoy /stats?format=json)');
        this.statsSeen = true;
        this.nextRole = Role.Stats;
        return;
      case Role.Stats: {
        const index = this.counts[depth - 1] ?? 0;
        if (!isObject) throw new StatsParseError(this.line, `stats[${index}]: expected an object`);
        this.entry = { index, name: undefined, value: undefined, hasName: false, hasValue: false, nameLine: 0, startLine: this.line, histograms: false, percentiles: false };
        this.nextRole = Role.Entry;
        return;
      }
      case Role.Entry: {
        const entry = this.entry as Entry;
        const key = this.key;
        if (key === 'histograms') {
          const path = `stats[${entry.index}].histograms`;
          if (!isObject || entry.histograms) {
            throw new StatsParseError(this.line, `${path}: expected {"supported_quantiles":[...],"computed_quantiles":[...]} (histogram_buckets output is not supported)`);
          }
          entry.histograms = true;
          this.histograms = { path, line: this.line, supported: undefined, supportedSeen: false, computedSeen: false, waiting: [] };
          this.nextRole = Role.Histograms;
          return;
        }
        if (key === 'name') this.startCapture(Target.EntryName, i);
        else if (key === 'value') this.startCapture(Target.EntryValue, i);
        else if (key === 'supported_percentiles') this.startCapture(Target.EntryPercentiles, i);
        return;
      }
      case Role.Histograms: {
        const h = this.histograms as Histograms;
        if (this.key === 'computed_quantiles') {
          if (!isArray || h.computedSeen) throw new StatsParseError(this.line, `${h.path}: expected {"supported_quantiles":[...],"computed_quantiles":[...]} (histogram_buckets output is not supported)`);
          h.computedSeen = true;
          this.nextRole = Role.Computed;
        } else if (this.key === 'supported_quantiles') {
          this.startCapture(Target.Supported, i);
        }
        return;
      }
      case Role.Computed:
        this.captureIndex = this.counts[depth - 1] ?? 0;
        this.startCapture(Target.Computed, i);
        return;
      case Role.Other:
        return;
    }
  }

  private startCapture(target: Target, i: number): void {
    this.target = target;
    this.captureDepth = this.roles.length;
    this.captureStart = i;
    this.captureNameLine = 0;
    this.pieces = [];
  }

  /** Reads on inside a string, number or literal; returns the next index. */
  private continueToken(chunk: string, from: number): number {
    const n = chunk.length;
    let i = from;
    if (this.token === Token.String) {
      while (i < n) {
        const c = chunk.charCodeAt(i);
        if (this.escape !== 0) {
          if (this.escape === 1) {
            if (c === U_LOWER) this.escape = 5;
            else if (c === QUOTE || c === BACKSLASH || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116) this.escape = 0;
            else return this.unexpected(c, 'in string escape');
          } else {
            if (!isHex(c)) return this.unexpected(c, 'in \\u escape');
            this.escape = this.escape === 2 ? 0 : this.escape - 1;
          }
          i++;
          continue;
        }
        if (c === QUOTE) {
          this.token = Token.None;
          this.stringDone(chunk, i + 1);
          return i + 1;
        }
        if (c === BACKSLASH) {
          this.escape = 1;
          if (this.keyStart !== -1) this.keyEscaped = true;
        } else if (c < 0x20) {
          return this.unexpected(c, 'in string');
        }
        i++;
      }
      return i;
    }
    if (this.token === Token.Literal) {
      const word = this.literal;
      while (i < n && this.literalAt < word.length) {
        if (chunk.charCodeAt(i) !== word.charCodeAt(this.literalAt)) return this.unexpected(chunk.charCodeAt(i));
        this.literalAt++;
        i++;
      }
      if (this.literalAt === word.length) {
        this.token = Token.None;
        this.scalarDone(chunk, i);
      }
      return i;
    }
    // Number: ends at the first character that cannot continue it, which is then read again.
    while (i < n) {
      const c = chunk.charCodeAt(i);
      const digit = c >= ZERO && c <= NINE;
      switch (this.num) {
        case Num.Minus:
          if (!digit) return this.unexpected(c, 'in number');
          this.num = c === ZERO ? Num.Zero : Num.Int;
          break;
        case Num.Zero:
        case Num.Int:
          if (digit && this.num === Num.Int) break;
          if (c === DOT) this.num = Num.Dot;
          else if (c === E_LOWER || c === E_UPPER) this.num = Num.Exp;
          else if (digit) return this.unexpected(c, 'in number');
          else return this.numberEnds(chunk, i);
          break;
        case Num.Dot:
          if (!digit) return this.unexpected(c, 'in number');
          this.num = Num.Frac;
          break;
        case Num.Frac:
          if (digit) break;
          if (c === E_LOWER || c === E_UPPER) this.num = Num.Exp;
          else return this.numberEnds(chunk, i);
          break;
        case Num.Exp:
          if (c === PLUS || c === MINUS) this.num = Num.ExpSign;
          else if (digit) this.num = Num.ExpDigits;
          else return this.unexpected(c, 'in number');
          break;
        case Num.ExpSign:
          if (!digit) return this.unexpected(c, 'in number');
          this.num = Num.ExpDigits;
          break;
        case Num.ExpDigits:
          if (!digit) return this.numberEnds(chunk, i);
          break;
      }
      i++;
    }
    return i;
  }

  private numberCanEnd(): boolean {
    return this.num === Num.Zero || this.num === Num.Int || this.num === Num.Frac || this.num === Num.ExpDigits;
  }

  private numberEnds(chunk: string, i: number): number {
    this.token = Token.None;
    this.scalarDone(chunk, i);
    return i;
  }

  private beginKey(i: number): void {
    const role = this.roles[this.roles.length - 1];
    // Keys matter in Envoy's own objects, and "name" at the top of a cut-out (for its line).
    if (role !== Role.Other || this.captureDepth === this.roles.length - 1) {
      this.keyStart = i + 1;
      this.keyPieces = undefined;
      this.keyEscaped = false;
    } else {
      this.keyStart = -1;
    }
    this.expect = Expect.Colon;
  }

  private stringDone(chunk: string, after: number): void {
    if (this.expect === Expect.Colon) {
      // A key ends.
      if (this.keyStart === -1) return;
      let raw = chunk.slice(this.keyStart, after - 1);
      if (this.keyPieces !== undefined) raw = this.keyPieces.join('') + raw;
      this.keyStart = -1;
      this.keyPieces = undefined;
      this.key = this.keyEscaped ? (JSON.parse(`"${raw}"`) as string) : raw;
      if (this.key !== 'name') return;
      if (this.captureDepth !== -1) this.captureNameLine = this.line;
      else if (this.roles[this.roles.length - 1] === Role.Entry) (this.entry as Entry).nameLine = this.line;
      return;
    }
    this.scalarDone(chunk, after);
  }

  /** A string, number or literal value ended just before `end`. */
  private scalarDone(chunk: string, end: number): void {
    if (this.captureDepth === this.roles.length) this.finishCapture(chunk, end);
    this.afterValue();
  }

  private close(chunk: string, i: number): number {
    const role = this.roles.pop();
    this.kinds.pop();
    this.counts.pop();
    if (this.captureDepth === this.roles.length) this.finishCapture(chunk, i + 1);
    else if (role === Role.Entry) this.entryDone();
    else if (role === Role.Histograms) this.histogramsDone();
    this.afterValue();
    return i + 1;
  }

  private afterValue(): void {
    const depth = this.counts.length;
    if (depth === 0) {
      this.expect = Expect.End;
      return;
    }
    this.counts[depth - 1] = (this.counts[depth - 1] ?? 0) + 1;
    this.expect = Expect.Next;
  }

  private finishCapture(chunk: string, end: number): void {
    this.pieces.push(chunk.slice(this.captureStart, end));
    const text = this.pieces.length === 1 ? (this.pieces[0] as string) : this.pieces.join('');
    this.pieces = [];
    this.captureStart = -1;
    this.captureDepth = -1;
    // The scanner has checked the syntax: JSON.parse cannot fail here.
    const value: unknown = JSON.parse(text);
    const entry = this.entry as Entry;
    switch (this.target) {
      case Target.EntryName:
        entry.name = value;
        entry.hasName = true;
        break;
      case Target.EntryValue:
        entry.value = value;
        entry.hasValue = true;
        break;
      case Target.EntryPercentiles:
        entry.percentiles = true;
        break;
      case Target.Supported: {
        const h = this.histograms as Histograms;
        const supported = numberArray(value);
        if (supported === undefined) throw new StatsParseError(this.line, `${h.path}.supported_quantiles: expected an array of numbers`);
        h.supported = supported;
        h.supportedSeen = true;
        for (const w of h.waiting) this.computed(w.value, w.index, w.line);
        h.waiting = [];
        break;
      }
      case Target.Computed: {
        const h = this.histograms as Histograms;
        const line = this.captureNameLine === 0 ? this.line : this.captureNameLine;
        if (h.supported === undefined) h.waiting.push({ value, index: this.captureIndex, line });
        else this.computed(value, this.captureIndex, line);
        break;
      }
      case Target.Drop:
        break;
    }
    this.target = Target.Drop;
  }

  // ---- Envoy's entries --------------------------------------------------------------------------

  private entryDone(): void {
    const entry = this.entry as Entry;
    this.entry = undefined;
    if (entry.histograms) return;
    const line = entry.hasName ? entry.nameLine : entry.startLine;
    if (entry.percentiles) {
      throw new StatsParseError(line, `stats[${entry.index}]: expected "name" and "value" (histogram_buckets output is not supported: fetch /stats?format=json without it)`);
    }
    const { name, value } = entry;
    if (typeof name !== 'string' || name.length === 0) throw new StatsParseError(line, `stats[${entry.index}]: expected a "name" string`);
    if (typeof value === 'number') {
      this.onSample({ name, labels: EMPTY_LABELS, kind: 'untyped', value, line });
    } else if (typeof value === 'string') {
      this.onSample({ name, labels: EMPTY_LABELS, kind: 'text', value: NaN, text: value, line });
    } else {
      throw new StatsParseError(line, `stats[${entry.index}] (${excerpt(name)}): expected a number or a string "value", got ${entry.hasValue ? JSON.stringify(value) : 'nothing'}`);
    }
  }

  private histogramsDone(): void {
    const h = this.histograms as Histograms;
    this.histograms = undefined;
    if (!h.computedSeen) {
      throw new StatsParseError(h.line, `${h.path}: expected {"supported_quantiles":[...],"computed_quantiles":[...]} (histogram_buckets output is not supported)`);
    }
    if (!h.supportedSeen) throw new StatsParseError(h.line, `${h.path}.supported_quantiles: expected an array of numbers`);
  }

  private computed(entry: unknown, h: number, line: number): void {
    const { path, supported } = this.histograms as Histograms & { supported: number[] };
    const where = `${path}.computed_quantiles[${h}]`;
    if (!isRecord(entry)) throw new StatsParseError(line, `${where}: expected an object`);
    const name = entry.name;
    const values: unknown = entry.values;
    if (typeof name !== 'string' || name.length === 0) throw new StatsParseError(line, `${where}: expected a "name" string`);
    if (!Array.isArray(values)) throw new StatsParseError(line, `${where} (${excerpt(name)}): expected a "values" array`);
    if (values.length !== supported.length) {
      throw new StatsParseError(line, `${where} (${excerpt(name)}): expected ${supported.length} values, one per supported quantile, got ${values.length}`);
    }
    const quantiles: Quantile[] = [];
    for (let q = 0; q < values.length; q++) {
      const v: unknown = (values as unknown[])[q];
      const interval = isRecord(v) ? quantileValue(v.interval) : undefined;
      const cumulative = isRecord(v) ? quantileValue(v.cumulative) : undefined;
      if (interval === undefined || cumulative === undefined) {
        throw new StatsParseError(line, `${where}.values[${q}] (${excerpt(name)}): expected {"interval":number|null,"cumulative":number|null}`);
      }
      quantiles.push({ percentile: supported[q] ?? NaN, interval, cumulative });
    }
    this.onSample({ name, labels: EMPTY_LABELS, kind: 'histogram', value: NaN, quantiles, line });
  }

  // ---- errors -----------------------------------------------------------------------------------

  private unexpected(c: number, where = ''): never {
    const shown = c < 0x20 || c > 0x7e ? `U+${c.toString(16).toUpperCase().padStart(4, '0')}` : `'${String.fromCharCode(c)}'`;
    return this.syntax(`Unexpected token ${shown}${where === '' ? '' : ` ${where}`}`);
  }

  private syntax(reason: string): never {
    throw new StatsParseError(this.line, `expected valid JSON: ${reason}`);
  }
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function numberArray(value: unknown): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const numbers: number[] = [];
  for (const item of value as unknown[]) {
    if (typeof item !== 'number') return undefined;
    numbers.push(item);
  }
  return numbers;
}

/** Envoy writes NaN quantiles (no samples in the interval) as null or leaves them out. */
function quantileValue(v: unknown): number | null | undefined {
  if (v === null || v === undefined) return null;
  return typeof v === 'number' ? v : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function excerpt(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
