/** Phases for a DestinationRule: its connection pool (breakers) and outlier detection (ejections). */
import { formatDuration } from '../util/duration';
import type { ConnectionPool, DestinationRule, VirtualService } from './istio-policy';
import type { EndpointCount } from './endpoint-count';
import { describeValues, ejectableEndpoints, ejectionLastsMs, endpointsToEjectOne, errorsToEject, type OutlierModel } from './outlier-model';
import type { PlannedPhase } from './plan-types';
import { BREAKER_DELAY_MS, MAX_CONNECTIONS, minDefined, plural, shortHost, trimNumber, type PlanContext } from './plan-context';

export function planDestinationRule(ctx: PlanContext, dr: DestinationRule): void {
  const subject = `DestinationRule ${dr.origin.name}`;
  const pool = dr.trafficPolicy?.connectionPool;
  if (pool !== undefined) planConnectionPool(ctx, subject, pool);
  for (const subset of dr.subsets) {
    // Its outlierDetection is planned with the ejection phases; the rest is not verified.
    const tp = subset.trafficPolicy;
    if (tp !== undefined && (tp.connectionPool !== undefined || tp.outlierDetection === undefined)) {
      ctx.skip('connectionPool', `${subject} subset ${subset.name}`, 'a subset-level traffic policy', `subset-level traffic policies${tp.outlierDetection === undefined ? '' : ' other than outlierDetection'} are not verified yet: load the subset through a route to it and check by hand`);
    }
  }
}

function planConnectionPool(ctx: PlanContext, subject: string, pool: ConnectionPool): void {
  const { maxConnections: c, http1MaxPendingRequests: p, http2MaxRequests: r } = pool;
  // Envoy rejects when all connections are busy AND the pending queue is full (C + P in
  // flight), or when R requests are active; unset limits are 2^32 - 1 (never reached).
  const queueLimit = c !== undefined && p !== undefined ? c + p : undefined;
  const rejectAt = minDefined(queueLimit, r);
  const limits = [
    c === undefined ? undefined : `maxConnections ${c}`,
    p === undefined ? undefined : `http1MaxPendingRequests ${p}`,
    r === undefined ? undefined : `http2MaxRequests ${r}`,
  ].filter((x) => x !== undefined);
  if (limits.length === 0) {
    if (pool.maxRetries !== undefined || pool.maxRequestsPerConnection !== undefined) {
      ctx.skip('connectionPool', subject, 'maxRetries / maxRequestsPerConnection only', 'no request limit to exceed (maxRetries is shown by the retries checks; maxRequestsPerConnection is not a breaker)');
    }
    return;
  }
  // Breakers are per client proxy (MESH-FACTS): N proxies (shards) let N times the limits in,
  // and the load is divided among them, so every count below is per proxy, times N.
  const n = ctx.proxies;
  const perProxy = n === 1 ? '' : ` per client proxy (${n} proxies, one per shard: the phase's load is ${n} times one proxy's)`;
  const under = Math.max(1, minDefined(c, r) ?? 1) * n;
  // The upstream holds each call so that concurrency is real; a backend that cannot hold gets
  // the plain target and the text does not claim a hold.
  const delayed = ctx.fault({ delayMs: BREAKER_DELAY_MS });
  const target = delayed.url ?? ctx.options.target;
  const hold = delayed.url !== undefined ? ` and the upstream holds each call ${BREAKER_DELAY_MS}ms` : '';
  if (n > 1) ctx.rule('breaker.per-proxy');
  // maxConnections and http1MaxPendingRequests bite only on HTTP/1.1 upstreams (MESH-FACTS).
  if (c !== undefined || p !== undefined) ctx.rule('breaker.http1-limits');
  if (c !== undefined || p !== undefined) ctx.assume('an HTTP/1.1 upstream: on HTTP/2 (h2UpgradePolicy UPGRADE, gRPC) requests multiplex and never queue, so only http2MaxRequests bites.');
  const underPhase: PlannedPhase = {
    name: `under the limit (${plural(under, 'connection')})`,
    description: `${plural(under, 'connection')} keep${under === 1 ? 's' : ''} at most ${plural(under, 'call')} in flight${hold}: within ${limits.join(', ')}${perProxy} nothing waits for a connection, so nothing is rejected. Deterministic: one rejection fails it.`,
    load: { connections: under, requests: Math.max(20, 10 * under), url: target },
    expect: ['cause(breaker) == 0', 'breaker.rejected == 0'],
  };
  if (rejectAt === undefined) {
    // Only maxConnections: on HTTP/1.1 requests queue without bound (MESH-FACTS): no 503s.
    const over = Math.min(MAX_CONNECTIONS, 3 * (c ?? 1)) * n;
    const expect = ['cause(breaker) == 0'];
    if (ctx.envoy) expect.push('breaker.connection > 0');
    ctx.add('connectionPool', subject, `maxConnections ${c ?? ''}${perProxy} without a pending limit: extra requests queue (upstream_cx_overflow counts them), none is rejected.`, [
      underPhase,
      {
        name: `over the connection limit (${over} connections)`,
        description: `${over} connections against maxConnections ${c ?? ''}${perProxy}: requests wait for a connection; without http1MaxPendingRequests the queue is unbounded, so no 503 is expected${ctx.envoy ? ', and the connection breaker counts the waits' : ''}.`,
        load: { connections: over, requests: Math.max(30, 10 * over), url: target },
        expect,
      },
    ]);
    return;
  }
  const over = 3 * rejectAt;
  if (over > MAX_CONNECTIONS) {
    ctx.skip('connectionPool', subject, `rejections above ${rejectAt} calls in flight${perProxy}`, `the limit ${rejectAt} is too high to exceed from one generator (${MAX_CONNECTIONS} connections): fan out with several client pods`);
    return;
  }
  // The two kinds of overflow: a full pending queue (upstream_rq_pending_overflow) and too many
  // active requests (http2MaxRequests), which Envoy < 1.38 counts as pending overflow too and
  // >= 1.38 as upstream_rq_active_overflow (MESH-FACTS): that check sums both.
  const queueBinds = queueLimit !== undefined && (r === undefined || queueLimit <= r);
  ctx.rule('breaker.overflow-kinds');
  const expect = [queueBinds ? 'breaker.pending > 0' : 'breaker.rejected > 0', 'cause(breaker) > 0', 'agree(breaker)'];
  const which = queueBinds
    ? 'the pending queue overflows (upstream_rq_pending_overflow)'
    : 'http2MaxRequests rejects (counted as pending overflow before Envoy 1.38, as upstream_rq_active_overflow from 1.38: the check sums both)';
  ctx.add(
    'connectionPool',
    subject,
    `${limits.join(', ')}${perProxy}: at most ${rejectAt} calls in flight (connections + pending${r === undefined ? '' : ', or active requests'}); more are rejected with 503 overflow: ${which}.`,
    [
      underPhase,
      {
        name: `over the limit (${over * n} connections)`,
        description: `${over * n} connections, three times the ${rejectAt} calls the limits let in${perProxy}${hold}: calls beyond it are rejected with 503 marked as overflow, and the proxy's overflow counter moves by as many.`,
        load: { connections: over * n, requests: Math.max(30, 10 * over) * n, url: target },
        expect,
      },
    ],
  );
}

/** The one subset of `dr` the planned route (each VirtualService's first route without match)
 * sends all its traffic to; undefined when there is none, several, or no VirtualService. */
export function routedSubset(vss: readonly VirtualService[], dr: DestinationRule): string | undefined {
  const subsets = new Set<string | undefined>();
  for (const vs of vss) {
    const route = vs.http.find((r) => !r.hasMatch);
    for (const d of route?.destinations ?? []) if (shortHost(d.host) === shortHost(dr.host) && (d.weight ?? 100) > 0) subsets.add(d.subset);
  }
  return subsets.size === 1 ? [...subsets][0] : undefined;
}

export function planOutlierDetection(ctx: PlanContext, subject: string, m: OutlierModel, subset?: string): void {
  for (const r of m.rules) ctx.rule(r);
  ctx.rule('outlier.per-proxy');
  const values = describeValues(m);
  const k = errorsToEject(m);
  if (k === undefined) {
    ctx.skip('outlierDetection', subject, `${values}: both consecutive-error detectors are off`, 'consecutive5xxErrors is 0 and consecutiveGatewayErrors is off: no detector that errors trigger (success-rate ejection is off in Istio)');
    return;
  }
  const fewest = endpointsToEjectOne(m);
  // This endpoint may already have been ejected by an earlier phase: the next ejection lasts longer.
  const lasts = ejectionLastsMs(m, ctx.ejections + 1);
  const model =
    `${values}. An endpoint answering ${k} 5xx in a row (502, 503 and 504 count for both detectors; the proxy's own timeouts as 504${m.splitLocalOrigin ? ' unless split as local-origin errors' : ''}) is ejected ` +
    `for baseEjectionTime x the times it was ejected (at most ${formatDuration(m.maxEjectionMs)}), and returns at the first ${formatDuration(m.intervalMs)} sweep after that. ` +
    `maxEjectionPercent ${m.maxEjectionPercent}% is strict: an ejection happens only if ejected/endpoints stays <= ${m.maxEjectionPercent}% after it, ${fewest <= 1 ? 'so even a lone endpoint is ejected (its calls then fail as no healthy upstream)' : `so with fewer than ${fewest} endpoints nothing is ejected`}.` +
    ` ${subset === undefined ? endpointsText(ctx.options.endpoints, m) : subsetEndpointsText(ctx.options.endpoints, m, subset)}` +
    `${m.minHealthPercent > 0 ? ` Below ${m.minHealthPercent}% healthy endpoints Envoy's panic mode sends traffic to ejected endpoints too.` : ''} Each client proxy ejects on its own.` +
    ` Sources: docs/verify-rules.md ${[...m.rules, 'outlier.per-proxy'].join(', ')}.`;
  const admin = ctx.options.ejectAdmin;
  // The count read or given is the service's; a subset has fewer, so it stays unknown there.
  // The service's count bounds a subset's from above: none ejectable among them is none in the subset.
  const bound = ctx.options.endpoints;
  const known = subset === undefined ? bound : undefined;
  const none = bound !== undefined && ejectableEndpoints(m, bound.count) < 1;
  if (admin === undefined) {
    ctx.skip('outlierDetection', subject, model, `needs one failing endpoint among at least ${Math.max(2, fewest)}: pass --eject-admin with that endpoint's meshload server admin URL (it is told to answer 503)`);
    return;
  }
  if (none && ctx.envoy) {
    planNoEjection(ctx, subject, model, admin, k, bound);
    return;
  }
  if (none || bound?.count === 1) {
    // HAProxy has no overflow counter to show a refused ejection; one endpoint ejected leaves no
    // upstream, so "traffic left it" cannot hold.
    ctx.skip('outlierDetection', subject, model, none ? `with ${bound.count} endpoints nothing is ejected, and ${ctx.options.proxy} shows no refused ejection` : 'the service has one endpoint: ejecting it leaves no healthy upstream to take the traffic');
    return;
  }
  const unshown: string[] = [];
  // The second phase must end inside the ejection: a very short one may end first.
  if (m.baseEjectionMs < 2000) unshown.push(`baseEjectionTime ${formatDuration(m.baseEjectionMs)}: the "traffic left it" phase may outlast the ejection, and the endpoint's 503s come back`);
  // Panic mode: below minHealthPercent healthy, Envoy balances over the ejected endpoint too.
  if (m.minHealthPercent > 0 && known === undefined) unshown.push(`minHealthPercent ${m.minHealthPercent}%: whether panic mode applies depends on the endpoint count, which verify does not know (pass --endpoints)`);
  if (m.minHealthPercent > 0 && known !== undefined && (100 * (known.count - 1)) / known.count < m.minHealthPercent) {
    unshown.push(`minHealthPercent ${m.minHealthPercent}%: with one of ${known.count} endpoints ejected, ${trimNumber((100 * (known.count - 1)) / known.count)}% are healthy, so panic mode sends traffic to the ejected one too`);
  }
  const calls = Math.max(50, 20 * k);
  // Which detector ejects the 503s: the one with the lower threshold (Envoy checks both on each
  // 5xx); its own enforced counter shows the detector the manifest configured is the one at work.
  const c5 = m.consecutive5xx > 0 ? m.consecutive5xx : Infinity;
  const gw = m.consecutiveGateway > 0 ? m.consecutiveGateway : Infinity;
  const detectorCheck = !ctx.envoy || c5 === gw ? [] : [`delta(outlier_detection.ejections_enforced_${c5 < gw ? 'consecutive_5xx' : 'consecutive_gateway_failure'}) > 0`];
  // Margin over the sweep: the proxy's timer and the stats interval are not exact.
  const wait = lasts + Math.max(1000, m.intervalMs / 2);
  const phases: PlannedPhase[] = [
    {
      name: 'one endpoint fails',
      description: `The endpoint behind ${admin}${subset === undefined ? '' : ` (one of subset ${subset})`} answers 503 to everything; after ${k} in a row the proxy ejects it (the service needs at least ${Math.max(2, fewest)} endpoints: ${fewest <= 2 ? 'one to eject and one to take the traffic' : `maxEjectionPercent ${m.maxEjectionPercent}%`}), and its ejection counter moves.`,
      steps: [{ chaos: { set: 'status=503', admin } }],
      load: { connections: 1, requests: calls },
      expect: ['ejections.enforced > 0', ...detectorCheck],
    },
    {
      name: 'traffic left it',
      description: `Still inside the ejection time (${formatDuration(Math.min(m.baseEjectionMs * (ctx.ejections + 1), m.maxEjectionMs))}): the failing endpoint gets no traffic, so no call fails.`,
      load: { connections: 1, requests: calls },
      expect: ['status(503) == 0'],
    },
    {
      name: 'after the ejection time',
      description: `The endpoint is healed and verify waits ${formatDuration(wait)} (the ejection time, ${ctx.ejections === 0 ? 'baseEjectionTime' : `baseEjectionTime x ${ctx.ejections + 1}, earlier phases may have ejected it already,`} + interval ${formatDuration(m.intervalMs)} + margin): every call answers 200${ctx.envoy ? ' and the proxy holds no endpoint ejected' : ''}, so the ejection poisons nothing after it.`,
      steps: [{ chaos: { clear: true, admin } }, { sleep: formatDuration(wait) }],
      load: { connections: 1, requests: calls },
      expect: ctx.envoy ? ['status(200) == 100%', 'ejections.active == 0'] : ['status(200) == 100%'],
    },
  ];
  // Last in the scenario: an ejection cannot reach another policy's phase.
  ctx.add('outlierDetection', subject, model, phases, unshown, true);
  ctx.always.push({ chaos: { clear: true, admin } });
  // A later ejection phase meets this endpoint again: its ejection then lasts longer.
  ctx.ejections++;
}

/** With the known endpoints maxEjectionPercent allows no ejection: one endpoint fails, and the
 * proxy refuses to eject it (ejections_overflow), which a mesh without the limit would not. */
function planNoEjection(ctx: PlanContext, subject: string, model: string, admin: string, k: number, known: EndpointCount): void {
  const calls = Math.max(50, 20 * k);
  ctx.add(
    'outlierDetection',
    subject,
    model,
    [
      {
        name: 'one endpoint fails, none is ejected',
        description: `The endpoint behind ${admin} answers 503 to everything; after ${k} in a row the detector would eject it, but one of ${known.count} endpoints is over maxEjectionPercent, so Envoy refuses (ejections_overflow moves, no ejection is enforced).`,
        steps: [{ chaos: { set: 'status=503', admin } }],
        load: { connections: 1, requests: calls },
        expect: ['ejections.enforced == 0', 'delta(outlier_detection.ejections_overflow) > 0'],
      },
    ],
    [],
    true,
  );
  ctx.always.push({ chaos: { clear: true, admin } });
}

/** The same for a subset: the service's count is only an upper bound of the subset's. */
function subsetEndpointsText(bound: EndpointCount | undefined, m: OutlierModel, subset: string): string {
  const where = `It applies to the endpoints of subset ${subset}, where the route sends all traffic`;
  if (bound !== undefined && ejectableEndpoints(m, bound.count) < 1) return `${where}: at most the service's ${bound.count} (${bound.source}), of which ${m.maxEjectionPercent}% is under one, so nothing is ejected.`;
  return `${where}; their count is not known (the endpoint count read is the service's).`;
}

/** The sentence naming the endpoint count, its source, and what it means for ejection. */
function endpointsText(known: EndpointCount | undefined, m: OutlierModel): string {
  if (known === undefined) return "The endpoint count is unknown (pass --endpoints N, or --stats with Envoy's admin /stats).";
  const ejectable = ejectableEndpoints(m, known.count);
  // envoy source/common/upstream/outlier_detection_impl.cc:574-582 @00c7146d ejectHost: 100 x (ejected + 1) / hosts <= max. rule: 'outlier.endpoint-count'
  return ejectable < 1
    ? `The service has ${known.count} endpoints (${known.source}): ${m.maxEjectionPercent}% of them is under one, so nothing is ejected.`
    : `The service has ${known.count} endpoints (${known.source}): at most ${ejectable} of them ejected at once.`;
}
