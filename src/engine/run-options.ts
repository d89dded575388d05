/** What a caller gives runLoad and sees of it: options, live progress, the per-call observer. */
import type { Outcome } from '../model/outcome';

/** Live counters for progress display; the engine updates them, the caller only reads. */
export interface LoadProgress {
  completed: number;
  notOk: number;
  /** performance.now() when the timed run started; undefined during warm-up. */
  startedAtMs: number | undefined;
  totalCalls: number | undefined;
}

export interface RunOptions {
  /** Aborting it stops the run; the partial result is returned, marked interrupted. */
  signal?: AbortSignal;
  progress?: LoadProgress;
  /** Uniform in [0, 1): jitter and -connection-reuse draws. */
  random?: () => number;
  /** How the user allows initial errors where they are, for a failed warm-up's advice: load's
   * flag by default, a scenario's key in a scenario. */
  allowInitialErrorsHint?: string;
  /** Told of every answered call (warm-up included) on this thread; not passed to worker
   * threads (a function cannot cross them). Absent, the per-call path pays one check. */
  observer?: CallObserver;
}

/** Sees each answered call as it completes: Fortio's per-call log lines and access log. */
export interface CallObserver {
  /** `thread` is the connection's index (Fortio's thread id); `iter` the call's index on it, or
   * -1 for its warm-up call; `sentMs` and `endMs` are performance.now() (0 for a warm-up). */
  observe(outcome: Outcome, thread: number, iter: number, sentMs: number, endMs: number): void;
  /** A closed-loop connection is done after `calls` calls (slots -nocatchup skipped included),
   * `elapsedMs` after the timed run began: Fortio's per-thread "ended after" (periodic.go runOne).
   * Once per connection, never per call. */
  threadEnded?(thread: number, calls: number, elapsedMs: number): void;
}

export function newProgress(): LoadProgress {
  return { completed: 0, notOk: 0, startedAtMs: undefined, totalCalls: undefined };
}
