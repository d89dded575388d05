/** A restartable one-shot timer for any finite delay. Node holds a delay in a signed 32-bit
 * millisecond count and silently fires a longer one after 1 ms (TimeoutOverflowWarning), so a
 * longer delay is chained in steps of at most MAX_TIMER_MS. One instance serves many starts:
 * the callback is bound once, so a start costs what a bare setTimeout costs. */

/** The longest delay a Node timer holds (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class LongTimer {
  private handle: NodeJS.Timeout | undefined;
  /** What is left to wait once the current step fires; 0 on the last step. */
  private remainingMs = 0;
  private readonly onStep = (): void => {
    this.handle = undefined;
    if (this.remainingMs > 0) {
      this.arm(this.remainingMs);
      return;
    }
    this.callback();
  };

  constructor(private readonly callback: () => void) {}

  /** Calls back once after `delayMs` (<= 0: on a later turn); a pending start is replaced. */
  start(delayMs: number): void {
    if (Number.isNaN(delayMs)) throw new RangeError('LongTimer delay is NaN');
    this.cancel();
    this.arm(delayMs > 0 ? delayMs : 0);
  }

  cancel(): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    this.remainingMs = 0;
  }

  get pending(): boolean {
    return this.handle !== undefined;
  }

  private arm(delayMs: number): void {
    const step = delayMs > MAX_TIMER_MS ? MAX_TIMER_MS : delayMs;
    this.remainingMs = delayMs - step;
    this.handle = setTimeout(this.onStep, step);
  }
}
