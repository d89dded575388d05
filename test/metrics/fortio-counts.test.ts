/** FortioCounts against Fortio's own expectations (fortio/fortio stats/stats_test.go, cited per
 * test): recording, Export, CalcPercentile and Print must give Fortio's numbers exactly. */
import { calcPercentile, checkedCounts, exportFortioCounts, FortioCounts, mergeCounts } from '../../src/metrics/fortio-counts';
import { fortioHistogramLines } from '../../src/report/fortio-text';

function histogram(offset: number, divider: number, values: number[]): FortioCounts {
  const h = new FortioCounts(offset, divider);
  for (const v of values) h.record(v);
  return h;
}

describe('FortioCounts (stats.Histogram)', () => {
  it('TestHistogram: percentiles of 1, 251, 501, 751, 1001 at divider 10', () => {
    const e = exportFortioCounts(histogram(0, 10, [1, 251, 501, 751, 1001]).encode());
    expect(e.Avg).toBe(501);
    const expected: Array<[number, number]> = [
      [-1, 1],
      [0, 1],
      [0.1, 1],
      [1, 1],
      [20, 1],
      [20.01, 250.025],
      [39.99, 299.975],
      [40, 300],
      [50, 550],
      [75, 775],
      [90, 1000.5],
      [99, 1000.95],
      [99.9, 1000.995],
      [100, 1001],
      [101, 1001],
    ];
    for (const [p, value] of expected) expect([p, calcPercentile(e, p)]).toEqual([p, value]);
  });

  it('TestHistogramExport1: the exported JSON, byte for byte', () => {
    const e = exportFortioCounts(histogram(0, 10, [-137.4, 251, 501, 751, 1001.67]).encode(), [50, 99, 99.9]);
    expect(JSON.stringify(e)).toBe(
      JSON.stringify({
        Count: 5,
        Min: -137.4,
        Max: 1001.67,
        Sum: 2367.27,
        Avg: 473.454,
        StdDev: 394.8242896074151,
        Data: [
          { Start: -137.4, End: 0, Percent: 20, Count: 1 },
          { Start: 250, End: 300, Percent: 40, Count: 1 },
          { Start: 500, End: 600, Percent: 60, Count: 1 },
          { Start: 700, End: 800, Percent: 80, Count: 1 },
          { Start: 1000, End: 1001.67, Percent: 100, Count: 1 },
        ],
        Percentiles: [
          { Percentile: 50, Value: 550 },
          { Percentile: 99, Value: 1001.5865 },
          { Percentile: 99.9, Value: 1001.66165 },
        ],
      }),
    );
  });

  it('TestHistogramLastBucket: edges at 99999, 100000 and beyond, printed', () => {
    const h = histogram(-1, 1, [-1, 0, 1, 3, 10, 99999, 100000, 200000]);
    expect(fortioHistogramLines('testLastBucket', exportFortioCounts(h.encode(), [90]))).toEqual([
      'testLastBucket : count 8 avg 50001.5 +/- 7.071e+04 min -1 max 200000 sum 400012',
      '# range, mid point, percentile, count',
      '>= -1 <= -1 , -1 , 12.50, 1',
      '> -1 <= 0 , -0.5 , 25.00, 1',
      '> 0 <= 1 , 0.5 , 37.50, 1',
      '> 2 <= 3 , 2.5 , 50.00, 1',
      '> 9 <= 10 , 9.5 , 62.50, 1',
      '> 74999 <= 99999 , 87499 , 75.00, 1',
      '> 99999 <= 200000 , 150000 , 100.00, 2',
      '# target 90% 160000',
    ]);
  });

  it('TestHistogramNegativeNumbers: a negative offset keeps negative values in the first bucket', () => {
    const h = histogram(-10, 1, [-10, 10]);
    expect(fortioHistogramLines('testHistogramWithNegativeNumbers', exportFortioCounts(h.encode(), [1, 50, 75]))).toEqual([
      'testHistogramWithNegativeNumbers : count 2 avg 0 +/- 10 min -10 max 10 sum 0',
      '# range, mid point, percentile, count',
      '>= -10 <= -10 , -10 , 50.00, 1',
      '> 8 <= 10 , 9 , 100.00, 1',
      '# target 1% -10',
      '# target 50% -10',
      '# target 75% 9',
    ]);
  });

  it('merges parts exactly: the same export as one histogram of every value', () => {
    const values = [0.0004, 0.0011, 0.002, 0.0173, 0.25, 3.2];
    const whole = exportFortioCounts(histogram(0, 0.001, values).encode(), [50, 90]);
    const merged = mergeCounts([histogram(0, 0.001, values.slice(0, 2)).encode(), histogram(0, 0.001, values.slice(2)).encode()]);
    expect(merged).toBeDefined();
    const parts = exportFortioCounts(merged!, [50, 90]);
    expect(parts.Data).toEqual(whole.Data);
    expect(parts.Percentiles).toEqual(whole.Percentiles);
    expect(parts.Count).toBe(6);
    expect(parts.Sum).toBeCloseTo(whole.Sum, 12);
  });

  it('refuses a malformed encoded histogram (an edited file) instead of printing it', () => {
    const good = histogram(0, 0.001, [0.001]).encode();
    expect(checkedCounts(good)).toBe(good);
    expect(checkedCounts({ ...good, buckets: [1, 2] })).toBeUndefined();
    expect(checkedCounts({ ...good, divider: 0 })).toBeUndefined();
    expect(checkedCounts({ ...good, count: -1 })).toBeUndefined();
    expect(checkedCounts({ ...good, min: 'x' })).toBeUndefined();
    expect(checkedCounts(null)).toBeUndefined();
  });
});
