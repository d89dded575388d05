import { LongTimer, MAX_TIMER_MS } from '../../src/util/long-timer';

describe('LongTimer', () => {
  afterEach(() => {
    // In this order: the spy restores the fake setTimeout it wrapped, then the real one returns.
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('waits a delay longer than a Node timer holds, in steps Node does not clamp', () => {
    jest.useFakeTimers();
    const delays: number[] = [];
    const real = global.setTimeout;
    jest.spyOn(global, 'setTimeout').mockImplementation(((callback: () => void, ms: number) => {
      delays.push(ms);
      return real(callback, ms);
    }) as typeof setTimeout);
    let fired = 0;
    const timer = new LongTimer(() => fired++);
    timer.start(2.5 * MAX_TIMER_MS);
    jest.advanceTimersByTime(2 * MAX_TIMER_MS);
    expect(fired).toBe(0);
    jest.advanceTimersByTime(0.5 * MAX_TIMER_MS - 1);
    expect(fired).toBe(0);
    jest.advanceTimersByTime(1);
    expect(fired).toBe(1);
    expect(delays).toHaveLength(3);
    expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(timer.pending).toBe(false);
  });

  it('restarts and cancels', () => {
    jest.useFakeTimers();
    let fired = 0;
    const timer = new LongTimer(() => fired++);
    timer.start(100);
    timer.start(MAX_TIMER_MS + 100); // replaces the first start
    jest.advanceTimersByTime(1000);
    expect(fired).toBe(0);
    expect(timer.pending).toBe(true);
    timer.cancel();
    jest.advanceTimersByTime(2 * MAX_TIMER_MS);
    expect(fired).toBe(0);
    timer.start(-5); // a past due time fires on a later turn
    expect(fired).toBe(0);
    jest.advanceTimersByTime(1);
    expect(fired).toBe(1);
  });

  it('fires a short real delay once', async () => {
    let fired = 0;
    await new Promise<void>((resolve) => {
      new LongTimer(() => {
        fired++;
        resolve();
      }).start(5);
    });
    expect(fired).toBe(1);
  });

  it('refuses NaN rather than firing at once', () => {
    expect(() => new LongTimer(() => undefined).start(Number.NaN)).toThrow(RangeError);
  });
});
