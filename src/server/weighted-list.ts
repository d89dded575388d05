/** Fortio's weighted-list syntax for echo parameters: `503` (always), or `503:20,429:5`
 * (20% and 5% of requests; the rest get the default). One random draw picks an entry. */
import { printable } from './echo-header';

export interface WeightedList<T> {
  values: T[];
  /** Cumulative percentages, ascending; the last is at most 100. */
  cumulative: number[];
}

/** Thrown for a malformed parameter; the echo server turns it into a 400 naming `param`. The
 * message quotes what was sent with control bytes escaped: it goes into bodies and one-line
 * CLI errors. */
export class EchoParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(printable(`${param}: ${message}`));
    this.name = 'EchoParamError';
  }
}

/** `parseValue` returns the value or a string explaining what is wrong with it. */
export function parseWeightedList<T>(
  param: string,
  raw: string,
  parseValue: (text: string) => T | string,
  example: string,
): WeightedList<T> {
  const entries = raw.split(',');
  if (entries.length === 1 && !raw.includes(':')) {
    return { values: [valueOf(param, raw, parseValue)], cumulative: [100] };
  }
  const values: T[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (const entry of entries) {
    const colon = entry.lastIndexOf(':');
    if (colon < 0) {
      throw new EchoParamError(param, `'${entry}' in a list needs a weight in percent, like ${example}`);
    }
    // Fortio's removeTrailingPercent (fhttp/http_utils.go): `503:20%` is `503:20`.
    const rawWeight = entry.slice(colon + 1);
    const weightText = rawWeight.endsWith('%') ? rawWeight.slice(0, -1) : rawWeight;
    // strconv.ParseFloat(s, 32): a float32 (out of its range is an error). "NaN" passes the
    // range check there (fhttp/http_utils.go:286), poisons the sum and is never drawn: so here.
    const parsed = goParseFloat(weightText);
    const weight = parsed === undefined ? Infinity : Math.fround(parsed);
    if (weight < 0 || weight > 100) {
      throw new EchoParamError(param, `weight '${weightText}' must be a percentage from 0 to 100, like ${example}`);
    }
    total += weight;
    values.push(valueOf(param, entry.slice(0, colon), parseValue));
    // Fortio's float32(stats.Round(lastPercent)), 4 decimals (fhttp/http_utils.go:292, stats/stats.go:551),
    // so that 33.3+33.3+33.4 or 33.33333 x 3 count as exactly 100.
    const rounded = Math.fround(Math.floor(total * 1e4 + 0.5) / 1e4);
    if (rounded > 100) {
      throw new EchoParamError(param, `weights add up to ${Math.round(total * 1000) / 1000}%, more than 100`);
    }
    cumulative.push(rounded);
  }
  return { values, cumulative };
}

function valueOf<T>(param: string, text: string, parseValue: (text: string) => T | string): T {
  const result = parseValue(text);
  if (typeof result === 'string') throw new EchoParamError(param, result);
  return result;
}

/** `roll` is uniform in [0, 100). Returns undefined when the roll falls past the listed weights. */
export function drawWeighted<T>(list: WeightedList<T>, roll: number): T | undefined {
  const { cumulative, values } = list;
  for (let i = 0; i < cumulative.length; i++) {
    if (roll < (cumulative[i] as number)) return values[i];
  }
  return undefined;
}

/** `close` and `gzip`: "true", "false", or a percentage of requests. Returns the percentage.
 * Fortio's generateSingleProbability (fhttp/http_utils.go) reads any other text as true and a
 * number past 0..100 as never/always; `strict` (server-wide defaults) refuses both as typos. */
export function parsePercentFlag(param: string, raw: string, strict = true): number {
  if (raw === '' || raw === 'false') return 0;
  if (raw === 'true') return 100;
  const percent = goParseFloat(raw) ?? NaN;
  if (!strict) {
    // ParseFloat(s, 32) fails on text and past float32's range (1e39, -1e39): true
    // (fhttp/http_utils.go:466-469).
    if (goParseFloat(raw) === undefined || (Number.isFinite(percent) && !Number.isFinite(Math.fround(percent)))) return 100;
    // Go's `res <= float32(p)`: NaN is never true.
    return Number.isNaN(percent) ? 0 : Math.min(100, Math.max(0, percent));
  }
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new EchoParamError(param, `'${raw}' must be true, false, or a percentage from 0 to 100`);
  }
  return percent;
}

/** Go's strconv.ParseFloat for the decimal forms people type: no spaces, no hex; "inf" and
 * "nan" as Go spells them. Undefined where Go returns an error. */
export function goParseFloat(text: string): number | undefined {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number(text);
  const lower = text.toLowerCase();
  if (/^[+]?(inf|infinity)$/.test(lower)) return Infinity;
  if (/^-(inf|infinity)$/.test(lower)) return -Infinity;
  if (lower === 'nan') return NaN;
  return undefined;
}

/** Go's strconv.Atoi on a 64-bit platform: an optional sign and decimal digits, within int64.
 * Undefined where Go returns an error. */
export function goAtoi(text: string): number | undefined {
  const match = /^([+-]?)0*(\d+)$/.exec(text);
  if (match === null) return undefined;
  const digits = match[2] as string;
  const limit = match[1] === '-' ? '9223372036854775808' : '9223372036854775807';
  if (digits.length > limit.length || (digits.length === limit.length && digits > limit)) return undefined;
  return Number(text);
}
