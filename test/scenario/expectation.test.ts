import type { LoadResult } from '../../src/engine/load-result';
import {
  checkExpectation,
  EXPECTATION_HELP,
  ExpectationError,
  evaluateExpectation,
  formatExpectation,
  parseExpectation,
  VIEW_NAMES,
  type Expectation,
} from '../../src/scenario/expectation';
import type { CheckResult } from '../../src/scenario/scenario-result';
import type { ResilienceView } from '../../src/stats/resilience-view';
import { unavailableReport, type SidecarClusterReport, type SidecarReport } from '../../src/stats/sidecar-report';
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
    ['foo(1) > 0', 1, 'unknown function "foo": use status(...), p(...), cause(...), delta(...), max(...), share(...), agree(...), slower(...), version(...)'],
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
    const behind = fixtureResult(mixedCalls(), { durationMs: 5000, fellBehind: true });
    expectRow(behind, ['rps >= 60', 'inconclusive', '>= 60', '60.0 calls/s', 60]);
    expect(check('rps >= 60', behind).reason).toBe('the generator fell behind: the rate says more about the client than the target');
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
