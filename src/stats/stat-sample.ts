/** The data model of proxy stats, shared by parsers, cluster extraction, snapshots and the
 * resilience view. Parsers stream samples to a callback so a 50 MB dump needs no 50 MB array. */

/** Large enough for the biggest real dump (an Istio gateway's JSON stats are tens of MB). */
export const DEFAULT_STATS_MAX_BYTES = 256 * 1024 * 1024;


export type StatKind = 'counter' | 'gauge' | 'histogram' | 'text' | 'untyped';

/** One Envoy histogram quantile; interval and cumulative are null where Envoy printed nan. */
export type Quantile = { percentile: number; interval: number | null; cumulative: number | null };

/** One sample as the source wrote it. */
export interface StatSample {
  /** Envoy: the full stat name (`cluster.outbound|8000||httpbin.default.svc.cluster.local.upstream_rq_total`);
   * Prometheus: the metric name (`envoy_cluster_upstream_rq_total`, `haproxy_backend_retry_warnings_total`;
   * histogram series keep their `_bucket`/`_sum`/`_count` suffix). */
  name: string;
  /** Prometheus labels (escapes decoded); empty for Envoy text and JSON. */
  labels: Readonly<Record<string, string>>;
  /** Envoy text and JSON do not say whether a number is a counter or a gauge: `untyped` there. */
  kind: StatKind;
  /** NaN for text readouts and for Envoy histograms (their quantiles are in `quantiles`). */
  value: number;
  /** Envoy text readouts (`name: "value"`). */
  text?: string;
  /** Envoy histogram quantiles: percentile -> [interval, cumulative], null where Envoy printed nan. */
  quantiles?: ReadonlyArray<Quantile>;
  /** 1-based line of the source, for error messages and diagnostics. */
  line: number;
}

/** A sample attributed to an upstream cluster. */
export interface ClusterStat {
  /** Full cluster name as the proxy names it (`outbound|9080|v2|reviews.default.svc.cluster.local`,
   * a HAProxy backend name), without Istio's trailing `;`. */
  cluster: string;
  /** The stat as the source wrote it, without the cluster part (`upstream_rq_pending_overflow`,
   * `circuit_breakers.default.rq_pending_open`, `upstream_rq_503`). */
  stat: string;
  /** Canonical key for mappings and matching: `.` and `-` turned into `_`, so Envoy text and
   * Prometheus name the same stat the same way (`circuit_breakers_default_rq_pending_open`). */
  key: string;
  kind: StatKind;
  value: number;
}

/** A parse error names the line and what was expected there. */
export class StatsParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'StatsParseError';
  }
}

/** Canonical key of a stat name. */
export function statKey(stat: string): string {
  return stat.replace(/[.-]/g, '_');
}
