/** The steps a scenario runs before a phase's load and in `always:`: shell commands, pauses,
 * waits on proxy stats, chaos on a meshload server, background processes. Each returns a
 * StepResult; none throws. */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { matchCluster } from '../stats/cluster-stats';
import { clustersSourceOf, parseClustersPage, type BreakerThresholds } from '../stats/clusters-page';
import { takeSnapshot } from '../stats/snapshot';
import { readText, type StatsSource } from '../stats/stats-source';
import { statKey } from '../stats/stat-sample';
import type { StatsFormat } from '../model/sidecar-report';
import type { Step } from './scenario-schema';
import type { StepResult } from './scenario-result';
import { redactUrlsIn } from '../util/redact';

/** Output kept per step: enough to see why it failed, bounded however chatty the command. */
const OUTPUT_LIMIT = 16 * 1024;

/** The error of a step stopped by Ctrl-C or SIGTERM; such a step is marked `interrupted`. */
export const INTERRUPTED = 'interrupted';

export interface StepContext {
  signal: AbortSignal;
  /** The embedded server's admin URL, for `chaos:` without `admin:`. */
  adminUrl: string | undefined;
  /** The scenario's sidecar stats, for `waitFor:`. */
  stats: { source: StatsSource; format: StatsFormat | undefined; cluster: string | undefined; timeoutMs: number; maxBytes?: number | undefined } | undefined;
  /** Background processes started by `start:`, stopped when the scenario ends. */
  background: ChildProcess[];
  /** `run:` commands still running: killed with the rest when the process must exit now. */
  running?: Set<ChildProcess>;
  /** Commands run here (the scenario's directory, so relative config paths work), with this
   * environment: the run's variables (`${VAR}` in a command is expanded by the shell from it,
   * as data) and the embedded server's URLs. */
  cwd: string;
  env: Record<string, string | undefined>;
}

export async function runStep(step: Step, ctx: StepContext): Promise<StepResult> {
  const started = Date.now();
  const done = (description: string, error?: string, output?: string): StepResult => ({
    kind: step.kind,
    // A chaos admin URL or a start: ready URL may carry credentials: results never do.
    description: redactUrlsIn(description),
    ok: error === undefined,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    output,
    error: error === undefined ? undefined : redactUrlsIn(error),
    ...(error === INTERRUPTED ? { interrupted: true } : {}),
  });
  switch (step.kind) {
    case 'run': {
      const { code, output, timedOut, interrupted } = await runCommand(step.command, step.timeout, ctx);
      // Killed because the run was stopped: not the command's failure.
      if (interrupted) return done(step.command, INTERRUPTED, output);
      if (timedOut) return done(step.command, `timed out after ${step.timeout} ms`, output);
      return done(step.command, code === 0 ? undefined : `exited with ${code}: ${lastLine(output)}`, output);
    }
    case 'sleep':
      await pause(step.duration, ctx.signal);
      return done(`${step.duration} ms`, ctx.signal.aborted ? INTERRUPTED : undefined);
    case 'chaos': {
      const admin = step.admin ?? ctx.adminUrl;
      const what = step.set !== undefined ? `set ${step.set}` : 'clear';
      if (admin === undefined) return done(what, 'no admin URL: give chaos.admin, or start the embedded server with admin: true');
      const url = step.set !== undefined ? `${admin}/chaos?${step.set}` : `${admin}/chaos`;
      try {
        const response = await request(url, { method: step.set !== undefined ? 'PUT' : 'DELETE', headersTimeout: 10_000, bodyTimeout: 10_000 });
        const body = await response.body.text();
        return done(`${what} on ${admin}`, response.statusCode === 200 ? undefined : `admin answered ${response.statusCode}: ${body.trim()}`);
      } catch (error) {
        return done(`${what} on ${admin}`, `admin unreachable: ${(error as Error).message}`);
      }
    }
    case 'start':
      return startBackground(step.command, step.ready, step.timeout, ctx, done);
    case 'waitFor': {
      if ('clusters' in step && step.clusters !== undefined) return waitForThresholds(step.clusters, step.cluster, step.timeout, step.interval, ctx, done);
      return waitForStat(step as Parameters<typeof waitForStat>[0], ctx, done);
    }
  }
}

async function waitForStat(
  step: Extract<Step, { kind: 'waitFor' }> & { stat: string; op: string; value: number },
  ctx: StepContext,
  done: (description: string, error?: string) => StepResult,
): Promise<StepResult> {
  const description = `${step.stat} ${step.op} ${step.value}`;
  if (ctx.stats === undefined) return done(description, 'waitFor needs sidecar: in the scenario');
  const deadline = Date.now() + step.timeout;
  const key = statKey(step.stat);
  let last = 'no sample yet';
  while (Date.now() < deadline && !ctx.signal.aborted) {
    try {
      const snapshot = await takeSnapshot(ctx.stats.source, { format: ctx.stats.format, timeoutMs: ctx.stats.timeoutMs, maxBytes: ctx.stats.maxBytes }, step.cluster ?? ctx.stats.cluster);
      let total: number | undefined;
      for (const stats of snapshot.clusters.values()) for (const s of stats.values()) if (s.key === key) total = (total ?? 0) + s.value;
      last = total === undefined ? `${step.stat} not in the stats` : `${step.stat} = ${total}`;
      if (total !== undefined && compare(total, step.op, step.value)) return done(description);
    } catch (error) {
      last = (error as Error).message;
    }
    await pause(step.interval, ctx.signal);
  }
  return done(description, ctx.signal.aborted ? INTERRUPTED : `not met within ${step.timeout} ms (last: ${last})`);
}

async function waitForThresholds(
  wanted: { [K in keyof BreakerThresholds]?: number | undefined },
  clusterQuery: string | undefined,
  timeoutMs: number,
  intervalMs: number,
  ctx: StepContext,
  done: (description: string, error?: string) => StepResult,
): Promise<StepResult> {
  const asked = Object.entries(wanted).filter(([, v]) => v !== undefined);
  const description = `/clusters shows ${asked.map(([k, v]) => `${k}=${String(v)}`).join(' ')}`;
  const query = clusterQuery ?? ctx.stats?.cluster;
  if (ctx.stats === undefined || query === undefined) return done(description, 'waitFor clusters needs sidecar: with a cluster');
  const source = clustersSourceOf(ctx.stats.source);
  if (source === undefined) return done(description, "cannot tell where the proxy's /clusters page is from the sidecar's stats source: use the admin /stats URL or a 'pilot-agent request GET stats' command");
  const deadline = Date.now() + timeoutMs;
  let last = 'not read yet';
  while (Date.now() < deadline && !ctx.signal.aborted) {
    try {
      const matched = [...parseClustersPage(await readText(source, ctx.stats.timeoutMs, ctx.stats.maxBytes))].filter(([name]) => matchCluster(query, name));
      if (matched.length === 0) last = `no cluster matches '${query}'`;
      else {
        const off = matched.filter(([, t]) => asked.some(([k, v]) => t[k as keyof BreakerThresholds] !== v));
        if (off.length === 0) return done(description);
        last = off.map(([name, t]) => `${name}: ${JSON.stringify(t)}`).join('; ');
      }
    } catch (error) {
      last = (error as Error).message;
    }
    await pause(intervalMs, ctx.signal);
  }
  return done(description, ctx.signal.aborted ? INTERRUPTED : `not reached within ${timeoutMs} ms (last: ${last})`);
}

function compare(observed: number, op: string, value: number): boolean {
  switch (op) {
    case '!=':
      return observed !== value;
    case '<':
      return observed < value;
    case '<=':
      return observed <= value;
    case '==':
      return observed === value;
    case '>=':
      return observed >= value;
    default:
      return observed > value;
  }
}

async function startBackground(
  command: string,
  ready: string | undefined,
  timeoutMs: number,
  ctx: StepContext,
  done: (description: string, error?: string, output?: string) => StepResult,
): Promise<StepResult> {
  // detached: its own process group, so stopping it also stops what it started.
  const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd: ctx.cwd, env: ctx.env });
  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < OUTPUT_LIMIT) output += chunk.toString();
  };
  // A spawn failure (no sh, a cwd gone) is an 'error' event: without a listener it would crash.
  child.on('error', (error) => collect(Buffer.from(error.message)));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  ctx.background.push(child);
  if (ready === undefined) return done(command);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !ctx.signal.aborted) {
    if (child.exitCode !== null) return done(command, `exited with ${child.exitCode} before ${ready} answered: ${lastLine(output)}`, output);
    try {
      const response = await request(ready, { headersTimeout: 1000, bodyTimeout: 1000 });
      await response.body.dump();
      if (response.statusCode < 500) return done(`${command} (ready: ${ready})`, undefined, output);
    } catch {
      // not listening yet
    }
    await pause(100, ctx.signal);
  }
  return done(command, ctx.signal.aborted ? INTERRUPTED : `${ready} did not answer within ${timeoutMs} ms`, output);
}

/** Stops what `start:` started: SIGTERM to each process group, SIGKILL if it lingers or at
 * once when `hurry` is aborted (a second Ctrl-C). */
export async function stopBackground(processes: ChildProcess[], hurry?: AbortSignal): Promise<void> {
  await Promise.all(
    processes.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
          const killNow = (): void => signalGroup(child, 'SIGKILL');
          const kill = setTimeout(killNow, 3000);
          hurry?.addEventListener('abort', killNow, { once: true });
          child.once('exit', () => {
            clearTimeout(kill);
            hurry?.removeEventListener('abort', killNow);
            resolve();
          });
          if (hurry?.aborted === true) killNow();
          else signalGroup(child, 'SIGTERM');
        }),
    ),
  );
}

/** Kills every process group a step started, at once and synchronously: for the process 'exit'
 * event, where a third signal's process.exit left no time for anything asynchronous. */
export function killBackgroundNow(processes: Iterable<ChildProcess>): void {
  for (const child of processes) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) signalGroup(child, 'SIGKILL');
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid as number), signal);
  } catch {
    child.kill(signal);
  }
}

/** Runs `sh -c command` in a process group of its own, so a kill reaches what it started in
 * the background too (`sleep 300 &`): on timeout and when the signal aborts. */
function runCommand(command: string, timeoutMs: number, ctx: StepContext): Promise<{ code: number | null; output: string; timedOut: boolean; interrupted: boolean }> {
  const signal = ctx.signal;
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd: ctx.cwd, env: ctx.env });
    ctx.running?.add(child);
    let output = '';
    let timedOut = false;
    let interrupted = false;
    const collect = (chunk: Buffer): void => {
      if (output.length < OUTPUT_LIMIT) output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const kill = (): void => signalGroup(child, 'SIGKILL');
    const onAbort = (): void => {
      interrupted = true;
      kill();
    };
    const timer = longTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    child.on('error', (error) => {
      output += error.message;
    });
    // 'close': until then something in the group holds the pipes, so the group id is still its.
    child.on('close', (code) => {
      timer.clear();
      signal.removeEventListener('abort', onAbort);
      ctx.running?.delete(child);
      resolve({ code, output: output.slice(0, OUTPUT_LIMIT), timedOut, interrupted });
    });
  });
}

/** The longest delay a Node timer holds; a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** setTimeout for any delay: timers chained in steps a Node timer can hold. */
function longTimeout(fire: () => void, ms: number): { clear(): void } {
  let timer: NodeJS.Timeout;
  const arm = (left: number): void => {
    timer = setTimeout(() => (left > MAX_TIMER_MS ? arm(left - MAX_TIMER_MS) : fire()), Math.min(left, MAX_TIMER_MS));
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}

/** Waits `ms` or until the signal aborts. Its abort listener is removed either way: a polling
 * loop calls this once per poll and must not pile listeners up on the run's signal. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      timer.clear();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = longTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function lastLine(output: string): string {
  return output.trim().split('\n').pop() ?? '';
}
