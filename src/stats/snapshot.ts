/** Snapshots of a proxy's cluster stats and the deltas between two of them. Pure but for
 * `takeSnapshot`, which reads a source. */
import { clusterStatsOf, matchCluster } from './cluster-stats';
import type { ProxyKind, StatsFormat } from '../model/sidecar-report';
import type { ClusterStat, StatKind, StatSample } from './stat-sample';
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
  /** Stats of matched clusters that the dump gave but cannot be used: cluster -> stat -> why
   * (a negative counter, a counter above 2^53, a series given twice). Never silently dropped. */
  refused: Map<string, Map<string, string>>;
}

/** Counters are unsigned 64-bit in Envoy and HAProxy; a JS number is exact only up to 2^53 - 1,
 * so a counter beyond is refused rather than subtracted inexactly. */
const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/** Envoy names the fault filter's counters after the HTTP connection manager's stat prefix. */
const FAULT_STAT = /^(http\..+\.fault\.(aborts|delays)_injected|envoy_http_\w*fault_(aborts|delays)_injected)$/;

/** Reads one dump, keeping only the clusters that match `clusterQuery` (all when undefined),
 * so memory follows what is asked for, not the size of the dump. */
export async function takeSnapshot(source: StatsSource, options: ReadStatsOptions, clusterQuery?: string): Promise<StatsSnapshot> {
  const clusters = new Map<string, Map<string, ClusterStat>>();
  const allClusters = new Set<string>();
  let proxyKind: ProxyKind = 'envoy';
  const httpFaults = new Map<string, number>();
  const refused = new Map<string, Map<string, string>>();
  /** cluster -> stat -> the series that gave it and its line, to tell a duplicate series. */
  const origin = new Map<string, Map<string, { series: string; line: number }>>();
  const refuse = (cluster: string, stat: string, why: string): void => {
    let stats = refused.get(cluster);
    if (stats === undefined) {
      stats = new Map();
      refused.set(cluster, stats);
    }
    if (!stats.has(stat)) stats.set(stat, why);
    clusters.get(cluster)?.delete(stat);
  };
  const { format } = await readStats(source, options, (sample) => {
    if (proxyKind === 'envoy' && sample.name.startsWith('haproxy_')) proxyKind = 'haproxy';
    if (FAULT_STAT.test(sample.name) && Number.isFinite(sample.value)) {
      const labels = Object.entries(sample.labels).sort().map(([k, v]) => `${k}=${v}`).join(',');
      httpFaults.set(labels === '' ? sample.name : `${sample.name}{${labels}}`, sample.value);
    }
    for (const stat of clusterStatsOf(sample)) {
      allClusters.add(stat.cluster);
      // Histograms and text readouts have no single number to subtract.
      if (stat.kind === 'histogram' || stat.kind === 'text') continue;
      if (clusterQuery !== undefined && !matchCluster(clusterQuery, stat.cluster)) continue;
      let origins = origin.get(stat.cluster);
      if (origins === undefined) {
        origins = new Map();
        origin.set(stat.cluster, origins);
      }
      const series = seriesOf(sample);
      const first = origins.get(stat.stat);
      if (first === undefined) origins.set(stat.stat, { series, line: sample.line });
      else if (first.series === series) {
        refuse(stat.cluster, stat.stat, `the dump gives ${excerpt(series)} twice (lines ${first.line} and ${sample.line}): which one is true is unknown`);
        continue;
      }
      if (refused.get(stat.cluster)?.has(stat.stat) === true) continue;
      // NaN is how HAProxy's exporter says "no value" (check_failures_total without health
      // checks): the stat is absent, n/a, as if the dump did not have it.
      if (!Number.isFinite(stat.value)) continue;
      const gauge = isGauge(stat);
      if (!gauge && stat.value < 0) {
        refuse(stat.cluster, stat.stat, `counter ${stat.stat} is negative (${stat.value}) at line ${sample.line}: counters only count up`);
        continue;
      }
      if (!gauge && stat.value > MAX_EXACT) {
        refuse(stat.cluster, stat.stat, `counter ${stat.stat} is above 2^53 at line ${sample.line}: too large to subtract exactly`);
        continue;
      }
      let stats = clusters.get(stat.cluster);
      if (stats === undefined) {
        stats = new Map();
        clusters.set(stat.cluster, stats);
      }
      stats.set(stat.stat, stat);
    }
  });
  return { takenAtMs: Date.now(), format, proxyKind, clusters, allClusters, httpFaults, refused };
}

/** A series as the source names it: the name, and the labels in their order of the dump. */
function seriesOf(sample: StatSample): string {
  const labels = Object.entries(sample.labels);
  if (labels.length === 0) return sample.name;
  return `${sample.name}{${labels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
}

function excerpt(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}

export interface StatDelta {
  stat: string;
  key: string;
  kind: StatKind;
  gauge: boolean;
  before: number | undefined;
  after: number;
  /** after - before for counters; undefined for gauges and when the cluster's deltas are unavailable. */
  delta: number | undefined;
  /** A counter of this cluster went down: the proxy restarted (or its counters were reset) in
   * between, so none of the cluster's counter deltas can be trusted. */
  reset: boolean;
}

export interface ClusterDelta {
  stats: Map<string, StatDelta>;
  /** Why none of this cluster's counter deltas are given (a reset, refused stats); undefined when they are. */
  unavailable: string | undefined;
  /** The counters that went down (a reset), in dump order. */
  wentDown: string[];
}

export type SnapshotDelta = Map<string, ClusterDelta>;

/** Deltas of the fault filter counters; a counter that went down is left out (a reset). */
export function diffHttpFaults(before: StatsSnapshot, after: StatsSnapshot): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of after.httpFaults) {
    const was = before.httpFaults.get(key) ?? 0;
    if (value >= was) out.set(key, value - was);
  }
  return out;
}

/** Counters become deltas. A stat absent before counts from 0 (Envoy creates stats lazily, on
 * first use). A cluster is all or nothing: if any of its counters went down (a restart resets
 * them all, and a partial sum would understate) or any was refused, none of its counter deltas
 * are given, and `unavailable` says why; its gauges still are. */
export function diffSnapshots(before: StatsSnapshot, after: StatsSnapshot): SnapshotDelta {
  const out: SnapshotDelta = new Map();
  const names = new Set([...after.clusters.keys(), ...after.refused.keys()]);
  for (const cluster of names) {
    const stats = after.clusters.get(cluster) ?? new Map<string, ClusterStat>();
    const previous = before.clusters.get(cluster);
    const wentDown: string[] = [];
    for (const [name, stat] of stats) {
      const was = previous?.get(name)?.value;
      if (!isGauge(stat) && was !== undefined && stat.value < was) wentDown.push(name);
    }
    const refusedStats = [...(before.refused.get(cluster) ?? new Map<string, string>()), ...(after.refused.get(cluster) ?? new Map<string, string>())];
    let unavailable: string | undefined;
    if (wentDown.length > 0) {
      unavailable = `counters went down (${listed(wentDown)}): the proxy restarted or its counters were reset`;
    } else if (refusedStats.length > 0) {
      unavailable = `the dump has unusable stats: ${refusedStats.slice(0, 3).map(([, why]) => why).join('; ')}${refusedStats.length > 3 ? `; and ${refusedStats.length - 3} more` : ''}`;
    }
    const deltas = new Map<string, StatDelta>();
    for (const [name, stat] of stats) {
      const gauge = isGauge(stat);
      const was = previous?.get(name)?.value;
      deltas.set(name, {
        stat: name,
        key: stat.key,
        kind: stat.kind,
        gauge,
        before: was,
        after: stat.value,
        delta: gauge || unavailable !== undefined ? undefined : stat.value - (was ?? 0),
        reset: !gauge && wentDown.length > 0,
      });
    }
    out.set(cluster, { stats: deltas, unavailable, wentDown });
  }
  return out;
}

function listed(names: string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/** Envoy's text and JSON formats do not say which numbers are gauges; these are the cluster
 * gauges Envoy defines (circuit breaker state, active counts, membership, buffered bytes). */
const ENVOY_GAUGE = /(_active|_open|_buffered|^circuit_breakers_\w+_remaining_\w+|^membership_(healthy|degraded|excluded|total)|^max_host_weight|^version|^lb_subsets_active)$/;

export function isGauge(stat: Pick<ClusterStat, 'kind' | 'key'>): boolean {
  if (stat.kind === 'gauge') return true;
  if (stat.kind !== 'untyped') return false;
  return ENVOY_GAUGE.test(stat.key);
}
