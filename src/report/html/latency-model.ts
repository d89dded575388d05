/** Latency as the HTML report charts it: a log-binned histogram, an HdrHistogram-style percentile
 * curve (corrected and uncorrected), a summary row, and a row per status code. Pure: encoded
 * distributions in (decoded here, in Node), plain numbers out, so the browser needs no decoder. */
import type { LoadResult } from '../../model/load-result';
import { Distribution, forEachRecorded } from '../../metrics/distribution';
import type { EncodedDistribution } from '../../model/encoded-histograms';

/** Histogram bins per decade: 1us..10s stays under 70 bins, still fine enough to show modes. */
export const BINS_PER_DECADE = 10;
/** Points per decade of 1/(1-p) on the percentile curve. */
export const CURVE_POINTS_PER_DECADE = 20;
/** The curve stops at 99.9999%: past it no run has samples enough to mean anything. */
export const MAX_CURVE_DECADES = 6;

export interface LatencyHistogram {
  /** Bin edges in ms, ascending; bin i is [edgesMs[i], edgesMs[i + 1]). One more edge than counts. */
  edgesMs: number[];
  counts: number[];
}

export interface PercentileCurve {
  /** 1 / (1 - p): the x axis, drawn on a log scale, so 90%, 99%, 99.9% are evenly spaced. */
  x: number[];
  /** p in percent, for each x. */
  percentiles: number[];
  correctedMs: number[];
  /** undefined when the result has no uncorrected distribution (or an empty one). */
  uncorrectedMs: number[] | undefined;
  /** The baseline's corrected latency at the same percentiles (`run --baseline`); undefined
   * without one, or when its phase made no call. */
  baselineMs?: number[] | undefined;
}

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface CodeLatencyRow {
  code: string;
  count: number;
  /** undefined when the result has no per-code distribution for this code (older results). */
  p50Ms: number | undefined;
  p90Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
}

export interface LatencyModel {
  summary: LatencySummary;
  histogram: LatencyHistogram;
  curve: PercentileCurve;
}

/** A distribution decoded, or undefined when absent, empty or unreadable: never a fake zero. */
export function decodeOrUndefined(encoded: EncodedDistribution | undefined): Distribution | undefined {
  if (encoded === undefined || encoded === null || typeof encoded.hdr !== 'string' || !(encoded.count > 0)) return undefined;
  try {
    return Distribution.decode(encoded);
  } catch {
    return undefined;
  }
}

const usToMs = (us: number): number => us / 1000;

/** The bin of a value in microseconds; values under 1us share the first bin. The epsilon keeps
 * exact powers of ten (1000us) in their own bin despite log10's rounding. */
function binOf(us: number): number {
  return Math.floor(Math.log10(Math.max(us, 1)) * BINS_PER_DECADE + 1e-9);
}

/** Rebins the HDR buckets on a log scale: each HDR range falls in the bin of its lowest value. */
export function latencyHistogram(d: Distribution): LatencyHistogram {
  const byBin = new Map<number, number>();
  forEachRecorded(d, (from, _to, count) => {
    const bin = binOf(from);
    byBin.set(bin, (byBin.get(bin) ?? 0) + count);
  });
  if (byBin.size === 0) return { edgesMs: [], counts: [] };
  const bins = [...byBin.keys()];
  const first = Math.min(...bins);
  const last = Math.max(...bins);
  const edgesMs: number[] = [];
  const counts: number[] = [];
  for (let bin = first; bin <= last; bin++) {
    edgesMs.push(usToMs(10 ** (bin / BINS_PER_DECADE)));
    counts.push(byBin.get(bin) ?? 0);
  }
  edgesMs.push(usToMs(10 ** ((last + 1) / BINS_PER_DECADE)));
  return { edgesMs, counts };
}

/** Decades of 1/(1-p) worth drawing: a run of n calls resolves percentiles up to about 1 - 1/n. */
export function curveDecades(count: number): number {
  return Math.max(1, Math.min(MAX_CURVE_DECADES, Math.ceil(Math.log10(Math.max(count, 1)))));
}

export function percentileCurve(corrected: Distribution, uncorrected: Distribution | undefined, baseline?: Distribution): PercentileCurve {
  const points = curveDecades(corrected.count) * CURVE_POINTS_PER_DECADE;
  const x: number[] = [];
  const percentiles: number[] = [];
  for (let i = 0; i <= points; i++) {
    const inverse = 10 ** (i / CURVE_POINTS_PER_DECADE);
    x.push(inverse);
    percentiles.push(100 * (1 - 1 / inverse));
  }
  return {
    x,
    percentiles,
    correctedMs: percentiles.map((p) => usToMs(corrected.percentile(p))),
    uncorrectedMs: uncorrected === undefined ? undefined : percentiles.map((p) => usToMs(uncorrected.percentile(p))),
    baselineMs: baseline === undefined ? undefined : percentiles.map((p) => usToMs(baseline.percentile(p))),
  };
}

export function latencySummary(d: Distribution): LatencySummary {
  return {
    count: d.count,
    minMs: usToMs(d.min),
    meanMs: usToMs(d.mean()),
    p50Ms: usToMs(d.percentile(50)),
    p90Ms: usToMs(d.percentile(90)),
    p99Ms: usToMs(d.percentile(99)),
    p999Ms: usToMs(d.percentile(99.9)),
    maxMs: usToMs(d.max),
  };
}

/** The phase's corrected latency, or undefined when it made no call; with the baseline's phase
 * of the same name, its curve too. */
export function latencyModel(load: LoadResult, baseline?: Pick<LoadResult, 'latency'>): LatencyModel | undefined {
  const corrected = decodeOrUndefined(load.latency);
  if (corrected === undefined) return undefined;
  const uncorrected = decodeOrUndefined((load as Partial<LoadResult>).latencyUncorrected);
  const before = baseline === undefined ? undefined : decodeOrUndefined(baseline.latency);
  return { summary: latencySummary(corrected), histogram: latencyHistogram(corrected), curve: percentileCurve(corrected, uncorrected, before) };
}

/** Codes in numeric order (-1, socket errors, first). */
export function sortedCodes(codes: Iterable<string>): string[] {
  return [...new Set(codes)].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
}

export function codeLatencyRows(load: LoadResult): CodeLatencyRow[] {
  const byCode = (load as Partial<LoadResult>).latencyByCode ?? {};
  const counts = load.codes ?? {};
  return sortedCodes([...Object.keys(counts), ...Object.keys(byCode)]).map((code) => {
    const encoded = byCode[code];
    const d = decodeOrUndefined(encoded);
    return {
      code,
      count: counts[code] ?? encoded?.count ?? 0,
      p50Ms: d === undefined ? undefined : usToMs(d.percentile(50)),
      p90Ms: d === undefined ? undefined : usToMs(d.percentile(90)),
      p99Ms: d === undefined ? undefined : usToMs(d.percentile(99)),
      maxMs: d === undefined ? undefined : usToMs(d.max),
    };
  });
}
