/** Results that exercise every coloured part of the terminal text: each verdict, each step
 * outcome, a regression, an improvement and noise. */
import type { Comparison } from '../../src/report/compare/compare';
import type { CheckResult, ScenarioResult } from '../../src/scenario/scenario-result';
import type { PlannedPolicy } from '../../src/verify/plan-verification';
import { fixtureResult } from '../helpers/load-result-fixture';

function check(expression: string, verdict: CheckResult['verdict'], over: Partial<CheckResult> = {}): CheckResult {
  return { expression, path: 'phases[0].expect[0]', expected: '>= 20%', observed: '31.0% (93 of 300 calls)', observedValue: 31, verdict, reason: undefined, ...over };
}

export function everyVerdict(): ScenarioResult {
  const load = fixtureResult(
    [
      { latencyUs: 1000, code: 200 },
      { latencyUs: 2000, code: 503, uncorrectedUs: 1500 },
    ],
    { durationMs: 2000, causes: { app: 1 } },
  );
  return {
    name: 'colours',
    file: 'colours.yaml',
    startTime: '2026-11-25T01:00:00.000Z',
    durationMs: 12_345,
    phases: [
      {
        name: 'baseline',
        steps: [{ kind: 'chaos', description: 'status=503:20', ok: true, durationMs: 3, output: undefined, error: undefined }],
        load,
        checks: [check('status(200) == 100%', 'pass')],
        verdict: 'pass',
      },
      {
        name: 'overload',
        steps: [
          { kind: 'run', description: 'kubectl apply -f dr.yaml', ok: false, durationMs: 40, output: undefined, error: 'exit 1' },
          { kind: 'sleep', description: '5s', ok: false, durationMs: 90, output: undefined, error: 'interrupted', interrupted: true },
        ],
        load: { ...load, fellBehind: true, stopReason: 'interrupted', stopDetail: undefined },
        checks: [
          check('status(503) >= 20%', 'fail', { observed: '5.0% (15 of 300 calls)' }),
          check('delta(upstream_rq_pending_overflow) > 0', 'no_data', { observed: undefined, reason: 'no stats source' }),
          check('rps >= 100', 'inconclusive', { reason: 'the generator fell behind' }),
        ],
        verdict: 'fail',
      },
    ],
    always: [],
    verdict: 'fail',
    interrupted: false,
  };
}

export function comparison(): Comparison {
  const row = (metric: string, verdict: Comparison['phases'][number]['rows'][number]['verdict'], a: number, b: number) => ({
    metric,
    unit: 'ms' as const,
    a,
    b,
    change: b - a,
    relative: (b - a) / a,
    worse: 'higher' as const,
    verdict,
    reason: verdict === 'within noise' ? 'within 10%' : 'beyond 10% and the 99% intervals are apart',
  });
  return {
    a: { label: 'a.json', name: 'before', startTime: '2026-11-25T01:00:00.000Z' },
    b: { label: 'b.json', name: 'after', startTime: '2026-11-25T02:00:00.000Z' },
    tolerance: 0.1,
    confidence: 0.99,
    phases: [
      {
        name: 'load',
        nameB: 'load',
        callsA: 1000,
        callsB: 1000,
        notes: ['B ran at a different rate'],
        rows: [row('p50', 'improvement', 10, 5), row('p99', 'regression', 20, 40), row('max', 'within noise', 50, 51)],
        curve: [],
      },
    ],
    unmatched: ['phase warmup is only in A'],
    regressions: 1,
    improvements: 1,
  };
}

export function policies(): PlannedPolicy[] {
  const policy = (subject: string, phases: string[], skipped?: string): PlannedPolicy => ({ policy: 'outlierDetection', subject, phases, model: 'm', skipped });
  return [policy('DestinationRule good', ['baseline']), policy('DestinationRule bad', ['overload']), policy('DestinationRule skipped', [], 'no subsets'), policy('DestinationRule later', ['gone'])];
}
