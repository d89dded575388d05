/** The planner's plain data: what it is asked (VerifyOptions) and what it writes (the plan, its
 * phases and policies). Apart so the phase builders, the gRPC planner and the field accounting
 * share them without importing the planner itself. */
import type { IstioVersion } from './istio-version';
import type { EndpointCount } from './endpoint-count';

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

