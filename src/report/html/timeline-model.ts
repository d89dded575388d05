/** The run on one time axis: phases laid end to end from their timestamps (seconds since the
 * scenario started), each load's per-second timeline placed inside its phase, and the steps
 * marked where they ran. Pure. Results written before phases and steps carried `startedAt`
 * still place: phases from their load's start, or end to end by duration; step marks are then
 * left out rather than guessed. */
import { timelineStepOf, type LoadResult, type TimelineSecond } from '../../model/load-result';
import type { BaselineReference, PhaseResult, ScenarioResult, StepKind, StepResult, Verdict } from '../../scenario/scenario-result';
import { sortedCodes } from './latency-model';
import { isActivityGauge, MAX_GAUGE_SERIES } from './sidecar-model';

/** A trailing fragment of a step shorter than this share of it is folded into the step before
 * it: its rate over a few milliseconds would draw a spike (or a dip) that never happened. */
export const MIN_FRAGMENT_S = 0.5;

export interface PhaseBand {
  name: string;
  verdict: Verdict;
  startS: number;
  endS: number;
  /** The timed load inside the phase, when it ran one. */
  loadStartS: number | undefined;
  loadEndS: number | undefined;
}

export interface StepMark {
  atS: number;
  kind: StepKind;
  label: string;
  ok: boolean;
  /** The phase's name, or "always". */
  where: string;
}

export interface TimelineModel {
  /** 'clock': from the recorded timestamps; 'sequential': end to end by duration (timestamps
   * missing or unreadable). */
  placement: 'clock' | 'sequential';
  bands: PhaseBand[];
  marks: StepMark[];
  /** Seconds since the scenario started: the start of each timeline second, then the load's
   * end repeating the last second's values (the page draws steps, each value held until the
   * next x); a null-valued point between loads breaks the lines. */
  x: number[];
  /** Calls completed per second; null at the breaks. */
  rps: Array<number | null>;
  /** Calls per second by status code, codes in numeric order. */
  codes: Array<{ code: string; values: Array<number | null> }>;
  /** Corrected latency of the calls of each second; null for seconds without calls. */
  p50Ms: Array<number | null>;
  p99Ms: Array<number | null>;
  /** The axis: from the scenario's start (or earlier, should a load's clock say so: merged
   * results, a clock step) to its end. */
  startS: number;
  endS: number;
  /** The baseline's phase of the same name, aligned at this run's load start and read at this
   * run's steps; undefined without a baseline. */
  baseline: { rps: Array<number | null>; p99Ms: Array<number | null> } | undefined;
  /** The proxy's gauges sampled over time; undefined when no phase has a series (older results,
   * no sidecar: section). */
  gauges: GaugeTimeline | undefined;
}

/** Gauge series on the timeline's axis, each value held until the next x (a step); null where
 * the gauge was not sampled (between loads, a phase without it). */
export interface GaugeTimeline {
  x: number[];
  series: Array<{ label: string; values: Array<number | null> }>;
  /** Gauges that moved but are not drawn (past MAX_GAUGE_SERIES, or not kept in the result). */
  leftOut: number;
}

/** A step function's piece: `value` from startS until endS. */
interface Segment {
  startS: number;
  endS: number;
  value: number;
}

function timeOf(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

function stepsMs(steps: readonly StepResult[]): number {
  return steps.reduce((sum, s) => sum + (Number.isFinite(s.durationMs) ? s.durationMs : 0), 0);
}

/** Where each phase and its load sit, in seconds since the scenario started. */
export function phaseBands(result: ScenarioResult): { placement: TimelineModel['placement']; bands: PhaseBand[] } {
  const origin = timeOf(result.startTime);
  const clock = origin !== undefined && result.phases.every((p) => p.load === undefined || timeOf(p.load.startTime) !== undefined);
  const bands: PhaseBand[] = [];
  let previousEndS = 0;
  for (const phase of result.phases) {
    const load = phase.load;
    const setupS = stepsMs(phase.steps) / 1000;
    let startS: number;
    let loadStartS: number | undefined;
    if (clock) {
      const sinceOrigin = (iso: string | undefined): number | undefined => {
        const t = timeOf(iso);
        return t === undefined ? undefined : (t - (origin as number)) / 1000;
      };
      loadStartS = load === undefined ? undefined : sinceOrigin(load.startTime);
      startS = sinceOrigin(phase.startedAt) ?? (loadStartS !== undefined ? Math.max(previousEndS, loadStartS - setupS) : previousEndS);
    } else {
      startS = previousEndS;
      loadStartS = load === undefined ? undefined : startS + setupS;
    }
    const loadEndS = load === undefined || loadStartS === undefined ? undefined : loadStartS + load.durationMs / 1000;
    const endS = Math.max(loadEndS ?? startS + setupS, startS);
    bands.push({ name: phase.name, verdict: phase.verdict, startS, endS, loadStartS, loadEndS });
    previousEndS = endS;
  }
  return { placement: clock ? 'clock' : 'sequential', bands };
}

/** Step marks from the steps' own start times; steps without one (older results) get none. */
export function stepMarks(result: ScenarioResult): StepMark[] {
  const origin = timeOf(result.startTime);
  if (origin === undefined) return [];
  const marks: StepMark[] = [];
  const add = (step: StepResult, where: string): void => {
    const t = timeOf(step.startedAt);
    if (t === undefined) return;
    marks.push({ atS: (t - origin) / 1000, kind: step.kind, label: `${step.kind} ${step.description}`, ok: step.ok, where });
  };
  for (const phase of result.phases) for (const step of phase.steps) add(step, phase.name);
  for (const step of result.always) add(step, 'always');
  return marks;
}

interface Second {
  second: number;
  startS: number;
  lengthS: number;
  requests: number;
  codes: Record<string, number>;
  p50Us: number;
  p99Us: number;
}

/** A load's steps (seconds, or 100 ms in a short run) with their true lengths: the last one is
 * usually a fragment. */
function secondsOf(load: Pick<LoadResult, 'timeline' | 'durationMs' | 'timelineStepMs'>, loadStartS: number): Second[] {
  const timeline: TimelineSecond[] = Array.isArray(load.timeline) ? load.timeline : [];
  const stepS = timelineStepOf(load) / 1000;
  const durationS = load.durationMs / 1000;
  const seconds: Second[] = [];
  for (const entry of timeline) {
    const lengthS = Math.max(0, Math.min(stepS, durationS - entry.second));
    const previous = seconds[seconds.length - 1];
    if (lengthS < MIN_FRAGMENT_S * stepS && previous !== undefined && Math.abs(previous.second + stepS - entry.second) < 1e-6 && previous.lengthS >= stepS - 1e-9) {
      // The fragment's calls count in the rate of the step before it; its percentiles cannot
      // merge with that step's and are dropped (a handful of calls at most).
      previous.requests += entry.requests;
      for (const [code, n] of Object.entries(entry.codes)) previous.codes[code] = (previous.codes[code] ?? 0) + n;
      previous.lengthS += lengthS;
      continue;
    }
    const length = lengthS > 0 ? lengthS : stepS;
    seconds.push({ second: entry.second, startS: loadStartS + entry.second, lengthS: length, requests: entry.requests, codes: { ...entry.codes }, p50Us: entry.p50Us, p99Us: entry.p99Us });
  }
  return seconds;
}

/** Each drawn gauge's segments, by label: breakers and queues rising from zero first. */
function gaugeSegments(result: ScenarioResult, bands: readonly PhaseBand[]): { byLabel: Map<string, Segment[]>; leftOut: number } | undefined {
  const sets = result.phases.map((p) => p.load?.sidecar?.gaugeSeries);
  if (sets.every((set) => set === undefined || typeof set !== 'object' || set === null)) return undefined;
  const clusters = new Set(sets.flatMap((set) => Object.keys(set?.clusters ?? {})));
  const candidates = new Map<string, { stat: string; segments: Segment[]; fromZero: boolean; max: number }>();
  let leftOut = 0;
  sets.forEach((set, i) => {
    const loadStartS = bands[i]?.loadStartS;
    if (set === undefined || loadStartS === undefined || typeof set.clusters !== 'object' || set.clusters === null) return;
    leftOut += Number.isFinite(set.leftOut) ? set.leftOut : 0;
    const stepS = Number.isFinite(set.stepMs) && set.stepMs > 0 ? set.stepMs / 1000 : 1;
    for (const [cluster, stats] of Object.entries(set.clusters)) {
      for (const [stat, points] of Object.entries(stats ?? {})) {
        if (!Array.isArray(points)) continue;
        const label = clusters.size > 1 ? `${cluster}: ${stat}` : stat;
        const entry = candidates.get(label) ?? { stat, segments: [], fromZero: false, max: 0 };
        candidates.set(label, entry);
        const usable = points.filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));
        usable.forEach(([atMs, value], k) => {
          const startS = loadStartS + atMs / 1000;
          const next = usable[k + 1];
          entry.segments.push({ startS, endS: next === undefined ? startS + stepS : loadStartS + next[0] / 1000, value });
          entry.max = Math.max(entry.max, value);
          if (value === 0) entry.fromZero = true;
        });
      }
    }
  });
  const ranked = [...candidates]
    .filter(([, c]) => c.max > 0 && isActivityGauge(c.stat))
    .sort(([la, a], [lb, b]) => Number(b.fromZero) - Number(a.fromZero) || b.max - a.max || la.localeCompare(lb));
  const byLabel = new Map(ranked.slice(0, MAX_GAUGE_SERIES).map(([label, c]) => [label, c.segments.sort((a, b) => a.startS - b.startS)] as const));
  return { byLabel, leftOut: leftOut + Math.max(0, ranked.length - MAX_GAUGE_SERIES) };
}

/** Step functions on one x axis: every segment's start and end; at each x the value of the
 * segment covering it, the value of a segment ending there (so the last step is drawn to its
 * end), else null. */
export function stepsOnAxis(byLabel: ReadonlyMap<string, readonly Segment[]>): { x: number[]; series: Array<{ label: string; values: Array<number | null> }> } {
  const xs = new Set<number>();
  for (const segments of byLabel.values()) for (const s of segments) xs.add(s.startS).add(s.endS);
  const x = [...xs].sort((a, b) => a - b);
  const series = [...byLabel].map(([label, segments]) => {
    let k = 0;
    const values = x.map((at) => {
      while (k < segments.length && (segments[k] as Segment).endS <= at && !((segments[k] as Segment).endS === at && segments[k + 1]?.startS !== at)) k++;
      const segment = segments[k];
      if (segment === undefined || segment.startS > at) return null;
      return segment.value;
    });
    return { label, values };
  });
  return { x, series };
}

/** The value of a step of `seconds` (relative to its load's start) covering `offsetS`. */
function stepAt(seconds: readonly Second[], offsetS: number): Second | undefined {
  return seconds.find((s) => s.startS <= offsetS && offsetS < s.startS + s.lengthS);
}

export function timelineModel(result: ScenarioResult, baseline?: BaselineReference): TimelineModel | undefined {
  const { placement, bands } = phaseBands(result);
  const loads: Array<{ phase: PhaseResult; seconds: Second[]; loadStartS: number }> = [];
  result.phases.forEach((phase, i) => {
    const start = bands[i]?.loadStartS;
    if (phase.load === undefined || start === undefined) return;
    const seconds = secondsOf(phase.load, start);
    if (seconds.length > 0) loads.push({ phase, seconds, loadStartS: start });
  });
  if (loads.length === 0) return undefined;
  const codes = sortedCodes(loads.flatMap(({ seconds }) => seconds.flatMap((s) => Object.keys(s.codes))));
  const model: TimelineModel = {
    placement,
    bands,
    marks: stepMarks(result),
    x: [],
    rps: [],
    codes: codes.map((code) => ({ code, values: [] })),
    p50Ms: [],
    p99Ms: [],
    startS: 0,
    endS: 0,
    baseline: baseline === undefined ? undefined : { rps: [], p99Ms: [] },
    gauges: undefined,
  };
  let baseSeconds: Second[] | undefined;
  let loadStart = 0;
  const push = (x: number, second: Second | undefined, closing = false): void => {
    if (model.baseline !== undefined) {
      // The closing point repeats the last step: read the baseline just before it too.
      const was = second === undefined || baseSeconds === undefined ? undefined : stepAt(baseSeconds, x - loadStart - (closing ? 1e-6 : 0));
      model.baseline.rps.push(was === undefined ? null : was.requests / was.lengthS);
      model.baseline.p99Ms.push(was === undefined || was.requests === 0 ? null : was.p99Us / 1000);
    }
    // uPlot needs x to increase: loads placed end to end (no timestamps) can touch.
    const last = model.x[model.x.length - 1];
    model.x.push(last !== undefined && x <= last ? last + 1e-3 : x);
    model.rps.push(second === undefined ? null : second.requests / second.lengthS);
    for (const series of model.codes) series.values.push(second === undefined ? null : (second.codes[series.code] ?? 0) / second.lengthS);
    const any = second !== undefined && second.requests > 0;
    model.p50Ms.push(any ? second.p50Us / 1000 : null);
    model.p99Ms.push(any ? second.p99Us / 1000 : null);
  };
  loads.forEach(({ phase, seconds, loadStartS }, i) => {
    const previous = model.x[model.x.length - 1];
    const first = seconds[0] as Second;
    if (i > 0 && previous !== undefined) push((previous + first.startS) / 2, undefined);
    const before = baseline?.phases.find((p) => p.name === phase.name)?.load;
    baseSeconds = before === undefined ? undefined : secondsOf(before, 0);
    loadStart = loadStartS;
    for (const second of seconds) push(second.startS, second);
    const last = seconds[seconds.length - 1] as Second;
    push(last.startS + last.lengthS, last, true);
  });
  const gauges = gaugeSegments(result, bands);
  if (gauges !== undefined) model.gauges = { ...stepsOnAxis(gauges.byLabel), leftOut: gauges.leftOut };
  const durationS = Number.isFinite(result.durationMs) ? result.durationMs / 1000 : 0;
  const gaugeX = model.gauges?.x ?? [];
  model.startS = Math.min(0, ...bands.map((b) => b.startS), ...model.x, ...(gaugeX.length > 0 ? [gaugeX[0] as number] : []));
  model.endS = Math.max(durationS, ...bands.map((b) => b.endS), ...model.x, ...(gaugeX.length > 0 ? [gaugeX[gaugeX.length - 1] as number] : []));
  return model;
}
