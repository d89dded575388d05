/** Fortio's histogram JSON (stats.HistogramData) from a meshload Distribution: exact counter
 * stats, HDR ranges re-bucketed into Fortio's fixed bucket edges, and percentiles from HDR.
 * Fortio's report UI and Nighthawk's converter read this shape. */
import { forEachRecorded, type Distribution } from '../metrics/distribution';

export interface FortioBucket {
  Start: number;
  End: number;
  /** Cumulative percentage of the count up to and including this bucket. */
  Percent: number;
  Count: number;
}

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

/** stats.histogramBucketValues: bucket i holds ]edge[i-1], edge[i]] of (value - Offset) / Divider;
 * one extra bucket below (<= 0) and one above (> 100000). */
export const FORTIO_BUCKET_EDGES: readonly number[] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100, 120, 140, 160, 180, 200,
  250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000, 3000, 4000, 5000, 7500, 10000, 20000, 30000, 40000, 50000, 75000,
  100000,
];

const NUM_VALUES = FORTIO_BUCKET_EDGES.length;
const LAST_VALUE = FORTIO_BUCKET_EDGES[NUM_VALUES - 1] as number;

/** What each kind of Fortio histogram is recorded with (offset, divider), in Fortio's unit. */
export const FORTIO_SCALES = {
  /** periodic: NewHistogram(Offset, Resolution), -r default 0.001 s: 1 ms resolution. */
  duration: { offset: 0, divider: 0.001 },
  /** httprunner: sizes = NewHistogram(0, 100). */
  size: { offset: 0, divider: 100 },
  /** httprunner: headerSizes = NewHistogram(0, 5). */
  'header-size': { offset: 0, divider: 5 },
} as const;

export type FortioHistogramKind = keyof typeof FORTIO_SCALES;

/** Fortio's bucket index for an already scaled value ((v - Offset) / Divider). Intervals are open
 * on the left: a value exactly on an edge belongs to the bucket below, and Fortio treats anything
 * within 1e-12 above an integer as on it (float noise from the division). */
export function fortioBucketIndex(scaled: number): number {
  if (scaled <= 0) return 0;
  if (scaled > LAST_VALUE) return NUM_VALUES;
  let whole = Math.trunc(scaled);
  if (scaled - whole < 1e-12) whole--;
  if (whole < 0) whole = 0; // Go would index -1 (panic) for 0 < scaled < 1e-12: ]0,1] is right
  // First edge strictly above `whole`.
  let lo = 0;
  let hi = NUM_VALUES - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((FORTIO_BUCKET_EDGES[mid] as number) > whole) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export interface CounterStats {
  count: number;
  min: number;
  max: number;
}

/** stats.Histogram.Export's Data: buckets in order, empty ones skipped; the first starts at Min,
 * the last ends at Max, and the overflow bucket (> 100000) starts at its lower edge even when it
 * is the only one, as Fortio does. `points` are values in Fortio's unit with their counts. */
export function fortioBuckets(
  points: Iterable<readonly [value: number, count: number]>,
  offset: number,
  divider: number,
  stats: CounterStats,
): FortioBucket[] | null {
  const counts = new Array<number>(NUM_VALUES + 1).fill(0);
  for (const [value, count] of points) {
    const index = fortioBucketIndex((value - offset) / divider);
    counts[index] = (counts[index] as number) + count;
  }
  let lastIndex = -1;
  for (let i = NUM_VALUES; i >= 0; i--) {
    if ((counts[i] as number) > 0) {
      lastIndex = i;
      break;
    }
  }
  if (lastIndex < 0) return null;
  const data: FortioBucket[] = [];
  let prev = FORTIO_BUCKET_EDGES[0] as number;
  let total = 0;
  for (let i = 0; i <= lastIndex; i++) {
    const count = counts[i] as number;
    if (count === 0) {
      if (i < NUM_VALUES) prev = FORTIO_BUCKET_EDGES[i] as number;
      continue;
    }
    total += count;
    // Same float expressions as Fortio (divider * edge + offset), so JSON edges print the same.
    let start = data.length === 0 ? stats.min : divider * prev + offset;
    let end: number;
    if (i < NUM_VALUES) {
      const current = FORTIO_BUCKET_EDGES[i] as number;
      end = divider * current + offset;
      prev = current;
    } else {
      start = divider * prev + offset;
      end = stats.max;
    }
    data.push({ Start: start, End: end, Percent: (100 * total) / stats.count, Count: count });
  }
  (data[data.length - 1] as FortioBucket).End = stats.max;
  return data;
}

/** Multiplies by `scale`, dividing by its inverse when that is an integer (1e-6 -> / 1e6): 52549 /
 * 1e6 is the double nearest 0.052549 and prints as such, 52549 * 1e-6 is 0.052549000000000004. */
export function scaleValue(value: number, scale: number): number {
  if (scale < 1) {
    const inverse = Math.round(1 / scale);
    if (Math.abs(1 / inverse - scale) <= Number.EPSILON * scale) return value / inverse;
  }
  return value * scale;
}

/** Fortio's histogram of `d` (values recorded in meshload units, `scale` converting them to
 * Fortio's: 1e-6 for microseconds -> seconds, 1 for bytes), bucketed as Fortio buckets `kind`.
 * Count/Min/Max/Sum/Avg/StdDev are exact. Each HDR range is placed by its lowest value (raised to
 * Min for the range holding it, so the first bucket never starts after it ends). Percentiles come
 * from HDR, clamped to [Min, Max] since those are known exactly. */
export function toFortioHistogram(
  d: Distribution,
  scale: number,
  kind: FortioHistogramKind,
  percentiles: readonly number[] = [],
): FortioHistogram {
  const { offset, divider } = FORTIO_SCALES[kind];
  const count = d.count;
  const min = scaleValue(d.min, scale);
  const max = scaleValue(d.max, scale);
  const sum = scaleValue(d.sum, scale);
  const sumSq = scaleValue(scaleValue(d.sumSq, scale), scale);
  // stats.Counter: Avg and StdDev are 0 when empty; a negative variance (rounding) is 0.
  const avg = count === 0 ? 0 : sum / count;
  const variance = count === 0 ? 0 : (sumSq - (sum * sum) / count) / count;
  const points: Array<[number, number]> = [];
  forEachRecorded(d, (from, _to, n) => points.push([scaleValue(Math.max(from, d.min), scale), n]));
  const histogram: FortioHistogram = {
    Count: count,
    Min: min,
    Max: max,
    Sum: sum,
    Avg: avg,
    StdDev: variance > 0 ? Math.sqrt(variance) : 0,
    Data: fortioBuckets(points, offset, divider, { count, min, max }),
  };
  if (count > 0 && percentiles.length > 0) {
    histogram.Percentiles = percentiles.map((p) => ({
      Percentile: p,
      Value: scaleValue(Math.min(d.max, Math.max(d.min, d.percentile(p))), scale),
    }));
  }
  return histogram;
}

/** An empty stats.HistogramData (Count 0, Data null): what Fortio exports for a histogram that
 * recorded nothing, e.g. ConnectionStats where meshload does not measure connection times. */
export function emptyFortioHistogram(): FortioHistogram {
  return { Count: 0, Min: 0, Max: 0, Sum: 0, Avg: 0, StdDev: 0, Data: null };
}
