import { goD, goDuration, goE, goF, goG, goSprintf } from '../../../src/report/fortio/go-format';
import { GO_FORMAT_CASES } from './go-fmt-cases';

function format(verb: string, value: number): string {
  if (verb === 'dur') return goDuration(value);
  const match = /^%(?:\.(\d+))?([gfe])$/.exec(verb);
  if (match === null) throw new Error(`bad verb ${verb}`);
  const prec = match[1] === undefined ? undefined : Number(match[1]);
  if (match[2] === 'g') return goG(value, prec);
  if (match[2] === 'f') return goF(value, prec);
  return goE(value, prec);
}

describe('Go fmt floats', () => {
  it.each(GO_FORMAT_CASES)('%s of %p is %s', (verb, value, expected) => {
    expect(format(verb, value)).toBe(expected);
  });

  // Numbers printed in Fortio's own expected outputs (stats_test.go, Istio docs' captured runs).
  it.each([
    [goG(577.3502691896257, 4), '577.4'], // "+/- 577.4"
    [goG(70710.67811865475, 4), '7.071e+04'], // "+/- 7.071e+04"
    [goG(46.666666666666664, 8), '46.666667'], // "avg 46.666667"
    [goG(50001.5, 8), '50001.5'],
    [goG(200000), '200000'], // %g switches to e at exponent 6, not before
    [goG(400012, 9), '400012'],
    [goG(2883584), '2.883584e+06'], // "min 2.883584e+06"
    [goG(12716293), '1.2716293e+07'],
    [goG(1.09277782e9, 9), '1.09277782e+09'], // "sum 1.09277782e+09"
    [goG(8.8641667e-5, 8), '8.8641667e-05'], // "avg 8.8641667e-05"
    [goG(0.001911933), '0.001911933'],
    [goG(0.00191193, 6), '0.00191193'],
    [goG(0.0033139377, 8), '0.0033139377'],
    [goG(572.03, 5), '572.03'], // "qps=572.03"
    [goF(100 / 6, 2), '16.67'], // "16.67, 1"
    [goF(1000 * 0.0033139377, 3), '3.314'], // "3.314 ms avg"
  ])('Fortio golden %s', (actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('rounds exact ties to even where JS rounds up', () => {
    expect((0.125).toFixed(2)).toBe('0.13'); // why this module exists
    expect(goF(0.125, 2)).toBe('0.12');
    expect(goF(0.375, 2)).toBe('0.38');
    expect(goF(2.5, 0)).toBe('2');
    expect(goG(2.5, 1)).toBe('2');
    expect(goF(12.25, 1)).toBe('12.2');
  });

  it('prints Go infinities and NaN', () => {
    expect(goG(Infinity)).toBe('+Inf');
    expect(goG(-Infinity)).toBe('-Inf');
    expect(goF(NaN, 1)).toBe('NaN');
  });
});

describe('Go fmt integers and Sprintf', () => {
  it('pads %3d as Fortio does for socket errors', () => {
    expect(goD(-1, 3)).toBe(' -1');
    expect(goD(200, 3)).toBe('200');
    expect(goD(5, 3)).toBe('  5');
    expect(goD(1234, 3)).toBe('1234');
    expect(() => goD(1.5)).toThrow(TypeError);
  });

  it('formats with Fortio format strings verbatim', () => {
    expect(goSprintf('Code %3d : %d (%.1f %%)', 503, 12, 40)).toBe('Code 503 : 12 (40.0 %)');
    expect(goSprintf('Code %3d : %d (%.1f %%)', -1, 3, 10)).toBe('Code  -1 : 3 (10.0 %)');
    expect(goSprintf('%s : count %d avg %.8g +/- %.4g min %g max %g sum %.9g', 'test5', 6, 23, 577.3502691896257, -977, 1023, 138)).toBe(
      'test5 : count 6 avg 23 +/- 577.4 min -977 max 1023 sum 138',
    );
    expect(goSprintf('Uniform: %t, Jitter: %t', false, true)).toBe('Uniform: false, Jitter: true');
    // Go's 0 flag: periodic.go's thread ids (fmt.Sprintf("T%03d", id)); the sign comes first.
    expect(goSprintf('T%03d warning', 7)).toBe('T007 warning');
    expect(goSprintf('T%03d', 1234)).toBe('T1234');
    expect(goSprintf('%05d', -42)).toBe('-0042');
  });

  it('refuses mismatched arguments', () => {
    expect(() => goSprintf('%d', 'x')).toThrow(TypeError);
    expect(() => goSprintf('%d %d', 1)).toThrow(RangeError);
    expect(() => goSprintf('%d', 1, 2)).toThrow(RangeError);
  });
});

describe('Go time.Duration', () => {
  it.each([
    [0, '0s'],
    [999, '999ns'],
    [1500, '1.5µs'],
    [34_963_125, '34.963125ms'], // Istio docs: "Ended after 34.963125ms"
    [5_059_700_000, '5.0597s'], // "Ended after 5.0597s"
    [5_000_000_000, '5s'],
    [90_000_000_000, '1m30s'],
    [60_000_000_000, '1m0s'],
    [100_026_212_379, '1m40.026212379s'],
    [3_600_000_000_000, '1h0m0s'],
    [-1500, '-1.5µs'],
  ])('%d ns is %s', (ns, expected) => {
    expect(goDuration(ns)).toBe(expected);
  });
});
