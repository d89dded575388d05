/** `--baseline result.json --tolerance 10%`: the gate also fails when a phase's p99 or error rate
 * regressed against an earlier run of the same scenario. Phases are matched by name. Pure. */
import type { LoadResult } from '../model/load-result';
import { notOkCalls } from '../model/outcome';
import { Distribution } from '../metrics/distribution';
import type { CheckResult, PhaseResult, ScenarioResult } from './scenario-result';
import { phaseVerdict, scenarioVerdict } from './run-scenario';

/** Error rates differ by noise; under this many percentage points a change is not a regression. */
const ERROR_RATE_SLACK_POINTS = 1;

export function baselineChecks(phase: PhaseResult, index: number, baseline: ScenarioResult, tolerance: number): CheckResult[] {
  if (phase.load === undefined) return [];
  const path = `phases[${index}].baseline`;
  const before = baseline.phases.find((p) => p.name === phase.name)?.load;
  const pct = `${Math.round(tolerance * 100)}%`;
  if (before === undefined || before.latency.count === 0) {
    const reason = `no phase '${phase.name}' with calls in the baseline (${baseline.file}, ${baseline.startTime})`;
    return ['p(99)', 'error_rate'].map((metric) => ({
      expression: `baseline ${metric}`,
      path,
      expected: `within ${pct} of the baseline`,
      observed: undefined,
      observedValue: undefined,
      verdict: 'inconclusive' as const,
      reason,
    }));
  }
  const checks: CheckResult[] = [];
  const p99 = (load: LoadResult): number => Distribution.decode(load.latency).percentile(99) / 1000;
  const now = phase.load.latency.count > 0 ? p99(phase.load) : undefined;
  const was = p99(before);
  const limit = was * (1 + tolerance);
  checks.push({
    expression: 'baseline p(99)',
    path,
    expected: `<= ${limit.toFixed(1)}ms (baseline ${was.toFixed(1)}ms + ${pct})`,
    observed: now === undefined ? undefined : `p99 ${now.toFixed(1)}ms`,
    observedValue: now,
    verdict: now === undefined ? 'no_data' : now <= limit ? 'pass' : 'fail',
    reason: now === undefined ? 'no calls were made' : now <= limit ? undefined : `p99 regressed by ${(((now - was) / was) * 100).toFixed(1)}%`,
  });
  const rate = (load: LoadResult): number => {
    const calls = load.latency.count;
    const notOk = notOkCalls(load.codes);
    return calls === 0 ? 0 : (100 * notOk) / calls;
  };
  const rateNow = phase.load.latency.count > 0 ? rate(phase.load) : undefined;
  const rateWas = rate(before);
  const allowed = rateWas + Math.max(rateWas * tolerance, ERROR_RATE_SLACK_POINTS);
  checks.push({
    expression: 'baseline error_rate',
    path,
    expected: `<= ${allowed.toFixed(2)}% (baseline ${rateWas.toFixed(2)}% + max(${pct}, ${ERROR_RATE_SLACK_POINTS} point))`,
    observed: rateNow === undefined ? undefined : `${rateNow.toFixed(2)}%`,
    observedValue: rateNow,
    verdict: rateNow === undefined ? 'no_data' : rateNow <= allowed ? 'pass' : 'fail',
    reason: rateNow === undefined ? 'no calls were made' : rateNow <= allowed ? undefined : 'the error rate regressed',
  });
  return checks;
}

/** The result with each phase's baseline checks added and the verdicts recomputed. */
export function withBaseline(result: ScenarioResult, baseline: ScenarioResult, tolerance: number): ScenarioResult {
  const phases = result.phases.map((phase, index) => {
    const checks = [...phase.checks, ...baselineChecks(phase, index, baseline, tolerance)];
    return { ...phase, checks, verdict: phaseVerdict(phase.steps, checks) };
  });
  // Phases are skipped only after a failed step, whose phase already fails the run.
  return { ...result, phases, verdict: scenarioVerdict(phases, result.always, false) };
}
