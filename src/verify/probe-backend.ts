/** Which server answers behind the target, asked with one request before planning, so that
 * verify asks the upstream only for faults it honours: the meshload server and Fortio read echo
 * parameters from the query, httpbin has paths, anything else is asked for nothing. The probe
 * uses its own plain request (not the load transport), so it counts nowhere in the results. */
import * as http from 'node:http';
import * as https from 'node:https';
import { printable } from '../server/echo-header';
import { formatDuration, parseDuration } from '../util/duration';
import { redactUrl } from '../util/redact';
import { clustersSourceOf } from '../stats/clusters-page';
import { countEndpoints, type EndpointCount } from './endpoint-count';
import { detectIstioVersion, type IstioVersion } from './istio-version';
import type { Backend } from './plan-types';

/** A probe answer's body, at most: enough for httpbin's /get JSON and an error line. */
const MAX_PROBE_BODY = 64 * 1024;
/** One probe's time limit when the caller gives none. */
const PROBE_TIMEOUT_MS = 5000;
/** Answer text quoted in a probe's one-line evidence, at most. */
const QUOTED = 80;
/** The longest delay verify asks a server for just to learn its cap. */
const MAX_DELAY_PROBE_MS = 30_000;
/** Probe requests at most, when the answers are 5xx: an injected abort of 50% still leaves the
 * probe a 97% chance of an answer from the server itself. */
const PROBE_TRIES = 5;
/** Stats text read to find the proxy's Istio version, at most (a full sidecar dump is larger:
 * the version line is looked for in what arrived). */
const MAX_STATS_BODY = 4 * 1024 * 1024;
/** The response header a meshload or Fortio echo server sets because the probe asks it to. */
const PROBE_HEADER = 'x-meshload-probe';

export interface BackendProbe {
  backend: Backend;
  /** One line: what the answer showed, or why the probe failed. */
  evidence: string;
}

interface ProbeAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One GET to `{origin}/get` carrying a malformed echo parameter and a header request: the
 * meshload server refuses the parameter with its own 400 line, Fortio ignores it and sets the
 * header, httpbin answers its /get JSON. A failed or unrecognised answer is 'unknown'; a 5xx is
 * asked again, up to PROBE_TRIES requests. */
export async function probeBackend(target: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<BackendProbe> {
  const url = new URL(target);
  url.pathname = '/get';
  url.search = `status=meshload-probe&header=${PROBE_HEADER}:1`;
  let answer: ProbeAnswer | undefined;
  // A 5xx is likely the mesh's (an injected abort, an open breaker), not the server's: try again,
  // at most PROBE_TRIES requests in all.
  for (let tries = 0; tries < PROBE_TRIES && (answer === undefined || answer.status >= 500); tries++) {
    try {
      answer = await get(url, timeoutMs);
    } catch (error) {
      return { backend: 'unknown', evidence: `the probe GET ${redactUrl(url.toString())} failed: ${reason(error)}` };
    }
  }
  if (answer === undefined) return { backend: 'unknown', evidence: 'no probe was sent' };
  const line = quote(answer.body);
  if (answer.status === 400 && answer.body.startsWith('meshload echo:')) {
    return { backend: 'meshload', evidence: `a meshload server: it refused the probe's bad parameter with "${line}"` };
  }
  // Since the echo audit a meshload server answers a bad status= as Fortio (400, echoing) and
  // names the value in x-meshload-ignored: that header tells it from Fortio.
  const ignored = answer.headers['x-meshload-ignored'];
  if (answer.status === 400 && typeof ignored === 'string' && ignored.includes('status=meshload-probe')) {
    return { backend: 'meshload', evidence: `a meshload server: it refused the probe's bad parameter (x-meshload-ignored: ${quote(ignored)})` };
  }
  if (answer.headers[PROBE_HEADER] === '1') {
    return { backend: 'fortio', evidence: `an echo server taking Fortio's parameters: it set the ${PROBE_HEADER} header the probe asked for (status ${answer.status})` };
  }
  if (answer.status === 200 && isHttpbinGet(answer.body)) {
    return { backend: 'httpbin', evidence: "httpbin: GET /get answered its JSON (args, headers, url)" };
  }
  return { backend: 'unknown', evidence: `the probe GET /get answered ${answer.status} ${line === '' ? '(empty)' : `"${line}"`}, like no meshload server, Fortio or httpbin` };
}

export interface DelayCapProbe {
  /** The server's delay cap when it clamped; `delayMs` when it held the call that long;
   * undefined when the answer did not tell. */
  capMs: number | undefined;
  evidence: string;
}

/** Asks the meshload server for a `delayMs` delay: it answers after at most its cap and says so
 * in x-meshload-clamped (`delay=3s>1.5s`). Costs up to `delayMs`; a proxy timeout on the way
 * (the route under test may cut it) tells nothing, and says so. */
export async function probeDelayCap(target: string, delayMs: number): Promise<DelayCapProbe> {
  if (delayMs > MAX_DELAY_PROBE_MS) {
    return { capMs: undefined, evidence: `the plan needs a ${formatDuration(delayMs)} delay: too long to probe (over ${formatDuration(MAX_DELAY_PROBE_MS)}); pass --max-echo-delay if the server allows it` };
  }
  const url = new URL(target);
  url.search = url.search === '' ? `delay=${formatDuration(delayMs)}` : `${url.search.slice(1)}&delay=${formatDuration(delayMs)}`;
  let answer: ProbeAnswer;
  try {
    answer = await get(url, delayMs + PROBE_TIMEOUT_MS);
  } catch (error) {
    return { capMs: undefined, evidence: `the delay probe failed: ${reason(error)}` };
  }
  const clamped = answer.headers['x-meshload-clamped'];
  if (typeof clamped === 'string') {
    const cap = parseDuration(/>(\S+?)(?:,|$)/.exec(clamped)?.[1] ?? '');
    if (cap !== undefined) return { capMs: cap, evidence: `the server caps delays at ${formatDuration(cap)} (x-meshload-clamped: ${quote(clamped)})` };
  }
  if (answer.status >= 200 && answer.status < 300) return { capMs: delayMs, evidence: `the server held a ${formatDuration(delayMs)} delay unclamped` };
  return { capMs: undefined, evidence: `the delay probe answered ${answer.status} without x-meshload-clamped (a proxy timeout on the way?), so the cap is unknown` };
}

export interface VersionProbe {
  version: IstioVersion | undefined;
  evidence: string;
}

/** The proxy's Istio version from its stats URL (one GET): Istio's merged Prometheus output
 * (`:15020/stats/prometheus`) carries `istio_build{component="proxy",tag=...}`; Envoy's own
 * admin /stats does not, and then the version stays unknown. */
export async function probeIstioVersion(statsUrl: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<VersionProbe> {
  let answer: ProbeAnswer;
  try {
    answer = await get(new URL(statsUrl), timeoutMs, MAX_STATS_BODY);
  } catch (error) {
    return { version: undefined, evidence: `the stats GET ${redactUrl(statsUrl)} failed: ${reason(error)}` };
  }
  const version = answer.status === 200 ? detectIstioVersion(answer.body) : undefined;
  if (version === undefined) return { version, evidence: `the stats (${answer.status}) carry no istio_build metric of the proxy: pass --istio-version` };
  return { version, evidence: `the proxy reports ${version.source}` };
}

/** The service's endpoint count from the proxy's admin /clusters page beside its `--stats` URL
 * (one GET, bounded like the stats read), or why it is unknown. */
export async function probeEndpoints(statsUrl: string, want: { cluster: string | undefined; service: string; port: number | undefined }, timeoutMs = PROBE_TIMEOUT_MS): Promise<EndpointCount | { reason: string }> {
  let source;
  try {
    source = clustersSourceOf({ kind: 'url', url: statsUrl });
  } catch {
    source = undefined;
  }
  if (source?.kind !== 'url') return { reason: `${redactUrl(statsUrl)} is not Envoy's admin /stats, so its /clusters page is not known` };
  let answer: ProbeAnswer;
  try {
    answer = await get(new URL(source.url), timeoutMs, MAX_STATS_BODY);
  } catch (error) {
    return { reason: `the GET ${redactUrl(source.url)} failed: ${reason(error)}` };
  }
  if (answer.status !== 200) return { reason: `${redactUrl(source.url)} answered ${answer.status}` };
  // A page cut at the cap may have lost hosts: a low count would claim nothing ejects.
  if (Buffer.byteLength(answer.body) >= MAX_STATS_BODY) return { reason: `${redactUrl(source.url)} is over ${MAX_STATS_BODY} bytes, so its host count may be short: pass --endpoints` };
  return countEndpoints(answer.body, want);
}

function get(url: URL, timeoutMs: number, maxBody = MAX_PROBE_BODY): Promise<ProbeAnswer> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { timeout: timeoutMs, headers: { 'user-agent': 'meshload-verify-probe' } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const done = (): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.on('data', (chunk: Buffer) => {
        // Bounded: an endless body is cut at the cap and judged on what arrived.
        const room = maxBody - bytes;
        chunks.push(chunk.subarray(0, room));
        bytes += Math.min(room, chunk.length);
        if (bytes >= maxBody) {
          res.destroy();
          done();
        }
      });
      res.on('end', done);
      res.on('error', reject);
    });
    // The whole exchange, not only socket idleness, is bounded: a trickling server cannot hold it.
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${formatDuration(timeoutMs)}`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${formatDuration(timeoutMs)}`)));
    req.on('error', reject);
  });
}

/** An error's message, one bounded printable line (errors from Node's own realm included). */
function reason(error: unknown): string {
  const message = typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string' ? (error as { message: string }).message : String(error);
  return printable(message).slice(0, QUOTED * 2);
}

function isHttpbinGet(body: string): boolean {
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json !== 'object' || json === null) return false;
    const record = json as Record<string, unknown>;
    return typeof record.args === 'object' && typeof record.headers === 'object' && typeof record.url === 'string';
  } catch {
    return false;
  }
}

function quote(text: string): string {
  const first = printable(text.split('\n', 1)[0] ?? '');
  return first.length > QUOTED ? `${first.slice(0, QUOTED)}...` : first;
}
