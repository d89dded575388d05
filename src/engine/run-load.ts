/** Runs a LoadPlan over a Transport and returns a LoadResult. Knows nothing of HTTP: a
 * connection is anything that can `send(done)`. Three ways to drive it:
 * - closed loop at max speed (-qps 0): each connection sends again as soon as it has an answer;
 * - paced (-qps N): each connection follows Fortio's per-connection schedule, and latency runs
 *   from the slot's due time, so a stall is charged to every call it delayed (coordinated
 *   omission corrected); the uncorrected latency, from the actual send, is kept too;
 * - open model (--open): arrivals on a fixed schedule whatever the responses, at most
 *   `maxInflight` at once; an arrival that finds the cap full is dropped and counted. */
import type { Connection, Outcome, Transport } from '../transport/transport';
import { meshloadVersion } from '../util/version';
import { redactPlan, type LoadPlan } from './load-plan';
import type { LoadResult } from './load-result';
import { RunRecorder } from './run-recorder';
import { fellBehind, isOk, planSchedule, rampCalls, rampSlotMs, type ConnectionSchedule, type RunSchedule } from './schedule';

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
}

export function newProgress(): LoadProgress {
  return { completed: 0, notOk: 0, startedAtMs: undefined, totalCalls: undefined };
}

export async function runLoad(plan: LoadPlan, transport: Transport, options: RunOptions = {}): Promise<LoadResult> {
  const runner = new LoadRunner(plan, transport, options);
  try {
    return await runner.run();
  } finally {
    transport.close();
  }
}

type StopReason = NonNullable<LoadResult['stopReason']>;

class LoadRunner {
  readonly schedule: RunSchedule;
  readonly random: () => number;
  readonly progress: LoadProgress;
  recorder: RunRecorder | undefined;
  t0 = 0;
  endAtMs = Infinity;
  stopped = false;
  stopReason: StopReason | undefined;
  stopDetail: string | undefined;
  skippedSlots = 0;
  droppedSends = 0;
  warmupRequests = 0;
  private readonly connections: Connection[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private activeUsers = 0;
  private inflight = 0;
  private finished: (() => void) | undefined;

  constructor(
    readonly plan: LoadPlan,
    readonly transport: Transport,
    readonly options: RunOptions,
  ) {
    this.schedule = planSchedule(plan);
    this.random = options.random ?? Math.random;
    this.progress = options.progress ?? newProgress();
    this.progress.totalCalls = this.schedule.totalCalls;
  }

  async run(): Promise<LoadResult> {
    const onAbort = (): void => this.stop('interrupted', 'interrupted by the user');
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const connectionCount = this.plan.open !== undefined ? 1 : this.schedule.connections.length;
      for (let i = 0; i < connectionCount; i++) this.connections.push(this.transport.newConnection());
      // Fortio warms up only runs by duration: with -n it makes exactly n calls, no more
      // (Istio's circuit breaker task reads "All done 30 calls (plus 0 warmup)").
      const warmupFailure = this.plan.requests === undefined ? await this.warmUp() : undefined;
      this.t0 = performance.now();
      this.recorder = new RunRecorder(this.t0);
      this.progress.startedAtMs = this.t0;
      if (warmupFailure !== undefined && !this.plan.allowInitialErrors) {
        this.stop('warmup-failed', `warm-up request got ${describe(warmupFailure)}; use -allow-initial-errors to run anyway`);
      } else if (this.options.signal?.aborted === true) {
        this.stop('interrupted', 'interrupted by the user');
      } else {
        if (this.plan.requests === undefined && this.plan.durationMs > 0) this.endAtMs = this.t0 + this.plan.durationMs;
        await new Promise<void>((resolve) => {
          this.finished = resolve;
          if (this.plan.open !== undefined) new OpenArrivals(this, this.plan.open.maxInflight).start();
          else this.schedule.connections.forEach((s, i) => new VirtualUser(this, this.connections[i] as Connection, s).start());
          this.checkFinished();
        });
      }
      return this.result(performance.now());
    } finally {
      this.options.signal?.removeEventListener('abort', onAbort);
      for (const timer of this.timers) clearTimeout(timer);
    }
  }

  private async warmUp(): Promise<Outcome | undefined> {
    this.warmupRequests = this.connections.length;
    const outcomes = await Promise.all(this.connections.map((c) => new Promise<Outcome>((resolve) => c.send(resolve))));
    return outcomes.find((o) => !isOk(o.status));
  }

  newConnection(): Connection {
    const connection = this.transport.newConnection();
    this.connections.push(connection);
    return connection;
  }

  userStarted(): void {
    this.activeUsers++;
  }

  userFinished(): void {
    this.activeUsers--;
    this.checkFinished();
  }

  sent(): void {
    this.inflight++;
  }

  /** Records one completed timed call; returns false once the run is stopping. */
  completed(outcome: Outcome, intendedMs: number, sentMs: number, endMs: number): boolean {
    this.inflight--;
    if (this.stopped) {
      this.checkFinished();
      return false;
    }
    const recorder = this.recorder as RunRecorder;
    recorder.record(outcome, intendedMs, sentMs, endMs);
    this.progress.completed++;
    if (!isOk(outcome.status)) this.progress.notOk++;
    if (this.plan.abortOn !== undefined && outcome.status === this.plan.abortOn) {
      this.stop('abort-on', `-abort-on ${this.plan.abortOn}: got ${describe(outcome)}`);
      return false;
    }
    return true;
  }

  later(callback: () => void, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, delayMs);
    this.timers.add(timer);
  }

  /** Stops sending. In-flight calls are not waited for: their answers would describe the
   * interruption, not the target. */
  stop(reason: StopReason, detail: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopReason = reason;
    this.stopDetail = detail;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.finished?.();
  }

  private checkFinished(): void {
    if (this.activeUsers === 0 && (this.inflight === 0 || this.stopped)) this.finished?.();
  }

  private result(endMs: number): LoadResult {
    const recorder = this.recorder ?? new RunRecorder(endMs);
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
      warmupRequests: this.warmupRequests,
      socketsUsed: this.connections.reduce((sum, c) => sum + c.socketsOpened, 0),
      ...recorded,
      skippedSlots: this.skippedSlots,
      droppedSends: this.droppedSends,
      lateSends: recorder.lateSends,
      fellBehind: this.stopReason === undefined && count > 0 && fellBehind(this.plan, actualQps),
    };
  }
}

/** One closed-loop connection: max speed, or paced on its Fortio schedule. */
class VirtualUser {
  private index = 0;
  private intendedMs = 0;
  private sentMs = 0;
  private untilReconnect: number;
  private readonly onDone: (outcome: Outcome) => void;

  constructor(
    private readonly runner: LoadRunner,
    private readonly connection: Connection,
    private readonly schedule: ConnectionSchedule,
  ) {
    this.untilReconnect = this.drawReuse();
    this.onDone = (outcome) => {
      // One clock read per completion: it ends this call and schedules the next.
      const now = performance.now();
      if (!this.runner.completed(outcome, this.intendedMs, this.sentMs, now)) {
        this.runner.userFinished();
        return;
      }
      this.index++;
      if (--this.untilReconnect === 0) {
        this.connection.reconnect();
        this.untilReconnect = this.drawReuse();
      }
      this.next(now);
    };
  }

  start(): void {
    this.runner.userStarted();
    this.next(performance.now());
  }

  private next(now: number): void {
    const runner = this.runner;
    const { calls, slotMs } = this.schedule;
    if (runner.stopped || (calls !== undefined && this.index >= calls)) {
      runner.userFinished();
      return;
    }
    if (slotMs === undefined) {
      if (now >= runner.endAtMs) {
        runner.userFinished();
        return;
      }
      this.send(now, now);
      return;
    }
    // Fortio: past the end of the duration, stop unless this is one of the first two calls or
    // the last one (a slow target makes a paced run end with fewer calls, not run over).
    if (now > runner.endAtMs && this.index >= 2 && calls !== undefined && this.index !== calls - 1) {
      runner.userFinished();
      return;
    }
    let dueMs = runner.t0 + slotMs(this.index);
    if (dueMs < now && runner.plan.noCatchUp) {
      // Fortio's -nocatchup: a slot already past is skipped, not sent late.
      while (dueMs < now && (calls === undefined || this.index < calls - 1)) {
        this.index++;
        runner.skippedSlots++;
        dueMs = runner.t0 + slotMs(this.index);
      }
    }
    const sleepMs = dueMs - now;
    if (sleepMs <= 0) {
      this.fire(dueMs);
      return;
    }
    // Fortio's -jitter: +/-10% of each pause; the jittered time becomes the due time.
    if (runner.plan.jitter) dueMs += (runner.random() * 2 - 1) * 0.1 * sleepMs;
    const due = dueMs;
    runner.later(() => (runner.stopped ? runner.userFinished() : this.fire(due)), Math.max(0, dueMs - now));
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

/** The open model: one arrival schedule for the whole run, connections taken from a pool. */
class OpenArrivals {
  private arrival = 0;
  private readonly idle: Connection[];
  private readonly dueOf: (arrival: number) => number;
  private readonly total: number | undefined;
  private inflight = 0;
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
    this.idle = [];
  }

  start(): void {
    this.runner.userStarted();
    this.tick();
  }

  private tick(): void {
    const runner = this.runner;
    if (runner.stopped) return this.finish();
    const now = performance.now();
    for (;;) {
      if (this.total !== undefined && this.arrival >= this.total) return this.finish();
      const dueMs = runner.t0 + this.dueOf(this.arrival);
      if (dueMs > now) {
        runner.later(() => this.tick(), dueMs - now);
        return;
      }
      this.arrival++;
      if (this.inflight >= this.maxInflight) {
        runner.droppedSends++;
        continue;
      }
      runner.recorder?.recordLag(now - dueMs);
      this.send(dueMs, now);
    }
  }

  private send(intendedMs: number, sentMs: number): void {
    const connection = this.idle.pop() ?? this.runner.newConnection();
    this.inflight++;
    this.runner.sent();
    connection.send((outcome) => {
      this.inflight--;
      const recorded = this.runner.completed(outcome, intendedMs, sentMs, performance.now());
      this.idle.push(connection);
      if (!recorded || this.closing) this.finish();
    });
  }

  private finish(): void {
    this.closing = true;
    if (this.reported || (this.inflight > 0 && !this.runner.stopped)) return;
    this.reported = true;
    this.runner.userFinished();
  }
}

function describe(outcome: Outcome): string {
  if (outcome.status !== -1) return `status ${outcome.status}`;
  return `a socket error (${outcome.errorKind ?? 'other'}${outcome.errorMessage !== undefined ? `: ${outcome.errorMessage}` : ''})`;
}
