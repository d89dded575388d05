/** Every "fell behind" message gives the requested and the achieved rate, so the user sees how far
 * behind the generator was: the load text, a run's phase line, a rate check's reason, compare. */
import { fellBehindText } from '../../src/model/achieved-rate';
import { compareResults } from '../../src/report/compare/compare';
import { renderLoadText } from '../../src/report/fortio/text';
import { loadLine } from '../../src/report/scenario/text';
import { evaluateExpectation, parseExpectation } from '../../src/checks';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { fixtureResult } from '../helpers/load-result-fixture';

const RATES = 'the generator fell behind: 812 of 1000 requested calls/s (81%)';

function behind(): ReturnType<typeof fixtureResult> {
  const calls = Array.from({ length: 200 }, (_, i) => ({ latencyUs: 900 + (i % 13), code: 200 }));
  return fixtureResult(calls, { plan: { qps: 1000 }, actualQps: 812.4, durationMs: 10_000, fellBehind: true });
}

describe('fellBehindText', () => {
  it.each([
    [{ qps: 1000, ramp: undefined }, 812.4, RATES],
    // Small rates keep a decimal; the share rounds down, so 94.6% never reads as the 95% bar.
    [{ qps: 10, ramp: undefined }, 9.46, 'the generator fell behind: 9.5 of 10 requested calls/s (94%)'],
    [{ qps: 0, ramp: { from: 0, to: 200 } }, 50, "the generator fell behind: 50 of 100 requested calls/s (the ramp's mean) (50%)"],
    [{ qps: 0, ramp: undefined }, 50, 'the generator fell behind'],
  ])('%p at %p calls/s', (plan, actualQps, text) => {
    expect(fellBehindText(plan, actualQps)).toBe(text);
  });
});

describe('every fell-behind message', () => {
  it('in the load text', () => {
    expect(renderLoadText(behind())).toMatch(new RegExp(`^WARNING ${RATES.replace(/[()]/g, '\\$&')}\n`, 'm'));
  });

  it("in a run's phase line", () => {
    expect(loadLine(behind())).toMatch(new RegExp(`; ${RATES.replace(/[()]/g, '\\$&')}\\n$`));
  });

  it("in a rate check's inconclusive reason", () => {
    const check = evaluateExpectation(parseExpectation('rps >= 900'), behind(), 'phases[0].expect[0]', 'rps >= 900');
    expect(check.verdict).toBe('inconclusive');
    expect(check.reason).toBe(`${RATES}: the rate says more about the client than the target`);
  });

  it("in compare's notes", () => {
    const run = (fellBehind: boolean): ScenarioResult => {
      const load = fellBehind ? behind() : { ...behind(), actualQps: 1000, fellBehind: false };
      return { name: 's', file: 's.yaml', startTime: '2026-12-05T11:00:00.000Z', durationMs: 10_000, phases: [{ name: 'load', steps: [], load, checks: [], verdict: 'pass' }], always: [], verdict: 'pass', interrupted: false };
    };
    const [phase] = compareResults(run(false), run(true), { tolerance: 0.1 }).phases;
    expect(phase?.notes).toContain(`B: ${RATES}`);
  });
});
