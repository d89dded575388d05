import {
  chiSquareQuantile,
  chiSquareSurvival,
  decideProportion,
  goodnessOfFit,
  goodnessOfFitDecision,
  goodnessOfFitSampleSize,
  normalQuantile,
  proportionSampleSize,
  wilsonInterval,
  zForConfidence,
} from '../../src/metrics/statistics';

// Reference values: normal quantiles and CDF values from R (qnorm, pnorm) and Abramowitz & Stegun
// table 26.1; chi-square critical values from R qchisq, matching the NIST/SEMATECH e-Handbook
// table 1.3.6.7.4 to its printed digits; the Wilson intervals from Wilson (1927) as tabulated by
// Newcombe (1998), "Two-sided confidence intervals for the single proportion", method 3.

const Z_9995 = 3.290526731491926;

describe('normalQuantile', () => {
  it.each([
    [0.975, 1.959963984540054],
    [0.9995, Z_9995],
    [0.99, 2.326347874040841],
    [0.9, 1.2815515655446004],
    [0.5, 0],
    [0.025, -1.959963984540054],
  ])('Φ⁻¹(%p) = %p', (p, x) => {
    expect(Math.abs(normalQuantile(p) - x)).toBeLessThan(1e-9);
  });

  it.each([
    [0.8413447460685429, 1],
    [0.9772498680518208, 2],
    [0.9986501019683699, 3],
    [0.15865525393145707, -1],
    [2.866515718791939e-7, -5],
    [7.619853024160527e-24, -10],
  ])('inverts Φ(x) = %p to x = %p, deep in the tails too', (p, x) => {
    expect(Math.abs(normalQuantile(p) - x)).toBeLessThan(1e-9);
  });

  it.each([0, 1, -0.1, 1.1, NaN])('rejects %p', (p) => {
    expect(() => normalQuantile(p)).toThrow(RangeError);
  });
});

describe('zForConfidence', () => {
  it('is the two-sided critical value', () => {
    expect(zForConfidence(0.95)).toBeCloseTo(1.959963984540054, 12);
    expect(zForConfidence(0.999)).toBeCloseTo(Z_9995, 12);
    expect(zForConfidence(0.98)).toBeCloseTo(2.326347874040841, 12);
  });

  it.each([0, 1, 2, NaN])('rejects confidence %p', (confidence) => {
    expect(() => zForConfidence(confidence)).toThrow(RangeError);
  });
});

describe('wilsonInterval', () => {
  it('matches the published interval for 8 of 10 at 95%', () => {
    const { low, high } = wilsonInterval(8, 10, 0.95);
    expect(low).toBeCloseTo(0.4902, 4);
    expect(high).toBeCloseTo(0.9433, 4);
  });

  it('is exact at the edges', () => {
    const none = wilsonInterval(0, 10, 0.95);
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.2775, 4);
    const all = wilsonInterval(10, 10, 0.95);
    expect(all.high).toBe(1);
    expect(all.low).toBeCloseTo(1 - 0.2775, 4);
  });

  it('narrows as trials grow and widens with confidence', () => {
    const small = wilsonInterval(50, 100, 0.95);
    const large = wilsonInterval(500, 1000, 0.95);
    const strict = wilsonInterval(50, 100, 0.999);
    expect(large.high - large.low).toBeLessThan(small.high - small.low);
    expect(strict.high - strict.low).toBeGreaterThan(small.high - small.low);
  });

  it.each([
    [1, 0],
    [1, 2.5],
    [-1, 10],
    [11, 10],
    [1.5, 10],
  ])('rejects %p successes of %p trials', (successes, trials) => {
    expect(() => wilsonInterval(successes, trials, 0.95)).toThrow(RangeError);
  });
});

describe('chiSquareSurvival', () => {
  it('gives the textbook tail areas at the critical values', () => {
    expect(chiSquareSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 10);
    expect(chiSquareSurvival(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(10.827566170662733, 1)).toBeCloseTo(0.001, 12);
    expect(chiSquareSurvival(16.26623619623813, 3)).toBeCloseTo(0.001, 12);
  });

  // For even dof = 2k, P(X >= x) = P(Poisson(x / 2) < k): a closed form to check relative error.
  const poissonBelow = (k: number, mean: number): number => {
    let term = Math.exp(-mean);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      sum += term;
      term *= mean / (j + 1);
    }
    return sum;
  };

  it.each([
    [0.1, 2],
    [13.815510557964274, 2],
    [500, 2],
    [5, 10],
    [20, 10],
    [60, 10],
    [90, 100],
    [150, 100],
  ])('agrees with the closed form at x = %p, dof = %p to 1e-10 relative', (x, dof) => {
    const exact = poissonBelow(dof / 2, x / 2);
    expect(Math.abs(chiSquareSurvival(x, dof) - exact) / exact).toBeLessThan(1e-10);
  });

  it('is 1 at and below zero', () => {
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(chiSquareSurvival(-2, 1)).toBe(1);
  });

  it('rejects a bad dof or x', () => {
    expect(() => chiSquareSurvival(1, 0)).toThrow(RangeError);
    expect(() => chiSquareSurvival(1, -1)).toThrow(RangeError);
    expect(() => chiSquareSurvival(NaN, 1)).toThrow(RangeError);
  });
});

describe('chiSquareQuantile', () => {
  it.each([
    [0.95, 1, 3.841459],
    [0.999, 1, 10.827566],
    [0.999, 2, 13.815511],
    [0.999, 3, 16.266236],
    [0.99, 10, 23.209251],
    [0.5, 100, 99.334129],
  ])('P = %p, dof = %p -> %p', (p, dof, x) => {
    expect(chiSquareQuantile(p, dof)).toBeCloseTo(x, 6);
  });

  it('inverts the CDF, in both tails', () => {
    for (const dof of [1, 2, 3, 7.5, 40]) {
      for (const p of [1e-8, 0.01, 0.5, 0.95, 0.999999]) {
        const x = chiSquareQuantile(p, dof);
        const lower = 1 - chiSquareSurvival(x, dof);
        const tail = p < 0.5 ? lower : chiSquareSurvival(x, dof);
        expect(Math.abs(tail - (p < 0.5 ? p : 1 - p)) / (p < 0.5 ? p : 1 - p)).toBeLessThan(1e-7);
      }
    }
    // dof 2 has the closed form x = -2 ln(1 - p).
    expect(chiSquareQuantile(0.9, 2)).toBeCloseTo(-2 * Math.log(0.1), 12);
  });

  it('rejects probabilities outside (0, 1) and a bad dof', () => {
    expect(() => chiSquareQuantile(0, 1)).toThrow(RangeError);
    expect(() => chiSquareQuantile(1, 1)).toThrow(RangeError);
    expect(() => chiSquareQuantile(0.5, 0)).toThrow(RangeError);
  });
});

describe('goodnessOfFit', () => {
  it('computes Pearson’s statistic and its p-value', () => {
    // Expected 20 per cell: (10² + 0 + 10²) / 20 = 10 on 2 dof, whose tail is exactly e^-5.
    const fit = goodnessOfFit([10, 20, 30], [1 / 3, 1 / 3, 1 / 3]);
    expect(fit.statistic).toBeCloseTo(10, 12);
    expect(fit.dof).toBe(2);
    expect(fit.pValue).toBeCloseTo(Math.exp(-5), 12);
  });

  it('drops an empty cell with share 0 and lowers dof', () => {
    expect(goodnessOfFit([40, 10, 0], [0.8, 0.2, 0])).toEqual({ statistic: 0, dof: 1, pValue: 1 });
  });

  it('rules the fit out when anything lands in a cell with share 0', () => {
    expect(goodnessOfFit([40, 9, 1], [0.8, 0.2, 0])).toEqual({ statistic: Infinity, dof: 1, pValue: 0 });
  });

  it('has p = 1 with a single possible cell that got everything', () => {
    expect(goodnessOfFit([0, 7], [0, 1])).toEqual({ statistic: 0, dof: 0, pValue: 1 });
  });

  it('tolerates shares summing to 1 within 1e-9', () => {
    expect(goodnessOfFit([1, 1], [0.5, 0.5 + 1e-10]).dof).toBe(1);
    expect(() => goodnessOfFit([1, 1], [0.5, 0.5 + 1e-8])).toThrow(RangeError);
    expect(() => goodnessOfFit([1, 1], [0.5, 0.4])).toThrow(RangeError);
  });

  it('rejects bad input', () => {
    expect(() => goodnessOfFit([0, 0], [0.5, 0.5])).toThrow(RangeError);
    expect(() => goodnessOfFit([1, 2, 3], [0.5, 0.5])).toThrow(RangeError);
    expect(() => goodnessOfFit([-1, 2], [0.5, 0.5])).toThrow(RangeError);
    expect(() => goodnessOfFit([1, 2], [1.5, -0.5])).toThrow(RangeError);
  });
});

describe('goodnessOfFitDecision', () => {
  it('rejects only below the significance level', () => {
    // p = e^-5 = 0.0067: below 0.01, above 0.001.
    expect(goodnessOfFitDecision([10, 20, 30], [1 / 3, 1 / 3, 1 / 3], 0.99)).toBe('inconsistent');
    expect(goodnessOfFitDecision([10, 20, 30], [1 / 3, 1 / 3, 1 / 3], 0.999)).toBe('consistent');
  });
});

describe('decideProportion', () => {
  it('calls 0 of 100 consistent with "no fault injected" and rules out 10%', () => {
    expect(decideProportion(0, 100, 0, 0.1, 0.999)).toBe('consistent');
  });

  it('calls any fault inconsistent with 0%', () => {
    expect(decideProportion(1, 100, 0, 0.1, 0.999)).toBe('inconsistent');
  });

  it('is undecided when the interval holds both values', () => {
    expect(decideProportion(0, 10, 0, 0.1, 0.999)).toBe('undecided');
  });

  it('calls 50 of 100 consistent with 50% against 25%, inconsistent with 25% against 50%', () => {
    expect(decideProportion(50, 100, 0.5, 0.25, 0.999)).toBe('consistent');
    expect(decideProportion(50, 100, 0.25, 0.5, 0.999)).toBe('inconsistent');
  });

  it('rejects values outside [0, 1]', () => {
    expect(() => decideProportion(1, 10, 1.5, 0, 0.95)).toThrow(RangeError);
    expect(() => decideProportion(1, 10, 0.5, -0.1, 0.95)).toThrow(RangeError);
  });
});

/** Exact error rates of the decision rule at n trials, written independently of the module:
 * log-factorials by summation and the Wilson bounds from the textbook formula with z for 99.9%. */
interface ExactRates {
  /** P(the interval holds the alternative | the truth is expected). */
  missUnderExpected: number;
  /** P(the interval holds expected | the truth is the alternative), i.e. not 'inconsistent'. */
  missUnderAlternative: number;
  consistentUnderExpected: number;
}

function exactRates(n: number, expected: number, alternative: number): ExactRates {
  const z2 = Z_9995 * Z_9995;
  const logFactorial = [0];
  for (let i = 1; i <= n; i++) logFactorial.push((logFactorial[i - 1] as number) + Math.log(i));
  const pmf = (k: number, p: number): number => {
    if (p === 0) return k === 0 ? 1 : 0;
    if (p === 1) return k === n ? 1 : 0;
    const logChoose = (logFactorial[n] as number) - (logFactorial[k] as number) - (logFactorial[n - k] as number);
    return Math.exp(logChoose + k * Math.log(p) + (n - k) * Math.log(1 - p));
  };
  let missUnderExpected = 0;
  let missUnderAlternative = 0;
  let consistentUnderExpected = 0;
  for (let k = 0; k <= n; k++) {
    const phat = k / n;
    const center = (phat + z2 / (2 * n)) / (1 + z2 / n);
    const half = (Z_9995 / (1 + z2 / n)) * Math.sqrt((phat * (1 - phat)) / n + z2 / (4 * n * n));
    const low = k === 0 ? 0 : center - half;
    const high = k === n ? 1 : center + half;
    const holds = (value: number): boolean => value >= low - 1e-12 && value <= high + 1e-12;
    if (holds(alternative)) missUnderExpected += pmf(k, expected);
    if (holds(expected)) missUnderAlternative += pmf(k, alternative);
    if (holds(expected) && !holds(alternative)) consistentUnderExpected += pmf(k, expected);
  }
  return { missUnderExpected, missUnderAlternative, consistentUnderExpected };
}

describe('proportionSampleSize', () => {
  const alpha = 0.001;
  const meets = (n: number, expected: number, alternative: number): boolean => {
    const rates = exactRates(n, expected, alternative);
    return rates.missUnderExpected <= alpha && rates.missUnderAlternative <= alpha;
  };

  it.each([
    [0.0625, 0.5, 36],
    [0.1, 0, 98],
    [0.5, 0.25, 151],
  ])('%p vs %p at 99.9%%: %p trials, the smallest that keep both error rates below 0.1%%', (expected, alternative, size) => {
    const n = proportionSampleSize(expected, alternative, 0.999);
    expect(n).toBe(size);
    for (let m = n; m < n + 6; m++) expect(meets(m, expected, alternative)).toBe(true);
    expect(meets(n - 1, expected, alternative)).toBe(false);
    // No earlier run of six passing counts either.
    let run = 0;
    for (let m = 1; m < n; m++) {
      run = meets(m, expected, alternative) ? run + 1 : 0;
      expect(run).toBeLessThan(6);
    }
    // A 'consistent' verdict under the configured value then misses only by the interval's coverage.
    expect(exactRates(n, expected, alternative).consistentUnderExpected).toBeGreaterThan(0.997);
  });

  it('needs one trial for 100% against 0% and is symmetric in 0 and 1', () => {
    expect(proportionSampleSize(1, 0, 0.999)).toBe(1);
    expect(proportionSampleSize(0.2, 0, 0.999)).toBe(44);
    expect(proportionSampleSize(0.8, 1, 0.999)).toBe(44);
  });

  it('finishes quickly for close small proportions', () => {
    const started = Date.now();
    const n = proportionSampleSize(0.01, 0.02, 0.999);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(n).toBeGreaterThan(5000);
    expect(n).toBeLessThan(8000);
  });

  it('rejects values it cannot tell apart or outside [0, 1]', () => {
    expect(() => proportionSampleSize(0.5, 0.5, 0.999)).toThrow(RangeError);
    expect(() => proportionSampleSize(1.1, 0.5, 0.999)).toThrow(RangeError);
    expect(() => proportionSampleSize(0.5, -0.5, 0.999)).toThrow(RangeError);
    expect(() => proportionSampleSize(0.5, 0.25, 1)).toThrow(RangeError);
    expect(() => proportionSampleSize(0.5, 0.501, 0.999)).toThrow(/0\.5 from 0\.501/);
  });
});

/** mulberry32: a tiny seeded PRNG, so the Monte-Carlo checks below are deterministic. */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampleCounts(shares: readonly number[], n: number, random: () => number): number[] {
  const counts = shares.map(() => 0);
  for (let i = 0; i < n; i++) {
    let u = random();
    let cell = 0;
    while (cell < shares.length - 1 && u >= (shares[cell] as number)) {
      u -= shares[cell] as number;
      cell++;
    }
    counts[cell] = (counts[cell] as number) + 1;
  }
  return counts;
}

describe('goodnessOfFitSampleSize', () => {
  it('gives the power it promises, by simulation (0.8/0.2 against a 0.5/0.5 truth at 99%)', () => {
    const expected = [0.8, 0.2];
    const alternative = [0.5, 0.5];
    const n = goodnessOfFitSampleSize(expected, alternative, 0.99);
    expect(n).toBe(55);
    const random = mulberry32(20240611);
    const trials = 2000;
    let rejected = 0;
    let accepted = 0;
    for (let i = 0; i < trials; i++) {
      if (goodnessOfFitDecision(sampleCounts(alternative, n, random), expected, 0.99) === 'inconsistent') rejected++;
      if (goodnessOfFitDecision(sampleCounts(expected, n, random), expected, 0.99) === 'consistent') accepted++;
    }
    expect(rejected / trials).toBeGreaterThanOrEqual(0.98);
    expect(accepted / trials).toBeGreaterThanOrEqual(0.98);
  });

  it('gives the power it promises for three cells, by simulation', () => {
    const expected = [0.5, 0.3, 0.2];
    const alternative = [1 / 3, 1 / 3, 1 / 3];
    const n = goodnessOfFitSampleSize(expected, alternative, 0.99);
    const random = mulberry32(7);
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      if (goodnessOfFitDecision(sampleCounts(alternative, n, random), expected, 0.99) === 'inconsistent') rejected++;
    }
    expect(rejected / 2000).toBeGreaterThanOrEqual(0.98);
  });

  it('sizes the 99.9% checks', () => {
    expect(goodnessOfFitSampleSize([0.8, 0.2], [0.5, 0.5], 0.999)).toBe(95);
    expect(goodnessOfFitSampleSize([0.5, 0.3, 0.2], [1 / 3, 1 / 3, 1 / 3], 0.999)).toBe(321);
  });

  it('asks only for one observation where the expected share is 0', () => {
    // 1 - 0.5^10 >= 0.999 > 1 - 0.5^9.
    expect(goodnessOfFitSampleSize([1, 0], [0.5, 0.5], 0.999)).toBe(10);
    // The mass in all zero-share cells counts: 1 - 0.8^31 >= 0.999.
    expect(goodnessOfFitSampleSize([0.9, 0.1, 0, 0], [0.8, 0, 0.1, 0.1], 0.999)).toBe(31);
  });

  it('handles an alternative with everything in one cell', () => {
    // The statistic is then exactly n (0.5/0.5 vs 1/0), above 10.83 from n = 11.
    expect(goodnessOfFitSampleSize([0.5, 0.5], [1, 0], 0.999)).toBe(11);
  });

  it('rejects shares it cannot tell apart or that do not match', () => {
    expect(() => goodnessOfFitSampleSize([0.5, 0.5], [0.5, 0.5 + 1e-10], 0.999)).toThrow(RangeError);
    expect(() => goodnessOfFitSampleSize([0.5, 0.5], [0.2, 0.3, 0.5], 0.999)).toThrow(RangeError);
    expect(() => goodnessOfFitSampleSize([0.5, 0.5], [0.6, 0.6], 0.999)).toThrow(RangeError);
    expect(() => goodnessOfFitSampleSize([0.5, 0.5], [0.5005, 0.4995], 0.999)).toThrow(RangeError);
    expect(() => goodnessOfFitSampleSize([1, 0], [1 - 1e-8, 1e-8], 0.999)).toThrow(/more than 1000000/);
  });
});
