/** Records every completed call of a run into distributions and counters; memory stays flat
 * however long the run (no per-request arrays: the timeline grows by one entry per step: a
 * second, or 100 ms for a run planned to last at most 10 s). */
import { Distribution } from '../metrics/distribution';
import type { EncodedDistribution, FortioScale } from '../model/encoded-histograms';
import { FORTIO_SCALES, FortioCounts, goSeconds } from '../metrics/fortio-histogram';
import { classifyFailure, type FailureCause } from '../model/failure-cause';
import { type ErrorKind, isOk, type Outcome } from '../model/outcome';
import type { LoadPlan } from '../model/load-plan';
import { errorSample, type LoadResult, type TimelineSecond } from '../model/load-result';

/** A send later than this after its due time counts as late: timers fire with ~1 ms slack. */
const LATE_SEND_MS = 1;

/** Sizes can exceed an hour's worth of microseconds; start the range at 1 GiB and auto-grow. */
const SIZE_RANGE = 1 << 30;

/** The timeline's step for a run planned to last at most SHORT_RUN_MS: a short phase drawn per
 * second would be two or three points. */
export const FINE_STEP_MS = 100;
export const SHORT_RUN_MS = 10_000;
/** A fine timeline that outgrows its plan (a slow target under -n) is thinned to whole seconds
 * past this many entries, so it stays bounded. */
export const MAX_FINE_STEPS = 600;

/** The timeline step for a plan: fine when the planned run is short and its length known (-t, or
 * -n at a set rate); a second otherwise. */
export function timelineStepFor(plan: Pick<LoadPlan, 'durationMs' | 'requests' | 'qps'>): number {
  const plannedMs = plan.requests === undefined ? plan.durationMs : plan.qps > 0 ? (plan.requests / plan.qps) * 1000 : 0;
  return plannedMs > 0 && plannedMs <= SHORT_RUN_MS ? FINE_STEP_MS : 1000;
}

/** The parts of a LoadResult the recorder produces. */
export type RecordedRun = Pick<
  LoadResult,
  | 'codes'
  | 'errorsByKind'
  | 'errorSamples'
  | 'causes'
  | 'versions'
  | 'attempts'
  | 'clamped'
  | 'grpcStatuses'
  | 'latency'
  | 'latencyUncorrected'
  | 'fortio'
  | 'latencyByCode'
  | 'errorLatency'
  | 'headerSizes'
  | 'totalSizes'
  | 'scheduleLag'
  | 'timeline'
  | 'timelineStepMs'
>;

export class RunRecorder {
  readonly latency = new Distribution();
  readonly latencyUncorrected = new Distribution();
  readonly errorLatency = new Distribution();
  readonly headerSizes = new Distribution(SIZE_RANGE);
  readonly totalSizes = new Distribution(SIZE_RANGE);
  readonly scheduleLag = new Distribution();
  /** Fortio's histograms (LoadResult.fortio): a bucket lookup each, no allocation. */
  readonly fortioDuration: FortioCounts;
  readonly fortioErrors: FortioCounts;
  readonly fortioSizes = new FortioCounts(FORTIO_SCALES.size);
  readonly fortioHeaderSizes = new FortioCounts(FORTIO_SCALES['header-size']);
  private readonly byCode = new Map<number, Distribution>();
  private readonly codeCounts = new Map<number, number>();
  private readonly errorKinds = new Map<ErrorKind, number>();
  private readonly errorSamples = new Map<ErrorKind, string>();
  private readonly causeCounts = new Map<FailureCause, number>();
  private readonly versionCounts = new Map<string, number>();
  private readonly attemptCounts = new Map<number, number>();
  private clampedCount = 0;
  private readonly grpcCounts = new Map<string, number>();
  private timeline: TimelineSecond[] = [];
  /** The timeline step being filled, counted in steps from the start. */
  private second = 0;
  private secondRequests = 0;
  private secondCodes = new Map<number, number>();
  private readonly secondLatency = new Distribution();

  /** `startMs` is the run's time origin (performance.now() units); `stepMs` the timeline's
   * step (see timelineStepFor); `durationScale` the -offset and -r of Fortio's latency
   * histograms (fortioDurationScale). */
  constructor(
    private readonly startMs: number,
    private stepMs = 1000,
    durationScale: FortioScale = FORTIO_SCALES.duration,
  ) {
    this.fortioDuration = new FortioCounts(durationScale);
    this.fortioErrors = new FortioCounts(durationScale);
  }

  get count(): number {
    return this.latency.count;
  }

  /** All times in ms from performance.now(). `intendedMs` is when the call was due. */
  record(outcome: Outcome, intendedMs: number, sentMs: number, endMs: number): void {
    const status = outcome.status;
    const correctedUs = (endMs - intendedMs) * 1000;
    const ok = isOk(status);
    this.latency.record(correctedUs);
    this.latencyUncorrected.record((endMs - sentMs) * 1000);
    // Fortio's seconds from the send (periodic.go runOne: time.Since(fStart).Seconds()).
    const fromSendS = goSeconds(endMs - sentMs);
    this.fortioDuration.record(fromSendS);
    if (!ok) this.fortioErrors.record(fromSendS);
    this.fortioSizes.record(outcome.headerBytes + outcome.bodyBytes);
    this.fortioHeaderSizes.record(outcome.headerBytes);
    let codeLatency = this.byCode.get(status);
    if (codeLatency === undefined) {
      codeLatency = new Distribution();
      this.byCode.set(status, codeLatency);
    }
    codeLatency.record(correctedUs);
    this.codeCounts.set(status, (this.codeCounts.get(status) ?? 0) + 1);
    if (!ok) {
      // Only failures are classified: an OK response costs nothing here.
      this.errorLatency.record(correctedUs);
      const cause = classifyFailure(outcome);
      if (cause !== undefined) this.causeCounts.set(cause, (this.causeCounts.get(cause) ?? 0) + 1);
    }
    // Only present behind a tagged or echoing server: nothing to do on the common path.
    if (outcome.version !== undefined) this.versionCounts.set(outcome.version, (this.versionCounts.get(outcome.version) ?? 0) + 1);
    if (outcome.attempt > 0) this.attemptCounts.set(outcome.attempt, (this.attemptCounts.get(outcome.attempt) ?? 0) + 1);
    if (outcome.clamped === true) this.clampedCount++;
    // gRPC calls only; the name is a constant string from the transport's tables.
    const grpcName = outcome.grpcName;
    if (grpcName !== undefined) this.grpcCounts.set(grpcName, (this.grpcCounts.get(grpcName) ?? 0) + 1);
    if (status === -1) {
      const kind = outcome.errorKind ?? 'other';
      const seen = this.errorKinds.get(kind);
      this.errorKinds.set(kind, (seen ?? 0) + 1);
      // Sampled once per kind: later errors of a kind cost nothing more.
      if (seen === undefined && outcome.errorMessage !== undefined) this.errorSamples.set(kind, errorSample(outcome.errorMessage));
    } else {
      this.headerSizes.record(outcome.headerBytes);
      this.totalSizes.record(outcome.headerBytes + outcome.bodyBytes);
    }
    this.tick(endMs);
    this.secondRequests++;
    this.secondCodes.set(status, (this.secondCodes.get(status) ?? 0) + 1);
    this.secondLatency.record(correctedUs);
  }

  lateSends = 0;

  /** How late a send was against its slot (paced and open runs). */
  recordLag(lagMs: number): void {
    this.scheduleLag.record(lagMs * 1000);
    if (lagMs > LATE_SEND_MS) this.lateSends++;
  }

  /** Closes the timeline steps before `nowMs`. */
  private tick(nowMs: number): void {
    const elapsedMs = nowMs - this.startMs;
    // Divided again after each flush: a flush may thin the step to a second.
    while (this.second < Math.floor(elapsedMs / this.stepMs)) this.flushSecond();
  }

  private flushSecond(): void {
    this.timeline.push({
      // An integer product over 1000: 0.3, never 0.30000000000000004.
      second: (this.second * this.stepMs) / 1000,
      requests: this.secondRequests,
      codes: codeObject(this.secondCodes),
      p50Us: this.secondLatency.percentile(50),
      p99Us: this.secondLatency.percentile(99),
    });
    this.second++;
    this.secondRequests = 0;
    this.secondCodes = new Map();
    this.secondLatency.reset();
    // At a whole second only, so every second of the thinned timeline is complete.
    if (this.stepMs < 1000 && this.timeline.length > MAX_FINE_STEPS && (this.second * this.stepMs) % 1000 === 0) this.coarsen();
  }

  /** Turns the fine timeline into whole seconds (as mergeTimelines combines parts: the p50
   * weighted by calls, the p99 the largest: an upper bound) and goes on by the second. */
  private coarsen(): void {
    const perSecond = Math.round(1000 / this.stepMs);
    const seconds: TimelineSecond[] = [];
    for (const entry of this.timeline) {
      const second = Math.floor(entry.second);
      let last = seconds[seconds.length - 1];
      if (last === undefined || last.second !== second) {
        last = { second, requests: 0, codes: {}, p50Us: 0, p99Us: 0 };
        seconds.push(last);
      }
      const calls = last.requests + entry.requests;
      last.p50Us = calls > 0 ? Math.round((last.p50Us * last.requests + entry.p50Us * entry.requests) / calls) : 0;
      last.p99Us = Math.max(last.p99Us, entry.p99Us);
      last.requests = calls;
      for (const [code, n] of Object.entries(entry.codes)) last.codes[code] = (last.codes[code] ?? 0) + n;
    }
    this.timeline = seconds;
    this.second /= perSecond;
    this.stepMs = 1000;
  }

  finish(endMs: number): RecordedRun {
    this.tick(endMs);
    if (this.secondRequests > 0) this.flushSecond();
    const latencyByCode: Record<string, EncodedDistribution> = {};
    for (const [code, d] of [...this.byCode].sort((a, b) => a[0] - b[0])) latencyByCode[String(code)] = d.encode();
    const errorsByKind: Partial<Record<ErrorKind, number>> = {};
    for (const [kind, n] of this.errorKinds) errorsByKind[kind] = n;
    const errorSamples: Partial<Record<ErrorKind, string>> = {};
    for (const [kind, text] of this.errorSamples) errorSamples[kind] = text;
    const causes: Partial<Record<FailureCause, number>> = {};
    for (const [cause, n] of this.causeCounts) causes[cause] = n;
    const versions: Record<string, number> = {};
    // The order mergeResults sorts in, so one run and a merge of parts print alike.
    for (const [version, n] of [...this.versionCounts].sort((a, b) => a[0].localeCompare(b[0]))) versions[version] = n;
    return {
      codes: codeObject(this.codeCounts),
      errorsByKind,
      errorSamples,
      causes,
      versions,
      attempts: codeObject(this.attemptCounts),
      clamped: this.clampedCount,
      ...(this.grpcCounts.size > 0 ? { grpcStatuses: Object.fromEntries([...this.grpcCounts].sort((a, b) => a[0].localeCompare(b[0]))) } : {}),
      latency: this.latency.encode(),
      latencyUncorrected: this.latencyUncorrected.encode(),
      fortio: {
        duration: this.fortioDuration.encode(),
        errors: this.fortioErrors.encode(),
        sizes: this.fortioSizes.encode(),
        headerSizes: this.fortioHeaderSizes.encode(),
      },
      latencyByCode,
      errorLatency: this.errorLatency.encode(),
      headerSizes: this.headerSizes.encode(),
      totalSizes: this.totalSizes.encode(),
      scheduleLag: this.scheduleLag.encode(),
      timeline: this.timeline,
      timelineStepMs: this.stepMs,
    };
  }
}

function codeObject(counts: Map<number, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [code, n] of [...counts].sort((a, b) => a[0] - b[0])) out[String(code)] = n;
  return out;
}
