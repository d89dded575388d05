/** The rate a plan asked for against the rate a run achieved: whether the generator fell behind.
 * Pure, on the ground floor: the engine judges its run with it and a merge judges its parts. */
import type { LoadPlan } from './load-plan';

/** Achieved rate under this share of the requested one means the generator fell behind. */
const FELL_BEHIND_RATIO = 0.95;

/** The rate a plan asks for: its qps, or a ramp's mean; 0 at max speed. */
export function requestedQps(plan: Pick<LoadPlan, 'qps' | 'ramp'>): number {
  return plan.ramp === undefined ? plan.qps : (plan.ramp.from + plan.ramp.to) / 2;
}

/** A paced run that completed under 95% of its requested rate: the generator fell behind. */
export function fellBehind(plan: Pick<LoadPlan, 'qps' | 'ramp'>, actualQps: number): boolean {
  const requested = requestedQps(plan);
  return requested > 0 && actualQps < requested * FELL_BEHIND_RATIO;
}

/** What a fell-behind warning says, with both rates so the user sees how far: "the generator
 * fell behind: 812 of 1000 requested calls/s (81%)". The share rounds down, never up to 95%. */
export function fellBehindText(plan: Pick<LoadPlan, 'qps' | 'ramp'>, actualQps: number): string {
  const requested = requestedQps(plan);
  if (!(requested > 0)) return 'the generator fell behind';
  const rate = (qps: number): string => (qps >= 100 ? String(Math.round(qps)) : String(Math.round(qps * 10) / 10));
  const mean = plan.ramp === undefined ? '' : ' (the ramp\'s mean)';
  return `the generator fell behind: ${rate(actualQps)} of ${rate(requested)} requested calls/s${mean} (${Math.floor((100 * actualQps) / requested)}%)`;
}
