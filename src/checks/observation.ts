/** What a check observed, before a verdict: a number with its human text, or why there is none;
 * and the way observed numbers read (`31.0%`, `312.0ms`, `1 call`). */

export interface Observation {
  value: number;
  observed: string;
  /** Set when the observation cannot decide the check although it has a number. */
  inconclusive?: string;
}

export type Outcome = Observation | { verdict: 'no_data' | 'inconclusive'; reason: string };

export type NoVerdict = { verdict: 'no_data' | 'inconclusive'; reason: string };

export function plural(calls: number): string {
  return calls === 1 ? 'call' : 'calls';
}

export function formatPercent(percent: number): string {
  // One decimal hides a rare failure (0.03% would read 0.0%): keep two significant digits there.
  return percent > 0 && percent < 0.1 ? `${Number(percent.toPrecision(2))}%` : `${percent.toFixed(1)}%`;
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
  if (ms < 1) return `${ms.toFixed(3)}ms`;
  return `${ms.toFixed(1)}ms`;
}
