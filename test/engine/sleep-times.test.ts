/** The pacing loop's sleep times, recorded as Fortio's runOne records them (periodic/periodic.go):
 * one per pause between two calls of a connection, negative when late, none before a
 * connection's first call, none for a skipped slot, none at max speed or in the open model. */
import { runLoad } from '../../src/engine/run-load';
import { FakeTransport } from '../helpers/fake-transport';
import { loadPlan } from '../helpers/load-plan';

describe('sleep times', () => {
  it('records one sleep per call after the first, per connection, near the period', async () => {
    const result = await runLoad(loadPlan({ qps: 100, connections: 2, requests: 12 }), new FakeTransport());
    const sleeps = result.sleepTimes;
    expect(sleeps?.count).toBe(10); // 6 calls on each of 2 connections: 5 pauses each
    expect(sleeps?.offset).toBe(-0.001);
    expect(sleeps?.divider).toBe(0.001);
    // 50 qps per connection: 20 ms pauses, less the (instant) answer. A pause is never longer
    // than the period (a timer may fire up to a millisecond early, so allow that much). How late a
    // call can be has no bound here: a stall of a shared CI machine once made one 31 ms late.
    expect(sleeps?.max).toBeLessThanOrEqual(0.022);
    expect(sleeps?.buckets.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('records negative sleeps when the server is slower than the pace: all in the behind bucket', async () => {
    const result = await runLoad(loadPlan({ qps: 100, connections: 1, requests: 6 }), new FakeTransport(() => ({ status: 200, delayMs: 30 })));
    const sleeps = result.sleepTimes;
    expect(sleeps?.count).toBe(5);
    expect(sleeps?.max).toBeLessThan(-0.001);
    expect(sleeps?.buckets[0]).toBe(5);
  });

  it('does not record the slots -nocatchup skips, and never skips the first', async () => {
    const result = await runLoad(loadPlan({ qps: 100, connections: 1, requests: 10, noCatchUp: true }), new FakeTransport(() => ({ status: 200, delayMs: 25 })));
    expect(result.skippedSlots).toBeGreaterThan(0);
    const sleeps = result.sleepTimes;
    // Every recorded pause is a real wait until a slot still ahead, save the last call, which is never skipped.
    expect(sleeps?.count).toBe(result.latency.count - 1);
    expect(result.latency.count + result.skippedSlots).toBe(10);
    expect(sleeps?.buckets[0] ?? 0).toBeLessThanOrEqual(1);
  });

  it('has no sleep histogram at max speed or in the open model', async () => {
    const max = await runLoad(loadPlan({ qps: 0, connections: 1, requests: 5 }), new FakeTransport());
    expect(max.sleepTimes).toBeUndefined();
    const open = await runLoad(loadPlan({ qps: 200, connections: 1, requests: 5, open: { maxInflight: 2 } }), new FakeTransport());
    expect(open.sleepTimes).toBeUndefined();
  });

  it('keeps a connections report per connection even when the transport reports no sockets', async () => {
    const result = await runLoad(loadPlan({ qps: 0, connections: 3, requests: 6 }), new FakeTransport());
    expect(result.connections?.threads).toHaveLength(3);
    expect(result.connections?.connectTime.count).toBe(0);
  });
});
