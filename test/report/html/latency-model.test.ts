import { Distribution } from '../../../src/metrics/distribution';
import { BINS_PER_DECADE, codeLatencyRows, curveDecades, latencyModel, sortedCodes } from '../../../src/report/html/latency-model';
import { load, spreadCalls } from './html-fixtures';

describe('latency model', () => {
  const result = load(spreadCalls(5000));
  const model = latencyModel(result);
  if (model === undefined) throw new Error('a load with calls has a latency model');

  it('bins every call exactly once: the histogram sums to the count', () => {
    const { edgesMs, counts } = model.histogram;
    expect(counts.reduce((a, b) => a + b, 0)).toBe(result.latency.count);
    expect(edgesMs).toHaveLength(counts.length + 1);
    for (let i = 1; i < edgesMs.length; i++) expect(edgesMs[i]).toBeGreaterThan(edgesMs[i - 1] as number);
    // Log bins: each edge is the one before times 10^(1/BINS_PER_DECADE).
    expect((edgesMs[1] as number) / (edgesMs[0] as number)).toBeCloseTo(10 ** (1 / BINS_PER_DECADE), 9);
  });

  it('puts each value in the bin that contains it', () => {
    const known = load([
      { latencyUs: 1000, code: 200 },
      { latencyUs: 1000, code: 200 },
      { latencyUs: 10_000, code: 200 },
      { latencyUs: 250_000, code: 200 },
    ]);
    const m = latencyModel(known);
    const { edgesMs, counts } = m?.histogram ?? { edgesMs: [], counts: [] };
    const binOf = (ms: number): number => edgesMs.findIndex((edge, i) => ms >= edge - 1e-9 && ms < (edgesMs[i + 1] ?? Infinity) - 1e-9);
    expect(edgesMs[0]).toBeCloseTo(1, 9);
    expect(counts[binOf(1)]).toBe(2);
    expect(counts[binOf(10)]).toBe(1);
    expect(counts[binOf(250)]).toBe(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('draws the percentile curve HdrHistogram-style: x = 1/(1-p), y = the distribution\'s percentiles', () => {
    const corrected = Distribution.decode(result.latency);
    const uncorrected = Distribution.decode(result.latencyUncorrected);
    const { x, percentiles, correctedMs, uncorrectedMs } = model.curve;
    expect(x[0]).toBe(1);
    expect(percentiles[0]).toBe(0);
    // 5000 calls resolve four decades: up to 99.99%.
    expect(curveDecades(5000)).toBe(4);
    expect(x[x.length - 1]).toBeCloseTo(10_000, 6);
    expect(percentiles[percentiles.length - 1]).toBeCloseTo(99.99, 9);
    percentiles.forEach((p, i) => {
      expect(x[i]).toBeCloseTo(1 / (1 - p / 100), 6);
      expect(correctedMs[i]).toBe(corrected.percentile(p) / 1000);
      expect(uncorrectedMs?.[i]).toBe(uncorrected.percentile(p) / 1000);
    });
    for (let i = 1; i < correctedMs.length; i++) {
      expect(correctedMs[i]).toBeGreaterThanOrEqual(correctedMs[i - 1] as number);
      expect(uncorrectedMs?.[i]).toBeGreaterThanOrEqual(uncorrectedMs?.[i - 1] as number);
    }
    // The 90% point sits one decade in, and equals the p90 the summary prints.
    const at90 = percentiles.findIndex((p) => Math.abs(p - 90) < 1e-9);
    expect(correctedMs[at90]).toBe(model.summary.p90Ms);
  });

  it('summarises with exact min, mean and max and HDR percentiles', () => {
    const d = Distribution.decode(result.latency);
    expect(model.summary).toEqual({
      count: 5000,
      minMs: d.min / 1000,
      meanMs: d.mean() / 1000,
      p50Ms: d.percentile(50) / 1000,
      p90Ms: d.percentile(90) / 1000,
      p99Ms: d.percentile(99) / 1000,
      p999Ms: d.percentile(99.9) / 1000,
      maxMs: d.max / 1000,
    });
  });

  it('has no model for a load without calls, and no uncorrected curve without that distribution', () => {
    expect(latencyModel(load([]))).toBeUndefined();
    const old = load(spreadCalls(100)) as unknown as Record<string, unknown>;
    delete old.latencyUncorrected;
    expect(latencyModel(old as never)?.curve.uncorrectedMs).toBeUndefined();
  });

  it('lists latency per status code in numeric order, socket errors first', () => {
    const mixed = load([
      { latencyUs: 2000, code: 503 },
      { latencyUs: 4000, code: 503 },
      { latencyUs: 500, code: 200 },
      { latencyUs: 9000, code: -1 },
    ]);
    const rows = codeLatencyRows(mixed);
    expect(rows.map((r) => [r.code, r.count])).toEqual([['-1', 1], ['200', 1], ['503', 2]]);
    const d503 = Distribution.decode(mixed.latencyByCode['503'] as never);
    expect(rows[2]).toEqual({ code: '503', count: 2, p50Ms: d503.percentile(50) / 1000, p90Ms: d503.percentile(90) / 1000, p99Ms: d503.percentile(99) / 1000, maxMs: 4 });
    // An older result without per-code distributions still lists its counts, without inventing latencies.
    const rowsWithout = codeLatencyRows({ ...mixed, latencyByCode: {} });
    expect(rowsWithout.map((r) => [r.code, r.count, r.p99Ms])).toEqual([['-1', 1, undefined], ['200', 1, undefined], ['503', 2, undefined]]);
    expect(sortedCodes(['503', '200', '-1', '200'])).toEqual(['-1', '200', '503']);
  });
});

describe('latency model with a baseline', () => {
  it('reads the baseline at the same percentiles as this run', () => {
    const now = load(spreadCalls(1000));
    const before = load(spreadCalls(1000).map((c) => ({ ...c, latencyUs: c.latencyUs * 2 })));
    const curve = latencyModel(now, before)?.curve;
    expect(curve?.baselineMs).toHaveLength(curve?.percentiles.length ?? -1);
    const p50 = curve?.percentiles.findIndex((p) => p >= 50) ?? -1;
    expect((curve?.baselineMs?.[p50] ?? 0) / (curve?.correctedMs[p50] ?? 1)).toBeCloseTo(2, 1);
    expect(latencyModel(now)?.curve.baselineMs).toBeUndefined();
    // A baseline phase without calls draws nothing.
    expect(latencyModel(now, load([]))?.curve.baselineMs).toBeUndefined();
  });
});
