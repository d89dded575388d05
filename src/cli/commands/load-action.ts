/** `meshload load`'s implementation, loaded when a run starts (see load.ts). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { AccessLog, MAX_BUFFERED_BYTES, parseAccessLogFormat, type AccessLogFormat } from '../../engine/access-log';
import { hasFortioScheme, LOAD_LIMITS, shownUrl, type LoadPlan } from '../../model/load-plan';
import type { LoadResult } from '../../model/load-result';
import { newProgress, type CallObserver } from '../../engine/run-options';
import { runPlan } from '../../engine/run-plan';
import { planSchedule, type RunSchedule } from '../../engine/schedule';
import { grpcFlagsWithoutGrpc, grpcPlanFromFlags, isGrpcLoad, toFortioGrpcJson, type GrpcFlags } from '../../grpc/grpc-load';
import { fortioFileName, toFortioJson } from '../../report/fortio/json';
import { renderLoadText, renderStartLines } from '../../report/fortio/text';
import { goDuration, goSprintf } from '../../report/fortio/go-format';
import { renderPercentileTable } from '../../report/percentile-table';
import { screenFor } from '../../report/screen';
import { renderSidecarText } from '../../report/sidecar-text';
import { SidecarWatch } from '../../stats/sidecar-watch';
import { FORTIO_SCALES } from '../../metrics/fortio-histogram';
import { parseDuration } from '../../util/duration';
import { MeshloadError, usageError } from '../../util/errors';
import { LOG_LEVELS, logsAt, parseLogLevel, type LogLevel } from '../../util/log-level';
import { meshloadVersion } from '../../util/version';
import type { CommandContext } from '../command-context';
import { EXIT, type ExitCode } from '../exit-codes';
import { startProgress } from '../progress-line';
import { grpcOnlyLine, parseRunDuration, sayNoEffect } from '../fortio-flags';
import { callLogger, FortioLog, logForm, type LogAttr, type LoggerFlags } from '../fortio-log';
import { requestFromFlags, type RequestFlags } from '../request-flags';
import { statsFromFlags, type StatsFlags } from '../stats-flags';

/** What commander hands `load`: owned here, so load.ts (the wiring) imports the action and never
 * the reverse. */
export interface LoadFlags extends RequestFlags, StatsFlags, GrpcFlags, LoggerFlags {
  connections: string;
  qps: string;
  duration: string;
  requests?: string;
  uniform?: boolean;
  jitter?: boolean;
  nocatchup?: boolean;
  percentiles: string;
  resolution: string;
  offset: string;
  keepalive: boolean;
  h2?: boolean;
  keepSocketOnError?: boolean;
  h2Multiplex?: boolean;
  abortOn?: string;
  allowInitialErrors?: boolean;
  sequentialWarmup?: boolean;
  logErrors: boolean;
  accessLogFile?: string;
  accessLogFormat: string;
  runid: string;
  calcQps?: boolean;
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
  verbose?: boolean;
  curl?: boolean;
  fortioUnused: string[];
}

const ACCESS_LOG_BUFFER_MB = MAX_BUFFERED_BYTES / (1024 * 1024);

/** The longest -t, -timeout or pause between paced calls: 100000 h (11 years). Longer values
 * are typos; Infinity ("1e400h") would make no schedule at all. */
const MAX_WAIT_MS = 100_000 * 3_600_000;

export async function loadAction(urlText: string, flags: LoadFlags, ctx: CommandContext): Promise<ExitCode> {
  // Fortio's `load -curl URL` is its `curl URL`: one request, headers and body.
  if (flags.curl === true) {
    const { curlCommand, DEFAULT_MAX_BODY } = await import('./curl-action');
    return curlCommand(urlText, { ...flags, maxBody: DEFAULT_MAX_BODY }, 'load', ctx.io);
  }
  const notes: string[] = [];
  let plan = loadPlanFromFlags(urlText, flags, notes);
  if (isGrpcLoad(flags)) {
    // -c connections of -s streams each: Fortio's grpcrunner runs c*s threads.
    const { grpc, url } = await grpcPlanFromFlags(urlText, flags, plan.payload, plan, flags.cacert !== undefined);
    if (grpc.streams > LOAD_LIMITS.streams || plan.connections * grpc.streams > LOAD_LIMITS.connections) {
      throw usageError(`-c ${plan.connections} -s ${grpc.streams} is more gRPC calls in flight than one generator holds (at most ${LOAD_LIMITS.connections}, and -s at most ${LOAD_LIMITS.streams})`, 'use fewer, or fan the load out with meshload k8s job --parallelism N');
    }
    plan = { ...plan, url, connections: plan.connections * grpc.streams, grpc };
    // Fortio's gRPC Dial honours -unix-socket, with this warning (fgrpc/grpcrunner.go:57-58);
    // -resolve, -http1.0 and -L are HTTP client flags it never reads: say so rather than ignore
    // them in silence.
    if (plan.unixSocket !== undefined) notes.push(`Using domain socket ${plan.unixSocket} instead of ${new URL(url).host} for grpc connection`);
    const ignored = [plan.resolve !== undefined ? '-resolve' : '', plan.http10 === true ? '-http1.0' : '', plan.followRedirects === true ? '-L' : ''].filter((f) => f !== '');
    if (plan.followRedirects === true) notes.splice(0, notes.length, ...notes.filter((note) => !note.startsWith('-L:')));
    for (const flag of ignored) notes.push(`${flag} has no effect with -grpc: the gRPC client dials the destination (or -unix-socket) itself, HTTP/2`);
    const { resolve: _resolve, ...rest } = plan;
    plan = { ...rest, http10: false, followRedirects: false };
  }
  refuseProxyUid(ctx.io.uid, flags.allowUid1337 === true);
  // Fortio logs these as warnings: silent under -quiet or -loglevel Error.
  if (flags.quiet !== true && logsAt(parseLogLevel(flags.loglevel) ?? 'Info', 'Warning')) for (const note of notes) ctx.io.stderr.write(`meshload: ${note}\n`);
  return runLoadCommand(plan, flags, ctx);
}

/** Flags -> a validated LoadPlan; every bad value is a usage error naming its fix. */
function loadPlanFromFlags(urlText: string, flags: LoadFlags, notes: string[]): LoadPlan {
  const request = requestFromFlags(urlText, flags, 'load');
  notes.push(...request.notes);
  if (request.http10 && flags.h2 === true) throw usageError('-http1.0 and -h2 exclude each other', 'give one HTTP version');
  if (request.followRedirects && (flags.h2 === true || request.http10)) throw usageError(`-L in load is HTTP/1.1 only, not with ${request.http10 ? '-http1.0' : '-h2'}`, 'drop -L, or the other flag');
  // Fortio's -L switches to Go's client, which follows (bincommon/commonflags.go:214-216).
  if (request.followRedirects) notes.push("-L: Go's client as in Fortio, following redirects; slower than the default client, do not use it for load tests");
  if (request.timeoutMs > MAX_WAIT_MS) throw usageError(`-timeout '${flags.timeout}' is over 100000h, the longest meshload schedules`, 'use a shorter -timeout, or 0 for none');
  const connections = wholeNumber('-c', flags.connections, 1);
  if (connections > LOAD_LIMITS.connections) throw usageError(`-c ${connections} is more connections than one generator opens (at most ${LOAD_LIMITS.connections})`, 'use fewer, or fan the load out with meshload k8s job --parallelism N');
  let qps = Number(flags.qps);
  if (flags.qps.trim() === '' || !Number.isFinite(qps)) throw usageError(`-qps '${flags.qps}' is not a number`, 'use a rate like 100, or 0 for max speed');
  const durationMs = parseRunDuration(flags.duration);
  if (durationMs === undefined || durationMs < 0) throw usageError(`-t '${flags.duration}' is not a duration`, 'use a duration like 10s, 1m or 1d, or 0 to run until interrupted');
  // Long waits are chained timers (util/long-timer), so any finite length runs as asked; only
  // lengths no clock can count to are refused.
  if (durationMs > MAX_WAIT_MS) throw usageError(`-t '${flags.duration}' is over 100000h, the longest meshload schedules`, 'use a shorter -t, or 0 to run until interrupted');
  const requests = flags.requests === undefined ? undefined : wholeNumber('-n', flags.requests, 1);
  if (flags.calcQps === true) {
    // cli/fortio_main.go fortioLoad: -calc-qps needs -n and -t > 0, and replaces -qps by n / t.
    if (requests === undefined || durationMs <= 0) throw usageError("can't use `-calc-qps` without also specifying `-n` and `-t`", 'add -n N and -t DURATION (n calls spread over it), or drop -calc-qps');
    qps = requests / (durationMs / 1000);
  }
  if (qps > 0 && 1000 / qps > MAX_WAIT_MS) throw usageError(`-qps '${flags.qps}' is too small: one call every ${1 / qps}s is over 100000h, the longest pause meshload schedules`, 'use a rate of at least 3e-9, or 0 for max speed');
  // stats.go ParsePercentiles: empty entries skipped, each above 0 and below 100, at least one.
  const percentiles = flags.percentiles
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map(Number);
  if (percentiles.length === 0 || percentiles.some((p) => !Number.isFinite(p) || p <= 0 || p >= 100)) {
    throw usageError(`-p '${flags.percentiles}' is not a list of percentiles`, 'use numbers above 0 and below 100, like 50,90,99.9');
  }
  // periodic.go Normalize: a resolution of 0 or less is the default; only a non-number is bad.
  const resolution = Number(flags.resolution);
  if (flags.resolution.trim() === '' || !Number.isFinite(resolution)) throw usageError(`-r '${flags.resolution}' is not a number`, 'use a bucket width in seconds, like 0.001 (1 ms) or 0.0001');
  const offsetMs = parseDuration(flags.offset);
  if (offsetMs === undefined || !Number.isFinite(offsetMs)) throw usageError(`-offset '${flags.offset}' is not a duration`, 'use a Go duration like 0s, 5ms or -1ms');
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
  if (open !== undefined && open.maxInflight > LOAD_LIMITS.connections) throw usageError(`-max-inflight ${open.maxInflight} is more requests in flight than one generator holds (at most ${LOAD_LIMITS.connections})`, 'use fewer, or fan the load out with meshload k8s job --parallelism N');
  if (open !== undefined && qps <= 0) throw usageError('-open needs a rate: arrivals come at -qps', 'add -qps N with N > 0');
  if (flags.maxInflight !== undefined && open === undefined) throw usageError('-max-inflight only applies to the open model', 'add -open, or drop -max-inflight');
  const workers = flags.workers === 'auto' ? Math.min(LOAD_LIMITS.workers, Math.max(1, availableParallelism() - 1)) : wholeNumber('-workers', flags.workers, 1);
  if (workers > LOAD_LIMITS.workers) throw usageError(`-workers ${workers} is more worker threads than meshload starts (at most ${LOAD_LIMITS.workers}; each is a whole JavaScript engine)`, 'use about one per core, or fan out with meshload k8s job --parallelism N');
  if (flags.h2Multiplex === true && flags.h2 !== true) throw usageError('-h2-multiplex only applies to HTTP/2', 'add -h2, or drop -h2-multiplex');
  if (parseLogLevel(flags.loglevel) === undefined) throw usageError(`-loglevel '${flags.loglevel}' is not a log level`, `use one of ${LOG_LEVELS.join(', ')}`);
  const runId = parseRunId(flags.runid);
  if (flags.accessLogFile !== undefined && flags.accessLogFile !== '') {
    // periodic.go NewFileAccessLogger's message, checked only when there is a file (as Fortio).
    if (parseAccessLogFormat(flags.accessLogFormat) === undefined) throw usageError(`invalid format ${JSON.stringify(flags.accessLogFormat)}, should be "json" or "influx"`, 'use -access-log-format json or influx');
    if (workers > 1) throw usageError('-access-log-file needs the calls on one thread', 'drop -workers, or drop -access-log-file');
  }
  return {
    url: request.url.href,
    typedUrl: urlText.trimStart(),
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
    ...request.planFields,
    abortOn,
    allowInitialErrors: flags.allowInitialErrors === true,
    sequentialWarmup: flags.sequentialWarmup === true,
    runId,
    connectionReuse,
    ramp: undefined,
    open,
    workers,
    percentiles,
    histogramResolution: resolution > 0 ? resolution : FORTIO_SCALES.duration.divider,
    histogramOffset: offsetMs / 1000,
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

/** -runid: Go's flag.Int64 (strconv.ParseInt base 0: 42, -7, 0x2a, 0o52, 052, 0b101010), within
 * the integers a double holds exactly. */
function parseRunId(text: string): number {
  const match = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9]\d*)$/.exec(text.trim());
  const digits = match?.[2];
  const magnitude = digits === undefined ? NaN : Number(BigInt(/^0[0-7]+$/.test(digits) ? `0o${digits.slice(1)}` : digits));
  const runId = match?.[1] === '-' ? -magnitude : magnitude;
  if (!Number.isSafeInteger(runId)) throw usageError(`-runid '${text}' is not an integer`, 'give -runid a whole number like 42 (at most 2^53-1)');
  return runId;
}

function wholeNumber(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw usageError(`${flag} '${text}' is not a whole number of at least ${min}`, `give ${flag} a number like ${Math.max(min, 4)}`);
  // Above 2^53 a double no longer counts by one: the run would never reach its count.
  if (!Number.isSafeInteger(Number(text))) throw usageError(`${flag} '${text}' is too large`, `give ${flag} at most ${Number.MAX_SAFE_INTEGER}`);
  return Number(text);
}

async function runLoadCommand(plan: LoadPlan, flags: LoadFlags, ctx: CommandContext): Promise<ExitCode> {
  const { io } = ctx;
  const stats = statsFromFlags(flags); // validated before anything starts
  const level = logLevelOf(flags);
  const talk = logsAt(level, 'Warning');
  const screen = screenFor(io.stderr, io.env, flags.verbose === true);
  // Opened before anything starts: a bad path is bad input (exit 2), not a failed run.
  const accessLog = openAccessLog(flags);
  sayNoEffect(flags.fortioUnused, 'load', !logsAt(level, 'Info'), (line) => io.stderr.write(line));
  if (logsAt(level, 'Info')) for (const name of grpcFlagsWithoutGrpc(flags)) io.stderr.write(`${grpcOnlyLine(name)}\n`);
  // On a terminal the progress line is drawn in place: a log line first erases it (as the
  // progress line's own redraw does), so the next redraw lands below the log line.
  const progressDrawn = talk && io.stderr.isTTY === true;
  // fortio.org/log writes JSON unless stderr is a terminal, or its own flags and LOGGER_*
  // environment say otherwise: FORCE_COLOR (not Fortio's) on a pipe keeps the JSON scripts parse.
  const form = logForm(flags, io.env, io.stderr.isTTY === true, false);
  const log = new FortioLog({ level, screen, form, write: (text) => io.stderr.write(progressDrawn ? `\r\x1b[K${text}` : text) });
  // Below Error nothing per call is logged: then the engine gets no logger to call.
  const logger = logsAt(level, 'Error') ? callLogger(log, { logErrors: flags.logErrors, runId: plan.runId ?? 0, url: plan.url, method: plan.method, h2: plan.h2, abortOn: plan.abortOn }) : undefined;
  const schedule = planSchedule(plan);
  const observer = plan.workers > 1 ? undefined : callObserver([logger === undefined ? undefined : withShortfallWarning(logger, log, plan, schedule, io.signal), accessLog]);
  const start = renderStartLines({ ...plan, connections: schedule.connections.length }, { version: meshloadVersion(), procs: plan.workers, typedQps: typedQps(plan, flags) });
  // fortio_main.go prints "running at" at every level (fortio_main.go:382-394), then
  // httprunner.go logs "Starting http test", then periodic.go prints "Starting at": at Warning
  // and above, or always when the run waits for ^C (periodic.go:427-431, 470-474).
  const cut = start.indexOf('\n') + 1;
  io.stderr.write(start.slice(0, cut));
  const untilInterrupted = !(plan.requests !== undefined && plan.requests > 0) && plan.durationMs <= 0;
  if (plan.grpc === undefined) {
    log.logRun('Info', 'Starting http test', startingHttpTest(plan, flags));
    // http_client.go URLSchemeCheck, from HTTPOptions.Init: once, unless -stdclient or -L
    // already chose Go's client.
    if (plan.h2 && plan.followRedirects !== true && !flags.fortioUnused.includes('stdclient')) log.logRun('Info', 'H2 requested, switching to std client', []);
    if (plan.typedUrl !== undefined && !hasFortioScheme(plan.typedUrl)) log.logRun('Warning', `Assuming http:// on missing scheme for '${shownUrl(plan)}'`, []);
  }
  // periodic.go runQPSSetup logs these at Warning just before its "Starting at" line.
  for (const note of schedule.notes) log.logRun('Warning', note, []);
  const rest = start.slice(cut);
  if (talk || untilInterrupted) io.stderr.write(accessLog === undefined ? rest : withStartExtra(rest, ` with access logger ${accessLog.info}`));
  if (talk && plan.workers > 1 && logsAt(level, flags.logErrors ? 'Warning' : 'Error')) io.stderr.write(`meshload: with -workers ${plan.workers}, Fortio's per-call and per-thread log lines are not printed; the summary counts every code\n`);
  let result: LoadResult;
  try {
    const watch = stats === undefined ? undefined : await SidecarWatch.start(stats);
    if (watch?.startFailure !== undefined) io.stderr.write(`meshload: proxy stats unavailable, running without them: ${watch.startFailure}\n`);
    const progress = newProgress();
    const ticker = progressDrawn ? startProgress(progress, io.stderr) : undefined;
    try {
      result = await runPlan(plan, { signal: io.signal, progress, ...(observer !== undefined ? { observer } : {}) });
    } finally {
      ticker?.stop();
    }
    // periodic.go Run logs it after "Ended after"; here before Fortio's summary, kept whole.
    if (result.stopReason !== 'warmup-failed') {
      log.logRun('Info', 'Run ended', [['run', plan.runId ?? 0], ['elapsed', Math.round(result.durationMs * 1e6)], ['calls', result.latency.count], ['qps', { float: result.actualQps }]]);
    }
    const closing = log.closingLine();
    if (closing !== '') io.stderr.write(closing);
    if (watch !== undefined) result = { ...result, sidecar: await watch.finish(result) };
  } finally {
    const problems = accessLog === undefined ? '' : accessLogProblems(accessLog, await accessLog.close());
    if (problems !== '') io.stderr.write(problems);
  }
  if (result.stopReason === 'warmup-failed') {
    // cli/fortio_main.go:477-479: "Aborting because of %v" and exit 1, with no summary; Fortio's
    // error text alone on it, and what meshload adds (the socket error, the way out) just before.
    const abort = result.warmupAbort ?? { fortio: result.stopDetail ?? 'a failed warm-up', meshload: '' };
    if (abort.meshload !== '') io.stderr.write(`meshload: ${abort.meshload}\n`);
    io.stderr.write(`Aborting because of ${abort.fortio}\n`);
    writeJsonOutputs(result, flags, ctx, accessLog?.info);
    return EXIT.FAILED;
  }
  // meshload's table and the proxy's view come before Fortio's summary, so "All done" stays the
  // last line everywhere (FORTIO-COMPAT.md: scripts read the tail).
  if (io.stderr.isTTY === true && result.latency.count > 0) io.stderr.write(renderPercentileTable(result, screen));
  if (result.sidecar !== undefined) io.stderr.write(renderSidecarText(result.sidecar, screen));
  // Fortio's text stays byte for byte Fortio's (scripts parse it); only meshload's table is coloured.
  // Fortio's -quiet is -loglevel Error (fortio.org/cli): its socket and sleep lines follow suit.
  io.stderr.write(renderLoadText(result, level, fortioWarmup(plan)));
  writeJsonOutputs(result, flags, ctx, accessLog?.info);
  if (result.stopReason === 'interrupted') return EXIT.INTERRUPTED;
  return EXIT.OK;
}

/** httprunner.go RunHTTPTest's first line: -qps as given (%.1f), -c, the warm-up mode and
 * -connection-reuse ("[min, max]", or "" without). The URL with its credentials redacted. */
function startingHttpTest(plan: LoadPlan, flags: LoadFlags): LogAttr[] {
  const qps = typedQps(plan, flags);
  const reuse = plan.connectionReuse === undefined ? '' : `[${plan.connectionReuse.min}, ${plan.connectionReuse.max}]`;
  return [
    ['run', plan.runId ?? 0],
    // Logged before HTTPOptions.Init: the URL as typed.
    ['url', shownUrl(plan)],
    ['threads', plan.connections],
    ['qps', goSprintf('%.1f', qps)],
    ['warmup', plan.sequentialWarmup === true ? 'sequential' : 'parallel'],
    ['conn-reuse', reuse],
  ];
}

/** periodic.go:808-815 runOne: a paced thread still short of its calls when -t is over warns
 * before its "ended after" line. Only threadEnded is added: each call goes to the logger as before. */
function withShortfallWarning(logger: CallObserver, log: FortioLog, plan: LoadPlan, schedule: RunSchedule, signal: AbortSignal): CallObserver {
  if (plan.qps <= 0 || plan.requests !== undefined || plan.durationMs <= 0 || plan.open !== undefined || plan.ramp !== undefined) return logger;
  return {
    observe: logger.observe.bind(logger),
    threadEnded(thread, calls, elapsedMs): void {
      const planned = schedule.connections[thread]?.calls;
      // Ended by the clock, not by ^C or -abort-on; Fortio makes at least 2 calls before it warns.
      if (planned !== undefined && calls >= 2 && calls < planned && elapsedMs >= plan.durationMs && !signal.aborted) {
        log.logRun('Warning', goSprintf('T%03d warning only did %d out of %d calls before reaching %s', thread, calls, planned, goDuration(plan.durationMs * 1e6)), []);
      }
      logger.threadEnded?.(thread, calls, elapsedMs);
    },
  };
}

/** fortio_main.go:482-485: "plus N warmup" is -c (not -c x -s), 0 with -n, whatever the run did. */
function fortioWarmup(plan: LoadPlan): number {
  if (plan.requests !== undefined && plan.requests > 0) return 0;
  return plan.grpc === undefined ? plan.connections : Math.round(plan.connections / Math.max(1, plan.grpc.streams));
}

/** -qps as typed, which Fortio prints before it turns <= 0 into max speed; -calc-qps's rate. */
function typedQps(plan: LoadPlan, flags: LoadFlags): number {
  const given = Number(flags.qps);
  return flags.calcQps === true || !Number.isFinite(given) ? plan.qps : given;
}

/** -loglevel, raised to Error by -quiet (fortio.org/cli: quiet is loglevel Error). */
function logLevelOf(flags: LoadFlags): LogLevel {
  const level = parseLogLevel(flags.loglevel) ?? 'Info';
  return flags.quiet === true && !logsAt('Error', level) ? 'Error' : level;
}

function openAccessLog(flags: LoadFlags): AccessLog | undefined {
  if (flags.accessLogFile === undefined || flags.accessLogFile === '') return undefined;
  try {
    return new AccessLog(flags.accessLogFile, parseAccessLogFormat(flags.accessLogFormat) as AccessLogFormat);
  } catch (error) {
    // periodic.go: "Unable to open access log %s: %v".
    throw usageError(`Unable to open access log ${flags.accessLogFile}: ${(error as Error).message}`, 'give -access-log-file a writable file path');
  }
}

/** The one observer the engine takes, from those present. */
function callObserver(observers: Array<CallObserver | undefined>): CallObserver | undefined {
  const present = observers.filter((o): o is CallObserver => o !== undefined);
  if (present.length <= 1) return present[0];
  return {
    observe(outcome, thread, iter, sentMs, endMs): void {
      for (const observer of present) observer.observe(outcome, thread, iter, sentMs, endMs);
    },
    threadEnded(thread, calls, elapsedMs): void {
      for (const observer of present) observer.threadEnded?.(thread, calls, elapsedMs);
    },
  };
}

/** periodic.go runQPSSetup/runMaxQPSSetup end the "Starting at" line with the access logger. */
function withStartExtra(startLines: string, extra: string): string {
  return startLines.replace(/^(Starting at [^\n]*)$/m, `$1${extra}`);
}

/** What the access log could not write, in one line each; '' when it wrote every line. */
function accessLogProblems(log: AccessLog, summary: Awaited<ReturnType<AccessLog['close']>>): string {
  let text = '';
  if (summary.dropped > 0) text += `meshload: access log ${log.path}: ${summary.dropped} line${summary.dropped === 1 ? '' : 's'} dropped: the disk fell more than ${ACCESS_LOG_BUFFER_MB} MiB behind the calls (${summary.written} written)\n`;
  if (summary.error !== undefined) text += `meshload: access log ${log.path}: ${summary.error}: ${summary.lost} line${summary.lost === 1 ? '' : 's'} not written (${summary.written} written)\n`;
  return text;
}

/** -json and -a. A run that stopped early still writes what it measured. */
function writeJsonOutputs(result: LoadResult, flags: LoadFlags, ctx: CommandContext, accessLoggerInfo: string | undefined): void {
  const jsonPath = flags.json ?? '';
  if (jsonPath === '' && flags.save !== true) return;
  const grpc = result.plan.grpc;
  const fortio = toFortioJson(result, accessLoggerInfo !== undefined ? { accessLoggerInfo } : {});
  const json = JSON.stringify(grpc === undefined ? fortio : toFortioGrpcJson(fortio, result, grpc, result.plan.headers), null, 2) + '\n';
  // fortio_main.go:491-522: one file, -json's when given (-a then saves nothing more), else -a's
  // in -data-dir; "-" is stdout, named "stdout" in the closing line.
  const autoSaved = jsonPath === '';
  const target = autoSaved ? join(flags.dataDir, fortioFileName(new Date(result.startTime), result.plan.labels, result.plan.runId ?? 0)) : jsonPath;
  if (target === '-') {
    ctx.io.stdout.write(json);
  } else {
    try {
      if (autoSaved) mkdirSync(flags.dataDir, { recursive: true });
      writeFileSync(target, json);
    } catch (error) {
      throw new MeshloadError('E_OUTPUT', `cannot write the result to ${target}: ${(error as Error).message}`, 'check the path and permissions');
    }
  }
  ctx.io.stderr.write(`Successfully wrote ${Buffer.byteLength(json)} bytes of Json data to ${target === '-' ? 'stdout' : target}\n`);
}

