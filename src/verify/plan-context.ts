/** The planner's working state while it writes a plan: phases and policies so far, the rules it
 * applied, the limits every phase stays under, and how faults and delays are asked of the backend. */
import { formatDuration } from '../util/duration';
import { confidenceSuffix, formatConfidence } from '../checks';
import type { VersionRule } from './istio-version';
import { ejectionLastsMs, endpointsToEjectOne, errorsToEject, type OutlierModel, type OutlierRule } from './outlier-model';
import type { PlannedPhase, PlannedPolicy, PolicyKind, VerifyOptions } from './plan-types';

/** A fault the backend can be asked for, or why it cannot. */
type FaultUrl = { url: string; reason?: undefined } | { url?: undefined; reason: string };

/** The planner's own rules on breakers and timeouts (rows of docs/verify-rules.md). */
export const PLAN_RULES = {
  'breaker.overflow-kinds': 'MESH-FACTS counters table: upstream_rq_pending_overflow (queue full; before Envoy 1.38 also max_requests), upstream_rq_active_overflow (Envoy >= 1.38)',
  'breaker.http1-limits': 'MESH-FACTS "Semantics that change by version": HTTP/2 upstreams never queue, only http2MaxRequests bites',
  'breaker.per-proxy': 'MESH-FACTS "Breakers are per client proxy"; src/engine/split-plan.ts shardPlan divides a phase load among shards',
  'retry.breaker': 'envoy api/envoy/config/cluster/v3/circuit_breaker.proto max_retries; stat upstream_rq_retry_overflow (MESH-FACTS)',
  'timeout.per-try': 'envoy api/envoy/config/route/v3/route_components.proto RetryPolicy.per_try_timeout (a per-try timeout is retried under 5xx / gateway-error) and retry_back_off (25ms base, 10 x base at most)',
} as const;

export type PlanRule = keyof typeof PLAN_RULES;

/** Echo servers cap delay= at -max-echo-delay, 1.5s by default (meshload and Fortio alike). */
const ECHO_DEFAULT_MAX_DELAY_MS = 1500;
/** httpbin's /delay/{n} stops at 10 seconds. */
const HTTPBIN_MAX_DELAY_MS = 10_000;

/** One generator's reasonable connection count; a limit above it needs several generators. */
export const MAX_CONNECTIONS = 200;
/** The upstream holds each call this long in breaker phases, so concurrency is real. */
export const BREAKER_DELAY_MS = 50;
/** Why no phase asks an unidentified server for a fault. */
const UNKNOWN_BACKEND = "the target's server was not identified as a meshload server, Fortio or httpbin, so no upstream fault is asked of it (pass --backend if it is one)";

export class PlanContext {
  readonly phases: PlannedPhase[] = [];
  /** Phases that run after all others (the ejection phases). */
  readonly late: PlannedPhase[] = [];
  readonly policies: PlannedPolicy[] = [];
  readonly always: Array<Record<string, unknown>> = [];
  readonly assumptions: string[] = [];
  readonly rules = new Set<string>();
  refusedDelayMs = 0;
  /** Ejections the phases so far may have caused: Envoy's ejection time grows with each. */
  ejections = 0;
  /** A wait the next phase starts with: an earlier phase may have left an endpoint ejected. */
  pendingWaitMs = 0;

  constructor(
    readonly options: VerifyOptions,
    /** At most this many calls in flight outside the breaker's own phases. */
    readonly concurrencyLimit: number | undefined,
    /** The service's outlier detection, as Envoy runs it. */
    readonly outlier: { model: OutlierModel; subject: string } | undefined,
  ) {}

  rule(id: OutlierRule | VersionRule | PlanRule): void {
    this.rules.add(id);
  }

  /** The phase just added may eject an endpoint: the next one waits the ejection out. */
  mayEject(): void {
    if (this.outlier === undefined) return;
    this.ejections++;
    // Margin over the sweep: the proxy's timer and the stats interval are not exact.
    this.pendingWaitMs = ejectionLastsMs(this.outlier.model, this.ejections) + Math.max(1000, this.outlier.model.intervalMs / 2);
  }

  /** A version-dependent default the plan relies on, said once. */
  assume(text: string): void {
    if (!this.assumptions.includes(text)) this.assumptions.push(text);
  }

  /** The most 5xx in a row one phase may cause without risking an ejection; undefined when
   * nothing ejects on them. `local`: the proxy's own timeouts. */
  ejectionBudget(local = false): number | undefined {
    if (this.outlier === undefined) return undefined;
    const k = errorsToEject(this.outlier.model, local);
    return k === undefined ? undefined : k - 1;
  }

  /** ` (unless ...)`: when maxEjectionPercent keeps small services from ejecting at all. */
  get ejectsNone(): string {
    const fewest = this.outlier === undefined ? 1 : endpointsToEjectOne(this.outlier.model);
    return fewest > 1 ? ` (unless the service has fewer than ${fewest} endpoints: then maxEjectionPercent ${this.outlier?.model.maxEjectionPercent ?? 0}% lets none be ejected)` : '';
  }

  /** Why a phase is held under the outlier threshold, for its description. */
  get ejectionWhy(): string {
    const o = this.outlier;
    if (o === undefined) return '';
    const k = errorsToEject(o.model) ?? 0;
    return `${o.subject} ejects an endpoint after ${k} consecutive 5xx (504 timeouts included), and an ejected endpoint would fail later calls as no healthy upstream`;
  }

  /** `wanted` connections, within the DestinationRule's limits. */
  connections(wanted: number): number {
    return Math.max(1, Math.min(wanted, this.concurrencyLimit === undefined ? wanted : this.concurrencyLimit * this.proxies));
  }

  /** Client proxies the load goes through (shards): each has its own breakers and ejections. */
  get proxies(): number {
    return Math.max(1, Math.floor(this.options.clientProxies ?? 1));
  }

  get envoy(): boolean {
    return this.options.proxy === 'envoy';
  }

  /** ` at 99%` when the confidence is not the grammar's default. */
  get at(): string {
    return confidenceSuffix(this.options.confidence);
  }

  skip(policy: PolicyKind, subject: string, model: string, reason: string): void {
    this.policies.push({ policy, subject, phases: [], model, skipped: reason });
  }

  add(policy: PolicyKind, subject: string, model: string, phases: PlannedPhase[], unshown: string[] = [], late = false): void {
    const named = phases.map((p) => ({ ...p, name: `${policy}: ${p.name}` }));
    const first = named[0];
    if (first !== undefined && this.pendingWaitMs > 0) {
      // An earlier phase may have ejected an endpoint: wait until it is back.
      named[0] = {
        ...first,
        description: `${first.description} It starts after ${formatDuration(this.pendingWaitMs)}: the ejection an earlier phase may have caused is over by then.`,
        steps: [{ sleep: formatDuration(this.pendingWaitMs) }, ...(first.steps ?? [])],
      };
      this.pendingWaitMs = 0;
    }
    (late ? this.late : this.phases).push(...named);
    this.policies.push({ policy, subject, phases: named.map((p) => p.name), model, skipped: undefined, ...(unshown.length > 0 ? { unshown } : {}) });
  }

  /** The longest delay the backend honours; 0 when it takes no delays at all. */
  get maxDelayMs(): number {
    const backend = this.options.backend;
    if (backend === 'unknown') return 0;
    return this.options.maxDelayMs ?? (backend === 'httpbin' ? HTTPBIN_MAX_DELAY_MS : ECHO_DEFAULT_MAX_DELAY_MS);
  }

  /** A delay over `overMs` (a timeout), `wantedMs` if the backend allows it, else the cap when it
   * still clears the timeout by `marginMs`; otherwise the reason, naming the server flag. */
  delayOver(overMs: number, wantedMs: number, marginMs: number): { delayMs: number; url: string; reason?: undefined } | { delayMs?: undefined; url?: undefined; reason: string } {
    const cap = this.maxDelayMs;
    if (this.options.backend === 'unknown') return { reason: UNKNOWN_BACKEND };
    const delayMs = wantedMs <= cap ? wantedMs : cap >= overMs + marginMs ? cap : undefined;
    if (delayMs !== undefined) {
      const asked = this.fault({ delayMs });
      return asked.url === undefined ? asked : { delayMs, url: asked.url };
    }
    this.refusedDelayMs = Math.max(this.refusedDelayMs, wantedMs);
    if (this.options.backend === 'httpbin') return { reason: `needs an upstream delay of ${formatDuration(wantedMs)}, and httpbin's /delay stops at 10s` };
    const server = this.options.backend === 'fortio' ? 'Fortio' : 'meshload';
    const known = this.options.maxDelayMs === undefined ? `its default cap, ${formatDuration(cap)}, assumed: pass --max-echo-delay if it was started with more` : `it caps delays at ${formatDuration(cap)}`;
    return { reason: `needs -max-echo-delay >= ${formatDuration(wantedMs)} on the ${server} server (${known})` };
  }

  /** The target asking the upstream for `status` with probability `statusShare` and/or a
   * `delayMs` delay, in the backend's own terms, or why this backend cannot be asked. */
  fault(fault: { status?: number; statusShare?: number; delayMs?: number }): FaultUrl {
    const backend = this.options.backend;
    if (backend === 'unknown') return { reason: UNKNOWN_BACKEND };
    if (fault.delayMs !== undefined && fault.delayMs > this.maxDelayMs) {
      const refused = this.delayOver(fault.delayMs, fault.delayMs, Infinity);
      if (refused.reason !== undefined) return { reason: refused.reason };
    }
    const url = new URL(this.options.target);
    if (backend === 'httpbin') {
      // httpbin takes one fault per path: a status or a delay, never both.
      if (fault.status !== undefined && fault.delayMs !== undefined) return { reason: 'needs a status and a delay on one call, which httpbin cannot give' };
      if (fault.status !== undefined) {
        const share = fault.statusShare ?? 1;
        // httpbin picks uniformly among listed codes (200,503 is 50%), or by code:weight.
        url.pathname = share === 1 ? `/status/${fault.status}` : share === 0.5 ? `/status/200,${fault.status}` : `/status/200:${trimNumber(1 - share)},${fault.status}:${trimNumber(share)}`;
      } else if (fault.delayMs !== undefined) {
        url.pathname = `/delay/${trimNumber(fault.delayMs / 1000)}`;
      }
      url.search = '';
      return { url: url.toString() };
    }
    // Written by hand: URLSearchParams would encode the ':' of the weighted-list syntax.
    const params: string[] = [];
    if (fault.status !== undefined) params.push(`status=${fault.statusShare === 1 ? String(fault.status) : `${fault.status}:${trimNumber((fault.statusShare ?? 1) * 100)}`}`);
    if (fault.delayMs !== undefined) params.push(`delay=${formatDuration(fault.delayMs)}`);
    url.search = url.search === '' ? params.join('&') : `${url.search.slice(1)}&${params.join('&')}`;
    return { url: url.toString() };
  }

  /** Calls for a rate check, within the cap; `why` says how the count was chosen. */
  sized(needed: number, minimum: number): { requests: number; why: string } {
    const rounded = Math.max(minimum, Math.ceil(needed / 10) * 10);
    if (rounded > this.options.maxRequests) {
      return { requests: this.options.maxRequests, why: `${rounded} calls would decide at ${formatConfidence(this.options.confidence)}; capped by --max-requests ${this.options.maxRequests}, so the verdict may be inconclusive` };
    }
    return { requests: rounded, why: `${rounded} calls: the fewest that tell the two apart at ${formatConfidence(this.options.confidence)} confidence` };
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers the phase builders share

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function shortHost(host: string): string {
  return host.split('.')[0] as string;
}

export function minDefined(...values: Array<number | undefined>): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : Math.min(...defined);
}

/** The client's own timeout: well past anything the proxy should answer within. */
export function clientTimeout(ms: number): number {
  return Math.ceil((ms + 2000) / 1000) * 1000;
}

export function pct(fraction: number): string {
  return `${trimNumber(fraction * 100)}%`;
}

export function trimNumber(n: number): string {
  return String(Number(n.toFixed(4)));
}
