/** The checks language's syntax tree: what one check of a scenario (`status(503) >= 20%`,
 * `p(99) < 250ms`, `breaker.rejected > 0`, `agree(breaker)`) says once parsed, and the error of
 * one that does not parse. parse-expectation.ts builds it, evaluate-expectation.ts judges it,
 * format-expectation.ts writes it back. */
import type { FailureCause } from '../model/failure-cause';
import type { AgreementCheck } from '../model/sidecar-report';

export type Comparator = '<' | '<=' | '==' | '>=' | '>';

export const COMPARATORS: readonly Comparator[] = ['<', '<=', '==', '>=', '>'];

export type LatencyStat = { kind: 'percentile'; percentile: number } | { kind: 'avg' } | { kind: 'min' } | { kind: 'max' };

/** The resilience view's names, in the order the help lists them; observe-sidecar.ts maps each
 * to its ResilienceView field. */
const VIEW_NAME_LIST = [
  'requests.sent',
  'breaker.rejected',
  'breaker.pending',
  'breaker.active',
  'breaker.connection',
  'retries.attempted',
  'retries.succeeded',
  'retries.overflowed',
  'retries.limit_exceeded',
  'timeouts.route',
  'timeouts.per_try',
  'upstream_5xx.final',
  'upstream_5xx.retried',
  'connect_failures',
  'ejections.enforced',
  'ejections.active',
  'faults.aborts',
  'faults.delays',
  'breaker_open.cx',
  'breaker_open.rq_pending',
  'breaker_open.rq',
  'breaker_open.rq_retry',
] as const;

export type ViewName = (typeof VIEW_NAME_LIST)[number];

export const VIEW_NAMES: readonly ViewName[] = VIEW_NAME_LIST;

export type AgreementName = AgreementCheck['name'];

export const AGREEMENT_NAMES: readonly AgreementName[] = ['breaker', 'requests', 'retries'];

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
