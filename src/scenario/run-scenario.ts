/** Runs a validated scenario: the embedded server if asked, then each phase (steps, load with
 * the proxy watched, checks), then the `always:` steps whatever happened. Returns plain data;
 * printing and report files are the caller's. */
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import type { LoadPlan } from '../engine/load-plan';
import type { LoadResult } from '../engine/load-result';
import { newProgress, type LoadProgress } from '../engine/run-load';
import { runPlan } from '../engine/run-plan';
import { startEchoServer, type RunningEchoServer } from '../server/echo-server';
import { SidecarWatch } from '../stats/sidecar-watch';
import { statsSourceOf } from '../stats/stats-source';
import { evaluateExpectation, parseExpectation } from './expectation';
import type { CheckResult, PhaseResult, ScenarioResult, StepResult, Verdict } from './scenario-result';
import type { Phase, ResolvedLoad, Scenario } from './scenario-schema';
import { runStep, stopBackground, type StepContext } from './steps';

export interface ScenarioEvents {
  phaseStarted(index: number, phase: Phase): void;
  stepDone(step: StepResult): void;
  phaseDone(result: PhaseResult): void;
  /** A phase's load starts; `progress` is updated live until `loadDone`. */
  loadStarted?(progress: LoadProgress): void;
  loadDone?(): void;
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

export async function runScenario(scenario: Scenario, file: string, signal: AbortSignal, events: ScenarioEvents): Promise<ScenarioResult> {
  const started = Date.now();
  let server: RunningEchoServer | undefined;
  const stepContext: StepContext = { signal, adminUrl: undefined, stats: statsOf(scenario), background: [], cwd: dirname(file), env: {} };
  const phases: PhaseResult[] = [];
  let always: StepResult[] = [];
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
      stepContext.env = {
        MESHLOAD_SERVER_URL: server.echoUrl,
        MESHLOAD_SERVER_ADDR: server.echoUrl.replace(/^http:\/\//, ''),
        ...(server.adminUrl !== undefined ? { MESHLOAD_ADMIN_URL: server.adminUrl } : {}),
      };
    }
    const baseUrl = server?.echoUrl ?? scenario.target;
    for (const [index, phase] of scenario.phases.entries()) {
      if (signal.aborted) break;
      events.phaseStarted(index, phase);
      const result = await runPhase(scenario, phase, index, baseUrl, stepContext, signal, events);
      phases.push(result);
      events.phaseDone(result);
      // A setup step that failed leaves the next phases without their premise.
      if (result.steps.some((s) => !s.ok)) break;
    }
  } finally {
    // `always:` gets a signal of its own: Ctrl-C stops the run, not its cleanup (a second one exits).
    const cleanup: StepContext = { ...stepContext, signal: new AbortController().signal };
    for (const step of scenario.always) {
      const result = await runStep(step, cleanup);
      events.stepDone(result);
      always = [...always, result];
    }
    await stopBackground(stepContext.background);
    await server?.close();
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
): Promise<PhaseResult> {
  const startedAt = new Date().toISOString();
  const steps: StepResult[] = [];
  for (const step of phase.steps) {
    const result = await runStep(step, stepContext);
    steps.push(result);
    events.stepDone(result);
    if (!result.ok) return { name: phase.name, startedAt, steps, load: undefined, checks: [], verdict: phaseVerdict(steps, []) };
    if (signal.aborted) break;
  }
  let load: LoadResult | undefined;
  if (phase.load !== undefined && !signal.aborted) {
    const plan = planOf(phase.load, baseUrl, `${scenario.name} / ${phase.name}`);
    const watch = stepContext.stats === undefined ? undefined : await SidecarWatch.start({ ...stepContext.stats, clusterQuery: stepContext.stats.cluster, intervalMs: scenario.sidecar?.interval ?? 1000 });
    const progress = newProgress();
    events.loadStarted?.(progress);
    try {
      load = await runPlan(plan, { signal, progress });
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
  return evaluateExpectation(expectation, load, path, text);
}

function statsOf(scenario: Scenario): StepContext['stats'] {
  const sidecar = scenario.sidecar;
  const source = sidecar === undefined ? undefined : statsSourceOf(sidecar);
  if (sidecar === undefined || source === undefined) return undefined;
  return { source, format: sidecar.format, cluster: sidecar.cluster, timeoutMs: sidecar.timeout };
}

/** A phase's resolved load as the engine's plan. */
export function planOf(load: ResolvedLoad, baseUrl: string | undefined, labels: string): LoadPlan {
  const url = load.url ?? joinUrl(baseUrl as string, load.path ?? '');
  const headers = Object.entries(load.headers) as Array<[string, string]>;
  if (load.contentType !== undefined && !headers.some(([n]) => n.toLowerCase() === 'content-type')) headers.push(['Content-Type', load.contentType]);
  const payload = load.payload !== undefined ? Buffer.from(load.payload) : load.payloadSize !== undefined ? Buffer.alloc(load.payloadSize, 'x') : Buffer.alloc(0);
  return {
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
    insecure: load.insecure,
    abortOn: load.abortOn,
    allowInitialErrors: load.allowInitialErrors,
    connectionReuse: load.connectionReuse,
    ramp: load.ramp,
    open: load.open,
    workers: load.workers === 'auto' ? Math.max(1, availableParallelism() - 1) : load.workers,
    percentiles: load.percentiles,
    labels,
    secretHeaders: [],
  };
}

function joinUrl(base: string, path: string): string {
  if (path === '') return base;
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}
