import type { LoadResult } from '../../src/engine/load-result';
import { goodnessOfFitSampleSize, proportionSampleSize, wilsonInterval } from '../../src/metrics/statistics';
import {
  checkExpectation,
  EXPECTATION_HELP,
  ExpectationError,
  evaluateExpectation,
  formatExpectation,
  parseExpectation,
  VIEW_NAMES,
  type Expectation,
} from '../../src/checks';
import type { CheckResult } from '../../src/checks';
import type { ResilienceView } from '../../src/stats/resilience-view';
import { unavailableReport, type AgreementCheck, type SidecarClusterReport, type SidecarReport } from '../../src/stats/sidecar-report';
import { fixtureResult, type FixtureCall } from '../helpers/load-result-fixture';

const EXAMPLES = [
  'status(200) == 100%',
  'status(5xx) >= 20%',
  'status(503) > 0',
  'status(503) in [20%, 80%]',
  'error_rate < 1%',
  'p(99) < 250ms',
  'p(99.9) <= 1.5s',
  'avg < 50ms',
  'max < 2s',
  'min >= 500us',
  'rps >= 95',
  'calls >= 1000',
  'cause(breaker) > 0',
  'cause(timeout) == 0',
  'cause(breaker) >= 30%',
  'delta(upstream_rq_pending_overflow) > 0',
  'max(circuit_breakers.default.rq_pending_open) == 1',
  'breaker.rejected > 0',
  'retries.attempted >= 1',
  'timeouts.route == 0',
  'agree(breaker)',
  'agree(requests)',
  'p(99) in [100ms, 250ms]',
  'delta(http_responses_total{code="5xx"}) > 0',
];

describe('parseExpectation', () => {
  it.each(EXAMPLES)('parses %s and formats it back unchanged', (text) => {
    const parsed = parseExpectation(text);
    expect(formatExpectation(parsed)).toBe(text);
    expect(parseExpectation(formatExpectation(parsed))).toEqual(parsed);
  });

  it.each(VIEW_NAMES.map((name) => [name]))('knows the resilience name %s', (name) => {
    expect(parseExpectation(`${name} >= 0`)).toEqual({ kind: 'compare', metric: { kind: 'view', name }, op: '>=', value: { unit: 'number', value: 0 } });
  });

  it.each([
    ['status(5XX)>=20%', 'status(5xx) >= 20%'],
    ['  p(99)<1000ms ', 'p(99) < 1s'],
    ['avg<0.5ms', 'avg < 500us'],
    ['max <= 1m30s', 'max <= 1m30s'],
    ['rps >= 95.0', 'rps >= 95'],
    ['delta( upstream_rq_pending_overflow ) >0', 'delta(upstream_rq_pending_overflow) > 0'],
    ['status(503)in[ 20% ,80% ]', 'status(503) in [20%, 80%]'],
    ['p(.5) < 1ms', 'p(0.5) < 1ms'],
  ])('canonicalises %j to %j', (text, canonical) => {
    expect(formatExpectation(parseExpectation(text))).toBe(canonical);
  });

  it.each<[string, Expectation]>([
    ['status(503) in [20%, 80%]', { kind: 'range', metric: { kind: 'status', code: '503' }, low: { unit: 'percent', value: 20 }, high: { unit: 'percent', value: 80 } }],
    ['status(503) > 0', { kind: 'compare', metric: { kind: 'status', code: '503' }, op: '>', value: { unit: 'number', value: 0 } }],
    ['p(99.9) <= 1.5s', { kind: 'compare', metric: { kind: 'latency', stat: { kind: 'percentile', percentile: 99.9 } }, op: '<=', value: { unit: 'ms', value: 1500 } }],
    ['max < 2s', { kind: 'compare', metric: { kind: 'latency', stat: { kind: 'max' } }, op: '<', value: { unit: 'ms', value: 2000 } }],
    ['max(rq_pending_open) == 1', { kind: 'compare', metric: { kind: 'gauge', stat: 'rq_pending_open' }, op: '==', value: { unit: 'number', value: 1 } }],
    ['agree(breaker)', { kind: 'agree', name: 'breaker' }],
  ])('builds the tree of %s', (text, tree) => {
    expect(parseExpectation(text)).toEqual(tree);
  });

  it.each([
    ['stauts(503) > 0', 1, 'unknown function "stauts" - did you mean "status"?'],
    ['foo(1) > 0', 1, 'unknown function "foo": use status(...), grpc(...), p(...), cause(...), delta(...), max(...), share(...), agree(...), slower(...), version(...)'],
    ['status(503) 20%', 13, 'expected an operator (<, <=, ==, >=, >, in) after status(503)'],
    ['p(99)', 6, 'expected an operator (<, <=, ==, >=, >, in) after p(99)'],
    ['status() > 0', 8, 'status() needs a code like 503 or a class like 5xx'],
    ['status(abc) > 0', 8, 'status() needs a code like 503 or a class like 5xx'],
    ['status(5x) > 0', 8, 'status() needs a code like 503 or a class like 5xx'],
    ['status(999) > 0', 8, 'status() needs a code like 503 or a class like 5xx'],
    ['status > 0', 1, 'status needs a code: status(503) or status(5xx)'],
    ['status(503 > 0', 7, 'missing ) to close status('],
    ['p(101) < 1s', 3, 'p() needs a percentile from 0 to 100'],
    ['p() < 1s', 3, 'p() needs a percentile from 0 to 100'],
    ['p(-1) < 1s', 3, 'p() needs a percentile from 0 to 100'],
    ['p < 1s', 1, 'p needs a percentile: p(99)'],
    ['p99 < 250ms', 1, 'write p(99) for a percentile'],
    ['status(200) == 0.95', 16, 'a percentage needs %: status(...) compares as a share of calls (20%) or a count (12)'],
    ['status(200) >= 5ms', 16, 'a percentage needs %: status(...) compares as a share of calls (20%) or a count (12)'],
    ['cause(breaker) > 0.5', 18, 'a percentage needs %: cause(...) compares as a share of calls (20%) or a count (12)'],
    ['status(503) > 120%', 15, '120% is not a share of calls: percentages go from 0% to 100%'],
    ['p(99) < 250', 9, 'latency needs a unit: 250ms, 1.5s, 500us'],
    ['avg < 5%', 7, 'latency needs a unit: 250ms, 1.5s, 500us'],
    ['p(99) < 250 ms', 9, 'write the unit next to the number: 250ms'],
    ['p(99) < 250sec', 9, 'unknown unit in "250sec": latency needs a unit: 250ms, 1.5s, 500us'],
    ['error_rate < 0.01', 14, 'error_rate needs %: write 1% (a plain 0.01 could be a fraction or a percentage)'],
    ['error_rate < 2', 14, 'error_rate needs %: write 2% (a plain 2 could be a fraction or a percentage)'],
    ['rps >= 95%', 8, 'rps is calls per second: write a plain number like 95'],
    ['calls > 10s', 9, 'calls is a count: write a plain number like 10'],
    ['breaker.rejected > 5ms', 20, 'breaker.rejected is a count: write a plain number like 5'],
    ['delta(upstream_rq_retry) > 1%', 28, 'delta(upstream_rq_retry) is a count: write a plain number like 1'],
    ['status(503) > 5xyz', 15, 'unexpected "xyz" after 5'],
    ['cause(brekaer) > 0', 7, 'unknown cause "brekaer" - did you mean "breaker"? (causes: breaker, timeout, fault, no_healthy, reset, app, client_timeout, socket)'],
    ['cause() > 0', 7, 'cause() needs a cause: breaker, timeout, fault, no_healthy, reset, app, client_timeout, socket'],
    ['cause > 0', 1, 'cause needs a name: cause(breaker)'],
    ['delta() > 0', 7, "delta() needs a counter name as the proxy's stats write it: delta(upstream_rq_pending_overflow)"],
    ['max() > 0', 5, "max() needs a gauge name as the proxy's stats write it: max(circuit_breakers.default.rq_pending_open)"],
    ['delta > 0', 1, 'delta needs a counter: delta(upstream_rq_pending_overflow)'],
    ['eror_rate < 1%', 1, 'unknown metric "eror_rate" - did you mean "error_rate"?'],
    ['retries.limitExceeded > 0', 1, 'unknown metric "retries.limitExceeded" - did you mean "retries.limit_exceeded"?'],
    ['brekaer.rejected > 0', 1, 'unknown metric "brekaer.rejected" - did you mean "breaker.rejected"?'],
    [
      'wat > 0',
      1,
      'unknown metric "wat": use status(...), error_rate, p(N), avg, min, max, rps, calls, cause(...), delta(...), max(...) or a resilience name like breaker.rejected',
    ],
    ['status(503) = 0', 13, 'use == to compare: status(503) == ...'],
    ['status(503) != 0', 13, '!= is not supported: use <, > or in [LOW, HIGH]'],
    ['status(503) >', 14, 'expected a value after >, like 20% or 12'],
    ['p(99) < fast', 9, 'expected a value after <, like 250ms'],
    ['status(503) in 20%', 16, 'expected [ after in: status(503) in [LOW, HIGH]'],
    ['status(503) in [20% 80%]', 21, 'expected , between the bounds: status(503) in [LOW, HIGH]'],
    ['status(503) in [20%, 80%', 25, 'expected ] to close the range: status(503) in [LOW, HIGH]'],
    ['status(503) in [80%, 20%]', 16, 'in [LOW, HIGH] needs LOW <= HIGH: write in [20%, 80%]'],
    ['status(503) in [20%, 12]', 16, 'both bounds of in [...] need the same unit: 20% and 12 differ'],
    ['agree(breaker) > 0', 16, 'agree(breaker) stands alone: remove "> 0"'],
    ['agree(braker)', 7, 'agree() takes breaker, requests, retries - did you mean "breaker"?'],
    ['agree > 0', 1, 'agree needs a check name: agree(breaker), agree(requests) or agree(retries)'],
    ['', 1, 'empty check: write one like status(503) > 0 or p(99) < 250ms'],
    ['   ', 1, 'empty check: write one like status(503) > 0 or p(99) < 250ms'],
    ['> 0', 1, 'a check starts with a metric like status(503), p(99) or breaker.rejected, not ">"'],
    ['status(503) > 0 and calls > 1', 17, 'unexpected "and calls > 1" after the check: write one check per line'],
    ['status(503) > 0;', 16, 'unexpected character ";"'],
  ])('rejects %j at column %i: %s', (text, column, detail) => {
    let caught: unknown;
    try {
      parseExpectation(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ExpectationError);
    const error = caught as ExpectationError;
    expect(error.detail).toBe(detail);
    expect(error.column).toBe(column);
    expect(error.message).toBe(`column ${column}: ${detail}`);
    expect(error.message).not.toContain('\n');
  });

  it('gives validation the one-line message, or undefined', () => {
    expect(checkExpectation('status(503) >= 20%')).toBeUndefined();
    expect(checkExpectation('stauts(503) > 0')).toBe('column 1: unknown function "stauts" - did you mean "status"?');
  });

  it('has a help text that names every metric', () => {
    for (const word of ['status(', 'error_rate', 'p(99)', 'avg', 'rps', 'calls', 'cause(', 'delta(', 'max(', 'agree(', ...VIEW_NAMES]) {
      expect(EXPECTATION_HELP).toContain(word);
    }
  });
});

/** 300 calls: 200 x 200, 4 x 418 (OK, as Fortio), 90 x 503, 3 x 504, 3 socket errors; latency
 * 1 ms to 300 ms, one each. */
function mixedCalls(): FixtureCall[] {
  const codes = [...Array<number>(200).fill(200), ...Array<number>(4).fill(418), ...Array<number>(90).fill(503), ...Array<number>(3).fill(504), ...Array<number>(3).fill(-1)];
  return codes.map((code, i) => ({ code, latencyUs: (i + 1) * 1000 }));
}

const MIXED = fixtureResult(mixedCalls(), { durationMs: 5000, causes: { breaker: 90, timeout: 0, app: 3, socket: 3 } });

function check(text: string, result: LoadResult): CheckResult {
  return evaluateExpectation(parseExpectation(text), result, 'phases[0].expect[0]', text);
}

type Row = [string, CheckResult['verdict'], string, string | undefined, number | undefined];

function expectRow(result: LoadResult, [text, verdict, expected, observed, observedValue]: Row): void {
  const got = check(text, result);
  expect(got.expression).toBe(text);
  expect(got.path).toBe('phases[0].expect[0]');
  expect({ verdict: got.verdict, expected: got.expected, observed: got.observed }).toEqual({ verdict, expected, observed });
  if (observedValue === undefined) expect(got.observedValue).toBeUndefined();
  else expect(got.observedValue).toBeCloseTo(observedValue, 6);
}

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

const V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';

function view(over: Partial<ResilienceView> = {}): ResilienceView {
  return {
    kind: 'envoy',
    requestsSent: undefined,
    breakerRejections: { pending: undefined, active: undefined, connection: undefined },
    retries: { attempted: undefined, succeeded: undefined, overflowed: undefined, limitExceeded: undefined },
    timeouts: { route: undefined, perTry: undefined },
    upstream5xx: { final: undefined, retried: undefined },
    connectFailures: undefined,
    ejections: { enforced: undefined, active: undefined },
    faults: { aborts: undefined, delays: undefined },
    breakerOpen: { cx: undefined, rqPending: undefined, rq: undefined, rqRetry: undefined },
    ...over,
  };
}

function cluster(name: string, subset: string, over: Partial<SidecarClusterReport>): SidecarClusterReport {
  return { cluster: name, group: 'outbound|9080||reviews.default.svc.cluster.local', subset, deltas: {}, resets: [], gauges: {}, view: view(), ...over };
}

/** Two subsets of reviews: 40 + 50 pending overflows, the v1 breaker gauge at its limit. */
function sidecar(over: Partial<SidecarReport> = {}): SidecarReport {
  return {
    source: 'http://localhost:15000/stats',
    format: 'envoy-text',
    kind: 'envoy',
    clusterQuery: 'reviews',
    clusters: [
      cluster(V1, 'v1', {
        deltas: { upstream_rq_pending_overflow: 40, upstream_rq_total: 100, upstream_rq_retry: 2 },
        gauges: { 'circuit_breakers.default.rq_pending_open': { max: 1, msAboveZero: 1200 } },
      }),
      cluster(V2, 'v2', {
        deltas: { upstream_rq_pending_overflow: 50, upstream_rq_total: 110, upstream_rq_retry: 3 },
        gauges: { 'circuit_breakers.default.rq_pending_open': { max: 0, msAboveZero: undefined } },
      }),
    ],
    total: view({
      requestsSent: 210,
      breakerRejections: { pending: 90, active: undefined, connection: 0 },
      retries: { attempted: 5, succeeded: 4, overflowed: 0, limitExceeded: 1 },
      timeouts: { route: 0, perTry: undefined },
      breakerOpen: { cx: 0, rqPending: 1, rq: 0, rqRetry: 0 },
    }),
    agreement: [
      { name: 'breaker', client: 90, proxy: 90, agrees: true, note: "client-seen breaker 503s match the proxy's overflow counters" },
      {
        name: 'requests',
        client: 300,
        proxy: 295,
        agrees: false,
        note: 'the proxy handled fewer requests than this run sent: some bypassed it, failed before reaching it, or went to another cluster',
      },
    ],
    diagnostics: [],
    unavailable: undefined,
    ...over,
  };
}

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

/** Throws if `text` parses; the ExpectationError otherwise. */
function parseError(text: string): ExpectationError {
  try {
    parseExpectation(text);
  } catch (error) {
    if (error instanceof ExpectationError) return error;
    throw error;
  }
  throw new Error(`${text} parsed`);
}

const STATUS_503: Expectation = {
  kind: 'consistent',
  metric: { kind: 'status', code: '503' },
  expected: { unit: 'percent', value: 6.25 },
  alternative: { unit: 'percent', value: 50 },
  confidence: 0.999,
};

describe('statistical checks: parsing and canonical form', () => {
  it.each([
    'status(503) ~ 6.25% vs 50%',
    'status(5xx) ~ 6.25% vs 50% at 99%',
    'error_rate ~ 0.1% vs 5% at 95%',
    'cause(fault) ~ 10% vs 0%',
    'share(v2) ~ 20% vs 50%',
    'slower(5s) ~ 25% vs 0%',
    'version(v2) ~ 25% vs 50% at 99%',
    'versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]',
    'versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%] at 99%',
    'subsets ~ [canary-v2 10%, stable 90%] vs [canary-v2 50%, stable 50%] at 99%',
    'subsets ~ [v1 33.3%, v2 33.3%, v3 33.4%] vs [v1 100%]',
    'slower(5s) > 10%',
    'slower(250ms) == 3',
    'slower(1.5s) in [1%, 5%]',
    'version(v2) > 0',
    'version(v2) == 12',
    'version(v2) in [15%, 25%]',
    'version(canary-1.2) >= 1%',
    'agree(retries)',
  ])('parses %s and formats it back unchanged', (text) => {
    const parsed = parseExpectation(text);
    expect(formatExpectation(parsed)).toBe(text);
    expect(parseExpectation(formatExpectation(parsed))).toEqual(parsed);
  });

  it.each([
    ['status(503)~6.25% vs 50%', 'status(503) ~ 6.25% vs 50%'],
    // The default confidence is left out; any other is kept.
    ['status(503) ~ 6.25% vs 50% at 99.9%', 'status(503) ~ 6.25% vs 50%'],
    ['status(503) ~ 6.25% vs 50% at 99%', 'status(503) ~ 6.25% vs 50% at 99%'],
    ['status(5XX) ~ 6.250% vs 50.0% at 95.0%', 'status(5xx) ~ 6.25% vs 50% at 95%'],
    ['slower(5000ms) ~ 25% vs 0%', 'slower(5s) ~ 25% vs 0%'],
    ['slower( 1500ms ) > 3', 'slower(1.5s) > 3'],
    ['versions ~ [v1 80%,v2 20%] vs [ v1 50% , v2 50% ]', 'versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]'],
    ['subsets~[a 50.0%, b 50%]vs[a 90%, b 10%]at 99.9%', 'subsets ~ [a 50%, b 50%] vs [a 90%, b 10%]'],
  ])('canonicalises %j to %j', (text, canonical) => {
    expect(formatExpectation(parseExpectation(text))).toBe(canonical);
  });

  it.each<[string, Expectation]>([
    ['status(503) ~ 6.25% vs 50%', STATUS_503],
    ['status(503) ~ 6.25% vs 50% at 99%', { ...STATUS_503, confidence: 0.99 }],
    [
      'error_rate ~ 0% vs 5% at 95%',
      { kind: 'consistent', metric: { kind: 'error_rate' }, expected: { unit: 'percent', value: 0 }, alternative: { unit: 'percent', value: 5 }, confidence: 0.95 },
    ],
    [
      'slower(5s) ~ 25% vs 0%',
      { kind: 'consistent', metric: { kind: 'slower', thresholdMs: 5000 }, expected: { unit: 'percent', value: 25 }, alternative: { unit: 'percent', value: 0 }, confidence: 0.999 },
    ],
    [
      'version(v2) ~ 25% vs 50%',
      { kind: 'consistent', metric: { kind: 'version', tag: 'v2' }, expected: { unit: 'percent', value: 25 }, alternative: { unit: 'percent', value: 50 }, confidence: 0.999 },
    ],
    [
      'share(v2) ~ 20% vs 50%',
      { kind: 'consistent', metric: { kind: 'share', subset: 'v2' }, expected: { unit: 'percent', value: 20 }, alternative: { unit: 'percent', value: 50 }, confidence: 0.999 },
    ],
    [
      'versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]',
      {
        kind: 'split',
        source: 'versions',
        expected: [
          ['v1', 80],
          ['v2', 20],
        ],
        alternative: [
          ['v1', 50],
          ['v2', 50],
        ],
        confidence: 0.999,
      },
    ],
    [
      'subsets ~ [canary-v2 10%, stable 90%] vs [canary-v2 50%, stable 50%] at 99%',
      {
        kind: 'split',
        source: 'subsets',
        expected: [
          ['canary-v2', 10],
          ['stable', 90],
        ],
        alternative: [
          ['canary-v2', 50],
          ['stable', 50],
        ],
        confidence: 0.99,
      },
    ],
    ['slower(250ms) > 3', { kind: 'compare', metric: { kind: 'slower', thresholdMs: 250 }, op: '>', value: { unit: 'number', value: 3 } }],
    ['slower(1.5s) == 10%', { kind: 'compare', metric: { kind: 'slower', thresholdMs: 1500 }, op: '==', value: { unit: 'percent', value: 10 } }],
    ['version(v2) == 12', { kind: 'compare', metric: { kind: 'version', tag: 'v2' }, op: '==', value: { unit: 'number', value: 12 } }],
    [
      'version(v2) in [15%, 25%]',
      { kind: 'range', metric: { kind: 'version', tag: 'v2' }, low: { unit: 'percent', value: 15 }, high: { unit: 'percent', value: 25 } },
    ],
    ['agree(retries)', { kind: 'agree', name: 'retries' }],
  ])('builds the tree of %s', (text, tree) => {
    expect(parseExpectation(text)).toEqual(tree);
  });

  it('keeps the order a split is written in', () => {
    const split = parseExpectation('versions ~ [v2 20%, v1 80%] vs [v1 50%, v2 50%]');
    expect(split).toMatchObject({ expected: [['v2', 20], ['v1', 80]] });
    expect(formatExpectation(split)).toBe('versions ~ [v2 20%, v1 80%] vs [v1 50%, v2 50%]');
  });

  const SHARE_KINDS = 'status(...), grpc(...), error_rate, cause(...), share(...), slower(...) or version(...)';
  const VS_HINT = 'the share the data must rule out (what an unconfigured mesh would give), like vs 50%';
  const CONFIDENCE = 'expected a confidence from 50% to under 100% after at, like 99.9%';
  const SPLIT = 'is a traffic split: write';
  const SPLIT_VS = 'expected "vs [...]" after the shares: the split the data must rule out (an unconfigured mesh splits evenly), like vs [v1 50%, v2 50%]';

  it.each([
    ['p(99) ~ 5% vs 1%', 7, `~ compares a share of calls: use it with ${SHARE_KINDS}, not p(99)`],
    ['calls ~ 5% vs 1%', 7, `~ compares a share of calls: use it with ${SHARE_KINDS}, not calls`],
    ['breaker.rejected ~ 5% vs 1%', 18, `~ compares a share of calls: use it with ${SHARE_KINDS}, not breaker.rejected`],
    ['status(503) ~ 5%', 17, `expected "vs ALTERNATIVE" after 5%: ${VS_HINT}`],
    ['status(503) ~ 5% 1%', 18, `expected "vs ALTERNATIVE" after 5%: ${VS_HINT}`],
    ['status(503) ~ 5% versus 50%', 18, `expected "vs ALTERNATIVE" after 5%: ${VS_HINT}`],
    ['status(503) ~ 5% vs 5%', 18, 'the alternative must differ from the expected 5%: no data can tell equal shares apart'],
    ['status(503) ~ 5% vs 5.0%', 18, 'the alternative must differ from the expected 5%: no data can tell equal shares apart'],
    ['status(503) ~ 5 vs 50%', 15, 'expected a percentage after ~: status(503) ~ EXPECTED vs ALTERNATIVE, like 6.25%'],
    ['status(503) ~ 5ms vs 50%', 15, 'expected a percentage after ~: status(503) ~ EXPECTED vs ALTERNATIVE, like 6.25%'],
    ['status(503) ~ vs 50%', 15, 'expected a percentage after ~: status(503) ~ EXPECTED vs ALTERNATIVE, like 6.25%'],
    ['status(503) ~ 5% vs 50', 21, 'expected a percentage after vs, like 50%'],
    ['status(503) ~ 5% vs', 20, 'expected a percentage after vs, like 50%'],
    ['status(503) ~ 120% vs 50%', 15, '120% is not a share: percentages go from 0% to 100%'],
    ['status(503) ~ 5% vs 100.5%', 21, '100.5% is not a share: percentages go from 0% to 100%'],
    ['status(503) ~ 5% vs 50% at 100%', 28, CONFIDENCE],
    ['status(503) ~ 5% vs 50% at 20%', 28, CONFIDENCE],
    ['status(503) ~ 5% vs 50% at 49.9%', 28, CONFIDENCE],
    ['status(503) ~ 5% vs 50% at 99', 28, CONFIDENCE],
    ['status(503) ~ 5% vs 50% at 0.999', 28, CONFIDENCE],
    ['status(503) ~ 5% vs 50% at', 27, CONFIDENCE],
    ['status(503) ~ 5% vs 50% 99%', 25, 'unexpected "99%" after the check: write one check per line'],
    ['status(503) ~ 5% vs 50% at 99% and more', 32, 'unexpected "and more" after the check: write one check per line'],
    ['versions ~ [v1 80%, v2 30%] vs [v1 50%, v2 50%]', 13, 'the shares add up to 110%, not 100%'],
    ['versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 40%]', 33, 'the shares add up to 90%, not 100%'],
    ['versions ~ [v1 80%, v1 20%] vs [v1 50%, v2 50%]', 21, 'v1 is listed twice'],
    ['subsets ~ [a 50%, b 25%, a 25%] vs [a 90%, b 10%]', 26, 'a is listed twice'],
    ['versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%', 32, 'missing ] to close the list of shares'],
    ['versions ~ [v1 80%, v2 20%', 12, 'missing ] to close the list of shares'],
    ['versions ~ [v1 80% v2 20%] vs [v1 50%, v2 50%]', 13, 'expected NAME SHARE% like v1 80%, not "v1 80% v2 20%"'],
    ['versions ~ [v1 80%, v2] vs [v1 50%, v2 50%]', 21, 'expected NAME SHARE% like v1 80%, not "v2"'],
    ['versions ~ [v1 80%, v2 20] vs [v1 50%, v2 50%]', 21, 'expected NAME SHARE% like v1 80%, not "v2 20"'],
    ['versions ~ [v1 80%, -v2 20%] vs [v1 50%, v2 50%]', 21, 'expected NAME SHARE% like v1 80%, not "-v2 20%"'],
    ['versions ~ [v1 100%,] vs [v1 50%, v2 50%]', 21, 'expected NAME SHARE% like v1 80%, not ""'],
    ['versions ~ [] vs [v1 50%, v2 50%]', 13, 'expected NAME SHARE% like v1 80%, not ""'],
    ['versions ~ [v1 80%, v2 20%] vs [v1 80%, v2 20%]', 29, 'the alternative split must differ from the expected one: no data can tell equal splits apart'],
    ['versions ~ [v1 80%, v2 20%] vs [v2 20%, v1 80.0%]', 29, 'the alternative split must differ from the expected one: no data can tell equal splits apart'],
    ['versions == [v1 80%, v2 20%]', 10, `versions ${SPLIT} versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]`],
    ['versions', 9, `versions ${SPLIT} versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]`],
    ['subsets [a 50%, b 50%]', 9, `subsets ${SPLIT} subsets ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]`],
    ['versions ~ v1 80%', 12, 'expected [NAME SHARE%, ...] after ~, like [v1 80%, v2 20%]'],
    ['versions ~ [v1 80%, v2 20%] [v1 50%, v2 50%]', 29, SPLIT_VS],
    ['versions ~ [v1 80%, v2 20%]', 28, SPLIT_VS],
    ['versions ~ [v1 80%, v2 20%] vs v1 50%', 32, 'expected [NAME SHARE%, ...] after vs, like [v1 80%, v2 20%]'],
    ['versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%] at 100%', 52, CONFIDENCE],
    ['versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%] at 99% now', 56, 'unexpected "now" after the check: write one check per line'],
    ['versions(v1) > 0', 1, 'unknown function "versions" - did you mean "version"?'],
    ['slower() > 0', 8, 'slower() needs a latency like slower(5s) or slower(250ms)'],
    ['slower(fast) > 0', 8, 'slower() needs a latency like slower(5s) or slower(250ms)'],
    ['slower(0ms) > 0', 8, 'slower() needs a latency like slower(5s) or slower(250ms)'],
    ['slower(250) > 0', 8, 'slower() needs a latency like slower(5s) or slower(250ms)'],
    ['slower > 0', 1, 'slower needs a latency: slower(5s)'],
    ['slower(5s) > 120%', 14, '120% is not a share of calls: percentages go from 0% to 100%'],
    ['version() > 0', 9, 'version() needs the x-version tag the meshload server was started with: version(v2)'],
    ['version(a b) > 0', 9, 'version() needs the x-version tag the meshload server was started with: version(v2)'],
    ['version > 0', 1, 'version needs a tag: version(v2)'],
    ['version(v2) > 1ms', 15, expect.stringMatching(/^a percentage needs %: /)],
    ['agree(retries) > 0', 16, 'agree(retries) stands alone: remove "> 0"'],
    ['agree(retires)', 7, 'agree() takes breaker, requests, retries - did you mean "retries"?'],
    ['agree() ', 7, 'agree() takes breaker, requests, retries'],
  ])('rejects %j at column %i: %s', (text, column, detail) => {
    const error = parseError(text);
    expect(error.detail).toEqual(detail);
    expect(error.column).toBe(column);
    expect(error.message).toBe(`column ${column}: ${error.detail}`);
  });

  it('names the metric written in the hint for a count that is not whole', () => {
    expect(parseError('version(v2) > 0.5').detail).toBe('a percentage needs %: version(...) compares as a share of calls (20%) or a count (12)');
    expect(parseError('slower(5s) > 0.5').detail).toBe('a percentage needs %: slower(...) compares as a share of calls (20%) or a count (12)');
  });

  it('reads an explicit default confidence as the default', () => {
    // 99.9 / 100 is 0.9990000000000001 in floating point.
    const explicit = parseExpectation('status(503) ~ 6.25% vs 50% at 99.9%');
    expect(explicit).toEqual(STATUS_503);
    expect(parseExpectation(formatExpectation(explicit))).toEqual(explicit);
  });

  it('has a help text that names the statistical checks and the new metrics', () => {
    for (const word of ['SHARE ~ EXPECTED vs ALTERNATIVE', 'at CONFIDENCE', 'versions ~ [', 'subsets ~ [', 'slower(DURATION)', 'version(TAG)', 'agree(retries)', '99.9%']) {
      expect(EXPECTATION_HELP).toContain(word);
    }
  });
});

/** `n` calls of 1 ms: the first `bad` answered `code`, the rest 200. */
function callsWith(n: number, bad: number, code = 503): FixtureCall[] {
  return Array.from({ length: n }, (_, i) => ({ code: i < bad ? code : 200, latencyUs: 1000 }));
}

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
