/** The parser of the checks language: one check per string, read by recursive descent over
 * lexer.ts's tokens into an Expectation, with a one-line error (column, problem, fix) for a
 * check that does not parse. Pure. */
import { GRPC_STATUS_CONSTANTS, parseGrpcStatus } from '../grpc/grpc-status';
import { FAILURE_CAUSES } from '../model/failure-cause';
import { parseDuration } from '../util/duration';
import { suggest } from '../util/suggest';
import {
  AGREEMENT_NAMES,
  COMPARATORS,
  DEFAULT_CONFIDENCE,
  ExpectationError,
  VIEW_NAMES,
  type Comparator,
  type Expectation,
  type Metric,
  type Shares,
  type SplitSource,
  type Value,
} from './expectation';
import { formatMetric, formatValue, round } from './format-expectation';
import { Lexer } from './lexer';

const FUNCTIONS = ['status', 'grpc', 'p', 'cause', 'delta', 'max', 'share', 'agree', 'slower', 'version'] as const;
const BARE = ['error_rate', 'avg', 'min', 'max', 'rps', 'calls', 'versions', 'subsets'] as const;
const ALL_NAMES: readonly string[] = [...new Set<string>([...FUNCTIONS, ...BARE, ...VIEW_NAMES])];

/** What a value must look like for a metric. */
type ValueKind = 'share-or-count' | 'percent' | 'duration' | 'rate' | 'count';

function valueKind(metric: Metric): ValueKind {
  switch (metric.kind) {
    case 'status':
    case 'grpc':
    case 'cause':
    case 'slower':
    case 'version':
      return 'share-or-count';
    case 'error_rate':
    case 'share':
      return 'percent';
    case 'latency':
      return 'duration';
    case 'rps':
      return 'rate';
    case 'calls':
    case 'delta':
    case 'gauge':
    case 'view':
      return 'count';
  }
}

const PERCENTILE = /^(\d+(?:\.\d*)?|\.\d+)$/;
const STATUS_CODE = /^[1-5]\d\d$/;
const STATUS_CLASS = /^[1-5]xx$/i;

export function parseExpectation(text: string): Expectation {
  const lexer = new Lexer(text);
  const first = lexer.next();
  if (first.type === 'end') return lexer.fail(0, 'empty check: write one like status(503) > 0 or p(99) < 250ms');
  if (first.type !== 'name') return lexer.fail(first.at, `a check starts with a metric like status(503), p(99) or breaker.rejected, not "${first.text}"`);
  if ((first.text === 'versions' || first.text === 'subsets') && !isCall(lexer)) return parseSplit(lexer, first.text, text);
  const metricOrAgree = parseMetric(lexer, first.text, first.at);
  if (metricOrAgree.kind === 'agree') {
    const after = lexer.peek();
    if (after.type !== 'end') lexer.fail(after.at, `agree(${metricOrAgree.name}) stands alone: remove "${text.slice(after.at).trim()}"`);
    return metricOrAgree;
  }
  const metric = metricOrAgree;
  const shown = formatMetric(metric);
  const opToken = lexer.next();
  let expectation: Expectation;
  if (opToken.type === 'op' && (COMPARATORS as readonly string[]).includes(opToken.text)) {
    const op = opToken.text as Comparator;
    expectation = { kind: 'compare', metric, op, value: parseValue(lexer, metric, `after ${op}`) };
  } else if (opToken.type === 'name' && opToken.text === 'in') {
    const open = lexer.next();
    if (!(open.type === 'punct' && open.text === '[')) lexer.fail(open.at, `expected [ after in: ${shown} in [LOW, HIGH]`);
    const low = parseValue(lexer, metric, 'after in [');
    const comma = lexer.next();
    if (!(comma.type === 'punct' && comma.text === ',')) lexer.fail(comma.at, `expected , between the bounds: ${shown} in [LOW, HIGH]`);
    const high = parseValue(lexer, metric, 'after ,');
    const close = lexer.next();
    if (!(close.type === 'punct' && close.text === ']')) lexer.fail(close.at, `expected ] to close the range: ${shown} in [LOW, HIGH]`);
    if (low.unit !== high.unit) lexer.fail(open.at, `both bounds of in [...] need the same unit: ${formatValue(low)} and ${formatValue(high)} differ`);
    if (low.value > high.value) lexer.fail(open.at, `in [LOW, HIGH] needs LOW <= HIGH: write in [${formatValue(high)}, ${formatValue(low)}]`);
    expectation = { kind: 'range', metric, low, high };
  } else if (opToken.type === 'op' && opToken.text === '~') {
    if (!PROPORTIONS.includes(metric.kind)) {
      lexer.fail(opToken.at, `~ compares a share of calls: use it with status(...), grpc(...), error_rate, cause(...), share(...), slower(...) or version(...), not ${shown}`);
    }
    const expected = parsePercent(lexer, `after ~: ${shown} ~ EXPECTED vs ALTERNATIVE, like 6.25%`);
    const vs = lexer.next();
    if (!(vs.type === 'name' && vs.text === 'vs')) {
      lexer.fail(vs.at, `expected "vs ALTERNATIVE" after ${formatValue(expected)}: the share the data must rule out (what an unconfigured mesh would give), like vs 50%`);
    }
    const alternative = parsePercent(lexer, 'after vs, like 50%');
    if (alternative.value === expected.value) lexer.fail(vs.at, `the alternative must differ from the expected ${formatValue(expected)}: no data can tell equal shares apart`);
    expectation = { kind: 'consistent', metric, expected, alternative, confidence: parseConfidence(lexer) };
  } else if (opToken.type === 'op' && opToken.text === '=') {
    return lexer.fail(opToken.at, `use == to compare: ${shown} == ...`);
  } else if (opToken.type === 'op' && opToken.text === '!=') {
    return lexer.fail(opToken.at, `!= is not supported: use <, > or in [LOW, HIGH]`);
  } else {
    return lexer.fail(opToken.at, `expected an operator (<, <=, ==, >=, >, in) after ${shown}`);
  }
  const rest = lexer.peek();
  if (rest.type !== 'end') lexer.fail(rest.at, `unexpected "${text.slice(rest.at).trim()}" after the check: write one check per line`);
  return expectation;
}

/** Metrics that are a share of calls (or of requests sent upstream), so `~` applies. */
const PROPORTIONS: ReadonlyArray<Metric['kind']> = ['status', 'grpc', 'error_rate', 'cause', 'share', 'slower', 'version'];

function isCall(lexer: Lexer): boolean {
  const next = lexer.peek();
  return next.type === 'punct' && next.text === '(';
}

function parsePercent(lexer: Lexer, where: string): Value {
  const token = lexer.next();
  if (token.type !== 'number' || token.suffix !== '%') return lexer.fail(token.at, `expected a percentage ${where}`);
  if (token.value > 100) lexer.fail(token.at, `${token.text} is not a share: percentages go from 0% to 100%`);
  return { unit: 'percent', value: token.value };
}

/** ` at 99.9%`, optional; the end of the check must follow. */
function parseConfidence(lexer: Lexer): number {
  const at = lexer.peek();
  if (at.type !== 'name' || at.text !== 'at') return DEFAULT_CONFIDENCE;
  lexer.next();
  const token = lexer.next();
  if (token.type !== 'number' || token.suffix !== '%' || token.value < 50 || token.value >= 100) {
    return lexer.fail(token.at, 'expected a confidence from 50% to under 100% after at, like 99.9%');
  }
  // 99.9 / 100 is 0.9990000000000001: round, so `at 99.9%` is the default and formats away.
  return Number((token.value / 100).toFixed(10));
}

/** `versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%] [at 99%]`. */
function parseSplit(lexer: Lexer, source: SplitSource, text: string): Expectation {
  const tilde = lexer.next();
  if (!(tilde.type === 'op' && tilde.text === '~')) {
    lexer.fail(tilde.at, `${source} is a traffic split: write ${source} ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]`);
  }
  const expected = parseShares(lexer, 'after ~');
  const vs = lexer.next();
  if (!(vs.type === 'name' && vs.text === 'vs')) {
    lexer.fail(vs.at, 'expected "vs [...]" after the shares: the split the data must rule out (an unconfigured mesh splits evenly), like vs [v1 50%, v2 50%]');
  }
  const alternative = parseShares(lexer, 'after vs');
  const same = expected.length === alternative.length && expected.every(([name, share]) => alternative.some(([n, a]) => n === name && Math.abs(a - share) < 1e-9));
  if (same) lexer.fail(vs.at, 'the alternative split must differ from the expected one: no data can tell equal splits apart');
  const confidence = parseConfidence(lexer);
  const rest = lexer.peek();
  if (rest.type !== 'end') lexer.fail(rest.at, `unexpected "${text.slice(rest.at).trim()}" after the check: write one check per line`);
  return { kind: 'split', source, expected, alternative, confidence };
}

const SHARE_ITEM = /^([A-Za-z0-9][A-Za-z0-9_.-]*)\s+(\d+(?:\.\d*)?|\.\d+)%$/;

function parseShares(lexer: Lexer, where: string): Shares {
  const open = lexer.peek();
  if (!(open.type === 'punct' && open.text === '[')) return lexer.fail(open.at, `expected [NAME SHARE%, ...] ${where}, like [v1 80%, v2 20%]`);
  lexer.next();
  // Subset names are DNS labels (dashes): read the list raw rather than as tokens.
  const raw = lexer.rawUntil(']', open.at, 'the list of shares');
  const shares: Array<readonly [string, number]> = [];
  let at = raw.at;
  for (const item of raw.text.split(',')) {
    const trimmed = item.trim();
    const column = at + (item.length - item.trimStart().length);
    const m = SHARE_ITEM.exec(trimmed);
    if (m === null) lexer.fail(column, `expected NAME SHARE% like v1 80%, not "${trimmed}"`);
    const [, name, percent] = m as unknown as [string, string, string];
    if (shares.some(([n]) => n === name)) lexer.fail(column, `${name} is listed twice`);
    shares.push([name, Number(percent)]);
    at += item.length + 1;
  }
  const sum = shares.reduce((acc, [, share]) => acc + share, 0);
  if (Math.abs(sum - 100) > 0.01) lexer.fail(raw.at, `the shares add up to ${round(sum)}%, not 100%`);
  return shares;
}

/** For validation that collects every error: the one-line problem of `text`, or undefined when
 * it parses (fits load-scenario's `checkExpression`). */
export function checkExpectation(text: string): string | undefined {
  try {
    parseExpectation(text);
    return undefined;
  } catch (error) {
    if (error instanceof ExpectationError) return error.message;
    throw error;
  }
}

function parseMetric(lexer: Lexer, name: string, at: number): Metric | Extract<Expectation, { kind: 'agree' }> {
  const after = lexer.peek();
  const call = after.type === 'punct' && after.text === '(';
  if (call) {
    lexer.next();
    const known = (FUNCTIONS as readonly string[]).includes(name);
    if (!known) {
      const guess = suggest(name, FUNCTIONS);
      lexer.fail(at, `unknown function "${name}"${guess === undefined ? `: use ${FUNCTIONS.map((f) => `${f}(...)`).join(', ')}` : ` - did you mean "${guess}"?`}`);
    }
    const arg = lexer.rawArgument(after.at, name);
    switch (name) {
      case 'status': {
        if (STATUS_CODE.test(arg.text)) return { kind: 'status', code: arg.text };
        if (STATUS_CLASS.test(arg.text)) return { kind: 'status', code: arg.text.toLowerCase() };
        return lexer.fail(arg.at, 'status() needs a code like 503 or a class like 5xx');
      }
      case 'grpc': {
        const code = parseGrpcStatus(arg.text);
        if (code !== undefined && arg.text !== '') return { kind: 'grpc', code };
        if (arg.text === '') return lexer.fail(arg.at, 'grpc() needs a gRPC status: a name like UNAVAILABLE or a code 0-16');
        const guess = suggest(arg.text.toUpperCase().replace(/-/g, '_'), GRPC_STATUS_CONSTANTS);
        return lexer.fail(arg.at, `unknown gRPC status "${arg.text}"${guess === undefined ? ': use a name like UNAVAILABLE, DEADLINE_EXCEEDED or OK, or a code 0-16' : ` - did you mean "${guess}"?`}`);
      }
      case 'p': {
        const p = Number(arg.text);
        if (!PERCENTILE.test(arg.text) || p > 100) return lexer.fail(arg.at, 'p() needs a percentile from 0 to 100');
        return { kind: 'latency', stat: { kind: 'percentile', percentile: p } };
      }
      case 'cause': {
        const cause = FAILURE_CAUSES.find((c) => c === arg.text);
        if (cause !== undefined) return { kind: 'cause', cause };
        if (arg.text === '') return lexer.fail(arg.at, `cause() needs a cause: ${FAILURE_CAUSES.join(', ')}`);
        const guess = suggest(arg.text, FAILURE_CAUSES);
        return lexer.fail(arg.at, `unknown cause "${arg.text}"${guess === undefined ? '' : ` - did you mean "${guess}"?`} (causes: ${FAILURE_CAUSES.join(', ')})`);
      }
      case 'delta':
      case 'max': {
        const what = name === 'delta' ? 'counter' : 'gauge';
        const example = name === 'delta' ? 'upstream_rq_pending_overflow' : 'circuit_breakers.default.rq_pending_open';
        if (arg.text === '') return lexer.fail(arg.at, `${name}() needs a ${what} name as the proxy's stats write it: ${name}(${example})`);
        return name === 'delta' ? { kind: 'delta', stat: arg.text } : { kind: 'gauge', stat: arg.text };
      }
      case 'share': {
        if (arg.text === '') return lexer.fail(arg.at, 'share() needs an Istio subset name, as the DestinationRule names it: share(v2)');
        return { kind: 'share', subset: arg.text };
      }
      case 'slower': {
        const ms = parseDuration(arg.text);
        if (arg.text === '' || ms === undefined || ms <= 0) return lexer.fail(arg.at, 'slower() needs a latency like slower(5s) or slower(250ms)');
        return { kind: 'slower', thresholdMs: ms };
      }
      case 'version': {
        if (!/^[\x21-\x7e]+$/.test(arg.text)) return lexer.fail(arg.at, 'version() needs the x-version tag the meshload server was started with: version(v2)');
        return { kind: 'version', tag: arg.text };
      }
      case 'agree': {
        const agreement = AGREEMENT_NAMES.find((a) => a === arg.text);
        if (agreement !== undefined) return { kind: 'agree', name: agreement };
        const guess = suggest(arg.text, AGREEMENT_NAMES);
        return lexer.fail(arg.at, `agree() takes ${AGREEMENT_NAMES.join(', ')}${guess === undefined || arg.text === '' ? '' : ` - did you mean "${guess}"?`}`);
      }
    }
  }
  switch (name) {
    case 'error_rate':
    case 'rps':
    case 'calls':
      return { kind: name };
    case 'avg':
    case 'min':
    case 'max':
      return { kind: 'latency', stat: { kind: name } };
    case 'status':
      return lexer.fail(at, 'status needs a code: status(503) or status(5xx)');
    case 'grpc':
      return lexer.fail(at, 'grpc needs a status: grpc(UNAVAILABLE) or grpc(OK)');
    case 'p':
      return lexer.fail(at, 'p needs a percentile: p(99)');
    case 'cause':
      return lexer.fail(at, 'cause needs a name: cause(breaker)');
    case 'delta':
      return lexer.fail(at, 'delta needs a counter: delta(upstream_rq_pending_overflow)');
    case 'agree':
      return lexer.fail(at, 'agree needs a check name: agree(breaker), agree(requests) or agree(retries)');
    case 'share':
      return lexer.fail(at, 'share needs a subset: share(v2)');
    case 'slower':
      return lexer.fail(at, 'slower needs a latency: slower(5s)');
    case 'version':
      return lexer.fail(at, 'version needs a tag: version(v2)');
  }
  const view = VIEW_NAMES.find((v) => v === name);
  if (view !== undefined) return { kind: 'view', name: view };
  // A common slip from other tools' syntax (k6, Fortio output): p99 for p(99).
  const short = /^p(\d+(?:\.\d+)?)$/i.exec(name);
  if (short !== null) return lexer.fail(at, `write p(${short[1] as string}) for a percentile`);
  const guess = suggest(name, ALL_NAMES);
  return lexer.fail(
    at,
    `unknown metric "${name}"${guess === undefined ? ': use status(...), error_rate, p(N), avg, min, max, rps, calls, cause(...), delta(...), max(...) or a resilience name like breaker.rejected' : ` - did you mean "${guess}"?`}`,
  );
}

function parseValue(lexer: Lexer, metric: Metric, where: string): Value {
  const kind = valueKind(metric);
  const shown = formatMetric(metric);
  const token = lexer.next();
  const example = { 'share-or-count': '20% or 12', percent: '1%', duration: '250ms', rate: '95', count: '0' }[kind];
  if (token.type !== 'number') return lexer.fail(token.at, `expected a value ${where}, like ${example}`);
  const { value, suffix, at } = token;
  const isPercent = suffix === '%';
  const duration = suffix !== '' && !isPercent ? parseDuration(token.text) : undefined;
  if (suffix !== '' && !isPercent && duration === undefined) {
    if (kind === 'duration') lexer.fail(at, `unknown unit in "${token.text}": latency needs a unit: 250ms, 1.5s, 500us`);
    lexer.fail(at, `unexpected "${suffix}" after ${token.text.slice(0, token.text.length - suffix.length)}`);
  }
  // A unit after a space (`250 ms`) reads as a bare number followed by a word.
  const unitAfterSpace = (): string | undefined => {
    const next = lexer.peek();
    return next.type === 'name' && parseDuration(`1${next.text}`) !== undefined ? next.text : undefined;
  };
  const tooBig = (): void => {
    if (value > 100) lexer.fail(at, `${token.text} is not a share of calls: percentages go from 0% to 100%`);
  };
  switch (kind) {
    case 'share-or-count': {
      const fn = metric.kind;
      if (isPercent) {
        tooBig();
        return { unit: 'percent', value };
      }
      // A count of calls is whole: a fraction was meant as a share.
      if (duration !== undefined || !Number.isInteger(value)) {
        lexer.fail(at, `a percentage needs %: ${fn}(...) compares as a share of calls (20%) or a count (12)`);
      }
      return { unit: 'number', value };
    }
    case 'percent': {
      if (isPercent) {
        tooBig();
        return { unit: 'percent', value };
      }
      const written = value <= 1 && duration === undefined ? `${round(value * 100)}%` : `${value}%`;
      return lexer.fail(at, `${shown} needs %: write ${written} (a plain ${token.text} could be a fraction or a percentage)`);
    }
    case 'duration': {
      if (duration !== undefined) return { unit: 'ms', value: duration };
      const unit = isPercent ? undefined : unitAfterSpace();
      if (unit !== undefined) lexer.fail(at, `write the unit next to the number: ${token.text}${unit}`);
      return lexer.fail(at, 'latency needs a unit: 250ms, 1.5s, 500us');
    }
    case 'rate':
    case 'count': {
      if (!isPercent && duration === undefined) return { unit: 'number', value };
      const what = kind === 'rate' ? `${shown} is calls per second` : `${shown} is a count`;
      return lexer.fail(at, `${what}: write a plain number like ${value}`);
    }
  }
}
