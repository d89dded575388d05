/** The expectation grammar of scenario files: one check per string (`status(503) >= 20%`,
 * `p(99) < 250ms`, `breaker.rejected > 0`, `agree(breaker)`), parsed by a small hand-written
 * tokenizer and recursive-descent parser, and evaluated against a LoadResult. Pure.
 *
 * Resilience names (`breaker.rejected`, ...) read the sidecar's view summed over the matched
 * clusters (`SidecarReport.total`):
 *
 * | name                   | ResilienceView field                              |
 * |------------------------|---------------------------------------------------|
 * | requests.sent          | requestsSent                                      |
 * | breaker.rejected       | breakerRejections.pending + breakerRejections.active |
 * | breaker.pending        | breakerRejections.pending                         |
 * | breaker.active         | breakerRejections.active                          |
 * | breaker.connection     | breakerRejections.connection                      |
 * | retries.attempted      | retries.attempted                                 |
 * | retries.succeeded      | retries.succeeded                                 |
 * | retries.overflowed     | retries.overflowed                                |
 * | retries.limit_exceeded | retries.limitExceeded                             |
 * | timeouts.route         | timeouts.route                                    |
 * | timeouts.per_try       | timeouts.perTry                                   |
 * | upstream_5xx.final     | upstream5xx.final                                 |
 * | upstream_5xx.retried   | upstream5xx.retried                               |
 * | connect_failures       | connectFailures                                   |
 * | ejections.enforced     | ejections.enforced                                |
 * | ejections.active       | ejections.active (gauge maximum)                  |
 * | faults.aborts          | faults.aborts                                     |
 * | faults.delays          | faults.delays                                     |
 * | breaker_open.cx        | breakerOpen.cx (gauge maximum, 0/1)               |
 * | breaker_open.rq_pending| breakerOpen.rqPending                             |
 * | breaker_open.rq        | breakerOpen.rq                                    |
 * | breaker_open.rq_retry  | breakerOpen.rqRetry                               |
 */
import type { LoadResult } from '../engine/load-result';
import { fellBehindText, notOkCalls } from '../engine/schedule';
import { countAtOrAbove, Distribution } from '../metrics/distribution';
import { decideProportion, goodnessOfFit, goodnessOfFitSampleSize, proportionSampleSize, wilsonInterval } from '../metrics/statistics';
import { FAILURE_CAUSES, type FailureCause } from '../stats/failure-cause';
import type { ResilienceView } from '../stats/resilience-view';
import type { AgreementCheck, SidecarReport } from '../stats/sidecar-report';
import { statKey } from '../stats/stat-sample';
import { GRPC_STATUS_CONSTANTS, grpcStatusName, parseGrpcStatus } from '../grpc/grpc-status';
import { formatDuration, parseDuration } from '../util/duration';
import { suggest } from '../util/suggest';
import type { CheckResult, Verdict } from '../scenario/scenario-result';

export type Comparator = '<' | '<=' | '==' | '>=' | '>';

export const COMPARATORS: readonly Comparator[] = ['<', '<=', '==', '>=', '>'];

export type LatencyStat = { kind: 'percentile'; percentile: number } | { kind: 'avg' } | { kind: 'min' } | { kind: 'max' };

export type ViewName =
  | 'requests.sent'
  | 'breaker.rejected'
  | 'breaker.pending'
  | 'breaker.active'
  | 'breaker.connection'
  | 'retries.attempted'
  | 'retries.succeeded'
  | 'retries.overflowed'
  | 'retries.limit_exceeded'
  | 'timeouts.route'
  | 'timeouts.per_try'
  | 'upstream_5xx.final'
  | 'upstream_5xx.retried'
  | 'connect_failures'
  | 'ejections.enforced'
  | 'ejections.active'
  | 'faults.aborts'
  | 'faults.delays'
  | 'breaker_open.cx'
  | 'breaker_open.rq_pending'
  | 'breaker_open.rq'
  | 'breaker_open.rq_retry';

type Count = number | undefined;

/** How each name reads the summed view; breaker.rejected adds pending and active as the
 * sidecar's breaker agreement does (Envoy < 1.38 counts both as pending). */
const VIEW_FIELDS: Readonly<Record<ViewName, (v: ResilienceView) => Count>> = {
  'requests.sent': (v) => v.requestsSent,
  'breaker.rejected': (v) => {
    const { pending, active } = v.breakerRejections;
    return pending === undefined && active === undefined ? undefined : (pending ?? 0) + (active ?? 0);
  },
  'breaker.pending': (v) => v.breakerRejections.pending,
  'breaker.active': (v) => v.breakerRejections.active,
  'breaker.connection': (v) => v.breakerRejections.connection,
  'retries.attempted': (v) => v.retries.attempted,
  'retries.succeeded': (v) => v.retries.succeeded,
  'retries.overflowed': (v) => v.retries.overflowed,
  'retries.limit_exceeded': (v) => v.retries.limitExceeded,
  'timeouts.route': (v) => v.timeouts.route,
  'timeouts.per_try': (v) => v.timeouts.perTry,
  'upstream_5xx.final': (v) => v.upstream5xx.final,
  'upstream_5xx.retried': (v) => v.upstream5xx.retried,
  connect_failures: (v) => v.connectFailures,
  'ejections.enforced': (v) => v.ejections.enforced,
  'ejections.active': (v) => v.ejections.active,
  'faults.aborts': (v) => v.faults.aborts,
  'faults.delays': (v) => v.faults.delays,
  'breaker_open.cx': (v) => v.breakerOpen.cx,
  'breaker_open.rq_pending': (v) => v.breakerOpen.rqPending,
  'breaker_open.rq': (v) => v.breakerOpen.rq,
  'breaker_open.rq_retry': (v) => v.breakerOpen.rqRetry,
};

export const VIEW_NAMES = Object.keys(VIEW_FIELDS) as readonly ViewName[];

export type AgreementName = AgreementCheck['name'];

const AGREEMENT_NAMES: readonly AgreementName[] = ['breaker', 'requests', 'retries'];

export type Metric =
  /** `code` is `503` or a class `5xx`. */
  | { kind: 'status'; code: string }
  | { kind: 'error_rate' }
  | { kind: 'latency'; stat: LatencyStat }
  | { kind: 'rps' }
  | { kind: 'calls' }
  | { kind: 'cause'; cause: FailureCause }
  /** `stat` as written; matched against the report's stat names by canonical key. */
  | { kind: 'delta'; stat: string }
  | { kind: 'gauge'; stat: string }
  | { kind: 'view'; name: ViewName }
  /** The share of the requests the proxy sent upstream that went to one Istio subset. */
  | { kind: 'share'; subset: string }
  /** Calls whose corrected latency reached `thresholdMs` (a fault delay's victims). */
  | { kind: 'slower'; thresholdMs: number }
  /** Calls answered with `x-version: <tag>` (meshload server -version-tag). */
  | { kind: 'version'; tag: string }
  /** gRPC calls ended with this status code (0-16), as LoadResult.grpcStatuses counts them. */
  | { kind: 'grpc'; code: number };

/** Where a traffic split is read: the `x-version` the responses carried, or the proxy's
 * per-subset clusters. */
export type SplitSource = 'versions' | 'subsets';

/** Named shares in percent, in the order written: `[v1 80%, v2 20%]`. */
export type Shares = ReadonlyArray<readonly [string, number]>;

/** Confidence of `~` checks when the check does not say `at`. */
export const DEFAULT_CONFIDENCE = 0.999;

/** `percent` 0-100, `ms` milliseconds, `number` a plain count or rate. */
export interface Value {
  unit: 'percent' | 'ms' | 'number';
  value: number;
}

export type Expectation =
  | { kind: 'compare'; metric: Metric; op: Comparator; value: Value }
  /** Inclusive at both ends. */
  | { kind: 'range'; metric: Metric; low: Value; high: Value }
  | { kind: 'agree'; name: AgreementName }
  /** `status(503) ~ 6.25% vs 50%`: the observed share is consistent with `expected` and rules out
   * `alternative` (Wilson interval at `confidence`); neither ruled out is inconclusive. */
  | { kind: 'consistent'; metric: Metric; expected: Value; alternative: Value; confidence: number }
  /** `versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%]`: chi-square goodness of fit. */
  | { kind: 'split'; source: SplitSource; expected: Shares; alternative: Shares; confidence: number };

/** A check that does not parse. `detail` is the one-line problem and fix; `column` is 1-based. */
export class ExpectationError extends Error {
  constructor(
    readonly text: string,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`column ${column}: ${detail}`);
    this.name = 'ExpectationError';
  }
}

export const EXPECTATION_HELP = `Checks, one per line: METRIC OP VALUE, METRIC in [LOW, HIGH] (inclusive), or agree(NAME).
  OP: <  <=  ==  >=  >
  status(503), status(5xx)   calls with that code or class: a share with % (20%), else a count (12)
  grpc(UNAVAILABLE)          gRPC calls ended with that status (a name, or a code 0-16): share with %, else a count
  error_rate                 share of calls not OK (OK: 2xx and 418), always with %: error_rate < 1%
  p(99), avg, min, max       corrected latency, with a unit: 500us, 250ms, 1.5s, 1m
  rps                        achieved calls per second (plain number)
  calls                      calls made (count)
  cause(NAME)                failed calls by cause (${FAILURE_CAUSES.join(', ')}): count, or share with %
  delta(STAT)                counter delta summed over the matched clusters: delta(upstream_rq_pending_overflow)
  max(GAUGE)                 gauge maximum over the matched clusters: max(circuit_breakers.default.rq_pending_open)
  share(SUBSET)              share of the requests sent upstream that went to an Istio subset, with %: share(v2) in [15%, 25%]
  ${VIEW_NAMES.join(', ')}
                             the resilience view summed over the matched clusters (count)
  slower(DURATION)           calls whose latency reached DURATION (a fault delay's victims): count, or share with %
  version(TAG)               calls answered with x-version: TAG (meshload server -version-tag): count, or share with %
  agree(breaker), agree(requests), agree(retries)
                             the client's and the proxy's numbers agree (retries: the attempt counts the
                             meshload server echoes against the proxy's retry counter)
Statistical checks, for rates that vary from run to run:
  SHARE ~ EXPECTED vs ALTERNATIVE [at CONFIDENCE]
                             SHARE is status(...), grpc(...), error_rate, cause(...), share(...), slower(...) or
                             version(...): pass when the Wilson interval of the observed share (default
                             confidence 99.9%) contains EXPECTED and excludes ALTERNATIVE, fail when it
                             excludes EXPECTED, inconclusive when it contains both: status(503) ~ 6.25% vs 50%
  versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%] [at CONFIDENCE]
  subsets ~ [...] vs [...]   a traffic split (x-version of the responses, or the proxy's per-subset
                             clusters) by chi-square goodness of fit: pass when it fits EXPECTED and
                             rules out ALTERNATIVE
Stats checks need sidecar: in the scenario. A check without data fails (no_data), never passes.`;

// ---------------------------------------------------------------------------------------------
// Tokenizer

type Token =
  | { type: 'name'; text: string; at: number }
  /** `suffix` is what follows the digits without a space: '%', a duration unit, or ''. */
  | { type: 'number'; text: string; value: number; suffix: string; at: number }
  | { type: 'op'; text: string; at: number }
  | { type: 'punct'; text: '(' | ')' | '[' | ']' | ','; at: number }
  | { type: 'end'; text: ''; at: number };

const NAME = /[A-Za-z_][A-Za-z0-9_.]*/y;
const NUMBER = /(\d+(?:\.\d*)?|\.\d+)(%|[A-Za-zµμ][A-Za-z0-9µμ.]*)?/y;
const OP = /<=|>=|==|!=|<|>|=|~/y;

class Lexer {
  private pos = 0;
  private peeked: Token | undefined;

  constructor(readonly text: string) {}

  fail(at: number, detail: string): never {
    throw new ExpectationError(this.text, at + 1, detail);
  }

  peek(): Token {
    this.peeked ??= this.scan();
    return this.peeked;
  }

  next(): Token {
    const token = this.peek();
    this.peeked = undefined;
    return token;
  }

  /** Everything up to the matching `)`, as written: stat names carry dots, dashes and Prometheus
   * selectors (`http_responses_total{code="5xx"}`) that no token class should have to know. */
  rawArgument(open: number, fn: string): { text: string; at: number } {
    if (this.peeked !== undefined) throw new Error('rawArgument after peek');
    const start = this.pos;
    let quoted = false;
    for (let i = start; i < this.text.length; i++) {
      const c = this.text[i];
      if (c === '"') quoted = !quoted;
      else if (c === ')' && !quoted) {
        this.pos = i + 1;
        const raw = this.text.slice(start, i);
        return { text: raw.trim(), at: start + (raw.length - raw.trimStart().length) };
      }
    }
    return this.fail(open, `missing ) to close ${fn}(`);
  }

  /** Everything up to `close`, after a consumed opening bracket. */
  rawUntil(close: string, open: number, what: string): { text: string; at: number } {
    if (this.peeked !== undefined) throw new Error('rawUntil after peek');
    const end = this.text.indexOf(close, this.pos);
    if (end < 0) return this.fail(open, `missing ${close} to close ${what}`);
    const start = this.pos;
    this.pos = end + 1;
    return { text: this.text.slice(start, end), at: start };
  }

  private scan(): Token {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
    const at = this.pos;
    if (at >= this.text.length) return { type: 'end', text: '', at };
    const c = this.text[at] as string;
    for (const [re, type] of [
      [NAME, 'name'],
      [OP, 'op'],
    ] as const) {
      re.lastIndex = at;
      const m = re.exec(this.text);
      if (m !== null) {
        this.pos = re.lastIndex;
        return { type, text: m[0], at };
      }
    }
    NUMBER.lastIndex = at;
    const m = NUMBER.exec(this.text);
    if (m !== null) {
      this.pos = NUMBER.lastIndex;
      return { type: 'number', text: m[0], value: Number(m[1]), suffix: m[2] ?? '', at };
    }
    if (c === '(' || c === ')' || c === '[' || c === ']' || c === ',') {
      this.pos++;
      return { type: 'punct', text: c, at };
    }
    return this.fail(at, `unexpected character "${c}"`);
  }
}

// ---------------------------------------------------------------------------------------------
// Parser

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
 * it parses (fits scenario-schema's `checkExpression`). */
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

// ---------------------------------------------------------------------------------------------
// Canonical form

export function formatMetric(metric: Metric): string {
  switch (metric.kind) {
    case 'status':
      return `status(${metric.code})`;
    case 'grpc':
      return `grpc(${GRPC_STATUS_CONSTANTS[metric.code] ?? metric.code})`;
    case 'error_rate':
    case 'rps':
    case 'calls':
      return metric.kind;
    case 'latency':
      return metric.stat.kind === 'percentile' ? `p(${metric.stat.percentile})` : metric.stat.kind;
    case 'cause':
      return `cause(${metric.cause})`;
    case 'delta':
      return `delta(${metric.stat})`;
    case 'gauge':
      return `max(${metric.stat})`;
    case 'view':
      return metric.name;
    case 'share':
      return `share(${metric.subset})`;
    case 'slower':
      return `slower(${formatDuration(metric.thresholdMs)})`;
    case 'version':
      return `version(${metric.tag})`;
  }
}

export function formatValue(value: Value): string {
  switch (value.unit) {
    case 'percent':
      return `${value.value}%`;
    case 'ms':
      return formatDuration(value.value);
    case 'number':
      return String(value.value);
  }
}

/** The canonical text of a check: parseExpectation(formatExpectation(e)) equals e. */
export function formatExpectation(expectation: Expectation): string {
  switch (expectation.kind) {
    case 'agree':
      return `agree(${expectation.name})`;
    case 'split':
      return `${expectation.source} ${formatRequirement(expectation)}`;
    default:
      return `${formatMetric(expectation.metric)} ${formatRequirement(expectation)}`;
  }
}

export function formatShares(shares: Shares): string {
  return `[${shares.map(([name, share]) => `${name} ${round(share)}%`).join(', ')}]`;
}

export function formatConfidence(confidence: number): string {
  return `${round(confidence * 100)}%`;
}

/** ` at 99%`, or '' for the default confidence (as a check is written canonically). */
export function confidenceSuffix(confidence: number): string {
  return Math.abs(confidence - DEFAULT_CONFIDENCE) < 1e-12 ? '' : ` at ${formatConfidence(confidence)}`;
}

function formatRequirement(expectation: Exclude<Expectation, { kind: 'agree' }>): string {
  const at = confidenceSuffix;
  switch (expectation.kind) {
    case 'compare':
      return `${expectation.op} ${formatValue(expectation.value)}`;
    case 'range':
      return `in [${formatValue(expectation.low)}, ${formatValue(expectation.high)}]`;
    case 'consistent':
      return `~ ${formatValue(expectation.expected)} vs ${formatValue(expectation.alternative)}${at(expectation.confidence)}`;
    case 'split':
      return `~ ${formatShares(expectation.expected)} vs ${formatShares(expectation.alternative)}${at(expectation.confidence)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

interface Observation {
  value: number;
  observed: string;
  /** Set when the observation cannot decide the check although it has a number. */
  inconclusive?: string;
}

type Outcome = Observation | { verdict: 'no_data' | 'inconclusive'; reason: string };

/** Floating point shares (29 of 100 calls is 28.999999999999996%) must not fail a `>= 29%`. */
const EPSILON = 1e-9;

function compare(observed: number, op: Comparator, target: number): boolean {
  const equal = Math.abs(observed - target) <= EPSILON * Math.max(1, Math.abs(observed), Math.abs(target));
  switch (op) {
    case '<':
      return observed < target && !equal;
    case '<=':
      return observed <= target || equal;
    case '==':
      return equal;
    case '>=':
      return observed >= target || equal;
    case '>':
      return observed > target && !equal;
  }
}

export function evaluateExpectation(expectation: Expectation, result: LoadResult, path: string, text: string): CheckResult {
  const expected = expectation.kind === 'agree' ? 'client and proxy agree' : formatRequirement(expectation);
  const base = { expression: text, path, expected };
  const calls = totalCalls(result);
  if (result.stopReason === 'warmup-failed' && calls === 0) {
    return { ...base, observed: undefined, observedValue: undefined, verdict: 'inconclusive', reason: `target unreachable: ${result.stopDetail ?? 'the warm-up failed'}` };
  }
  if (expectation.kind === 'consistent') return { ...base, ...evaluateConsistent(expectation, result, calls) };
  if (expectation.kind === 'split') return { ...base, ...evaluateSplit(expectation, result) };
  const outcome: Outcome =
    expectation.kind === 'agree'
      ? observeAgreement(expectation.name, result.sidecar)
      : observe(expectation.metric, expectation.kind === 'compare' ? expectation.value.unit : expectation.low.unit, result, calls);
  if ('verdict' in outcome) return { ...base, observed: undefined, observedValue: undefined, verdict: outcome.verdict, reason: outcome.reason };
  let verdict: Verdict;
  let reason: string | undefined;
  if (outcome.inconclusive !== undefined) {
    verdict = 'inconclusive';
    reason = outcome.inconclusive;
  } else if (expectation.kind === 'agree') {
    const check = result.sidecar?.agreement.find((a) => a.name === expectation.name);
    verdict = check?.agrees === true ? 'pass' : 'fail';
    reason = verdict === 'fail' ? check?.note : undefined;
  } else {
    const ok =
      expectation.kind === 'compare'
        ? compare(outcome.value, expectation.op, expectation.value.value)
        : compare(outcome.value, '>=', expectation.low.value) && compare(outcome.value, '<=', expectation.high.value);
    verdict = ok ? 'pass' : 'fail';
    if (!ok) reason = failedBecause(expectation, outcome);
  }
  return { ...base, observed: outcome.observed, observedValue: outcome.value, verdict, reason };
}

/** One sentence with the numbers, why a comparison or range failed: `status(503) 5.0% (15 of
 * 300 calls) is below the 20% required`, `p(99) 312.0ms is above the 250ms limit`. */
function failedBecause(expectation: Extract<Expectation, { kind: 'compare' | 'range' }>, outcome: Observation): string {
  const { metric } = expectation;
  // Latency and calls repeat their label in `observed` (`p99 312.0ms`, `300 calls`): the bare number reads better.
  const shown = metric.kind === 'latency' ? formatMs(outcome.value) : metric.kind === 'calls' ? String(outcome.value) : outcome.observed;
  const seen = `${formatMetric(metric)} ${shown}`;
  if (expectation.kind === 'range') {
    const range = `[${formatValue(expectation.low)}, ${formatValue(expectation.high)}]`;
    return `${seen} is ${outcome.value < expectation.low.value ? 'below' : 'above'} the range ${range}`;
  }
  const limit = formatValue(expectation.value);
  const equal = compare(outcome.value, '==', expectation.value.value);
  const below = outcome.value < expectation.value.value;
  switch (expectation.op) {
    case '>=':
      return `${seen} is below the ${limit} required`;
    case '>':
      return equal ? `${seen} is not above ${limit}` : `${seen} is below ${limit}, not above it`;
    case '<=':
      return `${seen} is above the ${limit} limit`;
    case '<':
      return equal ? `${seen} is not under ${limit}` : `${seen} is above ${limit}, not under it`;
    case '==':
      return `${seen} is ${below ? 'below' : 'above'} the ${limit} expected`;
  }
}

type Judged = Pick<CheckResult, 'observed' | 'observedValue' | 'verdict' | 'reason'>;

function judgedWithout(outcome: { verdict: 'no_data' | 'inconclusive'; reason: string }): Judged {
  return { observed: undefined, observedValue: undefined, verdict: outcome.verdict, reason: outcome.reason };
}

/** A share as successes out of trials: calls for client metrics, requests sent upstream for share(). */
interface Proportion {
  count: number;
  of: number;
  /** `calls` or `requests sent upstream`. */
  unit: string;
}

function proportionOf(metric: Metric, result: LoadResult, calls: number): Proportion | { verdict: 'no_data' | 'inconclusive'; reason: string } {
  if (metric.kind === 'share') {
    const outcome = observeShare(metric.subset, result.sidecar);
    if ('verdict' in outcome) return outcome;
    return { count: outcome.count, of: outcome.of, unit: 'requests sent upstream' };
  }
  if (calls === 0) return noCalls(result);
  if (metric.kind === 'grpc' && result.grpcStatuses === undefined) return NOT_GRPC;
  return { count: clientCount(metric, result), of: calls, unit: 'calls' };
}

function noCalls(result: LoadResult): { verdict: 'no_data'; reason: string } {
  const stopped = result.stopReason === undefined ? '' : ` (stopped: ${result.stopDetail ?? result.stopReason})`;
  return { verdict: 'no_data', reason: `no calls were made${stopped}: nothing to measure` };
}

/** Calls counted by a share-or-count metric of the client's own result. */
function clientCount(metric: Metric, result: LoadResult): number {
  switch (metric.kind) {
    case 'status': {
      const prefix = metric.code.endsWith('xx') ? metric.code[0] : undefined;
      let count = 0;
      for (const [code, n] of Object.entries(result.codes)) {
        if (prefix === undefined ? code === metric.code : code.length === 3 && code[0] === prefix) count += n;
      }
      return count;
    }
    case 'error_rate':
      return notOkCalls(result.codes);
    case 'cause':
      return result.causes[metric.cause] ?? 0;
    case 'slower':
      return countAtOrAbove(Distribution.decode(result.latency), metric.thresholdMs * 1000);
    case 'version':
      return result.versions[metric.tag] ?? 0;
    case 'grpc':
      return result.grpcStatuses?.[grpcStatusName(metric.code)] ?? 0;
    default:
      throw new Error(`${metric.kind} is not a count of calls`);
  }
}

function evaluateConsistent(expectation: Extract<Expectation, { kind: 'consistent' }>, result: LoadResult, calls: number): Judged {
  const proportion = proportionOf(expectation.metric, result, calls);
  if ('verdict' in proportion) return judgedWithout(proportion);
  const { count, of } = proportion;
  const { confidence } = expectation;
  const expected = expectation.expected.value / 100;
  const alternative = expectation.alternative.value / 100;
  const interval = wilsonInterval(count, of, confidence);
  const percent = (count * 100) / of;
  const range = `${formatConfidence(confidence)} interval ${formatPercent(interval.low * 100)} to ${formatPercent(interval.high * 100)}`;
  const observed = `${formatPercent(percent)} (${count} of ${of} ${proportion.unit}; ${range})`;
  const decision = decideProportion(count, of, expected, alternative, confidence);
  const shownExpected = formatValue(expectation.expected);
  const shownAlternative = formatValue(expectation.alternative);
  if (decision === 'consistent') return { observed, observedValue: percent, verdict: 'pass', reason: undefined };
  if (decision === 'inconsistent') {
    return { observed, observedValue: percent, verdict: 'fail', reason: `the ${range} excludes the expected ${shownExpected}` };
  }
  let needed = '';
  try {
    needed = `: about ${proportionSampleSize(expected, alternative, confidence)} ${proportion.unit} would decide`;
  } catch {
    // Shares too close to size a run for: say what is known.
  }
  return {
    observed,
    observedValue: percent,
    verdict: 'inconclusive',
    reason: `the ${range} contains both the expected ${shownExpected} and the alternative ${shownAlternative}${needed}`,
  };
}

function evaluateSplit(expectation: Extract<Expectation, { kind: 'split' }>, result: LoadResult): Judged {
  let counts: Map<string, number>;
  let unit: string;
  if (expectation.source === 'versions') {
    counts = new Map(Object.entries(result.versions));
    unit = 'calls with x-version';
    if (counts.size === 0) return judgedWithout({ verdict: 'no_data', reason: 'no response carried x-version: start each meshload server with -version-tag' });
  } else {
    const sidecar = result.sidecar;
    const problem = sidecarProblem(sidecar);
    if (problem !== undefined || sidecar === undefined) return judgedWithout(problem ?? NO_SIDECAR);
    counts = requestsBySubset(sidecar);
    counts.delete('');
    unit = 'requests sent upstream';
    if (counts.size === 0) return judgedWithout({ verdict: 'no_data', reason: `no subset cluster reports requests sent upstream (${matchedClusters(sidecar)})` });
  }
  // Every name seen or expected is a cell; one the split does not name expects 0%.
  const names = [...new Set([...expectation.expected.map(([n]) => n), ...expectation.alternative.map(([n]) => n), ...counts.keys()])];
  const observed = names.map((n) => counts.get(n) ?? 0);
  const total = observed.reduce((a, b) => a + b, 0);
  if (total === 0) return judgedWithout({ verdict: 'no_data', reason: `no ${unit}` });
  const shares = (split: Shares): number[] => names.map((n) => (split.find(([name]) => name === n)?.[1] ?? 0) / 100);
  const fit = goodnessOfFit(observed, shares(expectation.expected));
  const against = goodnessOfFit(observed, shares(expectation.alternative));
  const level = 1 - expectation.confidence;
  const shown = names.map((n, i) => `${n} ${formatPercent(((observed[i] as number) * 100) / total)} (${observed[i] as number})`).join(', ');
  const observedText = `${shown} of ${total} ${unit}; chi-square p = ${formatP(fit.pValue)}`;
  if (fit.pValue < level) {
    return {
      observed: observedText,
      observedValue: fit.pValue,
      verdict: 'fail',
      reason: `the split does not fit ${formatShares(expectation.expected)}: p = ${formatP(fit.pValue)} < ${formatP(level)}`,
    };
  }
  if (against.pValue < level) return { observed: observedText, observedValue: fit.pValue, verdict: 'pass', reason: undefined };
  let needed = '';
  try {
    needed = `: about ${goodnessOfFitSampleSize(shares(expectation.expected), shares(expectation.alternative), expectation.confidence)} ${unit} would decide`;
  } catch {
    // Splits too close to size a run for.
  }
  return {
    observed: observedText,
    observedValue: fit.pValue,
    verdict: 'inconclusive',
    reason: `the split fits both ${formatShares(expectation.expected)} and the alternative ${formatShares(expectation.alternative)} (p = ${formatP(against.pValue)})${needed}`,
  };
}

function formatP(p: number): string {
  return p === 0 ? '0' : p < 0.001 ? p.toExponential(1) : String(Number(p.toPrecision(2)));
}

function totalCalls(result: LoadResult): number {
  let total = 0;
  for (const n of Object.values(result.codes)) total += n;
  return total;
}

function observe(metric: Metric, unit: Value['unit'], result: LoadResult, calls: number): Outcome {
  switch (metric.kind) {
    case 'calls':
      return { value: calls, observed: `${calls} ${plural(calls)}` };
    case 'delta':
    case 'gauge':
    case 'view':
      return observeStat(metric, result.sidecar);
    case 'share':
      return observeShare(metric.subset, result.sidecar);
    default:
      break;
  }
  if (calls === 0) return noCalls(result);
  if (metric.kind === 'grpc' && result.grpcStatuses === undefined) return NOT_GRPC;
  switch (metric.kind) {
    case 'status':
    case 'grpc':
    case 'cause':
    case 'slower':
    case 'version':
      return share(clientCount(metric, result), calls, unit);
    case 'error_rate':
      return share(clientCount(metric, result), calls, 'percent');
    case 'rps': {
      const observed = `${result.actualQps.toFixed(1)} calls/s`;
      return result.fellBehind
        ? { value: result.actualQps, observed, inconclusive: `${fellBehindText(result.plan, result.actualQps)}: the rate says more about the client than the target` }
        : { value: result.actualQps, observed };
    }
    case 'latency': {
      const d = Distribution.decode(result.latency);
      const { stat } = metric;
      const us = stat.kind === 'percentile' ? d.percentile(stat.percentile) : stat.kind === 'avg' ? d.mean() : stat.kind === 'min' ? d.min : d.max;
      const ms = us / 1000;
      const label = stat.kind === 'percentile' ? `p${stat.percentile}` : stat.kind;
      return { value: ms, observed: `${label} ${formatMs(ms)}` };
    }
  }
}

/** `31.0% (93 of 300 calls)` when the check is a share, `93 (31.0% of 300 calls)` when a count. */
function share(count: number, calls: number, unit: Value['unit']): Observation {
  const percent = (count * 100) / calls;
  return unit === 'percent'
    ? { value: percent, observed: `${formatPercent(percent)} (${count} of ${calls} ${plural(calls)})` }
    : { value: count, observed: `${count} (${formatPercent(percent)} of ${calls} ${plural(calls)})` };
}

function observeStat(metric: Extract<Metric, { kind: 'delta' | 'gauge' | 'view' }>, sidecar: SidecarReport | undefined): Outcome {
  const problem = sidecarProblem(sidecar);
  if (problem !== undefined || sidecar === undefined) return problem ?? NO_SIDECAR;
  const matched = matchedClusters(sidecar);
  if (metric.kind === 'view') {
    const value = sidecar.total === undefined ? undefined : VIEW_FIELDS[metric.name](sidecar.total);
    if (value === undefined) {
      const proxy = sidecar.kind ?? sidecar.total?.kind;
      return {
        verdict: 'no_data',
        reason: `${metric.name} is not reported: the proxy${proxy === undefined ? '' : ` (${proxy})`} does not report it or the cluster was not matched (${matched})`,
      };
    }
    return { value, observed: String(value) };
  }
  const key = statKey(metric.stat);
  let found = 0;
  let value = 0;
  const reset: string[] = [];
  let otherKind = false;
  for (const cluster of sidecar.clusters) {
    if (metric.kind === 'delta') {
      if (cluster.resets.some((s) => statKey(s) === key)) reset.push(cluster.cluster);
      for (const [stat, delta] of Object.entries(cluster.deltas)) {
        if (statKey(stat) !== key) continue;
        found++;
        value += delta;
      }
      if (Object.keys(cluster.gauges).some((s) => statKey(s) === key)) otherKind = true;
    } else {
      for (const [stat, gauge] of Object.entries(cluster.gauges)) {
        if (statKey(stat) !== key) continue;
        value = found === 0 ? gauge.max : Math.max(value, gauge.max);
        found++;
      }
      if (Object.keys(cluster.deltas).some((s) => statKey(s) === key)) otherKind = true;
    }
  }
  // A counter that went down has no delta: the sum without it would understate the run.
  if (reset.length > 0) {
    return { verdict: 'inconclusive', reason: `${metric.stat} went down during the run in ${reset.join(', ')}: the proxy restarted or its counters were reset` };
  }
  if (found === 0) {
    const hint = otherKind ? (metric.kind === 'delta' ? `; it is a gauge: use max(${metric.stat})` : `; it is a counter: use delta(${metric.stat})`) : '';
    return {
      verdict: 'no_data',
      reason: `${metric.stat} is in none of the matched clusters: the proxy does not report it or the cluster was not matched (${matched})${hint}`,
    };
  }
  const over = sidecar.clusters.length > 1 ? ` over ${sidecar.clusters.length} clusters` : '';
  return { value, observed: `${value}${over}` };
}

/** A weighted route's split, from the proxy: each Istio subset is its own cluster, so its share
 * of requests sent upstream is its requestsSent over the matched clusters' total. */
function observeShare(subset: string, sidecar: SidecarReport | undefined): (Observation & { count: number; of: number }) | { verdict: 'no_data' | 'inconclusive'; reason: string } {
  const problem = sidecarProblem(sidecar);
  if (problem !== undefined || sidecar === undefined) return problem ?? NO_SIDECAR;
  const bySubset = requestsBySubset(sidecar);
  let total = 0;
  for (const n of bySubset.values()) total += n;
  const sent = bySubset.get(subset) ?? 0;
  const seen = bySubset.has(subset);
  const subsets = [...new Set(sidecar.clusters.map((c) => c.subset).filter((s) => s !== ''))];
  if (!seen) {
    return { verdict: 'no_data', reason: `no cluster of subset '${subset}' reports requests (${subsets.length > 0 ? `subsets: ${subsets.join(', ')}` : matchedClusters(sidecar)})` };
  }
  if (total === 0) return { verdict: 'no_data', reason: `no requests were sent upstream (${matchedClusters(sidecar)})` };
  const percent = (sent * 100) / total;
  return { value: percent, observed: `${formatPercent(percent)} (${sent} of ${total} requests sent upstream)`, count: sent, of: total };
}

type NoVerdict = { verdict: 'no_data' | 'inconclusive'; reason: string };

/** grpc(...) on an HTTP load: it counts nothing, which must not read as "0 failures". */
const NOT_GRPC: NoVerdict = { verdict: 'no_data', reason: "the phase's load made no gRPC calls: add grpc: to its load" };

const NO_SIDECAR: NoVerdict = { verdict: 'no_data', reason: 'no stats source: add sidecar: to the scenario' };

/** Why a stats check cannot look at `sidecar`, or undefined when it can. */
function sidecarProblem(sidecar: SidecarReport | undefined): NoVerdict | undefined {
  if (sidecar === undefined) return NO_SIDECAR;
  if (sidecar.unavailable !== undefined) return { verdict: 'inconclusive', reason: `stats unavailable: ${sidecar.unavailable}` };
  return undefined;
}

/** Requests sent upstream per Istio subset ('' for clusters without one), over the clusters that
 * report them. */
function requestsBySubset(sidecar: SidecarReport): Map<string, number> {
  const counts = new Map<string, number>();
  for (const cluster of sidecar.clusters) {
    const sent = cluster.view.requestsSent;
    if (sent !== undefined) counts.set(cluster.subset, (counts.get(cluster.subset) ?? 0) + sent);
  }
  return counts;
}

function matchedClusters(sidecar: SidecarReport): string {
  const query = sidecar.clusterQuery === undefined ? '' : ` for '${sidecar.clusterQuery}'`;
  if (sidecar.clusters.length === 0) return `no cluster matched${query}`;
  const names = sidecar.clusters.map((c) => c.cluster);
  return `matched${query}: ${names.slice(0, 3).join(', ')}${names.length > 3 ? `, and ${names.length - 3} more` : ''}`;
}

function observeAgreement(name: AgreementName, sidecar: SidecarReport | undefined): Outcome {
  const problem = sidecarProblem(sidecar);
  if (problem !== undefined || sidecar === undefined) return problem ?? NO_SIDECAR;
  const check = sidecar.agreement.find((a) => a.name === name);
  if (check === undefined) return { verdict: 'no_data', reason: `no ${name} agreement check: ${matchedClusters(sidecar)}` };
  if (check.agrees === undefined || check.proxy === undefined) return { verdict: 'no_data', reason: check.note };
  return { value: check.proxy, observed: `client ${check.client}, proxy ${check.proxy}` };
}

function plural(calls: number): string {
  return calls === 1 ? 'call' : 'calls';
}

function formatPercent(percent: number): string {
  // One decimal hides a rare failure (0.03% would read 0.0%): keep two significant digits there.
  return percent > 0 && percent < 0.1 ? `${Number(percent.toPrecision(2))}%` : `${percent.toFixed(1)}%`;
}

function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
  if (ms < 1) return `${ms.toFixed(3)}ms`;
  return `${ms.toFixed(1)}ms`;
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
