/** Watches a proxy around a load run: a snapshot before, gauges sampled during, a snapshot after.
 * A source that fails never fails the run: the report says the verdict is unavailable and why. */
import type { LoadResult } from '../model/load-result';
import { GaugeSampler } from './gauge-sampler';
import { buildSidecarReport, unavailableReport } from './sidecar-report';
import type { SidecarReport, StatsFormat } from '../model/sidecar-report';
import { diffSnapshots, takeSnapshot, type StatsSnapshot } from './snapshot';
import { describeSource, type StatsSource } from './stats-source';

export interface SidecarWatchOptions {
  source: StatsSource;
  format: StatsFormat | undefined;
  clusterQuery: string | undefined;
  /** How often gauges are sampled during the run; 0 turns sampling off. */
  intervalMs: number;
  timeoutMs: number;
  /** Bytes one read may take (--stats-max-bytes); the default cap if unset. */
  maxBytes?: number | undefined;
}

export class SidecarWatch {
  private constructor(
    private readonly options: SidecarWatchOptions,
    private readonly before: StatsSnapshot | undefined,
    private readonly failure: string | undefined,
    private readonly sampler: GaugeSampler | undefined,
  ) {}

  static async start(options: SidecarWatchOptions): Promise<SidecarWatch> {
    const read = { format: options.format, timeoutMs: options.timeoutMs, maxBytes: options.maxBytes };
    let before: StatsSnapshot | undefined;
    try {
      before = await takeSnapshot(options.source, read, options.clusterQuery);
    } catch (error) {
      return new SidecarWatch(options, undefined, messageOf(error), undefined);
    }
    const sampler = options.intervalMs > 0 ? new GaugeSampler(options.source, { ...read, format: before.format }, options.clusterQuery, options.intervalMs) : undefined;
    sampler?.start();
    return new SidecarWatch(options, before, undefined, sampler);
  }

  /** The error that kept the first snapshot from being taken, if any. */
  get startFailure(): string | undefined {
    return this.failure;
  }

  async finish(result: LoadResult): Promise<SidecarReport> {
    const sourceName = describeSource(this.options.source);
    const gauges = await this.sampler?.stop();
    if (this.before === undefined) return unavailableReport(sourceName, this.options.clusterQuery, `before the run: ${this.failure ?? 'unknown error'}`);
    let after: StatsSnapshot;
    try {
      after = await takeSnapshot(this.options.source, { format: this.before.format, timeoutMs: this.options.timeoutMs, maxBytes: this.options.maxBytes }, this.options.clusterQuery);
    } catch (error) {
      return unavailableReport(sourceName, this.options.clusterQuery, `after the run: ${messageOf(error)}`);
    }
    return buildSidecarReport({
      source: sourceName,
      clusterQuery: this.options.clusterQuery,
      before: this.before,
      after,
      delta: diffSnapshots(this.before, after),
      gauges,
      result,
    });
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error && 'oneLine' in error && typeof error.oneLine === 'function') return String(error.oneLine());
  return error instanceof Error ? error.message : String(error);
}
