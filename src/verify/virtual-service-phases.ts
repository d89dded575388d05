/** Phases for a VirtualService route: retries (and the retry breaker), timeouts, faults, weights. */
import { formatDuration } from '../util/duration';
import { goodnessOfFitSampleSize, proportionSampleSize } from '../metrics/statistics';
import type { DestinationRule, HttpRoute, VirtualService } from './istio-policy';
import { defaultRetriesRetry503 } from './istio-version';
import { runProbability } from './outlier-model';
import type { PlannedPhase, PolicyKind } from './plan-types';
import { BREAKER_DELAY_MS, clientTimeout, MAX_CONNECTIONS, pct, plural, trimNumber, type PlanContext } from './plan-context';

/** The failure probability the retry phases ask of the upstream (Istio's docs use 50%). */
const RETRY_FAULT = 0.5;
/** Istio's mesh default when a route has no retries block. */
const DEFAULT_ATTEMPTS = 2;
/** retryOn values that retry an app's 503. `retriable-status-codes` alone does not: Istio takes
 * the codes only from numbers in retryOn (retry.go parseRetryOn). */
const RETRY_ON_503 = ['5xx', 'gateway-error', '503'];
/** Per-try failure shares the retry phase may ask for, largest first: with outlier detection in
 * force a smaller share keeps a run of consecutive 5xx (an ejection) improbable. */
const RETRY_FAULTS = [0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01];

export function planVirtualService(ctx: PlanContext, vs: VirtualService, rules: readonly DestinationRule[]): void {
  for (const route of vs.http) {
    const subject = `VirtualService ${vs.origin.name} ${route.name}`;
    if (route.hasMatch) {
      // Labelled by what the route carries (a fault route is a fault not verified), not all 'retries'.
      const carried: PolicyKind[] = [];
      if (route.faultAbort !== undefined || route.faultDelay !== undefined) carried.push('fault');
      if (route.retries !== undefined) carried.push('retries');
      if (route.timeoutMs !== undefined) carried.push('timeout');
      if (route.destinations.length > 1) carried.push('weights');
      for (const kind of carried) ctx.skip(kind, subject, 'a route with match conditions', 'routes with match conditions are not verified: the generated load may not match them');
      continue;
    }
    if (route.faultAbort !== undefined || route.faultDelay !== undefined) planFault(ctx, subject, route);
    planRetries(ctx, subject, route, rules);
    if (route.timeoutMs !== undefined) planTimeout(ctx, subject, route);
    if (route.destinations.length > 1) planWeights(ctx, subject, route);
    // Only the first unmatched route takes traffic: later ones are unreachable.
    break;
  }
}

/** What a route's retry policy does with an app's 503, on the version assumed. */
interface RetryReading {
  /** This route retries an app's 503. */
  covered: boolean;
  /** A mesh without this route's retries (Istio's default policy: 2 retries) retries 503. */
  defaultRetries503: boolean;
  /** Set when the answer flips with the Istio version and the version is unknown. */
  flips: string | undefined;
}

function readRetries(ctx: PlanContext, attempts: number, retryOn: readonly string[] | undefined): RetryReading {
  ctx.rule('version.default-retry-503');
  const known = defaultRetriesRetry503(ctx.options.istioVersion);
  const defaultRetries503 = known ?? false;
  if (known === undefined) ctx.assume('Istio >= 1.24: the default retry policy does not retry 503 (EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY, istio/istio#50506); it did up to 1.23.');
  else ctx.assume(`Istio ${ctx.options.istioVersion?.major ?? 1}.${ctx.options.istioVersion?.minor ?? 0}: the default retry policy ${known ? 'retries' : 'does not retry'} an app's 503.`);
  if (retryOn !== undefined) ctx.rule('version.retry-on-codes');
  if (attempts === 0) return { covered: false, defaultRetries503, flips: known === undefined ? 'on Istio <= 1.23 a mesh without this route retries 503 twice, so attempts 0 would show there; on >= 1.24 it looks the same as no route' : undefined };
  if (retryOn === undefined) {
    ctx.rule('version.retry-block-default-retry-on');
    return { covered: defaultRetries503, defaultRetries503, flips: known === undefined ? 'without retryOn the default applies, which retries 503 on Istio <= 1.23 and not on >= 1.24' : undefined };
  }
  return { covered: retryOn.some((r) => RETRY_ON_503.includes(r)), defaultRetries503, flips: undefined };
}

function planRetries(ctx: PlanContext, subject: string, route: HttpRoute, rules: readonly DestinationRule[]): void {
  const retries = route.retries;
  // No retries block: the team promised nothing about retries (the mesh default applies).
  if (retries === undefined) return;
  if (route.faultAbort !== undefined && (route.faultAbort.percent ?? 0) > 0) {
    ctx.skip('retries', subject, 'retries on a route that also aborts', "the route's fault aborts are mixed into the failures (Envoy does not retry them): verify retries on a route without abort faults");
    return;
  }
  const attempts = retries.attempts;
  const retryOn = retries.retryOn;
  const reading = readRetries(ctx, attempts, retryOn);
  const { covered } = reading;
  const tries = covered ? attempts + 1 : 1;
  // Without this route's retries: Istio's default policy, 2 retries, which retry 503 only on old Istio.
  const triesWithout = reading.defaultRetries503 ? DEFAULT_ATTEMPTS + 1 : 1;
  const unshown: string[] = [];
  if (reading.flips !== undefined) unshown.push(`the Istio version: ${reading.flips}; pass --istio-version`);
  if (tries === triesWithout) {
    unshown.push(
      `a mesh without this retries block ${triesWithout === 1 ? "does not retry an app's 503 either" : `retries 503 ${DEFAULT_ATTEMPTS} times too`} (Istio's default policy on the version assumed), so the 503 share cannot tell whether the block is in force`,
    );
  }
  // Without a version, both defaults are possible (explicit retryOn): the check must rule out
  // the one nearer to what the block promises, and cannot when one of them looks the same.
  const families = ctx.options.istioVersion !== undefined || reading.flips !== undefined ? [triesWithout] : [1, DEFAULT_ATTEMPTS + 1];
  if (tries !== triesWithout && families.includes(tries)) {
    unshown.push(`the Istio version: on Istio <= 1.23 a mesh without this retries block retries 503 ${DEFAULT_ATTEMPTS} times too, so it would pass there without the block; pass --istio-version`);
  }
  const candidates = families.filter((f) => f !== tries).sort((a, b) => Math.abs(a - tries) - Math.abs(b - tries));
  // When every alternative looks the same, the check still says what the block promises against
  // the retrying (or not retrying) one, and the verdict stays inconclusive (unshown above).
  const altTries = candidates[0] ?? (tries === 1 ? Math.max(attempts, DEFAULT_ATTEMPTS) + 1 : 1);

  // The per-try timeout phase: each call times out at every try (504s the outlier detector
  // counts as local-origin errors).
  const perTry = retries.perTryTimeoutMs;
  const retriesTimeouts = attempts > 0 && retryOn !== undefined && retryOn.some((r) => r === '5xx' || r === 'gateway-error');
  const slowBudget = ctx.ejectionBudget(true);
  let slowCalls = 4;
  const slowTries = retriesTimeouts ? attempts + 1 : 1;
  if (slowBudget !== undefined) slowCalls = Math.min(slowCalls, Math.floor(slowBudget / slowTries));

  // The largest per-try failure share that decides within --max-requests and keeps an ejection
  // improbable (a run of k 5xx among all tries; a phase of 200s after it clears what it leaves).
  const budget = ctx.ejectionBudget();
  const risk = 1 - ctx.options.confidence;
  let chosen: { p: number; expected: number; alternative: number; size: { requests: number; why: string } } | undefined;
  let ejectRisk = 0;
  for (const p of budget === undefined ? [RETRY_FAULT] : RETRY_FAULTS) {
    const expected = p ** tries;
    const alternative = p ** altTries;
    let needed: number;
    try {
      needed = proportionSampleSize(expected, alternative, ctx.options.confidence);
    } catch {
      // Rates this small cannot be told apart in any number of calls meshload would send.
      continue;
    }
    const size = ctx.sized(needed, 20);
    if (budget !== undefined) {
      const meanTries = tries === 1 ? 1 : (1 - p ** tries) / (1 - p);
      ejectRisk = runProbability(p, budget + 1, Math.ceil(size.requests * meanTries));
      if (ejectRisk > risk) continue;
    }
    if (chosen === undefined || !/capped/.test(size.why)) chosen = { p, expected, alternative, size };
    if (!/capped/.test(size.why)) break;
  }
  const written = `attempts ${attempts}, retryOn ${retryOn?.join(',') ?? "(default: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes)"}`;
  if (chosen === undefined) {
    ctx.skip(
      'retries',
      subject,
      `${written}: ${covered ? `a call fails only when all ${tries} tries fail` : "an app's 503 is not retried"}`,
      `${ctx.ejectionWhy}: every per-try failure share that shows the retries would eject an endpoint with probability over ${pct(risk)}${ctx.ejectsNone}; verify retries on a DestinationRule with a higher outlier threshold`,
    );
    return;
  }
  const { p, expected, alternative, size } = chosen;
  const model = covered
    ? `${written}: a call fails only when all ${tries} tries fail, so with each try failing at ${pct(p)} about ${pct(expected)} of calls fail, not ${pct(alternative)}.`
    : `${written}: an app's 503 is ${attempts === 0 ? 'never retried (attempts 0)' : retryOn === undefined ? 'not retried (the default retryOn has no 503 on the version assumed)' : 'not retried (retryOn names no 5xx, gateway-error or 503)'}, so about ${pct(p)} of calls fail, not ${pct(alternative)}.`;
  const maxRetries = rules.map((d) => d.trafficPolicy?.connectionPool?.maxRetries).find((m) => m !== undefined);
  // Concurrent retries beyond maxRetries overflow the retry breaker: stay under it.
  const connections = ctx.connections(maxRetries === undefined ? 2 : Math.max(1, Math.min(2, maxRetries)));
  const expect = [`status(503) ~ ${pct(expected)} vs ${pct(alternative)}${ctx.at}`, covered ? 'retries.attempted > 0' : 'retries.attempted == 0'];
  if (ctx.envoy && ctx.options.backend === 'meshload' && covered) expect.push('agree(retries)');
  // Under the retry breaker, none overflows (Envoy counts upstream_rq_retry_overflow).
  if (ctx.envoy && covered && maxRetries !== undefined) expect.push('retries.overflowed == 0');
  // An ejected endpoint's 503 reads `no healthy upstream`: none may be among the app's 503s.
  if (ctx.envoy && budget !== undefined) expect.push('cause(no_healthy) == 0');
  const failing = ctx.fault({ status: 503, statusShare: p });
  if (failing.url === undefined) {
    ctx.skip('retries', subject, model, failing.reason);
    return;
  }
  const held = budget !== undefined ? ` ${pct(p)}, not 50%: ${ctx.ejectionWhy}; a run of ${budget + 1} failed tries is this unlikely: ${ejectRisk.toExponential(1)}.` : '';
  const phases: PlannedPhase[] = [
    {
      name: `each try fails at ${pct(p)}`,
      description: `The upstream answers 503 to ${pct(p)} of tries.${held} ${size.why}.`,
      load: { connections, requests: size.requests, url: failing.url },
      expect,
    },
  ];
  if (perTry !== undefined && covered && ctx.envoy) {
    const routeTimeout = route.timeoutMs;
    // Slower than perTryTimeout by a margin the proxy's timer cannot blur.
    const margin = Math.max(perTry / 10, 50);
    const slow = ctx.delayOver(perTry, perTry + Math.max(perTry / 2, 100), margin);
    if (slowCalls < 1) {
      unshown.push(`perTryTimeout ${formatDuration(perTry)}: ${ctx.ejectionWhy}, and one call's ${slowTries} timed-out tries would reach it`);
    } else if (slow.delayMs === undefined) {
      unshown.push(`perTryTimeout ${formatDuration(perTry)}: ${slow.reason}`);
    } else {
      const delay = slow.delayMs;
      if (budget !== undefined) {
        // The failing phase may end in a run of 503s: 200s clear it before the 504s add to it.
        phases.push({
          name: 'the upstream answers',
          description: 'A healthy upstream: every call answers 200 at the first try. It shows nothing is retried without a failure, and clears the run of failed tries the phase before may have left, before the next phase\'s timeouts.',
          load: { connections, requests: 10 },
          expect: ['status(200) == 100%', ...(ctx.envoy ? ['retries.attempted == 0'] : [])],
        });
      }
      phases.push({
        name: 'every try is too slow',
        description: `The upstream takes ${formatDuration(delay)}, over perTryTimeout ${formatDuration(perTry)}: each try times out and is ${retriesTimeouts ? 'retried' : 'not retried'}, and the call ends in 504${routeTimeout === undefined ? '' : ` (or the route timeout ${formatDuration(routeTimeout)} ends it first)`}.${slowCalls < 4 ? ` ${plural(slowCalls, 'call')}: ${ctx.ejectionWhy}.` : ''}`,
        load: { connections: ctx.connections(Math.min(2, slowCalls)), requests: slowCalls, url: slow.url, timeout: formatDuration(clientTimeout((attempts + 1) * delay)) },
        expect: ['status(504) == 100%', 'timeouts.per_try > 0', `min >= ${formatDuration(Math.min(perTry, routeTimeout ?? perTry))}`],
      });
    }
  }
  if (maxRetries !== undefined && covered) {
    const retryBreaker = planRetryBreaker(ctx, maxRetries);
    if (typeof retryBreaker === 'string') unshown.push(`maxRetries ${maxRetries}: ${retryBreaker}`);
    else phases.push(retryBreaker);
  }
  ctx.add('retries', subject, model, phases, unshown);
}

/** The retry breaker: more concurrent retries than maxRetries (per client proxy) are refused and
 * counted in upstream_rq_retry_overflow; or why it cannot be shown here. */
function planRetryBreaker(ctx: PlanContext, maxRetries: number): PlannedPhase | string {
  ctx.rule('retry.breaker');
  if (!ctx.envoy) return 'HAProxy has no retry breaker to compare with';
  if (ctx.ejectionBudget() !== undefined) return `showing it takes every try failing, and ${ctx.ejectionWhy}`;
  const wanted = 3 * (maxRetries + 1) * ctx.proxies;
  if (wanted > MAX_CONNECTIONS * ctx.proxies) return `more than ${MAX_CONNECTIONS} calls in flight from one generator would be needed`;
  const connections = ctx.connections(wanted);
  if (connections <= maxRetries * ctx.proxies) return "the connection pool's limits keep fewer calls in flight than maxRetries retries";
  const failing = ctx.fault({ status: 503, statusShare: 1, delayMs: BREAKER_DELAY_MS });
  if (failing.url === undefined) return failing.reason;
  return {
    name: `more retries in flight than maxRetries ${maxRetries}`,
    description: `${connections} connections, every try answered 503 after ${BREAKER_DELAY_MS}ms: more than ${maxRetries} retries would be in flight at once${ctx.proxies > 1 ? ' per client proxy' : ''}, so the retry breaker refuses some (upstream_rq_retry_overflow). Every call still ends in 503.`,
    load: { connections, requests: 10 * connections, url: failing.url },
    expect: ['status(503) == 100%', 'retries.overflowed > 0'],
  };
}

function planTimeout(ctx: PlanContext, subject: string, route: HttpRoute): void {
  const t = route.timeoutMs as number;
  if (t === 0) {
    ctx.skip('timeout', subject, 'timeout 0s', 'timeout 0s disables the route timeout: nothing to show');
    return;
  }
  // HAProxy's translation has no per-try timeout (test/helpers/istio-to-haproxy.ts).
  const perTry = ctx.envoy ? route.retries?.perTryTimeoutMs : undefined;
  const attempts = route.retries?.attempts ?? 0;
  const retryOn = route.retries?.retryOn;
  // A per-try timeout is retried when retryOn names 5xx or gateway-error (Envoy router): the call
  // then ends after (attempts + 1) per-try timeouts, and before the route timeout when that is shorter.
  const retriesTimeouts = attempts > 0 && retryOn !== undefined && retryOn.some((r) => r === '5xx' || r === 'gateway-error');
  const tries = perTry !== undefined && perTry < t ? (retriesTimeouts ? attempts + 1 : 1) : 1;
  // Envoy's retry back-off: 25ms base, at most 10 x base between tries.
  const backoff = (tries - 1) * 250;
  const perTryEnd = perTry !== undefined && perTry < t ? tries * perTry : undefined;
  const endsAt = perTryEnd !== undefined && perTryEnd + backoff < t ? perTryEnd : t;
  const byPerTry = endsAt !== t;
  if (perTryEnd !== undefined) ctx.rule('timeout.per-try');
  const fast = Math.min(t, perTry ?? t) / 2;
  const model = byPerTry
    ? `timeout ${formatDuration(t)} with perTryTimeout ${formatDuration(perTry ?? 0)} x ${tries} ${tries === 1 ? 'try' : 'tries'} = ${formatDuration(perTryEnd ?? 0)}, shorter: a slow upstream is cut off with 504 by the per-try timeouts at about ${formatDuration(endsAt)}${backoff > 0 ? ` (plus up to ${formatDuration(backoff)} of retry back-off)` : ''}, before the route timeout; a faster one answers normally.`
    : `timeout ${formatDuration(t)}: an upstream slower than that is cut off with 504 "upstream request timeout" at about ${formatDuration(t)}; a faster one answers normally.`;
  // Every slow call is a 504 the outlier detector charges to the endpoint: stay under it.
  const fastConnections = ctx.connections(4);
  let connections = fastConnections;
  let slowCalls = 2 * connections;
  let ejects = false;
  const budget = ctx.ejectionBudget(true);
  if (budget !== undefined) {
    slowCalls = Math.min(slowCalls, Math.floor(budget / tries));
    if (slowCalls < 1 && tries > 1) {
      ctx.skip('timeout', subject, model, `${ctx.ejectionWhy}, and a single timed-out call (${tries} tries) reaches that, its later tries then failing as no healthy upstream: verify the timeout on a DestinationRule with a higher outlier threshold`);
      return;
    }
    // One call of one try still shows the timeout; its 504 may eject, which the next phase waits out.
    if (slowCalls < 1) {
      slowCalls = 1;
      ejects = true;
    }
    connections = Math.min(connections, slowCalls);
  }
  // The call ends between the last per-try timeout and the route timeout (retry back-off is
  // random); when the per-try timeouts cannot all fire before the route's, both can end it.
  const earliest = perTryEnd !== undefined && perTryEnd < t ? perTryEnd : t;
  const latest = byPerTry ? endsAt + backoff : t;
  const slowDelay = ctx.delayOver(latest, latest + Math.max(t / 2, 200), Math.max(t / 10, 100));
  const fastUrl = ctx.fault({ delayMs: fast });
  if (slowDelay.url === undefined || fastUrl.url === undefined) {
    ctx.skip('timeout', subject, model, slowDelay.reason ?? fastUrl.reason ?? '');
    return;
  }
  const slow = slowDelay.delayMs;
  // The proxy's timer fires at T and the answer reaches the client a little later, well before
  // the upstream's own answer would.
  const slack = (slow - latest) / 2;
  const slowExpect = ['status(504) == 100%', 'cause(timeout) == 100%', `p(50) in [${formatDuration(earliest * 0.95)}, ${formatDuration(latest + slack)}]`];
  slowExpect.push(earliest < t ? 'timeouts.per_try > 0' : 'timeouts.route > 0');
  const held = ejects
    ? ` One call: ${ctx.ejectionWhy}; this one 504 may eject it, and the next phase waits that out.`
    : budget !== undefined && slowCalls < 2 * ctx.connections(4) ? ` ${plural(slowCalls, 'call')}: ${ctx.ejectionWhy}.` : '';
  const fastPhase: PlannedPhase = {
    name: `upstream faster than ${formatDuration(t)}`,
    description: `The upstream takes ${formatDuration(fast)}: every call answers 200. Deterministic.${budget !== undefined ? ' First, so that its 200s also clear any run of 5xx an earlier phase left.' : ''}`,
    load: { connections: fastConnections, requests: 2 * fastConnections, url: fastUrl.url, timeout: formatDuration(clientTimeout(slow)) },
    expect: ['status(200) == 100%', 'timeouts.route == 0'],
  };
  const slowPhase: PlannedPhase = {
    name: `upstream slower than ${formatDuration(t)}`,
    description: `The upstream takes ${formatDuration(slow)}: every call ends in 504 after about ${formatDuration(endsAt)}${byPerTry ? ' (per-try timeouts)' : ''}. Deterministic.${held}`,
    load: { connections, requests: slowCalls, url: slowDelay.url, timeout: formatDuration(clientTimeout(slow * tries)) },
    expect: slowExpect,
  };
  // With outlier detection the 200s go first: they reset the consecutive-error counts the
  // 504s then add to.
  ctx.add('timeout', subject, model, budget !== undefined ? [fastPhase, slowPhase] : [slowPhase, fastPhase]);
  if (ejects) ctx.mayEject();
}

function planFault(ctx: PlanContext, subject: string, route: HttpRoute): void {
  const abort = route.faultAbort;
  const delay = route.faultDelay;
  const expect: string[] = [];
  const models: string[] = [];
  let needed = 0;
  const confidence = ctx.options.confidence;
  if (abort !== undefined && (abort.percent ?? 0) > 0) {
    const a = (abort.percent as number) / 100;
    models.push(`${pct(a)} of calls are aborted with ${abort.httpStatus}`);
    expect.push(`status(${abort.httpStatus}) ~ ${pct(a)} vs 0%${ctx.at}`);
    // Envoy's abort body is "fault filter abort"; HAProxy's translation has its own page.
    if (ctx.envoy) expect.push(`cause(fault) ~ ${pct(a)} vs 0%${ctx.at}`);
    needed = Math.max(needed, proportionSampleSize(a, 0, confidence));
  } else if (abort !== undefined) {
    ctx.skip('fault', subject, `abort ${abort.httpStatus} without a percentage`, 'an abort without percentage injects nothing (Istio)');
  }
  let slowest = 0;
  if (delay !== undefined && (delay.percent ?? 0) > 0) {
    const q = (delay.percent as number) / 100;
    models.push(`${pct(q)} of calls are delayed by ${formatDuration(delay.fixedDelayMs)}`);
    expect.push(`slower(${formatDuration(delay.fixedDelayMs)}) ~ ${pct(q)} vs 0%${ctx.at}`);
    needed = Math.max(needed, proportionSampleSize(q, 0, confidence));
    slowest = delay.fixedDelayMs;
  } else if (delay !== undefined) {
    ctx.skip('fault', subject, `delay ${formatDuration(delay.fixedDelayMs)} without a percentage`, 'a delay without percentage injects nothing (Istio)');
  }
  if (expect.length === 0) return;
  const size = ctx.sized(needed, 20);
  // Enough connections that the delayed calls do not stretch the phase past ~10 s.
  const delayedTime = size.requests * ((delay?.percent ?? 0) / 100) * slowest;
  const connections = ctx.connections(Math.min(64, Math.max(4, Math.ceil(delayedTime / 10_000))));
  ctx.add('fault', subject, `fault injection at the client sidecar: ${models.join('; ')}; the rest pass through.`, [
    {
      name: 'injected faults',
      description: `${models.join('; ')}: the observed shares must match, and rule out no injection. ${size.why}.`,
      load: { connections, requests: size.requests, ...(slowest > 0 ? { timeout: formatDuration(clientTimeout(slowest)) } : {}) },
      expect,
    },
  ]);
}

function planWeights(ctx: PlanContext, subject: string, route: HttpRoute): void {
  const names = route.destinations.map((d) => d.subset ?? d.host);
  if (new Set(names).size !== names.length) {
    ctx.skip('weights', subject, 'a weighted route', 'two destinations share a subset name: the split cannot be told apart');
    return;
  }
  // Istio splits in proportion to the weights (they need not sum to 100).
  const totalWeight = route.destinations.reduce((sum, d) => sum + (d.weight ?? 0), 0);
  const expected = route.destinations.map((d, i) => [names[i] as string, ((d.weight ?? 0) * 100) / totalWeight] as const);
  const even = 100 / names.length;
  // Without the route, Kubernetes spreads calls over all endpoints: evenly, with equal replicas.
  const isEven = expected.every(([, w]) => Math.abs(w - even) < 1e-9);
  const alternative = isEven ? names.map((n, i) => [n, i === 0 ? 100 : 0] as const) : names.map((n) => [n, even] as const);
  const shares = (split: ReadonlyArray<readonly [string, number]>): number[] => split.map(([, w]) => w / 100);
  const size = ctx.sized(goodnessOfFitSampleSize(shares(expected), shares(alternative), ctx.options.confidence), 50);
  const list = (split: ReadonlyArray<readonly [string, number]>): string => `[${split.map(([n, w]) => `${n} ${trimNumber(w)}%`).join(', ')}]`;
  const expect: string[] = [];
  // x-version needs meshload servers started with -version-tag = the subset name.
  if (ctx.options.backend === 'meshload') expect.push(`versions ~ ${list(expected)} vs ${list(alternative)}${ctx.at}`);
  if (ctx.envoy) expect.push(`subsets ~ ${list(expected)} vs ${list(alternative)}${ctx.at}`);
  if (expect.length === 0) {
    ctx.skip('weights', subject, 'a weighted route', 'HAProxy with httpbin shows no per-subset evidence: use meshload servers started with -version-tag');
    return;
  }
  const model = `weights ${list(expected)}: each call goes to a subset with that probability${isEven ? '; an even split is also what no route gives, so the check can only rule out all traffic to one subset' : `, not evenly ${list(alternative)} as without the route`}.`;
  ctx.add('weights', subject, model, [
    {
      name: 'traffic split',
      description: `Per-subset shares${ctx.options.backend === 'meshload' ? ' (x-version of the responses: start each subset\'s meshload server with -version-tag NAME)' : ''}${ctx.envoy ? " and the proxy's per-subset clusters" : ''} against the weights, by chi-square. ${size.why}.`,
      load: { connections: ctx.connections(4), requests: size.requests },
      expect,
    },
  ]);
}
