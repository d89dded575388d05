import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { LOAD_DEFAULTS, type LoadPlan } from '../../engine/load-plan';
import type { LoadResult } from '../../engine/load-result';
import { runInWorkers } from '../../engine/run-in-workers';
import { newProgress, runLoad } from '../../engine/run-load';
import { planSchedule } from '../../engine/schedule';
import { fortioFileName, toFortioJson } from '../../report/fortio-json';
import { renderLoadText, renderStartLines } from '../../report/fortio-text';
import { renderPercentileTable } from '../../report/percentile-table';
import { transportForPlan } from '../../transport/transport-for-plan';
import { parseDuration } from '../../util/duration';
import { MeshloadError, usageError } from '../../util/errors';
import { LOG_LEVELS, logsAt, parseLogLevel } from '../../util/log-level';
import { meshloadVersion } from '../../util/version';
import type { CommandContext } from '../command-context';
import { EXIT, type ExitCode } from '../exit-codes';
import { startProgress } from '../progress-line';
import { addRequestFlags, requestFromFlags, type RequestFlags } from '../request-flags';
import { addStatsFlags, statsFromFlags, type StatsFlags } from '../stats-flags';
import { SidecarWatch } from '../../stats/sidecar-watch';
import { renderSidecarText } from '../../report/sidecar-text';

export interface LoadFlags extends RequestFlags, StatsFlags {
  connections: string;
  qps: string;
  duration: string;
  requests?: string;
  uniform?: boolean;
  jitter?: boolean;
  nocatchup?: boolean;
  percentiles: string;
  keepalive: boolean;
  h2?: boolean;
  abortOn?: string;
  allowInitialErrors?: boolean;
  connectionReuse?: string;
  json?: string;
  save?: boolean;
  dataDir: string;
  labels: string;
  quiet?: boolean;
  loglevel: string;
  open?: boolean;
  maxInflight?: string;
  workers: string;
  secretHeader: string[];
  allowUid1337?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerLoad(program: Command, ctx: CommandContext): void {
  const command = program
    .command('load')
    .description('generate load, Fortio-style: paste a fortio load command line')
    .argument('<url>', 'target URL, http:// or https://')
    .option('-c, --connections <n>', 'connections, each with one request in flight', String(LOAD_DEFAULTS.connections))
    .option('--qps <n>', 'total queries per second; 0 for as fast as possible', String(LOAD_DEFAULTS.qps))
    .option('-t, --duration <duration>', 'how long to run; 0 until interrupted', '5s')
    .option('-n, --requests <n>', 'exact number of calls (overrides -t), split across connections')
    .option('--uniform', 'stagger connection start times evenly over one period')
    .option('--jitter', 'add +/-10% noise to each pause')
    .option('--nocatchup', 'skip slots already late instead of sending them in a burst')
    .option('-p, --percentiles <list>', 'percentiles to report', LOAD_DEFAULTS.percentiles.join(','));
  addRequestFlags(command)
    .option('--no-keepalive', 'new connection for every request (Go style: -keepalive=false)')
    .option('--h2', 'HTTP/2 (h2c prior knowledge for http://, ALPN for https://); -c streams share one connection per 100')
    .option('--abort-on <code>', 'stop at the first response with this status; -1 for the first socket error')
    .option('--allow-initial-errors', 'run even when a warm-up request fails')
    .option('--connection-reuse <min:max>', 'reconnect after a random number of requests in [min, max]')
    .option('--json <path>', 'write the result as Fortio-shaped JSON; - for stdout')
    .option('-a, --save', 'save the JSON result in -data-dir under Fortio\'s file naming')
    .option('--data-dir <dir>', 'directory for -a', '.')
    .option('--labels <text>', 'free text describing the run', '')
    .option('--quiet', 'no start lines and no progress')
    .option('--loglevel <level>', LOG_LEVELS.join('|'), 'Info')
    .option('--open', 'open model: arrivals at -qps whatever the responses')
    .option('--max-inflight <n>', 'open model: most requests in flight at once (default: -c)')
    .option('--workers <n|auto>', 'worker threads; results are merged exactly', '1')
    .option('--secret-header <name>', 'also write this header\'s value as <redacted> (repeatable)', collect, [])
    .option('--allow-uid-1337', "run even as UID 1337, Istio's proxy user, whose traffic the sidecar does not intercept");
  addStatsFlags(command, true).action(async (urlText: string, flags: LoadFlags) => {
      const plan = loadPlanFromFlags(urlText, flags);
      refuseProxyUid(ctx.io.uid, flags.allowUid1337 === true);
      ctx.exitCode = await runLoadCommand(plan, flags, ctx);
    });
}

/** Flags -> a validated LoadPlan; every bad value is a usage error naming its fix. */
export function loadPlanFromFlags(urlText: string, flags: LoadFlags): LoadPlan {
  const request = requestFromFlags(urlText, flags, 'load');
  const connections = wholeNumber('-c', flags.connections, 1);
  const qps = Number(flags.qps);
  if (flags.qps.trim() === '' || !Number.isFinite(qps)) throw usageError(`-qps '${flags.qps}' is not a number`, 'use a rate like 100, or 0 for max speed');
  const durationMs = parseDuration(flags.duration);
  if (durationMs === undefined || durationMs < 0) throw usageError(`-t '${flags.duration}' is not a duration`, 'use a Go duration like 10s or 1m, or 0 to run until interrupted');
  const requests = flags.requests === undefined ? undefined : wholeNumber('-n', flags.requests, 1);
  const percentiles = flags.percentiles.split(',').map((p) => Number(p.trim()));
  if (percentiles.some((p) => !Number.isFinite(p) || p < 0 || p > 100)) {
    throw usageError(`-p '${flags.percentiles}' is not a list of percentiles`, 'use numbers from 0 to 100, like 50,90,99.9');
  }
  let abortOn: number | undefined;
  if (flags.abortOn !== undefined) {
    abortOn = Number(flags.abortOn);
    if (!/^-?\d+$/.test(flags.abortOn) || (abortOn !== -1 && (abortOn < 100 || abortOn > 599))) {
      throw usageError(`-abort-on '${flags.abortOn}' is not a status code`, 'use a code like 503, or -1 for socket errors');
    }
  }
  let connectionReuse: LoadPlan['connectionReuse'];
  if (flags.connectionReuse !== undefined) {
    const match = /^(\d+)(?::(\d+))?$/.exec(flags.connectionReuse);
    const min = Number(match?.[1]);
    const max = match?.[2] === undefined ? min : Number(match[2]);
    if (match === null || min < 1 || max < min) {
      throw usageError(`-connection-reuse '${flags.connectionReuse}' is not a range`, 'use MIN:MAX with 1 <= MIN <= MAX, like 10:50');
    }
    connectionReuse = { min, max };
  }
  const open = flags.open === true ? { maxInflight: flags.maxInflight === undefined ? connections : wholeNumber('-max-inflight', flags.maxInflight, 1) } : undefined;
  if (open !== undefined && qps <= 0) throw usageError('-open needs a rate: arrivals come at -qps', 'add -qps N with N > 0');
  if (flags.maxInflight !== undefined && open === undefined) throw usageError('-max-inflight only applies to the open model', 'add -open, or drop -max-inflight');
  const workers = flags.workers === 'auto' ? Math.max(1, availableParallelism() - 1) : wholeNumber('-workers', flags.workers, 1);
  if (parseLogLevel(flags.loglevel) === undefined) throw usageError(`-loglevel '${flags.loglevel}' is not a log level`, `use one of ${LOG_LEVELS.join(', ')}`);
  return {
    url: request.url.href,
    method: request.method,
    headers: request.headers,
    payload: request.payload,
    connections,
    qps: Math.max(0, qps),
    durationMs,
    requests,
    uniform: flags.uniform === true,
    jitter: flags.jitter === true,
    noCatchUp: flags.nocatchup === true,
    timeoutMs: request.timeoutMs,
    keepAlive: flags.keepalive,
    h2: flags.h2 === true,
    insecure: request.insecure,
    abortOn,
    allowInitialErrors: flags.allowInitialErrors === true,
    connectionReuse,
    ramp: undefined,
    open,
    workers,
    percentiles,
    labels: flags.labels !== '' ? flags.labels : defaultLabels(urlText),
    secretHeaders: flags.secretHeader.map((h) => h.toLowerCase()),
  };
}

/** MESH-FACTS: iptables skips traffic from UID 1337 (the sidecar's own user), so a generator
 * running as 1337 bypasses the mesh silently and every resilience check would be meaningless. */
function refuseProxyUid(uid: number | undefined, allowed: boolean): void {
  if (uid !== 1337 || allowed) return;
  throw usageError(
    "meshload is running as UID 1337, Istio's proxy user: the sidecar does not intercept its traffic, so the load would bypass the mesh",
    'run as another user (the meshload image uses 10001), or pass --allow-uid-1337 to load the target without the sidecar on purpose',
  );
}

/** Fortio's labels when -labels is empty: the URL without its scheme, " , ", the short host
 * name. They name the -a file and the JSON's Labels. */
function defaultLabels(urlText: string): string {
  return `${urlText.replace(/^https?:\/\//, '')} , ${hostname().split('.')[0] ?? ''}`;
}

function wholeNumber(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw usageError(`${flag} '${text}' is not a whole number of at least ${min}`, `give ${flag} a number like ${Math.max(min, 4)}`);
  return Number(text);
}

export async function runLoadCommand(plan: LoadPlan, flags: LoadFlags, ctx: CommandContext): Promise<ExitCode> {
  const { io } = ctx;
  const stats = statsFromFlags(flags); // validated before anything starts
  const level = parseLogLevel(flags.loglevel) ?? 'Info';
  const talk = flags.quiet !== true && logsAt(level, 'Warning');
  const schedule = planSchedule(plan);
  if (talk) {
    for (const note of schedule.notes) io.stderr.write(`meshload: ${note}\n`);
    io.stderr.write(renderStartLines({ ...plan, connections: schedule.connections.length }, { version: meshloadVersion(), procs: plan.workers }));
  }
  const watch = stats === undefined ? undefined : await SidecarWatch.start(stats);
  if (watch?.startFailure !== undefined) io.stderr.write(`meshload: proxy stats unavailable, running without them: ${watch.startFailure}\n`);
  const progress = newProgress();
  const ticker = talk && io.stderr.isTTY === true ? startProgress(progress, io.stderr) : undefined;
  let result: LoadResult;
  try {
    if (plan.workers > 1) {
      result = await runInWorkers(plan, { signal: io.signal, progress });
    } else {
      const transport = transportForPlan(plan);
      result = await runLoad(plan, transport, { signal: io.signal, progress });
    }
  } finally {
    ticker?.stop();
  }
  if (watch !== undefined) result = { ...result, sidecar: await watch.finish(result) };
  io.stderr.write(renderLoadText(result));
  if (io.stderr.isTTY === true && result.latency.count > 0) io.stderr.write(renderPercentileTable(result));
  if (result.sidecar !== undefined) io.stderr.write(renderSidecarText(result.sidecar));
  writeJsonOutputs(result, flags, ctx);
  if (result.stopReason === 'interrupted') return EXIT.INTERRUPTED;
  if (result.stopReason === 'warmup-failed') return EXIT.FAILED;
  return EXIT.OK;
}

/** -json and -a. A run that stopped early still writes what it measured. */
function writeJsonOutputs(result: LoadResult, flags: LoadFlags, ctx: CommandContext): void {
  if (flags.json === undefined && flags.save !== true) return;
  const json = JSON.stringify(toFortioJson(result), null, 2) + '\n';
  const targets: string[] = [];
  if (flags.json !== undefined) targets.push(flags.json);
  if (flags.save === true) targets.push(join(flags.dataDir, fortioFileName(new Date(result.startTime), result.plan.labels)));
  for (const target of targets) {
    if (target === '-') {
      ctx.io.stdout.write(json);
      continue;
    }
    try {
      if (flags.save === true && target.startsWith(flags.dataDir)) mkdirSync(flags.dataDir, { recursive: true });
      writeFileSync(target, json);
    } catch (error) {
      throw new MeshloadError('E_OUTPUT', `cannot write the result to ${target}: ${(error as Error).message}`, 'check the path and permissions');
    }
    ctx.io.stderr.write(`Successfully wrote ${Buffer.byteLength(json)} bytes of Json data to ${target}\n`);
  }
}

