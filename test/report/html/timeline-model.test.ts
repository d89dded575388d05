import { MIN_FRAGMENT_S, phaseBands, stepMarks, timelineModel } from '../../../src/report/html/timeline-model';
import { load, phase, scenario, spreadCalls, step } from './html-fixtures';

const T0 = '2024-03-05T10:20:00.000Z';
const at = (seconds: number): string => new Date(Date.parse(T0) + seconds * 1000).toISOString();

/** Two phases: setup steps, then a 2.3 s load; the second load starts 5 s in. */
function twoPhases(withStartTimes: boolean) {
  const first = load(spreadCalls(100), {
    startTime: at(1.5),
    durationMs: 2300,
    timeline: [
      { second: 0, requests: 100, codes: { '200': 90, '503': 10 }, p50Us: 1000, p99Us: 9000 },
      { second: 1, requests: 80, codes: { '200': 80 }, p50Us: 2000, p99Us: 8000 },
      // 0.3 s: shorter than MIN_FRAGMENT_S, folded into the second before.
      { second: 2, requests: 24, codes: { '200': 20, '503': 4 }, p50Us: 3000, p99Us: 7000 },
    ],
  });
  const second = load(spreadCalls(100), {
    startTime: at(5),
    durationMs: 1000,
    timeline: [{ second: 0, requests: 0, codes: {}, p50Us: 0, p99Us: 0 }],
  });
  const startedAt = (s: number): string | undefined => (withStartTimes ? at(s) : undefined);
  return scenario(
    [
      phase('warm', first, { steps: [step('chaos', 'set status=503:10', startedAt(1.0), 200)], ...(withStartTimes ? { startedAt: at(1.0) } : {}) }),
      phase('after', second, { steps: [step('sleep', '500 ms', startedAt(4.2), 500), step('run', 'kubectl apply -f x.yaml', startedAt(4.7), 100, false)], ...(withStartTimes ? { startedAt: at(4.2) } : {}) }),
    ],
    { startTime: T0, durationMs: 7000, always: [step('chaos', 'clear', startedAt(6.5))] },
  );
}

describe('timeline model', () => {
  it('places each load by its start time relative to the scenario start', () => {
    const model = timelineModel(twoPhases(true));
    if (model === undefined) throw new Error('loads with timelines have a timeline');
    expect(model.placement).toBe('clock');
    expect(0.3).toBeLessThan(MIN_FRAGMENT_S);
    // Phase 1: seconds at 1.5 and 2.5 (the last holding 1.3 s), then its end at 3.8; a break; phase 2 at 5 and 6.
    expect(model.x.map((x) => Number(x.toFixed(6)))).toEqual([1.5, 2.5, 3.8, 4.4, 5, 6]);
    expect(model.rps[0]).toBe(100);
    expect(model.rps[1]).toBeCloseTo(104 / 1.3, 9);
    expect(model.rps[2]).toBeCloseTo(104 / 1.3, 9);
    expect(model.rps[3]).toBeNull();
    // A second without calls: a rate of 0 (true), but no latency (never a fake zero).
    expect(model.rps[4]).toBe(0);
    expect(model.p50Ms[4]).toBeNull();
    expect(model.p99Ms.slice(0, 3)).toEqual([9, 8, 8]);
    expect(model.codes.map((c) => c.code)).toEqual(['200', '503']);
    const c200 = model.codes[0]?.values ?? [];
    const c503 = model.codes[1]?.values ?? [];
    expect(c200[0]).toBe(90);
    expect(c503[1]).toBeCloseTo(4 / 1.3, 9);
    // The codes stack up to the rate at every point.
    model.x.forEach((_, i) => {
      const rps = model.rps[i];
      if (rps === null || rps === undefined) expect(c200[i]).toBeNull();
      else expect((c200[i] ?? 0) + (c503[i] ?? 0)).toBeCloseTo(rps, 9);
    });
    expect([model.startS, model.endS]).toEqual([0, 7]);
  });

  it('widens the axis to show loads whose clock puts them before the scenario start', () => {
    const result = { ...twoPhases(true), startTime: at(2) };
    const model = timelineModel(result);
    expect(model?.x[0]).toBeCloseTo(-0.5, 9);
    expect(model?.startS).toBeCloseTo(-1, 9);
    expect(model?.endS).toBeCloseTo(7, 9);
  });

  it('shades phases from their own start times and marks steps where they ran', () => {
    const result = twoPhases(true);
    expect(phaseBands(result).bands.map((b) => [b.name, b.startS, b.endS, b.loadStartS, b.loadEndS])).toEqual([
      ['warm', 1, 3.8, 1.5, 3.8],
      ['after', 4.2, 6, 5, 6],
    ]);
    expect(stepMarks(result).map((m) => [m.atS, m.kind, m.where, m.ok])).toEqual([
      [1, 'chaos', 'warm', true],
      [4.2, 'sleep', 'after', true],
      [4.7, 'run', 'after', false],
      [6.5, 'chaos', 'always', true],
    ]);
    expect(stepMarks(result)[2]?.label).toBe('run kubectl apply -f x.yaml');
  });

  it('places an older result without step and phase start times from its loads, and marks no steps', () => {
    const result = twoPhases(false);
    const { placement, bands } = phaseBands(result);
    expect(placement).toBe('clock');
    // Without startedAt a phase starts its steps' duration before its load (not before the previous phase's end).
    expect(bands.map((b) => [b.name, Number(b.startS.toFixed(6)), b.endS])).toEqual([
      ['warm', 1.3, 3.8],
      ['after', 4.4, 6],
    ]);
    expect(stepMarks(result)).toEqual([]);
  });

  it('lays phases end to end by duration when the timestamps are unreadable', () => {
    const result = twoPhases(false);
    const broken = { ...result, startTime: 'not a time' };
    const { placement, bands } = phaseBands(broken);
    expect(placement).toBe('sequential');
    expect(bands.map((b) => [b.name, Number(b.startS.toFixed(6)), Number(b.endS.toFixed(6))])).toEqual([
      ['warm', 0, 2.5],
      ['after', 2.5, 4.1],
    ]);
    const model = timelineModel(broken);
    expect(model?.x.map((x) => Number(x.toFixed(6)))).toEqual([0.2, 1.2, 2.5, 2.8, 3.1, 4.1]);
    // x must increase for uPlot, even when loads touch.
    for (let i = 1; i < (model?.x.length ?? 0); i++) expect(model?.x[i]).toBeGreaterThan(model?.x[i - 1] as number);
  });

  it('has no timeline without loads', () => {
    expect(timelineModel(scenario([phase('steps only', undefined, { steps: [step('sleep', '1 s', T0)] })]))).toBeUndefined();
  });
});
