/** Character-level helpers shared by the line-based formats (Envoy text, Prometheus) and by
 * format detection. Pure; each works on char codes so a line is scanned without copies. */

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;

/** Shared by every unlabelled sample, so a sample costs no labels object of its own. */
export const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** A decimal number (JS syntax without hex, octal, binary or Infinity), else undefined. */
export function parseFiniteNumber(text: string): number | undefined {
  if (text.length === 0) return undefined;
  const c = text.charCodeAt(0);
  if (!(isDigit(c) || c === MINUS || c === PLUS || c === DOT)) return undefined;
  const value = Number(text);
  if (Number.isNaN(value) || !Number.isFinite(value)) return undefined;
  // Number() also reads 0x1f, 0o7 and 0b1, and tolerates surrounding whitespace.
  if (c === 48 && text.length > 1 && (text.charCodeAt(1) | 0x20) >= 97 && (text.charCodeAt(1) | 0x20) !== 101) return undefined;
  if (isWhitespace(text.charCodeAt(text.length - 1))) return undefined;
  return value;
}

/** A copy of a slice that does not keep its source chunk alive. V8 makes slices of 13 or more
 * characters point into the parent string, so a retained stat name would pin the whole 64 KiB
 * chunk it came from; concatenating and slicing again flattens into a string of its own. */
export function detach(s: string): string {
  if (s.length < 13) return s;
  // Slicing a cons string flattens it first, so the result points into a fresh flat copy.
  return (' ' + s).slice(1);
}

export function excerpt(text: string, max = 80, quoted = true): string {
  const short = text.length > max ? `${text.slice(0, max)}...` : text;
  return quoted ? JSON.stringify(short) : short;
}

export function skipBlanks(text: string, from: number): number {
  let i = from;
  while (isBlank(text.charCodeAt(i))) i++;
  return i;
}

export function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

export function isWhitespace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR;
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
