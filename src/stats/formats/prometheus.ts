/** Prometheus exposition text 0.0.4 (Envoy's `/stats/prometheus`, HAProxy's exporter): samples
 * `name{label="value",...} value [timestamp]`, typed by the `# TYPE` line of their family. */

import { StatsParseError, type StatKind, type StatSample } from '../stat-sample';
import type { LineParser } from './line-parser';
import { detach, EMPTY_LABELS, excerpt, isBlank, isDigit, parseFiniteNumber, skipBlanks } from './text-scan';

type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

const PROM_TYPES: ReadonlySet<string> = new Set<PromType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const MINUS = 45;
const EQUALS = 61;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

export class PrometheusParser implements LineParser {
  /** The family named by the last `# TYPE` line. The format requires a family's samples to
   * follow its TYPE line as one group, so one family is all there is to remember. */
  private family = '';
  private familyType: PromType = 'untyped';
  /** Label parsing: where the last label block ended. */
  private pos = 0;

  constructor(private readonly onSample: (sample: StatSample) => void) {}

  line(line: string, n: number): void {
    const end = line.length;
    let i = skipBlanks(line, 0);
    if (i === end) return;
    if (line.charCodeAt(i) === HASH) {
      this.comment(line, i + 1, n);
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
      labels = this.labels(line, i + 1, n);
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
    this.onSample({ name: detach(name), labels, kind: this.kind(name), value, line: n });
  }

  /** `# TYPE name type` sets the kind of the family's samples; `# HELP` and other comments are
   * skipped. A TYPE line that names an unknown type is an error, not a comment. */
  private comment(line: string, from: number, n: number): void {
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
  private labels(line: string, from: number, n: number): Record<string, string> {
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

  private kind(name: string): StatKind {
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

/** A Prometheus sample value: Go's ParseFloat syntax, including NaN and [+-]Inf in any case. */
export function parsePromValue(text: string): number | undefined {
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

export function isMetricNameStart(c: number): boolean {
  return isLabelNameStart(c) || c === 58;
}

export function isMetricNameChar(c: number): boolean {
  return isLabelNameStart(c) || isDigit(c) || c === 58;
}

function isLabelNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isLabelNameChar(c: number): boolean {
  return isLabelNameStart(c) || isDigit(c);
}

function isInteger(text: string, start: number, end: number): boolean {
  let i = start;
  if (text.charCodeAt(i) === MINUS) i++;
  if (i === end) return false;
  for (; i < end; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}
