/** Fortio's stats.Histogram, exactly (fortio/fortio stats/stats.go): a Counter plus one count per
 * fixed bucket of (value - Offset) / Divider, recorded without allocation, merged by adding, and
 * exported with Fortio's Export and CalcPercentile. meshload uses it where Fortio's own numbers
 * are the point: connection times and the pacing loop's sleep times. Values are in seconds. */
import type { FortioHistogram } from '../report/fortio-histogram';

/** stats.histogramBucketValues. */
const EDGES: readonly number[] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100, 120, 140, 160, 180, 200,
  250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000, 3000, 4000, 5000, 7500, 10000, 20000, 30000, 40000, 50000, 75000,
  100000,
];
const NUM_VALUES = EDGES.length;
/** stats.numBuckets: one below the first edge (<= 0) and one above the last (> 100000). */
export const FORTIO_NUM_BUCKETS = NUM_VALUES + 1;
const LAST_VALUE = EDGES[NUM_VALUES - 1] as number;

/** stats.Histogram.record's bucket for an already scaled value: intervals are ]edge[i-1], edge[i]]
 * and a value within 1e-12 above an integer counts as on it. */
export function fortioBucketOf(scaled: number): number {
  if (!(scaled > 0)) return 0; // NaN too: a value Go could not have recorded lands in the first
  if (scaled > LAST_VALUE) return NUM_VALUES;
  let whole = Math.trunc(scaled);
  if (scaled - whole < 1e-12) whole--;
  if (whole < 0) whole = 0;
  let lo = 0;
  let hi = NUM_VALUES - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((EDGES[mid] as number) > whole) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** stats.Counter's fields (sumOfSquares included, so counters merge exactly). */
export interface FortioCounterData {
  count: number;
  min: number;
  max: number;
  sum: number;
  sumSq: number;
}

/** A FortioCounts as result data: JSON as is, mergeable. `buckets` has FORTIO_NUM_BUCKETS entries. */
export interface EncodedFortioCounts extends FortioCounterData {
  offset: number;
  divider: number;
  buckets: number[];
}

export function emptyCounter(): FortioCounterData {
  return { count: 0, min: 0, max: 0, sum: 0, sumSq: 0 };
}

/** stats.Counter.RecordN with n = 1, in place. */
export function recordInCounter(c: FortioCounterData, v: number): void {
  if (c.count === 0) {
    c.min = v;
    c.max = v;
  } else if (v < c.min) {
    c.min = v;
  } else if (v > c.max) {
    c.max = v;
  }
  c.count++;
  c.sum += v;
  c.sumSq += v * v;
}

/** stats.Counter.Transfer without the clearing: `into` gains `from`'s data. */
export function addCounter(into: FortioCounterData, from: FortioCounterData): void {
  if (from.count === 0) return;
  if (into.count === 0) {
    Object.assign(into, { count: from.count, min: from.min, max: from.max, sum: from.sum, sumSq: from.sumSq });
    return;
  }
  into.count += from.count;
  into.min = Math.min(into.min, from.min);
  into.max = Math.max(into.max, from.max);
  into.sum += from.sum;
  into.sumSq += from.sumSq;
}

/** stats.Counter's Avg and StdDev (0 when empty; a negative variance from rounding is 0). */
export function counterAvg(c: FortioCounterData): number {
  return c.count === 0 ? 0 : c.sum / c.count;
}

export function counterStdDev(c: FortioCounterData): number {
  if (c.count === 0) return 0;
  const sigma = (c.sumSq - (c.sum * c.sum) / c.count) / c.count;
  return sigma > 0 ? Math.sqrt(sigma) : 0;
}

export class FortioCounts {
  readonly counter: FortioCounterData = emptyCounter();
  /** Fixed size: recording only increments. */
  readonly buckets: number[] = new Array<number>(FORTIO_NUM_BUCKETS).fill(0);

  /** stats.NewHistogram(offset, divider). */
  constructor(
    readonly offset: number,
    readonly divider: number,
  ) {}

  record(v: number): void {
    recordInCounter(this.counter, v);
    const index = fortioBucketOf((v - this.offset) / this.divider);
    this.buckets[index] = (this.buckets[index] as number) + 1;
  }

  encode(): EncodedFortioCounts {
    return { offset: this.offset, divider: this.divider, ...this.counter, buckets: [...this.buckets] };
  }
}

/** An EncodedFortioCounts read from anywhere (a result file may be hand-edited): the value itself
 * when well formed, else undefined. */
export function checkedCounts(value: unknown): EncodedFortioCounts | undefined {
  if (!isCounter(value)) return undefined;
  const v = value as unknown as Record<string, unknown>;
  const buckets = v['buckets'];
  if (!finite(v['offset']) || !finite(v['divider']) || v['divider'] === 0) return undefined;
  if (!Array.isArray(buckets) || buckets.length !== FORTIO_NUM_BUCKETS || !buckets.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return undefined;
  return value as EncodedFortioCounts;
}

/** A FortioCounterData read from anywhere, or undefined. */
export function isCounter(value: unknown): value is FortioCounterData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return Number.isSafeInteger(v['count']) && (v['count'] as number) >= 0 && finite(v['min']) && finite(v['max']) && finite(v['sum']) && finite(v['sumSq']);
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Adds histograms recorded with the same offset and divider (every part of one run); parts
 * with another scale cannot be re-bucketed exactly and are left out, counter and all. */
export function mergeCounts(parts: readonly EncodedFortioCounts[]): EncodedFortioCounts | undefined {
  const [first] = parts;
  if (first === undefined) return undefined;
  const merged: EncodedFortioCounts = { offset: first.offset, divider: first.divider, ...emptyCounter(), buckets: new Array<number>(FORTIO_NUM_BUCKETS).fill(0) };
  for (const part of parts) {
    if (part.offset !== first.offset || part.divider !== first.divider) continue;
    addCounter(merged, part);
    part.buckets.forEach((n, i) => (merged.buckets[i] = (merged.buckets[i] as number) + n));
  }
  return merged;
}

/** stats.Histogram.Export then HistogramData.CalcPercentiles(percentiles). */
export function exportFortioCounts(h: EncodedFortioCounts, percentiles: readonly number[] = []): FortioHistogram {
  const out: FortioHistogram = {
    Count: h.count,
    Min: h.min,
    Max: h.max,
    Sum: h.sum,
    Avg: counterAvg(h),
    StdDev: counterStdDev(h),
    Data: null,
  };
  let lastIndex = -1;
  for (let i = FORTIO_NUM_BUCKETS - 1; i >= 0; i--) {
    if ((h.buckets[i] ?? 0) > 0) {
      lastIndex = i;
      break;
    }
  }
  if (lastIndex < 0 || h.count === 0) return out;
  const data: NonNullable<FortioHistogram['Data']> = [];
  let prev = EDGES[0] as number;
  let total = 0;
  for (let i = 0; i <= lastIndex; i++) {
    const count = h.buckets[i] ?? 0;
    if (count === 0) {
      if (i < NUM_VALUES) prev = EDGES[i] as number;
      continue;
    }
    total += count;
    const start = data.length === 0 ? h.min : h.divider * prev + h.offset;
    let end = h.max;
    if (i < NUM_VALUES) {
      const current = EDGES[i] as number;
      end = h.divider * current + h.offset;
      prev = current;
    }
    data.push({ Start: start, End: end, Percent: (100 * total) / h.count, Count: count });
  }
  (data[data.length - 1] as (typeof data)[number]).End = h.max;
  out.Data = data;
  if (percentiles.length > 0) out.Percentiles = percentiles.map((p) => ({ Percentile: p, Value: calcPercentile(out, p) }));
  return out;
}

/** HistogramData.CalcPercentile: linear within the bucket holding the percentile, from the
 * previous bucket's cumulative percent; Min at or below 1/Count, Max at 100. */
export function calcPercentile(e: FortioHistogram, percentile: number): number {
  const data = e.Data;
  if (data === null || data.length === 0) return 0;
  if (percentile >= 100) return e.Max;
  let pp = 100 / e.Count;
  if (percentile <= pp) return e.Min;
  for (const cur of data) {
    if (percentile <= cur.Percent) return cur.Start + ((percentile - pp) / (cur.Percent - pp)) * (cur.End - cur.Start);
    pp = cur.Percent;
  }
  return e.Max;
}
