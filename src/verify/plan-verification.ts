/** Works out what a DestinationRule and VirtualService promise and writes the scenario that would
 * show it: one or two phases per policy, each with checks whose failure means "does not behave
 * as configured". Rates that vary from run to run are checked with `~` (a Wilson interval or a
 * chi-square fit against the value an unconfigured mesh would give), and each phase's request
 * count is the smallest that tells the two apart at the chosen confidence. Pure: the result is
 * plain data that `meshload verify --dry-run` prints as YAML and `meshload verify` runs.
 * Facts: ../shared/MESH-FACTS.md "How Istio config maps to Envoy". */
import { formatDuration } from '../util/duration';
import { goodnessOfFitSampleSize, proportionSampleSize } from '../metrics/statistics';
import { confidenceSuffix, formatConfidence } from '../checks';
import { usageError } from '../util/errors';
import { draftGrpcVerification, isGrpcTarget } from './grpc-plan';
import { formatNote } from './istio-manifests';
import type { ConnectionPool, DestinationRule, HttpRoute, IstioPolicies, VirtualService } from './istio-policy';
import { defaultRetriesRetry503, formatVersion, type IstioVersion, type VersionRule } from './istio-version';
import type { EndpointCount } from './endpoint-count';
import { describeValues, ejectableEndpoints, ejectionLastsMs, endpointsToEjectOne, errorsToEject, outlierModel, runProbability, type OutlierModel, type OutlierRule } from './outlier-model';

/** How faults and delays are asked of the upstream: the meshload server and Fortio read echo
 * parameters from the query (`?status=503:50&delay=600ms`), httpbin has paths (`/status/200,503`,
 * `/delay/1`); an unknown server is asked for nothing, so no phase relies on a fault it ignores. */
export type Backend = 'meshload' | 'httpbin' | 'fortio' | 'unknown';
/** Whose semantics to expect: Envoy (Istio's sidecar), or HAProxy configured the same way (the
 * local proof: it reports fewer stats, see docs/proxy-stats-mapping.md). */
export type ProxyKind = 'envoy' | 'haproxy';

export interface VerifyOptions {
  target: string;
  backend: Backend;
  /** The longest delay the backend honours (meshload/Fortio: -max-echo-delay, probed or stated);
   * undefined: the backend's default (echo servers 1.5s, httpbin 10s). */
  maxDelayMs: number | undefined;
  proxy: ProxyKind;
  /** 0.999 = 99.9%. */
  confidence: number;
  /** Cap on one phase's calls; a check that needed more is sized down and says so. */
  maxRequests: number;
  /** The scenario's `sidecar:` block as written (stats source, cluster, interval). */
  sidecar: Record<string, unknown>;
  /** Admin URL of ONE endpoint's meshload server, made to fail for outlier detection. */
  ejectAdmin: string | undefined;
  /** The mesh's Istio (--istio-version or detected); undefined: the newest behaviour is assumed
   * and checks that would flip with the version are inconclusive. */
  istioVersion?: IstioVersion | undefined;
  /** Client proxies the plan's load goes through (the scenario run as N shards, one client pod
   * each): breakers are per client proxy, so N of them let N times the limits in. Default 1. */
  clientProxies?: number | undefined;
  /** The service's endpoint count (`--endpoints`, or the proxy's /clusters): with Envoy's strict
   * maxEjectionPercent it decides whether anything can be ejected. undefined: unknown, said. */
  endpoints?: EndpointCount | undefined;
  /** --grpc: the target speaks gRPC (so does a grpc:// URL); planned by ./grpc-plan.ts. */
  grpc?: boolean | undefined;
}

export type PolicyKind = 'connectionPool' | 'retries' | 'timeout' | 'fault' | 'weights' | 'outlierDetection';

export interface PlannedPolicy {
  policy: PolicyKind;
  /** `DestinationRule httpbin`, `VirtualService httpbin http[0]`. */
  subject: string;
  /** Names of the phases that verify it; empty when skipped. */
  phases: string[];
  /** What the configuration promises and how the plan shows it, one or two sentences. */
  model: string;
  /** Why the policy is not verified (set exactly when phases is empty). */
  skipped: string | undefined;
  /** What of the policy its phases cannot show on this backend, and why: the policy's verdict is
   * at best inconclusive (a failing check still says it does not behave as configured). */
  unshown?: string[];
}

/** A phase as written in the scenario file (the YAML shape). */
export interface PlannedPhase {
  name: string;
  description: string;
  steps?: Array<Record<string, unknown>>;
  load: Record<string, unknown>;
  expect: string[];
}

export interface VerificationPlan {
  /** The scenario as written in a file: `meshload run` runs it. */
  scenario: {
    name: string;
    description: string;
    target: string;
    sidecar: Record<string, unknown>;
    defaults: Record<string, unknown>;
    phases: PlannedPhase[];
    always?: Array<Record<string, unknown>>;
  };
  policies: PlannedPolicy[];
  /** What was read and not verified (unsupported fields, skipped documents). */
  notes: string[];
  /** The largest delay a phase wanted and the backend's cap refused; 0 when none was refused. */
  refusedDelayMs: number;
  /** Version-dependent defaults the plan relies on, each with the version assumed. */
  assumptions: string[];
  /** Ids of the rules (docs/verify-rules.md) the plan applied. */
  rules: string[];
  /** Client proxies (shards) the plan was made for: it must run as that many. */
  clientProxies: number;
}

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

/** The failure probability the retry phases ask of the upstream (Istio's docs use 50%). */
const RETRY_FAULT = 0.5;
/** Istio's mesh default when a route has no retries block. */
const DEFAULT_ATTEMPTS = 2;
/** retryOn values that retry an app's 503. `retriable-status-codes` alone does not: Istio takes
 * the codes only from numbers in retryOn (retry.go parseRetryOn). */
const RETRY_ON_503 = ['5xx', 'gateway-error', '503'];
/** Per-try failure shares the retry phase may ask for, largest first: with outlier detection in
 * force a smaller share keeps a run of consecutive 5xx (an ejection) improbable. */
const RETRY_FAULTS = [0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01];
/** One generator's reasonable connection count; a limit above it needs several generators. */
const MAX_CONNECTIONS = 200;
/** The upstream holds each call this long in breaker phases, so concurrency is real. */
const BREAKER_DELAY_MS = 50;
/** Why no phase asks an unidentified server for a fault. */
const UNKNOWN_BACKEND = "the target's server was not identified as a meshload server, Fortio or httpbin, so no upstream fault is asked of it (pass --backend if it is one)";

/** The one service the manifests configure; a usage error for none or several (checked before
 * the target is probed, so bad input costs no request). */
export function verifiedHost(policies: IstioPolicies): string {
  // A DestinationRule of a host the VirtualService routes to applies to that traffic: not another service.
  const routed = routedHosts(policies);
  const hosts = new Set([...policies.destinationRules.map((d) => shortHost(d.host)).filter((h) => policies.virtualServices.length === 0 || !routed.has(h)), ...policies.virtualServices.flatMap((v) => v.hosts.map(shortHost))]);
  if (hosts.size === 0) throw usageError('the files hold no DestinationRule or VirtualService', 'pass the manifests with -f dr.yaml -f vs.yaml');
  if (hosts.size > 1) {
    throw usageError(`the files configure ${[...hosts].join(', ')}: verify one service at a time`, 'pass -f with the manifests of one host, and its URL');
  }
  return [...hosts][0] as string;
}

/** The short hosts the VirtualServices route to. */
function routedHosts(policies: IstioPolicies): Set<string> {
  return new Set(policies.virtualServices.flatMap((v) => v.http.flatMap((r) => r.destinations.map((d) => shortHost(d.host)))));
}

/** The proxy's cluster for the load: the one host every route goes to, else the verified host. */
function statsHost(policies: IstioPolicies, host: string): string {
  const routed = routedHosts(policies);
  return routed.size === 1 ? ([...routed][0] as string) : host;
}

/** The plan; a usage error when nothing in it can run. */
export function planVerification(policies: IstioPolicies, options: VerifyOptions): VerificationPlan {
  const plan = draftVerification(policies, options);
  if (plan.scenario.phases.length === 0) {
    throw usageError(
      `nothing to verify for ${verifiedHost(policies)}: ${plan.policies.map((p) => `${p.policy}: ${p.skipped ?? ''}`).join('; ') || 'no resilience policy in the files'}`,
      'add a connectionPool, outlierDetection, retries, timeout, fault or weighted route',
    );
  }
  return plan;
}

/** The plan, possibly without phases: verify drafts one to learn which delays the backend
 * refused (refusedDelayMs) before asking the server for its cap. */
export function draftVerification(policies: IstioPolicies, options: VerifyOptions): VerificationPlan {
  const host = verifiedHost(policies);
  if (isGrpcTarget(options.target, options.grpc)) return draftGrpcVerification(policies, options, host);
  // A breaker in the DestinationRule limits every phase, not only its own: the other policies'
  // phases stay at or under its concurrency, or their 503s would be overflow, not their policy.
  const pools = policies.destinationRules.map((d) => d.trafficPolicy?.connectionPool).filter((p): p is ConnectionPool => p !== undefined);
  // Outlier detection on the service shapes every phase that makes 5xx: an ejection would turn
  // its later calls into `no healthy upstream` (issue 15), so those phases stay under it.
  // The strictest detector among the service's and its subsets' (a subset's replaces the
  // service's for its traffic): every phase stays under the first threshold any endpoint meets.
  const detectors = policies.destinationRules.flatMap((d) => [
    ...(d.trafficPolicy?.outlierDetection === undefined ? [] : [{ model: outlierModel(d.trafficPolicy.outlierDetection), subject: `DestinationRule ${d.origin.name}` }]),
    ...d.subsets.flatMap((sub) => (sub.trafficPolicy?.outlierDetection === undefined ? [] : [{ model: outlierModel(sub.trafficPolicy.outlierDetection), subject: `DestinationRule ${d.origin.name} subset ${sub.name}` }])),
  ]);
  const strictness = (m: OutlierModel): number => Math.min(errorsToEject(m) ?? Infinity, errorsToEject(m, true) ?? Infinity);
  // A detector whose maxEjectionPercent of the known endpoints is under one host ejects nothing
  // (a subset has at most the service's endpoints), so it holds no phase back.
  const known = options.endpoints;
  const outlier = detectors.filter((d) => known === undefined || ejectableEndpoints(d.model, known.count) >= 1).reduce<(typeof detectors)[number] | undefined>((a, b) => (a === undefined || strictness(b.model) < strictness(a.model) ? b : a), undefined);
  const ctx = new PlanContext(options, minDefined(...pools.flatMap((p) => [p.maxConnections, p.http2MaxRequests])), outlier);
  if (outlier !== undefined) for (const r of outlier.model.rules) ctx.rule(r);
  if (outlier !== undefined && pools.length > 0) ctx.rule('outlier.overflow-not-charged');
  if (detectors.length > 0) {
    ctx.rule('outlier.endpoint-count');
    if (known === undefined) {
      ctx.assume(
        "the service's endpoint count is unknown (pass --endpoints N, or --stats with Envoy's admin /stats so its /clusters page is read): phases are held under the ejection threshold as if an endpoint could be ejected, which maxEjectionPercent allows only from enough endpoints.",
      );
    }
  }
  for (const dr of policies.destinationRules) planDestinationRule(ctx, dr);
  for (const vs of policies.virtualServices) planVirtualService(ctx, vs, policies.destinationRules);
  // Planned after the others: it knows the ejections they may have caused (Envoy's ejection
  // time grows with each), and its phases run last, so no later phase meets the ejected endpoint.
  for (const dr of policies.destinationRules) {
    const subject = `DestinationRule ${dr.origin.name}`;
    const routed = routedSubset(policies.virtualServices, dr);
    const own = dr.subsets.find((sub) => sub.name === routed && sub.trafficPolicy?.outlierDetection !== undefined);
    const od = dr.trafficPolicy?.outlierDetection;
    if (own !== undefined) ctx.rule('outlier.subset-replaces');
    if (od !== undefined && own !== undefined) {
      // istio/istio pilot/pkg/model/destination_rule.go:183-185 @86c9f01f MergeTrafficPolicy: a subset's outlierDetection replaces the rule's. rule: 'outlier.subset-replaces'
      ctx.skip('outlierDetection', subject, describeValues(outlierModel(od)), `the route sends all traffic to subset ${own.name}, whose own outlierDetection replaces this one (Istio merges a subset's policy over the rule's field by field)`);
    } else if (od !== undefined) {
      // Routed to one subset, the rule's detector runs on that subset's cluster: its hosts, not the service's.
      planOutlierDetection(ctx, subject, outlierModel(od), routed);
    }
    for (const sub of dr.subsets) {
      const sod = sub.trafficPolicy?.outlierDetection;
      if (sod === undefined) continue;
      const model = outlierModel(sod);
      if (sub === own) planOutlierDetection(ctx, `${subject} subset ${sub.name}`, model, sub.name);
      else {
        ctx.rule('outlier.subset-replaces');
        const why = routed === undefined ? 'no route in the files sends all its traffic to this subset (an unrouted or split load reaches endpoints of other subsets, whose detector is another)' : `the route sends all traffic to subset ${routed}`;
        ctx.skip('outlierDetection', `${subject} subset ${sub.name}`, describeValues(model), `${why}: route the load to subset ${sub.name} alone (a VirtualService with that one destination) to verify it`);
      }
    }
  }
  ctx.phases.push(...ctx.late);
  const notes = policies.notes.map(formatNote);
  const sidecar = { cluster: statsHost(policies, host), ...options.sidecar };
  return {
    scenario: {
      name: `verify ${host}`,
      description: `Derived by meshload verify from ${[...new Set([...policies.destinationRules, ...policies.virtualServices].map((r) => r.origin.file))].join(', ')} at ${formatConfidence(options.confidence)} confidence. Istio version: ${formatVersion(options.istioVersion)}.${ctx.proxies > 1 ? ` Planned for ${ctx.proxies} client proxies: run it as ${ctx.proxies} shards (meshload k8s job --parallelism ${ctx.proxies}).` : ''}${ctx.assumptions.length > 0 ? ` Assumed: ${ctx.assumptions.join(' ')}` : ''}`,
      target: options.target,
      sidecar,
      defaults: { qps: 0, allowInitialErrors: true },
      phases: ctx.phases,
      ...(ctx.always.length > 0 ? { always: ctx.always } : {}),
    },
    policies: ctx.policies,
    notes,
    refusedDelayMs: ctx.refusedDelayMs,
    assumptions: ctx.assumptions,
    rules: [...ctx.rules].sort(),
    clientProxies: ctx.proxies,
  };
}

class PlanContext {
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
// DestinationRule: connection pool and outlier detection

function planDestinationRule(ctx: PlanContext, dr: DestinationRule): void {
  const subject = `DestinationRule ${dr.origin.name}`;
  const pool = dr.trafficPolicy?.connectionPool;
  if (pool !== undefined) planConnectionPool(ctx, subject, pool);
  for (const subset of dr.subsets) {
    // Its outlierDetection is planned with the ejection phases; the rest is not verified.
    const tp = subset.trafficPolicy;
    if (tp !== undefined && (tp.connectionPool !== undefined || tp.outlierDetection === undefined)) {
      ctx.skip('connectionPool', `${subject} subset ${subset.name}`, 'a subset-level traffic policy', `subset-level traffic policies${tp.outlierDetection === undefined ? '' : ' other than outlierDetection'} are not verified yet: load the subset through a route to it and check by hand`);
    }
  }
}

function planConnectionPool(ctx: PlanContext, subject: string, pool: ConnectionPool): void {
  const { maxConnections: c, http1MaxPendingRequests: p, http2MaxRequests: r } = pool;
  // Envoy rejects when all connections are busy AND the pending queue is full (C + P in
  // flight), or when R requests are active; unset limits are 2^32 - 1 (never reached).
  const queueLimit = c !== undefined && p !== undefined ? c + p : undefined;
  const rejectAt = minDefined(queueLimit, r);
  const limits = [
    c === undefined ? undefined : `maxConnections ${c}`,
    p === undefined ? undefined : `http1MaxPendingRequests ${p}`,
    r === undefined ? undefined : `http2MaxRequests ${r}`,
  ].filter((x) => x !== undefined);
  if (limits.length === 0) {
    if (pool.maxRetries !== undefined || pool.maxRequestsPerConnection !== undefined) {
      ctx.skip('connectionPool', subject, 'maxRetries / maxRequestsPerConnection only', 'no request limit to exceed (maxRetries is shown by the retries checks; maxRequestsPerConnection is not a breaker)');
    }
    return;
  }
  // Breakers are per client proxy (MESH-FACTS): N proxies (shards) let N times the limits in,
  // and the load is divided among them, so every count below is per proxy, times N.
  const n = ctx.proxies;
  const perProxy = n === 1 ? '' : ` per client proxy (${n} proxies, one per shard: the phase's load is ${n} times one proxy's)`;
  const under = Math.max(1, minDefined(c, r) ?? 1) * n;
  // The upstream holds each call so that concurrency is real; a backend that cannot hold gets
  // the plain target and the text does not claim a hold.
  const delayed = ctx.fault({ delayMs: BREAKER_DELAY_MS });
  const target = delayed.url ?? ctx.options.target;
  const hold = delayed.url !== undefined ? ` and the upstream holds each call ${BREAKER_DELAY_MS}ms` : '';
  if (n > 1) ctx.rule('breaker.per-proxy');
  // maxConnections and http1MaxPendingRequests bite only on HTTP/1.1 upstreams (MESH-FACTS).
  if (c !== undefined || p !== undefined) ctx.rule('breaker.http1-limits');
  if (c !== undefined || p !== undefined) ctx.assume('an HTTP/1.1 upstream: on HTTP/2 (h2UpgradePolicy UPGRADE, gRPC) requests multiplex and never queue, so only http2MaxRequests bites.');
  const underPhase: PlannedPhase = {
    name: `under the limit (${plural(under, 'connection')})`,
    description: `${plural(under, 'connection')} keep${under === 1 ? 's' : ''} at most ${plural(under, 'call')} in flight${hold}: within ${limits.join(', ')}${perProxy} nothing waits for a connection, so nothing is rejected. Deterministic: one rejection fails it.`,
    load: { connections: under, requests: Math.max(20, 10 * under), url: target },
    expect: ['cause(breaker) == 0', 'breaker.rejected == 0'],
  };
  if (rejectAt === undefined) {
    // Only maxConnections: on HTTP/1.1 requests queue without bound (MESH-FACTS): no 503s.
    const over = Math.min(MAX_CONNECTIONS, 3 * (c ?? 1)) * n;
    const expect = ['cause(breaker) == 0'];
    if (ctx.envoy) expect.push('breaker.connection > 0');
    ctx.add('connectionPool', subject, `maxConnections ${c ?? ''}${perProxy} without a pending limit: extra requests queue (upstream_cx_overflow counts them), none is rejected.`, [
      underPhase,
      {
        name: `over the connection limit (${over} connections)`,
        description: `${over} connections against maxConnections ${c ?? ''}${perProxy}: requests wait for a connection; without http1MaxPendingRequests the queue is unbounded, so no 503 is expected${ctx.envoy ? ', and the connection breaker counts the waits' : ''}.`,
        load: { connections: over, requests: Math.max(30, 10 * over), url: target },
        expect,
      },
    ]);
    return;
  }
  const over = 3 * rejectAt;
  if (over > MAX_CONNECTIONS) {
    ctx.skip('connectionPool', subject, `rejections above ${rejectAt} calls in flight${perProxy}`, `the limit ${rejectAt} is too high to exceed from one generator (${MAX_CONNECTIONS} connections): fan out with several client pods`);
    return;
  }
  // The two kinds of overflow: a full pending queue (upstream_rq_pending_overflow) and too many
  // active requests (http2MaxRequests), which Envoy < 1.38 counts as pending overflow too and
  // >= 1.38 as upstream_rq_active_overflow (MESH-FACTS): that check sums both.
  const queueBinds = queueLimit !== undefined && (r === undefined || queueLimit <= r);
  ctx.rule('breaker.overflow-kinds');
  const expect = [queueBinds ? 'breaker.pending > 0' : 'breaker.rejected > 0', 'cause(breaker) > 0', 'agree(breaker)'];
  const which = queueBinds
    ? 'the pending queue overflows (upstream_rq_pending_overflow)'
    : 'http2MaxRequests rejects (counted as pending overflow before Envoy 1.38, as upstream_rq_active_overflow from 1.38: the check sums both)';
  ctx.add(
    'connectionPool',
    subject,
    `${limits.join(', ')}${perProxy}: at most ${rejectAt} calls in flight (connections + pending${r === undefined ? '' : ', or active requests'}); more are rejected with 503 overflow: ${which}.`,
    [
      underPhase,
      {
        name: `over the limit (${over * n} connections)`,
        description: `${over * n} connections, three times the ${rejectAt} calls the limits let in${perProxy}${hold}: calls beyond it are rejected with 503 marked as overflow, and the proxy's overflow counter moves by as many.`,
        load: { connections: over * n, requests: Math.max(30, 10 * over) * n, url: target },
        expect,
      },
    ],
  );
}

/** The one subset of `dr` the planned route (each VirtualService's first route without match)
 * sends all its traffic to; undefined when there is none, several, or no VirtualService. */
function routedSubset(vss: readonly VirtualService[], dr: DestinationRule): string | undefined {
  const subsets = new Set<string | undefined>();
  for (const vs of vss) {
    const route = vs.http.find((r) => !r.hasMatch);
    for (const d of route?.destinations ?? []) if (shortHost(d.host) === shortHost(dr.host) && (d.weight ?? 100) > 0) subsets.add(d.subset);
  }
  return subsets.size === 1 ? [...subsets][0] : undefined;
}

function planOutlierDetection(ctx: PlanContext, subject: string, m: OutlierModel, subset?: string): void {
  for (const r of m.rules) ctx.rule(r);
  ctx.rule('outlier.per-proxy');
  const values = describeValues(m);
  const k = errorsToEject(m);
  if (k === undefined) {
    ctx.skip('outlierDetection', subject, `${values}: both consecutive-error detectors are off`, 'consecutive5xxErrors is 0 and consecutiveGatewayErrors is off: no detector that errors trigger (success-rate ejection is off in Istio)');
    return;
  }
  const fewest = endpointsToEjectOne(m);
  // This endpoint may already have been ejected by an earlier phase: the next ejection lasts longer.
  const lasts = ejectionLastsMs(m, ctx.ejections + 1);
  const model =
    `${values}. An endpoint answering ${k} 5xx in a row (502, 503 and 504 count for both detectors; the proxy's own timeouts as 504${m.splitLocalOrigin ? ' unless split as local-origin errors' : ''}) is ejected ` +
    `for baseEjectionTime x the times it was ejected (at most ${formatDuration(m.maxEjectionMs)}), and returns at the first ${formatDuration(m.intervalMs)} sweep after that. ` +
    `maxEjectionPercent ${m.maxEjectionPercent}% is strict: an ejection happens only if ejected/endpoints stays <= ${m.maxEjectionPercent}% after it, ${fewest <= 1 ? 'so even a lone endpoint is ejected (its calls then fail as no healthy upstream)' : `so with fewer than ${fewest} endpoints nothing is ejected`}.` +
    ` ${subset === undefined ? endpointsText(ctx.options.endpoints, m) : subsetEndpointsText(ctx.options.endpoints, m, subset)}` +
    `${m.minHealthPercent > 0 ? ` Below ${m.minHealthPercent}% healthy endpoints Envoy's panic mode sends traffic to ejected endpoints too.` : ''} Each client proxy ejects on its own.` +
    ` Sources: docs/verify-rules.md ${[...m.rules, 'outlier.per-proxy'].join(', ')}.`;
  const admin = ctx.options.ejectAdmin;
  // The count read or given is the service's; a subset has fewer, so it stays unknown there.
  // The service's count bounds a subset's from above: none ejectable among them is none in the subset.
  const bound = ctx.options.endpoints;
  const known = subset === undefined ? bound : undefined;
  const none = bound !== undefined && ejectableEndpoints(m, bound.count) < 1;
  if (admin === undefined) {
    ctx.skip('outlierDetection', subject, model, `needs one failing endpoint among at least ${Math.max(2, fewest)}: pass --eject-admin with that endpoint's meshload server admin URL (it is told to answer 503)`);
    return;
  }
  if (none && ctx.envoy) {
    planNoEjection(ctx, subject, model, admin, k, bound);
    return;
  }
  if (none || bound?.count === 1) {
    // HAProxy has no overflow counter to show a refused ejection; one endpoint ejected leaves no
    // upstream, so "traffic left it" cannot hold.
    ctx.skip('outlierDetection', subject, model, none ? `with ${bound.count} endpoints nothing is ejected, and ${ctx.options.proxy} shows no refused ejection` : 'the service has one endpoint: ejecting it leaves no healthy upstream to take the traffic');
    return;
  }
  const unshown: string[] = [];
  // The second phase must end inside the ejection: a very short one may end first.
  if (m.baseEjectionMs < 2000) unshown.push(`baseEjectionTime ${formatDuration(m.baseEjectionMs)}: the "traffic left it" phase may outlast the ejection, and the endpoint's 503s come back`);
  // Panic mode: below minHealthPercent healthy, Envoy balances over the ejected endpoint too.
  if (m.minHealthPercent > 0 && known === undefined) unshown.push(`minHealthPercent ${m.minHealthPercent}%: whether panic mode applies depends on the endpoint count, which verify does not know (pass --endpoints)`);
  if (m.minHealthPercent > 0 && known !== undefined && (100 * (known.count - 1)) / known.count < m.minHealthPercent) {
    unshown.push(`minHealthPercent ${m.minHealthPercent}%: with one of ${known.count} endpoints ejected, ${trimNumber((100 * (known.count - 1)) / known.count)}% are healthy, so panic mode sends traffic to the ejected one too`);
  }
  const calls = Math.max(50, 20 * k);
  // Which detector ejects the 503s: the one with the lower threshold (Envoy checks both on each
  // 5xx); its own enforced counter shows the detector the manifest configured is the one at work.
  const c5 = m.consecutive5xx > 0 ? m.consecutive5xx : Infinity;
  const gw = m.consecutiveGateway > 0 ? m.consecutiveGateway : Infinity;
  const detectorCheck = !ctx.envoy || c5 === gw ? [] : [`delta(outlier_detection.ejections_enforced_${c5 < gw ? 'consecutive_5xx' : 'consecutive_gateway_failure'}) > 0`];
  // Margin over the sweep: the proxy's timer and the stats interval are not exact.
  const wait = lasts + Math.max(1000, m.intervalMs / 2);
  const phases: PlannedPhase[] = [
    {
      name: 'one endpoint fails',
      description: `The endpoint behind ${admin}${subset === undefined ? '' : ` (one of subset ${subset})`} answers 503 to everything; after ${k} in a row the proxy ejects it (the service needs at least ${Math.max(2, fewest)} endpoints: ${fewest <= 2 ? 'one to eject and one to take the traffic' : `maxEjectionPercent ${m.maxEjectionPercent}%`}), and its ejection counter moves.`,
      steps: [{ chaos: { set: 'status=503', admin } }],
      load: { connections: 1, requests: calls },
      expect: ['ejections.enforced > 0', ...detectorCheck],
    },
    {
      name: 'traffic left it',
      description: `Still inside the ejection time (${formatDuration(Math.min(m.baseEjectionMs * (ctx.ejections + 1), m.maxEjectionMs))}): the failing endpoint gets no traffic, so no call fails.`,
      load: { connections: 1, requests: calls },
      expect: ['status(503) == 0'],
    },
    {
      name: 'after the ejection time',
      description: `The endpoint is healed and verify waits ${formatDuration(wait)} (the ejection time, ${ctx.ejections === 0 ? 'baseEjectionTime' : `baseEjectionTime x ${ctx.ejections + 1}, earlier phases may have ejected it already,`} + interval ${formatDuration(m.intervalMs)} + margin): every call answers 200${ctx.envoy ? ' and the proxy holds no endpoint ejected' : ''}, so the ejection poisons nothing after it.`,
      steps: [{ chaos: { clear: true, admin } }, { sleep: formatDuration(wait) }],
      load: { connections: 1, requests: calls },
      expect: ctx.envoy ? ['status(200) == 100%', 'ejections.active == 0'] : ['status(200) == 100%'],
    },
  ];
  // Last in the scenario: an ejection cannot reach another policy's phase.
  ctx.add('outlierDetection', subject, model, phases, unshown, true);
  ctx.always.push({ chaos: { clear: true, admin } });
  // A later ejection phase meets this endpoint again: its ejection then lasts longer.
  ctx.ejections++;
}

/** With the known endpoints maxEjectionPercent allows no ejection: one endpoint fails, and the
 * proxy refuses to eject it (ejections_overflow), which a mesh without the limit would not. */
function planNoEjection(ctx: PlanContext, subject: string, model: string, admin: string, k: number, known: EndpointCount): void {
  const calls = Math.max(50, 20 * k);
  ctx.add(
    'outlierDetection',
    subject,
    model,
    [
      {
        name: 'one endpoint fails, none is ejected',
        description: `The endpoint behind ${admin} answers 503 to everything; after ${k} in a row the detector would eject it, but one of ${known.count} endpoints is over maxEjectionPercent, so Envoy refuses (ejections_overflow moves, no ejection is enforced).`,
        steps: [{ chaos: { set: 'status=503', admin } }],
        load: { connections: 1, requests: calls },
        expect: ['ejections.enforced == 0', 'delta(outlier_detection.ejections_overflow) > 0'],
      },
    ],
    [],
    true,
  );
  ctx.always.push({ chaos: { clear: true, admin } });
}

/** The same for a subset: the service's count is only an upper bound of the subset's. */
function subsetEndpointsText(bound: EndpointCount | undefined, m: OutlierModel, subset: string): string {
  const where = `It applies to the endpoints of subset ${subset}, where the route sends all traffic`;
  if (bound !== undefined && ejectableEndpoints(m, bound.count) < 1) return `${where}: at most the service's ${bound.count} (${bound.source}), of which ${m.maxEjectionPercent}% is under one, so nothing is ejected.`;
  return `${where}; their count is not known (the endpoint count read is the service's).`;
}

/** The sentence naming the endpoint count, its source, and what it means for ejection. */
function endpointsText(known: EndpointCount | undefined, m: OutlierModel): string {
  if (known === undefined) return "The endpoint count is unknown (pass --endpoints N, or --stats with Envoy's admin /stats).";
  const ejectable = ejectableEndpoints(m, known.count);
  // envoy source/common/upstream/outlier_detection_impl.cc:574-582 @00c7146d ejectHost: 100 x (ejected + 1) / hosts <= max. rule: 'outlier.endpoint-count'
  return ejectable < 1
    ? `The service has ${known.count} endpoints (${known.source}): ${m.maxEjectionPercent}% of them is under one, so nothing is ejected.`
    : `The service has ${known.count} endpoints (${known.source}): at most ${ejectable} of them ejected at once.`;
}

// ---------------------------------------------------------------------------------------------
// VirtualService: retries, timeouts, faults, weights

function planVirtualService(ctx: PlanContext, vs: VirtualService, rules: readonly DestinationRule[]): void {
  for (const route of vs.http) {
    const subject = `VirtualService ${vs.origin.name} ${route.name}`;
    if (route.hasMatch) {
      // Labelled by what the route carries (a fault route is a fault not verified), not all 'retries'.
      const carried: PolicyKind[] = [];
      if (route.faultAbort !== undefined || route.faultDelay !== undefined) carried.push('fault');
      if (route.retries !== undefined) carried.push('retries');
      if (route.timeoutMs !== undefined) carried.push('timeout');
      if (route.destinations.length > 1) carried.push('weights');
      for (const kind of carried) ctx.skip(kind, subject, 'a route with match conditions', 'routes with match conditions are not verified: the generated load may not match them');
      continue;
    }
    if (route.faultAbort !== undefined || route.faultDelay !== undefined) planFault(ctx, subject, route);
    planRetries(ctx, subject, route, rules);
    if (route.timeoutMs !== undefined) planTimeout(ctx, subject, route);
    if (route.destinations.length > 1) planWeights(ctx, subject, route);
    // Only the first unmatched route takes traffic: later ones are unreachable.
    break;
  }
}

/** What a route's retry policy does with an app's 503, on the version assumed. */
interface RetryReading {
  /** This route retries an app's 503. */
  covered: boolean;
  /** A mesh without this route's retries (Istio's default policy: 2 retries) retries 503. */
  defaultRetries503: boolean;
  /** Set when the answer flips with the Istio version and the version is unknown. */
  flips: string | undefined;
}

function readRetries(ctx: PlanContext, attempts: number, retryOn: readonly string[] | undefined): RetryReading {
  ctx.rule('version.default-retry-503');
  const known = defaultRetriesRetry503(ctx.options.istioVersion);
  const defaultRetries503 = known ?? false;
  if (known === undefined) ctx.assume('Istio >= 1.24: the default retry policy does not retry 503 (EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY, istio/istio#50506); it did up to 1.23.');
  else ctx.assume(`Istio ${ctx.options.istioVersion?.major ?? 1}.${ctx.options.istioVersion?.minor ?? 0}: the default retry policy ${known ? 'retries' : 'does not retry'} an app's 503.`);
  if (retryOn !== undefined) ctx.rule('version.retry-on-codes');
  if (attempts === 0) return { covered: false, defaultRetries503, flips: known === undefined ? 'on Istio <= 1.23 a mesh without this route retries 503 twice, so attempts 0 would show there; on >= 1.24 it looks the same as no route' : undefined };
  if (retryOn === undefined) {
    ctx.rule('version.retry-block-default-retry-on');
    return { covered: defaultRetries503, defaultRetries503, flips: known === undefined ? 'without retryOn the default applies, which retries 503 on Istio <= 1.23 and not on >= 1.24' : undefined };
  }
  return { covered: retryOn.some((r) => RETRY_ON_503.includes(r)), defaultRetries503, flips: undefined };
}

function planRetries(ctx: PlanContext, subject: string, route: HttpRoute, rules: readonly DestinationRule[]): void {
  const retries = route.retries;
  // No retries block: the team promised nothing about retries (the mesh default applies).
  if (retries === undefined) return;
  if (route.faultAbort !== undefined && (route.faultAbort.percent ?? 0) > 0) {
    ctx.skip('retries', subject, 'retries on a route that also aborts', "the route's fault aborts are mixed into the failures (Envoy does not retry them): verify retries on a route without abort faults");
    return;
  }
  const attempts = retries.attempts;
  const retryOn = retries.retryOn;
  const reading = readRetries(ctx, attempts, retryOn);
  const { covered } = reading;
  const tries = covered ? attempts + 1 : 1;
  // Without this route's retries: Istio's default policy, 2 retries, which retry 503 only on old Istio.
  const triesWithout = reading.defaultRetries503 ? DEFAULT_ATTEMPTS + 1 : 1;
  const unshown: string[] = [];
  if (reading.flips !== undefined) unshown.push(`the Istio version: ${reading.flips}; pass --istio-version`);
  if (tries === triesWithout) {
    unshown.push(
      `a mesh without this retries block ${triesWithout === 1 ? "does not retry an app's 503 either" : `retries 503 ${DEFAULT_ATTEMPTS} times too`} (Istio's default policy on the version assumed), so the 503 share cannot tell whether the block is in force`,
    );
  }
  // Without a version, both defaults are possible (explicit retryOn): the check must rule out
  // the one nearer to what the block promises, and cannot when one of them looks the same.
  const families = ctx.options.istioVersion !== undefined || reading.flips !== undefined ? [triesWithout] : [1, DEFAULT_ATTEMPTS + 1];
  if (tries !== triesWithout && families.includes(tries)) {
    unshown.push(`the Istio version: on Istio <= 1.23 a mesh without this retries block retries 503 ${DEFAULT_ATTEMPTS} times too, so it would pass there without the block; pass --istio-version`);
  }
  const candidates = families.filter((f) => f !== tries).sort((a, b) => Math.abs(a - tries) - Math.abs(b - tries));
  // When every alternative looks the same, the check still says what the block promises against
  // the retrying (or not retrying) one, and the verdict stays inconclusive (unshown above).
  const altTries = candidates[0] ?? (tries === 1 ? Math.max(attempts, DEFAULT_ATTEMPTS) + 1 : 1);

  // The per-try timeout phase: each call times out at every try (504s the outlier detector
  // counts as local-origin errors).
  const perTry = retries.perTryTimeoutMs;
  const retriesTimeouts = attempts > 0 && retryOn !== undefined && retryOn.some((r) => r === '5xx' || r === 'gateway-error');
  const slowBudget = ctx.ejectionBudget(true);
  let slowCalls = 4;
  const slowTries = retriesTimeouts ? attempts + 1 : 1;
  if (slowBudget !== undefined) slowCalls = Math.min(slowCalls, Math.floor(slowBudget / slowTries));

  // The largest per-try failure share that decides within --max-requests and keeps an ejection
  // improbable (a run of k 5xx among all tries; a phase of 200s after it clears what it leaves).
  const budget = ctx.ejectionBudget();
  const risk = 1 - ctx.options.confidence;
  let chosen: { p: number; expected: number; alternative: number; size: { requests: number; why: string } } | undefined;
  let ejectRisk = 0;
  for (const p of budget === undefined ? [RETRY_FAULT] : RETRY_FAULTS) {
    const expected = p ** tries;
    const alternative = p ** altTries;
    let needed: number;
    try {
      needed = proportionSampleSize(expected, alternative, ctx.options.confidence);
    } catch {
      // Rates this small cannot be told apart in any number of calls meshload would send.
      continue;
    }
    const size = ctx.sized(needed, 20);
    if (budget !== undefined) {
      const meanTries = tries === 1 ? 1 : (1 - p ** tries) / (1 - p);
      ejectRisk = runProbability(p, budget + 1, Math.ceil(size.requests * meanTries));
      if (ejectRisk > risk) continue;
    }
    if (chosen === undefined || !/capped/.test(size.why)) chosen = { p, expected, alternative, size };
    if (!/capped/.test(size.why)) break;
  }
  const written = `attempts ${attempts}, retryOn ${retryOn?.join(',') ?? "(default: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes)"}`;
  if (chosen === undefined) {
    ctx.skip(
      'retries',
      subject,
      `${written}: ${covered ? `a call fails only when all ${tries} tries fail` : "an app's 503 is not retried"}`,
      `${ctx.ejectionWhy}: every per-try failure share that shows the retries would eject an endpoint with probability over ${pct(risk)}${ctx.ejectsNone}; verify retries on a DestinationRule with a higher outlier threshold`,
    );
    return;
  }
  const { p, expected, alternative, size } = chosen;
  const model = covered
    ? `${written}: a call fails only when all ${tries} tries fail, so with each try failing at ${pct(p)} about ${pct(expected)} of calls fail, not ${pct(alternative)}.`
    : `${written}: an app's 503 is ${attempts === 0 ? 'never retried (attempts 0)' : retryOn === undefined ? 'not retried (the default retryOn has no 503 on the version assumed)' : 'not retried (retryOn names no 5xx, gateway-error or 503)'}, so about ${pct(p)} of calls fail, not ${pct(alternative)}.`;
  const maxRetries = rules.map((d) => d.trafficPolicy?.connectionPool?.maxRetries).find((m) => m !== undefined);
  // Concurrent retries beyond maxRetries overflow the retry breaker: stay under it.
  const connections = ctx.connections(maxRetries === undefined ? 2 : Math.max(1, Math.min(2, maxRetries)));
  const expect = [`status(503) ~ ${pct(expected)} vs ${pct(alternative)}${ctx.at}`, covered ? 'retries.attempted > 0' : 'retries.attempted == 0'];
  if (ctx.envoy && ctx.options.backend === 'meshload' && covered) expect.push('agree(retries)');
  // Under the retry breaker, none overflows (Envoy counts upstream_rq_retry_overflow).
  if (ctx.envoy && covered && maxRetries !== undefined) expect.push('retries.overflowed == 0');
  // An ejected endpoint's 503 reads `no healthy upstream`: none may be among the app's 503s.
  if (ctx.envoy && budget !== undefined) expect.push('cause(no_healthy) == 0');
  const failing = ctx.fault({ status: 503, statusShare: p });
  if (failing.url === undefined) {
    ctx.skip('retries', subject, model, failing.reason);
    return;
  }
  const held = budget !== undefined ? ` ${pct(p)}, not 50%: ${ctx.ejectionWhy}; a run of ${budget + 1} failed tries is this unlikely: ${ejectRisk.toExponential(1)}.` : '';
  const phases: PlannedPhase[] = [
    {
      name: `each try fails at ${pct(p)}`,
      description: `The upstream answers 503 to ${pct(p)} of tries.${held} ${size.why}.`,
      load: { connections, requests: size.requests, url: failing.url },
      expect,
    },
  ];
  if (perTry !== undefined && covered && ctx.envoy) {
    const routeTimeout = route.timeoutMs;
    // Slower than perTryTimeout by a margin the proxy's timer cannot blur.
    const margin = Math.max(perTry / 10, 50);
    const slow = ctx.delayOver(perTry, perTry + Math.max(perTry / 2, 100), margin);
    if (slowCalls < 1) {
      unshown.push(`perTryTimeout ${formatDuration(perTry)}: ${ctx.ejectionWhy}, and one call's ${slowTries} timed-out tries would reach it`);
    } else if (slow.delayMs === undefined) {
      unshown.push(`perTryTimeout ${formatDuration(perTry)}: ${slow.reason}`);
    } else {
      const delay = slow.delayMs;
      if (budget !== undefined) {
        // The failing phase may end in a run of 503s: 200s clear it before the 504s add to it.
        phases.push({
          name: 'the upstream answers',
          description: 'A healthy upstream: every call answers 200 at the first try. It shows nothing is retried without a failure, and clears the run of failed tries the phase before may have left, before the next phase\'s timeouts.',
          load: { connections, requests: 10 },
          expect: ['status(200) == 100%', ...(ctx.envoy ? ['retries.attempted == 0'] : [])],
        });
      }
      phases.push({
        name: 'every try is too slow',
        description: `The upstream takes ${formatDuration(delay)}, over perTryTimeout ${formatDuration(perTry)}: each try times out and is ${retriesTimeouts ? 'retried' : 'not retried'}, and the call ends in 504${routeTimeout === undefined ? '' : ` (or the route timeout ${formatDuration(routeTimeout)} ends it first)`}.${slowCalls < 4 ? ` ${plural(slowCalls, 'call')}: ${ctx.ejectionWhy}.` : ''}`,
        load: { connections: ctx.connections(Math.min(2, slowCalls)), requests: slowCalls, url: slow.url, timeout: formatDuration(clientTimeout((attempts + 1) * delay)) },
        expect: ['status(504) == 100%', 'timeouts.per_try > 0', `min >= ${formatDuration(Math.min(perTry, routeTimeout ?? perTry))}`],
      });
    }
  }
  if (maxRetries !== undefined && covered) {
    const retryBreaker = planRetryBreaker(ctx, maxRetries);
    if (typeof retryBreaker === 'string') unshown.push(`maxRetries ${maxRetries}: ${retryBreaker}`);
    else phases.push(retryBreaker);
  }
  ctx.add('retries', subject, model, phases, unshown);
}

/** The retry breaker: more concurrent retries than maxRetries (per client proxy) are refused and
 * counted in upstream_rq_retry_overflow; or why it cannot be shown here. */
function planRetryBreaker(ctx: PlanContext, maxRetries: number): PlannedPhase | string {
  ctx.rule('retry.breaker');
  if (!ctx.envoy) return 'HAProxy has no retry breaker to compare with';
  if (ctx.ejectionBudget() !== undefined) return `showing it takes every try failing, and ${ctx.ejectionWhy}`;
  const wanted = 3 * (maxRetries + 1) * ctx.proxies;
  if (wanted > MAX_CONNECTIONS * ctx.proxies) return `more than ${MAX_CONNECTIONS} calls in flight from one generator would be needed`;
  const connections = ctx.connections(wanted);
  if (connections <= maxRetries * ctx.proxies) return "the connection pool's limits keep fewer calls in flight than maxRetries retries";
  const failing = ctx.fault({ status: 503, statusShare: 1, delayMs: BREAKER_DELAY_MS });
  if (failing.url === undefined) return failing.reason;
  return {
    name: `more retries in flight than maxRetries ${maxRetries}`,
    description: `${connections} connections, every try answered 503 after ${BREAKER_DELAY_MS}ms: more than ${maxRetries} retries would be in flight at once${ctx.proxies > 1 ? ' per client proxy' : ''}, so the retry breaker refuses some (upstream_rq_retry_overflow). Every call still ends in 503.`,
    load: { connections, requests: 10 * connections, url: failing.url },
    expect: ['status(503) == 100%', 'retries.overflowed > 0'],
  };
}

function planTimeout(ctx: PlanContext, subject: string, route: HttpRoute): void {
  const t = route.timeoutMs as number;
  if (t === 0) {
    ctx.skip('timeout', subject, 'timeout 0s', 'timeout 0s disables the route timeout: nothing to show');
    return;
  }
  // HAProxy's translation has no per-try timeout (test/helpers/istio-to-haproxy.ts).
  const perTry = ctx.envoy ? route.retries?.perTryTimeoutMs : undefined;
  const attempts = route.retries?.attempts ?? 0;
  const retryOn = route.retries?.retryOn;
  // A per-try timeout is retried when retryOn names 5xx or gateway-error (Envoy router): the call
  // then ends after (attempts + 1) per-try timeouts, and before the route timeout when that is shorter.
  const retriesTimeouts = attempts > 0 && retryOn !== undefined && retryOn.some((r) => r === '5xx' || r === 'gateway-error');
  const tries = perTry !== undefined && perTry < t ? (retriesTimeouts ? attempts + 1 : 1) : 1;
  // Envoy's retry back-off: 25ms base, at most 10 x base between tries.
  const backoff = (tries - 1) * 250;
  const perTryEnd = perTry !== undefined && perTry < t ? tries * perTry : undefined;
  const endsAt = perTryEnd !== undefined && perTryEnd + backoff < t ? perTryEnd : t;
  const byPerTry = endsAt !== t;
  if (perTryEnd !== undefined) ctx.rule('timeout.per-try');
  const fast = Math.min(t, perTry ?? t) / 2;
  const model = byPerTry
    ? `timeout ${formatDuration(t)} with perTryTimeout ${formatDuration(perTry ?? 0)} x ${tries} ${tries === 1 ? 'try' : 'tries'} = ${formatDuration(perTryEnd ?? 0)}, shorter: a slow upstream is cut off with 504 by the per-try timeouts at about ${formatDuration(endsAt)}${backoff > 0 ? ` (plus up to ${formatDuration(backoff)} of retry back-off)` : ''}, before the route timeout; a faster one answers normally.`
    : `timeout ${formatDuration(t)}: an upstream slower than that is cut off with 504 "upstream request timeout" at about ${formatDuration(t)}; a faster one answers normally.`;
  // Every slow call is a 504 the outlier detector charges to the endpoint: stay under it.
  const fastConnections = ctx.connections(4);
  let connections = fastConnections;
  let slowCalls = 2 * connections;
  let ejects = false;
  const budget = ctx.ejectionBudget(true);
  if (budget !== undefined) {
    slowCalls = Math.min(slowCalls, Math.floor(budget / tries));
    if (slowCalls < 1 && tries > 1) {
      ctx.skip('timeout', subject, model, `${ctx.ejectionWhy}, and a single timed-out call (${tries} tries) reaches that, its later tries then failing as no healthy upstream: verify the timeout on a DestinationRule with a higher outlier threshold`);
      return;
    }
    // One call of one try still shows the timeout; its 504 may eject, which the next phase waits out.
    if (slowCalls < 1) {
      slowCalls = 1;
      ejects = true;
    }
    connections = Math.min(connections, slowCalls);
  }
  // The call ends between the last per-try timeout and the route timeout (retry back-off is
  // random); when the per-try timeouts cannot all fire before the route's, both can end it.
  const earliest = perTryEnd !== undefined && perTryEnd < t ? perTryEnd : t;
  const latest = byPerTry ? endsAt + backoff : t;
  const slowDelay = ctx.delayOver(latest, latest + Math.max(t / 2, 200), Math.max(t / 10, 100));
  const fastUrl = ctx.fault({ delayMs: fast });
  if (slowDelay.url === undefined || fastUrl.url === undefined) {
    ctx.skip('timeout', subject, model, slowDelay.reason ?? fastUrl.reason ?? '');
    return;
  }
  const slow = slowDelay.delayMs;
  // The proxy's timer fires at T and the answer reaches the client a little later, well before
  // the upstream's own answer would.
  const slack = (slow - latest) / 2;
  const slowExpect = ['status(504) == 100%', 'cause(timeout) == 100%', `p(50) in [${formatDuration(earliest * 0.95)}, ${formatDuration(latest + slack)}]`];
  slowExpect.push(earliest < t ? 'timeouts.per_try > 0' : 'timeouts.route > 0');
  const held = ejects
    ? ` One call: ${ctx.ejectionWhy}; this one 504 may eject it, and the next phase waits that out.`
    : budget !== undefined && slowCalls < 2 * ctx.connections(4) ? ` ${plural(slowCalls, 'call')}: ${ctx.ejectionWhy}.` : '';
  const fastPhase: PlannedPhase = {
    name: `upstream faster than ${formatDuration(t)}`,
    description: `The upstream takes ${formatDuration(fast)}: every call answers 200. Deterministic.${budget !== undefined ? ' First, so that its 200s also clear any run of 5xx an earlier phase left.' : ''}`,
    load: { connections: fastConnections, requests: 2 * fastConnections, url: fastUrl.url, timeout: formatDuration(clientTimeout(slow)) },
    expect: ['status(200) == 100%', 'timeouts.route == 0'],
  };
  const slowPhase: PlannedPhase = {
    name: `upstream slower than ${formatDuration(t)}`,
    description: `The upstream takes ${formatDuration(slow)}: every call ends in 504 after about ${formatDuration(endsAt)}${byPerTry ? ' (per-try timeouts)' : ''}. Deterministic.${held}`,
    load: { connections, requests: slowCalls, url: slowDelay.url, timeout: formatDuration(clientTimeout(slow * tries)) },
    expect: slowExpect,
  };
  // With outlier detection the 200s go first: they reset the consecutive-error counts the
  // 504s then add to.
  ctx.add('timeout', subject, model, budget !== undefined ? [fastPhase, slowPhase] : [slowPhase, fastPhase]);
  if (ejects) ctx.mayEject();
}

function planFault(ctx: PlanContext, subject: string, route: HttpRoute): void {
  const abort = route.faultAbort;
  const delay = route.faultDelay;
  const expect: string[] = [];
  const models: string[] = [];
  let needed = 0;
  const confidence = ctx.options.confidence;
  if (abort !== undefined && (abort.percent ?? 0) > 0) {
    const a = (abort.percent as number) / 100;
    models.push(`${pct(a)} of calls are aborted with ${abort.httpStatus}`);
    expect.push(`status(${abort.httpStatus}) ~ ${pct(a)} vs 0%${ctx.at}`);
    // Envoy's abort body is "fault filter abort"; HAProxy's translation has its own page.
    if (ctx.envoy) expect.push(`cause(fault) ~ ${pct(a)} vs 0%${ctx.at}`);
    needed = Math.max(needed, proportionSampleSize(a, 0, confidence));
  } else if (abort !== undefined) {
    ctx.skip('fault', subject, `abort ${abort.httpStatus} without a percentage`, 'an abort without percentage injects nothing (Istio)');
  }
  let slowest = 0;
  if (delay !== undefined && (delay.percent ?? 0) > 0) {
    const q = (delay.percent as number) / 100;
    models.push(`${pct(q)} of calls are delayed by ${formatDuration(delay.fixedDelayMs)}`);
    expect.push(`slower(${formatDuration(delay.fixedDelayMs)}) ~ ${pct(q)} vs 0%${ctx.at}`);
    needed = Math.max(needed, proportionSampleSize(q, 0, confidence));
    slowest = delay.fixedDelayMs;
  } else if (delay !== undefined) {
    ctx.skip('fault', subject, `delay ${formatDuration(delay.fixedDelayMs)} without a percentage`, 'a delay without percentage injects nothing (Istio)');
  }
  if (expect.length === 0) return;
  const size = ctx.sized(needed, 20);
  // Enough connections that the delayed calls do not stretch the phase past ~10 s.
  const delayedTime = size.requests * ((delay?.percent ?? 0) / 100) * slowest;
  const connections = ctx.connections(Math.min(64, Math.max(4, Math.ceil(delayedTime / 10_000))));
  ctx.add('fault', subject, `fault injection at the client sidecar: ${models.join('; ')}; the rest pass through.`, [
    {
      name: 'injected faults',
      description: `${models.join('; ')}: the observed shares must match, and rule out no injection. ${size.why}.`,
      load: { connections, requests: size.requests, ...(slowest > 0 ? { timeout: formatDuration(clientTimeout(slowest)) } : {}) },
      expect,
    },
  ]);
}

function planWeights(ctx: PlanContext, subject: string, route: HttpRoute): void {
  const names = route.destinations.map((d) => d.subset ?? d.host);
  if (new Set(names).size !== names.length) {
    ctx.skip('weights', subject, 'a weighted route', 'two destinations share a subset name: the split cannot be told apart');
    return;
  }
  // Istio splits in proportion to the weights (they need not sum to 100).
  const totalWeight = route.destinations.reduce((sum, d) => sum + (d.weight ?? 0), 0);
  const expected = route.destinations.map((d, i) => [names[i] as string, ((d.weight ?? 0) * 100) / totalWeight] as const);
  const even = 100 / names.length;
  // Without the route, Kubernetes spreads calls over all endpoints: evenly, with equal replicas.
  const isEven = expected.every(([, w]) => Math.abs(w - even) < 1e-9);
  const alternative = isEven ? names.map((n, i) => [n, i === 0 ? 100 : 0] as const) : names.map((n) => [n, even] as const);
  const shares = (split: ReadonlyArray<readonly [string, number]>): number[] => split.map(([, w]) => w / 100);
  const size = ctx.sized(goodnessOfFitSampleSize(shares(expected), shares(alternative), ctx.options.confidence), 50);
  const list = (split: ReadonlyArray<readonly [string, number]>): string => `[${split.map(([n, w]) => `${n} ${trimNumber(w)}%`).join(', ')}]`;
  const expect: string[] = [];
  // x-version needs meshload servers started with -version-tag = the subset name.
  if (ctx.options.backend === 'meshload') expect.push(`versions ~ ${list(expected)} vs ${list(alternative)}${ctx.at}`);
  if (ctx.envoy) expect.push(`subsets ~ ${list(expected)} vs ${list(alternative)}${ctx.at}`);
  if (expect.length === 0) {
    ctx.skip('weights', subject, 'a weighted route', 'HAProxy with httpbin shows no per-subset evidence: use meshload servers started with -version-tag');
    return;
  }
  const model = `weights ${list(expected)}: each call goes to a subset with that probability${isEven ? '; an even split is also what no route gives, so the check can only rule out all traffic to one subset' : `, not evenly ${list(alternative)} as without the route`}.`;
  ctx.add('weights', subject, model, [
    {
      name: 'traffic split',
      description: `Per-subset shares${ctx.options.backend === 'meshload' ? ' (x-version of the responses: start each subset\'s meshload server with -version-tag NAME)' : ''}${ctx.envoy ? " and the proxy's per-subset clusters" : ''} against the weights, by chi-square. ${size.why}.`,
      load: { connections: ctx.connections(4), requests: size.requests },
      expect,
    },
  ]);
}

// ---------------------------------------------------------------------------------------------

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function shortHost(host: string): string {
  return host.split('.')[0] as string;
}

function minDefined(...values: Array<number | undefined>): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : Math.min(...defined);
}

/** The client's own timeout: well past anything the proxy should answer within. */
function clientTimeout(ms: number): number {
  return Math.ceil((ms + 2000) / 1000) * 1000;
}

function pct(fraction: number): string {
  return `${trimNumber(fraction * 100)}%`;
}

function trimNumber(n: number): string {
  return String(Number(n.toFixed(4)));
}
