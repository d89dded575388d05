import { MIN_FRAGMENT_S, phaseBands, stepMarks, stepsOnAxis, timelineModel } from '../../../src/report/html/timeline-model';
import { baselineReference } from '../../../src/scenario/scenario-result';
import type { SidecarReport } from '../../../src/model/sidecar-report';
import { envoySidecar, load, phase, scenario, spreadCalls, step } from './html-fixtures';

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

/** A 0.45 s load in 100 ms steps, 10 calls each (20 at 0.2 s, p99 30 ms), started `startS` in. */
function fineLoad(startS: number, gaugeSeries?: SidecarReport['gaugeSeries']) {
  const steps = [0, 0.1, 0.2, 0.3, 0.4].map((second) => ({ second, requests: second === 0.2 ? 20 : 10, codes: { '200': second === 0.2 ? 20 : 10 }, p50Us: 1000, p99Us: second === 0.2 ? 30_000 : 2000 }));
  const sidecar = gaugeSeries === undefined ? undefined : { ...envoySidecar([]), gaugeSeries };
  return load(spreadCalls(60), { startTime: at(startS), durationMs: 450, timelineStepMs: 100, timeline: steps, ...(sidecar !== undefined ? { sidecar } : {}) });
}

describe('timeline model: fine steps, gauges over time, the baseline', () => {
  it('draws a short load in its 100 ms steps: ten points a second, rates over 100 ms', () => {
    const model = timelineModel(scenario([phase('short', fineLoad(1))], { durationMs: 2000 }));
    // 0.4 s holds 0.05 s: folded into the step before (as a second's fragment is).
    expect(model?.x.map((x) => Number(x.toFixed(6)))).toEqual([1, 1.1, 1.2, 1.3, 1.45]);
    expect(model?.rps.map((r) => Number(r?.toFixed(6)))).toEqual([100, 100, 200, 20 / 0.15, 20 / 0.15].map((r) => Number(r.toFixed(6))));
    expect(model?.p99Ms).toEqual([2, 2, 30, 2, 2]);
  });

  it.each([
    ['one segment, closed at its end', [[{ startS: 0, endS: 1, value: 2 }]], [0, 1], [[2, 2]]],
    [
      'two gauges: each held until its next sample, null outside its samples',
      [
        [{ startS: 0, endS: 0.5, value: 0 }, { startS: 0.5, endS: 1, value: 1 }],
        [{ startS: 2, endS: 3, value: 4 }],
      ],
      [0, 0.5, 1, 2, 3],
      [
        [0, 1, 1, null, null],
        [null, null, null, 4, 4],
      ],
    ],
    ['a gap between loads breaks the line', [[{ startS: 0, endS: 1, value: 1 }, { startS: 3, endS: 4, value: 0 }]], [0, 1, 3, 4], [[1, 1, 0, 0]]],
  ] as const)('puts step series on one axis: %s', (_name, segments, x, values) => {
    const byLabel = new Map(segments.map((s, i) => [`g${i}`, s.map((seg) => ({ ...seg }))]));
    const axis = stepsOnAxis(byLabel);
    expect(axis.x).toEqual(x);
    expect(axis.series.map((s) => s.values)).toEqual(values);
  });

  it('places the gauge series where they were sampled, breakers first, static gauges left out', () => {
    const series = (points: Array<[number, number]>) => points;
    const result = scenario(
      [
        phase('trip', fineLoad(1, { startTime: at(1), stepMs: 100, leftOut: 2, clusters: { be: { rq_pending_open: series([[0, 0], [100, 0], [200, 1], [300, 0]]), upstream_rq_active: series([[0, 3], [100, 9], [200, 9], [300, 2]]), max_requests: series([[0, 1], [100, 2]]) } } })),
        phase('calm', fineLoad(3, { startTime: at(3), stepMs: 100, leftOut: 0, clusters: { be: { rq_pending_open: series([[0, 0], [100, 0]]) } } })),
      ],
      { durationMs: 4000 },
    );
    const gauges = timelineModel(result)?.gauges;
    if (gauges === undefined) throw new Error('series in the result: gauges on the timeline');
    expect(gauges.series.map((s) => s.label)).toEqual(['rq_pending_open', 'upstream_rq_active']);
    expect(gauges.leftOut).toBe(2);
    const open = gauges.series[0]?.values ?? [];
    // The breaker was open from 1.2 s to 1.3 s, nowhere else.
    expect(gauges.x.filter((_, i) => open[i] === 1).map((x) => Number(x.toFixed(6)))).toEqual([1.2]);
    expect(gauges.x.map((x) => Number(x.toFixed(6)))).toEqual([1, 1.1, 1.2, 1.3, 1.4, 3, 3.1, 3.2]);
    expect(open).toEqual([0, 0, 1, 0, 0, 0, 0, 0]);
    // Between the loads the upstream gauge is not drawn.
    expect(gauges.series[1]?.values).toEqual([3, 9, 9, 2, 2, null, null, null]);
  });

  it('has no gauges for older results and results without series', () => {
    expect(timelineModel(twoPhases(true))?.gauges).toBeUndefined();
  });

  it('reads the baseline phase of the same name at this run\'s steps, none for a phase it lacks', () => {
    const now = scenario([phase('short', fineLoad(1)), phase('new', fineLoad(3))], { durationMs: 4000 });
    const before = scenario([phase('short', load(spreadCalls(10), { startTime: at(50), durationMs: 300, timelineStepMs: 100, timeline: [0, 0.1, 0.2].map((second) => ({ second, requests: 5, codes: { '200': 5 }, p50Us: 1000, p99Us: 9000 })) }))]);
    const model = timelineModel(now, baselineReference(before, 'before.json'));
    expect(model?.baseline?.rps.slice(0, 5).map((r) => (r === null ? null : Math.round(r)))).toEqual([50, 50, 50, null, null]);
    expect(model?.baseline?.p99Ms.slice(0, 5)).toEqual([9, 9, 9, null, null]);
    // 'new' is not in the baseline.
    expect(model?.baseline?.rps.slice(6)).toEqual([null, null, null, null, null]);
    expect(timelineModel(now)?.baseline).toBeUndefined();
  });
});
