/** Test support: the same DestinationRule and VirtualService as an HAProxy configuration, so
 * `meshload verify` can be proven against a real proxy on loopback (Envoy has no Debian or npm
 * package). HAProxy 2.6 as Debian ships it.
 *
 * Known differences between HAProxy's semantics and Envoy's, and how the translation bridges them:
 *
 * | Istio / Envoy | HAProxy here | difference |
 * |---|---|---|
 * | `maxConnections` C: at most C upstream connections | `maxconn C` on each server | Envoy counts connections, HAProxy concurrent requests; the same for HTTP/1.1 with one request per connection |
 * | `http1MaxPendingRequests` P: a bounded queue, overflow rejected at once with 503 (UO) | `timeout queue 10ms` | HAProxy cannot bound a queue's length, only its wait. With the plan's 50 ms upstream hold, any queued request waits longer than 10 ms and fails with 503, so P behaves as 0; verify's phases only ask for "none rejected at C in flight" and "some rejected at 3 x (C + P)", which hold for both |
 * | no `http1MaxPendingRequests`: queue unbounded | HAProxy's default `timeout queue` (= `timeout connect`, 1s here) | a queued request waits at most 1s; the plan's over-limit queue drains in ~150 ms |
 * | `http2MaxRequests` R | folded into `maxconn min(C, R)` | no separate active-request limit |
 * | `retries.attempts` N | `retries N` | both mean N more tries after the first; HAProxy 2.6 counts each L7 retry twice in `retry_warnings_total` (docs/proxy-stats-mapping.md) |
 * | `retryOn: 5xx` / `gateway-error` / `503` | `retry-on 500 502 503 504` / `502 503 504` / `503` | HAProxy has no class keyword; Istio's default (connect-failure,...) is `retry-on conn-failure` |
 * | `perTryTimeout` | not translated | HAProxy's `timeout server` is per attempt and is the route timeout too |
 * | `timeout` T: route timeout, 504 `upstream request timeout` | `timeout server T` | 504 with HAProxy's own page (meshload classifies both as timeout); applies per attempt |
 * | `fault.abort` a% with status S | `http-request return status S ... if { rand(100000) lt a*1000 }` with Envoy's body `fault filter abort` | a draw per request, as Envoy's |
 * | `fault.delay` q% of D | `http-request set-query delay=D&%[query] if { rand(...) }`: the meshload server behind sleeps | the delay happens upstream, not in the proxy, so the server must allow it (-max-echo-delay) |
 * | `route[].weight` | one server per subset, `weight W`, `balance random` | a weighted random draw per request, as Envoy's weighted clusters |
 * | `outlierDetection` ejecting after k consecutive 5xx (src/verify/outlier-model.ts: defaults, 0 disables one detector) | `observe layer7 error-limit k on-error mark-down` on every server, with health checks `inter`/`fastinter`/`downinter` = baseEjectionTime, `rise 1` | the server is marked DOWN (counted in `check_up_down_total`); mark-down forces the next check to `fastinter`, so it is back about one `baseEjectionTime` later, instead of Envoy's ejection time (base x ejections) ended at an `interval` sweep; HAProxy has no `maxEjectionPercent` (the fixtures use values that let Envoy eject one of their endpoints) and its health checks, answered by the failing server too, keep it DOWN while it fails |
 */
import type { DestinationRule, IstioPolicies, VirtualService } from '../../src/verify/istio-policy';
import { errorsToEject, outlierModel } from '../../src/verify/outlier-model';
import { metricsFrontend } from './haproxy';

export interface Upstreams {
  /** `host:port` of the meshload server per subset name; `''` for the service without subsets. */
  [subset: string]: string;
}

/** Deliberate mistakes: the proxy does not do what the manifests say. */
export interface Misconfiguration {
  noRetries?: boolean;
  /** Limits far above the manifest's. */
  higherLimits?: boolean;
  /** A timeout ten times the manifest's. */
  longerTimeout?: boolean;
  noFaults?: boolean;
  /** Equal weights whatever the route says. */
  evenWeights?: boolean;
  /** Health checks kept, but errors never mark a server down: no outlier detection. */
  noOutlier?: boolean;
}

const RAND = 100_000;

/** A complete HAProxy config: frontend on `port`, exporter on `metricsPort` at /metrics, one
 * backend named after the service's short host name (the `--cluster` verify uses). */
export function haproxyFromIstio(policies: IstioPolicies, upstreams: Upstreams, port: number, metricsPort: number, wrong: Misconfiguration = {}): string {
  const dr: DestinationRule | undefined = policies.destinationRules[0];
  const vs: VirtualService | undefined = policies.virtualServices[0];
  const host = (dr?.host ?? vs?.hosts[0] ?? 'service').split('.')[0] as string;
  const route = vs?.http.find((r) => !r.hasMatch);
  const pool = dr?.trafficPolicy?.connectionPool;
  const outlier = dr?.trafficPolicy?.outlierDetection;

  const frontend = ['frontend fe', `  bind 127.0.0.1:${port}`];
  if (route?.faultAbort?.percent !== undefined && wrong.noFaults !== true) {
    const { httpStatus, percent } = route.faultAbort;
    frontend.push(`  http-request return status ${httpStatus} content-type text/plain string "fault filter abort" if { rand(${RAND}) lt ${Math.round(percent * 1000)} }`);
  }
  if (route?.faultDelay?.percent !== undefined && wrong.noFaults !== true) {
    const { fixedDelayMs, percent } = route.faultDelay;
    // Added to the request's own query, never replacing it: Envoy's delay leaves the request as
    // it was (verify's backend probe carries parameters of its own).
    frontend.push(`  http-request set-query delay=${fixedDelayMs}ms&%[query] if { rand(${RAND}) lt ${Math.round(percent * 1000)} }`);
  }
  frontend.push(`  default_backend ${host}`);

  const backend = [`backend ${host}`];
  const timeout = route?.timeoutMs;
  backend.push(`  timeout server ${timeout === undefined ? '30s' : `${wrong.longerTimeout === true ? timeout * 10 : timeout}ms`}`);
  const retries = route?.retries;
  if (retries === undefined || wrong.noRetries === true) {
    backend.push('  retries 0');
  } else {
    backend.push(`  retries ${retries.attempts}`);
    backend.push(`  retry-on ${retryOn(retries.retryOn)}`);
  }
  const limits = [pool?.maxConnections, pool?.http2MaxRequests].filter((v): v is number => v !== undefined);
  const maxconn = wrong.higherLimits === true ? 10_000 : limits.length > 0 ? Math.min(...limits) : undefined;
  if (pool?.http1MaxPendingRequests !== undefined && wrong.higherLimits !== true) backend.push('  timeout queue 10ms');
  const weighted = route !== undefined && route.destinations.length > 1;
  backend.push(`  balance ${weighted ? 'random' : 'roundrobin'}`);
  const model = outlier === undefined ? undefined : outlierModel(outlier);
  const consecutive = model === undefined ? undefined : errorsToEject(model);
  const observe = consecutive !== undefined;
  if (observe) backend.push('  option httpchk GET /healthz');
  const servers = weighted
    ? route.destinations.map((d) => ({ name: d.subset ?? d.host, weight: wrong.evenWeights === true ? 1 : (d.weight ?? 0) }))
    : Object.keys(upstreams).map((name) => ({ name: name === '' ? 's1' : name, weight: 1 }));
  for (const server of servers) {
    const address = upstreams[server.name] ?? upstreams[''];
    if (address === undefined) throw new Error(`no upstream for subset ${server.name}`);
    const line = [`  server ${server.name} ${address}`, `weight ${server.weight}`];
    if (maxconn !== undefined) line.push(`maxconn ${maxconn}`);
    // on-error mark-down forces the next check to fastinter: back up (rise 1) one baseEjectionTime
    // after the mark-down, as Envoy keeps an ejected endpoint out for its ejection time.
    const base = model?.baseEjectionMs ?? 30_000;
    if (observe) line.push(`check inter ${base}ms fastinter ${base}ms downinter ${base}ms rise 1${wrong.noOutlier === true ? '' : ` observe layer7 error-limit ${consecutive} on-error mark-down`}`);
    backend.push(line.join(' '));
  }
  return [
    'global',
    // One thread keeps queue order deterministic.
    '  nbthread 1',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 30s',
    ...frontend,
    ...metricsFrontend(metricsPort),
    ...backend,
    '',
  ].join('\n');
}

function retryOn(values: readonly string[] | undefined): string {
  if (values === undefined) return 'conn-failure';
  const codes = new Set<string>();
  for (const value of values) {
    if (value === '5xx') ['500', '502', '503', '504'].forEach((c) => codes.add(c));
    else if (value === 'gateway-error') ['502', '503', '504'].forEach((c) => codes.add(c));
    else if (/^\d{3}$/.test(value)) codes.add(value);
    else if (value === 'connect-failure' || value === 'reset') codes.add('conn-failure');
  }
  return codes.size === 0 ? 'conn-failure' : [...codes].join(' ');
}
