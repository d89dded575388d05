/** Go's fmt and time.Duration formatting, exactly, for the verbs Fortio's output uses: `%g`,
 * `%.Ng`, `%.Nf`, `%.Ne`, `%d`, `%Nd`, `%s`, `%t`, `%%`. Scripts grep Fortio's text, so a line that
 * is "the same number, printed differently" (0.0605 vs 6.05e-02) is a compatibility bug.
 *
 * Floats are converted through their exact decimal expansion (BigInt), then rounded half-to-even,
 * as Go's strconv does (ryuFtoaFixed64 and decimal.Round both round exact ties to even). JS's own
 * toFixed/toPrecision round ties up, so they print 0.125 as "0.13" where Go prints "0.12". */

/** A non-negative finite float as decimal digits: value = 0.d1d2d3... x 10^dp. `digits` has no
 * leading or trailing zeros; zero is `{ digits: '', dp: 0 }`. Same shape as Go's decimalSlice. */
interface Decimal {
  digits: string;
  dp: number;
}

const F64 = new DataView(new ArrayBuffer(8));

/** The exact decimal value of |x| (x finite). */
function exactDecimal(x: number): Decimal {
  F64.setFloat64(0, Math.abs(x));
  const hi = F64.getUint32(0);
  const lo = F64.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) {
    if (mantissa === 0n) return { digits: '', dp: 0 };
    exp = -1074; // subnormal
  } else {
    mantissa |= 1n << 52n;
    exp = biased - 1075;
  }
  let text: string;
  let dp: number;
  if (exp >= 0) {
    text = (mantissa << BigInt(exp)).toString();
    dp = text.length;
  } else {
    // m * 2^-k = m * 5^k / 10^k: exact in base 10.
    text = (mantissa * 5n ** BigInt(-exp)).toString();
    dp = text.length + exp;
  }
  return trimZeros({ digits: text, dp });
}

function trimZeros(d: Decimal): Decimal {
  let end = d.digits.length;
  while (end > 0 && d.digits[end - 1] === '0') end--;
  return end === d.digits.length ? d : { digits: d.digits.slice(0, end), dp: end === 0 ? 0 : d.dp };
}

/** Keeps `nd` digits, rounding half to even on exact ties (Go's decimal.Round). */
function roundDecimal(d: Decimal, nd: number): Decimal {
  if (nd >= d.digits.length) return d;
  if (nd < 0) return { digits: '', dp: 0 };
  const next = d.digits.charCodeAt(nd) - 48;
  let up: boolean;
  if (next === 5 && nd + 1 === d.digits.length) {
    // Exactly halfway: round to even (Go's shouldRoundUp).
    up = nd > 0 && (d.digits.charCodeAt(nd - 1) - 48) % 2 === 1;
  } else {
    up = next >= 5;
  }
  if (!up) return trimZeros({ digits: d.digits.slice(0, nd), dp: d.dp });
  for (let i = nd - 1; i >= 0; i--) {
    const c = d.digits.charCodeAt(i) - 48;
    if (c < 9) return { digits: d.digits.slice(0, i) + String(c + 1), dp: d.dp };
  }
  return { digits: '1', dp: d.dp + 1 }; // all nines
}

/** Go's shortest digits that round-trip: the same digits as JS's Number#toString (both pick the
 * shortest representation, and the closest one among equals). */
function shortestDecimal(x: number): Decimal {
  if (x === 0) return { digits: '', dp: 0 };
  // Number#toString is specified to pick the closest of the shortest candidates (toExponential()
  // is not), which is also Go's rule.
  const [mantissa, exponent = '0'] = String(Math.abs(x)).split('e') as [string, string?];
  const dot = mantissa.indexOf('.');
  const whole = dot < 0 ? mantissa : mantissa.slice(0, dot);
  let digits = whole + (dot < 0 ? '' : mantissa.slice(dot + 1));
  let dp = whole.length + Number(exponent);
  while (digits.startsWith('0')) {
    digits = digits.slice(1);
    dp--;
  }
  return trimZeros({ digits, dp });
}

/** Go's fmtF: integer part, then exactly `prec` fraction digits. */
function fmtF(d: Decimal, prec: number): string {
  let out = '';
  if (d.dp > 0) {
    out = d.digits.slice(0, Math.min(d.digits.length, d.dp)).padEnd(d.dp, '0');
  } else {
    out = '0';
  }
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) {
      const j = d.dp + i;
      out += j >= 0 && j < d.digits.length ? d.digits[j] : '0';
    }
  }
  return out;
}

/** Go's fmtE: one digit, `prec` fraction digits, then e±dd (at least two exponent digits). */
function fmtE(d: Decimal, prec: number, letter = 'e'): string {
  let out = d.digits.length > 0 ? (d.digits[0] as string) : '0';
  if (prec > 0) {
    out += '.' + d.digits.slice(1, prec + 1).padEnd(prec, '0');
  }
  let exp = d.digits.length === 0 ? 0 : d.dp - 1;
  const sign = exp < 0 ? '-' : '+';
  exp = Math.abs(exp);
  return `${out}${letter}${sign}${exp < 10 ? '0' + String(exp) : String(exp)}`;
}

function special(x: number): string | undefined {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return undefined;
}

function signOf(x: number): string {
  return x < 0 || Object.is(x, -0) ? '-' : '';
}

/** `%g` (prec undefined: shortest) or `%.Ng`: Go picks %e when the exponent is < -4 or >= the
 * precision, where shortest uses 6 for that decision. */
export function goG(x: number, prec?: number): string {
  const s = special(x);
  if (s !== undefined) return s;
  const shortest = prec === undefined;
  let p: number;
  let d: Decimal;
  if (shortest) {
    d = shortestDecimal(x);
    p = d.digits.length;
  } else {
    p = prec === 0 ? 1 : prec;
    d = roundDecimal(exactDecimal(x), p);
  }
  let eprec = p;
  if (eprec > d.digits.length && d.digits.length >= d.dp) eprec = d.digits.length;
  if (shortest) eprec = 6;
  const exp = d.dp - 1;
  if (exp < -4 || exp >= eprec) {
    return signOf(x) + fmtE(d, Math.min(p, d.digits.length) - 1);
  }
  if (p > d.dp) p = d.digits.length;
  return signOf(x) + fmtF(d, Math.max(p - d.dp, 0));
}

/** `%.Nf` (`%f` is `%.6f`). */
export function goF(x: number, prec = 6): string {
  const s = special(x);
  if (s !== undefined) return s;
  const exact = exactDecimal(x);
  return signOf(x) + fmtF(roundDecimal(exact, exact.dp + prec), prec);
}

/** `%.Ne` (`%e` is `%.6e`). */
export function goE(x: number, prec = 6): string {
  const s = special(x);
  if (s !== undefined) return s;
  return signOf(x) + fmtE(roundDecimal(exactDecimal(x), prec + 1), prec);
}

/** `%d` / `%Nd`: right-aligned in `width` with spaces, as Fortio's `Code %3d` ("Code  -1"). */
export function goD(n: number, width = 0): string {
  if (!Number.isInteger(n)) throw new TypeError(`%d needs an integer, got ${n}`);
  return (Object.is(n, -0) ? '0' : n.toFixed(0)).padStart(width, ' ');
}

const NS_PER = { us: 1_000, ms: 1_000_000, s: 1_000_000_000, m: 60_000_000_000, h: 3_600_000_000_000 } as const;

/** time.Duration.String() for an integer number of nanoseconds: "5.0597s", "34.963125ms",
 * "1m40.026212379s", "1h0m0s", "1.5µs", "0s". Fortio prints -t and "Ended after" this way. */
export function goDuration(nanoseconds: number): string {
  let ns = Math.round(nanoseconds);
  if (ns === 0) return '0s';
  const neg = ns < 0;
  ns = Math.abs(ns);
  const sign = neg ? '-' : '';
  if (ns < NS_PER.s) {
    if (ns < NS_PER.us) return `${sign}${ns}ns`;
    if (ns < NS_PER.ms) return `${sign}${fraction(ns, 3)}µs`;
    return `${sign}${fraction(ns, 6)}ms`;
  }
  const hours = Math.floor(ns / NS_PER.h);
  const minutes = Math.floor((ns % NS_PER.h) / NS_PER.m);
  const seconds = fraction(ns % NS_PER.m, 9);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

/** value / 10^digits with trailing fraction zeros (and a bare point) dropped, as Go's fmtFrac. */
function fraction(value: number, digits: number): string {
  const unit = 10 ** digits;
  const whole = Math.floor(value / unit);
  const frac = String(value % unit).padStart(digits, '0').replace(/0+$/, '');
  return frac === '' ? String(whole) : `${whole}.${frac}`;
}

export type GoArg = string | number | boolean;

const VERB = /%(?:%|(\d*)(?:\.(\d+))?([sdgfet]))/g;

/** A subset of Go's fmt.Sprintf, so renderers can carry Fortio's format strings verbatim (easy to
 * audit against Fortio's source). Widths apply to %d (with Go's 0 flag) and %s; precisions to %g, %f and %e. */
export function goSprintf(format: string, ...args: GoArg[]): string {
  let next = 0;
  const out = format.replace(VERB, (whole, width: string | undefined, prec: string | undefined, verb: string | undefined) => {
    if (whole === '%%') return '%';
    if (next >= args.length) throw new RangeError(`goSprintf: missing argument for ${whole} in ${JSON.stringify(format)}`);
    const arg = args[next++] as GoArg;
    const w = width === undefined || width === '' ? 0 : Number(width);
    const p = prec === undefined ? undefined : Number(prec);
    switch (verb) {
      case 's':
        if (typeof arg !== 'string') throw new TypeError(`goSprintf: ${whole} needs a string`);
        return arg.padStart(w, ' ');
      case 't':
        if (typeof arg !== 'boolean') throw new TypeError(`goSprintf: ${whole} needs a boolean`);
        return String(arg);
      case 'd':
        if (typeof arg !== 'number') throw new TypeError(`goSprintf: ${whole} needs a number`);
        // Go's 0 flag (%03d, Fortio's thread ids "T007"): zeros after the sign.
        if (width?.startsWith('0') === true) return (arg < 0 ? '-' : '') + goD(Math.abs(arg)).padStart(arg < 0 ? w - 1 : w, '0');
        return goD(arg, w);
      default: {
        if (typeof arg !== 'number') throw new TypeError(`goSprintf: ${whole} needs a number`);
        const text = verb === 'g' ? goG(arg, p) : verb === 'f' ? goF(arg, p) : goE(arg, p);
        return text.padStart(w, ' ');
      }
    }
  });
  if (next !== args.length) throw new RangeError(`goSprintf: ${args.length - next} extra argument(s) for ${JSON.stringify(format)}`);
  return out;
}
