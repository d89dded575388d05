/** Envoy's admin /clusters page (text form): per cluster, the circuit breaker thresholds as the
 * proxy applies them right now. A scenario waits on them to know a DestinationRule has reached
 * the sidecar before it loads the target (configuration reaches Envoy asynchronously). */
import type { StatsSource } from './stats-source';

export interface BreakerThresholds {
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
}

const THRESHOLD_KEYS: Record<string, keyof BreakerThresholds> = {
  max_connections: 'maxConnections',
  max_pending_requests: 'maxPendingRequests',
  max_requests: 'maxRequests',
  max_retries: 'maxRetries',
};

/** cluster -> its default-priority thresholds. Lines are `cluster::section::key::value`; host
 * lines (`cluster::1.2.3.4:80::stat::value`) and other sections are skipped. Cluster names never
 * contain `::` (Istio's use `|` and dots). */
export function parseClustersPage(text: string): Map<string, BreakerThresholds> {
  const clusters = new Map<string, BreakerThresholds>();
  for (const line of text.split('\n')) {
    const parts = line.trim().split('::');
    if (parts.length !== 4 || parts[1] !== 'default_priority') continue;
    const key = THRESHOLD_KEYS[parts[2] as string];
    const value = Number(parts[3]);
    if (key === undefined || !Number.isFinite(value)) continue;
    const name = (parts[0] as string).replace(/;$/, '');
    const thresholds = clusters.get(name) ?? {};
    thresholds[key] = value;
    clusters.set(name, thresholds);
  }
  return clusters;
}

/** Where /clusters is, given where the stats are: the admin URL's origin, or the same command
 * asking for `clusters` instead of `stats` (`pilot-agent request GET stats`, `curl .../stats`).
 * undefined when it cannot be told (a Prometheus-only port, a saved file). */
export function clustersSourceOf(stats: StatsSource): StatsSource | undefined {
  if (stats.kind === 'url') {
    const url = new URL(stats.url);
    if (!url.pathname.startsWith('/stats') || url.pathname.startsWith('/stats/prometheus')) return undefined;
    return { kind: 'url', url: `${url.origin}/clusters` };
  }
  if (stats.kind === 'command') {
    const matches = [...stats.command.matchAll(/\bstats\b/g)];
    const last = matches[matches.length - 1];
    if (last?.index === undefined) return undefined;
    return { kind: 'command', command: stats.command.slice(0, last.index) + 'clusters' + stats.command.slice(last.index + 'stats'.length) };
  }
  return undefined;
}
