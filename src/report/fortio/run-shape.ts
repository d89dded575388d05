/** How Fortio describes a run before it starts (periodic.runQPSSetup / runMaxQPSSetup): the
 * RequestedQPS and RequestedDuration strings of its JSON, and the per-thread split it prints. */
import type { LoadPlan } from '../../model/load-plan';
import { goDuration, goG } from './go-format';

export type RunShapePlan = Pick<LoadPlan, 'qps' | 'connections' | 'durationMs' | 'requests'>;

export interface FortioRunShape {
  /** "max", or the rate as Go's %.9g. */
  requestedQps: string;
  /** "5s", "exactly 30 calls", "until stop" (paced, no end) or "" (max speed, no end): Fortio's
   * exact strings, the empty one included. */
  requestedDuration: string;
  /** Threads after Fortio's paced-mode lowering (at least 2 calls per thread). */
  threads: number;
  /** Calls per thread; 0 when the run has no end. */
  perThread: number;
  /** perThread * threads. */
  total: number;
  /** Extra calls the first thread makes with -n (may be negative in Fortio's -n 1 corner case). */
  leftOver: number;
}

/** Fortio's arithmetic, including its paced-mode rules: fewer than 2 calls become 2 on 1 thread,
 * and threads are lowered so each makes at least 2 calls (a 1-call thread cannot be paced). The
 * planner should apply the same lowering so the engine runs what this reports. */
export function fortioRunShape(plan: RunShapePlan): FortioRunShape {
  const exactly = plan.requests !== undefined && plan.requests > 0 ? plan.requests : 0;
  const hasDuration = plan.durationMs > 0;
  const duration = goDuration(plan.durationMs * 1e6);
  let threads = Math.max(1, plan.connections);
  if (plan.qps <= 0) {
    if (exactly > 0) {
      const perThread = Math.trunc(exactly / threads);
      return { requestedQps: 'max', requestedDuration: `exactly ${exactly} calls`, threads, perThread, total: perThread * threads, leftOver: exactly % threads };
    }
    return { requestedQps: 'max', requestedDuration: hasDuration ? duration : '', threads, perThread: 0, total: 0, leftOver: 0 };
  }
  const requestedQps = goG(plan.qps, 9);
  if (exactly === 0 && !hasDuration) {
    return { requestedQps, requestedDuration: 'until stop', threads, perThread: 0, total: 0, leftOver: 0 };
  }
  // Go: int64(r.QPS * r.Duration.Seconds()), truncation toward zero.
  let calls = exactly > 0 ? exactly : Math.trunc(plan.qps * (plan.durationMs / 1000));
  if (calls < 2) {
    calls = 2;
    threads = 1;
  }
  if (2 * threads > calls) threads = Math.trunc(calls / 2);
  const perThread = Math.trunc(calls / threads);
  const total = perThread * threads;
  return {
    requestedQps,
    requestedDuration: exactly > 0 ? `exactly ${exactly} calls` : duration,
    threads,
    perThread,
    total,
    leftOver: exactly > 0 ? exactly - total : 0,
  };
}
