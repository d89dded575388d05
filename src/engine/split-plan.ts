/** Divides a plan among generators (worker threads, Job pods): connections, rate, call counts
 * and the open model's in-flight cap are split in proportion, remainders to the first share,
 * so the shares add up to exactly the original. Pure. */
import type { LoadPlan } from './load-plan';

export function splitPlan(plan: LoadPlan, parts: number): LoadPlan[] {
  // A generator needs at least one connection.
  const n = Math.max(1, Math.min(parts, plan.connections));
  const connections = shares(plan.connections, n);
  const requests = plan.requests === undefined ? undefined : shares(plan.requests, n);
  const inflight = plan.open === undefined ? undefined : shares(plan.open.maxInflight, n);
  return connections.map((c, i) => ({
    ...plan,
    connections: c,
    qps: (plan.qps * c) / plan.connections,
    ramp: plan.ramp === undefined ? undefined : { from: (plan.ramp.from * c) / plan.connections, to: (plan.ramp.to * c) / plan.connections },
    requests: requests?.[i],
    open: inflight === undefined ? undefined : { maxInflight: Math.max(1, inflight[i] as number) },
    workers: 1,
  }));
}

/** `total` as `n` whole shares, the remainder on the first. */
export function shares(total: number, n: number): number[] {
  const each = Math.floor(total / n);
  return Array.from({ length: n }, (_, i) => each + (i === 0 ? total - each * n : 0));
}
