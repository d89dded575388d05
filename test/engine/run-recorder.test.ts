import { FINE_STEP_MS, MAX_FINE_STEPS, RunRecorder, timelineStepFor } from '../../src/engine/run-recorder';
import { failure } from '../../src/transport/outcome';
import type { Outcome } from '../../src/model/outcome';

function outcome(status: number, version: string | undefined, attempt: number): Outcome {
  return {
    status,
    errorKind: undefined,
    errorMessage: undefined,
    headerBytes: 100,
    bodyBytes: status >= 400 ? 7 : 10,
    viaEnvoy: true,
    envoyOverloaded: false,
    bodyPrefix: status >= 400 ? 'retried' : undefined,
    version,
    attempt,
  };
}

/** Records each outcome 1 ms after it was due, 10 ms apart, from a run started at 0. */
function record(outcomes: readonly Outcome[]): ReturnType<RunRecorder['finish']> {
  const recorder = new RunRecorder(0);
  outcomes.forEach((o, i) => recorder.record(o, i * 10, i * 10, i * 10 + 1));
  return recorder.finish(outcomes.length * 10);
}

describe('RunRecorder versions and attempts', () => {
  it('counts calls by x-version, with the versions in sorted order', () => {
    const run = record([
      outcome(200, 'v2', 0),
      outcome(200, 'v1', 0),
      outcome(503, 'v2', 0),
      outcome(200, 'canary-v3', 0),
      outcome(200, undefined, 0),
      outcome(200, 'v1', 0),
      outcome(200, 'v2', 0),
    ]);
    expect(run.versions).toEqual({ 'canary-v3': 1, v1: 2, v2: 3 });
    expect(Object.keys(run.versions)).toEqual(['canary-v3', 'v1', 'v2']);
    // The untagged call is a call, not a version.
    expect(run.codes).toEqual({ '200': 6, '503': 1 });
    expect(run.attempts).toEqual({});
  });

  it('counts calls by the attempt their upstream echoed, in numeric order; 0 (no echo) is not counted', () => {
    const run = record([
      outcome(200, undefined, 1),
      outcome(200, undefined, 10),
      outcome(200, undefined, 2),
      outcome(503, undefined, 3),
      outcome(200, undefined, 0),
      outcome(200, undefined, 1),
      outcome(200, undefined, 2),
      outcome(200, undefined, 1),
    ]);
    expect(run.attempts).toEqual({ '1': 3, '2': 2, '3': 1, '10': 1 });
    expect(Object.keys(run.attempts)).toEqual(['1', '2', '3', '10']);
    expect(run.versions).toEqual({});
  });

  it('counts both on the same call, OK or not, and neither on a socket error', () => {
    const run = record([outcome(503, 'v1', 3), outcome(200, 'v1', 2), failure('reset', 'socket hang up'), failure('timeout', 'timed out')]);
    expect(run.versions).toEqual({ v1: 2 });
    expect(run.attempts).toEqual({ '2': 1, '3': 1 });
    expect(run.codes).toEqual({ '-1': 2, '200': 1, '503': 1 });
  });

  it('keeps versions apart by exact value: case and spacing matter', () => {
    const run = record([outcome(200, 'v1', 0), outcome(200, 'V1', 0), outcome(200, 'v1 ', 0), outcome(200, 'v1', 0)]);
    expect(run.versions).toEqual({ v1: 2, V1: 1, 'v1 ': 1 });
  });

  it('gives empty records for a run without calls', () => {
    const run = new RunRecorder(0).finish(1000);
    expect(run.versions).toEqual({});
    expect(run.attempts).toEqual({});
  });
});

describe('RunRecorder timeline step', () => {
  it.each([
    [{ durationMs: 2000, requests: undefined, qps: 8 }, 100],
    [{ durationMs: 10_000, requests: undefined, qps: 0 }, 100],
    [{ durationMs: 10_001, requests: undefined, qps: 0 }, 1000],
    // 0: until interrupted, length unknown.
    [{ durationMs: 0, requests: undefined, qps: 8 }, 1000],
    [{ durationMs: 60_000, requests: 50, qps: 10 }, 100],
    [{ durationMs: 5000, requests: 500, qps: 10 }, 1000],
    // -n at max speed: length unknown.
    [{ durationMs: 5000, requests: 50, qps: 0 }, 1000],
  ])('plans %j with a %i ms step', (plan, step) => {
    expect(timelineStepFor(plan)).toBe(step);
  });

  it('keeps ten steps a second in a fine timeline, each with its own calls and percentiles', () => {
    const recorder = new RunRecorder(0, FINE_STEP_MS);
    // 4 calls per 100 ms for 1.5 s; the calls of 0.5..0.6 s take 50 ms, the others 1 ms.
    for (let t = 0; t < 1500; t += 25) recorder.record(outcome(t >= 500 && t < 600 ? 503 : 200, undefined, 0), t, t, t + (t >= 500 && t < 600 ? 50 : 1));
    const run = recorder.finish(1560);
    expect(run.timelineStepMs).toBe(100);
    expect(run.timeline.map((s) => s.second)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4]);
    expect(run.timeline.reduce((n, s) => n + s.requests, 0)).toBe(60);
    // The slow calls end 50 ms later: in the steps at 0.5 to 0.6 s.
    const slow = run.timeline.filter((s) => s.p99Us >= 40_000).map((s) => s.second);
    expect(slow).toEqual([0.5, 0.6]);
    expect(run.timeline.find((s) => s.second === 0.6)?.codes['503']).toBeGreaterThan(0);
  });

  it('thins a fine timeline that outgrew its plan to whole seconds, every call still counted', () => {
    const recorder = new RunRecorder(0, FINE_STEP_MS);
    const calls = 2 * MAX_FINE_STEPS;
    // One call every 100 ms for 120 s: twice the fine steps allowed.
    for (let i = 0; i < calls; i++) recorder.record(outcome(200, undefined, 0), i * 100, i * 100, i * 100 + 5 + (i % 10));
    const run = recorder.finish(calls * 100);
    expect(run.timelineStepMs).toBe(1000);
    expect(run.timeline.length).toBeLessThanOrEqual(calls / 10 + 1);
    expect(run.timeline.map((s) => s.second)).toEqual(Array.from({ length: run.timeline.length }, (_, i) => i));
    expect(run.timeline.reduce((n, s) => n + s.requests, 0)).toBe(calls);
    // Before and after the thinning alike: 10 calls a second, p99 the slowest (14 ms).
    for (const s of run.timeline.slice(0, -1)) expect({ second: s.second, requests: s.requests, p99: Math.round(s.p99Us / 1000) }).toEqual({ second: s.second, requests: 10, p99: 14 });
  });

  it('writes a 1 s step by default, as older results read', () => {
    const recorder = new RunRecorder(0);
    recorder.record(outcome(200, undefined, 0), 0, 0, 1500);
    const run = recorder.finish(1600);
    expect(run.timelineStepMs).toBe(1000);
    expect(run.timeline.map((s) => s.second)).toEqual([0, 1]);
  });
});

describe("RunRecorder's Fortio histograms", () => {
  it('records latency from the actual send (not the intended one) in Go seconds, errors apart, sizes of every call', () => {
    const recorder = new RunRecorder(0);
    // Due at 0 but sent at 400 (a late slot): Fortio's clock starts at the send.
    recorder.record(outcome(200, undefined, 0), 0, 400, 452.5);
    recorder.record(outcome(503, undefined, 0), 500, 500, 551.25);
    recorder.record({ ...outcome(-1, undefined, 0), headerBytes: 0, bodyBytes: 0 }, 600, 600, 603);
    const run = recorder.finish(700);
    expect(run.fortio?.duration).toMatchObject({ offset: 0, divider: 0.001, count: 3, min: 0.003, max: 0.05250, sum: 0.0525 + 0.05125 + 0.003 });
    expect(run.fortio?.errors).toMatchObject({ count: 2, min: 0.003, max: 0.05125 });
    // httprunner.go Run records sizes whatever the code: the socket error's 0 bytes count too.
    expect(run.fortio?.sizes).toMatchObject({ count: 3, min: 0, max: 110 });
    expect(run.fortio?.headerSizes).toMatchObject({ count: 3, min: 0, max: 100, divider: 5 });
    // meshload's corrected latency runs from the intended send.
    expect(run.latency.max).toBe(452_500);
  });

  it('buckets at the scale it is given (-offset, -r)', () => {
    const recorder = new RunRecorder(0, 1000, { offset: 0.05, divider: 0.0001 });
    recorder.record(outcome(200, undefined, 0), 0, 0, 50.5); // (0.0505 - 0.05) / 0.0001 = 5: ]4, 5]
    const buckets = recorder.finish(100).fortio?.duration.buckets ?? [];
    expect(buckets.findIndex((n) => n > 0)).toBe(5);
  });
});
