/** What the proxy did during a run, as a result carries it (`sidecar`): per-cluster deltas, the
 * proxy-neutral resilience view, agreement checks and diagnostics. Types only; stats/ builds it. */

export type StatsFormat = 'envoy-text' | 'envoy-json' | 'prometheus';

export type ProxyKind = 'envoy' | 'haproxy';

type Count = number | undefined;

export interface ResilienceView {
  kind: ProxyKind;
  /** Requests the proxy sent to an upstream server, every retry attempt included. */
  requestsSent: Count;
  /** Requests the proxy refused instead of sending (circuit breakers, queue limits). */
  breakerRejections: { pending: Count; active: Count; connection: Count };
  retries: { attempted: Count; succeeded: Count; overflowed: Count; limitExceeded: Count };
  timeouts: { route: Count; perTry: Count };
  /** 5xx the client got (`final`, the proxy's own 503/504 included) and 5xx that were retried. */
  upstream5xx: { final: Count; retried: Count };
  connectFailures: Count;
  /** `active` is the most hosts ejected at once during the run (a gauge's maximum). */
  ejections: { enforced: Count; active: Count };
  faults: { aborts: Count; delays: Count };
  /** Maxima of the breaker gauges (1 while at the limit): a momentary signal, sampled in-run. */
  breakerOpen: { cx: Count; rqPending: Count; rq: Count; rqRetry: Count };
}

/** The gauges' series of one load, as the result stores them. */
export interface GaugeSeriesSet {
  /** ISO 8601: offset 0 of every point (the load's start). Points before it are the warm-up's. */
  startTime: string;
  /** What one point spans: the sampling interval times the samples each point holds. */
  stepMs: number;
  /** cluster -> stat -> [offsetMs, value] points, the value the largest sampled in the step.
   * Gauges that never changed are left out: their maximum says all. */
  clusters: Record<string, Record<string, Array<[number, number]>>>;
  /** Gauges that changed but were not kept (past MAX_SERIES). */
  leftOut: number;
}

export interface SidecarClusterReport {
  cluster: string;
  /** Istio subset clusters of one service share a group; `subset` tells them apart. */
  group: string;
  subset: string;
  /** Counter deltas by stat as the source names it, without the cluster prefix. */
  deltas: Record<string, number>;
  /** Counters that went down: the proxy restarted or reset its counters during the run; then
   * every counter of the cluster is listed here and `deltas` is empty. */
  resets: string[];
  /** Why `deltas` is empty and the view's counts n/a (a reset, unusable stats in a dump). */
  unavailable?: string;
  /** Gauges: the maximum seen (sampled during the run, else the value after it). */
  gauges: Record<string, { max: number; msAboveZero: number | undefined }>;
  view: ResilienceView;
}

export interface AgreementCheck {
  name: 'breaker' | 'requests' | 'retries';
  client: number;
  proxy: number | undefined;
  /** undefined when the proxy does not report what is needed. */
  agrees: boolean | undefined;
  note: string;
}

export interface SidecarReport {
  source: string;
  format: StatsFormat | undefined;
  kind: ProxyKind | undefined;
  clusterQuery: string | undefined;
  clusters: SidecarClusterReport[];
  /** The view summed over the matched clusters. */
  total: ResilienceView | undefined;
  agreement: AgreementCheck[];
  diagnostics: string[];
  /** Why there is no stats verdict (the source failed); the run itself still completed. */
  unavailable: string | undefined;
  /** The gauges sampled during the load, over time (absent in older results and without
   * sampling). */
  gaugeSeries?: GaugeSeriesSet;
}
