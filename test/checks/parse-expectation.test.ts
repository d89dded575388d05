/** The grammar of the checks language: what parses, its canonical form, and the one-line error
 * (column, problem, fix) of what does not. */
import { checkExpectation, EXPECTATION_HELP, ExpectationError, formatExpectation, parseExpectation, VIEW_NAMES, type Expectation } from '../../src/checks';

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

