/** The checks language, one import for its callers: parse a check, judge it against a result,
 * write it back canonically. checks/ sits below scenario/ and above engine/, metrics/, stats/. */
export type { CheckResult, Verdict } from './check-result';
export { evaluateExpectation } from './evaluate-expectation';
export {
  COMPARATORS,
  DEFAULT_CONFIDENCE,
  ExpectationError,
  VIEW_NAMES,
  type AgreementName,
  type Comparator,
  type Expectation,
  type LatencyStat,
  type Metric,
  type Shares,
  type SplitSource,
  type Value,
  type ViewName,
} from './expectation';
export { EXPECTATION_HELP } from './expectation-help';
export { confidenceSuffix, formatConfidence, formatExpectation, formatMetric, formatShares, formatValue } from './format-expectation';
export { checkExpectation, parseExpectation } from './parse-expectation';
