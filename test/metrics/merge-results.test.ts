import { runLoad } from '../../src/engine/run-load';
import { Distribution } from '../../src/metrics/distribution';
import { mergeResults } from '../../src/metrics/merge-results';
import { FakeTransport } from '../helpers/fake-transport';
import { loadPlan } from '../helpers/load-plan';

describe('mergeResults', () => {
  it('adds counts and merges distributions exactly', async () => {
    const statuses = [200, 200, 503, -1];
    const a = await runLoad(loadPlan({ qps: 0, connections: 2, requests: 40 }), new FakeTransport((c) => ({ status: statuses[c % 4] as number, delayMs: c % 3 })));
    const b = await runLoad(loadPlan({ qps: 0, connections: 1, requests: 25 }), new FakeTransport((c) => ({ status: statuses[(c + 1) % 4] as number, delayMs: c % 5 })));
    const merged = mergeResults([a, b]);
    expect(merged.latency.count).toBe(65);
    for (const code of ['200', '503', '-1']) expect(merged.codes[code]).toBe((a.codes[code] ?? 0) + (b.codes[code] ?? 0));
    const union = Distribution.decode(a.latency);
    union.add(Distribution.decode(b.latency));
    expect(merged.latency).toEqual(union.encode());
    expect(merged.plan.connections).toBe(3);
    expect(merged.plan.requests).toBe(65);
    expect(merged.timeline.reduce((n, s) => n + s.requests, 0)).toBe(65);
    expect(merged.latencyByCode['503']?.count).toBe((a.latencyByCode['503']?.count ?? 0) + (b.latencyByCode['503']?.count ?? 0));
  });

  it('returns a single result unchanged', async () => {
    const a = await runLoad(loadPlan({ qps: 0, connections: 1, requests: 3 }), new FakeTransport());
    expect(mergeResults([a])).toBe(a);
  });
});
