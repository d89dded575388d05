/** Exit codes are part of meshload's interface (CI gates branch on them); the README lists them. */
export const EXIT = {
  OK: 0,
  /** The command ran and failed: a non-200 `curl`, a port that would not bind. */
  FAILED: 1,
  /** The command line or a config file is invalid; nothing was started. */
  USAGE: 2,
  /** `run`: the data could not decide a check (stats unavailable, the generator fell behind,
   * the target unreachable), and no check failed. */
  INCONCLUSIVE: 3,
  /** Stopped by Ctrl-C/SIGTERM; the partial result was still printed and written. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
