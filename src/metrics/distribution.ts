/** A distribution of integer values (latency in microseconds, sizes in bytes): exact count, sum,
 * sum of squares, min and max, as Fortio's counters keep them (so "avg", "+/-" and "sum" print
 * exactly), plus an HDR histogram (3 significant digits) for percentiles and buckets. Both parts
 * merge exactly, which is what lets worker threads and distributed generators be combined. */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { EncodedDistribution } from '../model/encoded-histograms';

/** One hour in microseconds: the top of the latency range before the histogram grows. */
export const ONE_HOUR_US = 3_600_000_000;

function newHistogram(highest: number): Histogram {
  return build({
    bitBucketSize: 64, // exact counts to 2^53: merged runs can exceed 32-bit bucket counts
    lowestDiscernibleValue: 1,
    highestTrackableValue: highest,
    numberOfSignificantValueDigits: 3,
    autoResize: true, // a value past the range grows the histogram instead of being dropped
    useWebAssembly: false,
  });
}

export class Distribution {
  count = 0;
  sum = 0;
  sumSq = 0;
  min = 0;
  max = 0;
  readonly histogram: Histogram;

  constructor(highest = ONE_HOUR_US) {
    this.histogram = newHistogram(highest);
  }

  /** `value` is rounded to an integer; negative values (clock steps) record as 0. */
  record(value: number): void {
    const v = value > 0 ? Math.round(value) : 0;
    if (this.count === 0 || v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.count++;
    this.sum += v;
    this.sumSq += v * v;
    this.histogram.recordValue(v);
  }

  add(other: Distribution): void {
    if (other.count === 0) return;
    if (this.count === 0 || other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    this.count += other.count;
    this.sum += other.sum;
    this.sumSq += other.sumSq;
    this.histogram.add(other.histogram);
  }

  reset(): void {
    this.count = this.sum = this.sumSq = this.min = this.max = 0;
    this.histogram.reset();
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Population standard deviation, as Fortio prints after "+/-". */
  stddev(): number {
    if (this.count === 0) return 0;
    const mean = this.sum / this.count;
    return Math.sqrt(Math.max(0, this.sumSq / this.count - mean * mean));
  }

  /** The HDR value at a percentile (0-100); 0 when empty. */
  percentile(p: number): number {
    return this.count === 0 ? 0 : this.histogram.getValueAtPercentile(p);
  }

  encode(): EncodedDistribution {
    return {
      count: this.count,
      sum: this.sum,
      sumSq: this.sumSq,
      min: this.min,
      max: this.max,
      hdr: encodeIntoCompressedBase64(this.histogram),
    };
  }

  static decode(encoded: EncodedDistribution): Distribution {
    const d = new Distribution();
    const histogram = decodeFromCompressedBase64(encoded.hdr, 64, false);
    d.histogram.add(histogram);
    d.count = encoded.count;
    d.sum = encoded.sum;
    d.sumSq = encoded.sumSq;
    d.min = encoded.min;
    d.max = encoded.max;
    return d;
  }
}

/** Visits each recorded value range of the histogram in ascending order: HDR's equivalent range
 * [from, to] (inclusive, integers) and its count. For renderers that rebucket (Fortio's text). */
export function forEachRecorded(d: Distribution, visit: (from: number, to: number, count: number) => void): void {
  if (d.count === 0) return;
  // The JS histogram implementation exposes its iterator; the typed interface does not.
  const iterator = (d.histogram as unknown as { recordedValuesIterator: RecordedValuesIterator }).recordedValuesIterator;
  iterator.reset();
  while (iterator.hasNext()) {
    const step = iterator.next();
    const value = step.valueIteratedTo;
    visit(lowestEquivalent(d, value), highestEquivalent(d, value), step.countAddedInThisIterationStep);
  }
}

/** Values recorded at or above `value`, by HDR bucket: a bucket reaching `value` counts whole, so
 * a value up to 0.1% (3 significant digits) under it may count. */
export function countAtOrAbove(d: Distribution, value: number): number {
  let count = 0;
  forEachRecorded(d, (_from, to, n) => {
    if (to >= value) count += n;
  });
  return count;
}

interface RecordedValuesIterator {
  reset(): void;
  hasNext(): boolean;
  next(): { valueIteratedTo: number; countAddedInThisIterationStep: number };
}

function lowestEquivalent(d: Distribution, value: number): number {
  return (d.histogram as unknown as { lowestEquivalentValue(v: number): number }).lowestEquivalentValue(value);
}

function highestEquivalent(d: Distribution, value: number): number {
  return (d.histogram as unknown as { highestEquivalentValue(v: number): number }).highestEquivalentValue(value);
}
