/** Results and sidecar reports the checks tests evaluate against: a mixed 300-call load, a
 * two-subset sidecar report, and small builders for both. */
import type { LoadResult } from '../../src/model/load-result';
import { evaluateExpectation, parseExpectation, type CheckResult } from '../../src/checks';
import type { ResilienceView, SidecarClusterReport, SidecarReport } from '../../src/model/sidecar-report';
import { fixtureResult, type FixtureCall } from '../helpers/load-result-fixture';

/** 300 calls: 200 x 200, 4 x 418 (OK, as Fortio), 90 x 503, 3 x 504, 3 socket errors; latency
 * 1 ms to 300 ms, one each. */
export function mixedCalls(): FixtureCall[] {
  const codes = [...Array<number>(200).fill(200), ...Array<number>(4).fill(418), ...Array<number>(90).fill(503), ...Array<number>(3).fill(504), ...Array<number>(3).fill(-1)];
  return codes.map((code, i) => ({ code, latencyUs: (i + 1) * 1000 }));
}

export const MIXED = fixtureResult(mixedCalls(), { durationMs: 5000, causes: { breaker: 90, timeout: 0, app: 3, socket: 3 } });

export function check(text: string, result: LoadResult): CheckResult {
  return evaluateExpectation(parseExpectation(text), result, 'phases[0].expect[0]', text);
}

export type Row = [string, CheckResult['verdict'], string, string | undefined, number | undefined];

export function expectRow(result: LoadResult, [text, verdict, expected, observed, observedValue]: Row): void {
  const got = check(text, result);
  expect(got.expression).toBe(text);
  expect(got.path).toBe('phases[0].expect[0]');
  expect({ verdict: got.verdict, expected: got.expected, observed: got.observed }).toEqual({ verdict, expected, observed });
  if (observedValue === undefined) expect(got.observedValue).toBeUndefined();
  else expect(got.observedValue).toBeCloseTo(observedValue, 6);
}

export const V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';
export const V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';

export function view(over: Partial<ResilienceView> = {}): ResilienceView {
  return {
    kind: 'envoy',
    requestsSent: undefined,
    breakerRejections: { pending: undefined, active: undefined, connection: undefined },
    retries: { attempted: undefined, succeeded: undefined, overflowed: undefined, limitExceeded: undefined },
    timeouts: { route: undefined, perTry: undefined },
    upstream5xx: { final: undefined, retried: undefined },
    connectFailures: undefined,
    ejections: { enforced: undefined, active: undefined },
    faults: { aborts: undefined, delays: undefined },
    breakerOpen: { cx: undefined, rqPending: undefined, rq: undefined, rqRetry: undefined },
    ...over,
  };
}

export function cluster(name: string, subset: string, over: Partial<SidecarClusterReport>): SidecarClusterReport {
  return { cluster: name, group: 'outbound|9080||reviews.default.svc.cluster.local', subset, deltas: {}, resets: [], gauges: {}, view: view(), ...over };
}

/** Two subsets of reviews: 40 + 50 pending overflows, the v1 breaker gauge at its limit. */
export function sidecar(over: Partial<SidecarReport> = {}): SidecarReport {
  return {
    source: 'http://localhost:15000/stats',
    format: 'envoy-text',
    kind: 'envoy',
    clusterQuery: 'reviews',
    clusters: [
      cluster(V1, 'v1', {
        deltas: { upstream_rq_pending_overflow: 40, upstream_rq_total: 100, upstream_rq_retry: 2 },
        gauges: { 'circuit_breakers.default.rq_pending_open': { max: 1, msAboveZero: 1200 } },
      }),
      cluster(V2, 'v2', {
        deltas: { upstream_rq_pending_overflow: 50, upstream_rq_total: 110, upstream_rq_retry: 3 },
        gauges: { 'circuit_breakers.default.rq_pending_open': { max: 0, msAboveZero: undefined } },
      }),
    ],
    total: view({
      requestsSent: 210,
      breakerRejections: { pending: 90, active: undefined, connection: 0 },
      retries: { attempted: 5, succeeded: 4, overflowed: 0, limitExceeded: 1 },
      timeouts: { route: 0, perTry: undefined },
      breakerOpen: { cx: 0, rqPending: 1, rq: 0, rqRetry: 0 },
    }),
    agreement: [
      { name: 'breaker', client: 90, proxy: 90, agrees: true, note: "client-seen breaker 503s match the proxy's overflow counters" },
      {
        name: 'requests',
        client: 300,
        proxy: 295,
        agrees: false,
        note: 'the proxy handled fewer requests than this run sent: some bypassed it, failed before reaching it, or went to another cluster',
      },
    ],
    diagnostics: [],
    unavailable: undefined,
    ...over,
  };
}

/** `n` calls of 1 ms: the first `bad` answered `code`, the rest 200. */
export function callsWith(n: number, bad: number, code = 503): FixtureCall[] {
  return Array.from({ length: n }, (_, i) => ({ code: i < bad ? code : 200, latencyUs: 1000 }));
}
