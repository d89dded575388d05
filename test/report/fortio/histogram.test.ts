import { Distribution } from '../../../src/metrics/distribution';
import {
  FORTIO_BUCKET_EDGES,
  type FortioHistogram,
  fortioBucketIndex,
  fortioBuckets,
  scaleValue,
  toFortioHistogram,
} from '../../../src/report/fortio/histogram';
import { fortioHistogramLines } from '../../../src/report/fortio/histogram-lines';

/** Fortio's Histogram.Record + Export for plain float values, through our bucketing core. */
function fortioExport(values: ReadonlyArray<number | readonly [number, number]>, offset: number, divider: number, percentiles: Array<[number, number]> = []): FortioHistogram {
  const points = values.map((v): [number, number] => (typeof v === 'number' ? [v, 1] : [v[0], v[1]]));
  let count = 0;
  let sum = 0;
  let sumSq = 0;
  let min = 0;
  let max = 0;
  for (const [v, n] of points) {
    if (count === 0 || v < min) min = v;
    if (count === 0 || v > max) max = v;
    count += n;
    sum += v * n;
    sumSq += v * n * (v * n); // stats.Counter.RecordN squares v*n, as Fortio does
  }
  const variance = (sumSq - (sum * sum) / count) / count;
  return {
    Count: count,
    Min: min,
    Max: max,
    Sum: sum,
    Avg: sum / count,
    StdDev: variance > 0 ? Math.sqrt(variance) : 0,
    Data: fortioBuckets(points, offset, divider, { count, min, max }),
    Percentiles: percentiles.map(([p, v]) => ({ Percentile: p, Value: v })),
  };
}

describe('Fortio bucket lookup', () => {
  it('has Fortio stats.histogramBucketValues', () => {
    expect(FORTIO_BUCKET_EDGES).toHaveLength(56);
    expect(FORTIO_BUCKET_EDGES.slice(10, 20)).toEqual([10, 11, 12, 14, 16, 18, 20, 25, 30, 35]);
    expect(FORTIO_BUCKET_EDGES.slice(-8)).toEqual([5000, 7500, 10000, 20000, 30000, 40000, 50000, 75000, 100000].slice(-8));
  });

  // stats_test.go TestBucketLookUp: (offset 0, divider 1) the second bucket exported for
  // Record(1), Record(input), Record(1e6).
  it.each([
    [11, 10, 11],
    [171, 160, 180],
    [180, 160, 180],
    [801, 800, 900],
    [900, 800, 900],
    [999, 900, 1000],
    [999.99, 900, 1000],
    [1000, 900, 1000],
    [1000.01, 1000, 2000],
    [1001, 1000, 2000],
    [1999.99, 1000, 2000],
    [2000, 1000, 2000],
    [2001, 2000, 3000],
    [75000, 50000, 75000],
    [75000.01, 75000, 100000],
    [99999.99, 75000, 100000],
    [100000, 75000, 100000],
    [100000.01, 100000, 1e6],
    [100001, 100000, 1e6],
    [523477, 100000, 1e6],
  ])('%p goes in ]%p, %p]', (input, start, end) => {
    const h = fortioExport([1, input, 1e6], 0, 1);
    expect(h.Data?.[1]).toMatchObject({ Start: start, End: end });
  });

  it('puts a value on an edge in the bucket below, allowing float noise above it', () => {
    expect(fortioBucketIndex(0)).toBe(0);
    expect(fortioBucketIndex(-3)).toBe(0);
    expect(fortioBucketIndex(1)).toBe(1); // ]0,1]
    expect(fortioBucketIndex(1 + 1e-13)).toBe(1);
    expect(fortioBucketIndex(1.0001)).toBe(2);
    expect(fortioBucketIndex(100000)).toBe(55);
    expect(fortioBucketIndex(100000.5)).toBe(56); // > 100000: the extra last bucket
  });
});

describe('Fortio histogram export and print (stats_test.go goldens)', () => {
  it('TestHistogramLastBucket: offset -1, the extra bucket above 100000', () => {
    const h = fortioExport([-1, 0, 1, 3, 10, 99999, 100000, 200000], -1, 1, [[90, 160000]]);
    expect(fortioHistogramLines('testLastBucket', h).join('\n') + '\n').toBe(`testLastBucket : count 8 avg 50001.5 +/- 7.071e+04 min -1 max 200000 sum 400012
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

  it('TestHistogramNegativeNumbers: offset -10', () => {
    const h = fortioExport([-10, 10], -10, 1, [[1, -10], [50, -10], [75, 9]]);
    expect(fortioHistogramLines('testHistogramWithNegativeNumbers', h)).toEqual([
      'testHistogramWithNegativeNumbers : count 2 avg 0 +/- 10 min -10 max 10 sum 0',
      '# range, mid point, percentile, count',
      '>= -10 <= -10 , -10 , 50.00, 1',
      '> 8 <= 10 , 9 , 100.00, 1',
      '# target 1% -10',
      '# target 50% -10',
      '# target 75% 9',
    ]);
  });

  it('TestCounter: offset 22, divider 0.1, values a float step away from edges', () => {
    const h = fortioExport([23.1, 22.9, 23.1, 22.9, 1023, -977], 22, 0.1);
    expect(fortioHistogramLines('testLogH', h)).toEqual([
      'testLogH : count 6 avg 23 +/- 577.4 min -977 max 1023 sum 138',
      '# range, mid point, percentile, count',
      '>= -977 <= 22 , -477.5 , 16.67, 1',
      '> 22.8 <= 22.9 , 22.85 , 50.00, 2',
      '> 23 <= 23.1 , 23.05 , 83.33, 2',
      '> 1022 <= 1023 , 1022.5 , 100.00, 1',
    ]);
  });

  it('TestTransferHistogram: merged h1a -> h2a', () => {
    const h = fortioExport([10, 20, 50, 80, 90], 0, 10, [[75, 77.5]]);
    expect(fortioHistogramLines('merged h1a -> h2a', h)).toEqual([
      'merged h1a -> h2a : count 5 avg 50 +/- 31.62 min 10 max 90 sum 250',
      '# range, mid point, percentile, count',
      '>= 10 <= 10 , 10 , 20.00, 1',
      '> 10 <= 20 , 15 , 40.00, 1',
      '> 40 <= 50 , 45 , 60.00, 1',
      '> 70 <= 80 , 75 , 80.00, 1',
      '> 80 <= 90 , 85 , 100.00, 1',
      '# target 75% 77.5',
    ]);
  });

  it('TestHistogramExport1: the exported Data', () => {
    const h = fortioExport([-137.4, 251, 501, 751, 1001.67], 0, 10);
    expect(h.Data).toEqual([
      { Start: -137.4, End: 0, Percent: 20, Count: 1 },
      { Start: 250, End: 300, Percent: 40, Count: 1 },
      { Start: 500, End: 600, Percent: 60, Count: 1 },
      { Start: 700, End: 800, Percent: 80, Count: 1 },
      { Start: 1000, End: 1001.67, Percent: 100, Count: 1 },
    ]);
    expect(h.Sum).toBe(2367.27);
    expect(h.Avg).toBe(473.454);
  });

  it('prints "no data" for an empty histogram', () => {
    expect(fortioHistogramLines('h2 after merge', toFortioHistogram(new Distribution(), 1e-6, 'duration'))).toEqual(['h2 after merge : no data']);
  });
});

function distribution(values: Array<number | [number, number]>): Distribution {
  const d = new Distribution();
  for (const v of values) {
    if (typeof v === 'number') d.record(v);
    else for (let i = 0; i < v[1]; i++) d.record(v[0]);
  }
  return d;
}

describe('toFortioHistogram', () => {
  it('buckets microsecond latencies on Fortio duration edges in seconds (1 ms resolution)', () => {
    // 1.5 ms, 2.5 ms, exactly 4 ms (an edge: ]3,4]), exactly 12 ms (]11,12]), 1.001 ms.
    const h = toFortioHistogram(distribution([[1500, 10], [2500, 10], [4000, 5], [12000, 5], 1001]), 1e-6, 'duration', [50, 90]);
    expect(h).not.toHaveProperty('Offset');
    expect(h).not.toHaveProperty('Divider');
    expect(h).toMatchObject({ Count: 31, Min: 0.001001, Max: 0.012, Sum: 0.121001 });
    expect(h.Data).toEqual([
      { Start: 0.001001, End: 0.002, Percent: (100 * 11) / 31, Count: 11 },
      { Start: 0.002, End: 0.003, Percent: (100 * 21) / 31, Count: 10 },
      { Start: 0.003, End: 0.004, Percent: (100 * 26) / 31, Count: 5 },
      { Start: 0.011, End: 0.012, Percent: 100, Count: 5 },
    ]);
    // stats.go CalcPercentile over these buckets: p50 is 14.5/32.3 of the way through ]2, 3] ms,
    // p90 6.1/16.1 of the way through ]11, 12] ms.
    expect(h.Percentiles?.map((p) => p.Percentile)).toEqual([50, 90]);
    expect(h.Percentiles?.[0]?.Value).toBeCloseTo(0.002 + ((50 - 1100 / 31) / (2100 / 31 - 1100 / 31)) * 0.001, 15);
    expect(h.Percentiles?.[1]?.Value).toBeCloseTo(0.011 + ((90 - 2600 / 31) / (100 - 2600 / 31)) * 0.001, 15);
  });

  it('keeps exact stats: avg and population stddev as Fortio computes them', () => {
    const h = toFortioHistogram(distribution([10_000, 20_000, 30_000, 40_000]), 1e-6, 'duration');
    expect(h.Avg).toBeCloseTo(0.025, 15);
    expect(h.StdDev).toBeCloseTo(Math.sqrt(125) / 1000, 12);
    expect(h.Percentiles).toBeUndefined(); // none asked for: omitted, as Fortio's omitempty
  });

  it('starts the first bucket at Min even when Min is inside a wider HDR range', () => {
    // 10003 us shares HDR's range [10000, 10007] with 10000, which is on the 10 ms edge.
    const h = toFortioHistogram(distribution([10_003, 10_500]), 1e-6, 'duration');
    expect(h.Data).toEqual([{ Start: 0.010003, End: 0.010500, Percent: 100, Count: 2 }]);
  });

  it('uses the overflow bucket past 100 s, starting at Min when it is the first (stats.go Export)', () => {
    expect(toFortioHistogram(distribution([150_000_000]), 1e-6, 'duration').Data).toEqual([{ Start: 150, End: 150, Percent: 100, Count: 1 }]);
    expect(toFortioHistogram(distribution([1000, 150_000_000]), 1e-6, 'duration').Data).toEqual([
      { Start: 0.001, End: 0.001, Percent: 50, Count: 1 },
      { Start: 100, End: 150, Percent: 100, Count: 1 },
    ]);
  });

  it('puts a 0 value in the <= 0 bucket', () => {
    const h = toFortioHistogram(distribution([0, 500]), 1e-6, 'duration');
    expect(h.Data).toEqual([
      { Start: 0, End: 0, Percent: 50, Count: 1 },
      { Start: 0, End: 0.0005, Percent: 100, Count: 1 }, // ]0, 1 ms], ending at Max
    ]);
  });

  it('buckets body/total sizes by 100 bytes and header sizes by 5', () => {
    const sizes = toFortioHistogram(distribution([99, 100, 101, 12_319, 13_665]), 1, 'size');
    expect(sizes.Data?.map((b) => [b.Start, b.End, b.Count])).toEqual([
      [99, 100, 2],
      [100, 200, 1],
      [12000, 13665, 2], // 123.19 and 136.65 hundreds of bytes: ]120, 140]
    ]);
    const headers = toFortioHistogram(distribution([592, 690, 693]), 1, 'header-size');
    expect(headers.Data?.map((b) => [b.Start, b.End, b.Count])).toEqual([
      [592, 600, 1], // 592 / 5 = 118.4: ]100, 120]
      [600, 693, 2], // 690 / 5 = 138: ]120, 140]
    ]);
    expect(sizes.Percentiles).toBeUndefined();
  });

  it('is Fortio-empty for no data: zero stats, Data null, no Percentiles', () => {
    expect(toFortioHistogram(new Distribution(), 1e-6, 'duration', [50])).toEqual({
      Count: 0,
      Min: 0,
      Max: 0,
      Sum: 0,
      Avg: 0,
      StdDev: 0,
      Data: null,
    });
  });

  it('scales by dividing by an integer inverse, so microseconds print as typed', () => {
    expect(5 * 1e-6).not.toBe(0.000005); // 4.9999999999999996e-6
    expect(scaleValue(5, 1e-6)).toBe(0.000005);
    expect(scaleValue(52549, 1e-6)).toBe(0.052549);
    expect(scaleValue(3, 1)).toBe(3);
    expect(scaleValue(3, 2.5)).toBe(7.5);
  });
});
