/** The outcome of a scenario run: plain data, written as result.json and rendered as text,
 * JUnit and Markdown. */
import type { CheckResult, Verdict } from '../checks/check-result';
import type { LoadResult } from '../model/load-result';

// A result carries the checks' verdicts; their types live in checks/, below scenario/.
export type { CheckResult, Verdict };

export type StepKind = 'run' | 'sleep' | 'waitFor' | 'chaos' | 'start';

export interface StepResult {
  kind: StepKind;
  /** One line: the command, the chaos parameters, the condition waited for. */
  description: string;
  ok: boolean;
  /** ISO 8601; absent in results written before it was recorded. */
  startedAt?: string;
  durationMs: number;
  /** Captured output (run, start), trimmed to a bound. */
  output: string | undefined;
  error: string | undefined;
  /** Stopped by Ctrl-C or SIGTERM (then `ok` is false): not a failure of the step itself. */
  interrupted?: true;
}

export interface PhaseResult {
  name: string;
  /** ISO 8601, when the phase's first step (or its load) started; absent in older results. */
  startedAt?: string;
  steps: StepResult[];
  /** undefined when the phase has no load or stopped before it. */
  load: LoadResult | undefined;
  checks: CheckResult[];
  verdict: Verdict;
}

export interface ScenarioResult {
  name: string;
  file: string;
  startTime: string;
  durationMs: number;
  phases: PhaseResult[];
  /** The `always:` steps, run after the phases whatever happened. */
  always: StepResult[];
  verdict: Verdict;
  interrupted: boolean;
  /** Set when this run was one part of a sharded run (`run --shard I/N`, a Job pod): its load
   * was 1/N of the scenario's, so its checks do not gate; `meshload merge` of every shard does. */
  shard?: { index: number; count: number };
  /** Set when this is not a run's result.json but one load's JSON read as a run of one phase
   * (`meshload load -json`, or Fortio's own JSON): there was no scenario file and no checks. */
  origin?: 'load' | 'fortio';
  /** `run --baseline`: the run compared with, kept so report.html can draw it again later
   * (`meshload report`). */
  baseline?: BaselineReference;
}

/** A verdict as reports show it: `no_checks` when nothing was checked and nothing failed, so a
 * load with 11% 503s and no checks never reads PASS. Display only: `run`'s exit codes and the
 * stored verdict are unchanged. */
export type ShownVerdict = Verdict | 'no_checks';

export function shownVerdict(verdict: Verdict, checkCount: number): ShownVerdict {
  return verdict === 'pass' && checkCount === 0 ? 'no_checks' : verdict;
}

export function shownPhaseVerdict(phase: Pick<PhaseResult, 'verdict' | 'checks'>): ShownVerdict {
  return shownVerdict(phase.verdict, phase.checks?.length ?? 0);
}

export function shownResultVerdict(result: Pick<ScenarioResult, 'verdict' | 'phases'>): ShownVerdict {
  return shownVerdict(
    result.verdict,
    result.phases.reduce((n, p) => n + (p.checks?.length ?? 0), 0),
  );
}

/** An earlier run's file and, per phase, what report.html draws of it: its timeline (at most
 * BASELINE_TIMELINE_STEPS steps) and its latency distribution. */
export interface BaselineReference {
  file: string;
  startTime: string;
  phases: Array<{ name: string; load: Pick<LoadResult, 'durationMs' | 'timeline' | 'timelineStepMs' | 'latency'> | undefined }>;
}

/** An hour by the second: a longer baseline's later steps are not drawn. */
export const BASELINE_TIMELINE_STEPS = 3600;

export function baselineReference(baseline: ScenarioResult, file: string): BaselineReference {
  return {
    file,
    startTime: baseline.startTime,
    phases: baseline.phases.map((p) => ({
      name: p.name,
      load: p.load === undefined ? undefined : { durationMs: p.load.durationMs, timeline: Array.isArray(p.load.timeline) ? p.load.timeline.slice(0, BASELINE_TIMELINE_STEPS) : [], timelineStepMs: p.load.timelineStepMs ?? 1000, latency: p.load.latency },
    })),
  };
}
