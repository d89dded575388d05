/** Go duration syntax ("1.5s", "10ms", "1m30s", "250us"), the form Fortio's flags and
 * echo parameters use. Values are milliseconds as floating point. */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Returns milliseconds, or undefined when `text` is not a Go duration. A bare "0" is allowed,
 * as in Go; any other bare number is not, because its unit would be a guess. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  let rest = trimmed;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  while (PART.lastIndex < rest.length) {
    const match = PART.exec(rest);
    if (match === null) return undefined;
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  return sign * total;
}

/** Short human form: "250ms", "1.5s", "2m30s". Sub-millisecond values keep microseconds. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 0) return '-' + formatDuration(-ms);
  if (ms < 1) return `${round(ms * 1000)}us`;
  if (ms < 1000) return `${round(ms)}ms`;
  if (ms < 60_000) return `${round(ms / 1000)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = (ms - minutes * 60_000) / 1000;
  if (minutes < 60) return seconds === 0 ? `${minutes}m` : `${minutes}m${round(seconds)}s`;
  const hours = Math.floor(minutes / 60);
  const rest = ms - hours * 3_600_000;
  return rest === 0 ? `${hours}h` : `${hours}h${formatDuration(rest)}`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
