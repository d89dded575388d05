/** The sidecar reports of two generator pods, each from its own proxy's Envoy /stats dumps read
 * through the real snapshot path, merged for `meshload merge`: counter deltas add, gauges keep
 * the largest maximum, views and agreement are those of the summed deltas, and a part without
 * stats (or of another kind, format or cluster) leaves the whole unavailable, saying why. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from '../../src/model/load-result';
import { mergeResults } from '../../src/metrics/merge-results';
import { evaluateExpectation, parseExpectation } from '../../src/checks';
import type { GaugeSummary } from '../../src/stats/gauge-sampler';
import { mergeSidecarReports } from '../../src/stats/merge-sidecar-reports';
import { resilienceView } from '../../src/stats/resilience-view';
import { buildSidecarReport, unavailableReport } from '../../src/stats/sidecar-report';
import type { SidecarReport } from '../../src/model/sidecar-report';
import { diffSnapshots, takeSnapshot, type StatsSnapshot } from '../../src/stats/snapshot';
import { fixtureResult } from '../helpers/load-result-fixture';

const V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';
const PENDING_OPEN = 'circuit_breakers.default.rq_pending_open';
const PENDING_ACTIVE = 'upstream_rq_pending_active';

type Dump = Record<string, Record<string, number>>;

let dir: string;
let files = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-merge-sidecars-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function snapshot(stats: Dump, query = 'reviews'): Promise<StatsSnapshot> {
  const lines = Object.entries(stats).flatMap(([cluster, values]) => Object.entries(values).map(([stat, n]) => `cluster.${cluster}.${stat}: ${n}`));
  const path = join(dir, `stats-${++files}.txt`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return takeSnapshot({ kind: 'file', path }, { timeoutMs: 5000 }, query);
}

/** What the gauge sampler would have seen: cluster -> gauge -> [max, ms above 0]. */
function sampled(traces: Record<string, Record<string, [number, number]>>): GaugeSummary {
  const gauges = new Map(
    Object.entries(traces).map(([cluster, stats]) => [
      cluster,
      new Map(Object.entries(stats).map(([stat, [max, msAboveZero]]) => [stat, { stat, key: stat.replace(/[.-]/g, '_'), max, msAboveZero, points: { bucket: [], atMs: [], value: [] } }])),
    ]),
  );
  return { samples: 20, failures: 0, lastError: undefined, intervalMs: 100, samplesPerPoint: 1, lastSampleAtMs: undefined, gauges };
}

interface Pod {
  before: Dump;
  after: Dump;
  gauges: GaugeSummary;
  load: LoadResult;
}

async function report(pod: Pod, source: string, query = 'reviews'): Promise<SidecarReport> {
  const before = await snapshot(pod.before, query);
  const after = await snapshot(pod.after, query);
  return buildSidecarReport({ source, clusterQuery: query, before, after, delta: diffSnapshots(before, after), gauges: pod.gauges, result: pod.load });
}

/** `calls` timed calls: `rejected` breaker 503s, `retried` of the others answered by a second try. */
function load(calls: number, rejected: number, retried: number): LoadResult {
  return fixtureResult(
    Array.from({ length: calls }, (_, i) => ({ code: i < rejected ? 503 : 200, latencyUs: 1000 + i })),
    { causes: { breaker: rejected }, attempts: { '1': calls - rejected - retried, '2': retried }, warmupRequests: 0 },
  );
}

/** Counters of one cluster; the gauges' values after the run are 0 (the sampler saw the peaks). */
function counters(total: number, overflow: number, retry: number): Record<string, number> {
  return { upstream_rq_total: total, upstream_rq_pending_overflow: overflow, upstream_rq_retry: retry, [PENDING_OPEN]: 0, [PENDING_ACTIVE]: 0 };
}

// Pod A: 100 calls, 3 rejected by its sidecar's breaker, 4 retried; upstream 97 + 4 = 101.
const POD_A: Pod = {
  before: { [V1]: counters(1000, 10, 50), [V2]: counters(500, 0, 7) },
  after: { [V1]: counters(1061, 12, 53), [V2]: counters(540, 1, 8) },
  gauges: sampled({ [V1]: { [PENDING_OPEN]: [1, 300], [PENDING_ACTIVE]: [3, 400] }, [V2]: { [PENDING_OPEN]: [1, 100] } }),
  load: load(100, 3, 4),
};

// Pod B, its own sidecar: 60 calls, 5 rejected, 2 retried; upstream 55 + 2 = 57.
const POD_B: Pod = {
  before: { [V1]: counters(20, 0, 0), [V2]: counters(30, 2, 1) },
  after: { [V1]: counters(50, 5, 2), [V2]: counters(57, 2, 1) },
  gauges: sampled({ [V1]: { [PENDING_OPEN]: [1, 500], [PENDING_ACTIVE]: [2, 900] } }),
  load: load(60, 5, 2),
};

function check(text: string, result: LoadResult): { verdict: string; reason?: string | undefined } {
  const { verdict, reason } = evaluateExpectation(parseExpectation(text), result, 'phases[0].expect[0]', text);
  return { verdict, reason };
}

describe('mergeSidecarReports', () => {
  it("adds the pods' counter deltas per cluster, exactly", async () => {
    const a = await report(POD_A, 'http://localhost:15000/stats');
    const b = await report(POD_B, 'http://localhost:15000/stats');
    const merged = mergeSidecarReports([{ file: 'pod-a.json', report: a }, { file: 'pod-b.json', report: b }], mergeResults([POD_A.load, POD_B.load]));
    expect(merged?.unavailable).toBeUndefined();
    expect(merged?.clusters.map((c) => [c.cluster, c.group, c.subset])).toEqual(a.clusters.map((c) => [c.cluster, c.group, c.subset]));
    for (const cluster of [V1, V2]) {
      const of = (r: SidecarReport | undefined): Record<string, number> => r?.clusters.find((c) => c.cluster === cluster)?.deltas ?? {};
      const stats = new Set([...Object.keys(of(a)), ...Object.keys(of(b))]);
      expect(of(merged)).toEqual(Object.fromEntries([...stats].map((s) => [s, (of(a)[s] ?? 0) + (of(b)[s] ?? 0)])));
    }
    expect(merged?.clusters[0]?.deltas).toEqual({ upstream_rq_total: 91, upstream_rq_pending_overflow: 7, upstream_rq_retry: 5 });
    expect(merged?.clusters[1]?.deltas).toEqual({ upstream_rq_total: 67, upstream_rq_pending_overflow: 1, upstream_rq_retry: 1 });
    expect(merged?.source).toBe('2 sidecars: http://localhost:15000/stats');
    expect(merged?.kind).toBe('envoy');
    expect(merged?.format).toBe('envoy-text');
    expect(merged?.clusterQuery).toBe('reviews');
  });

  it('keeps the largest gauge maximum and the longest time above 0, and says so', async () => {
    const merged = mergeSidecarReports(
      [
        { file: 'pod-a.json', report: await report(POD_A, 'a') },
        { file: 'pod-b.json', report: await report(POD_B, 'b') },
      ],
      mergeResults([POD_A.load, POD_B.load]),
    );
    // Pod A peaked at 3 pending, pod B at 2: not necessarily together, so 3 and not 5.
    expect(merged?.clusters[0]?.gauges).toEqual({ [PENDING_OPEN]: { max: 1, msAboveZero: 500 }, [PENDING_ACTIVE]: { max: 3, msAboveZero: 900 } });
    // Pod B's sampler saw no V2 gauge: its value after the run (0), time unknown.
    expect(merged?.clusters[1]?.gauges).toEqual({ [PENDING_OPEN]: { max: 1, msAboveZero: 100 }, [PENDING_ACTIVE]: { max: 0, msAboveZero: undefined } });
    expect(merged?.total?.breakerOpen.rqPending).toBe(1);
    expect(merged?.diagnostics).toContainEqual(expect.stringMatching(/^gauges: the largest of the 2 generators' maxima .*the pods' sum may have been higher\. Time above 0 is the longest of theirs, a lower bound/));
    expect(merged?.source).toBe('2 sidecars: a, b');
  });

  it('builds views, total and agreement from the summed deltas, as one proxy that saw both pods would', async () => {
    const mergedLoad = mergeResults([POD_A.load, POD_B.load]);
    const merged = mergeSidecarReports(
      [
        { file: 'pod-a.json', report: await report(POD_A, 'a') },
        { file: 'pod-b.json', report: await report(POD_B, 'b') },
      ],
      mergedLoad,
    );
    for (const c of merged?.clusters ?? []) {
      expect(c.view).toEqual(resilienceView('envoy', new Map(Object.entries(c.deltas)), new Map(Object.entries(c.gauges).map(([s, g]) => [s, g.max]))));
    }
    // One dump holding both pods' counters, gauges at the larger peak: the report merge must equal.
    const sum = (x: Dump, y: Dump): Dump =>
      Object.fromEntries(Object.entries(x).map(([cluster, stats]) => [cluster, Object.fromEntries(Object.entries(stats).map(([s, n]) => [s, n + (y[cluster]?.[s] ?? 0)]))]));
    const whole = await report(
      {
        before: sum(POD_A.before, POD_B.before),
        after: sum(POD_A.after, POD_B.after),
        gauges: sampled({ [V1]: { [PENDING_OPEN]: [1, 500], [PENDING_ACTIVE]: [3, 900] }, [V2]: { [PENDING_OPEN]: [1, 100] } }),
        load: mergedLoad,
      },
      'whole',
    );
    expect(merged?.clusters.map((c) => ({ ...c, gauges: {} }))).toEqual(whole.clusters.map((c) => ({ ...c, gauges: {} })));
    expect(merged?.total).toEqual(whole.total);
    expect(merged?.agreement).toEqual(whole.agreement);
    // Client breaker 503s (3 + 5) against the sidecars' overflow (3 + 5): they agree.
    expect(merged?.agreement).toEqual([
      expect.objectContaining({ name: 'breaker', client: 8, proxy: 8, agrees: true }),
      expect.objectContaining({ name: 'requests', client: 160, proxy: 160, agrees: true }),
      expect.objectContaining({ name: 'retries', client: 6, proxy: 6, agrees: true }),
    ]);
    const result = { ...mergedLoad, ...(merged === undefined ? {} : { sidecar: merged }) };
    for (const text of ['delta(upstream_rq_retry) == 6', 'breaker.rejected == 8', 'max(upstream_rq_pending_active) == 3', 'agree(breaker)', 'agree(requests)']) {
      expect(check(text, result).verdict).toBe('pass');
    }
  });

  it('a counter that went down in one pod leaves its cluster without merged deltas, and its checks inconclusive', async () => {
    // Pod B's sidecar restarted: its V1 retry counter went from 40 to 2.
    const restarted: Pod = { ...POD_B, before: { ...POD_B.before, [V1]: counters(20, 0, 40) } };
    const mergedLoad = mergeResults([POD_A.load, restarted.load]);
    const merged = mergeSidecarReports(
      [
        { file: 'pod-a.json', report: await report(POD_A, 'a') },
        { file: 'pod-b.json', report: await report(restarted, 'b') },
      ],
      mergedLoad,
    );
    const v1 = merged?.clusters.find((c) => c.cluster === V1);
    // A restart resets every counter: the ones that did not go down started again from 0 too.
    expect(v1?.resets).toEqual(expect.arrayContaining(['upstream_rq_retry', 'upstream_rq_total', 'upstream_rq_pending_overflow']));
    expect(v1?.deltas).toEqual({});
    expect(v1?.unavailable).toMatch(/counters went down \(upstream_rq_retry\)/);
    expect(v1?.view.retries.attempted).toBeUndefined();
    expect(v1?.view.requestsSent).toBeUndefined();
    expect(merged?.total?.requestsSent).toBeUndefined();
    expect(merged?.diagnostics).toContainEqual(expect.stringMatching(new RegExp(`^pod-b\\.json: counters of ${V1.replace(/\|/g, '\\|')} went down during the run`)));
    expect(merged?.diagnostics).toContainEqual(expect.stringMatching(/^a cluster whose counters went down in any generator's proxy has no merged deltas/));
    const result = { ...mergedLoad, ...(merged === undefined ? {} : { sidecar: merged }) };
    expect(check('delta(upstream_rq_retry) > 0', result)).toEqual({ verdict: 'inconclusive', reason: expect.stringMatching(/upstream_rq_retry went down during the run in outbound\|9080\|v1\|/) });
  });

  it("keeps each part's diagnostics once, prefixed by its file unless every part has it", async () => {
    const query = 'ratings';
    const mergedLoad = mergeResults([POD_A.load, POD_B.load]);
    const a = await report(POD_A, 'a', query);
    const b = await report({ ...POD_B, gauges: { ...POD_B.gauges, failures: 2, lastError: 'timed out' } }, 'b', query);
    const merged = mergeSidecarReports([{ file: 'pod-a.json', report: a }, { file: 'pod-b.json', report: b }], mergedLoad);
    const missing = a.diagnostics[0] ?? '';
    expect(missing).toMatch(/^no cluster matches 'ratings' \(outbound clusters: /);
    expect(b.diagnostics[0]).toBe(missing);
    expect(merged?.diagnostics).toEqual([missing, expect.stringMatching(/^pod-b\.json: 2 of 22 gauge samples failed \(timed out\)/)]);
    expect(merged?.clusters).toEqual([]);
    expect(merged?.total).toBeUndefined();
    expect(merged?.agreement).toEqual([]);
  });

  it('is unavailable, naming the parts, when any part lacks stats', async () => {
    const mergedLoad = mergeResults([POD_A.load, POD_B.load, POD_B.load]);
    const a = await report(POD_A, 'a');
    const down = unavailableReport('http://localhost:15000/stats', 'reviews', 'GET http://localhost:15000/stats timed out after 5000ms');
    const merged = mergeSidecarReports(
      [
        { file: 'pod-0.json', report: a },
        { file: 'pod-1.json', report: down },
        { file: 'pod-2.json', report: undefined },
      ],
      mergedLoad,
    );
    expect(merged?.unavailable).toBe(
      '2 of the 3 generators have no proxy stats (pod-1.json: unavailable (GET http://localhost:15000/stats timed out after 5000ms); pod-2.json: no stats source): ' +
        "a sum over the other 1 sidecar would read as the whole run's and is not",
    );
    expect(merged?.clusters).toEqual([]);
    expect(merged?.agreement).toEqual([]);
    expect(merged?.clusterQuery).toBe('reviews');
    const result = { ...mergedLoad, ...(merged === undefined ? {} : { sidecar: merged }) };
    expect(check('breaker.rejected > 0', result)).toEqual({ verdict: 'inconclusive', reason: expect.stringMatching(/^stats unavailable: 2 of the 3 generators have no proxy stats/) });
  });

  it('is unavailable when the parts read another cluster, format or proxy', async () => {
    const mergedLoad = mergeResults([POD_A.load, POD_B.load]);
    const a = await report(POD_A, 'a');
    const b = await report(POD_B, 'b', 'reviews.default');
    const merged = mergeSidecarReports([{ file: 'pod-a.json', report: a }, { file: 'pod-b.json', report: b }], mergedLoad);
    expect(merged?.unavailable).toBe("pod-b.json has cluster query 'reviews.default' but pod-a.json has 'reviews': their stats do not add up to one run's");
    const prometheus = mergeSidecarReports([{ file: 'pod-a.json', report: a }, { file: 'pod-b.json', report: { ...a, format: 'prometheus' } }], mergedLoad);
    expect(prometheus?.unavailable).toBe("pod-b.json has stats format 'prometheus' but pod-a.json has 'envoy-text': their stats do not add up to one run's");
    const haproxy = mergeSidecarReports([{ file: 'pod-a.json', report: a }, { file: 'pod-b.json', report: { ...a, kind: 'haproxy' } }], mergedLoad);
    expect(haproxy?.unavailable).toMatch(/^pod-b\.json has proxy kind 'haproxy' but pod-a\.json has 'envoy'/);
  });

  it('is undefined when no part had a stats source, and one part is the whole', async () => {
    expect(mergeSidecarReports([{ file: 'a', report: undefined }, { file: 'b', report: undefined }], POD_A.load)).toBeUndefined();
    const a = await report(POD_A, 'a');
    expect(mergeSidecarReports([{ file: 'a', report: a }], POD_A.load)).toBe(a);
  });

  it('names a few sources and counts the rest', async () => {
    const a = await report(POD_A, 'a');
    const parts = ['s0', 's1', 's2', 's3', 's4'].map((source) => ({ file: `${source}.json`, report: { ...a, source } }));
    expect(mergeSidecarReports(parts, mergeResults(parts.map(() => POD_A.load)))?.source).toBe('5 sidecars: s0, s1, and 3 more');
  });
});
