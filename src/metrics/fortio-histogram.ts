/** Fortio's stats.Histogram, recorded as Fortio records it: a Counter (count, min, max, sum, sum
 * of squares of the raw float values) plus counts in Fortio's fixed buckets of (v - Offset) /
 * Divider. Recording is one division and one table lookup, with no allocation, so the engine
 * keeps it per request; export and CalcPercentile are Fortio's, so Fortio-shaped output built
 * from it is Fortio's to the last digit. Merges exactly (same scale) as Fortio's Transfer does. */
import type { EncodedFortioHistogram, FortioCounterData, FortioScale } from '../model/encoded-histograms';

/** stats.go histogramBucketValues: bucket i holds ]edge[i-1], edge[i]] of the scaled value; one
 * extra bucket below (<= 0) and one above (> 100000). */
export const FORTIO_BUCKET_EDGES: readonly number[] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100, 120, 140, 160, 180, 200,
  250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000, 3000, 4000, 5000, 7500, 10000, 20000, 30000, 40000, 50000, 75000,
  100000,
];

const NUM_VALUES = FORTIO_BUCKET_EDGES.length;
/** stats.go numBuckets: the values' buckets plus the one above the last value. */
export const FORTIO_BUCKET_COUNT = NUM_VALUES + 1;
const LAST_VALUE = FORTIO_BUCKET_EDGES[NUM_VALUES - 1] as number;
/** stats.go maxArrayValue: whole scaled values below it find their bucket in one array read. */
const ARRAY_LIMIT = 1000;
/** stats.go init(): val2Bucket[i] is the index of the first edge above i. */
const VAL_TO_BUCKET = (() => {
  const table = new Uint8Array(ARRAY_LIMIT);
  let index = 0;
  for (let i = 0; i < ARRAY_LIMIT; i++) {
    if (i >= (FORTIO_BUCKET_EDGES[index] as number)) index++;
    table[i] = index;
  }
  return table;
})();
const ARRAY_LIMIT_INDEX = FORTIO_BUCKET_EDGES.indexOf(ARRAY_LIMIT);

/** Fortio's bucket index for an already scaled value (stats.go Histogram.record + lookUpIdx).
 * Intervals are open on the left: a value on an edge belongs to the bucket below, and anything
 * within 1e-12 above a whole number counts as on it (float noise from the division). */
export function fortioBucketIndex(scaled: number): number {
  if (scaled <= 0) return 0;
  if (scaled > LAST_VALUE) return NUM_VALUES;
  if (Number.isNaN(scaled)) return 0; // Go's int(NaN) is undefined; no bucket is right, the first is harmless
  let whole = Math.trunc(scaled);
  if (scaled - whole < 1e-12) whole--;
  if (whole < 0) whole = 0; // Go would index -1 (panic) for 0 < scaled < 1e-12: ]0,1] is right
  if (whole < ARRAY_LIMIT) return VAL_TO_BUCKET[whole] as number;
  let i = ARRAY_LIMIT_INDEX;
  while ((FORTIO_BUCKET_EDGES[i] as number) <= whole) i++;
  return i;
}

/** Go's time.Duration.Seconds() of a duration given in milliseconds (performance.now() units):
 * whole nanoseconds, as Go keeps them, so Min/Max/Sum print as Fortio's do (0.050059955, not
 * 0.05005995499999995). */
export function goSeconds(ms: number): number {
  const ns = Math.round(ms * 1e6);
  if (ns < 1e9) return ns / 1e9;
  const whole = Math.floor(ns / 1e9);
  return whole + (ns - whole * 1e9) / 1e9;
}

/** stats.Bucket. */
export interface FortioBucket {
  Start: number;
  End: number;
  /** Cumulative percentage of the count up to and including this bucket. */
  Percent: number;
  Count: number;
}

/** stats.Percentile. */
export interface FortioPercentile {
  Percentile: number;
  Value: number;
}

/** stats.HistogramData as Fortio's JSON has it: no Offset/Divider (a real Fortio 1.57.3 file,
 * test/report/fixtures, has none; the run's scale is the top-level `Resolution`/`Offset`). */
export interface FortioHistogram {
  Count: number;
  Min: number;
  Max: number;
  Sum: number;
  Avg: number;
  StdDev: number;
  /** null when empty: Go marshals Fortio's nil slice that way. */
  Data: FortioBucket[] | null;
  /** Absent when empty or not asked for (Fortio's `json:",omitempty"`; size histograms have none). */
  Percentiles?: FortioPercentile[];
}

/** What each kind of Fortio histogram is recorded with, in Fortio's unit (seconds, bytes). */
export const FORTIO_SCALES = {
  /** periodic.go Run: NewHistogram(Offset, Resolution); -r defaults to 0.001 s, -offset to 0. */
  duration: { offset: 0, divider: 0.001 },
  /** httprunner.go RunHTTPTest: sizes = NewHistogram(0, 100). */
  size: { offset: 0, divider: 100 },
  /** httprunner.go RunHTTPTest: headerSizes = NewHistogram(0, 5). */
  'header-size': { offset: 0, divider: 5 },
} as const;

export type FortioHistogramKind = keyof typeof FORTIO_SCALES;

/** periodic.go Run: sleepTime = NewHistogram(-0.001, 0.001), whatever -r and -offset say, so its
 * bucket 0 holds the sleeps of -1 ms or less (the "falling behind" ones). */
export const FORTIO_SLEEP_SCALE: FortioScale = { offset: -0.001, divider: 0.001 };

/** Fortio's latency histogram scale for a plan: -offset and -r (periodic.go Normalize: a
 * resolution of 0 or less is the default 0.001 s). */
export function fortioDurationScale(plan: { histogramOffset?: number | undefined; histogramResolution?: number | undefined }): FortioScale {
  const resolution = plan.histogramResolution;
  const offset = plan.histogramOffset;
  return {
    offset: offset !== undefined && Number.isFinite(offset) ? offset : FORTIO_SCALES.duration.offset,
    divider: resolution !== undefined && Number.isFinite(resolution) && resolution > 0 ? resolution : FORTIO_SCALES.duration.divider,
  };
}

/** A FortioCounterData read from anywhere (a result file may be hand-edited), or undefined. */
export function checkedCounter(value: unknown): FortioCounterData | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const { count, min, max, sum, sumSq } = v;
  if (!(Number.isSafeInteger(count) && (count as number) >= 0)) return undefined;
  if (!isFinite(min) || !isFinite(max) || !isFinite(sum) || !isFinite(sumSq)) return undefined;
  return { count: count as number, min, max, sum, sumSq };
}

function isFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** stats.Counter.Avg. */
function counterAvg(c: FortioCounterData): number {
  return c.count === 0 ? 0 : c.sum / c.count;
}

/** stats.Counter.StdDev: a negative variance (rounding) is 0. */
function counterStdDev(c: FortioCounterData): number {
  if (c.count === 0) return 0;
  const sigma = (c.sumSq - (c.sum * c.sum) / c.count) / c.count;
  return sigma < 0 ? 0 : Math.sqrt(sigma);
}

/** A bare stats.Counter in HistogramData's shape (no buckets), as Counter.Print prints it. */
export function exportFortioCounter(c: FortioCounterData): FortioHistogram {
  return { Count: c.count, Min: c.min, Max: c.max, Sum: c.sum, Avg: counterAvg(c), StdDev: counterStdDev(c), Data: null };
}

export class FortioCounts {
  count = 0;
  min = 0;
  max = 0;
  sum = 0;
  sumSq = 0;
  /** Float64, not Fortio's int32: merged runs may pass 2^31 calls in a bucket. */
  readonly buckets = new Float64Array(FORTIO_BUCKET_COUNT);
  readonly offset: number;
  readonly divider: number;

  /** stats.NewHistogram; a divider of 0 (Fortio returns nil) or not finite is refused. */
  constructor(scale: FortioScale) {
    if (!(Number.isFinite(scale.divider) && scale.divider !== 0 && Number.isFinite(scale.offset))) {
      throw new RangeError(`a Fortio histogram needs a finite non-zero divider and a finite offset, got ${scale.divider} and ${scale.offset}`);
    }
    this.offset = scale.offset;
    this.divider = scale.divider;
  }

  /** Min and max take `v` (the first value is both). */
  private extendRange(v: number): void {
    if (this.count === 0) {
      this.min = v;
      this.max = v;
    } else if (v < this.min) {
      this.min = v;
    } else if (v > this.max) {
      this.max = v;
    }
  }

  /** stats.Histogram.Record: the counter takes the raw value, the bucket its scaled value. */
  record(v: number): void {
    this.extendRange(v);
    this.count++;
    this.sum += v;
    this.sumSq += v * v;
    const index = fortioBucketIndex((v - this.offset) / this.divider);
    this.buckets[index] = (this.buckets[index] as number) + 1;
  }

  /** stats.Histogram.RecordN: `v` `n` times, in one step. Fortio squares v * n for the sum of
   * squares (stats.go Counter.RecordN), so its StdDev differs from n calls to record; kept. */
  recordN(v: number, n: number): void {
    if (n <= 0) return;
    this.extendRange(v);
    this.count += n;
    const s = v * n;
    this.sum += s;
    this.sumSq += s * s;
    const index = fortioBucketIndex((v - this.offset) / this.divider);
    this.buckets[index] = (this.buckets[index] as number) + n;
  }

  /** stats.Histogram.Transfer without clearing `other`: the same scale adds bucket by bucket;
   * another scale re-records each of `other`'s exported buckets at its mid point, as Fortio's
   * copyHDataFrom does (approximate, like Fortio's). */
  add(other: FortioCounts): void {
    if (other.count === 0) return;
    if (other.offset === this.offset && other.divider === this.divider) {
      for (let i = 0; i < FORTIO_BUCKET_COUNT; i++) this.buckets[i] = (this.buckets[i] as number) + (other.buckets[i] as number);
    } else {
      for (const b of other.export().Data ?? []) {
        const index = fortioBucketIndex(((b.Start + b.End) / 2 - this.offset) / this.divider);
        this.buckets[index] = (this.buckets[index] as number) + b.Count;
      }
    }
    if (this.count === 0 || other.min < this.min) this.min = other.min;
    if (this.count === 0 || other.max > this.max) this.max = other.max;
    this.count += other.count;
    this.sum += other.sum;
    this.sumSq += other.sumSq;
  }

  /** stats.Counter.Avg. */
  avg(): number {
    return counterAvg(this);
  }

  /** stats.Counter.StdDev. */
  stdDev(): number {
    return counterStdDev(this);
  }

  /** The counter alone (stats.Histogram.Counter). */
  counter(): FortioCounterData {
    return { count: this.count, min: this.min, max: this.max, sum: this.sum, sumSq: this.sumSq };
  }

  /** stats.Histogram.Export, then CalcPercentiles when `percentiles` are given. */
  export(percentiles: readonly number[] = []): FortioHistogram {
    const res: FortioHistogram = { Count: this.count, Min: this.min, Max: this.max, Sum: this.sum, Avg: this.avg(), StdDev: this.stdDev(), Data: null };
    let lastIndex = -1;
    for (let i = FORTIO_BUCKET_COUNT - 1; i >= 0; i--) {
      if ((this.buckets[i] as number) > 0) {
        lastIndex = i;
        break;
      }
    }
    if (lastIndex < 0) return res;
    const data: FortioBucket[] = [];
    let prev = FORTIO_BUCKET_EDGES[0] as number;
    let total = 0;
    for (let i = 0; i <= lastIndex; i++) {
      const count = this.buckets[i] as number;
      if (count === 0) {
        if (i < NUM_VALUES) prev = FORTIO_BUCKET_EDGES[i] as number;
        continue;
      }
      total += count;
      // Same float expressions as Fortio (divider * edge + offset), so edges print the same.
      const start = data.length === 0 ? this.min : this.divider * prev + this.offset;
      let end: number;
      if (i < NUM_VALUES) {
        const current = FORTIO_BUCKET_EDGES[i] as number;
        end = this.divider * current + this.offset;
        prev = current;
      } else {
        end = this.max;
      }
      data.push({ Start: start, End: end, Percent: (100 * total) / this.count, Count: count });
    }
    (data[data.length - 1] as FortioBucket).End = this.max;
    res.Data = data;
    return calcPercentiles(res, percentiles);
  }

  encode(): EncodedFortioHistogram {
    return { offset: this.offset, divider: this.divider, count: this.count, min: this.min, max: this.max, sum: this.sum, sumSq: this.sumSq, buckets: Array.from(this.buckets) };
  }

  /** The histogram an encoded one describes, or undefined when it is not one (a hand-edited or
   * hostile file): renderers then fall back to what the HDR distributions say. */
  static decode(encoded: unknown): FortioCounts | undefined {
    if (typeof encoded !== 'object' || encoded === null) return undefined;
    const e = encoded as Record<string, unknown>;
    const finite = (key: string): number | undefined => (typeof e[key] === 'number' && Number.isFinite(e[key]) ? e[key] : undefined);
    const offset = finite('offset');
    const divider = finite('divider');
    const count = finite('count');
    const min = finite('min');
    const max = finite('max');
    const sum = finite('sum');
    const sumSq = finite('sumSq');
    const buckets = e['buckets'];
    if (offset === undefined || divider === undefined || divider === 0 || count === undefined || min === undefined || max === undefined || sum === undefined || sumSq === undefined) return undefined;
    if (!Array.isArray(buckets) || buckets.length !== FORTIO_BUCKET_COUNT) return undefined;
    let total = 0;
    for (const n of buckets as unknown[]) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) return undefined;
      total += n;
    }
    // The counts must describe the counter, or percentages and percentiles would be nonsense.
    if (!Number.isInteger(count) || total !== count || (count > 0 && min > max)) return undefined;
    const h = new FortioCounts({ offset, divider });
    h.buckets.set(buckets as number[]);
    h.count = count;
    h.min = min;
    h.max = max;
    h.sum = sum;
    h.sumSq = sumSq;
    return h;
  }
}

/** stats.HistogramData.CalcPercentiles: nothing for an empty histogram. */
export function calcPercentiles(h: FortioHistogram, percentiles: readonly number[]): FortioHistogram {
  if (h.Count === 0 || percentiles.length === 0) return h;
  h.Percentiles = percentiles.map((p) => ({ Percentile: p, Value: calcPercentile(h, p) }));
  return h;
}

/** stats.HistogramData.CalcPercentile: linear interpolation inside the bucket reaching the
 * percentile; Min up to one point's share (1/Count), Max at 100 and above. */
export function calcPercentile(h: FortioHistogram, percentile: number): number {
  const data = h.Data;
  if (data === null || data.length === 0) return 0;
  if (percentile >= 100) return h.Max;
  let pp = 100 / h.Count;
  if (percentile <= pp) return h.Min;
  for (const cur of data) {
    if (percentile <= cur.Percent) return cur.Start + ((percentile - pp) / (cur.Percent - pp)) * (cur.End - cur.Start);
    pp = cur.Percent;
  }
  return h.Max;
}
