import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from '../../src/model/load-result';
import { buildSidecarReport } from '../../src/stats/sidecar-report';
import type { AgreementCheck } from '../../src/model/sidecar-report';
import { diffSnapshots, takeSnapshot, type StatsSnapshot } from '../../src/stats/snapshot';
import { fixtureResult } from '../helpers/load-result-fixture';

const V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';

const NO_ECHO = 'no response echoed x-envoy-attempt-count (meshload server does, behind Envoy): the client cannot count retries';
const MATCH = "the retries the responses echoed match the proxy's retry counter";
const PROXY_MORE =
  "the proxy retried more than the responses show: other traffic through the same proxy, or retries whose final answer was the proxy's own reply (timeouts, overflow)";
const CLIENT_MORE = 'the responses echo more retries than this proxy counted: another proxy on the path retried, or the stats are for another cluster';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-sidecar-report-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;

/** An Envoy /stats text dump of the two reviews subsets, read through the real snapshot path. */
async function snapshot(stats: Record<string, Record<string, number>>): Promise<StatsSnapshot> {
  const lines = Object.entries(stats).flatMap(([cluster, values]) => Object.entries(values).map(([stat, n]) => `cluster.${cluster}.${stat}: ${n}`));
  const path = join(dir, `stats-${++files}.txt`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return takeSnapshot({ kind: 'file', path }, { timeoutMs: 5000 }, 'reviews');
}

function counters(total: number, retry: number | undefined): Record<string, number> {
  return retry === undefined ? { upstream_rq_total: total } : { upstream_rq_total: total, upstream_rq_retry: retry };
}

/** The retries agreement of a run over the two subsets, whose proxy retried `retries` times during
 * the run (split 1:2 over v1 and v2, on counters that did not start at 0); undefined leaves the
 * retry counter out of the dumps. */
async function retriesCheck(result: LoadResult, retries: number | undefined): Promise<AgreementCheck> {
  const has = retries !== undefined;
  const v1 = Math.floor((retries ?? 0) / 3);
  const v2 = (retries ?? 0) - v1;
  const before = await snapshot({ [V1]: counters(1000, has ? 50 : undefined), [V2]: counters(2000, has ? 70 : undefined) });
  const after = await snapshot({ [V1]: counters(1100, has ? 50 + v1 : undefined), [V2]: counters(2200, has ? 70 + v2 : undefined) });
  const report = buildSidecarReport({ source: 'stats.txt', clusterQuery: 'reviews', before, after, delta: diffSnapshots(before, after), gauges: undefined, result });
  expect(report.clusters.map((c) => c.cluster)).toEqual([V1, V2]);
  expect(report.total?.retries.attempted).toBe(retries);
  const check = report.agreement.find((a) => a.name === 'retries');
  if (check === undefined) throw new Error('no retries agreement');
  return check;
}

/** 100 calls; `attempts` as the responses echoed them; `warmupRequests` warm-up calls before. */
function run(attempts: Record<string, number>, warmupRequests = 0): LoadResult {
  return fixtureResult(
    Array.from({ length: 100 }, () => ({ code: 200, latencyUs: 1000 })),
    { attempts, warmupRequests },
  );
}

describe('buildSidecarReport: the retries agreement', () => {
  it('sums (attempt - 1) over the echoed attempts as the client side', async () => {
    // 90 first tries, 8 second (1 retry each), 2 third (2 each): 12 retries.
    const check = await retriesCheck(run({ '1': 90, '2': 8, '3': 2 }), 12);
    expect(check).toEqual({ name: 'retries', client: 12, proxy: 12, agrees: true, note: MATCH });
  });

  it('sums the proxy side over the matched clusters', async () => {
    const check = await retriesCheck(run({ '1': 70, '4': 30 }), 90);
    expect(check).toMatchObject({ client: 90, proxy: 90, agrees: true });
  });

  it('agrees with zero retries on both sides', async () => {
    expect(await retriesCheck(run({ '1': 100 }), 0)).toEqual({ name: 'retries', client: 0, proxy: 0, agrees: true, note: MATCH });
  });

  it("allows the warm-up's retries: up to warmupRequests x (most tries seen - 1) more on the proxy", async () => {
    // 2 warm-up requests, at most 3 tries seen: the warm-up may account for 4 more retries.
    const result = run({ '1': 90, '2': 8, '3': 2 }, 2);
    expect(await retriesCheck(result, 14)).toEqual({ name: 'retries', client: 12, proxy: 14, agrees: true, note: `${MATCH} (2 more: the warm-up's)` });
    expect(await retriesCheck(result, 16)).toEqual({ name: 'retries', client: 12, proxy: 16, agrees: true, note: `${MATCH} (4 more: the warm-up's)` });
    expect(await retriesCheck(result, 17)).toEqual({ name: 'retries', client: 12, proxy: 17, agrees: false, note: PROXY_MORE });
  });

  it('allows no slack without warm-up requests, or when no response came from a retry', async () => {
    expect(await retriesCheck(run({ '1': 90, '2': 10 }, 0), 11)).toMatchObject({ client: 10, proxy: 11, agrees: false, note: PROXY_MORE });
    // Warm-up requests, but every echoed response was a first try: most tries seen is 1.
    expect(await retriesCheck(run({ '1': 100 }, 4), 1)).toMatchObject({ client: 0, proxy: 1, agrees: false, note: PROXY_MORE });
  });

  it('disagrees when the responses echo more retries than the proxy counted', async () => {
    expect(await retriesCheck(run({ '1': 90, '2': 8, '3': 2 }, 2), 11)).toEqual({ name: 'retries', client: 12, proxy: 11, agrees: false, note: CLIENT_MORE });
  });

  it('cannot tell without echoed attempts, and says why', async () => {
    expect(await retriesCheck(run({}, 2), 5)).toEqual({ name: 'retries', client: 0, proxy: 5, agrees: undefined, note: NO_ECHO });
  });

  it('cannot tell when the proxy does not report retries', async () => {
    expect(await retriesCheck(run({ '1': 90, '2': 10 }), undefined)).toEqual({
      name: 'retries',
      client: 10,
      proxy: undefined,
      agrees: undefined,
      note: 'this proxy does not report retries',
    });
  });

  it('sits next to the breaker and requests checks, and is absent without a run', async () => {
    const before = await snapshot({ [V1]: { upstream_rq_total: 0, upstream_rq_retry: 0 } });
    const after = await snapshot({ [V1]: { upstream_rq_total: 100, upstream_rq_retry: 3 } });
    const input = { source: 'stats.txt', clusterQuery: 'reviews', before, after, delta: diffSnapshots(before, after), gauges: undefined };
    expect(buildSidecarReport({ ...input, result: run({ '1': 97, '2': 3 }) }).agreement.map((a) => a.name)).toEqual(['breaker', 'requests', 'retries']);
    expect(buildSidecarReport({ ...input, result: undefined }).agreement).toEqual([]);
  });
});

describe('buildSidecarReport: the requests agreement through HAProxy', () => {
  /** An HAProxy exporter dump of backend `be` with server `s1`, read through the real snapshot path. */
  async function haproxy(backend: Record<string, number>, server: Record<string, number>): Promise<StatsSnapshot> {
    const lines: string[] = [];
    for (const [metric, n] of Object.entries(backend)) lines.push(`# TYPE haproxy_backend_${metric} counter`, `haproxy_backend_${metric}{proxy="be"} ${n}`);
    for (const [metric, n] of Object.entries(server)) lines.push(`# TYPE haproxy_server_${metric} counter`, `haproxy_server_${metric}{proxy="be",server="s1"} ${n}`);
    const path = join(dir, `haproxy-${++files}.txt`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return takeSnapshot({ kind: 'file', path }, { timeoutMs: 5000 }, 'be');
  }

  /** 100 calls, 30 of them retried once with retry-on 503: the server saw 130 attempts and
   * HAProxy 2.6 counted 60 retry warnings (each L7 retry twice). */
  async function requestsCheck(withRequestCounter: boolean, name: AgreementCheck['name'] = 'requests', result = run({})): Promise<AgreementCheck> {
    const backend = (requests: number, retries: number): Record<string, number> =>
      withRequestCounter ? { http_requests_total: requests, retry_warnings_total: retries, redispatch_warnings_total: 0 } : { retry_warnings_total: retries, redispatch_warnings_total: 0 };
    const before = await haproxy(backend(500, 40), { sessions_total: 520, connection_errors_total: 0 });
    const after = await haproxy(backend(600, 100), { sessions_total: 650, connection_errors_total: 0 });
    const report = buildSidecarReport({ source: 'metrics.txt', clusterQuery: 'be', before, after, delta: diffSnapshots(before, after), gauges: undefined, result });
    expect(report.kind).toBe('haproxy');
    const check = report.agreement.find((a) => a.name === name);
    if (check === undefined) throw new Error('no requests agreement');
    expect(report.diagnostics.join('\n')).not.toMatch(/bypass/);
    return check;
  }

  it("counts the backend's own requests, not attempts minus HAProxy's doubled retries", async () => {
    const check = await requestsCheck(true);
    expect(check).toMatchObject({ client: 100, proxy: 100, agrees: true });
    expect(check.note).not.toMatch(/bypass/);
  });

  it('cannot tell, naming the double count, without the request counter', async () => {
    const check = await requestsCheck(false);
    expect(check).toMatchObject({ client: 100, proxy: undefined, agrees: undefined });
    expect(check.note).toMatch(/^cannot tell, because HAProxy 2\.6 counts each L7 retry twice in retry_warnings_total/);
  });

  it('cannot tell the retries either, even when the responses echo their attempts', async () => {
    const check = await requestsCheck(true, 'retries', run({ '1': 70, '2': 30 }));
    expect(check).toMatchObject({ client: 30, proxy: 60, agrees: undefined });
    expect(check.note).toMatch(/^cannot tell, because HAProxy 2\.6 counts each L7 retry twice/);
  });
});
