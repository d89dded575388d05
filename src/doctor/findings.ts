/** `meshload doctor`'s findings: one line each, ✓ good, ✗ a problem (with its fix), ! not
 * checked or worth knowing. Pure: each finding is made from data the command gathered. */
import { paint, PLAIN, type Paint, type Screen } from '../report/screen';
import { hasOutboundClusters } from '../stats/cluster-stats';
import { ISTIO_STATS_ANNOTATION, noMatch } from '../stats/sidecar-report';

export type Mark = 'ok' | 'fail' | 'warn';

export interface Finding {
  mark: Mark;
  text: string;
  /** What to do about it; every `fail` has one. */
  fix?: string;
}

const SYMBOL: Readonly<Record<Mark, string>> = { ok: '✓', fail: '✗', warn: '!' };
const STYLE: Readonly<Record<Mark, Paint>> = { ok: 'green', fail: 'red', warn: 'yellow' };

export function renderFindings(findings: readonly Finding[], screen: Screen = PLAIN): string {
  return findings.map((f) => `${paint(screen, STYLE[f.mark], SYMBOL[f.mark])} ${f.text}${f.fix === undefined ? '' : ` (fix: ${f.fix})`}\n`).join('');
}

/** The UID the meshload image runs as. */
const IMAGE_UID = 10001;
/** MESH-FACTS: Istio's iptables rules never capture traffic from the proxy's own user. */
const PROXY_UID = 1337;

export function nodeFinding(version: string): Finding {
  const major = Number(/^v?(\d+)/.exec(version)?.[1]);
  if (major >= 20) return { mark: 'ok', text: `Node.js ${version}` };
  return { mark: 'fail', text: `Node.js ${version}: meshload needs Node.js 20 or later`, fix: 'use the meshload image, or install Node.js 20' };
}

/** A failure, not a warning: `meshload load` refuses to run as 1337, and every measurement made
 * as that user would be of traffic that never met the sidecar. */
export function uidFinding(uid: number | undefined): Finding {
  if (uid === undefined) return { mark: 'warn', text: 'user id unknown on this platform: cannot tell whether the sidecar intercepts this process' };
  if (uid === PROXY_UID) {
    return {
      mark: 'fail',
      text: `running as UID ${PROXY_UID}, the Istio proxy's own user: iptables never sends its traffic through the sidecar, so load from it bypasses the mesh silently`,
      fix: `run as another user, e.g. securityContext.runAsUser: ${IMAGE_UID} (the meshload image's user)`,
    };
  }
  if (uid === 0) return { mark: 'ok', text: `running as root (UID 0): the sidecar intercepts it; the meshload image runs as UID ${IMAGE_UID}` };
  return { mark: 'ok', text: `running as UID ${uid}: the sidecar intercepts it (only UID ${PROXY_UID} is exempt)` };
}

export function statsFinding(source: string, outcome: { ok: true; format: string; clusters: number } | { ok: false; error: string }, defaulted: boolean): Finding {
  if (outcome.ok) return { mark: 'ok', text: `proxy stats answer at ${source} (${outcome.format}, ${outcome.clusters} clusters)` };
  return {
    mark: 'fail',
    text: `proxy stats did not answer (${source}): ${outcome.error}`,
    fix: defaulted
      ? 'inside a meshed pod the sidecar admin is http://localhost:15000/stats: check the pod has an istio-proxy container (injection label sidecar.istio.io/inject: "true"); from outside give --stats-pod POD'
      : 'check the stats source (--stats URL, --stats-cmd, --stats-pod); inside a meshed pod it is http://localhost:15000/stats',
  };
}

/** The cluster to look for: `--cluster`, else the URL's host and port (matchCluster reads
 * `httpbin:8000` as the service and port). An address names no service, so it gives none. */
export function clusterQueryOf(cluster: string | undefined, url: string | undefined): string | undefined {
  if (cluster !== undefined) return cluster;
  if (url === undefined) return undefined;
  const parsed = new URL(url);
  const host = parsed.hostname;
  if (/^[\d.]+$/.test(host) || host.startsWith('[') || host === 'localhost') return undefined;
  const port = parsed.port !== '' ? parsed.port : parsed.protocol === 'https:' ? '443' : '80';
  return `${host}:${port}`;
}

export function clusterFinding(query: string, matched: readonly string[], allClusters: ReadonlySet<string>): Finding {
  if (matched.length > 0) {
    const shown = matched.slice(0, 3).join(', ') + (matched.length > 3 ? `, and ${matched.length - 3} more` : '');
    return { mark: 'ok', text: `cluster '${query}' is in the stats: ${shown}` };
  }
  // The annotation is the fix only when Istio hides every outbound cluster; a typo gets the
  // names that are there (the same sentence load --stats and meshload stats print).
  const hidden = !hasOutboundClusters(allClusters);
  return {
    mark: 'fail',
    text: `cluster '${query}' is not in the proxy's stats (${allClusters.size} clusters are): meshload cannot see what the proxy did to this traffic`,
    fix: hidden
      ? `Istio hides cluster.outbound stats by default: add the annotation ${ISTIO_STATS_ANNOTATION} to this pod and restart it (read at proxy start); or check the name with 'meshload stats SOURCE'`
      : `${noMatch(query, allClusters)}: give that name with --cluster, or the URL the service is called by`,
  };
}

export type Probe = { ok: true; status: number } | { ok: false; error: string };

/** One request to the target, and how far the cluster's upstream request counter moved meanwhile
 * (undefined: the proxy does not report it). MESH-FACTS: the proof a request crossed the sidecar is
 * the counter moving, not a header. */
export function interceptionFinding(url: string, query: string, probe: Probe, moved: number | undefined): Finding {
  if (!probe.ok) {
    return { mark: 'fail', text: `GET ${url} failed: ${probe.error}`, fix: 'check the URL, and that the service answers from this pod' };
  }
  if (moved === undefined) return { mark: 'warn', text: `GET ${url} answered ${probe.status}, but this proxy does not report requests sent upstream: interception not checked` };
  if (moved >= 1) {
    return {
      mark: 'ok',
      text: `traffic goes through the proxy: GET ${url} answered ${probe.status} and the request counter of '${query}' moved by ${moved}${moved > 1 ? ' (other traffic through it too)' : ''}`,
    };
  }
  return {
    mark: 'fail',
    text: `GET ${url} answered ${probe.status} but the request counter of '${query}' did not move: the traffic bypassed the proxy`,
    fix: `do not run as UID ${PROXY_UID}; check the port is not excluded from interception (traffic.sidecar.istio.io/excludeOutboundPorts); the URL must name the service behind '${query}', and the stats must be this pod's own sidecar`,
  };
}
