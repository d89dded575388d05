import { shares, splitPlan } from '../../src/engine/split-plan';
import { loadPlan } from '../helpers/load-plan';

describe('splitPlan', () => {
  it('splits connections, rate and counts so the shares add up exactly', () => {
    const parts = splitPlan(loadPlan({ connections: 7, qps: 700, requests: 1001, workers: 3 }), 3);
    expect(parts.map((p) => p.connections)).toEqual([3, 2, 2]);
    expect(parts.map((p) => p.qps)).toEqual([300, 200, 200]);
    expect(parts.map((p) => p.requests)).toEqual([335, 333, 333]);
    expect(parts.every((p) => p.workers === 1)).toBe(true);
  });

  it('never makes a generator without a connection', () => {
    expect(splitPlan(loadPlan({ connections: 2 }), 4)).toHaveLength(2);
  });

  it('splits a ramp like a rate, so workers together ramp as asked', () => {
    const parts = splitPlan(loadPlan({ connections: 4, qps: 0, durationMs: 1000, ramp: { from: 40, to: 400 } }), 2);
    expect(parts.map((p) => p.ramp)).toEqual([{ from: 20, to: 200 }, { from: 20, to: 200 }]);
  });

  it('splits the open model in-flight cap', () => {
    const parts = splitPlan(loadPlan({ connections: 4, qps: 100, open: { maxInflight: 10 } }), 2);
    expect(parts.map((p) => p.open?.maxInflight)).toEqual([5, 5]);
  });

  it('shares put the remainder first', () => {
    expect(shares(10, 3)).toEqual([4, 3, 3]);
    expect(shares(2, 2)).toEqual([1, 1]);
  });
});
