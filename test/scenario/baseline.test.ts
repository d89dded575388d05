import { baselineChecks, withBaseline } from '../../src/scenario/baseline';
import type { PhaseResult, ScenarioResult } from '../../src/scenario/scenario-result';
import { fixtureResult } from '../helpers/load-result-fixture';

function phase(name: string, latencyUs: number, failures: number): PhaseResult {
  const calls = Array.from({ length: 100 }, (_, i) => ({ latencyUs, code: i < failures ? 503 : 200 }));
  return { name, steps: [], load: fixtureResult(calls), checks: [], verdict: 'pass' };
}

function scenario(phases: PhaseResult[]): ScenarioResult {
  return { name: 's', file: 's.yaml', startTime: '2026-11-25T00:00:00.000Z', durationMs: 1, phases, always: [], verdict: 'pass', interrupted: false };
}

describe('baseline checks', () => {
  const baseline = scenario([phase('load', 10_000, 2)]);

  it('passes within the tolerance', () => {
    const checks = baselineChecks(phase('load', 10_900, 2), 0, baseline, 0.1);
    expect(checks.map((c) => [c.expression, c.verdict])).toEqual([
      ['baseline p(99)', 'pass'],
      ['baseline error_rate', 'pass'],
    ]);
    expect(checks[0]?.expected).toBe('<= 11.0ms (baseline 10.0ms + 10%)');
  });

  it('fails a p99 regression beyond the tolerance, naming it', () => {
    const [p99] = baselineChecks(phase('load', 12_000, 2), 0, baseline, 0.1);
    expect(p99?.verdict).toBe('fail');
    expect(p99?.reason).toBe('p99 regressed by 20.0%');
  });

  it('fails an error rate beyond the larger of the tolerance and one point', () => {
    expect(baselineChecks(phase('load', 10_000, 3), 0, baseline, 0.1)[1]?.verdict).toBe('pass'); // +1 point: noise
    expect(baselineChecks(phase('load', 10_000, 4), 0, baseline, 0.1)[1]?.verdict).toBe('fail');
  });

  it('is inconclusive for a phase the baseline does not have', () => {
    const checks = baselineChecks(phase('new', 10_000, 0), 0, baseline, 0.1);
    expect(checks.every((c) => c.verdict === 'inconclusive')).toBe(true);
    expect(checks[0]?.reason).toMatch(/no phase 'new' with calls in the baseline/);
  });

  it('recomputes phase and scenario verdicts', () => {
    const result = withBaseline(scenario([phase('load', 20_000, 0)]), baseline, 0.1);
    expect(result.phases[0]?.verdict).toBe('fail');
    expect(result.verdict).toBe('fail');
  });
});
