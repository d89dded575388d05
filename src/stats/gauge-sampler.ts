/** Samples a proxy's gauges while a run is under way. Breaker gauges (`rq_pending_open`,
 * `cx_open`, `upstream_rq_pending_active`, `outlier_detection.ejections_active`) sit above zero
 * only while the limit is hit, so a before/after pair would miss them: each is reported as its
 * maximum, the time it spent above zero, and a bounded series of its samples (when it tripped). */
import { isGauge, takeSnapshot } from './snapshot';
import type { GaugeSeriesSet } from '../model/sidecar-report';
import type { ReadStatsOptions, StatsSource } from './stats-source';

export interface GaugeTrace {
  stat: string;
  key: string;
  max: number;
  /** Sum of the sampling intervals that began with the gauge above zero. */
  msAboveZero: number;
  /** Point i covers samples [bucket[i] * samplesPerPoint, +samplesPerPoint): its first sample's
   * wall-clock time and the largest value sampled in it. A value held since the point before
   * adds none, so a gauge that never moves costs one point. */
  points: { bucket: number[]; atMs: number[]; value: number[] };
}

/** Points kept per gauge: an hour at the default 1 s interval; past it pairs of points become
 * one (their max), so memory stays bounded however long the run. */
export const MAX_SERIES_POINTS = 3600;
/** Series a result keeps; the rest are counted in `leftOut`. */
export const MAX_SERIES = 40;

export interface GaugeSummary {
  samples: number;
  /** Samples that failed to read; the last error says why. Never silently zero. */
  failures: number;
  lastError: string | undefined;
  intervalMs: number;
  /** Samples folded into one series point: 1, doubled each time the series are thinned. */
  samplesPerPoint: number;
  /** Wall-clock time of the last sample read: every series holds its last value until then. */
  lastSampleAtMs: number | undefined;
  /** cluster -> stat -> trace. */
  gauges: Map<string, Map<string, GaugeTrace>>;
}

export class GaugeSampler {
  private readonly summary: GaugeSummary;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly source: StatsSource,
    private readonly options: ReadStatsOptions,
    private readonly clusterQuery: string | undefined,
    intervalMs: number,
  ) {
    this.summary = { samples: 0, failures: 0, lastError: undefined, intervalMs, samplesPerPoint: 1, lastSampleAtMs: undefined, gauges: new Map() };
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<GaugeSummary> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    return this.summary;
  }

  private async run(): Promise<void> {
    let previous: { atMs: number; above: Array<GaugeTrace> } | undefined;
    while (!this.stopped) {
      const startedAt = Date.now();
      try {
        const snapshot = await takeSnapshot(this.source, this.options, this.clusterQuery);
        const sample = this.summary.samples++;
        if (Math.floor(sample / this.summary.samplesPerPoint) >= MAX_SERIES_POINTS) thinSeries(this.summary);
        const bucket = Math.floor(sample / this.summary.samplesPerPoint);
        this.summary.lastSampleAtMs = snapshot.takenAtMs;
        if (previous !== undefined) for (const trace of previous.above) trace.msAboveZero += snapshot.takenAtMs - previous.atMs;
        const above: GaugeTrace[] = [];
        for (const [cluster, stats] of snapshot.clusters) {
          for (const stat of stats.values()) {
            if (!isGauge(stat)) continue;
            let traces = this.summary.gauges.get(cluster);
            if (traces === undefined) {
              traces = new Map();
              this.summary.gauges.set(cluster, traces);
            }
            let trace = traces.get(stat.stat);
            if (trace === undefined) {
              trace = { stat: stat.stat, key: stat.key, max: stat.value, msAboveZero: 0, points: { bucket: [], atMs: [], value: [] } };
              traces.set(stat.stat, trace);
            }
            trace.max = Math.max(trace.max, stat.value);
            addPoint(trace.points, bucket, snapshot.takenAtMs, stat.value);
            if (stat.value > 0) above.push(trace);
          }
        }
        previous = { atMs: snapshot.takenAtMs, above };
      } catch (error) {
        this.summary.failures++;
        this.summary.lastError = error instanceof Error ? error.message : String(error);
        previous = undefined;
      }
      const wait = this.summary.intervalMs - (Date.now() - startedAt);
      if (wait > 0 && !this.stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }
}

function addPoint(points: GaugeTrace['points'], bucket: number, atMs: number, value: number): void {
  const last = points.bucket.length - 1;
  if (last >= 0 && points.bucket[last] === bucket) points.value[last] = Math.max(points.value[last] ?? value, value);
  else if (last < 0 || points.value[last] !== value) {
    points.bucket.push(bucket);
    points.atMs.push(atMs);
    points.value.push(value);
  }
}

/** Halves every series: points 2k and 2k+1 become one (the first's time, the larger value). */
export function thinSeries(summary: GaugeSummary): void {
  summary.samplesPerPoint *= 2;
  for (const traces of summary.gauges.values()) {
    for (const trace of traces.values()) {
      const old = trace.points;
      trace.points = { bucket: [], atMs: [], value: [] };
      old.bucket.forEach((bucket, i) => addPoint(trace.points, Math.floor(bucket / 2), old.atMs[i] ?? 0, old.value[i] ?? 0));
    }
  }
}

/** The series worth keeping, as offsets from the load's start: gauges that changed, those that
 * rose from zero (breakers opening, hosts ejected) first, then the widest swings. Pure. */
export function gaugeSeriesSet(summary: GaugeSummary, loadStartTime: string): GaugeSeriesSet | undefined {
  const origin = Date.parse(loadStartTime);
  if (!Number.isFinite(origin) || summary.samples === 0) return undefined;
  const moved: Array<{ cluster: string; trace: GaugeTrace; min: number }> = [];
  for (const [cluster, traces] of summary.gauges) {
    for (const trace of traces.values()) {
      const min = Math.min(...trace.points.value);
      // One point: the gauge held its first value throughout, which its maximum already says.
      if (trace.points.value.length > 1 && min !== Math.max(...trace.points.value)) moved.push({ cluster, trace, min });
    }
  }
  moved.sort((a, b) => Number(b.min === 0) - Number(a.min === 0) || b.trace.max - b.min - (a.trace.max - a.min) || a.cluster.localeCompare(b.cluster) || a.trace.stat.localeCompare(b.trace.stat));
  const clusters: GaugeSeriesSet['clusters'] = {};
  for (const { cluster, trace } of moved.slice(0, MAX_SERIES)) {
    const byStat = clusters[cluster] ?? {};
    const points: Array<[number, number]> = trace.points.atMs.map((atMs, i) => [Math.round(atMs - origin), trace.points.value[i] ?? 0]);
    // The last value was held until the last sample: a closing point says so.
    const last = points[points.length - 1];
    const end = summary.lastSampleAtMs === undefined ? undefined : Math.round(summary.lastSampleAtMs - origin);
    if (last !== undefined && end !== undefined && end > last[0]) points.push([end, last[1]]);
    byStat[trace.stat] = points;
    clusters[cluster] = byStat;
  }
  return { startTime: loadStartTime, stepMs: summary.intervalMs * summary.samplesPerPoint, clusters, leftOut: Math.max(0, moved.length - MAX_SERIES) };
}
