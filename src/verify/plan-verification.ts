/** Works out what a DestinationRule and VirtualService promise and writes the scenario that would
 * show it: one or two phases per policy, each with checks whose failure means "does not behave
 * as configured". Rates that vary from run to run are checked with `~` (a Wilson interval or a
 * chi-square fit against the value an unconfigured mesh would give), and each phase's request
 * count is the smallest that tells the two apart at the chosen confidence. Pure: the result is
 * plain data that `meshload verify --dry-run` prints as YAML and `meshload verify` runs.
 * Facts: ../shared/MESH-FACTS.md "How Istio config maps to Envoy". */
import { formatDuration } from '../util/duration';
import { goodnessOfFitSampleSize, proportionSampleSize } from '../metrics/statistics';
import { confidenceSuffix, formatConfidence } from '../scenario/expectation';
import { usageError } from '../util/errors';
import { formatNote } from './istio-manifests';
import type { ConnectionPool, DestinationRule, HttpRoute, IstioPolicies, OutlierDetection, VirtualService } from './istio-policy';

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
}

/** A fault the backend can be asked for, or why it cannot. */
type FaultUrl = { url: string; reason?: undefined } | { url?: undefined; reason: string };

/** Echo servers cap delay= at -max-echo-delay, 1.5s by default (meshload and Fortio alike). */
const ECHO_DEFAULT_MAX_DELAY_MS = 1500;
/** httpbin's /delay/{n} stops at 10 seconds. */
const HTTPBIN_MAX_DELAY_MS = 10_000;

/** The failure probability the retry phases ask of the upstream (Istio's docs use 50%). */
const RETRY_FAULT = 0.5;
/** Istio's mesh default when a route has no retries block. */
const DEFAULT_ATTEMPTS = 2;
/** retryOn values that retry an app's 503 (Istio's default does not). */
const RETRY_ON_503 = ['5xx', 'gateway-error', '503', 'retriable-status-codes'];
/** One generator's reasonable connection count; a limit above it needs several generators. */
const MAX_CONNECTIONS = 200;
/** The upstream holds each call this long in breaker phases, so concurrency is real. */
const BREAKER_DELAY_MS = 50;
/** Why no phase asks an unidentified server for a fault. */
const UNKNOWN_BACKEND = "the target's server was not identified as a meshload server, Fortio or httpbin, so no upstream fault is asked of it (pass --backend if it is one)";

/** The one service the manifests configure; a usage error for none or several (checked before
 * the target is probed, so bad input costs no request). */
export function verifiedHost(policies: IstioPolicies): string {
  const hosts = new Set([...policies.destinationRules.map((d) => shortHost(d.host)), ...policies.virtualServices.flatMap((v) => v.hosts.map(shortHost))]);
  if (hosts.size === 0) throw usageError('the files hold no DestinationRule or VirtualService', 'pass the manifests with -f dr.yaml -f vs.yaml');
  if (hosts.size > 1) {
    throw usageError(`the files configure ${[...hosts].join(', ')}: verify one service at a time`, 'pass -f with the manifests of one host, and its URL');
  }
  return [...hosts][0] as string;
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
  // A breaker in the DestinationRule limits every phase, not only its own: the other policies'
  // phases stay at or under its concurrency, or their 503s would be overflow, not their policy.
  const pools = policies.destinationRules.map((d) => d.trafficPolicy?.connectionPool).filter((p): p is ConnectionPool => p !== undefined);
  const ctx = new PlanContext(options, minDefined(...pools.flatMap((p) => [p.maxConnections, p.http2MaxRequests])));
  for (const dr of policies.destinationRules) planDestinationRule(ctx, dr);
  for (const vs of policies.virtualServices) planVirtualService(ctx, vs, policies.destinationRules);
  const notes = policies.notes.map(formatNote);
  const sidecar = { cluster: host, ...options.sidecar };
  return {
    scenario: {
      name: `verify ${host}`,
      description: `Derived by meshload verify from ${[...new Set([...policies.destinationRules, ...policies.virtualServices].map((r) => r.origin.file))].join(', ')} at ${formatConfidence(options.confidence)} confidence.`,
      target: options.target,
      sidecar,
      defaults: { qps: 0, allowInitialErrors: true },
      phases: ctx.phases,
      ...(ctx.always.length > 0 ? { always: ctx.always } : {}),
    },
    policies: ctx.policies,
    notes,
    refusedDelayMs: ctx.refusedDelayMs,
  };
}

class PlanContext {
  readonly phases: PlannedPhase[] = [];
  readonly policies: PlannedPolicy[] = [];
  readonly always: Array<Record<string, unknown>> = [];
  refusedDelayMs = 0;

  constructor(
    readonly options: VerifyOptions,
    /** At most this many calls in flight outside the breaker's own phases. */
    readonly concurrencyLimit: number | undefined,
  ) {}

  /** `wanted` connections, within the DestinationRule's limits. */
  connections(wanted: number): number {
    return Math.max(1, Math.min(wanted, this.concurrencyLimit ?? wanted));
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

  add(policy: PolicyKind, subject: string, model: string, phases: PlannedPhase[], unshown: string[] = []): void {
    const named = phases.map((p) => ({ ...p, name: `${policy}: ${p.name}` }));
    this.phases.push(...named);
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
  const outlier = dr.trafficPolicy?.outlierDetection;
  if (outlier !== undefined) planOutlierDetection(ctx, subject, outlier);
  for (const subset of dr.subsets) {
    if (subset.trafficPolicy !== undefined) {
      ctx.skip('connectionPool', `${subject} subset ${subset.name}`, 'a subset-level traffic policy', 'subset-level traffic policies are not verified yet: load the subset through a route to it and check by hand');
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
  const under = Math.max(1, minDefined(c, r) ?? 1);
  // The upstream holds each call so that concurrency is real; a backend that cannot hold gets
  // the plain target and the text does not claim a hold.
  const delayed = ctx.fault({ delayMs: BREAKER_DELAY_MS });
  const target = delayed.url ?? ctx.options.target;
  const hold = delayed.url !== undefined ? ` and the upstream holds each call ${BREAKER_DELAY_MS}ms` : '';
  const underPhase: PlannedPhase = {
    name: `under the limit (${plural(under, 'connection')})`,
    description: `${plural(under, 'connection')} keep${under === 1 ? 's' : ''} at most ${plural(under, 'call')} in flight${hold}: within ${limits.join(', ')} nothing waits for a connection, so nothing is rejected. Deterministic: one rejection fails it.`,
    load: { connections: under, requests: Math.max(20, 10 * under), url: target },
    expect: ['cause(breaker) == 0', 'breaker.rejected == 0'],
  };
  if (rejectAt === undefined) {
    // Only maxConnections: on HTTP/1.1 requests queue without bound (MESH-FACTS): no 503s.
    const over = Math.min(MAX_CONNECTIONS, 3 * (c ?? 1));
    const expect = ['cause(breaker) == 0'];
    if (ctx.envoy) expect.push('breaker.connection > 0');
    ctx.add('connectionPool', subject, `maxConnections ${c ?? ''} without a pending limit: extra requests queue (upstream_cx_overflow counts them), none is rejected.`, [
      underPhase,
      {
        name: `over the connection limit (${over} connections)`,
        description: `${over} connections against maxConnections ${c ?? ''}: requests wait for a connection; without http1MaxPendingRequests the queue is unbounded, so no 503 is expected${ctx.envoy ? ', and the connection breaker counts the waits' : ''}.`,
        load: { connections: over, requests: Math.max(30, 10 * over), url: target },
        expect,
      },
    ]);
    return;
  }
  const over = 3 * rejectAt;
  if (over > MAX_CONNECTIONS) {
    ctx.skip('connectionPool', subject, `rejections above ${rejectAt} calls in flight`, `the limit ${rejectAt} is too high to exceed from one generator (${MAX_CONNECTIONS} connections): fan out with several client pods`);
    return;
  }
  const expect = ['breaker.rejected > 0', 'cause(breaker) > 0', 'agree(breaker)'];
  ctx.add(
    'connectionPool',
    subject,
    `${limits.join(', ')}: at most ${rejectAt} calls in flight (connections + pending${r === undefined ? '' : ', or active requests'}); more are rejected with 503 overflow.`,
    [
      underPhase,
      {
        name: `over the limit (${over} connections)`,
        description: `${over} connections, three times the ${rejectAt} calls the limits let in${hold}: calls beyond it are rejected with 503 marked as overflow, and the proxy's overflow counter moves by as many.`,
        load: { connections: over, requests: Math.max(30, 10 * over), url: target },
        expect,
      },
    ],
  );
}

function planOutlierDetection(ctx: PlanContext, subject: string, outlier: OutlierDetection): void {
  const consecutive = outlier.consecutive5xxErrors ?? outlier.consecutiveGatewayErrors;
  const which = outlier.consecutive5xxErrors !== undefined ? 'consecutive5xxErrors' : 'consecutiveGatewayErrors';
  if (consecutive === undefined || consecutive === 0) {
    ctx.skip('outlierDetection', subject, 'outlier detection without a consecutive-error threshold', `${which} is 0 or unset: nothing ejects on errors`);
    return;
  }
  const model = `${which} ${consecutive}: an endpoint answering ${consecutive} errors in a row is ejected, and traffic leaves it for the others.`;
  const admin = ctx.options.ejectAdmin;
  if (admin === undefined) {
    ctx.skip('outlierDetection', subject, model, "needs one failing endpoint: pass --eject-admin with that endpoint's meshload server admin URL (it is told to answer 503)");
    return;
  }
  const calls = Math.max(50, 20 * consecutive);
  ctx.add('outlierDetection', subject, model, [
    {
      name: 'one endpoint fails',
      description: `The endpoint behind ${admin} answers 503 to everything; after ${consecutive} in a row the proxy ejects it.`,
      steps: [{ chaos: { set: 'status=503', admin } }],
      load: { connections: 1, requests: calls },
      expect: ['ejections.enforced > 0'],
    },
    {
      name: 'traffic left it',
      description: 'Still inside the ejection time: the failing endpoint gets no traffic, so no call fails.',
      load: { connections: 1, requests: calls },
      expect: ['status(503) == 0'],
    },
  ]);
  ctx.always.push({ chaos: { clear: true, admin } });
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
  const covered = attempts > 0 && retryOn !== undefined && retryOn.some((r) => RETRY_ON_503.includes(r));
  const p = RETRY_FAULT;
  const expected = covered ? p ** (attempts + 1) : p;
  const alternative = covered ? p : p ** (Math.max(attempts, DEFAULT_ATTEMPTS) + 1);
  const written = `attempts ${attempts}, retryOn ${retryOn?.join(',') ?? '(default: connect-failure,refused-stream,unavailable,cancelled)'}`;
  const model = covered
    ? `${written}: a call fails only when all ${attempts + 1} tries fail, so with each try failing at ${pct(p)} about ${pct(expected)} of calls fail, not ${pct(p)}.`
    : `${written}: an app's 503 is ${attempts === 0 ? 'never retried (attempts 0)' : 'not retried (retryOn does not name 5xx, gateway-error or 503)'}, so about ${pct(p)} of calls fail, not ${pct(alternative)}.`;
  const size = ctx.sized(proportionSampleSize(expected, alternative, ctx.options.confidence), 20);
  const maxRetries = rules.map((d) => d.trafficPolicy?.connectionPool?.maxRetries).find((m) => m !== undefined);
  // Concurrent retries beyond maxRetries overflow the retry breaker: stay under it.
  const connections = ctx.connections(maxRetries === undefined ? 2 : Math.max(1, Math.min(2, maxRetries)));
  const expect = [`status(503) ~ ${pct(expected)} vs ${pct(alternative)}${ctx.at}`, covered ? 'retries.attempted > 0' : 'retries.attempted == 0'];
  if (ctx.envoy && ctx.options.backend === 'meshload' && covered) expect.push('agree(retries)');
  const failing = ctx.fault({ status: 503, statusShare: p });
  if (failing.url === undefined) {
    ctx.skip('retries', subject, model, failing.reason);
    return;
  }
  const phases: PlannedPhase[] = [
    {
      name: `each try fails at ${pct(p)}`,
      description: `The upstream answers 503 to ${pct(p)} of tries. ${size.why}.`,
      load: { connections, requests: size.requests, url: failing.url },
      expect,
    },
  ];
  const unshown: string[] = [];
  const perTry = retries.perTryTimeoutMs;
  if (perTry !== undefined && covered && ctx.envoy) {
    const routeTimeout = route.timeoutMs;
    // Slower than perTryTimeout by a margin the proxy's timer cannot blur.
    const margin = Math.max(perTry / 10, 50);
    const slow = ctx.delayOver(perTry, perTry + Math.max(perTry / 2, 100), margin);
    if (slow.delayMs === undefined) {
      unshown.push(`perTryTimeout ${formatDuration(perTry)}: ${slow.reason}`);
    } else {
      const delay = slow.delayMs;
      phases.push({
        name: 'every try is too slow',
        description: `The upstream takes ${formatDuration(delay)}, over perTryTimeout ${formatDuration(perTry)}: each try times out and is retried, and the call ends in 504${routeTimeout === undefined ? '' : ` (or the route timeout ${formatDuration(routeTimeout)} ends it first)`}.`,
        load: { connections: ctx.connections(2), requests: 4, url: slow.url, timeout: formatDuration(clientTimeout((attempts + 1) * delay)) },
        expect: ['status(504) == 100%', 'timeouts.per_try > 0', `min >= ${formatDuration(Math.min(perTry, routeTimeout ?? perTry))}`],
      });
    }
  }
  ctx.add('retries', subject, model, phases, unshown);
}

function planTimeout(ctx: PlanContext, subject: string, route: HttpRoute): void {
  const t = route.timeoutMs as number;
  if (t === 0) {
    ctx.skip('timeout', subject, 'timeout 0s', 'timeout 0s disables the route timeout: nothing to show');
    return;
  }
  const perTry = route.retries?.perTryTimeoutMs;
  const fast = Math.min(t, perTry ?? t) / 2;
  const connections = ctx.connections(4);
  const model = `timeout ${formatDuration(t)}: an upstream slower than that is cut off with 504 "upstream request timeout" at about ${formatDuration(t)}; a faster one answers normally.`;
  const slowDelay = ctx.delayOver(t, t + Math.max(t / 2, 200), Math.max(t / 10, 100));
  const fastUrl = ctx.fault({ delayMs: fast });
  if (slowDelay.url === undefined || fastUrl.url === undefined) {
    ctx.skip('timeout', subject, model, slowDelay.reason ?? fastUrl.reason ?? '');
    return;
  }
  const slow = slowDelay.delayMs;
  // The proxy's timer fires at T and the answer reaches the client a little later, well before
  // the upstream's own answer would.
  const slack = (slow - t) / 2;
  ctx.add('timeout', subject, model, [
    {
      name: `upstream slower than ${formatDuration(t)}`,
      description: `The upstream takes ${formatDuration(slow)}: every call ends in 504 after about ${formatDuration(t)}. Deterministic.`,
      load: { connections, requests: 2 * connections, url: slowDelay.url, timeout: formatDuration(clientTimeout(slow)) },
      expect: ['status(504) == 100%', 'cause(timeout) == 100%', `p(50) in [${formatDuration(t * 0.95)}, ${formatDuration(t + slack)}]`, 'timeouts.route > 0'],
    },
    {
      name: `upstream faster than ${formatDuration(t)}`,
      description: `The upstream takes ${formatDuration(fast)}: every call answers 200. Deterministic.`,
      load: { connections, requests: 2 * connections, url: fastUrl.url, timeout: formatDuration(clientTimeout(slow)) },
      expect: ['status(200) == 100%', 'timeouts.route == 0'],
    },
  ]);
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
