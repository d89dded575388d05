/** How many endpoints the verified service has, as the client proxy sees them: the hosts of its
 * cluster on Envoy's admin /clusters page, or the count the user gave (`--endpoints N`). Envoy's
 * strict maxEjectionPercent weighs one ejection against this count, so it decides whether the
 * outlier detector can eject anything at all. Pure. */

/** The count with where it came from, as the plan names it. */
export interface EndpointCount {
  count: number;
  /** `--endpoints`, or `the proxy's /clusters (outbound|8000||httpbin.default.svc.cluster.local)`. */
  source: string;
}

/** The most endpoints believed: a larger count is a hostile or broken page, not a service. */
export const MAX_ENDPOINTS = 100_000;

/** `--endpoints N`: a whole number from 1; undefined for anything else. */
export function parseEndpoints(text: string): number | undefined {
  if (!/^\s*\d+\s*$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_ENDPOINTS ? n : undefined;
}

/** The endpoints of `service`'s cluster on a /clusters page (text form), or why not. The cluster
 * is the one `--cluster` names exactly, else Istio's `outbound|PORT||HOST` whose HOST starts with
 * the service's name (the whole service, no subset), on the URL's port when several ports match.
 * A host is a `cluster::ADDRESS::health_flags::...` line (every host has one). */
export function countEndpoints(text: string, want: { cluster: string | undefined; service: string; port: number | undefined }): EndpointCount | { reason: string } {
  const hosts = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const parts = line.trim().split('::');
    if (parts.length !== 4 || parts[2] !== 'health_flags') continue;
    // Istio >= 1.23 may end a cluster name with ';' on this page (MESH-FACTS).
    const name = (parts[0] as string).replace(/;$/, '');
    let set = hosts.get(name);
    if (set === undefined) hosts.set(name, (set = new Set()));
    if (set.size < MAX_ENDPOINTS) set.add(parts[1] as string);
  }
  let names: string[];
  if (want.cluster !== undefined && want.cluster !== '') {
    names = [...hosts.keys()].filter((n) => n === want.cluster);
  } else {
    const service = want.service.toLowerCase().split('.')[0] ?? '';
    names = [...hosts.keys()].filter((n) => {
      const [direction, , subset, host] = n.split('|');
      return direction === 'outbound' && subset === '' && (host ?? '').toLowerCase().split('.')[0] === service;
    });
    if (names.length > 1 && want.port !== undefined) names = names.filter((n) => n.split('|')[1] === String(want.port));
  }
  if (names.length === 0) return { reason: `no cluster of ${want.cluster ?? `outbound|PORT||${want.service}`} with hosts on the proxy's /clusters page` };
  const counts = new Set(names.map((n) => hosts.get(n)?.size ?? 0));
  if (counts.size > 1) return { reason: `clusters ${names.join(', ')} have different host counts (${[...counts].join(', ')}): pass --cluster or --endpoints` };
  return { count: [...counts][0] as number, source: `the proxy's /clusters (${names.join(', ')})` };
}
