/** `meshload load`'s implementation, loaded when a run starts (see load.ts). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import type { LoadPlan } from '../../engine/load-plan';
import type { LoadResult } from '../../engine/load-result';
import { newProgress } from '../../engine/run-load';
import { runPlan } from '../../engine/run-plan';
import { planSchedule } from '../../engine/schedule';
import { grpcPlanFromFlags, isGrpcLoad, renderGrpcRetCodes, toFortioGrpcJson } from '../../grpc/grpc-load';
import { fortioFileName, toFortioJson } from '../../report/fortio-json';
import { renderLoadText, renderStartLines } from '../../report/fortio-text';
import { renderPercentileTable } from '../../report/percentile-table';
import { screenFor } from '../../report/screen';
import { renderSidecarText } from '../../report/sidecar-text';
import { SidecarWatch } from '../../stats/sidecar-watch';
import { MeshloadError, usageError } from '../../util/errors';
import { LOG_LEVELS, logsAt, parseLogLevel } from '../../util/log-level';
import { meshloadVersion } from '../../util/version';
import type { CommandContext } from '../command-context';
import { EXIT, type ExitCode } from '../exit-codes';
import { startProgress } from '../progress-line';
import { parseRunDuration, sayNoEffect } from '../fortio-flags';
import { requestFromFlags } from '../request-flags';
import { statsFromFlags } from '../stats-flags';
import type { LoadFlags } from './load';

/** The longest -t, -timeout or pause between paced calls: 100000 h (11 years). Longer values
 * are typos; Infinity ("1e400h") would make no schedule at all. */
const MAX_WAIT_MS = 100_000 * 3_600_000;

export async function loadAction(urlText: string, flags: LoadFlags, ctx: CommandContext): Promise<ExitCode> {
  // Fortio's `load -curl URL` is its `curl URL`: one request, headers and body.
  if (flags.curl === true) {
    const { curlCommand, DEFAULT_MAX_BODY } = await import('./curl-action');
    return curlCommand(urlText, { ...flags, maxBody: DEFAULT_MAX_BODY }, 'load', ctx.io);
  }
  let plan = loadPlanFromFlags(urlText, flags);
  if (isGrpcLoad(flags)) {
    // -c connections of -s streams each: Fortio's grpcrunner runs c*s threads.
    const { grpc, url } = await grpcPlanFromFlags(urlText, flags, plan.payload, plan, flags.cacert !== undefined);
    plan = { ...plan, url, connections: plan.connections * grpc.streams, grpc };
  }
  refuseProxyUid(ctx.io.uid, flags.allowUid1337 === true);
  return runLoadCommand(plan, flags, ctx);
}

/** Flags -> a validated LoadPlan; every bad value is a usage error naming its fix. */
function loadPlanFromFlags(urlText: string, flags: LoadFlags): LoadPlan {
  const request = requestFromFlags(urlText, flags, 'load');
  if (request.timeoutMs > MAX_WAIT_MS) throw usageError(`-timeout '${flags.timeout}' is over 100000h, the longest meshload schedules`, 'use a shorter -timeout, or 0 for none');
  const connections = wholeNumber('-c', flags.connections, 1);
  const qps = Number(flags.qps);
  if (flags.qps.trim() === '' || !Number.isFinite(qps)) throw usageError(`-qps '${flags.qps}' is not a number`, 'use a rate like 100, or 0 for max speed');
  const durationMs = parseRunDuration(flags.duration);
  if (durationMs === undefined || durationMs < 0) throw usageError(`-t '${flags.duration}' is not a duration`, 'use a duration like 10s, 1m or 1d, or 0 to run until interrupted');
  // Long waits are chained timers (util/long-timer), so any finite length runs as asked; only
  // lengths no clock can count to are refused.
  if (durationMs > MAX_WAIT_MS) throw usageError(`-t '${flags.duration}' is over 100000h, the longest meshload schedules`, 'use a shorter -t, or 0 to run until interrupted');
  if (qps > 0 && 1000 / qps > MAX_WAIT_MS) throw usageError(`-qps '${flags.qps}' is too small: one call every ${1 / qps}s is over 100000h, the longest pause meshload schedules`, 'use a rate of at least 3e-9, or 0 for max speed');
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
  if (flags.h2Multiplex === true && flags.h2 !== true) throw usageError('-h2-multiplex only applies to HTTP/2', 'add -h2, or drop -h2-multiplex');
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
    reuseAfterError: flags.keepSocketOnError === true,
    h2Multiplex: flags.h2Multiplex === true,
    insecure: request.insecure,
    ...(request.tls !== undefined ? { tls: request.tls } : {}),
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

async function runLoadCommand(plan: LoadPlan, flags: LoadFlags, ctx: CommandContext): Promise<ExitCode> {
  const { io } = ctx;
  const stats = statsFromFlags(flags); // validated before anything starts
  const level = parseLogLevel(flags.loglevel) ?? 'Info';
  const talk = flags.quiet !== true && logsAt(level, 'Warning');
  sayNoEffect(flags.fortioUnused, 'load', flags.quiet === true || !logsAt(level, 'Info'), (line) => io.stderr.write(line));
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
    result = await runPlan(plan, { signal: io.signal, progress });
  } finally {
    ticker?.stop();
  }
  if (watch !== undefined) result = { ...result, sidecar: await watch.finish(result) };
  // Fortio's text stays byte for byte Fortio's (scripts parse it); only meshload's table is coloured.
  io.stderr.write(renderLoadText(result));
  if (plan.grpc !== undefined) io.stderr.write(renderGrpcRetCodes(result, plan.grpc, plan.jitter));
  const screen = screenFor(io.stderr, io.env, flags.verbose === true);
  if (io.stderr.isTTY === true && result.latency.count > 0) io.stderr.write(renderPercentileTable(result, screen));
  if (result.sidecar !== undefined) io.stderr.write(renderSidecarText(result.sidecar, screen));
  writeJsonOutputs(result, flags, ctx);
  if (result.stopReason === 'interrupted') return EXIT.INTERRUPTED;
  if (result.stopReason === 'warmup-failed') return EXIT.FAILED;
  return EXIT.OK;
}

/** -json and -a. A run that stopped early still writes what it measured. */
function writeJsonOutputs(result: LoadResult, flags: LoadFlags, ctx: CommandContext): void {
  if (flags.json === undefined && flags.save !== true) return;
  const grpc = result.plan.grpc;
  const fortio = toFortioJson(result);
  const json = JSON.stringify(grpc === undefined ? fortio : toFortioGrpcJson(fortio, result, grpc, result.plan.headers), null, 2) + '\n';
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

