/** Fortio's `-json` result (fhttp.HTTPRunnerResults, flattened as Go marshals it), plus meshload's
 * whole result under `Meshload`. Fortio's UI, Nighthawk's converter and CI greps read the Fortio
 * fields; meshload's own data goes beside them, never instead of them. */
import { redactPlan } from '../engine/load-plan';
import type { LoadResult } from '../engine/load-result';
import { Distribution } from '../metrics/distribution';
import { type FortioHistogram, toFortioHistogram } from './fortio-histogram';
import { fortioRunShape } from './fortio-run-shape';

/** Field order is Go's: RunnerResults' fields, then HTTPRunnerResults' (with HTTPOptions' URL and
 * NumConnections), as json.MarshalIndent writes them. */
export type FortioJsonResult = {
  RunType: 'HTTP';
  Labels: string;
  /** RFC 3339 with Go's trimmed fraction (RFC3339Nano), in UTC. */
  StartTime: string;
  RequestedQPS: string;
  RequestedDuration: string;
  ActualQPS: number;
  /** Integer nanoseconds (Go's time.Duration). */
  ActualDuration: number;
  NumThreads: number;
  Version: string;
  /** Corrected latency, seconds. */
  DurationHistogram: FortioHistogram;
  ErrorsDurationHistogram: FortioHistogram;
  Exactly: number;
  Jitter: boolean;
  Uniform: boolean;
  NoCatchUp: boolean;
  RunID: number;
  ID: string;
  RetCodes: Record<string, number>;
  URL: string;
  /** HTTPOptions.NumConnections: connections per thread, 1 for Fortio's (and meshload's) clients. */
  NumConnections: number;
  Sizes: FortioHistogram;
  HeaderSizes: FortioHistogram;
  SocketCount: number;
  AbortOn: number;
  Meshload: LoadResult;
};

const US_TO_S = 1e-6;

export function toFortioJson(result: LoadResult): FortioJsonResult {
  // Results are redacted when made; again here, cheaply, for results read from older files.
  const plan = redactPlan(result.plan);
  const shape = fortioRunShape(plan);
  const percentiles = plan.percentiles;
  const latency = toFortioHistogram(Distribution.decode(result.latency), US_TO_S, 'duration', percentiles);
  const exactly = plan.requests !== undefined && plan.requests > 0 ? plan.requests : 0;
  let requestedDuration = shape.requestedDuration;
  // periodic.Run: an -n run that stopped short says so in RequestedDuration.
  if (exactly > 0 && latency.Count !== exactly) requestedDuration += `, interrupted after ${latency.Count}`;
  const startTime = new Date(result.startTime);
  const retCodes: Record<string, number> = {};
  for (const code of Object.keys(result.codes).sort((a, b) => Number(a) - Number(b))) retCodes[code] = result.codes[code] ?? 0;
  return {
    RunType: 'HTTP',
    Labels: plan.labels,
    StartTime: rfc3339Nano(startTime),
    RequestedQPS: shape.requestedQps,
    RequestedDuration: requestedDuration,
    ActualQPS: result.actualQps,
    ActualDuration: Math.round(result.durationMs * 1e6),
    NumThreads: shape.threads,
    Version: result.version,
    DurationHistogram: latency,
    ErrorsDurationHistogram: toFortioHistogram(Distribution.decode(result.errorLatency), US_TO_S, 'duration', percentiles),
    Exactly: exactly,
    Jitter: plan.jitter,
    Uniform: plan.uniform,
    NoCatchUp: plan.noCatchUp,
    RunID: 0,
    ID: fortioRunId(startTime, plan.labels),
    RetCodes: retCodes,
    URL: plan.url,
    NumConnections: 1,
    Sizes: toFortioHistogram(Distribution.decode(result.totalSizes), 1, 'size'),
    HeaderSizes: toFortioHistogram(Distribution.decode(result.headerSizes), 1, 'header-size'),
    SocketCount: result.socketsUsed,
    AbortOn: plan.abortOn ?? 0,
    Meshload: { ...result, plan },
  };
}

/** Go's time.RFC3339Nano (fraction without trailing zeros), in UTC. */
export function rfc3339Nano(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction === '' ? '' : '.' + fraction}Z`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** periodic.RunnerResults ID: `YYYY-MM-DD-HHMMSS[_RunID][_labels]` in the start time's zone, which
 * for Fortio is local time (time.Now()); so here too. Each run of non-alphanumeric characters
 * (ASCII letters and digits only) in the labels becomes one `_`, a trailing `_` is dropped, and the
 * whole is cut at 96 bytes. */
export function fortioRunId(startTime: Date, labels: string, runId = 0): string {
  let base =
    `${startTime.getFullYear()}-${pad2(startTime.getMonth() + 1)}-${pad2(startTime.getDate())}-` +
    `${pad2(startTime.getHours())}${pad2(startTime.getMinutes())}${pad2(startTime.getSeconds())}`;
  if (runId !== 0) base += `_${runId}`;
  if (labels === '') return base;
  let last = '_';
  base += last;
  for (const ch of labels) {
    if (/^[a-zA-Z0-9]$/.test(ch)) {
      last = ch;
    } else {
      if (last === '_') continue; // one separator at a time
      last = '_';
    }
    base += last;
  }
  if (last === '_') base = base.slice(0, -1);
  return base.length > 96 ? base.slice(0, 96) : base;
}

/** The file `-a` saves into -data-dir: the run ID plus ".json". */
export function fortioFileName(startTime: Date, labels: string): string {
  return `${fortioRunId(startTime, labels)}.json`;
}
