/** Streaming parsers for proxy stats dumps: Envoy admin `/stats` text, `/stats?format=json`, and
 * Prometheus exposition text 0.0.4 (Envoy's `/stats/prometheus`, HAProxy's exporter). Pure: no
 * I/O. Text formats keep only the unfinished last line between pushes, so memory is bounded by
 * the longest line whatever the dump size; a malformed line throws `StatsParseError` naming the
 * line and what was expected there, never a silent skip. */

import { EnvoyJsonParser } from './envoy-json-parser';
import { StatsParseError, type StatKind, type StatSample, type StatsFormat } from './stat-sample';

type Quantile = { percentile: number; interval: number | null; cumulative: number | null };
type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});
const NO_RECORDED_VALUES = 'No recorded values';
const PROM_TYPES: ReadonlySet<string> = new Set<PromType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const EQUALS = 61;
const B_UPPER = 66;
const P_UPPER = 80;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

export class StatsParser {
  private rest = '';
  private lineCount = 0;
  private state: 'open' | 'ended' | 'failed' = 'open';
  /** Envoy JSON has a parser of its own: the document is one line, so there is no line to keep. */
  private readonly json: EnvoyJsonParser | undefined;
  /** Prometheus: the family named by the last `# TYPE` line. The format requires a family's
   * samples to follow its TYPE line as one group, so one family is all there is to remember. */
  private family = '';
  private familyType: PromType = 'untyped';
  /** Prometheus label parsing: where the last label block ended. */
  private pos = 0;

  constructor(
    readonly format: StatsFormat,
    private readonly onSample: (sample: StatSample) => void,
  ) {
    this.json = format === 'envoy-json' ? new EnvoyJsonParser(onSample) : undefined;
  }

  /** Lines consumed so far (blank lines included); the last line counts once end() has run. */
  get lines(): number {
    return this.json === undefined ? this.lineCount : this.json.lines;
  }

  push(chunk: string): void {
    this.checkOpen('push');
    if (chunk.length === 0) return;
    if (this.json !== undefined) {
      try {
        this.json.push(chunk);
      } catch (error) {
        this.state = 'failed';
        throw error;
      }
      return;
    }
    // Without a newline the chunk only extends the unfinished line: no scan, no flattening.
    if (chunk.indexOf('\n') === -1) {
      this.rest += chunk;
      return;
    }
    const text = this.rest.length === 0 ? chunk : this.rest + chunk;
    let start = 0;
    try {
      let nl = text.indexOf('\n');
      while (nl !== -1) {
        this.line(text.slice(start, nl));
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
    this.rest = start === text.length ? '' : text.slice(start);
  }

  end(): void {
    this.checkOpen('end');
    try {
      if (this.json !== undefined) {
        this.json.end();
      } else if (this.rest.length > 0) {
        const last = this.rest;
        this.rest = '';
        this.line(last);
      }
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
    this.state = 'ended';
  }

  private checkOpen(what: string): void {
    if (this.state !== 'open') throw new Error(`StatsParser.${what}() after ${this.state === 'ended' ? 'end()' : 'a parse error'}`);
  }

  private line(raw: string): void {
    const n = ++this.lineCount;
    // CRLF dumps (a capture saved on Windows) parse like LF ones.
    const line = raw.length > 0 && raw.charCodeAt(raw.length - 1) === CR ? raw.slice(0, -1) : raw;
    if (this.format === 'envoy-text') this.envoyLine(line, n);
    else this.promLine(line, n);
  }

  // ---- Envoy /stats text ----------------------------------------------------------------------

  private envoyLine(line: string, n: number): void {
    const end = line.length;
    if (end === 0) return;
    const first = line.charCodeAt(0);
    if ((first === SPACE || first === TAB) && line.trim().length === 0) return;

    // Text readouts print raw (`name: "value"`, stats_render.cc does not escape the value), so
    // the value may hold `: ` and quotes; names hold neither `"`, so split at the first `: "`.
    if (line.charCodeAt(end - 1) === QUOTE) {
      const sep = line.indexOf(': "');
      if (sep > 0 && end - sep >= 4) {
        this.onSample({ name: detach(line.slice(0, sep)), labels: EMPTY_LABELS, kind: 'text', value: NaN, text: detach(line.slice(sep + 3, end - 1)), line: n });
        return;
      }
    }
    // Numbers and quantile lists contain no `: `, so the last `: ` is the only possible split and
    // names may contain `: ` themselves; if the value after it is bad, no earlier split is better.
    const sep = line.lastIndexOf(': ');
    if (sep <= 0) {
      const hint = line.endsWith(':') ? ' (histogram_buckets=detailed output is not supported)' : '';
      throw new StatsParseError(n, `expected "name: value", found no ": " in ${excerpt(line)}${hint}`);
    }
    const value = line.slice(sep + 2);
    const c = value.charCodeAt(0);
    if (isDigit(c) || c === MINUS || c === PLUS || c === DOT) {
      const number = parseFiniteNumber(value);
      if (number === undefined) throw new StatsParseError(n, `expected a number after "${excerpt(line.slice(0, sep), 60, false)}: ", got ${excerpt(value)}`);
      this.onSample({ name: detach(line.slice(0, sep)), labels: EMPTY_LABELS, kind: 'untyped', value: number, line: n });
      return;
    }
    if (value === NO_RECORDED_VALUES) {
      this.onSample({ name: detach(line.slice(0, sep)), labels: EMPTY_LABELS, kind: 'histogram', value: NaN, line: n });
      return;
    }
    if (c === P_UPPER) {
      const quantiles = parseQuantiles(value);
      if (typeof quantiles === 'number') {
        throw new StatsParseError(n, `expected histogram quantiles "P<percentile>(interval,cumulative)" separated by single spaces at column ${sep + 3 + quantiles}, got ${excerpt(value.slice(quantiles), 30)}`);
      }
      this.onSample({ name: detach(line.slice(0, sep)), labels: EMPTY_LABELS, kind: 'histogram', value: NaN, quantiles, line: n });
      return;
    }
    const hint = c === B_UPPER ? ' (histogram_buckets output is not supported: fetch /stats without it)' : '';
    throw new StatsParseError(n, `expected a number, "text", P<percentile>(interval,cumulative) quantiles or "${NO_RECORDED_VALUES}" after ": ", got ${excerpt(value)}${hint}`);
  }

  // ---- Prometheus exposition text 0.0.4 ---------------------------------------------------------

  private promLine(line: string, n: number): void {
    const end = line.length;
    let i = skipBlanks(line, 0);
    if (i === end) return;
    if (line.charCodeAt(i) === HASH) {
      this.promComment(line, i + 1, n);
      return;
    }
    const nameStart = i;
    if (!isMetricNameStart(line.charCodeAt(i))) throw new StatsParseError(n, `expected a metric name at column ${i + 1}, got ${excerpt(line.slice(i), 30)}`);
    i++;
    while (i < end && isMetricNameChar(line.charCodeAt(i))) i++;
    const name = line.slice(nameStart, i);
    i = skipBlanks(line, i);
    let labels = EMPTY_LABELS;
    if (line.charCodeAt(i) === OPEN_BRACE) {
      labels = this.promLabels(line, i + 1, n);
      i = skipBlanks(line, this.pos);
    }
    if (i === end) throw new StatsParseError(n, `expected a value after ${excerpt(labels === EMPTY_LABELS ? name : `${name}{...}`, 60)}`);
    if (i === nameStart + name.length) throw new StatsParseError(n, `expected "{", a space or a tab after the metric name at column ${i + 1}, got ${excerpt(line.slice(i), 30)}`);
    const valueStart = i;
    while (i < end && !isBlank(line.charCodeAt(i))) i++;
    const value = parsePromValue(line.slice(valueStart, i));
    if (value === undefined) {
      throw new StatsParseError(n, `expected a sample value (a number, NaN, +Inf or -Inf) at column ${valueStart + 1}, got ${excerpt(line.slice(valueStart, i), 30)}`);
    }
    i = skipBlanks(line, i);
    if (i < end) {
      // The optional timestamp (ms since the epoch) is checked but not kept: a dump is one instant.
      const tsStart = i;
      while (i < end && !isBlank(line.charCodeAt(i))) i++;
      if (!isInteger(line, tsStart, i)) throw new StatsParseError(n, `expected an integer timestamp or the end of the line at column ${tsStart + 1}, got ${excerpt(line.slice(tsStart, i), 30)}`);
      i = skipBlanks(line, i);
      if (i < end) throw new StatsParseError(n, `expected the end of the line after the timestamp at column ${i + 1}, got ${excerpt(line.slice(i), 30)}`);
    }
    this.onSample({ name: detach(name), labels, kind: this.promKind(name), value, line: n });
  }

  /** `# TYPE name type` sets the kind of the family's samples; `# HELP` and other comments are
   * skipped. A TYPE line that names an unknown type is an error, not a comment. */
  private promComment(line: string, from: number, n: number): void {
    let i = skipBlanks(line, from);
    const wordStart = i;
    while (i < line.length && !isBlank(line.charCodeAt(i))) i++;
    if (line.slice(wordStart, i) !== 'TYPE') return;
    i = skipBlanks(line, i);
    const nameStart = i;
    while (i < line.length && isMetricNameChar(line.charCodeAt(i))) i++;
    if (i === nameStart || !isMetricNameStart(line.charCodeAt(nameStart)) || (i < line.length && !isBlank(line.charCodeAt(i)))) {
      throw new StatsParseError(n, `expected "# TYPE <metric name> <type>", got ${excerpt(line)}`);
    }
    const family = line.slice(nameStart, i);
    i = skipBlanks(line, i);
    const type = line.slice(i).trimEnd();
    if (!PROM_TYPES.has(type)) {
      throw new StatsParseError(n, `expected a metric type (counter, gauge, histogram, summary or untyped) after "# TYPE ${excerpt(family, 60, false)}", got ${excerpt(type, 30)}`);
    }
    this.family = detach(family);
    this.familyType = type as PromType;
  }

  /** Parses `name="value",...}` from `from` (just after `{`); leaves `pos` after the `}`. */
  private promLabels(line: string, from: number, n: number): Record<string, string> {
    // A plain object: twice as fast as a null-prototype one (dictionary mode in V8).
    const labels: Record<string, string> = {};
    const end = line.length;
    let backslash = line.indexOf('\\', from);
    let i = skipBlanks(line, from);
    while (line.charCodeAt(i) !== CLOSE_BRACE) {
      const nameStart = i;
      if (!isLabelNameStart(line.charCodeAt(i))) throw new StatsParseError(n, `expected a label name or "}" at column ${i + 1}, got ${excerpt(line.slice(i), 30)}`);
      i++;
      while (i < end && isLabelNameChar(line.charCodeAt(i))) i++;
      const name = line.slice(nameStart, i);
      i = skipBlanks(line, i);
      if (line.charCodeAt(i) !== EQUALS) throw new StatsParseError(n, `expected "=" after label ${name} at column ${i + 1}`);
      i = skipBlanks(line, i + 1);
      if (line.charCodeAt(i) !== QUOTE) throw new StatsParseError(n, `expected a quoted value for label ${name} at column ${i + 1}`);
      i++;
      const close = line.indexOf('"', i);
      if (close === -1) throw new StatsParseError(n, `expected a closing quote for label ${name} (from column ${i})`);
      let value: string;
      if (backslash !== -1 && backslash < i) backslash = line.indexOf('\\', i);
      if (backslash === -1 || backslash > close) {
        value = detach(line.slice(i, close));
        i = close + 1;
      } else {
        value = this.escapedLabelValue(line, i, name, n);
        i = this.pos;
        backslash = line.indexOf('\\', i);
      }
      if (Object.hasOwn(labels, name)) throw new StatsParseError(n, `expected each label once, got ${name} twice`);
      // `__proto__` is a valid label name; assigning it would set the prototype instead.
      if (name === '__proto__') Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
      else labels[name] = value;
      i = skipBlanks(line, i);
      const c = line.charCodeAt(i);
      if (c === COMMA) i = skipBlanks(line, i + 1);
      else if (c !== CLOSE_BRACE) throw new StatsParseError(n, `expected "," or "}" after label ${name} at column ${i + 1}`);
    }
    this.pos = i + 1;
    return labels;
  }

  /** Label values escape only `\\`, `\"` and `\n` (exposition format 0.0.4). */
  private escapedLabelValue(line: string, from: number, name: string, n: number): string {
    let out = '';
    let i = from;
    let chunkStart = from;
    for (;;) {
      if (i >= line.length) throw new StatsParseError(n, `expected a closing quote for label ${name} (from column ${from})`);
      const c = line.charCodeAt(i);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        const e = line.charCodeAt(i + 1);
        const decoded = e === BACKSLASH ? '\\' : e === QUOTE ? '"' : e === 110 /* n */ ? '\n' : undefined;
        if (decoded === undefined) throw new StatsParseError(n, `expected an escape \\\\, \\" or \\n in label ${name} at column ${i + 1}, got ${excerpt(line.slice(i, i + 2), 10)}`);
        out += line.slice(chunkStart, i) + decoded;
        i += 2;
        chunkStart = i;
      } else {
        i++;
      }
    }
    this.pos = i + 1;
    return out + line.slice(chunkStart, i);
  }

  private promKind(name: string): StatKind {
    const family = this.family;
    if (family.length === 0 || !name.startsWith(family)) return 'untyped';
    const type = this.familyType;
    if (name.length === family.length) return type === 'summary' ? 'histogram' : type;
    if (type !== 'histogram' && type !== 'summary') return 'untyped';
    const suffix = name.slice(family.length);
    // Summaries have no StatKind of their own: they are distributions, like histograms.
    if (suffix === '_sum' || suffix === '_count' || (suffix === '_bucket' && type === 'histogram')) return 'histogram';
    return 'untyped';
  }
}

/** The format of a dump from its first bytes, or undefined when they do not tell. */
export function detectFormat(head: string): StatsFormat | undefined {
  let i = 0;
  if (head.charCodeAt(0) === 0xfeff) i = 1;
  while (i < head.length && isWhitespace(head.charCodeAt(i))) i++;
  if (head.charCodeAt(i) === OPEN_BRACE) return head.includes('"stats"', i) ? 'envoy-json' : undefined;
  let start = i;
  while (start < head.length) {
    let nl = head.indexOf('\n', start);
    if (nl === -1) nl = head.length;
    const line = head.slice(start, nl).trim();
    start = nl + 1;
    if (line.length === 0) continue;
    // Neither Envoy text nor JSON has comments.
    if (line.charCodeAt(0) === HASH) return 'prometheus';
    let m = 0;
    if (isMetricNameStart(line.charCodeAt(0))) {
      m = 1;
      while (m < line.length && isMetricNameChar(line.charCodeAt(m))) m++;
    }
    const next = line.charCodeAt(m);
    if (m > 0 && next === OPEN_BRACE) return 'prometheus';
    if (m > 0 && isBlank(next)) {
      // `foo: 1` is both an Envoy line and a Prometheus sample of metric `foo:`; Envoy names
      // ending in ':' are its separator, Prometheus names ending in ':' are unheard of.
      if (line.charCodeAt(m - 1) === 58 /* : */) return 'envoy-text';
      const value = line.slice(m).trim().split(/[ \t]/)[0] ?? '';
      if (parsePromValue(value) !== undefined) return 'prometheus';
    }
    return line.indexOf(': ') > 0 ? 'envoy-text' : undefined;
  }
  return undefined;
}

/** Parses a whole dump held in memory (small inputs and tests); detects the format if not given. */
export function parseStats(text: string, format?: StatsFormat): StatSample[] {
  const detected = format ?? detectFormat(text.slice(0, 4096));
  if (detected === undefined) {
    throw new StatsParseError(1, 'expected Envoy /stats text ("name: value"), Envoy JSON ({"stats":[...]}) or Prometheus text ("# TYPE", "name{...} value")');
  }
  const samples: StatSample[] = [];
  const parser = new StatsParser(detected, (sample) => samples.push(sample));
  parser.push(text);
  parser.end();
  return samples;
}

// ---- helpers ----------------------------------------------------------------------------------

/** Histogram quantiles as Envoy prints them: `P0(nan,2.0) P25(nan,2.025) ...`, as many as the
 * proxy is configured for. Returns the column (0-based, in `value`) of the first problem. */
function parseQuantiles(value: string): Quantile[] | number {
  const quantiles: Quantile[] = [];
  const end = value.length;
  let i = 0;
  for (;;) {
    if (value.charCodeAt(i) !== P_UPPER) return i;
    const open = value.indexOf('(', i + 1);
    const comma = open === -1 ? -1 : value.indexOf(',', open + 1);
    const close = comma === -1 ? -1 : value.indexOf(')', comma + 1);
    if (close === -1) return i;
    const percentile = parseFiniteNumber(value.slice(i + 1, open));
    const interval = parseQuantileValue(value.slice(open + 1, comma));
    const cumulative = parseQuantileValue(value.slice(comma + 1, close));
    if (percentile === undefined || interval === undefined || cumulative === undefined) return i;
    quantiles.push({ percentile, interval, cumulative });
    i = close + 1;
    if (i === end) return quantiles;
    if (value.charCodeAt(i) !== SPACE) return i;
    i++;
  }
}

/** Envoy prints a quantile of an empty interval as `nan`. */
function parseQuantileValue(text: string): number | null | undefined {
  if (text === 'nan' || text === '-nan' || text === 'NaN') return null;
  return parseFiniteNumber(text);
}

/** A decimal number (JS syntax without hex, octal, binary or Infinity), else undefined. */
function parseFiniteNumber(text: string): number | undefined {
  if (text.length === 0) return undefined;
  const c = text.charCodeAt(0);
  if (!(isDigit(c) || c === MINUS || c === PLUS || c === DOT)) return undefined;
  const value = Number(text);
  if (Number.isNaN(value) || !Number.isFinite(value)) return undefined;
  // Number() also reads 0x1f, 0o7 and 0b1, and tolerates surrounding whitespace.
  if (c === 48 && text.length > 1 && (text.charCodeAt(1) | 0x20) >= 97 && (text.charCodeAt(1) | 0x20) !== 101) return undefined;
  if (isWhitespace(text.charCodeAt(text.length - 1))) return undefined;
  return value;
}

/** A Prometheus sample value: Go's ParseFloat syntax, including NaN and [+-]Inf in any case. */
function parsePromValue(text: string): number | undefined {
  const finite = parseFiniteNumber(text);
  if (finite !== undefined) return finite;
  switch (text.toLowerCase()) {
    case 'nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
    default:
      // A finite parse failed: an out-of-range exponent (1e999) is still a number to Go.
      return /^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$/.test(text) ? Number(text) : undefined;
  }
}

function isInteger(text: string, start: number, end: number): boolean {
  let i = start;
  if (text.charCodeAt(i) === MINUS) i++;
  if (i === end) return false;
  for (; i < end; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/** A copy of a slice that does not keep its source chunk alive. V8 makes slices of 13 or more
 * characters point into the parent string, so a retained stat name would pin the whole 64 KiB
 * chunk it came from; concatenating and slicing again flattens into a string of its own. */
function detach(s: string): string {
  if (s.length < 13) return s;
  // Slicing a cons string flattens it first, so the result points into a fresh flat copy.
  return (' ' + s).slice(1);
}

function excerpt(text: string, max = 80, quoted = true): string {
  const short = text.length > max ? `${text.slice(0, max)}...` : text;
  return quoted ? JSON.stringify(short) : short;
}

function skipBlanks(text: string, from: number): number {
  let i = from;
  while (isBlank(text.charCodeAt(i))) i++;
  return i;
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function isWhitespace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isLabelNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isLabelNameChar(c: number): boolean {
  return isLabelNameStart(c) || isDigit(c);
}

function isMetricNameStart(c: number): boolean {
  return isLabelNameStart(c) || c === 58;
}

function isMetricNameChar(c: number): boolean {
  return isLabelNameStart(c) || isDigit(c) || c === 58;
}
