/** Fortio's own expectations for stats.Histogram (fortio/fortio stats/stats_test.go at 45e1871),
 * run against meshload's recorder: Record, RecordN, Transfer, Export, CalcPercentile, Print. */
import { calcPercentile, FORTIO_BUCKET_EDGES, FortioCounts, fortioBucketIndex, goSeconds } from '../../src/metrics/fortio-histogram';
import { fortioHistogramLines } from '../../src/report/fortio/histogram-lines';

function histogram(offset: number, divider: number, values: readonly number[] = []): FortioCounts {
  const h = new FortioCounts({ offset, divider });
  for (const v of values) h.record(v);
  return h;
}

/** stats.Histogram.Print(out, msg, percentiles), as text. */
function print(h: FortioCounts, msg: string, percentiles: readonly number[]): string {
  return fortioHistogramLines(msg, h.export(percentiles)).join('\n') + '\n';
}

/** stats_test.go roundFloat: 5 decimal places. */
function round5(f: number): number {
  return Math.trunc(f * 100000 + 0.5) / 100000;
}

describe('Fortio stats.Histogram (stats_test.go)', () => {
  it('TestHistogram: CalcPercentile interpolates inside buckets, Min and Max at the ends', () => {
    const h = histogram(0, 10, [1, 251, 501, 751, 1001]);
    const e = h.export();
    expect(h.avg()).toBe(501);
    const cases: Array<[number, number]> = [
      [-1, 1], [0, 1], [0.1, 1], [1, 1], [20, 1], [20.01, 250.025], [39.99, 299.975], [40, 300],
      [50, 550], [75, 775], [90, 1000.5], [99, 1000.95], [99.9, 1000.995], [100, 1001], [101, 1001],
    ];
    for (const [p, expected] of cases) expect([p, calcPercentile(e, p)]).toEqual([p, expected]);
  });

  it('TestPercentiles1: three points, p50 half way between the first two', () => {
    const h = histogram(0, 10, [10, 20, 30]);
    const e = h.export();
    expect(h.avg()).toBe(20);
    const cases: Array<[number, number]> = [
      [-1, 10], [0, 10], [0.1, 10], [1, 10], [20, 10], [33.33, 10], [100 / 3, 10], [33.34, 10.002], [50, 15],
      [66.66, 19.998], [(100 * 2) / 3, 20], [66.67, 20.001], [75, 22.5], [99, 29.7], [99.9, 29.97], [100, 30], [101, 30],
    ];
    for (const [p, expected] of cases) expect([p, round5(calcPercentile(e, p))]).toEqual([p, expected]);
  });

  it('TestPercentilesIssue1080: percentiles stay within [Min, Max] at a 1 us divider', () => {
    const h = histogram(0, 0.000001, [500.1, 500.2, 500.3, 500.4]);
    const e = h.export([50]);
    for (let p = 0; p <= 100; p += 10) {
      const v = calcPercentile(e, p);
      expect(v).toBeGreaterThanOrEqual(500.1);
      expect(v).toBeLessThanOrEqual(500.4);
    }
    expect(round5(h.avg())).toBe(500.25);
    expect(round5(calcPercentile(e, 50))).toBe(500.2);
    expect(calcPercentile(e, 101)).toBe(500.4);
  });

  it('TestHistogramData: RecordN, and the percentiles of Export().CalcPercentiles', () => {
    const h = histogram(0, 1, [-1]);
    h.recordN(0, 3);
    for (const v of [1, 2, 3, 4]) h.record(v);
    h.recordN(5, 2);
    const e = h.export([0, 1, 10, 25, 40, 50, 60, 70, 80, 90, 99, 100]);
    expect(e.Count).toBe(10);
    expect(e.Avg).toBe(1.9);
    expect(e.Percentiles?.map((p) => p.Value)).toEqual([-1, -1, -1, -0.5, 0, 1, 2, 3, 4, 4.5, 4.95, 5]);
  });

  it('TestHistogramLastBucket: Print with offset -1 and the bucket above 100000', () => {
    const h = histogram(-1, 1, [-1, 0, 1, 3, 10, 99999, 100000, 200000]);
    expect(print(h, 'testLastBucket', [90])).toBe(`testLastBucket : count 8 avg 50001.5 +/- 7.071e+04 min -1 max 200000 sum 400012
# range, mid point, percentile, count
>= -1 <= -1 , -1 , 12.50, 1
> -1 <= 0 , -0.5 , 25.00, 1
> 0 <= 1 , 0.5 , 37.50, 1
> 2 <= 3 , 2.5 , 50.00, 1
> 9 <= 10 , 9.5 , 62.50, 1
> 74999 <= 99999 , 87499 , 75.00, 1
> 99999 <= 200000 , 150000 , 100.00, 2
# target 90% 160000
`);
  });

  it('TestTransferHistogram: same scale merges bucket by bucket, the source is left as it was', () => {
    const h1 = histogram(0, 10, [10, 20]);
    const h2 = histogram(0, 10, [80, 90]);
    const h3 = histogram(0, 10);
    h1.add(h2);
    expect(print(h1, 'merged h2 -> h1', [75])).toBe(`merged h2 -> h1 : count 4 avg 50 +/- 35.36 min 10 max 90 sum 200
# range, mid point, percentile, count
>= 10 <= 10 , 10 , 25.00, 1
> 10 <= 20 , 15 , 50.00, 1
> 70 <= 80 , 75 , 75.00, 1
> 80 <= 90 , 85 , 100.00, 1
# target 75% 80
`);
    expect(h2.count).toBe(2); // meshload's add does not clear its source, unlike Transfer
    // Into an empty one (min set from the source), then an empty one in (no-op).
    h3.add(h1);
    h3.add(histogram(0, 10));
    expect(print(h3, 'h3 after merge - 2', [75])).toBe(print(h1, 'h3 after merge - 2', [75]));
    // Reverse order (exercises the min branch).
    const h2a = histogram(0, 10, [80, 90]);
    h2a.add(histogram(0, 10, [10, 20, 50]));
    expect(print(h2a, 'merged h1a -> h2a', [75])).toBe(`merged h1a -> h2a : count 5 avg 50 +/- 31.62 min 10 max 90 sum 250
# range, mid point, percentile, count
>= 10 <= 10 , 10 , 20.00, 1
> 10 <= 20 , 15 , 40.00, 1
> 40 <= 50 , 45 , 60.00, 1
> 70 <= 80 , 75 , 80.00, 1
> 80 <= 90 , 85 , 100.00, 1
# target 75% 77.5
`);
  });

  it('TestTransferHistogramWithDifferentScales: another scale is re-recorded at bucket mid points', () => {
    const h1 = histogram(2, 15, [30, 40, 50]);
    const h2 = histogram(0, 10, [20, 23, 90]);
    expect(print(h1, 'h1 before merge', [75])).toBe(`h1 before merge : count 3 avg 40 +/- 8.165 min 30 max 50 sum 120
# range, mid point, percentile, count
>= 30 <= 32 , 31 , 33.33, 1
> 32 <= 47 , 39.5 , 66.67, 1
> 47 <= 50 , 48.5 , 100.00, 1
# target 75% 47.75
`);
    h1.add(h2);
    expect(print(h1, 'merged h2 -> h1', [75])).toBe(`merged h2 -> h1 : count 6 avg 42.166667 +/- 23.67 min 20 max 90 sum 253
# range, mid point, percentile, count
>= 20 <= 32 , 26 , 50.00, 3
> 32 <= 47 , 39.5 , 66.67, 1
> 47 <= 62 , 54.5 , 83.33, 1
> 77 <= 90 , 83.5 , 100.00, 1
# target 75% 54.5
`);
  });

  it('TestMergeHistogramsWithDifferentScales: lowest offset, highest divider', () => {
    const merge = (a: FortioCounts, b: FortioCounts): FortioCounts => {
      const merged = histogram(Math.min(a.offset, b.offset), Math.max(a.divider, b.divider));
      merged.add(a);
      merged.add(b);
      return merged;
    };
    expect(print(merge(histogram(0, 10, [20, 50, 90]), histogram(2, 100, [30, 40, 50])), 'h1 and h2 merged', [100])).toBe(`h1 and h2 merged : count 6 avg 46.666667 +/- 22.11 min 20 max 90 sum 280
# range, mid point, percentile, count
>= 20 <= 90 , 55 , 100.00, 6
# target 100% 90
`);
    expect(print(merge(histogram(5, 200, [10000, 5000, 9000]), histogram(2, 100, [300, 400, 50])), 'h3 and h4 merged', [100])).toBe(`h3 and h4 merged : count 6 avg 4125 +/- 4167 min 50 max 10000 sum 24750
# range, mid point, percentile, count
>= 50 <= 202 , 126 , 16.67, 1
> 202 <= 402 , 302 , 50.00, 2
> 5002 <= 6002 , 5502 , 66.67, 1
> 8002 <= 9002 , 8502 , 83.33, 1
> 9002 <= 10000 , 9501 , 100.00, 1
# target 100% 10000
`);
  });

  it('TestNaN: a constant value has StdDev 0 despite float rounding (issue #97)', () => {
    const h = histogram(0, 1);
    for (let i = 599713; i > 0; i--) h.record(1281);
    expect(h.stdDev()).toBe(0);
  });

  it('TestBucketLookUp and TestAllBucketBoundaries: an edge value is in the bucket it ends', () => {
    for (const [i, v] of FORTIO_BUCKET_EDGES.entries()) {
      const h = histogram(0, 1, [-1]);
      h.recordN(v - 0.01, 50);
      h.recordN(v, 700);
      h.recordN(v + 0.01, 1003);
      h.record(1e6);
      const data = h.export().Data ?? [];
      const first = i === 0 ? 1 : 0;
      const last = i === FORTIO_BUCKET_EDGES.length - 1 ? 1 : 0;
      expect([v, data[1 - first]?.End, data[1 - first]?.Count]).toEqual([v, v, 750 + first]);
      expect([v, data[2 - first]?.Start, data[2 - first]?.Count]).toEqual([v, v, 1003 + last]);
    }
    // The O(1) table below 1000 and the search above it agree with a plain scan.
    const wrong: number[] = [];
    for (let x = -2; x < 120000; x += 0.5) {
      const scan = FORTIO_BUCKET_EDGES.findIndex((edge) => x <= edge);
      if (fortioBucketIndex(x) !== (scan < 0 ? FORTIO_BUCKET_EDGES.length : scan)) wrong.push(x);
    }
    expect(wrong).toEqual([]);
  });
});

describe('FortioCounts encode/decode', () => {
  it('round-trips, so a result file re-renders the same histogram', () => {
    const h = histogram(0.002, 0.0005, [0.0011, 0.0523, 0.0525, 3.2]);
    const again = FortioCounts.decode(JSON.parse(JSON.stringify(h.encode())));
    expect(again?.export([50, 99])).toEqual(h.export([50, 99]));
  });

  it.each([
    ['not an object', 'x'],
    ['a zero divider', { ...histogram(0, 1, [1]).encode(), divider: 0 }],
    ['too few buckets', { ...histogram(0, 1, [1]).encode(), buckets: [1] }],
    ['counts that do not add up to count', { ...histogram(0, 1, [1]).encode(), count: 2 }],
    ['a negative count', { ...histogram(0, 1).encode(), buckets: [-1, 1, ...new Array<number>(55).fill(0)] }],
    ['a string where a number goes', { ...histogram(0, 1, [1]).encode(), sum: '1' }],
    ['min above max', { ...histogram(0, 1, [1, 2]).encode(), min: 3 }],
  ])('refuses %s', (_why, encoded) => {
    expect(FortioCounts.decode(encoded)).toBeUndefined();
  });

  it('refuses a zero divider when made', () => {
    expect(() => new FortioCounts({ offset: 0, divider: 0 })).toThrow(RangeError);
  });
});

describe('goSeconds', () => {
  it("is Go's Duration.Seconds of whole nanoseconds", () => {
    expect(goSeconds(50.059954999999995)).toBe(0.050059955);
    expect(goSeconds(1500.0000004)).toBe(1.5);
    expect(goSeconds(2_000.000_001)).toBe(2.000000001); // 2 + 1/1e9, as Go adds them
    expect(goSeconds(0)).toBe(0);
  });
});
