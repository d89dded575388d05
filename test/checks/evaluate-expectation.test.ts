/** The verdicts of checks against a result: client-side metrics, no data, sidecar stats, subset
 * shares, agreement, and the reason a failed check gives. */
import type { LoadResult } from '../../src/model/load-result';
import { formatExpectation, parseExpectation } from '../../src/checks';
import { unavailableReport } from '../../src/stats/sidecar-report';
import type { AgreementCheck } from '../../src/model/sidecar-report';
import { fixtureResult, type FixtureCall } from '../helpers/load-result-fixture';
import { callsWith, check, cluster, expectRow, MIXED, mixedCalls, sidecar, V1, V2, view, type Row } from './check-fixtures';

describe('evaluateExpectation on client-side metrics', () => {
  it.each<Row>([
    ['status(503) >= 30%', 'pass', '>= 30%', '30.0% (90 of 300 calls)', 30],
    ['status(503) > 30%', 'fail', '> 30%', '30.0% (90 of 300 calls)', 30],
    ['status(503) > 89', 'pass', '> 89', '90 (30.0% of 300 calls)', 90],
    ['status(503) > 89%', 'fail', '> 89%', '30.0% (90 of 300 calls)', 30],
    ['status(503) == 90', 'pass', '== 90', '90 (30.0% of 300 calls)', 90],
    ['status(5xx) == 31%', 'pass', '== 31%', '31.0% (93 of 300 calls)', 31],
    ['status(5xx) >= 94', 'fail', '>= 94', '93 (31.0% of 300 calls)', 93],
    ['status(2xx) == 200', 'pass', '== 200', '200 (66.7% of 300 calls)', 200],
    ['status(200) == 100%', 'fail', '== 100%', '66.7% (200 of 300 calls)', 66.666667],
    ['status(404) == 0', 'pass', '== 0', '0 (0.0% of 300 calls)', 0],
    ['status(503) in [30%, 40%]', 'pass', 'in [30%, 40%]', '30.0% (90 of 300 calls)', 30],
    ['status(503) in [20%, 30%]', 'pass', 'in [20%, 30%]', '30.0% (90 of 300 calls)', 30],
    ['status(503) in [31%, 40%]', 'fail', 'in [31%, 40%]', '30.0% (90 of 300 calls)', 30],
    ['status(503) in [90, 90]', 'pass', 'in [90, 90]', '90 (30.0% of 300 calls)', 90],
    ['status(503) in [91, 95]', 'fail', 'in [91, 95]', '90 (30.0% of 300 calls)', 90],
    // 418 is OK as in Fortio; socket errors (-1) are not.
    ['error_rate < 33%', 'pass', '< 33%', '32.0% (96 of 300 calls)', 32],
    ['error_rate < 1%', 'fail', '< 1%', '32.0% (96 of 300 calls)', 32],
    ['cause(breaker) > 0', 'pass', '> 0', '90 (30.0% of 300 calls)', 90],
    ['cause(breaker) >= 30%', 'pass', '>= 30%', '30.0% (90 of 300 calls)', 30],
    ['cause(timeout) == 0', 'pass', '== 0', '0 (0.0% of 300 calls)', 0],
    ['cause(fault) == 0', 'pass', '== 0', '0 (0.0% of 300 calls)', 0],
    ['cause(socket) > 1%', 'fail', '> 1%', '1.0% (3 of 300 calls)', 1],
    ['p(99) < 250ms', 'fail', '< 250ms', 'p99 297.2ms', 297.215],
    ['p(99) < 300ms', 'pass', '< 300ms', 'p99 297.2ms', 297.215],
    ['p(50) in [100ms, 200ms]', 'pass', 'in [100ms, 200ms]', 'p50 150.0ms', 150.015],
    ['p(99.9) <= 1.5s', 'pass', '<= 1.5s', 'p99.9 300.0ms', 300.031],
    ['avg < 150ms', 'fail', '< 150ms', 'avg 150.5ms', 150.5],
    ['avg < 151ms', 'pass', '< 151ms', 'avg 150.5ms', 150.5],
    ['min >= 1ms', 'pass', '>= 1ms', 'min 1.0ms', 1],
    ['max < 2s', 'pass', '< 2s', 'max 300.0ms', 300],
    ['max <= 300ms', 'pass', '<= 300ms', 'max 300.0ms', 300],
    ['rps >= 60', 'pass', '>= 60', '60.0 calls/s', 60],
    ['rps > 60', 'fail', '> 60', '60.0 calls/s', 60],
    ['calls >= 300', 'pass', '>= 300', '300 calls', 300],
  ])('%s -> %s', (...row) => expectRow(MIXED, row));

  it('shows latency over a second in seconds and under a millisecond in ms with three decimals', () => {
    const slow = fixtureResult([{ code: 200, latencyUs: 1_500_000 }]);
    expect(check('max < 2s', slow).observed).toBe('max 1.5s');
    const fast = fixtureResult([{ code: 200, latencyUs: 250 }]);
    expect(check('max < 1ms', fast).observed).toBe('max 0.250ms');
    expect(check('calls == 1', fast).observed).toBe('1 call');
    expect(check('status(200) == 100%', fast).observed).toBe('100.0% (1 of 1 call)');
  });

  it('keeps two significant digits of a rare share', () => {
    const calls: FixtureCall[] = Array.from({ length: 3000 }, (_, i) => ({ code: i === 0 ? 503 : 200, latencyUs: 1000 }));
    expect(check('status(503) < 0.1%', fixtureResult(calls)).observed).toBe('0.033% (1 of 3000 calls)');
  });

  it('compares shares without floating point noise (29 of 100 is 29%)', () => {
    const calls: FixtureCall[] = Array.from({ length: 100 }, (_, i) => ({ code: i < 29 ? 503 : 200, latencyUs: 1000 }));
    const result = fixtureResult(calls);
    expect(check('status(503) >= 29%', result).verdict).toBe('pass');
    expect(check('status(503) == 29%', result).verdict).toBe('pass');
    expect(check('status(503) > 29%', result).verdict).toBe('fail');
    expect(check('status(503) <= 29%', result).verdict).toBe('pass');
    expect(check('status(503) < 29%', result).verdict).toBe('fail');
  });

  it('gives rate checks an inconclusive verdict when the generator fell behind, and only them', () => {
    const behind = fixtureResult(mixedCalls(), { durationMs: 5000, fellBehind: true, plan: { qps: 100 } });
    expectRow(behind, ['rps >= 60', 'inconclusive', '>= 60', '60.0 calls/s', 60]);
    expect(check('rps >= 60', behind).reason).toBe('the generator fell behind: 60 of 100 requested calls/s (60%): the rate says more about the client than the target');
    expect(check('p(99) < 300ms', behind).verdict).toBe('pass');
    expect(check('calls >= 300', behind).verdict).toBe('pass');
  });
});

describe('evaluateExpectation without data', () => {
  const EMPTY = fixtureResult([]);

  it.each(['status(503) > 0', 'status(200) == 100%', 'error_rate < 1%', 'p(99) < 250ms', 'avg < 1s', 'min >= 1us', 'max < 2s', 'rps >= 0', 'cause(breaker) == 0'])(
    '%s on a run without calls is no_data, never a vacuous pass',
    (text) => {
      expect(check(text, EMPTY)).toEqual({
        expression: text,
        path: 'phases[0].expect[0]',
        expected: text.slice(text.indexOf(' ') + 1),
        observed: undefined,
        observedValue: undefined,
        verdict: 'no_data',
        reason: 'no calls were made: nothing to measure',
      });
    },
  );

  it('counts calls on a run without calls: zero is an observation', () => {
    expectRow(EMPTY, ['calls == 0', 'pass', '== 0', '0 calls', 0]);
    expectRow(EMPTY, ['calls > 0', 'fail', '> 0', '0 calls', 0]);
  });

  it('says why a stopped run made no calls', () => {
    const interrupted = fixtureResult([], { stopReason: 'interrupted', stopDetail: undefined });
    expect(check('p(99) < 1s', interrupted).reason).toBe('no calls were made (stopped: interrupted): nothing to measure');
  });

  it.each(['status(503) > 0', 'calls == 0', 'p(99) < 1s', 'rps > 1', 'breaker.rejected > 0', 'delta(upstream_rq_total) > 0', 'agree(breaker)'])(
    '%s is inconclusive when the warm-up failed and nothing ran',
    (text) => {
      const result = fixtureResult([], {
        stopReason: 'warmup-failed',
        stopDetail: 'warm-up request got status 503; use -allow-initial-errors',
        sidecar: sidecar(),
      });
      const got = check(text, result);
      expect(got.verdict).toBe('inconclusive');
      expect(got.reason).toBe('target unreachable: warm-up request got status 503; use -allow-initial-errors');
      expect(got.observed).toBeUndefined();
    },
  );

  it.each(['delta(upstream_rq_pending_overflow) > 0', 'max(circuit_breakers.default.rq_pending_open) == 1', 'breaker.rejected > 0', 'agree(breaker)'])(
    '%s without a stats source is no_data',
    (text) => {
      const got = check(text, MIXED);
      expect([got.verdict, got.reason, got.observed]).toEqual(['no_data', 'no stats source: add sidecar: to the scenario', undefined]);
    },
  );

  it.each(['delta(upstream_rq_pending_overflow) > 0', 'max(circuit_breakers.default.rq_pending_open) == 1', 'retries.attempted >= 1', 'agree(requests)'])(
    '%s with stats unavailable is inconclusive',
    (text) => {
      const result = fixtureResult(mixedCalls(), { sidecar: unavailableReport('http://localhost:15000/stats', 'reviews', 'connection refused') });
      const got = check(text, result);
      expect([got.verdict, got.reason]).toEqual(['inconclusive', 'stats unavailable: connection refused']);
    },
  );
});

describe('evaluateExpectation on sidecar stats', () => {
  const WITH_STATS = fixtureResult(mixedCalls(), { durationMs: 5000, causes: { breaker: 90 }, sidecar: sidecar() });
  const MATCHED = `matched for 'reviews': ${V1}, ${V2}`;

  it.each<Row>([
    ['delta(upstream_rq_pending_overflow) > 0', 'pass', '> 0', '90 over 2 clusters', 90],
    ['delta(upstream_rq_pending_overflow) == 89', 'fail', '== 89', '90 over 2 clusters', 90],
    // The canonical key matches Prometheus-style and dotted spellings of the same stat.
    ['delta(upstream_rq.total) == 210', 'pass', '== 210', '210 over 2 clusters', 210],
    ['max(circuit_breakers.default.rq_pending_open) == 1', 'pass', '== 1', '1 over 2 clusters', 1],
    ['max(circuit_breakers_default_rq_pending_open) == 1', 'pass', '== 1', '1 over 2 clusters', 1],
    ['breaker.rejected > 0', 'pass', '> 0', '90', 90],
    ['breaker.pending in [90, 100]', 'pass', 'in [90, 100]', '90', 90],
    ['breaker.connection == 0', 'pass', '== 0', '0', 0],
    ['requests.sent >= 300', 'fail', '>= 300', '210', 210],
    ['retries.attempted >= 1', 'pass', '>= 1', '5', 5],
    ['retries.limit_exceeded == 0', 'fail', '== 0', '1', 1],
    ['timeouts.route == 0', 'pass', '== 0', '0', 0],
    ['breaker_open.rq_pending == 1', 'pass', '== 1', '1', 1],
    ['agree(breaker)', 'pass', 'client and proxy agree', 'client 90, proxy 90', 90],
    ['agree(requests)', 'fail', 'client and proxy agree', 'client 300, proxy 295', 295],
  ])('%s -> %s', (...row) => expectRow(WITH_STATS, row));

  it('gives the agreement note as the reason a disagreement fails', () => {
    expect(check('agree(requests)', WITH_STATS).reason).toBe(
      'the proxy handled fewer requests than this run sent: some bypassed it, failed before reaching it, or went to another cluster',
    );
    expect(check('agree(breaker)', WITH_STATS).reason).toBeUndefined();
  });

  it.each([
    ['delta(upstream_rq_timeout) == 0', `upstream_rq_timeout is in none of the matched clusters: the proxy does not report it or the cluster was not matched (${MATCHED})`],
    [
      'delta(circuit_breakers.default.rq_pending_open) > 0',
      `circuit_breakers.default.rq_pending_open is in none of the matched clusters: the proxy does not report it or the cluster was not matched (${MATCHED}); it is a gauge: use max(circuit_breakers.default.rq_pending_open)`,
    ],
    [
      'max(upstream_rq_total) > 0',
      `upstream_rq_total is in none of the matched clusters: the proxy does not report it or the cluster was not matched (${MATCHED}); it is a counter: use delta(upstream_rq_total)`,
    ],
    ['breaker.active == 0', `breaker.active is not reported: the proxy (envoy) does not report it or the cluster was not matched (${MATCHED})`],
    ['timeouts.per_try == 0', `timeouts.per_try is not reported: the proxy (envoy) does not report it or the cluster was not matched (${MATCHED})`],
  ])('%s with the stat absent is no_data', (text, reason) => {
    const got = check(text, WITH_STATS);
    expect(got).toMatchObject({ verdict: 'no_data', reason, observed: undefined, observedValue: undefined });
  });

  it('is no_data when no cluster matched', () => {
    const result = fixtureResult(mixedCalls(), { sidecar: sidecar({ clusters: [], total: undefined, agreement: [] }) });
    expect(check('breaker.rejected > 0', result).reason).toBe(
      "breaker.rejected is not reported: the proxy (envoy) does not report it or the cluster was not matched (no cluster matched for 'reviews')",
    );
    expect(check('delta(upstream_rq_total) > 0', result).reason).toBe(
      "upstream_rq_total is in none of the matched clusters: the proxy does not report it or the cluster was not matched (no cluster matched for 'reviews')",
    );
    expect(check('agree(breaker)', result)).toMatchObject({ verdict: 'no_data', reason: "no breaker agreement check: no cluster matched for 'reviews'" });
  });

  it('is no_data when the proxy cannot say whether it agrees', () => {
    const result = fixtureResult(mixedCalls(), {
      sidecar: sidecar({ agreement: [{ name: 'breaker', client: 90, proxy: undefined, agrees: undefined, note: 'this proxy does not report breaker rejections' }] }),
    });
    expect(check('agree(breaker)', result)).toMatchObject({ verdict: 'no_data', reason: 'this proxy does not report breaker rejections', observed: undefined });
  });

  it('is inconclusive when a counter was reset during the run', () => {
    const reset = sidecar();
    reset.clusters = [cluster(V1, 'v1', { deltas: {}, resets: ['upstream_rq_total'] }), ...reset.clusters.slice(1)];
    const got = check('delta(upstream_rq_total) > 0', fixtureResult(mixedCalls(), { sidecar: reset }));
    expect([got.verdict, got.reason]).toEqual([
      'inconclusive',
      `upstream_rq_total went down during the run in ${V1}: the proxy restarted or its counters were reset`,
    ]);
  });

  it('reports one cluster without "over N clusters"', () => {
    const one = sidecar();
    one.clusters = one.clusters.slice(0, 1);
    expect(check('delta(upstream_rq_pending_overflow) > 0', fixtureResult(mixedCalls(), { sidecar: one })).observed).toBe('40');
  });

  it('sums breaker.rejected from pending and active (Envoy >= 1.38 splits them)', () => {
    const split = sidecar({ total: view({ breakerRejections: { pending: 30, active: 60, connection: undefined } }) });
    expect(check('breaker.rejected == 90', fixtureResult(mixedCalls(), { sidecar: split })).verdict).toBe('pass');
  });
});

describe('share(SUBSET)', () => {
  it('is the subset share of requests sent upstream, from the per-subset clusters', () => {
    const report = sidecar();
    report.clusters = report.clusters.map((c) => ({ ...c, view: view({ requestsSent: c.subset === 'v1' ? 80 : 20 }) }));
    const result = fixtureResult(mixedCalls(), { sidecar: report });
    const ok = check('share(v2) in [15%, 25%]', result);
    expect([ok.verdict, ok.observed]).toEqual(['pass', '20.0% (20 of 100 requests sent upstream)']);
    const missing = check('share(v3) > 0%', result);
    expect(missing.verdict).toBe('no_data');
    expect(missing.reason).toBe("no cluster of subset 'v3' reports requests (subsets: v1, v2)");
    expect(check('share(v2) > 0%', fixtureResult(mixedCalls())).reason).toBe('no stats source: add sidecar: to the scenario');
  });

  it('parses, formats, and needs a subset and a percentage', () => {
    expect(formatExpectation(parseExpectation('share(v2) in [15%, 25%]'))).toBe('share(v2) in [15%, 25%]');
    expect(() => parseExpectation('share() > 1%')).toThrow(/share\(\) needs an Istio subset name/);
    expect(() => parseExpectation('share(v2) > 20')).toThrow(/%/);
  });
});

describe('agree(retries)', () => {
  function withRetries(retries: AgreementCheck | undefined): LoadResult {
    const report = sidecar();
    if (retries !== undefined) report.agreement = [...report.agreement, retries];
    return fixtureResult(mixedCalls(), { sidecar: report });
  }

  it('passes when the sidecar report says the echoed retries match the proxy', () => {
    const got = check('agree(retries)', withRetries({ name: 'retries', client: 10, proxy: 12, agrees: true, note: "the retries the responses echoed match the proxy's retry counter (2 more: the warm-up's)" }));
    expect(got).toMatchObject({ verdict: 'pass', expected: 'client and proxy agree', observed: 'client 10, proxy 12', observedValue: 12, reason: undefined });
  });

  it('fails with the note when they disagree', () => {
    const note = 'the responses echo more retries than this proxy counted: another proxy on the path retried, or the stats are for another cluster';
    expect(check('agree(retries)', withRetries({ name: 'retries', client: 10, proxy: 3, agrees: false, note }))).toMatchObject({ verdict: 'fail', reason: note });
  });

  it('is no_data when the client cannot count retries, the check is missing, or there is no sidecar', () => {
    const note = 'no response echoed x-envoy-attempt-count (meshload server does, behind Envoy): the client cannot count retries';
    expect(check('agree(retries)', withRetries({ name: 'retries', client: 0, proxy: 5, agrees: undefined, note }))).toMatchObject({ verdict: 'no_data', reason: note, observed: undefined });
    expect(check('agree(retries)', withRetries(undefined))).toMatchObject({ verdict: 'no_data', reason: `no retries agreement check: matched for 'reviews': ${V1}, ${V2}` });
    expect(check('agree(retries)', fixtureResult(mixedCalls()))).toMatchObject({ verdict: 'no_data', reason: 'no stats source: add sidecar: to the scenario' });
  });
});

describe('the reason of a failed check', () => {
  const WITH_STATS = fixtureResult(mixedCalls(), { durationMs: 5000, causes: { breaker: 90, socket: 3 }, sidecar: sidecar() });
  const behind = fixtureResult(callsWith(200, 10), { sidecar: sidecar() });

  it.each([
    // Status share and count, each comparator and a range.
    ['status(503) >= 40%', 'status(503) 30.0% (90 of 300 calls) is below the 40% required'],
    ['status(503) > 30%', 'status(503) 30.0% (90 of 300 calls) is not above 30%'],
    ['status(503) > 89%', 'status(503) 30.0% (90 of 300 calls) is below 89%, not above it'],
    ['status(503) <= 10%', 'status(503) 30.0% (90 of 300 calls) is above the 10% limit'],
    ['status(503) < 30%', 'status(503) 30.0% (90 of 300 calls) is not under 30%'],
    ['status(503) < 20', 'status(503) 90 (30.0% of 300 calls) is above 20, not under it'],
    ['status(200) == 100%', 'status(200) 66.7% (200 of 300 calls) is below the 100% expected'],
    ['status(503) in [31%, 40%]', 'status(503) 30.0% (90 of 300 calls) is below the range [31%, 40%]'],
    ['status(503) in [10, 20]', 'status(503) 90 (30.0% of 300 calls) is above the range [10, 20]'],
    ['error_rate < 1%', 'error_rate 32.0% (96 of 300 calls) is above 1%, not under it'],
    ['cause(socket) > 1%', 'cause(socket) 1.0% (3 of 300 calls) is not above 1%'],
    // Latency: the number alone, in the check's own words.
    ['p(99) < 250ms', 'p(99) 297.2ms is above 250ms, not under it'],
    ['p(99) >= 1s', 'p(99) 297.2ms is below the 1s required'],
    ['avg in [1ms, 100ms]', 'avg 150.5ms is above the range [1ms, 100ms]'],
    ['rps >= 95', 'rps 60.0 calls/s is below the 95 required'],
    ['calls == 1000', 'calls 300 is below the 1000 expected'],
    // Proxy stats: deltas, gauges, the resilience view, agreement.
    ['delta(upstream_rq_pending_overflow) == 0', 'delta(upstream_rq_pending_overflow) 90 over 2 clusters is above the 0 expected'],
    ['max(circuit_breakers.default.rq_pending_open) == 0', 'max(circuit_breakers.default.rq_pending_open) 1 over 2 clusters is above the 0 expected'],
    ['requests.sent >= 300', 'requests.sent 210 is below the 300 required'],
    ['breaker.rejected < 1', 'breaker.rejected 90 is above 1, not under it'],
    [
      'agree(requests)',
      'the proxy handled fewer requests than this run sent: some bypassed it, failed before reaching it, or went to another cluster',
    ],
  ])('%s: %s', (text, reason) => {
    const got = check(text, WITH_STATS);
    expect({ verdict: got.verdict, reason: got.reason }).toEqual({ verdict: 'fail', reason });
  });

  it('gives statistical checks their interval or p-value', () => {
    const share = check('status(503) ~ 50% vs 5%', behind);
    expect(share.verdict).toBe('fail');
    expect(share.reason).toMatch(/^the 99\.9% interval \d+\.\d% to \d+\.\d% excludes the expected 50%$/);
    const split = check('versions ~ [v1 50%, v2 50%] vs [v1 90%, v2 10%]', fixtureResult(mixedCalls(), { versions: { v1: 270, v2: 30 } }));
    expect(split.verdict).toBe('fail');
    expect(split.reason).toMatch(/^the split does not fit \[v1 50%, v2 50%\]: p = \S+ < 0\.001$/);
  });

  it('leaves a passing check without a reason', () => {
    expect(check('status(503) >= 30%', WITH_STATS).reason).toBeUndefined();
    expect(check('p(99) < 300ms', WITH_STATS).reason).toBeUndefined();
  });
});
