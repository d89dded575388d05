/** `meshload verify` against a gRPC target (a grpc:// URL or --grpc): the route's
 * `fault.abort` (grpcStatus, or an httpStatus Envoy turns into a gRPC status) and its `retryOn`
 * gRPC conditions, planned as phases that load with `grpc:` and check `grpc(STATUS)` shares.
 * The failures a retry phase needs come from the meshload gRPC server, asked per call by
 * metadata (`x-meshload-grpc-status: 14:50`): each try draws again. Other policies are verified
 * over HTTP and are skipped here with that reason. Pure, as plan-verification.ts.
 * Facts: ../shared/MESH-FACTS.md "gRPC through Envoy". */
import { GRPC_STATUS_CONSTANTS, grpcStatusFromHttp } from '../grpc/grpc-status';
import { proportionSampleSize } from '../metrics/statistics';
import { confidenceSuffix, formatConfidence } from '../checks';
import { formatNote, type HttpRoute, type IstioPolicies, type Retries } from './istio-policy';
import { formatVersion } from './istio-version';
import type { PlannedPhase, PlannedPolicy, PolicyKind, VerificationPlan, VerifyOptions } from './plan-types';

/** Where each gRPC rule comes from (rows of docs/verify-rules.md, section "gRPC targets"). */
export const GRPC_RULES = {
  'grpc.target': 'meshload (issue 16): a grpc:// URL or --grpc makes every phase a gRPC load',
  'grpc.abort-status': 'istio/api networking/v1alpha3/virtual_service.proto HTTPFaultInjection.Abort.grpc_status; istio/istio pilot/pkg/networking/core/route/route.go:1417-1423',
  'grpc.http-abort': 'MESH-FACTS "gRPC through Envoy": a local reply to a gRPC call is trailers-only with the HTTP status mapped (503 -> UNAVAILABLE)',
  'grpc.retry-on': 'Envoy router x-envoy-retry-grpc-on (cancelled, deadline-exceeded, internal, resource-exhausted, unavailable); istio/api virtual_service.proto HTTPRetry.retry_on',
  'grpc.default-retry-on': 'istio/istio pilot/pkg/networking/core/route/retry/retry.go:37 defaultRetryOn (unavailable, cancelled) and 2 attempts',
  'grpc.http-only': 'meshload (issue 16): breakers, timeouts, weights, delays and outlier detection are planned over HTTP',
  'grpc.outlier': 'envoy source/common/router/router.cc Filter::onUpstreamHeaders: outlierDetector().putHttpResponseCode(Grpc::Utility::grpcToHttpStatus(grpc_status))',
} as const;

export type GrpcRule = keyof typeof GRPC_RULES;

/** Envoy's gRPC retry conditions (x-envoy-retry-grpc-on) and the status each retries. */
export const GRPC_RETRY_CONDITIONS: Readonly<Record<string, number>> = {
  cancelled: 1,
  'deadline-exceeded': 4,
  'resource-exhausted': 8,
  internal: 13,
  unavailable: 14,
};

/** Istio's retryOn without one (retry.go:37): its gRPC conditions. */
const DEFAULT_GRPC_RETRY_ON = ['unavailable', 'cancelled'];
const DEFAULT_ATTEMPTS = 2;
/** The per-try failure share a retry phase asks of the server. */
const RETRY_FAULT = 0.5;
/** Prefer a condition Istio's default does not retry: then a mesh without the block looks different. */
const CONDITION_ORDER = ['deadline-exceeded', 'resource-exhausted', 'internal', 'unavailable', 'cancelled'];
/** Codes Envoy's outlier detector does not count (it sees grpcToHttpStatus: RESOURCE_EXHAUSTED
 * 429, CANCELLED 499, neither 5xx nor a gateway error): the only ones a retry phase may fail
 * tries with while outlier detection is in force. */
const OUTLIER_SAFE = ['resource-exhausted', 'cancelled'];

/** True when the target is gRPC: the grpc:// scheme, or the flag. */
export function isGrpcTarget(target: string, flag: boolean | undefined): boolean {
  return flag === true || /^grpc:\/\//i.test(target);
}

/** The scenario's target for a gRPC destination: grpc://host:port is h2c, http://host:port. */
export function grpcScenarioTarget(target: string): string {
  return target.replace(/^grpc:\/\//i, 'http://');
}

/** The plan for a gRPC target: the first route without match conditions (the one the load takes). */
export function draftGrpcVerification(policies: IstioPolicies, options: VerifyOptions, host: string): VerificationPlan {
  const plan = new GrpcPlan(options);
  plan.rules.add('grpc.target');
  const outlier = policies.destinationRules.find((d) => d.trafficPolicy?.outlierDetection !== undefined || d.subsets.some((s) => s.trafficPolicy?.outlierDetection !== undefined));
  for (const dr of policies.destinationRules) {
    const tp = dr.trafficPolicy;
    if (tp?.connectionPool !== undefined) plan.httpOnly('connectionPool', `DestinationRule ${dr.origin.name}`);
    if (tp?.outlierDetection !== undefined) plan.httpOnly('outlierDetection', `DestinationRule ${dr.origin.name}`);
  }
  for (const vs of policies.virtualServices) {
    const route = vs.http.find((r) => !r.hasMatch);
    if (route === undefined) continue;
    const subject = `VirtualService ${vs.origin.name} ${route.name}`;
    planGrpcAbort(plan, subject, route);
    if (route.retries !== undefined) planGrpcRetries(plan, subject, route, route.retries, outlier === undefined ? undefined : `DestinationRule ${outlier.origin.name}`);
    if (route.timeoutMs !== undefined) plan.httpOnly('timeout', subject);
    if (route.destinations.length > 1) plan.httpOnly('weights', subject);
    if (route.faultDelay !== undefined) plan.httpOnly('fault', `${subject} (delay)`);
  }
  const files = [...new Set([...policies.destinationRules, ...policies.virtualServices].map((r) => r.origin.file))];
  return {
    scenario: {
      name: `verify ${host} (gRPC)`,
      description: `Derived by meshload verify from ${files.join(', ')} for a gRPC target at ${formatConfidence(options.confidence)} confidence. Istio version: ${formatVersion(options.istioVersion)}.`,
      target: grpcScenarioTarget(options.target),
      sidecar: { cluster: host, ...options.sidecar },
      defaults: { qps: 0, allowInitialErrors: true },
      phases: plan.phases,
    },
    policies: plan.policies,
    notes: policies.notes.map(formatNote),
    refusedDelayMs: 0,
    // No breaker phase is planned against a gRPC target, so nothing scales with the proxies.
    clientProxies: Math.max(1, Math.floor(options.clientProxies ?? 1)),
    assumptions: [],
    rules: [...plan.rules].sort(),
  };
}

class GrpcPlan {
  readonly phases: PlannedPhase[] = [];
  readonly policies: PlannedPolicy[] = [];
  readonly rules = new Set<GrpcRule>();

  constructor(readonly options: VerifyOptions) {}

  get at(): string {
    return confidenceSuffix(this.options.confidence);
  }

  /** The call every phase makes: Ping on a meshload (or Fortio) server, else the health check. */
  get call(): Record<string, unknown> {
    return this.options.backend === 'meshload' || this.options.backend === 'fortio' ? { call: 'ping' } : {};
  }

  httpOnly(policy: PolicyKind, subject: string): void {
    this.rules.add('grpc.http-only');
    this.skip(policy, subject, 'planned over HTTP', 'verified over HTTP only: run verify against the service\'s HTTP port without --grpc for this policy');
  }

  skip(policy: PolicyKind, subject: string, model: string, reason: string): void {
    this.policies.push({ policy, subject, phases: [], model, skipped: reason });
  }

  add(policy: PolicyKind, subject: string, model: string, phase: PlannedPhase, unshown: string[] = []): void {
    const named = { ...phase, name: `${policy}: ${phase.name}` };
    this.phases.push(named);
    this.policies.push({ policy, subject, phases: [named.name], model, skipped: undefined, ...(unshown.length > 0 ? { unshown } : {}) });
  }

  /** Calls for a share check, within --max-requests. */
  sized(expected: number, alternative: number): { requests: number; why: string } {
    const needed = Math.max(20, Math.ceil(proportionSampleSize(expected, alternative, this.options.confidence) / 10) * 10);
    if (needed > this.options.maxRequests) {
      return { requests: this.options.maxRequests, why: `${needed} calls would decide at ${formatConfidence(this.options.confidence)}; capped by --max-requests ${this.options.maxRequests}, so the verdict may be inconclusive` };
    }
    return { requests: needed, why: `${needed} calls: the fewest that tell the two apart at ${formatConfidence(this.options.confidence)} confidence` };
  }
}

function planGrpcAbort(plan: GrpcPlan, subject: string, route: HttpRoute): void {
  let code: number;
  let percent: number | undefined;
  let written: string;
  if (route.faultAbortGrpc !== undefined) {
    // rule: 'grpc.abort-status': Envoy's fault filter answers with this grpc-status itself.
    plan.rules.add('grpc.abort-status');
    code = route.faultAbortGrpc.grpcStatus;
    percent = route.faultAbortGrpc.percent;
    written = `abort grpcStatus ${route.faultAbortGrpc.name}`;
  } else if (route.faultAbort !== undefined) {
    // rule: 'grpc.http-abort': an httpStatus abort of a gRPC call reaches the client as its gRPC status.
    plan.rules.add('grpc.http-abort');
    code = grpcStatusFromHttp(route.faultAbort.httpStatus);
    percent = route.faultAbort.percent;
    written = `abort httpStatus ${route.faultAbort.httpStatus} (a gRPC client sees ${GRPC_STATUS_CONSTANTS[code] ?? code})`;
  } else return;
  if ((percent ?? 0) <= 0) {
    plan.skip('fault', subject, `${written} without a percentage`, 'an abort without percentage injects nothing (Istio)');
    return;
  }
  const share = (percent as number) / 100;
  const name = GRPC_STATUS_CONSTANTS[code] ?? String(code);
  const size = plan.sized(share, 0);
  const model = `fault injection at the client sidecar: ${pct(share)} of gRPC calls end with ${name} (HTTP 200 on the wire); the rest pass through.`;
  plan.add('fault', subject, model, {
    name: 'injected gRPC aborts',
    description: `${written} at ${pct(share)}: the share of calls ending ${name} must match, and rule out no injection. ${size.why}.`,
    load: { connections: 4, requests: size.requests, grpc: plan.call },
    // Envoy's local reply keeps "fault filter abort" in grpc-message (MESH-FACTS "gRPC through Envoy").
    expect: [`grpc(${name}) ~ ${pct(share)} vs 0%${plan.at}`, ...(plan.options.proxy === 'envoy' ? [`cause(fault) ~ ${pct(share)} vs 0%${plan.at}`] : [])],
  });
}

/** `outlier`: the DestinationRule whose outlier detection would count the phase's failed tries. */
function planGrpcRetries(plan: GrpcPlan, subject: string, route: HttpRoute, retries: Retries, outlier: string | undefined): void {
  // rule: 'grpc.retry-on': Envoy retries a gRPC call on these grpc-status values (trailers-only).
  plan.rules.add('grpc.retry-on');
  const attempts = retries.attempts;
  let retryOn = retries.retryOn;
  if (retryOn === undefined) {
    // rule: 'grpc.default-retry-on'
    plan.rules.add('grpc.default-retry-on');
    retryOn = DEFAULT_GRPC_RETRY_ON;
  }
  const named = retryOn.filter((r) => r in GRPC_RETRY_CONDITIONS);
  const written = `attempts ${attempts}, retryOn ${retries.retryOn?.join(',') ?? '(default: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes)'}`;
  if (route.faultAbort !== undefined || route.faultAbortGrpc !== undefined) {
    plan.skip('retries', subject, written, "the route's fault aborts are mixed into the failures (Envoy does not retry them): verify retries on a route without abort faults");
    return;
  }
  if (plan.options.backend !== 'meshload') {
    plan.skip('retries', subject, written, 'needs the meshload gRPC server upstream (per-call x-meshload-grpc-status chaos): pass --backend meshload if it is one');
    return;
  }
  // A retried condition when there is one (Istio's default's last); when none is retried,
  // UNAVAILABLE, which a mesh without the block (the default retryOn) would retry: told apart.
  // rule: 'grpc.outlier': Envoy's outlier detector counts a gRPC status as its HTTP mapping (14 ->
  // 503): with detection in force, only codes it does not count may fail tries, or endpoints eject.
  const allowed = outlier === undefined ? CONDITION_ORDER : OUTLIER_SAFE;
  if (outlier !== undefined) plan.rules.add('grpc.outlier');
  const condition = attempts > 0 ? allowed.find((c) => named.includes(c)) : undefined;
  if (condition === undefined && attempts > 0 && named.length > 0) {
    plan.skip('retries', subject, written, `${outlier ?? ''} has outlier detection, which counts the ${named.join(', ')} failures this route retries as 5xx (Envoy maps grpc-status 14 to 503, 4 to 504, 13 to 500), so failing tries would eject endpoints: verify retries over HTTP, which keeps under the threshold, or with resource-exhausted or cancelled in retryOn`);
    return;
  }
  const injected = condition ?? (outlier === undefined ? 'unavailable' : 'cancelled');
  const code = GRPC_RETRY_CONDITIONS[injected] as number;
  const name = GRPC_STATUS_CONSTANTS[code] ?? String(code);
  const tries = condition === undefined ? 1 : attempts + 1;
  // A mesh without this block: Istio's default policy retries unavailable and cancelled twice.
  const triesWithout = DEFAULT_GRPC_RETRY_ON.includes(injected) ? DEFAULT_ATTEMPTS + 1 : 1;
  const unshown: string[] = [];
  let altTries = triesWithout;
  if (tries === triesWithout) {
    unshown.push(`a mesh without this retries block ${triesWithout === 1 ? `does not retry ${name} either` : `retries ${name} ${DEFAULT_ATTEMPTS} times too`} (Istio's default retryOn has unavailable and cancelled), so the ${name} share cannot tell whether the block is in force`);
    altTries = tries === 1 ? DEFAULT_ATTEMPTS + 1 : 1;
  }
  const p = RETRY_FAULT;
  const expected = p ** tries;
  const alternative = p ** altTries;
  const size = plan.sized(expected, alternative);
  const model =
    condition === undefined
      ? `${written}: a gRPC ${name} is not retried, so about ${pct(expected)} of calls end ${name}, not ${pct(alternative)}.`
      : `${written}: a call ends ${name} only when all ${tries} tries do, so with each try failing at ${pct(p)} about ${pct(expected)} of calls end ${name}, not ${pct(alternative)}.`;
  const expect = [`grpc(${name}) ~ ${pct(expected)} vs ${pct(alternative)}${plan.at}`, condition === undefined ? 'retries.attempted == 0' : 'retries.attempted > 0'];
  plan.add(
    'retries',
    subject,
    model,
    {
      name: `each try ends ${name} at ${pct(p)}`,
      description: `The meshload gRPC server answers ${name} to ${pct(p)} of tries (per-call metadata, drawn again at each try). ${size.why}.`,
      load: { connections: 2, requests: size.requests, headers: { 'x-meshload-grpc-status': `${code}:${trim(p * 100)}` }, grpc: plan.call },
      expect,
    },
    unshown,
  );
}

function pct(fraction: number): string {
  return `${trim(fraction * 100)}%`;
}

function trim(n: number): string {
  return String(Number(n.toPrecision(4)));
}
