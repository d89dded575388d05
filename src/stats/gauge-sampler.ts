/** Samples a proxy's gauges while a run is under way. Breaker gauges (`rq_pending_open`,
 * `cx_open`, `upstream_rq_pending_active`, `outlier_detection.ejections_active`) sit above zero
 * only while the limit is hit, so a before/after pair would miss them: each is reported as its
 * maximum and the time it spent above zero. */
import { isGauge, takeSnapshot } from './snapshot';
import type { ReadStatsOptions, StatsSource } from './stats-source';

export interface GaugeTrace {
  stat: string;
  key: string;
  max: number;
  /** Sum of the sampling intervals that began with the gauge above zero. */
  msAboveZero: number;
}

export interface GaugeSummary {
  samples: number;
  /** Samples that failed to read; the last error says why. Never silently zero. */
  failures: number;
  lastError: string | undefined;
  intervalMs: number;
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
    this.summary = { samples: 0, failures: 0, lastError: undefined, intervalMs, gauges: new Map() };
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
        this.summary.samples++;
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
              trace = { stat: stat.stat, key: stat.key, max: stat.value, msAboveZero: 0 };
              traces.set(stat.stat, trace);
            }
            trace.max = Math.max(trace.max, stat.value);
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
