/** Chooses the one service `meshload verify` checks out of files that configure several
 * (Bookinfo's destination-rule-all.yaml with a reviews VirtualService): `--host`, else the
 * service named by `--cluster`, else the URL's host. The other hosts' resources are kept aside,
 * to be listed as not verified. Host matching follows Istio's, see docs/verify-rules.md. */

import { usageError } from '../util/errors';
import type { DestinationRule, IstioPolicies, VirtualService } from './istio-policy';

/** A host as Istio resolves it: a Kubernetes service (name + namespace, the namespace unknown
 * when neither the host nor the manifest says it), a wildcard, or any other name taken as is. */
type Resolved =
  | { kind: 'service'; name: string; namespace: string | undefined }
  | { kind: 'wildcard'; suffix: string }
  | { kind: 'literal'; name: string };

export interface HostChoice {
  /** The host as the user wrote it, or the service's short name when only one is configured. */
  host: string;
  /** How it was chosen: `--host`, `--cluster`, `the URL`, or `the only host in the files`. */
  by: string;
  /** The policies of the chosen host only (a VirtualService keeps only its matching hosts). */
  policies: IstioPolicies;
  /** Resources of other hosts: not verified. */
  others: Array<DestinationRule | VirtualService>;
  /** DestinationRules chosen because a chosen VirtualService routes to their host, as
   * `DestinationRule productpage (productpage: a destination of VirtualService bookinfo)`. */
  routedTo?: string[];
}

const CLUSTER_DOMAIN = 'svc.cluster.local';

/** Istio resolves a short name (no dot) in the namespace of the rule, not of the service
 * (istio/api networking/v1alpha3/destination_rule.proto DestinationRule.host;
 * istio/istio pilot/pkg/model/config.go ResolveShortnameToFQDN); `*` and `*.suffix` are wildcards.
 * rule: 'host.short-name', rule: 'host.wildcard' */
export function resolveHost(host: string, namespace: string | undefined, client = false): Resolved {
  const lower = host.toLowerCase().replace(/\.$/, '');
  if (lower === '*') return { kind: 'wildcard', suffix: '' };
  if (lower.startsWith('*.')) return { kind: 'wildcard', suffix: lower.slice(1) };
  if (!lower.includes('.')) return { kind: 'service', name: lower, namespace };
  // A rule's dotted host is taken as written unless it is the FQDN; a client also reaches the
  // service as name.namespace and name.namespace.svc (its resolv.conf search list). rule: 'host.fqdn'
  const labels = lower.split('.');
  const [name, ns] = labels;
  const rest = labels.slice(2).join('.');
  if (name !== undefined && ns !== undefined && (rest === CLUSTER_DOMAIN || (client && (rest === '' || rest === 'svc')))) {
    return { kind: 'service', name, namespace: ns };
  }
  return { kind: 'literal', name: lower };
}

/** Whether a resource's host (resolved) applies to the wanted host. */
function matches(resource: Resolved, wanted: Resolved, wantedText: string): boolean {
  if (resource.kind === 'wildcard') {
    if (resource.suffix === '') return true;
    const text = wanted.kind === 'service' && wanted.namespace !== undefined ? `${wanted.name}.${wanted.namespace}.${CLUSTER_DOMAIN}` : wantedText.toLowerCase();
    return text.endsWith(resource.suffix);
  }
  if (resource.kind === 'literal') return resource.name === wantedText.toLowerCase().replace(/\.$/, '');
  // A host without namespace (neither written nor in metadata) is taken to be the wanted one's.
  return wanted.kind === 'service' && resource.name === wanted.name && (resource.namespace === undefined || wanted.namespace === undefined || resource.namespace === wanted.namespace);
}

/** How a resolved host reads in messages: `reviews`, `reviews.default`, `*.my-co.org`. */
function label(resolved: Resolved): string {
  if (resolved.kind === 'wildcard') return `*${resolved.suffix}`;
  if (resolved.kind === 'literal') return resolved.name;
  return resolved.namespace === undefined ? resolved.name : `${resolved.name}.${resolved.namespace}`;
}

interface Wanted {
  host: string;
  by: string;
}

/** The host an Envoy cluster name names: `outbound|9080|v1|reviews.default.svc.cluster.local`. */
export function hostOfCluster(cluster: string): string {
  const parts = cluster.split('|');
  return (parts.length === 4 ? parts[3] : cluster) ?? cluster;
}

/** The host chosen, or a usage error naming the candidates (checked before any request). */
export function selectHost(policies: IstioPolicies, input: { host: string | undefined; cluster: string | undefined; url: string }): HostChoice {
  const resources: Array<{ resource: DestinationRule | VirtualService; hosts: Resolved[] }> = [
    ...policies.destinationRules.map((d) => ({ resource: d, hosts: [resolveHost(d.host, d.origin.namespace)] })),
    ...policies.virtualServices.map((v) => ({ resource: v, hosts: v.hosts.map((h) => resolveHost(h, v.origin.namespace)) })),
  ];
  if (resources.length === 0) throw usageError('the files hold no DestinationRule or VirtualService', 'pass the manifests with -f dr.yaml -f vs.yaml');
  const candidates = [...new Set(resources.flatMap((r) => r.hosts.map(label)))];
  const wanted = wantedHost(input);
  const only = distinctServices(resources.flatMap((r) => r.hosts));
  if (wanted === undefined || (only !== undefined && wanted.by !== '--host')) {
    // One service in the files: the URL may be an address (a port-forward, a test proxy) and
    // --cluster a proxy's own cluster name; only --host must name it.
    if (only !== undefined) return { host: only, by: 'the only host in the files', policies: narrow(policies, () => true), others: [] };
    throw usageError(`the files configure several hosts (${candidates.join(', ')}) and none was chosen`, 'name one with --host, e.g. --host ' + (candidates[0] ?? 'reviews'));
  }
  const target = resolveHost(wanted.host, undefined, true);
  const hit = (h: Resolved): boolean => matches(h, target, wanted.host);
  const chosen = resources.filter((r) => r.hosts.some(hit));
  if (chosen.length === 0) {
    throw usageError(`${wanted.by} names ${wanted.host}, which no DestinationRule or VirtualService in the files configures (they configure ${candidates.join(', ')})`, `pass --host with one of them`);
  }
  // A short wanted host can match the same name in two namespaces: which one is meant is unknown.
  const services = new Set(chosen.flatMap((r) => r.hosts.filter(hit)).filter((h) => h.kind === 'service' && h.namespace !== undefined).map(label));
  if (services.size > 1) {
    throw usageError(`${wanted.host} (${wanted.by}) matches ${[...services].join(', ')}`, `name the namespace too, e.g. --host ${[...services][0] ?? ''}`);
  }
  const picked = new Set<DestinationRule | VirtualService>(chosen.map((r) => r.resource));
  const routedTo = destinationRules(resources, picked);
  return {
    ...(routedTo.length > 0 ? { routedTo } : {}),
    host: wanted.host,
    by: wanted.by,
    // The planner names one host: a VirtualService's matching hosts (wildcards too) become it.
    policies: narrow(policies, (r) => picked.has(r), () => [wanted.host]),
    others: resources.filter((r) => !picked.has(r.resource)).map((r) => r.resource),
  };
}

/** The DestinationRules of the hosts the chosen VirtualServices route to, added to `picked`:
 * Istio applies the destination's DestinationRule to routed traffic (istio/api
 * networking/v1alpha3/destination_rule.proto:22-23 @b8f8791d, "policies that apply to traffic intended for a service after
 * routing has occurred"). rule: 'host.route-destination' */
function destinationRules(resources: ReadonlyArray<{ resource: DestinationRule | VirtualService; hosts: Resolved[] }>, picked: Set<DestinationRule | VirtualService>): string[] {
  const routes = [...picked].flatMap((r) => ('http' in r ? r.http.flatMap((h) => h.destinations.map((d) => ({ vs: r.origin.name, host: d.host, to: resolveHost(d.host, r.origin.namespace) }))) : []));
  const said: string[] = [];
  for (const r of resources) {
    if (picked.has(r.resource) || !('subsets' in r.resource)) continue;
    const via = routes.find((d) => r.hosts.some((h) => matches(h, d.to, d.host)));
    if (via === undefined) continue;
    picked.add(r.resource);
    said.push(`DestinationRule ${r.resource.origin.name} (${via.host}: a destination of VirtualService ${via.vs})`);
  }
  return said;
}

function wantedHost(input: { host: string | undefined; cluster: string | undefined; url: string }): Wanted | undefined {
  if (input.host !== undefined && input.host !== '') return { host: input.host, by: '--host' };
  const fromCluster = input.cluster === undefined ? '' : hostOfCluster(input.cluster);
  if (fromCluster !== '') return { host: fromCluster, by: '--cluster' };
  let hostname: string;
  try {
    hostname = new URL(input.url).hostname;
  } catch {
    return undefined;
  }
  return hostname === '' ? undefined : { host: hostname, by: 'the URL' };
}

/** The one service all hosts name (short names and FQDNs of one name in one namespace), if so. */
function distinctServices(hosts: readonly Resolved[]): string | undefined {
  const labels = new Set(hosts.map((h) => (h.kind === 'service' ? h.name : label(h))));
  const namespaces = new Set(hosts.flatMap((h) => (h.kind === 'service' && h.namespace !== undefined ? [h.namespace] : [])));
  if (labels.size !== 1 || namespaces.size > 1) return undefined;
  return [...labels][0];
}

function narrow(policies: IstioPolicies, keep: (r: DestinationRule | VirtualService) => boolean, hostsOf?: (v: VirtualService) => string[]): IstioPolicies {
  return {
    destinationRules: policies.destinationRules.filter(keep),
    virtualServices: policies.virtualServices.filter(keep).map((v) => (hostsOf === undefined ? v : { ...v, hosts: hostsOf(v) })),
    notes: policies.notes,
  };
}
