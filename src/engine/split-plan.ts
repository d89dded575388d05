/** Divides a plan among generators: splitPlan among worker threads (remainders to the first
 * share), shardPlan among Job pods (remainders spread one each over the first shards). Either way
 * connections, rate, call counts and the open model's in-flight cap add up to exactly the
 * original. Pure. */
import type { LoadPlan } from '../model/load-plan';

export function splitPlan(plan: LoadPlan, parts: number): LoadPlan[] {
  // A generator needs at least one connection.
  const n = Math.max(1, Math.min(parts, plan.connections));
  const connections = shares(plan.connections, n);
  const requests = plan.requests === undefined ? undefined : shares(plan.requests, n);
  const inflight = plan.open === undefined ? undefined : shares(plan.open.maxInflight, n);
  return connections.map((c, i) => ({ ...part(plan, c, requests?.[i], inflight === undefined ? undefined : Math.max(1, inflight[i] as number)), workers: 1 }));
}

/** The plan with `connections` of its connections: rate and ramp follow them, so each connection
 * keeps the pace it has in the whole; calls and the in-flight cap as given. */
function part(plan: LoadPlan, connections: number, requests: number | undefined, maxInflight: number | undefined): LoadPlan {
  return {
    ...plan,
    connections,
    qps: (plan.qps * connections) / plan.connections,
    ramp: plan.ramp === undefined ? undefined : { from: (plan.ramp.from * connections) / plan.connections, to: (plan.ramp.to * connections) / plan.connections },
    requests,
    open: maxInflight === undefined ? undefined : { maxInflight },
  };
}

/** `total` as `n` whole shares, the remainder on the first. */
export function shares(total: number, n: number): number[] {
  const each = Math.floor(total / n);
  return Array.from({ length: n }, (_, i) => each + (i === 0 ? total - each * n : 0));
}

/** `total` as `n` whole shares differing by at most one: the first `total % n` get one more. */
export function evenShares(total: number, n: number): number[] {
  const each = Math.floor(total / n);
  const extra = total - each * n;
  return Array.from({ length: n }, (_, i) => each + (i < extra ? 1 : 0));
}

/** Why a plan's load cannot be divided among `count` generators, or undefined when it can. A
 * shard needs at least one connection (and call, and in-flight slot): one with none would sit
 * idle while the others run, so more shards than connections is refused rather than half-run. */
export function shardProblem(load: Pick<LoadPlan, 'connections' | 'requests' | 'open'>, count: number): string | undefined {
  const most = (n: number): string => `use at most ${n} shard${n === 1 ? '' : 's'}`;
  if (load.connections < count) {
    return `${plural(load.connections, 'connection')} cannot be split across ${count} shards: each shard needs at least one; ${most(load.connections)}, or raise connections to ${count}`;
  }
  if (load.requests !== undefined && load.requests < count) {
    return `${plural(load.requests, 'request')} cannot be split across ${count} shards: each shard needs at least one; ${most(load.requests)}, or raise requests to ${count}`;
  }
  if (load.open !== undefined && load.open.maxInflight < count) {
    return `maxInflight ${load.open.maxInflight} cannot be split across ${count} shards: each shard needs at least one slot; raise maxInflight to ${count}`;
  }
  return undefined;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Shard `index` of `count` generators that run one plan side by side (Kubernetes Job pods).
 * Connections, calls and the in-flight cap are divided as evenly as whole numbers allow (the
 * first shards get one more), so the shards add up to exactly the plan. Rate and ramp follow the
 * connections, as in splitPlan: every connection keeps the pace it has in one generator, so the
 * union of the shards' schedules is the plan's. Workers stay as asked: each pod may use threads.
 * Call shardProblem first: a plan that cannot be divided throws here. */
export function shardPlan(plan: LoadPlan, index: number, count: number): LoadPlan {
  const problem = shardProblem(plan, count);
  if (problem !== undefined) throw new Error(problem);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new Error(`shard ${index} is not in 0..${count - 1}`);
  const share = (total: number): number => evenShares(total, count)[index] as number;
  return part(plan, share(plan.connections), plan.requests === undefined ? undefined : share(plan.requests), plan.open === undefined ? undefined : share(plan.open.maxInflight));
}
