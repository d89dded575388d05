/** Fortio's histogram JSON (stats.HistogramData) from a meshload Distribution, for results that
 * carry no Fortio histogram of their own (written before meshload recorded one, or imported):
 * exact counter stats, HDR ranges re-bucketed into Fortio's fixed bucket edges, percentiles by
 * Fortio's CalcPercentile over those buckets. Results that have one use it as is. */
import type { LoadResult } from '../../model/load-result';
import { Distribution, forEachRecorded } from '../../metrics/distribution';
import { calcPercentiles, FORTIO_SCALES, FortioCounts, fortioDurationScale, type FortioHistogram, type FortioHistogramKind } from '../../metrics/fortio-histogram';
import type { FortioScale } from '../../model/encoded-histograms';

/** Microseconds (how meshload's distributions keep latency) to seconds (Fortio's unit). */
const US_TO_S = 1e-6;

export {
  calcPercentile,
  FORTIO_BUCKET_EDGES,
  FORTIO_SCALES,
  fortioBucketIndex,
  type FortioBucket,
  type FortioHistogram,
  type FortioHistogramKind,
  type FortioPercentile,
} from '../../metrics/fortio-histogram';
export type { FortioScale } from '../../model/encoded-histograms';

export interface CounterStats {
  count: number;
  min: number;
  max: number;
}

/** stats.Histogram.Export's Data for `points` (values in Fortio's unit with their counts) whose
 * counter is `stats`: buckets in order, empty ones skipped; the first starts at Min, the last
 * ends at Max. */
export function fortioBuckets(
  points: Iterable<readonly [value: number, count: number]>,
  offset: number,
  divider: number,
  stats: CounterStats,
): FortioHistogram['Data'] {
  const h = new FortioCounts({ offset, divider });
  for (const [value, count] of points) h.recordN(value, count);
  // The counter is the caller's: only the buckets came from the points.
  h.count = stats.count;
  h.min = stats.min;
  h.max = stats.max;
  return h.export().Data;
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
 * Min for the range holding it, so the first bucket never starts after it ends), so a bucket
 * may hold a value up to 0.1% (HDR's precision) above its edge. Percentiles are Fortio's
 * CalcPercentile over those buckets. */
export function toFortioHistogram(
  d: Distribution,
  scale: number,
  kind: FortioHistogramKind,
  percentiles: readonly number[] = [],
  fortioScale: { offset: number; divider: number } = FORTIO_SCALES[kind],
): FortioHistogram {
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
    Data: count === 0 ? null : fortioBuckets(points, fortioScale.offset, fortioScale.divider, { count, min, max }),
  };
  return calcPercentiles(histogram, percentiles);
}

/** An empty stats.HistogramData (Count 0, Data null): what Fortio exports for a histogram that
 * recorded nothing, e.g. ConnectionStats where meshload does not measure connection times. */
export function emptyFortioHistogram(): FortioHistogram {
  return { Count: 0, Min: 0, Max: 0, Sum: 0, Avg: 0, StdDev: 0, Data: null };
}

/** The Fortio histograms a Fortio-shaped renderer prints, with the latency scale they were
 * bucketed at. */
export interface FortioView {
  /** DurationHistogram: latency from the actual send, seconds. */
  duration: FortioHistogram;
  /** ErrorsDurationHistogram. */
  errors: FortioHistogram;
  sizes: FortioHistogram;
  headerSizes: FortioHistogram;
  scale: FortioScale;
}

/** A result's Fortio histograms: the ones recorded during the run when it has them (exactly
 * Fortio's), else rebuilt from its HDR distributions: latency from the actual send; errors from
 * the corrected error latency (older results kept no other; the same for a closed loop at max
 * speed); sizes of the calls that got a response. */
export function fortioViewOf(result: Pick<LoadResult, 'fortio' | 'plan' | 'latencyUncorrected' | 'errorLatency' | 'totalSizes' | 'headerSizes'>): FortioView {
  const percentiles = result.plan.percentiles;
  const duration = FortioCounts.decode(result.fortio?.duration);
  const errors = FortioCounts.decode(result.fortio?.errors);
  const sizes = FortioCounts.decode(result.fortio?.sizes);
  const headerSizes = FortioCounts.decode(result.fortio?.headerSizes);
  if (duration !== undefined && errors !== undefined && sizes !== undefined && headerSizes !== undefined) {
    return {
      duration: duration.export(percentiles),
      errors: errors.export(percentiles),
      sizes: sizes.export(),
      headerSizes: headerSizes.export(),
      scale: { offset: duration.offset, divider: duration.divider },
    };
  }
  const scale = fortioDurationScale(result.plan);
  return {
    duration: toFortioHistogram(Distribution.decode(result.latencyUncorrected), US_TO_S, 'duration', percentiles, scale),
    errors: toFortioHistogram(Distribution.decode(result.errorLatency), US_TO_S, 'duration', percentiles, scale),
    sizes: toFortioHistogram(Distribution.decode(result.totalSizes), 1, 'size'),
    headerSizes: toFortioHistogram(Distribution.decode(result.headerSizes), 1, 'header-size'),
    scale,
  };
}
