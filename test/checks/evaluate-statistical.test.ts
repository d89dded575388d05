/** The verdicts of statistical checks: a share by Wilson interval (`status(503) ~ 6.25% vs 50%`)
 * and a traffic split by chi-square goodness of fit (`versions ~ [...] vs [...]`). */
import { goodnessOfFitSampleSize, proportionSampleSize, wilsonInterval } from '../../src/metrics/statistics';
import { unavailableReport } from '../../src/stats/sidecar-report';
import type { SidecarReport } from '../../src/model/sidecar-report';
import { fixtureResult } from '../helpers/load-result-fixture';
import { callsWith, check, mixedCalls, sidecar, V1, V2, view } from './check-fixtures';

describe('evaluateExpectation of SHARE ~ EXPECTED vs ALTERNATIVE', () => {
  it('passes when the interval holds the expected share and excludes the alternative', () => {
    // Wilson at z = 3.2905 for 3 of 40: 1.4% to 31.7%.
    const got = check('status(503) ~ 6.25% vs 50%', fixtureResult(callsWith(40, 3)));
    expect(got).toEqual({
      expression: 'status(503) ~ 6.25% vs 50%',
      path: 'phases[0].expect[0]',
      expected: '~ 6.25% vs 50%',
      observed: '7.5% (3 of 40 calls; 99.9% interval 1.4% to 31.7%)',
      observedValue: 7.5,
      verdict: 'pass',
      reason: undefined,
    });
    expect(got.observed).toContain('99.9% interval');
  });

  it('fails when the interval excludes the expected share', () => {
    const got = check('status(503) ~ 6.25% vs 50%', fixtureResult(callsWith(40, 20)));
    expect(got.verdict).toBe('fail');
    expect(got.observedValue).toBe(50);
    expect(got.observed).toBe('50.0% (20 of 40 calls; 99.9% interval 26.9% to 73.1%)');
    expect(got.reason).toBe('the 99.9% interval 26.9% to 73.1% excludes the expected 6.25%');
    expect(got.reason).toContain('excludes the expected 6.25%');
  });

  it('is inconclusive when the interval holds both, and says how many calls would decide', () => {
    const got = check('status(503) ~ 10% vs 30%', fixtureResult(callsWith(4, 2)));
    expect(got.verdict).toBe('inconclusive');
    expect(got.observed).toBe('50.0% (2 of 4 calls; 99.9% interval 7.3% to 92.7%)');
    expect(got.reason).toContain('contains both');
    expect(got.reason).toContain('would decide');
    expect(got.reason).toBe(
      `the 99.9% interval 7.3% to 92.7% contains both the expected 10% and the alternative 30%: about ${proportionSampleSize(0.1, 0.3, 0.999)} calls would decide`,
    );
  });

  it('uses the confidence the check names', () => {
    const result = fixtureResult(callsWith(40, 3));
    const at99 = check('status(503) ~ 6.25% vs 50% at 99%', result);
    const interval = wilsonInterval(3, 40, 0.99);
    expect(at99.expected).toBe('~ 6.25% vs 50% at 99%');
    expect(at99.observed).toBe(`7.5% (3 of 40 calls; 99% interval ${(interval.low * 100).toFixed(1)}% to ${(interval.high * 100).toFixed(1)}%)`);
    expect(at99.verdict).toBe('pass');
    // 1 of 20: the 99.9% interval (0.4% to 41%) holds 5% and 30%; a 60% one is narrow enough to rule 30% out.
    const few = fixtureResult(callsWith(20, 1));
    expect(check('status(503) ~ 5% vs 50%', few).verdict).toBe('pass');
    expect(check('status(503) ~ 5% vs 30%', few).verdict).toBe('inconclusive');
    expect(check('status(503) ~ 5% vs 30% at 60%', few).verdict).toBe('pass');
  });

  it('reads error_rate, status classes and causes as shares of all calls', () => {
    const result = fixtureResult(callsWith(400, 100), { causes: { breaker: 100 } });
    expect(check('error_rate ~ 25% vs 50%', result)).toMatchObject({ verdict: 'pass', observedValue: 25 });
    expect(check('status(5xx) ~ 25% vs 50%', result)).toMatchObject({ verdict: 'pass', observedValue: 25 });
    expect(check('cause(breaker) ~ 25% vs 50%', result)).toMatchObject({ verdict: 'pass', observedValue: 25 });
    expect(check('cause(timeout) ~ 25% vs 0%', result)).toMatchObject({ verdict: 'fail', observedValue: 0 });
    expect(check('status(503) ~ 0% vs 25%', fixtureResult(callsWith(400, 0)))).toMatchObject({
      verdict: 'pass',
      observed: '0.0% (0 of 400 calls; 99.9% interval 0.0% to 2.6%)',
    });
  });

  it('counts slower(DURATION) from the latency histogram: calls at or above the threshold', () => {
    // 28 fast, 2 just under 200 ms, 6 at exactly 200 ms, 4 at 5 s.
    const latencies = [...Array<number>(28).fill(10_000), ...Array<number>(2).fill(199_000), ...Array<number>(6).fill(200_000), ...Array<number>(4).fill(5_000_000)];
    const result = fixtureResult(latencies.map((latencyUs) => ({ code: 200, latencyUs })));
    const got = check('slower(200ms) ~ 25% vs 0%', result);
    expect(got.verdict).toBe('pass');
    expect(got.observedValue).toBe(25);
    expect(got.observed).toMatch(/^25\.0% \(10 of 40 calls; 99\.9% interval /);
    expect(check('slower(200ms) == 10', result).verdict).toBe('pass');
    expect(check('slower(200ms) == 25%', result).observed).toBe('25.0% (10 of 40 calls)');
    expect(check('slower(199ms) == 12', result).verdict).toBe('pass');
    expect(check('slower(5s) == 4', result).observed).toBe('4 (10.0% of 40 calls)');
    expect(check('slower(6s) == 0', result).verdict).toBe('pass');
    expect(check('slower(1ms) == 100%', result).verdict).toBe('pass');
  });

  it('counts version(TAG) from the x-version of the responses, as a share of every call', () => {
    const result = fixtureResult(callsWith(400, 0), { versions: { v1: 300, v2: 100 } });
    const got = check('version(v2) ~ 25% vs 50%', result);
    expect(got.verdict).toBe('pass');
    expect(got.observed).toMatch(/^25\.0% \(100 of 400 calls; 99\.9% interval /);
    expect(check('version(v2) ~ 50% vs 25%', result).verdict).toBe('fail');
    expect(check('version(v2) == 100', result).observed).toBe('100 (25.0% of 400 calls)');
    expect(check('version(v2) in [20%, 30%]', result).verdict).toBe('pass');
    expect(check('version(v1) > 75%', result).verdict).toBe('fail');
    expect(check('version(v3) == 0', result)).toMatchObject({ verdict: 'pass', observed: '0 (0.0% of 400 calls)' });
    // Calls without x-version still count in the denominator.
    const untagged = fixtureResult(callsWith(800, 0), { versions: { v2: 100 } });
    expect(check('version(v2) == 12.5%', untagged).verdict).toBe('pass');
  });

  it('reads share(SUBSET) ~ ... from the per-subset clusters', () => {
    const report = sidecar();
    report.clusters = report.clusters.map((c) => ({ ...c, view: view({ requestsSent: c.subset === 'v1' ? 800 : 200 }) }));
    const result = fixtureResult(mixedCalls(), { sidecar: report });
    const got = check('share(v2) ~ 20% vs 50%', result);
    expect(got.verdict).toBe('pass');
    expect(got.observed).toMatch(/^20\.0% \(200 of 1000 requests sent upstream; 99\.9% interval /);
    expect(check('share(v2) ~ 50% vs 20%', result)).toMatchObject({ verdict: 'fail', reason: expect.stringMatching(/excludes the expected 50%$/) });
    const few = sidecar();
    few.clusters = few.clusters.map((c) => ({ ...c, view: view({ requestsSent: c.subset === 'v1' ? 4 : 1 }) }));
    expect(check('share(v2) ~ 20% vs 50%', fixtureResult(mixedCalls(), { sidecar: few }))).toMatchObject({
      verdict: 'inconclusive',
      reason: expect.stringMatching(/requests sent upstream would decide$/),
    });
    expect(check('share(v2) ~ 20% vs 50%', fixtureResult(mixedCalls()))).toMatchObject({ verdict: 'no_data', reason: 'no stats source: add sidecar: to the scenario' });
    expect(check('share(v3) ~ 20% vs 50%', result)).toMatchObject({ verdict: 'no_data', reason: "no cluster of subset 'v3' reports requests (subsets: v1, v2)" });
  });

  it('is no_data without calls, and inconclusive when the warm-up failed', () => {
    for (const text of ['status(503) ~ 6.25% vs 50%', 'slower(1s) ~ 1% vs 50%', 'version(v2) ~ 25% vs 50%', 'error_rate ~ 0% vs 10%']) {
      expect(check(text, fixtureResult([]))).toMatchObject({ verdict: 'no_data', reason: 'no calls were made: nothing to measure', observed: undefined });
      const failed = fixtureResult([], { stopReason: 'warmup-failed', stopDetail: 'connection refused', sidecar: sidecar() });
      expect(check(text, failed)).toMatchObject({ verdict: 'inconclusive', reason: 'target unreachable: connection refused', observed: undefined, observedValue: undefined });
    }
    const failed = fixtureResult([], { stopReason: 'warmup-failed', stopDetail: 'connection refused', versions: { v1: 1 }, sidecar: sidecar() });
    for (const text of ['share(v2) ~ 20% vs 50%', 'versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]', 'subsets ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]']) {
      expect(check(text, failed)).toMatchObject({ verdict: 'inconclusive', reason: 'target unreachable: connection refused' });
    }
  });
});

describe('evaluateExpectation of versions ~ and subsets ~', () => {
  const SPLIT = 'versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]';

  it('passes when the x-version split fits the expected one and rules out the alternative', () => {
    const got = check(SPLIT, fixtureResult(callsWith(100, 0), { versions: { v1: 80, v2: 20 } }));
    expect(got).toEqual({
      expression: SPLIT,
      path: 'phases[0].expect[0]',
      expected: '~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]',
      observed: 'v1 80.0% (80), v2 20.0% (20) of 100 calls with x-version; chi-square p = 1',
      observedValue: 1,
      verdict: 'pass',
      reason: undefined,
    });
  });

  it('fails on a split that does not fit', () => {
    const even = check(SPLIT, fixtureResult(callsWith(100, 0), { versions: { v1: 50, v2: 50 } }));
    expect(even.verdict).toBe('fail');
    expect(even.reason).toMatch(/^the split does not fit \[v1 80%, v2 20%\]: p = [\d.e-]+ < 0\.001$/);
    expect(even.observedValue).toBeLessThan(0.001);
  });

  it('fails when a version the split does not list answered', () => {
    const got = check(SPLIT, fixtureResult(callsWith(100, 0), { versions: { v1: 78, v2: 20, v3: 2 } }));
    expect(got.verdict).toBe('fail');
    expect(got.observed).toBe('v1 78.0% (78), v2 20.0% (20), v3 2.0% (2) of 100 calls with x-version; chi-square p = 0');
    expect(got.reason).toBe('the split does not fit [v1 80%, v2 20%]: p = 0 < 0.001');
  });

  it('is inconclusive with too few calls, and says how many would decide', () => {
    const got = check(SPLIT, fixtureResult(callsWith(6, 0), { versions: { v1: 4, v2: 2 } }));
    expect(got.verdict).toBe('inconclusive');
    expect(got.reason).toMatch(/^the split fits both \[v1 80%, v2 20%\] and the alternative \[v1 50%, v2 50%\] \(p = [\d.]+\)/);
    expect(got.reason).toContain(`: about ${goodnessOfFitSampleSize([0.8, 0.2], [0.5, 0.5], 0.999)} calls with x-version would decide`);
  });

  it('uses the confidence the check names', () => {
    // 68/32 of 100: chi-square 9 against 80/20 (p = 0.0027), 12.96 against 50/50 (p = 0.00032):
    // it fits at 99.9% and rules out the alternative, and does not fit at 99%.
    const result = fixtureResult(callsWith(100, 0), { versions: { v1: 68, v2: 32 } });
    expect(check(SPLIT, result).verdict).toBe('pass');
    const at99 = check(`${SPLIT} at 99%`, result);
    expect(at99.verdict).toBe('fail');
    expect(at99.reason).toMatch(/< 0\.01$/);
  });

  it('is no_data when no response carried x-version', () => {
    expect(check(SPLIT, fixtureResult(callsWith(100, 0)))).toMatchObject({
      verdict: 'no_data',
      reason: 'no response carried x-version: start each meshload server with -version-tag',
      observed: undefined,
      observedValue: undefined,
    });
  });

  /** Requests sent upstream by subset, on the two reviews clusters of `sidecar()`. */
  function bySubset(v1: number | undefined, v2: number | undefined): SidecarReport {
    const report = sidecar();
    report.clusters = report.clusters.map((c) => ({ ...c, view: view({ requestsSent: c.subset === 'v1' ? v1 : v2 }) }));
    return report;
  }

  it('reads subsets ~ from the requests the proxy sent to each subset cluster', () => {
    const text = 'subsets ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]';
    const pass = check(text, fixtureResult(mixedCalls(), { sidecar: bySubset(160, 40) }));
    expect(pass).toMatchObject({ verdict: 'pass', observed: 'v1 80.0% (160), v2 20.0% (40) of 200 requests sent upstream; chi-square p = 1' });
    expect(check(text, fixtureResult(mixedCalls(), { sidecar: bySubset(100, 100) })).verdict).toBe('fail');
    const few = check(text, fixtureResult(mixedCalls(), { sidecar: bySubset(4, 2) }));
    expect(few.verdict).toBe('inconclusive');
    expect(few.reason).toMatch(/requests sent upstream would decide$/);
    // Not the client's calls: a run whose responses carried no x-version still has a subset split.
    expect(pass.observed).not.toContain('calls');
  });

  it('is no_data for subsets ~ without a sidecar or without subset clusters, inconclusive when stats are unavailable', () => {
    const text = 'subsets ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]';
    expect(check(text, fixtureResult(mixedCalls()))).toMatchObject({ verdict: 'no_data', reason: 'no stats source: add sidecar: to the scenario' });
    expect(check(text, fixtureResult(mixedCalls(), { sidecar: bySubset(undefined, undefined) }))).toMatchObject({
      verdict: 'no_data',
      reason: `no subset cluster reports requests sent upstream (matched for 'reviews': ${V1}, ${V2})`,
    });
    expect(check(text, fixtureResult(mixedCalls(), { sidecar: bySubset(0, 0) }))).toMatchObject({ verdict: 'no_data', reason: 'no requests sent upstream' });
    const unavailable = unavailableReport('http://localhost:15000/stats', 'reviews', 'connection refused');
    expect(check(text, fixtureResult(mixedCalls(), { sidecar: unavailable }))).toMatchObject({ verdict: 'inconclusive', reason: 'stats unavailable: connection refused' });
  });
});
