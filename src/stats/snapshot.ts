/** Snapshots of a proxy's cluster stats and the deltas between two of them. Pure but for
 * `takeSnapshot`, which reads a source. */
import { clusterStatsOf, matchCluster } from './cluster-stats';
import type { ProxyKind } from './resilience-view';
import type { ClusterStat, StatKind, StatsFormat } from './stat-sample';
import { readStats, type ReadStatsOptions, type StatsSource } from './stats-source';

export interface StatsSnapshot {
  takenAtMs: number;
  format: StatsFormat;
  /** HAProxy when its exporter's metrics are present, else Envoy. */
  proxyKind: ProxyKind;
  /** cluster -> stat (as the source wrote it) -> sample. */
  clusters: Map<string, Map<string, ClusterStat>>;
  /** Every cluster the dump had, matched or not: "the target cluster is absent" needs them. */
  allClusters: Set<string>;
  /** Envoy fault filter counters (`http.<prefix>.fault.aborts_injected`...): listener stats, not
   * cluster stats, keyed by series. */
  httpFaults: Map<string, number>;
}

/** Envoy names the fault filter's counters after the HTTP connection manager's stat prefix. */
const FAULT_STAT = /^(http\..+\.fault\.(aborts|delays)_injected|envoy_http_\w*fault_(aborts|delays)_injected)$/;

/** Reads one dump, keeping only the clusters that match `clusterQuery` (all when undefined),
 * so memory follows what is asked for, not the size of the dump. */
export async function takeSnapshot(source: StatsSource, options: ReadStatsOptions, clusterQuery?: string): Promise<StatsSnapshot> {
  const clusters = new Map<string, Map<string, ClusterStat>>();
  const allClusters = new Set<string>();
  let proxyKind: ProxyKind = 'envoy';
  const httpFaults = new Map<string, number>();
  const { format } = await readStats(source, options, (sample) => {
    if (proxyKind === 'envoy' && sample.name.startsWith('haproxy_')) proxyKind = 'haproxy';
    if (FAULT_STAT.test(sample.name) && Number.isFinite(sample.value)) {
      const labels = Object.entries(sample.labels).sort().map(([k, v]) => `${k}=${v}`).join(',');
      httpFaults.set(labels === '' ? sample.name : `${sample.name}{${labels}}`, sample.value);
    }
    for (const stat of clusterStatsOf(sample)) {
      allClusters.add(stat.cluster);
      // Histograms and text readouts have no single number to subtract.
      if (stat.kind === 'histogram' || stat.kind === 'text' || !Number.isFinite(stat.value)) continue;
      if (clusterQuery !== undefined && !matchCluster(clusterQuery, stat.cluster)) continue;
      let stats = clusters.get(stat.cluster);
      if (stats === undefined) {
        stats = new Map();
        clusters.set(stat.cluster, stats);
      }
      stats.set(stat.stat, stat);
    }
  });
  return { takenAtMs: Date.now(), format, proxyKind, clusters, allClusters, httpFaults };
}

export interface StatDelta {
  stat: string;
  key: string;
  kind: StatKind;
  gauge: boolean;
  before: number | undefined;
  after: number;
  /** after - before for counters; undefined for gauges and resets. */
  delta: number | undefined;
  /** The counter went down: the proxy restarted (or its counters were reset) in between. */
  reset: boolean;
}

export type SnapshotDelta = Map<string, Map<string, StatDelta>>;

/** Deltas of the fault filter counters; a counter that went down is left out (a reset). */
export function diffHttpFaults(before: StatsSnapshot, after: StatsSnapshot): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of after.httpFaults) {
    const was = before.httpFaults.get(key) ?? 0;
    if (value >= was) out.set(key, value - was);
  }
  return out;
}

/** Counters become deltas; a counter that went down is a reset, never a negative delta. A stat
 * absent before counts from 0 (Envoy creates stats lazily, on first use). */
export function diffSnapshots(before: StatsSnapshot, after: StatsSnapshot): SnapshotDelta {
  const out: SnapshotDelta = new Map();
  for (const [cluster, stats] of after.clusters) {
    const previous = before.clusters.get(cluster);
    const deltas = new Map<string, StatDelta>();
    for (const [name, stat] of stats) {
      const gauge = isGauge(stat);
      const was = previous?.get(name)?.value;
      const reset = !gauge && was !== undefined && stat.value < was;
      deltas.set(name, {
        stat: name,
        key: stat.key,
        kind: stat.kind,
        gauge,
        before: was,
        after: stat.value,
        delta: gauge || reset ? undefined : stat.value - (was ?? 0),
        reset,
      });
    }
    out.set(cluster, deltas);
  }
  return out;
}

/** Envoy's text and JSON formats do not say which numbers are gauges; these are the cluster
 * gauges Envoy defines (circuit breaker state, active counts, membership, buffered bytes). */
const ENVOY_GAUGE = /(_active|_open|_buffered|^circuit_breakers_\w+_remaining_\w+|^membership_(healthy|degraded|excluded|total)|^max_host_weight|^version|^lb_subsets_active)$/;

export function isGauge(stat: Pick<ClusterStat, 'kind' | 'key'>): boolean {
  if (stat.kind === 'gauge') return true;
  if (stat.kind !== 'untyped') return false;
  return ENVOY_GAUGE.test(stat.key);
}
