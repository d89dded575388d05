/** Attributes stat samples to upstream clusters: Envoy stat names (`cluster.<name>.<stat>`, with
 * Istio's `|`-and-dots cluster names, with or without the `;` of Istio >= 1.23), Envoy's and
 * Istio's Prometheus series (cluster as a label), and HAProxy's exporter (backend = cluster).
 * Also: matching `--cluster httpbin` against cluster names, and reading Istio cluster names. */

import { editDistance } from '../util/suggest';
import { statKey, type ClusterStat, type StatSample } from './stat-sample';

// ---- Envoy stat names -------------------------------------------------------------------------

/** Single-segment stats under `cluster.<name>.` (Envoy cluster_stats.rst: general, load
 * balancer, subset, timeout budget, request/response size, update and assignment stats). */
const LEAF_PREFIXES = ['upstream_', 'membership_', 'lb_', 'update_', 'assignment_', 'original_dst_'];
const LEAF_NAMES: ReadonlySet<string> = new Set([
  'bind_errors',
  'config_reload',
  'init_fetch_timeout',
  'max_host_weight',
  'retry_or_shadow_abandoned',
  'version',
  'version_text',
  'warming_state',
]);

/** Sub-trees whose stats are one segment below the tree name: outlier detection, health check,
 * codec (http1/http2/http3), TCP stats socket, TLS socket factory, ring hash and Maglev, and
 * Istio's metadata exchange. Names with `_` can never be a DNS label of an Istio FQDN. */
const SUBTREES: ReadonlySet<string> = new Set([
  'client_ssl_socket_factory',
  'health_check',
  'http1',
  'http2',
  'http3',
  'maglev_lb',
  'metadata_exchange',
  'outlier_detection',
  'ring_hash_lb',
  'tcp_stats',
]);

/** Dynamic HTTP trees (`retry.`, `canary.`, `internal.`, `external.`) hold only these stats, so a
 * host label such as `internal` in `db.internal` is taken for a tree only before one of them. */
const DYNAMIC_HTTP_LEAF = /^upstream_rq_(completed|time|\d{3}|\dxx)$/;
const CIRCUIT_BREAKER_PRIORITIES: ReadonlySet<string> = new Set(['default', 'high']);
const SSL_SUBTREES = ['ciphers.', 'curves.', 'sigalgs.', 'versions.', 'certificate.'];

/** Whether `rest` (what follows `cluster.<name>.`) has the shape of an Envoy cluster stat. */
export function isEnvoyClusterStat(rest: string): boolean {
  const dot = rest.indexOf('.');
  if (dot === -1) return LEAF_NAMES.has(rest) || LEAF_PREFIXES.some((prefix) => rest.startsWith(prefix) && rest.length > prefix.length);
  const head = rest.slice(0, dot);
  const tail = rest.slice(dot + 1);
  if (tail.length === 0) return false;
  const tailDot = tail.indexOf('.');
  if (SUBTREES.has(head)) return tailDot === -1;
  switch (head) {
    case 'circuit_breakers': {
      // circuit_breakers.<priority>.<stat>
      const parts = tail.split('.');
      return parts.length === 2 && CIRCUIT_BREAKER_PRIORITIES.has(parts[0] ?? '') && parts[1] !== '';
    }
    case 'retry':
    case 'canary':
    case 'internal':
    case 'external':
      return DYNAMIC_HTTP_LEAF.test(tail);
    case 'zone': {
      // zone.<from_zone>.<to_zone>.upstream_rq_<...>
      const parts = tail.split('.');
      return parts.length === 3 && parts[0] !== '' && parts[1] !== '' && DYNAMIC_HTTP_LEAF.test(parts[2] ?? '');
    }
    case 'ssl':
      // ssl.handshake, ssl.ciphers.<cipher>, ssl.versions.TLSv1.3, ssl.certificate.<name>.<stat>
      return tailDot === -1 || SSL_SUBTREES.some((subtree) => tail.startsWith(subtree) && tail.length > subtree.length);
    default:
      // Transport socket matches count under `<match name>.total_match_count`: Envoy's
      // `default`, Istio's `tlsMode-istio` and `tlsMode-disabled`.
      return tail === 'total_match_count';
  }
}

/** Splits `cluster.<name>.<stat>` into cluster and stat; undefined for other names and for
 * stats of a shape Envoy does not define (never a guess at the split).
 *
 * Istio >= 1.23 ends the cluster part with `;` (`cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_total`):
 * the split is at the first `;.`. Without it the name is ambiguous, because cluster names hold
 * dots; the split is at the first dot after which the rest has the shape of a cluster stat
 * (`isEnvoyClusterStat`), starting after the third `|` of an Istio name. When a name still splits
 * two ways (cluster `db.internal` + `upstream_rq_200`, or cluster `db` + `internal.upstream_rq_200`)
 * the first split wins unless `knownClusters` names one of the candidates. */
export function splitEnvoyClusterStat(name: string, knownClusters?: ReadonlySet<string>): { cluster: string; stat: string } | undefined {
  if (!name.startsWith('cluster.')) return undefined;
  const rest = name.slice(8);
  const semicolon = rest.indexOf(';.');
  if (semicolon > 0) {
    const stat = rest.slice(semicolon + 2);
    return stat.length > 0 ? { cluster: rest.slice(0, semicolon), stat } : undefined;
  }
  let from = 1;
  if (rest.startsWith('outbound|') || rest.startsWith('inbound|')) {
    const third = nthIndexOf(rest, '|', 3);
    if (third !== -1) from = third + 1;
  }
  let first: { cluster: string; stat: string } | undefined;
  for (let dot = rest.indexOf('.', from); dot !== -1; dot = rest.indexOf('.', dot + 1)) {
    const stat = rest.slice(dot + 1);
    if (!isEnvoyClusterStat(stat)) continue;
    const candidate = { cluster: rest.slice(0, dot), stat };
    if (knownClusters === undefined || knownClusters.has(candidate.cluster)) return candidate;
    first ??= candidate;
  }
  return first;
}

function nthIndexOf(text: string, search: string, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = text.indexOf(search, at + 1);
    if (at === -1) return -1;
  }
  return at;
}

// ---- Prometheus series ------------------------------------------------------------------------

/** Cluster labels in order of preference: Istio's bootstrap names its tag `cluster_name`, plain
 * Envoy's default tag extractor `envoy.cluster_name`, Envoy's own formatter tests `cluster`. */
const CLUSTER_LABELS = ['cluster_name', 'envoy_cluster_name', 'cluster'];
const CODE_LABELS = ['response_code', 'envoy_response_code'];
const CLASS_LABELS = ['response_code_class', 'envoy_response_code_class'];

/** The cluster stats a sample contributes (zero or one). Envoy text/JSON names go through
 * `splitEnvoyClusterStat`; Prometheus series need a cluster label (`envoy_cluster_*`) or are
 * HAProxy backends and servers. Prometheus stats use the metric's spelling (`_` for `.`), which
 * `key` makes equal to the Envoy text spelling.
 *
 * Response codes: Envoy's tag extractors move the code out of the name, so Istio's
 * `envoy_cluster_upstream_rq{response_code="503"}` is stat `upstream_rq_503` and
 * `{response_code_class="5xx"}` is `upstream_rq_5xx`; plain Envoy's
 * `envoy_cluster_upstream_rq_xx{envoy_response_code_class="5"}` is `upstream_rq_5xx` too. Each
 * series thus keeps its own stat and nothing is counted twice. A series carrying both labels (no
 * Envoy or Istio extractor makes one) is taken as the specific code and the class is dropped: a
 * code's count is always part of its class, never another series to add to it.
 *
 * Other labels (histogram `le`, summary `quantile`, HAProxy `code` and `state`, Envoy's SSL tags)
 * stay in the stat as a sorted selector, `http_responses_total{code="5xx"}`, so no two series of
 * one cluster collapse into one stat. */
export function clusterStatsOf(sample: StatSample, knownClusters?: ReadonlySet<string>): ClusterStat[] {
  const name = sample.name;
  if (name.startsWith('cluster.')) {
    const split = splitEnvoyClusterStat(name, knownClusters);
    return split === undefined ? [] : [clusterStat(split.cluster, split.stat, sample)];
  }
  if (name.startsWith('envoy_cluster_')) return envoyPrometheusStat(sample);
  if (name.startsWith('haproxy_backend_') || name.startsWith('haproxy_server_')) return haproxyStat(sample);
  return [];
}

function envoyPrometheusStat(sample: StatSample): ClusterStat[] {
  const labels = sample.labels;
  const clusterLabel = CLUSTER_LABELS.find((label) => labels[label] !== undefined);
  if (clusterLabel === undefined) return []; // envoy_cluster_manager_* and the like: no cluster
  const used = new Set<string>([clusterLabel]);
  let stat = sample.name.slice('envoy_cluster_'.length);
  const codeLabel = CODE_LABELS.find((label) => labels[label] !== undefined);
  const classLabel = CLASS_LABELS.find((label) => labels[label] !== undefined);
  if (codeLabel !== undefined && stat.endsWith('upstream_rq')) {
    stat = `${stat}_${labels[codeLabel] ?? ''}`;
    used.add(codeLabel);
    if (classLabel !== undefined) used.add(classLabel);
  } else if (classLabel !== undefined) {
    const value = labels[classLabel] ?? '';
    if (stat.endsWith('upstream_rq') && /^\dxx$/.test(value)) {
      stat = `${stat}_${value}`; // Istio: _rq(_(\dxx))$
      used.add(classLabel);
    } else if (stat.endsWith('upstream_rq_xx') && /^\d$/.test(value)) {
      stat = `${stat.slice(0, -2)}${value}xx`; // Envoy: _rq_((\d))xx$ leaves `_rq_xx`
      used.add(classLabel);
    }
  }
  return [clusterStat(labels[clusterLabel] ?? '', withLabels(stat, labels, used), sample)];
}

/** HAProxy's exporter: a backend is the cluster; a server's series go under `server.<name>.` so
 * they never add into the backend's own totals. Frontends and listeners are not clusters. */
function haproxyStat(sample: StatSample): ClusterStat[] {
  const labels = sample.labels;
  const proxy = labels.proxy;
  if (proxy === undefined) return [];
  if (sample.name.startsWith('haproxy_backend_')) {
    return [clusterStat(proxy, withLabels(sample.name.slice('haproxy_backend_'.length), labels, new Set(['proxy'])), sample)];
  }
  const server = labels.server;
  if (server === undefined) return [];
  const stat = `server.${server}.${sample.name.slice('haproxy_server_'.length)}`;
  return [clusterStat(proxy, withLabels(stat, labels, new Set(['proxy', 'server'])), sample)];
}

function withLabels(stat: string, labels: Readonly<Record<string, string>>, used: ReadonlySet<string>): string {
  const rest = Object.keys(labels)
    .filter((label) => !used.has(label))
    .sort();
  if (rest.length === 0) return stat;
  return `${stat}{${rest.map((label) => `${label}=${JSON.stringify(labels[label])}`).join(',')}}`;
}

function clusterStat(cluster: string, stat: string, sample: StatSample): ClusterStat {
  return { cluster: stripSemicolon(cluster), stat, key: statKey(stat), kind: sample.kind, value: sample.value };
}

function stripSemicolon(cluster: string): string {
  return cluster.endsWith(';') ? cluster.slice(0, -1) : cluster;
}

// ---- Istio cluster names ----------------------------------------------------------------------

export interface IstioCluster {
  direction: 'outbound' | 'inbound';
  port: number;
  /** DestinationRule subset (`v2`), '' when none. Old inbound names carry the port name here. */
  subset: string;
  /** `httpbin.default.svc.cluster.local`; '' for current inbound clusters (`inbound|8080||`). */
  fqdn: string;
  /** The first label of the FQDN (`httpbin`); '' when there is no FQDN. */
  service: string;
}

/** Reads `outbound|PORT|SUBSET|FQDN` (and `inbound|...`), plus the SNI form gateways use for
 * AUTO_PASSTHROUGH, `outbound_.PORT_.SUBSET_.FQDN`. A trailing `;` (Istio >= 1.23) is ignored. */
export function parseIstioCluster(name: string): IstioCluster | undefined {
  const cluster = stripSemicolon(name);
  let parts: string[];
  if (cluster.startsWith('outbound|') || cluster.startsWith('inbound|')) {
    parts = cluster.split('|');
    if (parts.length !== 4) return undefined;
  } else {
    const sni = /^(outbound|inbound)_\.(\d+)_\.([^.]*)_\.(.+)$/.exec(cluster);
    if (sni === null) return undefined;
    parts = [sni[1] ?? '', sni[2] ?? '', sni[3] === '_' ? '' : (sni[3] ?? ''), sni[4] ?? ''];
  }
  const [direction, portText = '', subset = '', fqdn = ''] = parts;
  if (direction !== 'outbound' && direction !== 'inbound') return undefined;
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  const dot = fqdn.indexOf('.');
  return { direction, port, subset, fqdn, service: dot === -1 ? fqdn : fqdn.slice(0, dot) };
}

/** Whether `--cluster QUERY` names `cluster`. A query matches:
 * - the full cluster name, exactly (`;` ignored), whatever the proxy;
 * - for an Istio *outbound* cluster: its FQDN, or any leading part of it that ends at a dot
 *   (`httpbin`, `httpbin.default`, `httpbin.default.svc.cluster.local`), optionally with
 *   `:PORT` (`httpbin:8000`). Every subset cluster of the service matches; group them with
 *   `clusterGroup`;
 * - an Istio cluster name with a short host (`outbound|9080|v2|reviews`, `inbound|9080||reviews`):
 *   same direction and port, same subset unless the query has none, host matched as above.
 *   Naming the direction is the one way to select inbound clusters by service.
 * Inbound clusters match only their full name: on the load generator's own sidecar they are the
 * client's inbound side, and old inbound names (`inbound|9080||reviews.default.svc.cluster.local`)
 * would otherwise match `reviews` and add the server side's counts to the client's.
 * One query may match several clusters (ports, subsets, a ServiceEntry `httpbin.org` next to
 * `httpbin.default...`): callers should show what matched. */
export function matchCluster(query: string, cluster: string): boolean {
  const q = stripSemicolon(query.trim());
  const name = stripSemicolon(cluster);
  if (q.length === 0) return false;
  if (q === name) return true;
  const istio = parseIstioCluster(name);
  if (istio === undefined) return false;
  const asCluster = parseIstioCluster(q);
  if (asCluster !== undefined) {
    return (
      asCluster.direction === istio.direction &&
      asCluster.port === istio.port &&
      (asCluster.subset === '' || asCluster.subset === istio.subset) &&
      asCluster.fqdn.length > 0 &&
      hostMatches(asCluster.fqdn, istio.fqdn)
    );
  }
  if (istio.direction !== 'outbound' || istio.fqdn.length === 0) return false;
  let host = q;
  const colon = host.lastIndexOf(':');
  if (colon !== -1) {
    const port = host.slice(colon + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) !== istio.port) return false;
    host = host.slice(0, colon);
  }
  return host.length > 0 && hostMatches(host, istio.fqdn);
}

/** DNS names compare without case, and a short name matches up to a dot only. */
function hostMatches(query: string, fqdn: string): boolean {
  const q = query.toLowerCase();
  const f = fqdn.toLowerCase();
  return f === q || f.startsWith(`${q}.`);
}

/** The group a cluster's stats are reported under, and its subset within it: Istio subset
 * clusters of one service and port (`outbound|9080|v1|reviews...`, `outbound|9080|v2|reviews...`)
 * share the group `outbound|9080||reviews...`, so a weighted split reads per subset. Other
 * clusters are their own group with subset ''. */
export function clusterGroup(cluster: string): { group: string; subset: string } {
  const name = stripSemicolon(cluster);
  const istio = parseIstioCluster(name);
  if (istio === undefined) return { group: name, subset: '' };
  return { group: `${istio.direction}|${istio.port}||${istio.fqdn}`, subset: istio.subset };
}

// ---- No match: what the user may have meant ---------------------------------------------------

/** Clusters every Istio sidecar has whatever its proxyStatsMatcher: the control plane, the
 * agent, Prometheus and the catch-all passthrough clusters. */
const ISTIO_OWN_CLUSTER = /^(xds-grpc|sds-grpc|agent|prometheus_stats|BlackHoleCluster|PassthroughCluster|InboundPassthroughCluster\w*)$/;

/** Whether a dump holds stats of any cluster a load could go to: an outbound Istio cluster, or
 * any cluster of a proxy that is not Istio (plain Envoy clusters, HAProxy backends). A sidecar
 * without Istio's proxyStatsMatcher annotation has none. */
export function hasOutboundClusters(clusters: Iterable<string>): boolean {
  for (const name of clusters) {
    const cluster = stripSemicolon(name);
    if (ISTIO_OWN_CLUSTER.test(cluster)) continue;
    if (parseIstioCluster(cluster)?.direction === 'inbound') continue;
    return true;
  }
  return false;
}

/** Most names offered after "did you mean". */
const MAX_SUGGESTIONS = 3;

/** The names `--cluster` takes (an Istio service's short name and FQDN, any other cluster's
 * full name) closest to a query that matched nothing, if close enough to be a typo (`suggest`'s
 * bound); ties all offered, up to three. */
export function suggestClusters(query: string, clusters: Iterable<string>): string[] {
  const q = query.trim().toLowerCase();
  const names = new Set<string>();
  for (const name of clusters) {
    const cluster = stripSemicolon(name);
    const istio = parseIstioCluster(cluster);
    if (istio?.direction === 'outbound' && istio.fqdn !== '') {
      names.add(istio.service);
      names.add(istio.fqdn);
    } else if (!ISTIO_OWN_CLUSTER.test(cluster)) names.add(cluster);
  }
  return closest(q, names);
}

/** The short names of a dump's outbound clusters, as `--cluster` takes them: an Istio service's
 * short name, any other cluster's full name (Istio's own and inbound clusters left out). */
export function outboundClusterNames(clusters: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const name of clusters) {
    const cluster = stripSemicolon(name);
    const istio = parseIstioCluster(cluster);
    if (istio?.direction === 'outbound' && istio.service !== '') names.add(istio.service);
    else if (istio === undefined && !ISTIO_OWN_CLUSTER.test(cluster)) names.add(cluster);
  }
  return [...names].sort();
}

function closest(q: string, names: ReadonlySet<string>): string[] {
  const allowed = Math.max(1, Math.floor(Math.max(q.length, 3) * 0.4));
  let best = Infinity;
  let found: string[] = [];
  for (const name of names) {
    const distance = editDistance(q, name.toLowerCase());
    if (distance > allowed || distance > best) continue;
    if (distance < best) found = [];
    best = distance;
    found.push(name);
  }
  return found.sort().slice(0, MAX_SUGGESTIONS);
}
