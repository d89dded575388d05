/** Runs a validated scenario: the embedded server if asked, then each phase (steps, load with
 * the proxy watched, checks), then the `always:` steps whatever happened. Returns plain data;
 * printing and report files are the caller's. */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import type { LoadPlan } from '../model/load-plan';
import type { LoadResult } from '../model/load-result';
import { newProgress, type LoadProgress } from '../engine/run-options';
import { runPlan } from '../engine/run-plan';
import { shardPlan, shardProblem } from '../engine/split-plan';
import { grpcPlanFromFlags } from '../grpc/grpc-load';
import { startEchoServer, type RunningEchoServer } from '../server/echo-server';
import { startGrpcServer, type RunningGrpcServer } from '../server/grpc-server';
import { SidecarWatch } from '../stats/sidecar-watch';
import { statsSourceOf } from '../stats/stats-source';
import { evaluateExpectation, parseExpectation } from '../checks';
import type { CheckResult, PhaseResult, ScenarioResult, StepResult, Verdict } from './scenario-result';
import type { ScenarioIssue } from './load-scenario';
import type { Phase, ResolvedLoad, Scenario, Step } from './scenario-schema';
import { MeshloadError } from '../util/errors';
import { killBackgroundNow, pause, runStep, stopBackground, type StepContext } from './steps';

export interface ScenarioEvents {
  phaseStarted(index: number, phase: Phase): void;
  stepDone(step: StepResult): void;
  phaseDone(result: PhaseResult): void;
  /** A phase's load starts; `progress` is updated live until `loadDone`. */
  loadStarted?(progress: LoadProgress): void;
  loadDone?(): void;
  /** The run waits for `options.startAtMs` before its first phase. */
  waiting?(untilMs: number): void;
}

export interface Shard {
  index: number;
  count: number;
}

export interface RunScenarioOptions {
  /** Run shard `index` of `count` generators running the scenario side by side (Job pods). */
  shard?: Shard | undefined;
  /** Wall-clock time (ms since the epoch) to start the first phase at, so shards start together. */
  startAtMs?: number | undefined;
  /** The environment of step commands (default: the process's); `${VAR}` in a command is
   * expanded by the shell from it. */
  env?: Record<string, string | undefined> | undefined;
  /** Aborted by a second Ctrl-C or SIGTERM: stop waiting for anything (the phase in progress,
   * `always:` steps, background processes, which are killed) and return what is known. */
  hurry?: AbortSignal | undefined;
}

/** Worst first: a failed or data-less check fails the gate; inconclusive only if nothing failed. */
function worstVerdict(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.includes('fail')) return 'fail';
  if (verdicts.includes('no_data')) return 'no_data';
  if (verdicts.includes('inconclusive')) return 'inconclusive';
  return 'pass';
}

/** A phase whose setup step failed fails; otherwise its checks decide. */
export function phaseVerdict(steps: readonly StepResult[], checks: readonly CheckResult[]): Verdict {
  return steps.some((s) => !s.ok) ? 'fail' : worstVerdict(checks.map((c) => c.verdict));
}

/** The run's verdict: its phases', failed if phases were skipped or an always: step failed. */
export function scenarioVerdict(phases: readonly PhaseResult[], always: readonly StepResult[], phasesSkipped: boolean): Verdict {
  const failed = phasesSkipped || always.some((s) => !s.ok);
  return worstVerdict([...phases.map((p) => p.verdict), ...(failed ? (['fail'] as const) : [])]);
}

export async function runScenario(scenario: Scenario, file: string, signal: AbortSignal, events: ScenarioEvents, options: RunScenarioOptions = {}): Promise<ScenarioResult> {
  const started = Date.now();
  let server: RunningEchoServer | undefined;
  let grpcServer: RunningGrpcServer | undefined;
  const env = options.env ?? process.env;
  const hurry = options.hurry ?? new AbortController().signal;
  const stepContext: StepContext = { signal, adminUrl: undefined, stats: statsOf(scenario), background: [], running: new Set(), cwd: dirname(file), env };
  const phases: PhaseResult[] = [];
  let always: StepResult[] = [];
  // A third Ctrl-C or SIGTERM exits at once (process.exit) and skips the finally below; steps'
  // processes run in process groups of their own and would outlive meshload. 'exit' still runs.
  const killAll = (): void => killBackgroundNow([...stepContext.background, ...(stepContext.running ?? [])]);
  process.on('exit', killAll);
  hurry.addEventListener('abort', killAll, { once: true });
  try {
    if (scenario.server !== undefined) {
      const spec = scenario.server;
      server = await startEchoServer({
        echo: { host: '127.0.0.1', port: spec.port },
        admin: spec.admin ? { host: '127.0.0.1', port: 0 } : null,
        maxDelayMs: spec.maxDelay,
        maxPayloadBytes: spec.maxPayloadKb * 1024,
        ...(spec.defaultParams !== undefined ? { defaultParams: spec.defaultParams } : {}),
        ...(spec.versionTag !== undefined ? { versionTag: spec.versionTag } : {}),
      });
      stepContext.adminUrl = server.adminUrl;
      // gRPC as `server -grpc-port 0`: the echo server's /chaos applies to it too.
      if (spec.grpc === true) {
        grpcServer = await startGrpcServer({
          listen: { host: '127.0.0.1', port: 0 },
          healthService: 'ping',
          maxDelayMs: spec.maxDelay,
          chaos: server.chaos,
          ...(spec.versionTag !== undefined ? { versionTag: spec.versionTag } : {}),
        });
      }
      stepContext.env = {
        ...env,
        MESHLOAD_SERVER_URL: server.echoUrl,
        MESHLOAD_SERVER_ADDR: server.echoUrl.replace(/^http:\/\//, ''),
        ...(server.adminUrl !== undefined ? { MESHLOAD_ADMIN_URL: server.adminUrl } : {}),
        ...(grpcServer !== undefined ? { MESHLOAD_GRPC_ADDR: `127.0.0.1:${grpcServer.port}` } : {}),
      };
    }
    const baseUrl = server?.echoUrl ?? scenario.target;
    const grpcUrl = grpcServer === undefined ? scenario.target : `http://127.0.0.1:${grpcServer.port}`;
    if (options.startAtMs !== undefined && options.startAtMs > Date.now()) {
      events.waiting?.(options.startAtMs);
      await sleepUntil(options.startAtMs, signal);
    }
    const runPhases = async (): Promise<void> => {
      for (const [index, phase] of scenario.phases.entries()) {
        if (signal.aborted) break;
        events.phaseStarted(index, phase);
        const result = await runPhase(scenario, phase, index, phase.load?.grpc === undefined ? baseUrl : grpcUrl, stepContext, signal, events, options.shard);
        if (hurry.aborted) break; // already reported without it
        phases.push(result);
        events.phaseDone(result);
        // A setup step that failed leaves the next phases without their premise.
        if (result.steps.some((s) => !s.ok)) break;
      }
    };
    // The phase in progress is given up when hurried: the report keeps the phases that ended.
    await untilAborted(runPhases(), hurry);
  } finally {
    // `always:` gets the hurry signal: the first Ctrl-C stops the run, not its cleanup; the second
    // stops the cleanup too (its commands' process groups are killed).
    const cleanup: StepContext = { ...stepContext, signal: hurry };
    for (const step of scenario.always) {
      if (hurry.aborted) break;
      const result = await runStepOnShard(step, cleanup, options.shard);
      events.stepDone(result);
      always = [...always, result];
    }
    await stopBackground(stepContext.background, hurry);
    await untilAborted(Promise.all([server?.close(), grpcServer?.close()]), hurry);
    process.off('exit', killAll);
    hurry.removeEventListener('abort', killAll);
  }
  return {
    name: scenario.name,
    file,
    startTime: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    phases,
    always,
    verdict: scenarioVerdict(phases, always, phases.length < scenario.phases.length && !signal.aborted),
    interrupted: signal.aborted,
    ...(options.shard !== undefined ? { shard: options.shard } : {}),
  };
}

async function runPhase(
  scenario: Scenario,
  phase: Phase,
  index: number,
  baseUrl: string | undefined,
  stepContext: StepContext,
  signal: AbortSignal,
  events: ScenarioEvents,
  shard: Shard | undefined,
): Promise<PhaseResult> {
  const startedAt = new Date().toISOString();
  const steps: StepResult[] = [];
  for (const step of phase.steps) {
    const result = await runStepOnShard(step, stepContext, shard);
    steps.push(result);
    events.stepDone(result);
    if (!result.ok) return { name: phase.name, startedAt, steps, load: undefined, checks: [], verdict: phaseVerdict(steps, []) };
    if (signal.aborted) break;
  }
  let load: LoadResult | undefined;
  if (phase.load !== undefined && !signal.aborted) {
    let whole = planOf(phase.load, baseUrl, `${scenario.name} / ${phase.name}`);
    try {
      whole = await withGrpc(whole, phase.load);
    } catch (error) {
      // A method reflection could not resolve (server down, no such service): this phase has no
      // load and its checks no data, a failed gate; the next phases and the report still happen.
      if (!(error instanceof MeshloadError)) throw error;
      const reason = `the gRPC call could not be prepared: ${error.message}`;
      const checks = phase.expect.map((text, i): CheckResult => ({ expression: text, path: `phases[${index}].expect[${i}]`, expected: text, observed: undefined, observedValue: undefined, verdict: 'no_data', reason }));
      return { name: phase.name, startedAt, steps, load: undefined, checks, verdict: checks.length === 0 ? 'fail' : phaseVerdict(steps, checks) };
    }
    const plan = shard === undefined ? whole : shardPlan(whole, shard.index, shard.count);
    const watch = stepContext.stats === undefined ? undefined : await SidecarWatch.start({ ...stepContext.stats, clusterQuery: stepContext.stats.cluster, intervalMs: scenario.sidecar?.interval ?? 1000 });
    const progress = newProgress();
    events.loadStarted?.(progress);
    try {
      // A failed warm-up's advice names the scenario's key, not load's -allow-initial-errors.
      load = await runPlan(plan, { signal, progress, allowInitialErrorsHint: "set allowInitialErrors: true in this phase's load (or in defaults)" });
    } finally {
      events.loadDone?.();
    }
    if (watch !== undefined) load = { ...load, sidecar: await watch.finish(load) };
  }
  const checks = phase.expect.map((text, i) => checkOf(text, `phases[${index}].expect[${i}]`, load));
  return { name: phase.name, startedAt, steps, load, checks, verdict: phaseVerdict(steps, checks) };
}

function checkOf(text: string, path: string, load: LoadResult | undefined): CheckResult {
  const expectation = parseExpectation(text); // validated when the file was loaded
  if (load === undefined) {
    return { expression: text, path, expected: text, observed: undefined, observedValue: undefined, verdict: 'no_data', reason: 'the phase ran no load' };
  }
  const check = evaluateExpectation(expectation, load, path, text);
  // A fault the server capped (x-meshload-clamped: a delay or size above its -max-echo-delay or
  // -maxpayloadsizekb) is not the fault the phase asked for: its failure is undecided, not a FAIL.
  const clamped = load.clamped ?? 0;
  if (check.verdict !== 'fail' || clamped === 0) return check;
  const why = `the server clamped the fault of ${clamped} response${clamped === 1 ? '' : 's'} (x-meshload-clamped: a delay or size above its cap), so this check cannot decide`;
  return { ...check, verdict: 'inconclusive', reason: check.reason === undefined ? why : `${why}; as measured: ${check.reason}` };
}

/** A gRPC phase's plan, built as `load -grpc` builds it (grpcPlanFromFlags): the same call,
 * message, RunType and -c times -s connections. A method's types come by server reflection. */
async function withGrpc(plan: LoadPlan, load: ResolvedLoad): Promise<LoadPlan> {
  const spec = load.grpc;
  if (spec === undefined) return plan;
  const call = spec.call;
  const flags = {
    grpc: true,
    ping: call === 'ping',
    healthservice: spec.healthService,
    grpcPingDelay: `${spec.pingDelay}ms`,
    streams: String(spec.streams),
    grpcCompression: spec.compression,
    ...(call !== 'ping' && call !== 'health' ? { grpcMethod: call } : {}),
  };
  const { grpc, url } = await grpcPlanFromFlags(plan.url, flags, plan.payload, {
    headers: plan.headers,
    timeoutMs: plan.timeoutMs,
    insecure: plan.insecure,
    ...(plan.unixSocket !== undefined ? { unixSocket: plan.unixSocket } : {}),
  }, false);
  return { ...plan, url, connections: plan.connections * grpc.streams, grpc };
}

function statsOf(scenario: Scenario): StepContext['stats'] {
  const sidecar = scenario.sidecar;
  const source = sidecar === undefined ? undefined : statsSourceOf(sidecar);
  if (sidecar === undefined || source === undefined) return undefined;
  return { source, format: sidecar.format, cluster: sidecar.cluster, timeoutMs: sidecar.timeout, maxBytes: sidecar.maxBytes };
}

/** A phase's resolved load as the engine's plan. */
export function planOf(load: ResolvedLoad, baseUrl: string | undefined, labels: string): LoadPlan {
  const url = load.url ?? joinUrl(baseUrl as string, load.path ?? '');
  const headers = Object.entries(load.headers) as Array<[string, string]>;
  // As `load` (cli/request-flags.ts): a payloadSize above 0 wins, in random bytes so compression
  // cannot shrink it (fnet GeneratePayload); a body without a type is application/octet-stream.
  const payload = load.payloadSize !== undefined && load.payloadSize > 0 ? randomBytes(load.payloadSize) : Buffer.from(load.payload ?? '');
  const contentType = load.contentType ?? (payload.length > 0 ? 'application/octet-stream' : undefined);
  if (contentType !== undefined && !headers.some(([n]) => n.toLowerCase() === 'content-type')) headers.push(['Content-Type', contentType]);
  if (load.user !== undefined) {
    // -user replaces any Authorization header (fhttp ValidateAndAddBasicAuthentication's Set).
    for (let i = headers.length - 1; i >= 0; i--) if (headers[i]?.[0].toLowerCase() === 'authorization') headers.splice(i, 1);
    headers.push(['Authorization', `Basic ${Buffer.from(load.user).toString('base64')}`]);
  }
  return {
    ...(load.resolve !== undefined ? { resolve: load.resolve } : {}),
    ...(load.unixSocket !== undefined ? { unixSocket: load.unixSocket } : {}),
    ...(load.http10 ? { http10: true } : {}),
    ...(load.followRedirects ? { followRedirects: true } : {}),
    url,
    method: load.method,
    headers,
    payload,
    connections: load.connections,
    qps: load.qps,
    durationMs: load.duration,
    requests: load.requests,
    uniform: load.uniform,
    jitter: load.jitter,
    noCatchUp: load.noCatchUp,
    timeoutMs: load.timeout,
    keepAlive: load.keepAlive,
    h2: load.h2,
    h2Multiplex: load.h2Multiplex,
    reuseAfterError: load.keepSocketOnError,
    insecure: load.insecure,
    abortOn: load.abortOn,
    allowInitialErrors: load.allowInitialErrors,
    connectionReuse: load.connectionReuse,
    ramp: load.ramp,
    open: load.open,
    workers: load.workers === 'auto' ? Math.max(1, availableParallelism() - 1) : load.workers,
    percentiles: load.percentiles,
    labels,
    secretHeaders: load.secretHeaders,
  };
}

function joinUrl(base: string, path: string): string {
  if (path === '') return base;
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

/** Steps that change what every generator shares run once, on shard 0: `run:` (kubectl apply,
 * a rollout) and `chaos:` on a named admin URL (a shared server's faults). Steps about the
 * generator's own pod run on every shard: `waitFor:` polls this pod's sidecar (every sidecar must
 * see the DestinationRule, so it is also the barrier after shard 0's `run:`), `start:` starts a
 * process this generator's load goes through (HAProxy, a port-forward), `chaos:` without `admin:`
 * is this shard's embedded server, and `sleep:` keeps the shards' phases in step. */
export function runsOnEveryShard(step: Step): boolean {
  if (step.kind === 'run') return false;
  if (step.kind === 'chaos') return step.admin === undefined;
  return true;
}

/** How a step skipped on shards 1..N-1 is recorded; merge leaves these out of the whole. */
export const SKIPPED_ON_SHARD = 'skipped on this shard, shard 0 runs it: ';

function runStepOnShard(step: Step, ctx: StepContext, shard: Shard | undefined): Promise<StepResult> {
  if (shard === undefined || shard.index === 0 || runsOnEveryShard(step)) return runStep(step, ctx);
  const what = step.kind === 'run' ? step.command : step.kind === 'chaos' ? `chaos on ${step.admin ?? ''}` : step.kind;
  return Promise.resolve({ kind: step.kind, description: `${SKIPPED_ON_SHARD}${what}`, ok: true, startedAt: new Date().toISOString(), durationMs: 0, output: undefined, error: undefined });
}

/** Every phase load that cannot be divided among `count` shards, with its path. */
export function shardProblems(scenario: Scenario, count: number): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  scenario.phases.forEach((phase, index) => {
    const problem = phase.load === undefined ? undefined : shardProblem(phase.load, count);
    if (problem !== undefined) issues.push({ path: `phases[${index}].load`, line: undefined, message: problem });
  });
  return issues;
}

/** Resolves with the promise's value, or with undefined as soon as the signal aborts (the promise
 * goes on unobserved: a rejection after that is swallowed, nobody waits for it any more). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.resolve(undefined);
  }
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return;
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Waits until a wall-clock time, however far (timers chained: see pause). */
function sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
  return pause(Math.max(0, atMs - Date.now()), signal);
}
