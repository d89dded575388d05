import { planSchedule, rampCalls, rampSlotMs } from '../../src/engine/schedule';
import { isOk } from '../../src/model/outcome';

const base = { connections: 4, qps: 8, durationMs: 5000, requests: undefined, uniform: false };

describe('planSchedule (Fortio periodic runner rules)', () => {
  it('max speed with -n splits exactly, remainder to the first connection', () => {
    const s = planSchedule({ ...base, qps: 0, connections: 3, requests: 31 });
    expect(s.connections.map((c) => c.calls)).toEqual([11, 10, 10]);
    expect(s.totalCalls).toBe(31);
    expect(s.connections[0]?.slotMs).toBeUndefined();
  });

  it('max speed with a duration has no call count', () => {
    const s = planSchedule({ ...base, qps: 0 });
    expect(s.connections.map((c) => c.calls)).toEqual([undefined, undefined, undefined, undefined]);
    expect(s.totalCalls).toBeUndefined();
  });

  it('paced with a duration makes qps x t calls, the last at the end of the duration', () => {
    const s = planSchedule(base); // Fortio's defaults: 4 x 10 calls in 5s
    expect(s.totalCalls).toBe(40);
    const c = s.connections[0];
    expect(c?.calls).toBe(10);
    expect(c?.periodMs).toBe(500);
    expect(c?.slotMs?.(0)).toBe(0);
    expect(c?.slotMs?.(9)).toBeCloseTo(5000, 6);
  });

  it('paced with -n spaces calls by the per-connection period', () => {
    const s = planSchedule({ ...base, qps: 100, connections: 2, requests: 11 });
    expect(s.connections.map((c) => c.calls)).toEqual([6, 5]);
    expect(s.connections[1]?.slotMs?.(3)).toBeCloseTo(60, 9);
  });

  it('-uniform staggers connection starts over one period', () => {
    const s = planSchedule({ ...base, uniform: true, qps: 40, connections: 4, requests: 400 });
    expect(s.connections.map((c) => c.slotMs?.(0))).toEqual([0, 25, 50, 75]);
  });

  it('lowers connections when there are fewer than two calls each, with a note', () => {
    const s = planSchedule({ ...base, qps: 2, durationMs: 2000, connections: 4 });
    expect(s.connections).toHaveLength(2);
    expect(s.notes).toEqual(['Lowering number of threads - total call 4 -> lowering from 4 to 2 threads']);
    const tiny = planSchedule({ ...base, qps: 1, durationMs: 1000 });
    expect(tiny.connections).toHaveLength(1);
    expect(tiny.totalCalls).toBe(2);
    expect(tiny.notes).toEqual(['Increasing the number of calls to the minimum of 2 with 1 thread. total duration will increase']);
  });

  it('treats 2xx and 418 as OK, as Fortio does', () => {
    expect([200, 204, 299, 418].every(isOk)).toBe(true);
    expect([-1, 199, 300, 404, 503].some(isOk)).toBe(false);
  });
});

describe('ramps', () => {
  it('makes the area under the rate line in calls, due where the cumulative count reaches them', () => {
    // 0 -> 100 qps over 2 s: 100 calls; by t the count is 25 t^2, so call 25 is due at 1 s.
    expect(rampCalls(0, 100, 2000)).toBe(100);
    const due = rampSlotMs(0, 100, 2000);
    expect(due(0)).toBe(0);
    expect(due(25)).toBeCloseTo(1000, 6);
    expect(due(100)).toBeCloseTo(2000, 6);
    // Ramping down: 100 -> 0 over 2 s front-loads the calls.
    expect(rampSlotMs(100, 0, 2000)(75)).toBeCloseTo(1000, 6);
    // A flat ramp is a fixed rate.
    expect(rampSlotMs(50, 50, 2000)(10)).toBeCloseTo(200, 6);
  });

  it('splits a ramp across connections', () => {
    const s = planSchedule({ ...base, connections: 2, durationMs: 2000, ramp: { from: 0, to: 100 } });
    expect(s.connections.map((c) => c.calls)).toEqual([50, 50]);
    expect(s.totalCalls).toBe(100);
    expect(s.connections[0]?.slotMs?.(50)).toBeCloseTo(2000, 6);
  });
});
