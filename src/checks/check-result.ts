/** The verdict of one check, as a scenario's result stores it: plain data the checks produce and
 * scenario/, verify/ and the reports read. It lives here so checks/ needs nothing above it. */

/** `no_data`: the check had nothing to look at (no calls, a stat absent): it fails, never passes
 * vacuously. `inconclusive`: the data cannot decide (stats unavailable for a stats check, the
 * generator fell behind for a rate-sensitive check, the target unreachable). */
export type Verdict = 'pass' | 'fail' | 'no_data' | 'inconclusive';

export interface CheckResult {
  /** As written in the scenario: `status(503) >= 20%`. */
  expression: string;
  /** Where it was written: `phases[1].expect[0]`. */
  path: string;
  /** Human form of what was expected: `>= 20%`, `in [100ms, 250ms]`. */
  expected: string;
  /** Human form of what was seen: `31.0% (93 of 300 calls)`; undefined without data. */
  observed: string | undefined;
  /** The number compared, in the expression's unit (percent, ms, count); undefined without data. */
  observedValue: number | undefined;
  verdict: Verdict;
  /** Why: for no_data and inconclusive always; for fail when there is more to say. */
  reason: string | undefined;
}
