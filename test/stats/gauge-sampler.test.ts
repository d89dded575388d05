import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GaugeSampler, gaugeSeriesSet, MAX_SERIES, MAX_SERIES_POINTS, thinSeries, type GaugeSummary, type GaugeTrace } from '../../src/stats/gauge-sampler';
import { mergeGaugeSeries } from '../../src/stats/merge-sidecar-reports';

const T0 = Date.parse('2024-03-05T10:20:00.000Z');

/** A summary whose gauges were sampled every 100 ms from T0 - 200 ms, with these values. */
function summaryOf(series: Record<string, Record<string, number[]>>): GaugeSummary {
  const gauges = new Map<string, Map<string, GaugeTrace>>();
  let samples = 0;
  for (const [cluster, stats] of Object.entries(series)) {
    const traces = new Map<string, GaugeTrace>();
    for (const [stat, values] of Object.entries(stats)) {
      samples = Math.max(samples, values.length);
      traces.set(stat, { stat, key: stat, max: Math.max(...values), msAboveZero: 0, points: { bucket: values.map((_, i) => i), atMs: values.map((_, i) => T0 - 200 + i * 100), value: values } });
    }
    gauges.set(cluster, traces);
  }
  return { samples, failures: 0, lastError: undefined, intervalMs: 100, samplesPerPoint: 1, lastSampleAtMs: T0 - 200 + (samples - 1) * 100, gauges };
}

describe('gauge series', () => {
  it('keeps the gauges that moved, offsets from the load start, breakers that rose from 0 first', () => {
    const set = gaugeSeriesSet(
      summaryOf({
        be: { rq_pending_open: [0, 0, 0, 1, 1, 0], upstream_rq_active: [3, 9, 5, 4, 3, 3], max_requests_limit: [100, 100, 100, 100, 100, 100] },
      }),
      new Date(T0).toISOString(),
    );
    expect(set?.stepMs).toBe(100);
    expect(Object.keys(set?.clusters['be'] ?? {})).toEqual(['rq_pending_open', 'upstream_rq_active']);
    expect(set?.clusters['be']?.['rq_pending_open']).toEqual([[-200, 0], [-100, 0], [0, 0], [100, 1], [200, 1], [300, 0]]);
    expect(set?.leftOut).toBe(0);
  });

  it('caps the series kept and says how many were left out', () => {
    const stats: Record<string, number[]> = {};
    for (let i = 0; i < MAX_SERIES + 5; i++) stats[`g${String(i).padStart(2, '0')}_active`] = [0, i + 1];
    const set = gaugeSeriesSet(summaryOf({ be: stats }), new Date(T0).toISOString());
    expect(Object.keys(set?.clusters['be'] ?? {})).toHaveLength(MAX_SERIES);
    expect(set?.leftOut).toBe(5);
    // The widest swings are kept.
    expect(set?.clusters['be']?.['g00_active']).toBeUndefined();
  });

  it('thins pairs of points to their max and first time, doubling the step', () => {
    const summary = summaryOf({ be: { rq_pending_open: [0, 1, 0, 0, 2] } });
    thinSeries(summary);
    expect(summary.samplesPerPoint).toBe(2);
    const points = summary.gauges.get('be')?.get('rq_pending_open')?.points;
    expect(points?.value).toEqual([1, 0, 2]);
    expect(points?.atMs).toEqual([T0 - 200, T0, T0 + 200]);
    expect(gaugeSeriesSet(summary, new Date(T0).toISOString())?.stepMs).toBe(200);
  });

  it('samples a real source over time, a bounded series per gauge, and sees the breaker open where it did', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshload-gauges-'));
    const file = join(dir, 'stats.txt');
    // Replaced whole (rename), so a sample never reads half a file.
    const dump = (open: number): void => {
      writeFileSync(`${file}.new`, `cluster.be.circuit_breakers.default.rq_pending_open: ${open}\ncluster.be.upstream_rq_total: 10\n`);
      renameSync(`${file}.new`, file);
    };
    dump(0);
    const sampler = new GaugeSampler({ kind: 'file', path: file }, { format: 'envoy-text', timeoutMs: 2000 }, 'be', 20);
    try {
      const start = Date.now();
      sampler.start();
      await new Promise((resolve) => setTimeout(resolve, 200));
      dump(1);
      const openedAt = Date.now() - start;
      await new Promise((resolve) => setTimeout(resolve, 200));
      dump(0);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const summary = await sampler.stop();
      const set = gaugeSeriesSet(summary, new Date(start).toISOString());
      const points = set?.clusters['cluster.be'] ?? set?.clusters['be'];
      const series = points?.['circuit_breakers.default.rq_pending_open'] ?? Object.values(points ?? {})[0];
      if (series === undefined) throw new Error(`no series: ${JSON.stringify(set)}`);
      const firstOpen = series.find(([, v]) => v === 1);
      expect(firstOpen).toBeDefined();
      // Opened about 200 ms in (a sample later at most, on a busy machine a few).
      expect(firstOpen?.[0]).toBeGreaterThanOrEqual(openedAt - 5);
      expect(firstOpen?.[0]).toBeLessThan(openedAt + 400);
      expect(series[series.length - 1]?.[1]).toBe(0);
      expect(series.length).toBeLessThanOrEqual(MAX_SERIES_POINTS);
      // Only changes are kept (0, 1, 0, then the closing point), not every one of the ~25 samples.
      expect(series.map(([, v]) => v)).toEqual([0, 1, 0, 0]);
      expect(summary.samples).toBeGreaterThan(10);
    } finally {
      await sampler.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('merged gauge series', () => {
  it('re-bases each pod on the merged start and keeps the largest value per step', () => {
    const a = { startTime: new Date(T0).toISOString(), stepMs: 100, clusters: { be: { rq_pending_open: [[0, 0], [100, 1], [200, 0]] as Array<[number, number]> } }, leftOut: 0 };
    const b = { startTime: new Date(T0 + 100).toISOString(), stepMs: 200, clusters: { be: { rq_pending_open: [[0, 2], [200, 0]] as Array<[number, number]> } }, leftOut: 1 };
    const merged = mergeGaugeSeries([a, undefined, b], new Date(T0).toISOString());
    expect(merged?.stepMs).toBe(200);
    // a: 0 at 0, 1 at 100 (step 0), 0 at 200 (step 1); b: 2 at 100 (step 0), 0 at 300 (step 1).
    expect(merged?.clusters['be']?.['rq_pending_open']).toEqual([[0, 2], [200, 0]]);
    expect(merged?.leftOut).toBe(1);
  });

  it('leaves out a part whose series are not of the right shape (a hand-edited file)', () => {
    const bad = { startTime: 'yesterday', stepMs: 100, clusters: {}, leftOut: 0 };
    const odd = { startTime: new Date(T0).toISOString(), stepMs: -1, clusters: { be: { g_active: [[0, 1], ['x', 2], [100]] } }, leftOut: 0 } as never;
    const merged = mergeGaugeSeries([bad, odd], new Date(T0).toISOString());
    expect(merged?.clusters['be']?.['g_active']).toEqual([[0, 1]]);
    expect(mergeGaugeSeries([bad], new Date(T0).toISOString())).toBeUndefined();
  });
});
