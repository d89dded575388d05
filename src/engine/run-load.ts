/** Runs a LoadPlan over a Transport and returns a LoadResult. Knows nothing of HTTP: a
 * connection is anything that can `send(done)`. Three ways to drive it:
 * - closed loop at max speed (-qps 0): each connection sends again as soon as it has an answer;
 * - paced (-qps N): each connection follows Fortio's per-connection schedule, and latency runs
 *   from the slot's due time, so a stall is charged to every call it delayed (coordinated
 *   omission corrected); the uncorrected latency, from the actual send, is kept too;
 * - open model (--open): arrivals on a fixed schedule whatever the responses, at most
 *   `maxInflight` at once; an arrival that finds the cap full is dropped and counted.
 * A run by duration has a hard end: -t plus the per-request timeout (1 s when there is none),
 * counted from before the warm-up. Calls still in flight then are closed and counted once each
 * as timeouts, so a silent target cannot stretch the run and every call made is counted. */
import { fortioDurationScale, type FortioCounts } from '../metrics/fortio-histogram';
import { failure } from '../transport/outcome';
import type { Connection, Transport } from '../transport/transport';
import { isOk, type Outcome } from '../model/outcome';
import { ConnectionStats, newConnectTime, newSleepTimes, sleepSeconds } from '../metrics/connection-stats';
import { formatDuration } from '../util/duration';
import { LongTimer } from '../util/long-timer';
import { meshloadVersion } from '../util/version';
import { redactPlan, type LoadPlan } from '../model/load-plan';
import type { LoadResult, WarmupAbort } from '../model/load-result';
import { RunRecorder, timelineStepFor } from './run-recorder';
import { planSchedule, rampCalls, rampSlotMs, type ConnectionSchedule, type RunSchedule } from './schedule';
import { fellBehind } from '../model/achieved-rate';
import { newProgress, type LoadProgress, type RunOptions } from './run-options';
import { describeOutcome, warmupAbort, warmupError, type WarmupFailure } from './warmup-error';

export async function runLoad(plan: LoadPlan, transport: Transport, options: RunOptions = {}): Promise<LoadResult> {
  const runner = new LoadRunner(plan, transport, options);
  try {
    return await runner.run();
  } finally {
    transport.close();
  }
}

type StopReason = NonNullable<LoadResult['stopReason']>;

/** The hard end's margin after -t when calls have no timeout of their own. */
export const GRACE_WITHOUT_TIMEOUT_MS = 1000;

/** How long after -t the calls still in flight may take before they are cut. */
export function graceMs(timeoutMs: number): number {
  return timeoutMs > 0 ? timeoutMs : GRACE_WITHOUT_TIMEOUT_MS;
}

/** Something that may have one timed call in flight: cut() counts it (once) and closes its
 * connection when the run's hard end comes first. */
interface Caller {
  cut(endMs: number): void;
  /** Tells the observer this caller is done, if it has not yet (a run stopped early ends its
   * callers without their last step). */
  reportEnd?(): void;
}

class LoadRunner {
  readonly schedule: RunSchedule;
  readonly random: () => number;
  readonly progress: LoadProgress;
  recorder: RunRecorder | undefined;
  t0 = 0;
  /** No timed call is sent after this (performance.now() units). */
  endAtMs = Infinity;
  /** Everything ends by this: -t plus grace after the launch; Infinity without -t. */
  hardEndMs = Infinity;
  stopped = false;
  stopReason: StopReason | undefined;
  stopDetail: string | undefined;
  warmupAbort: WarmupAbort | undefined;
  skippedSlots = 0;
  droppedSends = 0;
  warmupRequests = 0;
  /** Every caller that may hold a call in flight, for the hard end. */
  readonly callers: Caller[] = [];
  private readonly connections: Connection[] = [];
  /** Per connection, what its sockets did; and every dial of the run (Fortio's ConnectionStats). */
  private readonly socketStats: ConnectionStats[] = [];
  private readonly connectTime: FortioCounts;
  /** Every pause of the pacing loop (Fortio's "Sleep times"): a bucket increment per sleep. */
  private readonly sleepTimes = newSleepTimes();
  private readonly timers: LongTimer[] = [];
  private readonly deadline = new LongTimer(() => this.deadlinePassed());
  /** The outcome a call still in flight at the hard end is counted with (one per run). */
  private readonly cutOutcome: Outcome;
  private activeUsers = 0;
  private inflight = 0;
  /** Resolves whatever the run is waiting for (warm-up or the timed run). */
  private wake: (() => void) | undefined;

  constructor(
    readonly plan: LoadPlan,
    readonly transport: Transport,
    readonly options: RunOptions,
  ) {
    this.schedule = planSchedule(plan);
    this.random = options.random ?? Math.random;
    this.progress = options.progress ?? newProgress();
    this.progress.totalCalls = this.schedule.totalCalls;
    this.connectTime = newConnectTime(fortioDurationScale(plan));
    this.cutOutcome = failure('timeout', `still in flight when -t ${formatDuration(plan.durationMs)} ended (plus ${formatDuration(graceMs(plan.timeoutMs))} grace): connection closed`);
  }

  async run(): Promise<LoadResult> {
    const inWarmUp = (): boolean => this.recorder === undefined && this.warmupRequests > 0;
    const onAbort = (): void => this.stop('interrupted', inWarmUp() ? 'interrupted by the user during warm-up' : 'interrupted by the user');
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const launchMs = performance.now();
      this.t0 = launchMs;
      const byDuration = this.plan.requests === undefined && this.plan.durationMs > 0;
      if (byDuration) {
        // The warm-up counts against the same deadline: a hanging one cannot extend the run.
        this.hardEndMs = launchMs + this.plan.durationMs + graceMs(this.plan.timeoutMs);
        this.deadline.start(this.hardEndMs - launchMs);
      }
      if (this.options.signal?.aborted === true) onAbort();
      const connectionCount = this.plan.open !== undefined ? 1 : this.schedule.connections.length;
      for (let i = 0; i < connectionCount; i++) this.newConnection();
      // Fortio warms up only runs by duration: with -n it makes exactly n calls, no more
      // (Istio's circuit breaker task reads "All done 30 calls (plus 0 warmup)").
      const warmupFailure = this.plan.requests === undefined && !this.stopped ? await this.warmUp() : undefined;
      if (this.stopped) return this.result(performance.now());
      this.t0 = performance.now();
      this.recorder = new RunRecorder(this.t0, timelineStepFor(this.plan), fortioDurationScale(this.plan));
      this.progress.startedAtMs = this.t0;
      if (warmupFailure !== undefined && !this.plan.allowInitialErrors) {
        const hint = `${this.options.allowInitialErrorsHint ?? 'use -allow-initial-errors'} to run anyway`;
        this.warmupAbort = warmupAbort(this.plan, warmupFailure.outcome, warmupFailure.thread, hint);
        this.stop('warmup-failed', `${warmupError(this.plan, warmupFailure.outcome, warmupFailure.thread)}; ${hint}`);
      } else {
        if (byDuration) this.endAtMs = Math.min(this.t0 + this.plan.durationMs, this.hardEndMs);
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.plan.open !== undefined) new OpenArrivals(this, this.plan.open.maxInflight).start();
          else this.schedule.connections.forEach((s, i) => new VirtualUser(this, this.connections[i] as Connection, s, i).start());
          this.checkFinished();
        });
        for (const caller of this.callers) caller.reportEnd?.();
      }
      return this.result(performance.now());
    } finally {
      this.options.signal?.removeEventListener('abort', onAbort);
      this.deadline.cancel();
      for (const timer of this.timers) timer.cancel();
    }
  }

  /** One untimed call per connection (httprunner.go RunHTTPTest): all at once, or with
   * -sequential-warmup one connection after another, ending at the first failure unless initial
   * errors are allowed. Resolves with the first failure, or early (undefined) when the run stops. */
  private warmUp(): Promise<WarmupFailure | undefined> {
    const connections = this.connections;
    const observer = this.options.observer;
    return new Promise<WarmupFailure | undefined>((resolve) => {
      let failure: WarmupFailure | undefined;
      this.wake = () => resolve(undefined);
      if (this.plan.sequentialWarmup === true) {
        const sendFrom = (thread: number): void => {
          this.warmupRequests++;
          (connections[thread] as Connection).send((outcome) => {
            if (this.stopped) return;
            observer?.observe(outcome, thread, -1, 0, 0);
            if (failure === undefined && !isOk(outcome.status)) {
              failure = { outcome, thread };
              if (!this.plan.allowInitialErrors) return resolve(failure);
            }
            if (thread + 1 < connections.length) sendFrom(thread + 1);
            else resolve(failure);
          });
        };
        sendFrom(0);
        return;
      }
      this.warmupRequests = connections.length;
      let pending = connections.length;
      connections.forEach((connection, thread) => {
        connection.send((outcome) => {
          if (this.stopped) return;
          observer?.observe(outcome, thread, -1, 0, 0);
          if (failure === undefined && !isOk(outcome.status)) failure = { outcome, thread };
          if (--pending === 0) resolve(failure);
        });
      });
    }).finally(() => {
      this.wake = undefined;
    });
  }

  newConnection(): Connection {
    const stats = new ConnectionStats(this.connectTime);
    this.socketStats.push(stats);
    const connection = this.transport.newConnection(stats);
    this.connections.push(connection);
    return connection;
  }

  /** A pause of the pacing loop before a call (negative: the call is late), as Fortio records
   * it (periodic.go runOne: sleepTimes.Record, after -jitter, not for skipped slots). */
  recordSleep(ms: number): void {
    this.sleepTimes.record(sleepSeconds(ms));
  }

  /** A timer the run cancels when it stops. */
  newTimer(callback: () => void): LongTimer {
    const timer = new LongTimer(callback);
    this.timers.push(timer);
    return timer;
  }

  userStarted(): void {
    this.activeUsers++;
  }

  userFinished(): void {
    this.activeUsers--;
    this.checkFinished();
  }

  threadEnded(thread: number, calls: number): void {
    this.options.observer?.threadEnded?.(thread, calls, performance.now() - this.t0);
  }

  sent(): void {
    this.inflight++;
  }

  /** Records one completed timed call (the `iter`th of connection `thread`); returns false once
   * the run is stopping. */
  completed(outcome: Outcome, thread: number, iter: number, intendedMs: number, sentMs: number, endMs: number): boolean {
    this.inflight--;
    if (this.stopped) {
      this.checkFinished();
      return false;
    }
    // Before -abort-on acts: Fortio logs the call that aborts the run too.
    this.options.observer?.observe(outcome, thread, iter, sentMs, endMs);
    const recorder = this.recorder as RunRecorder;
    recorder.record(outcome, intendedMs, sentMs, endMs);
    this.progress.completed++;
    if (!isOk(outcome.status)) this.progress.notOk++;
    if (this.plan.abortOn !== undefined && outcome.status === this.plan.abortOn) {
      this.stop('abort-on', `-abort-on ${this.plan.abortOn}: got ${describeOutcome(outcome)}`);
      return false;
    }
    return true;
  }

  /** Counts a call the hard end cut: a timeout, ending now. */
  countCut(intendedMs: number, sentMs: number, endMs: number): void {
    this.inflight--;
    (this.recorder as RunRecorder).record(this.cutOutcome, intendedMs, sentMs, endMs);
    this.progress.completed++;
    this.progress.notOk++;
  }

  /** Stops sending early. Calls in flight are not waited for (their answers would describe the
   * interruption, not the target) and not counted: the detail says how many. */
  stop(reason: StopReason, detail: string): void {
    if (this.stopped) return;
    const uncounted = this.inflight;
    this.stopReason = reason;
    this.stopDetail = uncounted > 0 ? `${detail}; ${uncounted} call${uncounted === 1 ? '' : 's'} in flight not counted` : detail;
    this.end();
  }

  /** The hard end: calls still in flight are counted as timeouts and their connections closed. */
  private deadlinePassed(): void {
    if (this.stopped) return;
    if (this.recorder === undefined) {
      const limit = `-t ${formatDuration(this.plan.durationMs)} (plus ${formatDuration(graceMs(this.plan.timeoutMs))} grace)`;
      this.stop('warmup-failed', `warm-up request still in flight when ${limit} ended; nothing was measured`);
      return;
    }
    const now = performance.now();
    for (const caller of this.callers) caller.cut(now);
    this.end();
  }

  private end(): void {
    this.stopped = true;
    this.deadline.cancel();
    for (const timer of this.timers) timer.cancel();
    this.wake?.();
  }

  private checkFinished(): void {
    if (this.activeUsers === 0 && (this.inflight === 0 || this.stopped)) this.wake?.();
  }

  private result(endMs: number): LoadResult {
    // Stopped before the timed run began: it lasted nothing and measured nothing.
    if (this.recorder === undefined) this.t0 = endMs;
    const recorder = this.recorder ?? new RunRecorder(endMs, 1000, fortioDurationScale(this.plan));
    const recorded = recorder.finish(endMs);
    const durationMs = Math.max(0, endMs - this.t0);
    const count = recorder.count;
    const actualQps = durationMs > 0 ? count / (durationMs / 1000) : 0;
    const { payload, ...planRest } = this.plan;
    return {
      tool: 'meshload',
      version: meshloadVersion(),
      // The boundary where the plan becomes result data: no renderer sees a secret after it.
      plan: {
        ...redactPlan(planRest),
        connections: this.schedule.connections.length,
        payloadBytes: payload.length,
      },
      startTime: new Date(Date.now() - (performance.now() - this.t0)).toISOString(),
      durationMs,
      actualQps,
      stopReason: this.stopReason,
      stopDetail: this.stopDetail,
      ...(this.warmupAbort !== undefined ? { warmupAbort: this.warmupAbort } : {}),
      warmupRequests: this.warmupRequests,
      socketsUsed: this.connections.reduce((sum, c) => sum + c.socketsOpened, 0),
      resends: this.connections.reduce((sum, c) => sum + c.resends, 0),
      ...recorded,
      skippedSlots: this.skippedSlots,
      droppedSends: this.droppedSends,
      lateSends: recorder.lateSends,
      fellBehind: this.stopReason === undefined && count > 0 && fellBehind(this.plan, actualQps),
      connections: { threads: this.socketStats.map((s) => s.report()), connectTime: this.connectTime.encode() },
      // Fortio has a sleep histogram exactly when it paces its threads (periodic.go: useQPS).
      ...(this.plan.open === undefined && this.schedule.connections.some((c) => c.slotMs !== undefined) ? { sleepTimes: this.sleepTimes.encode() } : {}),
    };
  }
}

/** One closed-loop connection: max speed, or paced on its Fortio schedule. */
class VirtualUser implements Caller {
  /** A timed call is in flight and not yet counted. */
  private busy = false;
  private index = 0;
  private intendedMs = 0;
  private sentMs = 0;
  /** The due time the pending timer fires for. */
  private dueMs = 0;
  /** The next slot is past the hard end: the pending timer ends this user at -t. */
  private waitingOut = false;
  /** The observer was told this connection ended. */
  private ended = false;
  private untilReconnect: number;
  private readonly onDone: (outcome: Outcome) => void;
  private readonly timer: LongTimer;

  constructor(
    private readonly runner: LoadRunner,
    private readonly connection: Connection,
    private readonly schedule: ConnectionSchedule,
    private readonly thread: number,
  ) {
    this.untilReconnect = this.drawReuse();
    this.onDone = (outcome) => {
      // Already counted at the hard end: the answer to its close is not counted again.
      if (!this.busy) return;
      this.busy = false;
      // One clock read per completion: it ends this call and schedules the next.
      const now = performance.now();
      if (!this.runner.completed(outcome, this.thread, this.index, this.intendedMs, this.sentMs, now)) {
        this.finish();
        return;
      }
      this.index++;
      if (--this.untilReconnect === 0) {
        this.connection.reconnect();
        this.untilReconnect = this.drawReuse();
      }
      this.next(now);
    };
    this.timer = runner.newTimer(() => (this.runner.stopped || this.waitingOut ? this.finish() : this.fire(this.dueMs)));
    runner.callers.push(this);
  }

  start(): void {
    this.runner.userStarted();
    this.next(performance.now());
  }

  cut(endMs: number): void {
    if (!this.busy) return;
    this.busy = false;
    // Counted as a call (a timeout): so in this connection's count too.
    this.index++;
    this.runner.countCut(this.intendedMs, this.sentMs, endMs);
    this.connection.close();
  }

  reportEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.runner.threadEnded(this.thread, this.index);
  }

  private finish(): void {
    this.reportEnd();
    this.runner.userFinished();
  }

  private next(now: number): void {
    const runner = this.runner;
    const { calls, slotMs } = this.schedule;
    if (runner.stopped || (calls !== undefined && this.index >= calls)) {
      this.finish();
      return;
    }
    if (slotMs === undefined) {
      if (now >= runner.endAtMs) {
        this.finish();
        return;
      }
      this.send(now, now);
      return;
    }
    // Fortio: past the end of the duration, stop unless this is one of the first two calls or
    // the last one (a slow target makes a paced run end with fewer calls, not run over).
    if (now > runner.endAtMs && this.index >= 2 && calls !== undefined && this.index !== calls - 1) {
      this.finish();
      return;
    }
    // Fortio sleeps between calls only: the first call's wait (-uniform's stagger) is no sleep,
    // and it decides to skip only after a call (runOne), so the first slot is never skipped.
    const sleeps = this.index > 0;
    let dueMs = runner.t0 + slotMs(this.index);
    if (dueMs < now && runner.plan.noCatchUp && sleeps) {
      // Fortio's -nocatchup: a slot already past is skipped, not sent late.
      while (dueMs < now && (calls === undefined || this.index < calls - 1)) {
        this.index++;
        runner.skippedSlots++;
        dueMs = runner.t0 + slotMs(this.index);
      }
    }
    // A slot at or past the hard end could only be cut: it is not sent, and the user waits out
    // the duration (a run by duration lasts it) instead of its slot (-qps 1e-7: 10^7 s).
    if (dueMs >= runner.hardEndMs) {
      if (now >= runner.endAtMs) {
        this.finish();
        return;
      }
      this.waitingOut = true;
      this.timer.start(runner.endAtMs - now);
      return;
    }
    const sleepMs = dueMs - now;
    if (sleepMs <= 0) {
      if (sleeps) runner.recordSleep(sleepMs);
      this.fire(dueMs);
      return;
    }
    // Fortio's -jitter: +/-10% of each pause; the jittered time becomes the due time.
    if (runner.plan.jitter) dueMs += (runner.random() * 2 - 1) * 0.1 * sleepMs;
    if (sleeps) runner.recordSleep(dueMs - now);
    this.dueMs = dueMs;
    this.timer.start(dueMs - now);
  }

  private fire(dueMs: number): void {
    const now = performance.now();
    this.runner.recorder?.recordLag(Math.max(0, now - dueMs));
    // A timer can fire up to a millisecond before a fractional due time (libuv counts whole
    // milliseconds): the call then left early, and its latency starts when it was sent. Measured
    // from the later due time it would come out short, or 0 for a fast answer.
    this.send(Math.min(dueMs, now), now);
  }

  private send(intendedMs: number, sentMs: number): void {
    this.intendedMs = intendedMs;
    this.sentMs = sentMs;
    this.busy = true;
    this.runner.sent();
    this.connection.send(this.onDone);
  }

  /** -connection-reuse MIN:MAX: requests before the next reconnect; 0 means never. */
  private drawReuse(): number {
    const reuse = this.runner.plan.connectionReuse;
    if (reuse === undefined) return 0;
    return reuse.min + Math.floor(this.runner.random() * (reuse.max - reuse.min + 1));
  }
}

/** One connection of the open model's pool with the call it carries; its completion callback
 * is made once, so an arrival allocates nothing. */
class OpenSlot implements Caller {
  busy = false;
  intendedMs = 0;
  sentMs = 0;
  /** The arrival it carries: the call's index for the observer. */
  arrival = 0;
  readonly onDone: (outcome: Outcome) => void;

  constructor(
    private readonly runner: LoadRunner,
    arrivals: OpenArrivals,
    readonly connection: Connection,
    /** Its place in the pool, in order of creation: the observer's thread. */
    readonly id: number,
  ) {
    this.onDone = (outcome) => {
      // Already counted at the hard end: the answer to its close is not counted again.
      if (!this.busy) return;
      this.busy = false;
      arrivals.completed(this, outcome);
    };
    runner.callers.push(this);
  }

  cut(endMs: number): void {
    if (!this.busy) return;
    this.busy = false;
    this.runner.countCut(this.intendedMs, this.sentMs, endMs);
    this.connection.close();
  }
}

/** The open model: one arrival schedule for the whole run, connections taken from a pool. */
class OpenArrivals {
  private arrival = 0;
  private readonly idle: OpenSlot[] = [];
  private readonly dueOf: (arrival: number) => number;
  private readonly total: number | undefined;
  private readonly timer: LongTimer;
  private inflight = 0;
  /** Slots made so far. */
  private slots = 0;
  /** No more arrivals will be sent; the run ends when the last in-flight call answers. */
  private closing = false;
  private reported = false;

  constructor(
    private readonly runner: LoadRunner,
    private readonly maxInflight: number,
  ) {
    const plan = runner.plan;
    if (plan.ramp !== undefined) {
      this.dueOf = rampSlotMs(plan.ramp.from, plan.ramp.to, plan.durationMs);
      this.total = rampCalls(plan.ramp.from, plan.ramp.to, plan.durationMs);
    } else {
      const periodMs = 1000 / plan.qps;
      this.dueOf = (arrival) => arrival * periodMs;
      this.total = plan.requests ?? (plan.durationMs > 0 ? Math.floor((plan.qps * plan.durationMs) / 1000) : undefined);
    }
    runner.progress.totalCalls = this.total;
    this.timer = runner.newTimer(() => this.tick());
  }

  start(): void {
    this.runner.userStarted();
    this.tick();
  }

  completed(slot: OpenSlot, outcome: Outcome): void {
    this.inflight--;
    const recorded = this.runner.completed(outcome, slot.id, slot.arrival, slot.intendedMs, slot.sentMs, performance.now());
    this.idle.push(slot);
    if (!recorded || this.closing) this.finish();
  }

  private tick(): void {
    const runner = this.runner;
    if (runner.stopped) return this.finish();
    const now = performance.now();
    for (;;) {
      if (this.total !== undefined && this.arrival >= this.total) return this.finish();
      const dueMs = runner.t0 + this.dueOf(this.arrival);
      if (dueMs > now) {
        // An arrival at or past the hard end could only be cut: it is not waited for.
        if (dueMs >= runner.hardEndMs) return this.finish();
        this.timer.start(dueMs - now);
        return;
      }
      this.arrival++;
      if (this.inflight >= this.maxInflight) {
        runner.droppedSends++;
        continue;
      }
      runner.recorder?.recordLag(now - dueMs);
      this.send(dueMs, now, this.arrival - 1);
    }
  }

  private send(intendedMs: number, sentMs: number, arrival: number): void {
    const slot = this.idle.pop() ?? new OpenSlot(this.runner, this, this.runner.newConnection(), this.slots++);
    slot.intendedMs = intendedMs;
    slot.sentMs = sentMs;
    slot.arrival = arrival;
    slot.busy = true;
    this.inflight++;
    this.runner.sent();
    slot.connection.send(slot.onDone);
  }

  private finish(): void {
    this.closing = true;
    if (this.reported || (this.inflight > 0 && !this.runner.stopped)) return;
    this.reported = true;
    this.runner.userFinished();
  }
}
