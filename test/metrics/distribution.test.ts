import { Distribution, forEachRecorded } from '../../src/metrics/distribution';

describe('Distribution', () => {
  it('keeps exact count, sum, min, max and stddev', () => {
    const d = new Distribution();
    for (const v of [10, 20, 30, 40]) d.record(v);
    expect(d.count).toBe(4);
    expect(d.sum).toBe(100);
    expect(d.min).toBe(10);
    expect(d.max).toBe(40);
    expect(d.mean()).toBe(25);
    expect(d.stddev()).toBeCloseTo(Math.sqrt(125), 9);
  });

  it('gives percentiles within 3 significant digits', () => {
    const d = new Distribution();
    for (let v = 1; v <= 100_000; v++) d.record(v);
    expect(d.percentile(50)).toBeGreaterThanOrEqual(49_950);
    expect(d.percentile(50)).toBeLessThanOrEqual(50_050);
    expect(d.percentile(99)).toBeGreaterThanOrEqual(98_900);
    expect(d.percentile(99)).toBeLessThanOrEqual(99_100);
  });

  it('records values past one hour instead of dropping them', () => {
    const d = new Distribution();
    d.record(5_000_000_000);
    expect(d.count).toBe(1);
    expect(d.percentile(100)).toBeGreaterThanOrEqual(4_990_000_000);
  });

  it('round-trips through its encoded form', () => {
    const d = new Distribution();
    for (const v of [1, 2, 3, 1000, 1001, 1500, 123_456]) d.record(v);
    const back = Distribution.decode(d.encode());
    expect(back.encode()).toEqual(d.encode());
    expect(back.percentile(90)).toBe(d.percentile(90));
  });

  it('merges exactly: the merge of parts equals the distribution of the union', () => {
    const whole = new Distribution();
    const parts = [new Distribution(), new Distribution(), new Distribution()];
    let seed = 7;
    for (let i = 0; i < 30_000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const value = 50 + (seed % 200_000);
      whole.record(value);
      (parts[i % 3] as Distribution).record(value);
    }
    const merged = new Distribution();
    for (const part of parts) merged.add(Distribution.decode(part.encode()));
    expect(merged.encode()).toEqual(whole.encode());
  });

  it('visits recorded ranges in order with their counts', () => {
    const d = new Distribution();
    for (const v of [5, 5, 7, 3000]) d.record(v);
    const seen: Array<[number, number, number]> = [];
    forEachRecorded(d, (from, to, count) => seen.push([from, to, count]));
    expect(seen[0]).toEqual([5, 5, 2]);
    expect(seen[1]).toEqual([7, 7, 1]);
    const last = seen[2] as [number, number, number];
    expect(last[0]).toBeLessThanOrEqual(3000);
    expect(last[1]).toBeGreaterThanOrEqual(3000);
    expect(last[2]).toBe(1);
  });
});
