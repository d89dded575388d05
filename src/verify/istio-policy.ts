/** The part of Istio's DestinationRule and VirtualService that `meshload verify` understands,
 * as plain data. Durations are milliseconds; an unset field is undefined (never Istio's default
 * filled in: the planner decides what a default means, see MESH-FACTS "How Istio config maps to
 * Envoy"). Produced by `./istio-manifests.ts`. */

/** Where a value came from, for messages: `dr.yaml: DestinationRule httpbin`. */
export interface Origin {
  file: string;
  kind: 'DestinationRule' | 'VirtualService';
  name: string;
  namespace: string | undefined;
}

export interface ConnectionPool {
  /** tcp.maxConnections (0 in the manifest = unset = undefined here). */
  maxConnections: number | undefined;
  /** http.http1MaxPendingRequests. */
  http1MaxPendingRequests: number | undefined;
  /** http.http2MaxRequests. */
  http2MaxRequests: number | undefined;
  /** http.maxRetries (the retry breaker). */
  maxRetries: number | undefined;
  /** http.maxRequestsPerConnection: not a breaker; 1 turns keep-alive off. */
  maxRequestsPerConnection: number | undefined;
}

export interface OutlierDetection {
  consecutive5xxErrors: number | undefined;
  consecutiveGatewayErrors: number | undefined;
  intervalMs: number | undefined;
  baseEjectionTimeMs: number | undefined;
  maxEjectionPercent: number | undefined;
  // Read for the outlier model (./outlier-model.ts), which names them in the plan.
  /** The deprecated field, as written: current Istio ignores it (the model says so). */
  consecutiveErrors?: number | undefined;
  /** Istio's healthy_panic_threshold. */
  minHealthPercent?: number | undefined;
  splitExternalLocalOriginErrors?: boolean | undefined;
  consecutiveLocalOriginFailures?: number | undefined;
}

export interface TrafficPolicy {
  connectionPool: ConnectionPool | undefined;
  outlierDetection: OutlierDetection | undefined;
}

export interface Subset {
  name: string;
  labels: Record<string, string>;
  trafficPolicy: TrafficPolicy | undefined;
}

export interface DestinationRule {
  origin: Origin;
  /** spec.host as written: `httpbin`, `httpbin.default.svc.cluster.local`. */
  host: string;
  trafficPolicy: TrafficPolicy | undefined;
  subsets: Subset[];
}

export interface RouteDestination {
  host: string;
  subset: string | undefined;
  port: number | undefined;
  /** Percent; undefined when the route has one destination without a weight (= 100). */
  weight: number | undefined;
}

export interface Retries {
  /** 0 disables retries. */
  attempts: number;
  perTryTimeoutMs: number | undefined;
  /** retryOn split on commas, trimmed; undefined = Istio's default. */
  retryOn: string[] | undefined;
}

export interface FaultDelay {
  fixedDelayMs: number;
  /** percentage.value (or the deprecated integer `percent`); undefined = nothing injected. */
  percent: number | undefined;
}

export interface FaultAbort {
  httpStatus: number;
  percent: number | undefined;
}

/** fault.abort.grpcStatus: planned only against a gRPC target (src/verify/grpc-plan.ts). */
export interface GrpcFaultAbort {
  /** The code (0-16) of the name as written. */
  grpcStatus: number;
  /** As written: UNAVAILABLE. */
  name: string;
  percent: number | undefined;
}

export interface HttpRoute {
  /** http[i].name, or `http[i]` when unnamed. */
  name: string;
  /** Index in the VirtualService's http list. */
  index: number;
  /** true when the route has `match` conditions: traffic that does not match goes elsewhere. */
  hasMatch: boolean;
  destinations: RouteDestination[];
  timeoutMs: number | undefined;
  /** undefined: no retries block (the mesh default applies: 2 attempts, default retryOn). */
  retries: Retries | undefined;
  faultDelay: FaultDelay | undefined;
  faultAbort: FaultAbort | undefined;
  /** fault.abort.grpcStatus; absent when the abort has none. */
  faultAbortGrpc?: GrpcFaultAbort;
}

export interface VirtualService {
  origin: Origin;
  hosts: string[];
  http: HttpRoute[];
}

/** A field meshload read but cannot verify, or does not know: listed to the user, never ignored
 * silently. `path` as in the file: `spec.trafficPolicy.loadBalancer`. */
export interface PolicyNote {
  origin: Origin | { file: string; kind: string; name: string; namespace: string | undefined };
  path: string;
  message: string;
}

export interface IstioPolicies {
  destinationRules: DestinationRule[];
  virtualServices: VirtualService[];
  /** Unsupported or unknown fields, and documents of other kinds that were skipped. */
  notes: PolicyNote[];
}

/** One line for a note: `dr.yaml: DestinationRule httpbin: spec.trafficPolicy.tls: not verified by meshload`. */
export function formatNote(note: PolicyNote): string {
  const who = `${note.origin.kind} ${note.origin.name}`;
  return note.path === '' ? `${note.origin.file}: ${who}: ${note.message}` : `${note.origin.file}: ${who}: ${note.path}: ${note.message}`;
}
