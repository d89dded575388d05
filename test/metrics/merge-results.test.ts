import type { LoadResult } from '../../src/model/load-result';
import { runLoad } from '../../src/engine/run-load';
import { RunRecorder } from '../../src/engine/run-recorder';
import { Distribution } from '../../src/metrics/distribution';
import { mergeResults, partSpans } from '../../src/metrics/merge-results';
import type { Outcome } from '../../src/model/outcome';
import { FakeTransport } from '../helpers/fake-transport';
import { loadPlan } from '../helpers/load-plan';
import { fixtureResult } from '../helpers/load-result-fixture';

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

  it("merges Fortio's histograms as Fortio's Transfer merges threads: the same as one recorder", () => {
    const all = taggedOutcomes(['v1', 'v2']);
    const whole = recorded(all);
    const merged = mergeResults([recorded(all.slice(0, 25)), recorded(all.slice(25))]);
    for (const key of ['duration', 'errors', 'sizes', 'headerSizes'] as const) {
      expect({ key, buckets: merged.fortio?.[key].buckets, count: merged.fortio?.[key].count }).toEqual({ key, buckets: whole.fortio?.[key].buckets, count: whole.fortio?.[key].count });
    }
    expect(merged.fortio?.errors.count).toBe(all.filter((o) => o.status === 503).length);
  });

  it("drops Fortio's histograms when a part has none (an older file): renderers then fall back on HDR", () => {
    const { fortio: _none, ...old } = recorded(taggedOutcomes(['v1']));
    const merged = mergeResults([recorded(taggedOutcomes(['v2'])), old]);
    expect(merged).not.toHaveProperty('fortio');
    expect(merged.latency.count).toBe(120);
  });

  it('returns a single result unchanged', async () => {
    const a = await runLoad(loadPlan({ qps: 0, connections: 1, requests: 3 }), new FakeTransport());
    expect(mergeResults([a])).toBe(a);
  });
});

function outcome(status: number, version: string | undefined, attempt: number): Outcome {
  return { status, errorKind: undefined, errorMessage: undefined, headerBytes: 100, bodyBytes: 10, viaEnvoy: true, envoyOverloaded: false, bodyPrefix: undefined, version, attempt };
}

/** A result whose recorded parts come from a RunRecorder fed `outcomes`, 10 ms apart. */
function recorded(outcomes: readonly Outcome[]): LoadResult {
  const recorder = new RunRecorder(0);
  outcomes.forEach((o, i) => recorder.record(o, i * 10, i * 10, i * 10 + 1));
  return fixtureResult([], { ...recorder.finish(outcomes.length * 10), durationMs: 1000 });
}

/** 60 outcomes over three subsets and up to four tries; the pattern makes each part differ. */
function taggedOutcomes(tags: readonly string[]): Outcome[] {
  return Array.from({ length: 60 }, (_, i) => outcome(i % 7 === 0 ? 503 : 200, i % 5 === 4 ? undefined : tags[(i + Math.floor(i / 3)) % tags.length], i % 11 === 0 ? 0 : 1 + ((i * 3) % 4)));
}

describe('mergeResults of versions and attempts', () => {
  it('adds them exactly: merging parts equals recording every outcome in one recorder', () => {
    const all = taggedOutcomes(['v1', 'v2', 'canary-v3']);
    const whole = recorded(all);
    const merged = mergeResults([recorded(all.slice(0, 17)), recorded(all.slice(17, 18)), recorded(all.slice(18))]);
    expect(merged.versions).toEqual(whole.versions);
    expect(merged.attempts).toEqual(whole.attempts);
    expect(Object.keys(merged.versions)).toEqual(Object.keys(whole.versions));
    expect(Object.keys(merged.attempts)).toEqual(Object.keys(whole.attempts));
    expect(merged.codes).toEqual(whole.codes);
    // Guards the fixture: every key is present, so the comparison is not vacuous.
    expect(Object.keys(whole.versions)).toEqual(['canary-v3', 'v1', 'v2']);
    expect(Object.keys(whole.attempts)).toEqual(['1', '2', '3', '4']);
    const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);
    expect(sum(merged.versions)).toBe(all.filter((o) => o.version !== undefined).length);
    expect(sum(merged.attempts)).toBe(all.filter((o) => o.attempt > 0).length);
  });

  it('adds a version or attempt only one part saw, and keeps empty records empty', () => {
    const a = fixtureResult([], { versions: { v1: 3 }, attempts: { '1': 3 } });
    const b = fixtureResult([], { versions: { v1: 2, v2: 5 }, attempts: { '1': 4, '3': 1 } });
    const c = fixtureResult([]);
    expect(mergeResults([a, b, c])).toMatchObject({ versions: { v1: 5, v2: 5 }, attempts: { '1': 7, '3': 1 } });
    expect(mergeResults([c, fixtureResult([])])).toMatchObject({ versions: {}, attempts: {} });
  });

  it('orders merged versions as the recorder does, so a merged result serialises like a single one', () => {
    // Tags differing in case are where two sort orders would part.
    const all = taggedOutcomes(['v1', 'V2', 'b']);
    const whole = recorded(all);
    const merged = mergeResults([recorded(all.slice(0, 30)), recorded(all.slice(30))]);
    expect(merged.versions).toEqual(whole.versions);
    expect(JSON.stringify(merged.versions)).toBe(JSON.stringify(whole.versions));
  });
});

describe('mergeResults of resends and error samples', () => {
  it('adds resends and keeps the first sample of each kind, in the order the parts are given', () => {
    const a = fixtureResult([], { resends: 2, errorsByKind: { reset: 1 }, errorSamples: { reset: 'read ECONNRESET' } });
    const b = fixtureResult([], { resends: 3, errorsByKind: { reset: 4, protocol: 1 }, errorSamples: { reset: 'socket hang up', protocol: 'invalid chunk size' } });
    const merged = mergeResults([a, b]);
    expect(merged.resends).toBe(5);
    expect(merged.errorsByKind).toEqual({ reset: 5, protocol: 1 });
    expect(merged.errorSamples).toEqual({ reset: 'read ECONNRESET', protocol: 'invalid chunk size' });
    expect(mergeResults([b, a]).errorSamples.reset).toBe('socket hang up');
  });

  it('reads results written before these fields existed as no resends and no samples', () => {
    const { resends: _r, errorSamples: _s, ...old } = fixtureResult([], { errorsByKind: { timeout: 1 } });
    const current = fixtureResult([], { resends: 1, errorSamples: { timeout: 'no complete response within 3000ms' } });
    const merged = mergeResults([old, current]);
    expect(merged.resends).toBe(1);
    expect(merged.errorSamples).toEqual({ timeout: 'no complete response within 3000ms' });
    const alone = mergeResults([old, { ...old }]);
    expect(alone.resends).toBe(0);
    expect(alone.errorSamples).toEqual({});
  });
});

describe('mergeResults of the rate', () => {
  /** A part asked for `qps` for 10 s from `startTime`, that made `calls` calls. */
  function paced(startTime: string, calls: number, qps = 100, durationMs = 10_000): LoadResult {
    const made = Array.from({ length: calls }, (_, i) => ({ latencyUs: 1000 + (i % 7), code: 200 }));
    return fixtureResult(made, { startTime, durationMs, actualQps: calls / (durationMs / 1000), plan: { qps, durationMs } });
  }

  it('is over the time some part ran: parts a minute apart are no generator that fell behind', () => {
    const merged = mergeResults([paced('2026-12-05T11:00:00.000Z', 1000), paced('2026-12-05T11:01:00.000Z', 1000)]);
    expect(merged.latency.count).toBe(2000);
    expect(merged.actualQps).toBeCloseTo(100, 6);
    // The span still runs from the first start to the last end, as the timeline does.
    expect(merged.durationMs).toBe(70_000);
    expect(merged.fellBehind).toBe(false);
  });

  it('compares parts started a second apart with what each asked for while it ran', () => {
    const merged = mergeResults([paced('2026-12-05T11:00:00.000Z', 1000), paced('2026-12-05T11:00:01.000Z', 1000)]);
    expect(merged.actualQps).toBeCloseTo(2000 / 11, 6);
    expect(merged.fellBehind).toBe(false);
  });

  it('still says fell behind when the parts made too few calls for what they asked', () => {
    const together = mergeResults([paced('2026-12-05T11:00:00.000Z', 1000), paced('2026-12-05T11:00:00.000Z', 800)]);
    expect(together.actualQps).toBeCloseTo(180, 6);
    expect(together.fellBehind).toBe(true);
    const apart = mergeResults([paced('2026-12-05T11:00:00.000Z', 800), paced('2026-12-05T11:05:00.000Z', 800)]);
    expect(apart.actualQps).toBeCloseTo(80, 6);
    expect(apart.fellBehind).toBe(true);
  });
});

describe('partSpans', () => {
  const part = (startTime: string, durationMs: number): { startTime: string; durationMs: number } => ({ startTime, durationMs });
  it.each([
    ['side by side', [part('2026-12-05T11:00:00Z', 10_000), part('2026-12-05T11:00:00Z', 10_000)], { togetherMs: 10_000, anyMs: 10_000 }],
    ['a second apart', [part('2026-12-05T11:00:01Z', 10_000), part('2026-12-05T11:00:00Z', 10_000)], { togetherMs: 9_000, anyMs: 11_000 }],
    ['a minute apart', [part('2026-12-05T11:00:00Z', 10_000), part('2026-12-05T11:01:00Z', 10_000)], { togetherMs: 0, anyMs: 20_000 }],
    ['one inside another, one apart', [part('2026-12-05T11:00:00Z', 30_000), part('2026-12-05T11:00:10Z', 5_000), part('2026-12-05T11:02:00Z', 1_000)], { togetherMs: 0, anyMs: 31_000 }],
    ['a time that does not parse', [part('not a time', 1_000), part('2026-12-05T11:00:00Z', 1_000)], { togetherMs: 0, anyMs: 0 }],
  ])('%s', (_, parts, expected) => {
    expect(partSpans(parts)).toEqual(expected);
  });
});

describe('mergeResults of fine timelines', () => {
  const T0 = Date.parse('2024-03-05T10:20:00.000Z');
  const step = (second: number, requests: number) => ({ second, requests, codes: { '200': requests }, p50Us: 1000, p99Us: 2000 + requests });

  it('keeps 100 ms steps when every part has them, re-based on the earliest start', () => {
    const a = fixtureResult([], { startTime: new Date(T0).toISOString(), durationMs: 500, timelineStepMs: 100, timeline: [step(0, 1), step(0.1, 2), step(0.3, 3)] });
    const b = fixtureResult([], { startTime: new Date(T0 + 200).toISOString(), durationMs: 500, timelineStepMs: 100, timeline: [step(0, 10), step(0.1, 20)] });
    const merged = mergeResults([a, b]);
    expect(merged.timelineStepMs).toBe(100);
    expect(merged.timeline.map((s) => [s.second, s.requests])).toEqual([[0, 1], [0.1, 2], [0.2, 10], [0.3, 23]]);
    expect(merged.timeline[3]?.p99Us).toBe(2020);
  });

  it('folds a fine part into the seconds of a coarse one (an older file has 1 s steps)', () => {
    const fine = fixtureResult([], { startTime: new Date(T0).toISOString(), durationMs: 1500, timelineStepMs: 100, timeline: [step(0, 1), step(0.9, 2), step(1, 4), step(1.4, 8)] });
    const old = fixtureResult([], { startTime: new Date(T0).toISOString(), durationMs: 2000, timeline: [step(0, 100), step(1, 200)] });
    const merged = mergeResults([fine, old]);
    expect(merged.timelineStepMs).toBe(1000);
    expect(merged.timeline.map((s) => [s.second, s.requests])).toEqual([[0, 103], [1, 212]]);
  });
});
