/** The run on one time axis: phases laid end to end from their timestamps (seconds since the
 * scenario started), each load's per-second timeline placed inside its phase, and the steps
 * marked where they ran. Pure. Results written before phases and steps carried `startedAt`
 * still place: phases from their load's start, or end to end by duration; step marks are then
 * left out rather than guessed. */
import { timelineStepOf, type LoadResult, type TimelineSecond } from '../../engine/load-result';
import type { PhaseResult, ScenarioResult, StepKind, StepResult, Verdict } from '../../scenario/scenario-result';
import { sortedCodes } from './latency-model';

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
function secondsOf(load: LoadResult, loadStartS: number): Second[] {
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

export function timelineModel(result: ScenarioResult): TimelineModel | undefined {
  const { placement, bands } = phaseBands(result);
  const loads: Array<{ phase: PhaseResult; seconds: Second[] }> = [];
  result.phases.forEach((phase, i) => {
    const start = bands[i]?.loadStartS;
    if (phase.load === undefined || start === undefined) return;
    const seconds = secondsOf(phase.load, start);
    if (seconds.length > 0) loads.push({ phase, seconds });
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
  };
  const push = (x: number, second: Second | undefined): void => {
    // uPlot needs x to increase: loads placed end to end (no timestamps) can touch.
    const last = model.x[model.x.length - 1];
    model.x.push(last !== undefined && x <= last ? last + 1e-3 : x);
    model.rps.push(second === undefined ? null : second.requests / second.lengthS);
    for (const series of model.codes) series.values.push(second === undefined ? null : (second.codes[series.code] ?? 0) / second.lengthS);
    const any = second !== undefined && second.requests > 0;
    model.p50Ms.push(any ? second.p50Us / 1000 : null);
    model.p99Ms.push(any ? second.p99Us / 1000 : null);
  };
  loads.forEach(({ seconds }, i) => {
    const previous = model.x[model.x.length - 1];
    const first = seconds[0] as Second;
    if (i > 0 && previous !== undefined) push((previous + first.startS) / 2, undefined);
    for (const second of seconds) push(second.startS, second);
    const last = seconds[seconds.length - 1] as Second;
    push(last.startS + last.lengthS, last);
  });
  const durationS = Number.isFinite(result.durationMs) ? result.durationMs / 1000 : 0;
  model.startS = Math.min(0, ...bands.map((b) => b.startS), ...model.x);
  model.endS = Math.max(durationS, ...bands.map((b) => b.endS), ...model.x);
  return model;
}
