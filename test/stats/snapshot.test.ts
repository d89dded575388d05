/** Snapshots are honest about what a dump cannot tell: counters too large to subtract exactly,
 * negative counters and series given twice are refused with a reason, and a cluster any of whose
 * counters went down (a restart) has no counter deltas at all rather than some. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSidecarReport } from '../../src/stats/sidecar-report';
import type { SidecarReport } from '../../src/model/sidecar-report';
import { diffSnapshots, takeSnapshot, type StatsSnapshot } from '../../src/stats/snapshot';

const A = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const B = 'outbound|9080|v2|reviews.default.svc.cluster.local';

let dir: string;
let files = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-snapshot-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function snapshot(text: string): Promise<StatsSnapshot> {
  const path = join(dir, `dump-${++files}.txt`);
  writeFileSync(path, text);
  return takeSnapshot({ kind: 'file', path }, { timeoutMs: 5000 }, 'reviews');
}

function envoy(values: Record<string, Record<string, number | string>>): string {
  return Object.entries(values)
    .flatMap(([cluster, stats]) => Object.entries(stats).map(([stat, v]) => `cluster.${cluster}.${stat}: ${v}`))
    .join('\n') + '\n';
}

async function report(before: string, after: string): Promise<SidecarReport> {
  const b = await snapshot(before);
  const a = await snapshot(after);
  return buildSidecarReport({ source: 'dump', clusterQuery: 'reviews', before: b, after: a, delta: diffSnapshots(b, a), gauges: undefined, result: undefined });
}

function cluster(r: SidecarReport, name: string): SidecarReport['clusters'][number] {
  const found = r.clusters.find((c) => c.cluster === name);
  if (found === undefined) throw new Error(`no cluster ${name} in ${JSON.stringify(r.clusters.map((c) => c.cluster))}`);
  return found;
}

describe('counters beyond 2^53', () => {
  it('are refused with a reason: their cluster has no counter deltas', async () => {
    const huge = '9007199254740993'; // 2^53 + 1: a JS number reads it as 2^53
    const r = await report(
      envoy({ [A]: { upstream_rq_total: huge, upstream_rq_retry: 1 }, [B]: { upstream_rq_total: 5 } }),
      envoy({ [A]: { upstream_rq_total: '9007199254741000', upstream_rq_retry: 4 }, [B]: { upstream_rq_total: 9 } }),
    );
    const a = cluster(r, A);
    expect(a.deltas).toEqual({});
    expect(a.unavailable).toMatch(/counter upstream_rq_total is above 2\^53 at line 1: too large to subtract exactly/);
    expect(a.view.requestsSent).toBeUndefined();
    expect(a.view.retries.attempted).toBeUndefined();
    expect(cluster(r, B).deltas).toEqual({ upstream_rq_total: 4 });
    expect(r.total?.requestsSent).toBeUndefined();
    expect(r.diagnostics).toContainEqual(expect.stringMatching(/^the counter deltas of outbound\|9080\|v1\|reviews\S+ are not reported: .*above 2\^53/));
    expect(r.diagnostics).toContainEqual(expect.stringMatching(/^the total counts are n\/a: they would leave out outbound\|9080\|v1\|/));
  });

  it('a gauge at Envoy\'s "unlimited" (2^64 - 2) is kept: a maximum needs no subtraction', async () => {
    const dump = envoy({ [A]: { 'circuit_breakers.default.remaining_cx_pools': '18446744073709551614', upstream_rq_total: 3 } });
    const r = await report(dump, dump);
    expect(cluster(r, A).unavailable).toBeUndefined();
    expect(cluster(r, A).gauges['circuit_breakers.default.remaining_cx_pools']?.max).toBe(Number('18446744073709551614'));
    expect(cluster(r, A).deltas).toEqual({ upstream_rq_total: 0 });
  });
});

it('a negative counter is invalid input: reported, not used', async () => {
  const r = await report(envoy({ [A]: { upstream_rq_total: 10 } }), envoy({ [A]: { upstream_rq_total: 12, upstream_rq_retry: -3 } }));
  expect(cluster(r, A).deltas).toEqual({});
  expect(cluster(r, A).unavailable).toMatch(/counter upstream_rq_retry is negative \(-3\) at line 2: counters only count up/);
});

describe('a series given twice in one dump', () => {
  it('Envoy text: reported with both lines', async () => {
    const after = envoy({ [A]: { upstream_rq_total: 12 } }) + `cluster.${A}.upstream_rq_total: 15\n`;
    const r = await report(envoy({ [A]: { upstream_rq_total: 10 } }), after);
    expect(cluster(r, A).deltas).toEqual({});
    expect(cluster(r, A).unavailable).toMatch(/gives cluster\.outbound\|9080\|v1\|reviews\.default\.svc\.cluster\.local\.upstream_rq_total twice \(lines 1 and 2\)/);
  });

  it('Prometheus: the same labels in another order are the same series', async () => {
    const dump =
      '# TYPE envoy_cluster_upstream_rq_total counter\n' +
      `envoy_cluster_upstream_rq_total{cluster_name="${A}",pod="p"} 7\n` +
      `envoy_cluster_upstream_rq_total{pod="p",cluster_name="${A}"} 9\n`;
    const r = await report(dump, dump);
    expect(cluster(r, A).unavailable).toMatch(/gives envoy_cluster_upstream_rq_total\{cluster_name=.*,pod="p"\} twice \(lines 2 and 3\)/);
  });
});

describe('a counter that went down', () => {
  it('makes every counter delta of its cluster unavailable, not only its own; gauges and other clusters stand', async () => {
    const r = await report(
      envoy({ [A]: { upstream_rq_total: 100, upstream_rq_retry: 40, upstream_rq_pending_overflow: 2, upstream_rq_active: 3 }, [B]: { upstream_rq_total: 50 } }),
      // A restarted: the retry counter went down; the others climbed again past their old values.
      envoy({ [A]: { upstream_rq_total: 130, upstream_rq_retry: 5, upstream_rq_pending_overflow: 9, upstream_rq_active: 1 }, [B]: { upstream_rq_total: 80 } }),
    );
    const a = cluster(r, A);
    expect(a.deltas).toEqual({});
    expect(a.resets.sort()).toEqual(['upstream_rq_pending_overflow', 'upstream_rq_retry', 'upstream_rq_total']);
    expect(a.unavailable).toBe('counters went down (upstream_rq_retry): the proxy restarted or its counters were reset');
    expect(a.view.requestsSent).toBeUndefined();
    expect(a.view.breakerRejections.pending).toBeUndefined();
    expect(a.gauges.upstream_rq_active?.max).toBe(1);
    expect(cluster(r, B).deltas).toEqual({ upstream_rq_total: 30 });
    expect(r.total?.requestsSent).toBeUndefined();
    expect(r.diagnostics).toContainEqual(
      `counters of ${A} went down during the run (upstream_rq_retry): the proxy restarted or its counters were reset; none of its counter deltas are reported`,
    );
  });
});
