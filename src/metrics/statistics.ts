/** The statistics `meshload verify` needs to call a policy "behaves as configured", "does not" or
 * "inconclusive": normal and chi-square quantiles, the Wilson interval for a proportion, Pearson's
 * goodness of fit, and sample-size planners for both tests. Pure functions, no dependencies. */

const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
/** Share vectors come from config percentages (33.3 + 33.3 + 33.4), so their sum is only close to 1. */
const SHARE_SUM_TOLERANCE = 1e-9;
/** A configured 0% or 100% must count as inside an interval whose bound is that value. */
const INSIDE_TOLERANCE = 1e-12;
/** Planner searches stop here: a check needing more requests than this is not worth running. */
const MAX_SAMPLE_SIZE = 1_000_000;
/** The proportion planner returns an n whose next few counts also meet the requirement, because
 * binomial discreteness makes it non-monotone and callers round counts up. */
const MONOTONE_RUN = 6;

export interface Interval {
  low: number;
  high: number;
}

export interface GoodnessOfFit {
  statistic: number;
  dof: number;
  pValue: number;
}

export type ProportionDecision = 'consistent' | 'inconsistent' | 'undecided';
export type FitDecision = 'consistent' | 'inconsistent';

function assertOpenUnit(name: string, value: number): void {
  if (!(value > 0 && value < 1)) throw new RangeError(`${name} must be in (0, 1), got ${value}`);
}

function assertClosedUnit(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${value}`);
}

// ---- Special functions ----------------------------------------------------------------------

/** Lanczos coefficients for g = 7, n = 9 (relative error about 1e-15). */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
function logGamma(x: number): number {
  // The reflection formula keeps the series accurate for small arguments.
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (y + i);
  const t = y + 7.5;
  return LN_SQRT_2PI + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Regularized incomplete gamma P(a, x) and Q(a, x) = 1 - P. Whichever is computed directly (the
 * series gives P, the continued fraction Q) keeps full relative accuracy however small it is. */
interface GammaTails {
  lower: number;
  upper: number;
}

function regularizedGamma(a: number, x: number): GammaTails {
  if (x <= 0) return { lower: 0, upper: 1 };
  if (x === Infinity) return { lower: 1, upper: 0 };
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  // Both expansions need O(sqrt(a)) terms near x = a.
  const maxIterations = 1000 + Math.ceil(20 * Math.sqrt(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < maxIterations; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    const lower = Math.min(1, sum * Math.exp(logPrefix));
    return { lower, upper: 1 - lower };
  }
  // Modified Lentz evaluation of the continued fraction for Q (Numerical Recipes 6.2).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < maxIterations; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const upper = Math.min(1, Math.exp(logPrefix) * h);
  return { lower: 1 - upper, upper };
}

/** erfc(x) = Q(1/2, x^2) for x >= 0: accurate far into the tail, which the Halley step needs. */
function erfc(x: number): number {
  const tails = regularizedGamma(0.5, x * x);
  return x >= 0 ? tails.upper : 1 + tails.lower;
}

// ---- Normal distribution --------------------------------------------------------------------

// Acklam's rational approximation (relative error 1.15e-9 before refinement).
const ACKLAM_A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const ACKLAM_B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const ACKLAM_C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const ACKLAM_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const ACKLAM_P_LOW = 0.02425;

function polynomial(coefficients: readonly number[], x: number): number {
  let value = 0;
  for (const coefficient of coefficients) value = value * x + coefficient;
  return value;
}

/** Inverse of the standard normal CDF; absolute error far below 1e-9. */
export function normalQuantile(p: number): number {
  assertOpenUnit('probability', p);
  // Work in the lower tail, where p (not 1 - p) carries full precision; 1 - p is exact for p >= 0.5.
  if (p > 0.5) return -normalQuantile(1 - p);
  if (p === 0.5) return 0;
  let x: number;
  if (p < ACKLAM_P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = polynomial(ACKLAM_C, q) / (polynomial(ACKLAM_D, q) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = (polynomial(ACKLAM_A, r) * q) / (polynomial(ACKLAM_B, r) * r + 1);
  }
  // One Halley step on Φ(x) - p brings the error to machine precision.
  const error = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = error * SQRT_2PI * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** The two-sided critical value: 0.95 -> 1.96, 0.999 -> 3.2905. */
export function zForConfidence(confidence: number): number {
  assertOpenUnit('confidence', confidence);
  // -Φ⁻¹(α/2) equals Φ⁻¹(1 - α/2) without rounding 1 - α/2 first.
  return -normalQuantile((1 - confidence) / 2);
}

// ---- Proportions ----------------------------------------------------------------------------

/** Wilson bounds for a known z; exact 0 and 1 at the edges, where the formula only rounds to them. */
function wilsonBounds(successes: number, trials: number, z: number): Interval {
  const z2 = z * z;
  const denominator = trials + z2;
  const center = (successes + z2 / 2) / denominator;
  const half = (z * Math.sqrt((successes * (trials - successes)) / trials + z2 / 4)) / denominator;
  return {
    low: successes === 0 ? 0 : Math.max(0, center - half),
    high: successes === trials ? 1 : Math.min(1, center + half),
  };
}

/** Wilson score interval for `successes` of `trials`: good coverage even for 0 or all successes,
 * which fault-injection checks ("0% aborted") hit all the time. */
export function wilsonInterval(successes: number, trials: number, confidence: number): Interval {
  if (!Number.isInteger(trials) || trials <= 0) throw new RangeError(`trials must be a positive integer, got ${trials}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > trials) {
    throw new RangeError(`successes must be an integer in [0, ${trials}], got ${successes}`);
  }
  return wilsonBounds(successes, trials, zForConfidence(confidence));
}

function inside(value: number, interval: Interval): boolean {
  return value >= interval.low - INSIDE_TOLERANCE && value <= interval.high + INSIDE_TOLERANCE;
}

function classify(interval: Interval, expected: number, alternative: number): ProportionDecision {
  if (!inside(expected, interval)) return 'inconsistent';
  return inside(alternative, interval) ? 'undecided' : 'consistent';
}

/** 'inconsistent' when the interval rules out the configured `expected`, 'consistent' when it keeps
 * `expected` and rules out `alternative`, 'undecided' when it holds both. */
export function decideProportion(
  successes: number,
  trials: number,
  expected: number,
  alternative: number,
  confidence: number,
): ProportionDecision {
  assertClosedUnit('expected', expected);
  assertClosedUnit('alternative', alternative);
  return classify(wilsonInterval(successes, trials, confidence), expected, alternative);
}

/** P(the Wilson interval over `trials` draws with success probability `p` holds `value`), summed
 * exactly over the binomial pmf, walking out from the mode until the terms stop mattering. */
function probabilityIntervalHolds(trials: number, p: number, value: number, z: number): number {
  const holds = (k: number): boolean => inside(value, wilsonBounds(k, trials, z));
  if (p === 0) return holds(0) ? 1 : 0;
  if (p === 1) return holds(trials) ? 1 : 0;
  const negligible = 1e-18;
  const odds = p / (1 - p);
  const mode = Math.min(trials, Math.floor((trials + 1) * p));
  const modePmf = Math.exp(
    logGamma(trials + 1) - logGamma(mode + 1) - logGamma(trials - mode + 1) + mode * Math.log(p) + (trials - mode) * Math.log1p(-p),
  );
  let total = holds(mode) ? modePmf : 0;
  for (let k = mode, pmf = modePmf; k < trials && pmf > negligible; k++) {
    pmf *= ((trials - k) / (k + 1)) * odds;
    if (holds(k + 1)) total += pmf;
  }
  for (let k = mode, pmf = modePmf; k > 0 && pmf > negligible; k--) {
    pmf *= (k / (trials - k + 1)) / odds;
    if (holds(k - 1)) total += pmf;
  }
  return total;
}

/** The smallest number of trials after which, with probability at least `confidence`, the
 * `decideProportion` interval rules out `alternative` when the truth is `expected`, and rules out
 * `expected` (verdict 'inconsistent') when the truth is `alternative`. Computed exactly from
 * binomial probabilities.
 *
 * Under `expected` this asks for the alternative to be excluded, not for the verdict to be
 * 'consistent': the interval itself misses the truth about 1 - confidence of the time, so
 * P('consistent') >= confidence holds only where Wilson coverage happens to wobble above nominal
 * (for 0.0625 vs 0.5 at 0.999 six n in a row first at n = 1206; for 0.5 vs 0.25 not below 20000).
 * A wrong verdict stays as rare as the interval's coverage makes it. */
export function proportionSampleSize(expected: number, alternative: number, confidence: number): number {
  assertClosedUnit('expected', expected);
  assertClosedUnit('alternative', alternative);
  assertOpenUnit('confidence', confidence);
  if (expected === alternative) throw new RangeError(`expected and alternative are both ${expected}: no sample tells them apart`);
  const z = zForConfidence(confidence);
  const alpha = 1 - confidence;
  const meets = (n: number): boolean =>
    probabilityIntervalHolds(n, expected, alternative, z) <= alpha && probabilityIntervalHolds(n, alternative, expected, z) <= alpha;
  const meetsRun = (n: number): boolean => {
    for (let i = 0; i < MONOTONE_RUN; i++) if (!meets(n + i)) return false;
    return true;
  };
  const tooMany = (): RangeError =>
    new RangeError(`telling ${expected} from ${alternative} at confidence ${confidence} needs more than ${MAX_SAMPLE_SIZE} trials`);

  const spread = Math.sqrt(expected * (1 - expected)) + Math.sqrt(alternative * (1 - alternative));
  const estimate = Math.min(MAX_SAMPLE_SIZE, Math.max(1, Math.ceil(((z * spread) / (alternative - expected)) ** 2)));
  // Bracket the first passing run: `low` fails (0 stands for "nothing below"), `high` passes.
  let low: number;
  let high: number;
  if (meetsRun(estimate)) {
    high = estimate;
    low = Math.floor(high / 2);
    while (low >= 1 && meetsRun(low)) {
      high = low;
      low = Math.floor(low / 2);
    }
  } else {
    low = estimate;
    high = Math.min(MAX_SAMPLE_SIZE, estimate * 2);
    while (!meetsRun(high)) {
      if (high === MAX_SAMPLE_SIZE) throw tooMany();
      low = high;
      high = Math.min(MAX_SAMPLE_SIZE, high * 2);
    }
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (meetsRun(middle)) high = middle;
    else low = middle;
  }
  // Bisection can land past an earlier passing run; step down while the run still holds.
  while (high > 1 && meets(high - 1)) high--;
  return high;
}

// ---- Chi-square -----------------------------------------------------------------------------

function assertDof(dof: number): void {
  if (!(dof > 0 && Number.isFinite(dof))) throw new RangeError(`degrees of freedom must be positive, got ${dof}`);
}

/** P(X >= x) for X ~ chi-square(dof). */
export function chiSquareSurvival(x: number, dof: number): number {
  assertDof(dof);
  if (Number.isNaN(x)) throw new RangeError('x must be a number, got NaN');
  return regularizedGamma(dof / 2, x / 2).upper;
}

/** The x with P(X <= x) = probability for X ~ chi-square(dof): 0.95, 1 -> 3.8415. */
export function chiSquareQuantile(probability: number, dof: number): number {
  assertOpenUnit('probability', probability);
  assertDof(dof);
  // Compare the smaller tail, which regularizedGamma holds to full relative precision.
  const useUpper = probability >= 0.5;
  const target = useUpper ? 1 - probability : probability;
  const below = (x: number): boolean => {
    const tails = regularizedGamma(dof / 2, x / 2);
    return useUpper ? tails.upper > target : tails.lower < target;
  };
  let low = 0;
  let high = Math.max(1, dof);
  while (below(high)) {
    low = high;
    high *= 2;
  }
  // Bisection to a relative width of 1e-15: about 60 steps of a cheap function.
  for (let i = 0; i < 400 && high - low > 1e-15 * high; i++) {
    const middle = (low + high) / 2;
    if (below(middle)) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

function assertShares(name: string, shares: readonly number[]): void {
  if (shares.length === 0) throw new RangeError(`${name} must not be empty`);
  let sum = 0;
  for (const [i, share] of shares.entries()) {
    if (!(share >= 0 && share <= 1)) throw new RangeError(`${name}[${i}] must be in [0, 1], got ${share}`);
    sum += share;
  }
  if (Math.abs(sum - 1) > SHARE_SUM_TOLERANCE) throw new RangeError(`${name} must sum to 1, got ${sum}`);
}

/** Pearson's chi-square test of `observed` counts against `expectedShares`. Cells with share 0 are
 * left out of the statistic; a single observation in one of them makes the fit impossible. */
export function goodnessOfFit(observed: readonly number[], expectedShares: readonly number[]): GoodnessOfFit {
  assertShares('expectedShares', expectedShares);
  if (observed.length !== expectedShares.length) {
    throw new RangeError(`observed has ${observed.length} cells but expectedShares has ${expectedShares.length}`);
  }
  let total = 0;
  for (const [i, count] of observed.entries()) {
    if (!(count >= 0 && Number.isFinite(count))) throw new RangeError(`observed[${i}] must be a non-negative count, got ${count}`);
    total += count;
  }
  if (total <= 0) throw new RangeError('observed must hold at least one observation');
  const dof = expectedShares.filter((share) => share > 0).length - 1;
  let statistic = 0;
  for (const [i, share] of expectedShares.entries()) {
    const count = observed[i] as number;
    if (share === 0) {
      if (count > 0) return { statistic: Infinity, dof, pValue: 0 };
      continue;
    }
    const expectedCount = total * share;
    statistic += (count - expectedCount) ** 2 / expectedCount;
  }
  // With one possible cell everything landed there (other cells were checked above): a perfect fit.
  if (dof === 0) return { statistic: 0, dof, pValue: 1 };
  return { statistic, dof, pValue: chiSquareSurvival(statistic, dof) };
}

/** 'consistent' unless the goodness-of-fit test rejects `expectedShares` at significance 1 - confidence. */
export function goodnessOfFitDecision(observed: readonly number[], expectedShares: readonly number[], confidence: number): FitDecision {
  assertOpenUnit('confidence', confidence);
  return goodnessOfFit(observed, expectedShares).pValue >= 1 - confidence ? 'consistent' : 'inconsistent';
}

type Matrix = number[][];

function multiply(left: Matrix, right: Matrix): Matrix {
  return left.map((row) => row.map((_, j) => row.reduce((sum, value, k) => sum + value * (right[k]?.[j] ?? 0), 0)));
}

/** v' M v. */
function quadraticForm(vector: readonly number[], matrix: Matrix): number {
  let sum = 0;
  for (const [i, row] of matrix.entries()) {
    for (const [j, value] of row.entries()) sum += (vector[i] as number) * value * (vector[j] as number);
  }
  return sum;
}

function trace(matrix: Matrix): number {
  return matrix.reduce((sum, row, i) => sum + (row[i] as number), 0);
}

/** Power of the Pearson test against a fixed alternative, as a function of n. The cell residuals
 * (O - n e) / sqrt(n e) are about Normal(sqrt(n) m, S), m = (a - e) / sqrt(e) and S the
 * alternative's multinomial covariance so scaled; the statistic is then a Gaussian quadratic form,
 * whose first three cumulants are matched to a shifted, scaled chi-square (Pearson's approximation,
 * as in Imhof 1961). When S equals the null's covariance this is the noncentral chi-square with
 * λ = n Σ (a - e)² / e, but that one misjudges alternatives that spread the counts more than the null
 * does: for 0.8/0.2 against the truth 0.5/0.5, Patnaik's form of it promises 99% power at n = 39,
 * where the exact binomial power is 94.6% (this approximation: n = 55, exact power 99.3%). */
function pearsonPower(expected: readonly number[], alternative: readonly number[], critical: number): (n: number) => number {
  const cells = expected.map((share, i) => ({ e: share, a: alternative[i] as number })).filter((cell) => cell.e > 0);
  const shift = cells.map(({ e, a }) => (a - e) / Math.sqrt(e));
  const covariance: Matrix = cells.map((row, i) =>
    cells.map((column, j) => ((i === j ? row.a : 0) - row.a * column.a) / Math.sqrt(row.e * column.e)),
  );
  const squared = multiply(covariance, covariance);
  const traces = [trace(covariance), trace(squared), trace(multiply(squared, covariance))];
  const shiftForms = [shift.reduce((sum, value) => sum + value * value, 0), quadraticForm(shift, covariance), quadraticForm(shift, squared)];
  const [t1, t2, t3] = traces as [number, number, number];
  const [u0, u1, u2] = shiftForms as [number, number, number];
  return (n) => {
    // Cumulants of a Gaussian quadratic form: κ_r = 2^(r-1) (r-1)! (tr S^r + r n m' S^(r-1) m).
    const mean = t1 + n * u0;
    const variance = 2 * (t2 + 2 * n * u1);
    const third = 8 * (t3 + 3 * n * u2);
    // An alternative with all its mass in one cell makes the statistic a constant.
    if (!(variance > 0 && third > 0)) return mean > critical ? 1 : 0;
    const scale = third / (4 * variance);
    const dof = (8 * variance ** 3) / third ** 2;
    const offset = mean - scale * dof;
    return chiSquareSurvival((critical - offset) / scale, dof);
  };
}

/** The smallest total count at which the goodness-of-fit test at significance 1 - confidence rejects
 * `expectedShares` with probability at least `confidence` when the truth is `alternativeShares`. */
export function goodnessOfFitSampleSize(
  expectedShares: readonly number[],
  alternativeShares: readonly number[],
  confidence: number,
): number {
  assertShares('expectedShares', expectedShares);
  assertShares('alternativeShares', alternativeShares);
  assertOpenUnit('confidence', confidence);
  if (expectedShares.length !== alternativeShares.length) {
    throw new RangeError(`expectedShares has ${expectedShares.length} cells but alternativeShares has ${alternativeShares.length}`);
  }
  if (expectedShares.every((share, i) => Math.abs(share - (alternativeShares[i] as number)) <= SHARE_SUM_TOLERANCE)) {
    throw new RangeError(`expectedShares and alternativeShares are equal (${expectedShares.join(', ')}): no sample tells them apart`);
  }
  // One observation where nothing is expected already rejects: ask only for one to land there.
  const impossibleMass = alternativeShares.reduce((sum, share, i) => (expectedShares[i] === 0 ? sum + share : sum), 0);
  const tooMany = (): RangeError =>
    new RangeError(
      `telling [${expectedShares.join(', ')}] from [${alternativeShares.join(', ')}] needs more than ${MAX_SAMPLE_SIZE} observations`,
    );
  if (impossibleMass > 0) {
    const n = Math.max(1, Math.ceil(Math.log(1 - confidence) / Math.log1p(-Math.min(1, impossibleMass))));
    if (n > MAX_SAMPLE_SIZE) throw tooMany();
    return n;
  }
  const dof = expectedShares.filter((share) => share > 0).length - 1;
  const power = pearsonPower(expectedShares, alternativeShares, chiSquareQuantile(confidence, dof));
  let low = 0;
  let high = 1;
  while (power(high) < confidence) {
    if (high === MAX_SAMPLE_SIZE) throw tooMany();
    low = high;
    high = Math.min(MAX_SAMPLE_SIZE, high * 2);
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (power(middle) >= confidence) high = middle;
    else low = middle;
  }
  return high;
}
