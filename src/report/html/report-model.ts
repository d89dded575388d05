/** A scenario result as the HTML report shows it: every number the page prints or charts,
 * computed here in Node (histograms decoded, shares and rates worked out), so the page's script
 * only draws. Pure: a ScenarioResult in, plain data out. Tolerates results written by older
 * versions: optional fields missing mean "no data", never zeros. */
import type { LoadResult } from '../../model/load-result';
import { notOkCalls } from '../../model/outcome';
import { shownPhaseVerdict, shownResultVerdict, type CheckResult, type ScenarioResult, type ShownVerdict, type StepResult, type Verdict } from '../../scenario/scenario-result';
import { describeCause, FAILURE_CAUSES, type FailureCause } from '../../model/failure-cause';
import { redactUrl } from '../../util/redact';
import { describeRun, type RunDescription } from './run-description';
import { codeLatencyRows, latencyModel, type CodeLatencyRow, type LatencyModel } from './latency-model';
import { gaugesOverPhases, sidecarModel, type GaugesOverPhases, type SidecarModel } from './sidecar-model';
import { timelineModel, type TimelineModel } from './timeline-model';
import { trafficGraphs, type TrafficGraph } from './traffic-model';

export interface CheckRow extends Pick<CheckResult, 'path' | 'expression' | 'expected' | 'observed' | 'verdict' | 'reason'> {
  phase: string;
}

export interface CauseRow {
  cause: FailureCause;
  count: number;
  /** Percent of the phase's calls. */
  sharePct: number;
  description: string;
}

export interface LoadSummary {
  calls: number;
  rps: number;
  durationMs: number;
  /** Percent of calls not OK (not 2xx or 418; socket errors included). */
  errorRatePct: number;
  stopReason: LoadResult['stopReason'];
  stopDetail: string | undefined;
  fellBehind: boolean;
  url: string | undefined;
}

export interface PhaseModel {
  index: number;
  name: string;
  verdict: Verdict;
  /** `no_checks` for a phase that checked nothing and did not fail. */
  shownVerdict: ShownVerdict;
  steps: StepResult[];
  /** undefined: the phase ran no load. */
  load: LoadSummary | undefined;
  /** undefined: no load, or a load without calls. */
  latency: LatencyModel | undefined;
  codes: CodeLatencyRow[];
  causes: CauseRow[];
  /** gRPC loads: calls by gRPC status name, most first; empty for HTTP. */
  grpcStatuses: Array<[string, number]>;
  /** undefined: the phase's load was not watched (no sidecar: in the scenario). */
  sidecar: SidecarModel | undefined;
  traffic: TrafficGraph[];
}

export interface ReportModel {
  title: string;
  name: string;
  file: string;
  source: string | undefined;
  startTime: string;
  durationMs: number;
  verdict: Verdict;
  /** `no_checks` for a run that checked nothing and did not fail (a plain load's JSON). */
  shownVerdict: ShownVerdict;
  interrupted: boolean;
  /** What was run, for the page's head. */
  run: RunDescription;
  checkCounts: Record<Verdict, number>;
  checks: CheckRow[];
  phases: PhaseModel[];
  always: StepResult[];
  timeline: TimelineModel | undefined;
  gauges: GaugesOverPhases | undefined;
}

function loadSummary(load: LoadResult): LoadSummary {
  const codes = load.codes ?? {};
  const calls = Object.values(codes).reduce((sum, n) => sum + n, 0);
  const failed = notOkCalls(codes);
  return {
    calls,
    rps: load.actualQps,
    durationMs: load.durationMs,
    errorRatePct: calls > 0 ? (failed * 100) / calls : 0,
    stopReason: load.stopReason,
    stopDetail: load.stopDetail,
    fellBehind: load.fellBehind === true,
    url: load.plan?.url === undefined ? undefined : redactUrl(load.plan.url),
  };
}

function causeRows(load: LoadResult, calls: number): CauseRow[] {
  const causes = load.causes ?? {};
  return FAILURE_CAUSES.filter((cause) => (causes[cause] ?? 0) > 0).map((cause) => {
    const count = causes[cause] ?? 0;
    return { cause, count, sharePct: calls > 0 ? (count * 100) / calls : 0, description: describeCause(cause) };
  });
}

/** A check's reason; results written before failed comparisons had one get the plain facts,
 * so no failed row is left without a why. */
function reasonOf(check: CheckResult): string | undefined {
  if (typeof check.reason === 'string' && check.reason.trim() !== '') return check.reason;
  if (check.verdict === 'pass') return undefined;
  return `observed ${check.observed ?? 'no data'}, expected ${check.expected}`;
}

export function buildReportModel(result: ScenarioResult, options: { title?: string; source?: string } = {}): ReportModel {
  const phases = result.phases.map((phase, index): PhaseModel => {
    const load = phase.load;
    const summary = load === undefined ? undefined : loadSummary(load);
    return {
      index,
      name: phase.name,
      verdict: phase.verdict,
      shownVerdict: shownPhaseVerdict(phase),
      steps: phase.steps ?? [],
      load: summary,
      latency: load === undefined ? undefined : latencyModel(load),
      codes: load === undefined ? [] : codeLatencyRows(load),
      causes: load === undefined || summary === undefined ? [] : causeRows(load, summary.calls),
      grpcStatuses: Object.entries(load?.grpcStatuses ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
      sidecar: load?.sidecar === undefined ? undefined : sidecarModel(load.sidecar),
      traffic: load === undefined ? [] : trafficGraphs(load),
    };
  });
  const checks = result.phases.flatMap((phase) =>
    (phase.checks ?? []).map((c): CheckRow => ({ phase: phase.name, path: c.path, expression: c.expression, expected: c.expected, observed: c.observed, verdict: c.verdict, reason: reasonOf(c) })),
  );
  const checkCounts: Record<Verdict, number> = { pass: 0, fail: 0, no_data: 0, inconclusive: 0 };
  for (const check of checks) checkCounts[check.verdict] = (checkCounts[check.verdict] ?? 0) + 1;
  return {
    title: options.title ?? result.name,
    name: result.name,
    file: result.file,
    source: options.source,
    startTime: result.startTime,
    durationMs: result.durationMs,
    verdict: result.verdict,
    shownVerdict: shownResultVerdict(result),
    interrupted: result.interrupted === true,
    run: describeRun(result),
    checkCounts,
    checks,
    phases,
    always: result.always ?? [],
    timeline: timelineModel(result),
    gauges: gaugesOverPhases(result),
  };
}
