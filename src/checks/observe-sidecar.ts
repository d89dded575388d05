/** What the checks read from the sidecar's stats: counter deltas, gauge maxima, the resilience
 * view summed over the matched clusters (`SidecarReport.total`), per-subset shares and the
 * client/proxy agreement, each with the reason when the proxy did not report it.
 *
 * | name                   | ResilienceView field                              |
 * |------------------------|---------------------------------------------------|
 * | requests.sent          | requestsSent                                      |
 * | breaker.rejected       | breakerRejections.pending + breakerRejections.active |
 * | breaker.pending        | breakerRejections.pending                         |
 * | breaker.active         | breakerRejections.active                          |
 * | breaker.connection     | breakerRejections.connection                      |
 * | retries.attempted      | retries.attempted                                 |
 * | retries.succeeded      | retries.succeeded                                 |
 * | retries.overflowed     | retries.overflowed                                |
 * | retries.limit_exceeded | retries.limitExceeded                             |
 * | timeouts.route         | timeouts.route                                    |
 * | timeouts.per_try       | timeouts.perTry                                   |
 * | upstream_5xx.final     | upstream5xx.final                                 |
 * | upstream_5xx.retried   | upstream5xx.retried                               |
 * | connect_failures       | connectFailures                                   |
 * | ejections.enforced     | ejections.enforced                                |
 * | ejections.active       | ejections.active (gauge maximum)                  |
 * | faults.aborts          | faults.aborts                                     |
 * | faults.delays          | faults.delays                                     |
 * | breaker_open.cx        | breakerOpen.cx (gauge maximum, 0/1)               |
 * | breaker_open.rq_pending| breakerOpen.rqPending                             |
 * | breaker_open.rq        | breakerOpen.rq                                    |
 * | breaker_open.rq_retry  | breakerOpen.rqRetry                               |
 */
import type { ResilienceView, SidecarReport } from '../model/sidecar-report';
import { statKey } from '../stats/stat-sample';
import type { AgreementName, Metric, ViewName } from './expectation';
import { formatPercent, type NoVerdict, type Observation, type Outcome } from './observation';

type Count = number | undefined;

/** How each name reads the summed view; breaker.rejected adds pending and active as the
 * sidecar's breaker agreement does (Envoy < 1.38 counts both as pending). */
const VIEW_FIELDS: Readonly<Record<ViewName, (v: ResilienceView) => Count>> = {
  'requests.sent': (v) => v.requestsSent,
  'breaker.rejected': (v) => {
    const { pending, active } = v.breakerRejections;
    return pending === undefined && active === undefined ? undefined : (pending ?? 0) + (active ?? 0);
  },
  'breaker.pending': (v) => v.breakerRejections.pending,
  'breaker.active': (v) => v.breakerRejections.active,
  'breaker.connection': (v) => v.breakerRejections.connection,
  'retries.attempted': (v) => v.retries.attempted,
  'retries.succeeded': (v) => v.retries.succeeded,
  'retries.overflowed': (v) => v.retries.overflowed,
  'retries.limit_exceeded': (v) => v.retries.limitExceeded,
  'timeouts.route': (v) => v.timeouts.route,
  'timeouts.per_try': (v) => v.timeouts.perTry,
  'upstream_5xx.final': (v) => v.upstream5xx.final,
  'upstream_5xx.retried': (v) => v.upstream5xx.retried,
  connect_failures: (v) => v.connectFailures,
  'ejections.enforced': (v) => v.ejections.enforced,
  'ejections.active': (v) => v.ejections.active,
  'faults.aborts': (v) => v.faults.aborts,
  'faults.delays': (v) => v.faults.delays,
  'breaker_open.cx': (v) => v.breakerOpen.cx,
  'breaker_open.rq_pending': (v) => v.breakerOpen.rqPending,
  'breaker_open.rq': (v) => v.breakerOpen.rq,
  'breaker_open.rq_retry': (v) => v.breakerOpen.rqRetry,
};

export function observeStat(metric: Extract<Metric, { kind: 'delta' | 'gauge' | 'view' }>, sidecar: SidecarReport | undefined): Outcome {
  const problem = sidecarProblem(sidecar);
  if (problem !== undefined || sidecar === undefined) return problem ?? NO_SIDECAR;
  const matched = matchedClusters(sidecar);
  if (metric.kind === 'view') {
    const value = sidecar.total === undefined ? undefined : VIEW_FIELDS[metric.name](sidecar.total);
    if (value === undefined) {
      const proxy = sidecar.kind ?? sidecar.total?.kind;
      return {
        verdict: 'no_data',
        reason: `${metric.name} is not reported: the proxy${proxy === undefined ? '' : ` (${proxy})`} does not report it or the cluster was not matched (${matched})`,
      };
    }
    return { value, observed: String(value) };
  }
  const key = statKey(metric.stat);
  let found = 0;
  let value = 0;
  const reset: string[] = [];
  let otherKind = false;
  for (const cluster of sidecar.clusters) {
    if (metric.kind === 'delta') {
      if (cluster.resets.some((s) => statKey(s) === key)) reset.push(cluster.cluster);
      for (const [stat, delta] of Object.entries(cluster.deltas)) {
        if (statKey(stat) !== key) continue;
        found++;
        value += delta;
      }
      if (Object.keys(cluster.gauges).some((s) => statKey(s) === key)) otherKind = true;
    } else {
      for (const [stat, gauge] of Object.entries(cluster.gauges)) {
        if (statKey(stat) !== key) continue;
        value = found === 0 ? gauge.max : Math.max(value, gauge.max);
        found++;
      }
      if (Object.keys(cluster.deltas).some((s) => statKey(s) === key)) otherKind = true;
    }
  }
  // A counter that went down has no delta: the sum without it would understate the run.
  if (reset.length > 0) {
    return { verdict: 'inconclusive', reason: `${metric.stat} went down during the run in ${reset.join(', ')}: the proxy restarted or its counters were reset` };
  }
  if (found === 0) {
    const hint = otherKind ? (metric.kind === 'delta' ? `; it is a gauge: use max(${metric.stat})` : `; it is a counter: use delta(${metric.stat})`) : '';
    return {
      verdict: 'no_data',
      reason: `${metric.stat} is in none of the matched clusters: the proxy does not report it or the cluster was not matched (${matched})${hint}`,
    };
  }
  const over = sidecar.clusters.length > 1 ? ` over ${sidecar.clusters.length} clusters` : '';
  return { value, observed: `${value}${over}` };
}

/** A weighted route's split, from the proxy: each Istio subset is its own cluster, so its share
 * of requests sent upstream is its requestsSent over the matched clusters' total. */
export function observeShare(subset: string, sidecar: SidecarReport | undefined): (Observation & { count: number; of: number }) | { verdict: 'no_data' | 'inconclusive'; reason: string } {
  const problem = sidecarProblem(sidecar);
  if (problem !== undefined || sidecar === undefined) return problem ?? NO_SIDECAR;
  const bySubset = requestsBySubset(sidecar);
  let total = 0;
  for (const n of bySubset.values()) total += n;
  const sent = bySubset.get(subset) ?? 0;
  const seen = bySubset.has(subset);
  const subsets = [...new Set(sidecar.clusters.map((c) => c.subset).filter((s) => s !== ''))];
  if (!seen) {
    return { verdict: 'no_data', reason: `no cluster of subset '${subset}' reports requests (${subsets.length > 0 ? `subsets: ${subsets.join(', ')}` : matchedClusters(sidecar)})` };
  }
  if (total === 0) return { verdict: 'no_data', reason: `no requests were sent upstream (${matchedClusters(sidecar)})` };
  const percent = (sent * 100) / total;
  return { value: percent, observed: `${formatPercent(percent)} (${sent} of ${total} requests sent upstream)`, count: sent, of: total };
}

export const NO_SIDECAR: NoVerdict = { verdict: 'no_data', reason: 'no stats source: add sidecar: to the scenario' };

/** Why a stats check cannot look at `sidecar`, or undefined when it can. */
export function sidecarProblem(sidecar: SidecarReport | undefined): NoVerdict | undefined {
  if (sidecar === undefined) return NO_SIDECAR;
  if (sidecar.unavailable !== undefined) return { verdict: 'inconclusive', reason: `stats unavailable: ${sidecar.unavailable}` };
  return undefined;
}

/** Requests sent upstream per Istio subset ('' for clusters without one), over the clusters that
 * report them. */
export function requestsBySubset(sidecar: SidecarReport): Map<string, number> {
  const counts = new Map<string, number>();
  for (const cluster of sidecar.clusters) {
    const sent = cluster.view.requestsSent;
    if (sent !== undefined) counts.set(cluster.subset, (counts.get(cluster.subset) ?? 0) + sent);
  }
  return counts;
}

export function matchedClusters(sidecar: SidecarReport): string {
  const query = sidecar.clusterQuery === undefined ? '' : ` for '${sidecar.clusterQuery}'`;
  if (sidecar.clusters.length === 0) return `no cluster matched${query}`;
  const names = sidecar.clusters.map((c) => c.cluster);
  return `matched${query}: ${names.slice(0, 3).join(', ')}${names.length > 3 ? `, and ${names.length - 3} more` : ''}`;
}

export function observeAgreement(name: AgreementName, sidecar: SidecarReport | undefined): Outcome {
  const problem = sidecarProblem(sidecar);
  if (problem !== undefined || sidecar === undefined) return problem ?? NO_SIDECAR;
  const check = sidecar.agreement.find((a) => a.name === name);
  if (check === undefined) return { verdict: 'no_data', reason: `no ${name} agreement check: ${matchedClusters(sidecar)}` };
  if (check.agrees === undefined || check.proxy === undefined) return { verdict: 'no_data', reason: check.note };
  return { value: check.proxy, observed: `client ${check.client}, proxy ${check.proxy}` };
}
