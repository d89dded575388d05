/** The outcome of a load run: plain, serialisable data (JSON as is), mergeable across worker
 * threads and generators. Latency is in microseconds, sizes in bytes. A run that stops early
 * (Ctrl-C, -abort-on, a failed warm-up) still produces one, marked as such. */
import type { EncodedDistribution, EncodedFortioHistogram } from './encoded-histograms';
import type { ConnectionsReport } from './connections-report';
import type { FailureCause } from './failure-cause';
import type { SidecarReport } from './sidecar-report';
import type { LoadPlan } from './load-plan';
import type { ErrorKind } from './outcome';

/** One step of the timeline: a second, or `timelineStepMs` when the result says so. */
export interface TimelineSecond {
  /** Seconds since the timed run started, at the step's start (0, 1, 2; or 0, 0.1, 0.2 in a
   * fine timeline). */
  second: number;
  requests: number;
  /** By status code as a string ("200", "503", "-1"). */
  codes: Record<string, number>;
  p50Us: number;
  p99Us: number;
}

/** A failed warm-up as `load` prints it: Fortio's text after "Aborting because of ", and what
 * meshload adds on a line before it. */
export interface WarmupAbort {
  fortio: string;
  meshload: string;
}

export interface LoadResult {
  tool: 'meshload';
  version: string;
  /** The plan as run, with secret header values replaced by "<redacted>" and the payload
   * replaced by its size (`payload` is not serialised). */
  plan: Omit<LoadPlan, 'payload'> & { payloadBytes: number };
  /** ISO 8601, when the timed run started (after warm-up). */
  startTime: string;
  /** From the start of the timed run to the last completion. */
  durationMs: number;
  /** Completed timed calls per second. */
  actualQps: number;
  /** Why the run ended before its plan: undefined when it completed. */
  stopReason: 'interrupted' | 'abort-on' | 'warmup-failed' | undefined;
  /** Human detail of the stop ("-abort-on 503: got 503"). */
  stopDetail: string | undefined;
  /** A failed warm-up's abort, split as `load` prints it: Fortio's text after "Aborting because
   * of ", and meshload's addition (socket error, way out). stopDetail holds both in one line. */
  warmupAbort?: WarmupAbort;
  /** Untimed warm-up requests sent (one per connection). */
  warmupRequests: number;
  /** Sockets opened during the timed run, warm-up included (Fortio's "Sockets used"). */
  socketsUsed: number;
  /** Timed calls by status code as a string; "-1" for socket errors. */
  codes: Record<string, number>;
  /** Socket errors by kind; their total equals codes["-1"]. */
  errorsByKind: Partial<Record<ErrorKind, number>>;
  /** The first error message seen for each kind in errorsByKind (one line, at most
   * ERROR_SAMPLE_CHARS characters), so the reason for an error reaches the user. */
  errorSamples: Partial<Record<ErrorKind, string>>;
  /** Requests the transports sent again by themselves (a GET whose idle keep-alive socket
   * closed before any response byte, an HTTP/2 stream the server did not process); each call
   * is still counted once. */
  resends: number;
  /** Every call that was not OK, by cause (breaker, timeout, fault, no_healthy, reset, app,
   * client_timeout, socket), read from its status, headers and first body bytes. */
  causes: Partial<Record<FailureCause, number>>;
  /** Calls by their `x-version` response header (meshload server -version-tag): which subset
   * answered. Empty when no response carried one. */
  versions: Record<string, number>;
  /** Calls by the `x-envoy-attempt-count` their upstream echoed (meshload server behind Envoy):
   * "2" counts responses produced by the first retry. Empty when no response carried one. */
  attempts: Record<string, number>;
  /** Responses carrying `x-meshload-clamped`: the meshload server capped the delay or size the
   * call asked for, so the upstream was not what the plan asked. Absent in older results. */
  clamped?: number;
  /** gRPC runs only: calls by gRPC status name ("OK", "Unavailable", "DeadlineExceeded"), and
   * health checks answered but not SERVING by their serving status ("NOT_SERVING"). */
  grpcStatuses?: Record<string, number>;
  /** Every timed call, from its intended send time (coordinated omission corrected). For
   * closed-loop runs at max speed intended and actual send are the same instant. */
  latency: EncodedDistribution;
  /** Every timed call, from its actual send time: what Fortio reports. */
  latencyUncorrected: EncodedDistribution;
  /** Fortio's own histograms, recorded call by call as Fortio records them (see
   * FortioRecorded); the Fortio-shaped text and JSON come from these. Absent in results written
   * before meshload kept them, and in merges with such results. */
  fortio?: FortioRecorded;
  /** Corrected latency per status code. */
  latencyByCode: Record<string, EncodedDistribution>;
  /** Corrected latency of calls that were not OK (not 2xx, or -1): Fortio's ErrorsDurationHistogram. */
  errorLatency: EncodedDistribution;
  /** Response header bytes (status line and headers). */
  headerSizes: EncodedDistribution;
  /** Response bytes, headers and body (Fortio's "Response Body/Total Sizes"). */
  totalSizes: EncodedDistribution;
  /** How late each send was against its schedule (paced and open runs; empty otherwise). */
  scheduleLag: EncodedDistribution;
  /** -nocatchup: slots skipped because they were already late. */
  skippedSlots: number;
  /** Open model: sends that found the in-flight cap full and were dropped. */
  droppedSends: number;
  /** Paced and open runs: sends more than 1 ms after their due time (Node's timer resolution);
   * how late they were is in `scheduleLag`. */
  lateSends: number;
  /** Paced or open runs whose achieved rate was under 95% of the requested one. */
  fellBehind: boolean;
  timeline: TimelineSecond[];
  /** The timeline's step: 100 for a run planned to last at most 10 s, else 1000 (older results
   * lack it: 1000). */
  timelineStepMs?: number;
  /** What the proxy did (with --stats or --stats-cmd): deltas, gauges, agreement, diagnostics. */
  sidecar?: SidecarReport;
  /** Fortio's per-connection view, measured: sockets, peer addresses and dial times per
   * connection (metrics/connection-stats.ts). Absent in results of older versions. */
  connections?: ConnectionsReport;
  /** Paced runs: every pause of the pacing loop, in seconds, as Fortio's "Sleep times"
   * histogram (a negative pause is a late slot). Absent at max speed and in the open model. */
  sleepTimes?: EncodedFortioHistogram;
}

/** Fortio's stats.Histogram of each thing Fortio measures, kept exactly as Fortio keeps them, so
 * Fortio-shaped output compares with Fortio's own: latency from the actual send (periodic.go
 * runOne: time.Since(fStart) around Run), in seconds, at -r and -offset; sizes in bytes, every
 * call counted (httprunner.go Run records them whatever the code). */
export interface FortioRecorded {
  /** DurationHistogram: every timed call. */
  duration: EncodedFortioHistogram;
  /** ErrorsDurationHistogram: calls that were not OK (not 2xx or 418, or -1). */
  errors: EncodedFortioHistogram;
  /** Sizes: response bytes, headers and body (NewHistogram(0, 100)). */
  sizes: EncodedFortioHistogram;
  /** HeaderSizes: response header bytes (NewHistogram(0, 5)). */
  headerSizes: EncodedFortioHistogram;
}

/** The timeline step of a result, 1000 when absent or unusable (a hand-edited file). */
export function timelineStepOf(result: Pick<LoadResult, 'timelineStepMs'>): number {
  const step = result.timelineStepMs;
  return typeof step === 'number' && Number.isInteger(step) && step >= 10 && step <= 60_000 ? step : 1000;
}

/** Longest error sample kept: enough for the reason, never a whole hostile response. */
export const ERROR_SAMPLE_CHARS = 200;

/** An error message as one printable line of at most ERROR_SAMPLE_CHARS characters: messages
 * can quote bytes from the network (a bad chunk size line), which must not move a terminal's
 * cursor or fill a screen. */
export function errorSample(message: string): string {
  // C0 and C1 controls, DEL, and bidi overrides or isolates become spaces; runs of space collapse.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  const line = message.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, ' ').replace(/ {2,}/g, ' ').trim();
  if (line.length <= ERROR_SAMPLE_CHARS) return line;
  // Cut on a code point, not between the halves of a surrogate pair.
  return `${Array.from(line).slice(0, ERROR_SAMPLE_CHARS - 3).join('')}...`;
}

/** A LoadResult as stored by an older meshload, without the fields added since. */
export type StoredLoadResult = Omit<LoadResult, 'errorSamples' | 'resends'> & Partial<Pick<LoadResult, 'errorSamples' | 'resends'>>;

/** A stored result with the fields older versions did not write filled in: no resends, no
 * samples. Returns `stored` itself when nothing is missing. */
export function upgradeLoadResult(stored: StoredLoadResult): LoadResult {
  if (typeof stored.resends === 'number' && typeof stored.errorSamples === 'object' && stored.errorSamples !== null) return stored as LoadResult;
  return {
    ...stored,
    resends: typeof stored.resends === 'number' ? stored.resends : 0,
    errorSamples: typeof stored.errorSamples === 'object' && stored.errorSamples !== null ? stored.errorSamples : {},
  };
}
