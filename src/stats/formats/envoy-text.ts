/** Envoy admin `/stats` text: one `name: value` line per stat, where the value is a number, a
 * quoted text readout, histogram quantiles `P50(interval,cumulative) ...` or "No recorded values". */

import { StatsParseError, type Quantile, type StatSample } from '../stat-sample';
import type { LineParser } from './line-parser';
import { detach, EMPTY_LABELS, excerpt, isDigit, parseFiniteNumber } from './text-scan';

const NO_RECORDED_VALUES = 'No recorded values';

const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const B_UPPER = 66;
const P_UPPER = 80;

export class EnvoyTextParser implements LineParser {
  constructor(private readonly onSample: (sample: StatSample) => void) {}

  line(line: string, n: number): void {
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
}

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
