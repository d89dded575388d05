/** Fortio's human text for `load`, line for line (what Istio runbooks and CI scripts grep), with
 * meshload's own lines where Fortio prints logs, never among its own. Pure: result in, string
 * out. Format strings are Fortio's, verbatim, run through goSprintf. */
import { fortioGrpcLines } from './grpc-text';
import { shownUrl, type LoadPlan } from '../../model/load-plan';
import { errorSample, type LoadResult } from '../../model/load-result';
import { ERROR_KINDS } from '../../model/outcome';
import { fellBehindText } from '../../model/achieved-rate';
import { Distribution } from '../../metrics/distribution';
import type { EncodedDistribution } from '../../model/encoded-histograms';
import { describeCause, FAILURE_CAUSES } from '../../model/failure-cause';
import { fortioViewOf, scaleValue } from './histogram';
import { fortioRunShape } from './run-shape';
import { goDuration, goSprintf } from './go-format';
import { fortioIpLines, fortioSleepLines, fortioSocketLines } from './connection-lines';
import { fortioCounterLine, fortioHistogramLines } from './histogram-lines';
import { fortioIpCountMap } from './json';
import { logsAt, type LogLevel } from '../../util/log-level';

/** Microseconds (how meshload records latency) to seconds (how Fortio reports it). */
const US_TO_S = 1e-6;

export interface StartInfo {
  version: string;
  /** Fortio prints GOMAXPROCS before and after -gomaxprocs; meshload's worker-thread count. */
  procs: number;
  /** -qps as typed (or -calc-qps's): fortio_main.go:382 prints it before turning <= 0 into max
   * speed, so `-qps -1` says "running at -1". The plan's rate when absent. */
  typedQps?: number;
}

export type StartPlan = Pick<LoadPlan, 'url' | 'typedUrl' | 'qps' | 'connections' | 'durationMs' | 'requests' | 'open'>;

/** The two lines Fortio prints as a run starts (fortio_main's "running at" line, then periodic's
 * "Starting at" line), with "meshload <version>" for "Fortio <version>". */
export function renderStartLines(plan: StartPlan, info: StartInfo): string {
  const exactly = plan.requests !== undefined && plan.requests > 0 ? plan.requests : 0;
  let first = goSprintf('meshload %s running at %g queries per second, %d->%d procs', info.version, info.typedQps ?? plan.qps, info.procs, info.procs);
  // fortio_main.go prints httpOpts.URL as typed (before HTTPOptions.Init adds a scheme). The plan
  // as given, before the run made it result data: its URL may still hold credentials.
  const url = shownUrl(plan);
  if (exactly > 0) first += goSprintf(', for %d calls: %s', exactly, url);
  else if (plan.durationMs <= 0) first += goSprintf(', until interrupted: %s', url);
  else first += goSprintf(', for %s: %s', goDuration(plan.durationMs * 1e6), url);

  const shape = fortioRunShape(plan);
  // Fortio appends such context (its access logger) at the end of the line; so does the open model.
  const extra = plan.open === undefined ? '' : ` (open model, at most ${plan.open.maxInflight} in flight)`;
  const head = plan.qps > 0 ? goSprintf('Starting at %g qps', plan.qps) : 'Starting at max qps';
  const who = goSprintf('%s with %d thread(s) [gomax %d]', head, shape.threads, info.procs);
  let second: string;
  if (exactly === 0 && plan.durationMs <= 0) {
    second = `${who} until interrupted${extra}`;
  } else if (plan.qps <= 0) {
    second = exactly > 0 ? goSprintf('%s for %s (%d per thread + %d)%s', who, shape.requestedDuration, shape.perThread, shape.leftOver, extra) : `${who} for ${shape.requestedDuration}${extra}`;
  } else if (exactly > 0) {
    second = goSprintf('%s : exactly %d, %d calls each (total %d + %d)%s', who, exactly, shape.perThread, shape.total, shape.leftOver, extra);
  } else {
    second = goSprintf('%s for %s : %d calls each (total %d)%s', who, shape.requestedDuration, shape.perThread, shape.total, extra);
  }
  return `${first}\n${second}\n`;
}

function sameDistribution(a: EncodedDistribution, b: EncodedDistribution): boolean {
  return a.count === b.count && a.sum === b.sum && a.sumSq === b.sumSq && a.min === b.min && a.max === b.max && a.hdr === b.hdr;
}

/** meshload's percentiles of a distribution (HDR, microseconds), in seconds, clamped to its
 * exact [min, max]: "p50 0.0521, p99 0.0534". */
function percentileList(d: Distribution, percentiles: readonly number[]): string {
  return percentiles.map((p) => goSprintf('p%g %.6g', p, scaleValue(Math.min(d.max, Math.max(d.min, d.percentile(p))), US_TO_S))).join(', ');
}

/** From "Ended after" through "All done", in Fortio's order and with Fortio's meaning: latency
 * from each call's actual send, in Fortio's buckets, percentiles by its CalcPercentile. meshload's
 * own lines (the latency corrected for coordinated omission, pacing, causes, why a run stopped)
 * come first, where Fortio logs its per-thread "ended after" lines: Fortio's summary from "Ended
 * after" to "All done" stays whole, with "All done" last, as scripts reading the tail expect. Includes two lines current Fortio prints that FORTIO-COMPAT.md's trimmed example
 * leaves out: "Error cases" (periodic.Run) and "Uniform: ..." (httprunner). The socket, IP and
 * sleep lines are Fortio's at `level` (-loglevel; -quiet is Error). `warmupShown` is what "All
 * done" says of the warm-up: Fortio prints -c there, 0 with -n (fortio_main.go:482-485), which a
 * result with its threads lowered by runQPSSetup no longer knows; the calls made by default. */
export function renderLoadText(result: LoadResult, level: LogLevel = 'Info', warmupShown: number = result.warmupRequests): string {
  const plan = result.plan;
  const shape = fortioRunShape(plan);
  const fortio = fortioViewOf(result);
  const latency = fortio.duration;
  const lines: string[] = [];

  const warning = logsAt(level, 'Warning');
  lines.push(...meshloadLines(result));
  // periodic.go:596-597: "Ended after" only at Warning and above.
  if (warning) lines.push(goSprintf('Ended after %s : %d calls. qps=%.5g', goDuration(result.durationMs * 1e6), latency.Count, result.actualQps));
  lines.push(...fortioSleepLines(result, level));
  if (warning) {
    lines.push(...fortioHistogramLines('Aggregated Function Time', latency));
    lines.push(...fortioHistogramLines('Error cases', fortio.errors));
  } else {
    // periodic.go:645-651: below Warning the counters and the targets, no buckets.
    lines.push(fortioCounterLine('Aggregated Function Time', latency));
    for (const p of latency.Percentiles ?? []) lines.push(goSprintf('# target %g%% %.6g', p.Percentile, p.Value));
    lines.push(fortioCounterLine('Error cases', fortio.errors));
  }
  if (plan.grpc !== undefined) {
    // Fortio's gRPC runner has no socket, IP, code or size lines: its ret codes by gRPC name.
    lines.push(...fortioGrpcLines(result, plan.grpc.kind, plan.jitter));
  } else {
    lines.push(...fortioSocketLines(result, level));
    lines.push(goSprintf('Sockets used: %d (for perfect keepalive, would be %d)', result.socketsUsed, shape.threads));
    lines.push(goSprintf('Uniform: %t, Jitter: %t, Catchup allowed: %t', plan.uniform, plan.jitter, !plan.noCatchUp));
    lines.push(...fortioIpLines(result, fortioIpCountMap(plan.url, shape.threads)));
    // sort.Ints on the codes; percentages are of the timed calls (DurationHistogram.Count).
    const codes = Object.keys(result.codes)
      .map(Number)
      .sort((a, b) => a - b);
    for (const code of codes) {
      const n = result.codes[String(code)] ?? 0;
      lines.push(goSprintf('Code %3d : %d (%.1f %%)', code, n, (100 * n) / latency.Count));
    }
    // httprunner.go:287-293: the size histograms at Verbose, their counters down to Warning, none below.
    if (logsAt(level, 'Verbose')) {
      lines.push(...fortioHistogramLines('Response Header Sizes Histogram', fortio.headerSizes));
      lines.push(...fortioHistogramLines('Response Body/Total Sizes Histogram', fortio.sizes));
    } else if (warning) {
      lines.push(fortioCounterLine('Response Header Sizes', fortio.headerSizes));
      lines.push(fortioCounterLine('Response Body/Total Sizes', fortio.sizes));
    }
  }
  lines.push(goSprintf('All done %d calls (plus %d warmup) %.3f ms avg, %.1f qps', latency.Count, warmupShown, 1000 * latency.Avg, result.actualQps));
  return lines.join('\n') + '\n';
}

/** What Fortio cannot say: coordinated omission, pacing quality, why a run stopped. */
function meshloadLines(result: LoadResult): string[] {
  const plan = result.plan;
  const lines: string[] = [];
  // Only when it differs from the latency from the send (paced and open runs): a closed loop at
  // max speed sends each call when it is due.
  if (result.latency.count > 0 && !sameDistribution(result.latency, result.latencyUncorrected)) {
    const d = Distribution.decode(result.latency);
    lines.push(
      goSprintf(
        'Latency corrected for coordinated omission (from intended send; the Fortio lines measure from actual send) : avg %.8g, %s, max %g',
        d.mean() * US_TO_S,
        percentileList(d, plan.percentiles),
        scaleValue(d.max, US_TO_S),
      ),
    );
  }
  if (result.scheduleLag.count > 0) {
    const d = Distribution.decode(result.scheduleLag);
    lines.push(goSprintf('Schedule lag (actual send after intended send) : %s, max %g', percentileList(d, [50, 99]), scaleValue(d.max, US_TO_S)));
  }
  if (result.skippedSlots > 0) lines.push(goSprintf('Skipped slots (-nocatchup) : %d', result.skippedSlots));
  if (result.droppedSends > 0) lines.push(goSprintf('Dropped sends (in-flight cap full) : %d', result.droppedSends));
  if (result.lateSends > 0) lines.push(goSprintf('Late sends (over 1ms after their slot) : %d', result.lateSends));
  if (result.fellBehind) lines.push(`WARNING ${fellBehindText(plan, result.actualQps)}`);
  const kinds = ERROR_KINDS.filter((kind) => (result.errorsByKind[kind] ?? 0) > 0);
  if (kinds.length > 0) lines.push('Socket errors: ' + kinds.map((kind) => `${kind} ${result.errorsByKind[kind] ?? 0}`).join(', '));
  // The reason behind each kind, from its first occurrence; cleaned again, as a merged file may
  // come from anywhere.
  for (const kind of kinds) {
    const sample = result.errorSamples[kind];
    if (sample !== undefined && sample !== '') lines.push(`Errors ${kind}: ${result.errorsByKind[kind] ?? 0} (e.g. ${errorSample(sample)})`);
  }
  if (result.resends > 0) {
    const why = plan.h2 ? 'HTTP/2 streams the server did not process: GOAWAY or REFUSED_STREAM' : 'GET on a keep-alive socket closed before any response byte';
    lines.push(goSprintf('Resent automatically: %d (%s; counted once)', result.resends, why));
  }
  // One line per cause, shaped like Fortio's "Code" lines so scripts can grep them the same way.
  const calls = result.latency.count;
  for (const cause of FAILURE_CAUSES) {
    const n = result.causes[cause] ?? 0;
    if (n > 0) lines.push(goSprintf('Cause %s : %d (%.1f %%) %s', cause, n, (100 * n) / calls, describeCause(cause)));
  }
  // Fortio says only SERVING or ERROR for gRPC; meshload names every status.
  for (const [name, n] of Object.entries(result.grpcStatuses ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(goSprintf('gRPC %s : %d (%.1f %%)', name, n, (100 * n) / calls));
  }
  if (result.stopReason !== undefined) {
    const detail = result.stopDetail === undefined || result.stopDetail === '' ? '' : `: ${result.stopDetail}`;
    lines.push(`Stopped early (${result.stopReason})${detail}`);
  }
  return lines;
}

