/** What the proxy did during a run, next to what the client saw: per-cluster stat deltas, gauge
 * maxima, the proxy-neutral resilience view, agreement checks and plain-sentence diagnostics.
 * Pure: snapshots and the run's result in, plain data out. */
import type { LoadResult } from '../model/load-result';
import { clusterGroup, hasOutboundClusters, outboundClusterNames, suggestClusters } from './cluster-stats';
import { gaugeSeriesSet, type GaugeSummary } from './gauge-sampler';
import type { AgreementCheck, ProxyKind, ResilienceView, SidecarClusterReport, SidecarReport } from '../model/sidecar-report';
import { buildView, isGaugeField, resilienceView, viewField } from './resilience-view';
import { diffHttpFaults, type SnapshotDelta, type StatsSnapshot } from './snapshot';

/** MESH-FACTS: Istio hides cluster.outbound stats unless the client pod opts in. */
export const ISTIO_STATS_ANNOTATION = `proxy.istio.io/config: '{"proxyStatsMatcher":{"inclusionPrefixes":["cluster.outbound"]}}'`;

export function unavailableReport(source: string, clusterQuery: string | undefined, why: string): SidecarReport {
  return {
    source,
    format: undefined,
    kind: undefined,
    clusterQuery,
    clusters: [],
    total: undefined,
    agreement: [],
    diagnostics: [`the stats verdict is unavailable: ${why}`],
    unavailable: why,
  };
}

export function buildSidecarReport(input: {
  source: string;
  clusterQuery: string | undefined;
  before: StatsSnapshot;
  after: StatsSnapshot;
  delta: SnapshotDelta;
  gauges: GaugeSummary | undefined;
  /** The run the stats are compared with; without one (`meshload stats`) there is no agreement. */
  result: LoadResult | undefined;
}): SidecarReport {
  const { before, after, delta, gauges, result, clusterQuery } = input;
  const kind = after.proxyKind;
  const clusters: SidecarClusterReport[] = [];
  const diagnostics: string[] = [];
  for (const [cluster, { stats, unavailable, wentDown }] of delta) {
    const deltas: Record<string, number> = {};
    const byKey = new Map<string, number>();
    const gaugeMax = new Map<string, number>();
    const gaugeReport: SidecarClusterReport['gauges'] = {};
    const resets: string[] = [];
    const sampled = gauges?.gauges.get(cluster);
    for (const d of stats.values()) {
      if (d.reset) resets.push(d.stat);
      if (d.gauge) {
        const trace = sampled?.get(d.stat);
        const max = Math.max(trace?.max ?? d.after, d.after);
        gaugeMax.set(d.key, max);
        gaugeReport[d.stat] = { max, msAboveZero: trace?.msAboveZero };
      } else if (d.delta !== undefined) {
        deltas[d.stat] = d.delta;
        byKey.set(d.key, d.delta);
      }
    }
    const { group, subset } = clusterGroup(cluster);
    const report: SidecarClusterReport = { cluster, group, subset, deltas, resets, gauges: gaugeReport, view: resilienceView(kind, byKey, gaugeMax) };
    if (unavailable !== undefined) {
      report.unavailable = unavailable;
      diagnostics.push(
        wentDown.length > 0
          ? `counters of ${cluster} went down during the run (${wentDown.slice(0, 3).join(', ')}${wentDown.length > 3 ? ', ...' : ''}): the proxy restarted or its counters were reset; none of its counter deltas are reported`
          : `the counter deltas of ${cluster} are not reported: ${unavailable}`,
      );
    }
    clusters.push(report);
  }
  clusters.sort((a, b) => a.group.localeCompare(b.group) || a.subset.localeCompare(b.subset));
  let total = clusters.length === 0 ? undefined : sumViews(kind, clusters.map((c) => c.view));
  // A total without a cluster whose counters are unavailable would understate: only its gauge
  // maxima stand.
  const lacking = clusters.filter((c) => c.unavailable !== undefined);
  if (total !== undefined && lacking.length > 0) {
    const partial = total;
    total = buildView(kind, (field) => (isGaugeField(kind, field) ? viewField(partial, field) : undefined));
    diagnostics.push(`the total counts are n/a: they would leave out ${lacking.map((c) => c.cluster).join(', ')}`);
  }
  // Injected faults are counted by the listener's fault filter, not per cluster.
  const faultDeltas = diffHttpFaults(before, after);
  if (total !== undefined && faultDeltas.size > 0) total = { ...total, faults: resilienceView(kind, new Map(), undefined, faultDeltas).faults };
  if (clusterQuery !== undefined && clusters.length === 0) diagnostics.unshift(noMatch(clusterQuery, after.allClusters));
  if (before.format !== after.format) diagnostics.push(`the stats format changed during the run (${before.format} -> ${after.format})`);
  if (gauges !== undefined && gauges.failures > 0) {
    diagnostics.push(`${gauges.failures} of ${gauges.failures + gauges.samples} gauge samples failed (${gauges.lastError ?? 'unknown error'}): gauge maxima may miss moments`);
  }
  let agreement = total === undefined || result === undefined ? [] : agreementChecks(total, result, requestsReceived(kind, clusters));
  if (lacking.length > 0) {
    // "This proxy does not report it" would be wrong: it did, but the counts cannot be used.
    agreement = agreement.map((a) => (a.proxy === undefined && !a.note.startsWith('no response echoed') ? { ...a, note: `the proxy's counts are unavailable: ${lacking[0]?.unavailable ?? ''}` } : a));
  }
  const requests = agreement.find((a) => a.name === 'requests');
  if (requests !== undefined && requests.proxy === 0 && requests.client > 0) {
    diagnostics.push(
      `${requests.client} requests were sent but the proxy's upstream counter did not move: the traffic bypassed this sidecar ` +
        `(the generator runs as UID 1337, the port is excluded from interception, the target is outside the mesh, or the stats are from another pod)`,
    );
  }
  const gaugeSeries = gauges === undefined || result === undefined ? undefined : gaugeSeriesSet(gauges, result.startTime);
  return { source: input.source, format: after.format, kind, clusterQuery, clusters, total, agreement, diagnostics, unavailable: undefined, ...(gaugeSeries !== undefined ? { gaugeSeries } : {}) };
}

/** Why `--cluster QUERY` matched nothing, in one sentence: a typo of a cluster that is there
 * (did you mean), another cluster, or Istio hiding every outbound cluster (the annotation). */
export function noMatch(query: string, allClusters: ReadonlySet<string>): string {
  const close = suggestClusters(query, allClusters);
  if (close.length > 0) return `no cluster matches '${query}' (did you mean ${close.join(' or ')}?)`;
  if (hasOutboundClusters(allClusters)) {
    const names = outboundClusterNames(allClusters);
    const listed = names.length <= 4 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more; 'meshload stats SOURCE' shows them all`;
    return `no cluster matches '${query}' (outbound clusters: ${listed})`;
  }
  return (
    `cluster '${query}' is not in the proxy's stats, which hold no outbound cluster (${allClusters.size} clusters in all). ` +
    `Istio hides cluster.outbound stats by default: add the annotation ${ISTIO_STATS_ANNOTATION} to the client pod and restart it ` +
    `(it is read at proxy start).`
  );
}

/** HAProxy backends' own request counter summed over `clusters`, rejects included: what came in
 * from clients, which HAProxy's retry counters cannot give (see HAPROXY_RETRY_QUIRK). undefined for
 * Envoy (its clusters count attempts only) and when a cluster lacks the counter. */
export function requestsReceived(kind: ProxyKind | undefined, clusters: readonly Pick<SidecarClusterReport, 'deltas' | 'unavailable'>[]): number | undefined {
  if (kind !== 'haproxy' || clusters.length === 0) return undefined;
  let total = 0;
  for (const cluster of clusters) {
    if (cluster.unavailable !== undefined) return undefined;
    const value = cluster.deltas['http_requests_total'] ?? cluster.deltas['sessions_total'];
    if (value === undefined) return undefined;
    total += value;
  }
  return total;
}

/** HAProxy 2.6 counts an L7 retry (`retry-on` a status or a timeout) twice in `retry_warnings_total`
 * and a connection retry once (docs/proxy-stats-mapping.md), so "attempts - retries" cannot count
 * the requests it was given. */
export const HAPROXY_RETRY_QUIRK = 'HAProxy 2.6 counts each L7 retry twice in retry_warnings_total (a connection retry once)';

/** Client against proxy: breaker rejections, requests, retries. Exported for `meshload merge`,
 * which checks the merged load against the sidecars' summed view the same way. `received`: the
 * requests the proxy took in from clients, where it counts them (HAProxy, `requestsReceived`). */
export function agreementChecks(total: ResilienceView, result: LoadResult, received?: number): AgreementCheck[] {
  const checks: AgreementCheck[] = [];
  const clientBreaker = result.causes.breaker ?? 0;
  const pending = total.breakerRejections.pending;
  const active = total.breakerRejections.active;
  // Envoy < 1.38 counts max_requests rejects in pending_overflow and has no active_overflow;
  // from 1.38 they are split: the sum is right for both.
  const proxyBreaker = pending === undefined && active === undefined ? undefined : (pending ?? 0) + (active ?? 0);
  checks.push({
    name: 'breaker',
    client: clientBreaker,
    proxy: proxyBreaker,
    agrees: proxyBreaker === undefined ? undefined : proxyBreaker === clientBreaker,
    note:
      proxyBreaker === undefined
        ? 'this proxy does not report breaker rejections'
        : proxyBreaker > clientBreaker
          ? 'the proxy rejected more than this run saw: other traffic through the same proxy, or rejected retry attempts (not client-visible)'
          : proxyBreaker < clientBreaker
            ? 'the client saw more overflow 503s than this proxy counted: another proxy on the path (the server-side sidecar) rejected them, or the stats are for another cluster'
            : 'client-seen breaker 503s match the proxy\'s overflow counters',
  });
  const clientRequests = result.latency.count + result.warmupRequests;
  const sent = total.requestsSent;
  const rejected = proxyBreaker ?? 0;
  const retried = total.retries.attempted ?? 0;
  // Each client request is sent upstream once plus its retries, or rejected by a breaker.
  const proxyRequests = sent === undefined ? undefined : sent - retried + rejected;
  checks.push(total.kind === 'haproxy' ? haproxyRequestsAgreement(clientRequests, received, proxyRequests, retried) : {
    name: 'requests',
    client: clientRequests,
    proxy: proxyRequests,
    agrees: proxyRequests === undefined ? undefined : proxyRequests === clientRequests,
    note:
      proxyRequests === undefined
        ? 'this proxy does not report requests sent upstream'
        : proxyRequests > clientRequests
          ? 'the proxy handled more requests than this run sent: other traffic through the same proxy'
          : proxyRequests < clientRequests
            ? 'the proxy handled fewer requests than this run sent: some bypassed it, failed before reaching it, or went to another cluster'
            : 'every request the client sent is accounted for (sent upstream once, retried, or rejected)',
  });
  checks.push(retriesAgreement(total, result));
  return checks;
}

/** HAProxy's requests check: the backend's own request counter when there is one; else attempts
 * minus retries, which is exact only when nothing was retried (HAPROXY_RETRY_QUIRK). */
function haproxyRequestsAgreement(client: number, received: number | undefined, fromAttempts: number | undefined, retried: number): AgreementCheck {
  const check = (proxy: number | undefined, how: string): AgreementCheck => ({
    name: 'requests',
    client,
    proxy,
    agrees: proxy === undefined ? undefined : proxy === client,
    note:
      proxy === undefined
        ? 'this proxy does not report the requests it was given'
        : proxy > client
          ? `the proxy was given more requests than this run sent (${how}): other traffic through the same proxy`
          : proxy < client
            ? `the proxy was given fewer requests than this run sent (${how}): some bypassed it, failed before reaching it, or went to another backend`
            : `every request the client sent reached the proxy (${how})`,
  });
  if (received !== undefined) return check(received, "the backend's http_requests_total");
  if (retried === 0) return check(fromAttempts, 'attempts, nothing retried');
  return { name: 'requests', client, proxy: undefined, agrees: undefined, note: `cannot tell, because ${HAPROXY_RETRY_QUIRK} and the backend's http_requests_total is missing` };
}

/** An upstream that echoes `x-envoy-attempt-count` (meshload server) tells the client which try
 * produced each response: a response from try N had N - 1 retries before it, so the retries
 * behind the timed calls are known exactly. The proxy also counts the warm-up's retries, up to
 * (most tries seen - 1) per warm-up request; and Envoy's own replies (a 504 after per-try
 * timeouts) carry no echo, so the client side can only be lower. */
function retriesAgreement(total: ResilienceView, result: LoadResult): AgreementCheck {
  let client = 0;
  let echoed = 0;
  let mostTries = 1;
  for (const [attempt, n] of Object.entries(result.attempts)) {
    client += (Number(attempt) - 1) * n;
    echoed += n;
    mostTries = Math.max(mostTries, Number(attempt));
  }
  const proxy = total.retries.attempted;
  if (echoed === 0) {
    return { name: 'retries', client, proxy, agrees: undefined, note: 'no response echoed x-envoy-attempt-count (meshload server does, behind Envoy): the client cannot count retries' };
  }
  if (proxy === undefined) return { name: 'retries', client, proxy, agrees: undefined, note: 'this proxy does not report retries' };
  if (total.kind === 'haproxy') return { name: 'retries', client, proxy, agrees: undefined, note: `cannot tell, because ${HAPROXY_RETRY_QUIRK}` };
  const warmupSlack = result.warmupRequests * (mostTries - 1);
  const agrees = proxy >= client && proxy - client <= warmupSlack;
  return {
    name: 'retries',
    client,
    proxy,
    agrees,
    note: agrees
      ? `the retries the responses echoed match the proxy's retry counter${proxy > client ? ` (${proxy - client} more: the warm-up's)` : ''}`
      : proxy < client
        ? 'the responses echo more retries than this proxy counted: another proxy on the path retried, or the stats are for another cluster'
        : 'the proxy retried more than the responses show: other traffic through the same proxy, or retries whose final answer was the proxy\'s own reply (timeouts, overflow)',
  };
}

/** Field by field sum; a field stays undefined only if it is undefined in every view. The breaker
 * gauges' maxima of different clusters did not necessarily peak together: the largest is shown.
 * Exported for `meshload merge`, whose total is built from its merged clusters the same way. */
export function sumViews(kind: ProxyKind, views: ResilienceView[]): ResilienceView {
  return buildView(kind, (field) => {
    const combine = field.startsWith('breakerOpen.') ? Math.max : (a: number, b: number): number => a + b;
    return views.reduce<number | undefined>((acc, v) => {
      const value = viewField(v, field);
      return value === undefined ? acc : acc === undefined ? value : combine(acc, value);
    }, undefined);
  });
}
