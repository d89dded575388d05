/** A phase's traffic split as Kiali draws it: client -> service -> each subset, with each edge's
 * share, rate and (where known) error rate. Two sources, drawn separately when both exist: the
 * `x-version` of the responses (what the client saw), and the proxy's per-subset clusters (what
 * the sidecar sent). Shares are computed as the checks compute them (`version(TAG)`, `share(SUBSET)`
 * and `versions ~`/`subsets ~`), so the picture and the verdicts agree. Pure. */
import type { LoadResult } from '../../model/load-result';
import { notOkCalls } from '../../model/outcome';
import { parseIstioCluster } from '../../stats/cluster-stats';

export interface TrafficEdge {
  /** The version tag or Istio subset; '' for proxy clusters without a subset. */
  subset: string;
  count: number;
  /** Percent of the graph's attributed total, unrounded. */
  sharePct: number;
  rps: number;
  /** Percent; undefined when the source cannot tell (x-version counts carry no status). */
  errorRatePct: number | undefined;
}

export interface TrafficGraph {
  source: 'versions' | 'subsets';
  client: string;
  service: string;
  /** Client -> service: every timed call (versions) or every request sent upstream (subsets). */
  total: number;
  rps: number;
  errorRatePct: number | undefined;
  edges: TrafficEdge[];
  /** Calls the split cannot place: responses without x-version. */
  unattributed: number;
}

const CLIENT = 'meshload';

function hostOf(url: string | undefined): string {
  if (url === undefined) return 'service';
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function percent(part: number, whole: number): number {
  return whole > 0 ? (part * 100) / whole : 0;
}

/** Client-seen: calls not OK (not 2xx or 418, socket errors included) over all calls. */
function clientErrorRate(load: LoadResult): number | undefined {
  const codes = load.codes ?? {};
  const calls = Object.values(codes).reduce((sum, n) => sum + n, 0);
  return calls > 0 ? percent(notOkCalls(codes), calls) : undefined;
}

/** From the responses' x-version header: the share is of calls that carried one. */
export function versionsGraph(load: LoadResult): TrafficGraph | undefined {
  const versions = Object.entries((load as Partial<LoadResult>).versions ?? {}).filter(([, n]) => n > 0);
  if (versions.length === 0) return undefined;
  const seconds = load.durationMs / 1000;
  const attributed = versions.reduce((sum, [, n]) => sum + n, 0);
  const calls = Object.values(load.codes ?? {}).reduce((sum, n) => sum + n, 0);
  return {
    source: 'versions',
    client: CLIENT,
    service: hostOf(load.plan?.url),
    total: calls,
    rps: load.actualQps,
    errorRatePct: clientErrorRate(load),
    edges: versions
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([subset, count]) => ({ subset, count, sharePct: percent(count, attributed), rps: seconds > 0 ? count / seconds : 0, errorRatePct: undefined })),
    unattributed: Math.max(0, calls - attributed),
  };
}

/** From the proxy's per-subset clusters (Istio names them outbound|port|subset|host): the share
 * of requests sent upstream, over every matched cluster as `share(SUBSET)` counts it. */
export function subsetsGraph(load: LoadResult): TrafficGraph | undefined {
  const sidecar = load.sidecar;
  if (sidecar === undefined || sidecar.unavailable !== undefined) return undefined;
  const clusters = sidecar.clusters ?? [];
  if (!clusters.some((c) => c.subset !== '')) return undefined;
  const bySubset = new Map<string, { sent: number; fivexx: number | undefined }>();
  for (const cluster of clusters) {
    const sent = cluster.view.requestsSent;
    if (sent === undefined) continue;
    const entry = bySubset.get(cluster.subset) ?? { sent: 0, fivexx: 0 };
    const fivexx = cluster.view.upstream5xx.final;
    entry.sent += sent;
    entry.fivexx = entry.fivexx === undefined || fivexx === undefined ? undefined : entry.fivexx + fivexx;
    bySubset.set(cluster.subset, entry);
  }
  if (bySubset.size === 0) return undefined;
  const total = [...bySubset.values()].reduce((sum, e) => sum + e.sent, 0);
  const seconds = load.durationMs / 1000;
  const first = clusters.find((c) => c.subset !== '');
  const istio = first === undefined ? undefined : parseIstioCluster(first.cluster);
  const fivexxTotal = [...bySubset.values()].reduce<number | undefined>((sum, e) => (sum === undefined || e.fivexx === undefined ? undefined : sum + e.fivexx), 0);
  return {
    source: 'subsets',
    client: CLIENT,
    service: istio?.fqdn ?? first?.group ?? 'service',
    total,
    rps: seconds > 0 ? total / seconds : 0,
    errorRatePct: fivexxTotal === undefined || total === 0 ? undefined : percent(fivexxTotal, total),
    edges: [...bySubset]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([subset, e]) => ({
        subset,
        count: e.sent,
        sharePct: percent(e.sent, total),
        rps: seconds > 0 ? e.sent / seconds : 0,
        // 5xx the proxy returned for the subset over the requests it sent there.
        errorRatePct: e.fivexx === undefined || e.sent === 0 ? undefined : percent(e.fivexx, e.sent),
      })),
    unattributed: 0,
  };
}

export function trafficGraphs(load: LoadResult): TrafficGraph[] {
  return [versionsGraph(load), subsetsGraph(load)].filter((g): g is TrafficGraph => g !== undefined);
}
