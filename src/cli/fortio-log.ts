/** Fortio's per-call log lines on stderr, as fortio.org/log v1.18 prints `log.S(level, msg,
 * attrs...)`: JSON when stderr is not a colour terminal (what scripts and `kubectl exec` see),
 * coloured text on one, and the -logger-* flags and LOGGER_* environment that change that
 * (logForm). Without Fortio's caller file:line and goroutine id: its documented
 * LOGGER_LOG_FILE_AND_LINE=false / LOGGER_GOROUTINE_ID=false shape, as meshload has neither.
 * Bounded: after `max` lines the rest are counted, and one closing line says how many. */
import type { Command } from 'commander';
import { parseGoBool } from './go-flags';
import { type ErrorKind, goGrpcError, isOk, type Outcome } from '../model/outcome';
import type { CallObserver } from '../engine/run-options';
import { paint, type Paint, type Screen } from '../report/screen';
import { logsAt, type LogLevel } from '../util/log-level';
import { redactUrl } from '../util/redact';
import { goDuration, goG, goSprintf } from '../report/fortio/go-format';

/** A Go float64 attribute: fmt.Sprint's shortest %g ("1e-05", "1.234567e+06"), where a number
 * attribute is a Go integer. */
export interface GoFloat {
  float: number;
}

/** One attribute: strings are written quoted, numbers and booleans bare (log.ValueType.String). */
export type LogAttr = readonly [key: string, value: string | number | boolean | GoFloat];

/** Lines printed before the rest are only counted: Fortio prints every one, which a breaker
 * test answering 10^5 503s turns into a flood. */
export const DEFAULT_MAX_LOG_LINES = 100;

/** logger.go LevelToJSON, without the quotes. */
const JSON_LEVEL: Record<LogLevel, string> = { Debug: 'dbug', Verbose: 'trace', Info: 'info', Warning: 'warn', Error: 'err', Critical: 'crit', Fatal: 'fatal' };
/** console_logging.go LevelToText. */
const TEXT_LEVEL: Record<LogLevel, string> = { Debug: 'DBG', Verbose: 'VRB', Info: 'INF', Warning: 'WRN', Error: 'ERR', Critical: 'CRI', Fatal: 'FTL' };
/** The text mode's level letter: "[" + LevelToStrA[lvl][0:1] + "]" (logger.go s()). */
const LETTER: Record<LogLevel, string> = { Debug: 'D', Verbose: 'V', Info: 'I', Warning: 'W', Error: 'E', Critical: 'C', Fatal: 'F' };
/** console_logging.go LevelToColor, in the colours screen.ts has. */
const LEVEL_PAINT: Record<LogLevel, Paint> = { Debug: 'dim', Verbose: 'dim', Info: 'green', Warning: 'yellow', Error: 'red', Critical: 'magenta', Fatal: 'red' };

/** Which of fortio.org/log's output modes a line takes (logger.go s()): 'color' (console
 * text), 'json', or 'text', which Fortio writes through Go's standard logger, and which
 * fortio.org/scli's InterceptStandardLogger(log.Warning) (scli.go, every Fortio command) turns
 * into a JSON line at warn with "src":"std" whose msg is the text line. */
export interface LogForm {
  mode: 'color' | 'json' | 'text';
  /** -logger-timestamp (LogConfig.NoTimestamp negated): "ts" in JSON, the time in colour text. */
  timestamp: boolean;
  /** LogPrefix of the text forms: "> " (DefaultConfig), " " for a client tool on a terminal
   * (SetDefaultsForClientTools); "> " when absent. */
  prefix?: string;
}

/** fortio.org/cli's -logger-force-color and -logger-no-color, fortio.org/scli's -logger-json
 * and -logger-timestamp (as commander gives them: the last two true unless =false). */
export interface LoggerFlags {
  loggerForceColor?: boolean;
  loggerNoColor?: boolean;
  loggerJson?: boolean;
  loggerTimestamp?: boolean;
}

export function addLoggerFlags(command: Command): Command {
  return command
    .option('--logger-force-color', 'Fortio log lines in colour text even when stderr is not a terminal')
    .option('--logger-no-color', 'Fortio log lines as JSON even when stderr is a terminal (load; as in Fortio, curl on a terminal keeps colour)')
    .option('--no-logger-json', "Fortio's -logger-json=false: text log lines, written as Fortio 1.75 writes them (JSON at warn, \"src\":\"std\")")
    .option('--no-logger-timestamp', 'Fortio\'s -logger-timestamp=false: no "ts" in JSON log lines, no time in colour ones');
}

/** A LOGGER_* boolean as struct2env reads it (strconv.ParseBool); anything else is no setting. */
function envBool(env: Record<string, string | undefined>, name: string): boolean | undefined {
  const value = env[`LOGGER_${name}`];
  return value === undefined ? undefined : parseGoBool(value);
}

/** The form Fortio's lines take, decided as Fortio 1.75 decides it: fortio.org/log's defaults
 * (JSON, console colour) and LOGGER_* environment (struct2env, then NO_COLOR), scli's
 * -logger-json / -logger-timestamp, cli.Main's -logger-no-color, then for `curl` on a terminal
 * log.SetDefaultsForClientTools (text, console colour again, NO_COLOR again; fortio_main.go
 * calls it after the flags, so -logger-no-color does not hold there), and ColorMode(): forced,
 * or console colour on a terminal. */
export function logForm(flags: LoggerFlags, env: Record<string, string | undefined>, isTTY: boolean, clientTool: boolean): LogForm {
  const noColorEnv = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  let json = envBool(env, 'JSON') ?? true;
  let consoleColor = (envBool(env, 'CONSOLE_COLOR') ?? true) && !noColorEnv;
  const forceColor = flags.loggerForceColor === true || envBool(env, 'FORCE_COLOR') === true;
  let timestamp = envBool(env, 'NO_TIMESTAMP') !== true;
  if (flags.loggerJson === false) json = false;
  if (flags.loggerTimestamp === false) timestamp = false;
  if (flags.loggerNoColor === true) consoleColor = false;
  const clientMode = clientTool && isTTY && envBool(env, 'IGNORE_CLI_MODE') !== true;
  if (clientMode) {
    json = false;
    consoleColor = !noColorEnv;
  }
  const color = forceColor || (consoleColor && isTTY);
  return { mode: color ? 'color' : json ? 'json' : 'text', timestamp, prefix: clientMode ? ' ' : '> ' };
}

export interface FortioLogOptions {
  /** The least severe level printed: -loglevel, or Error under -quiet (fortio.org/cli). */
  level: LogLevel;
  /** The colours of colour text. */
  screen: Screen;
  /** Colour text when the screen has colour, JSON otherwise, unless given. */
  form?: LogForm;
  write: (text: string) => void;
  /** Milliseconds since the epoch, with a fraction. */
  now?: () => number;
  max?: number;
}

export class FortioLog {
  /** Lines dropped by the bound (not those below -loglevel). */
  suppressed = 0;
  private printed = 0;
  private readonly max: number;
  private readonly now: () => number;
  private readonly form: LogForm;
  private readonly screen: Screen;

  constructor(private readonly options: FortioLogOptions) {
    this.max = options.max ?? DEFAULT_MAX_LOG_LINES;
    // Microseconds, as Fortio's timestamps: Date.now() has only milliseconds.
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    this.form = options.form ?? { mode: options.screen.color ? 'color' : 'json', timestamp: true };
    this.screen = { ...options.screen, color: this.form.mode === 'color' };
  }

  /** Whether a line at `level` would be printed (fortio.org/log Log()); a text-mode line is
   * logged again at Warning by the standard logger's interception, so it needs both. */
  logs(level: LogLevel): boolean {
    return logsAt(this.options.level, level) && (this.form.mode !== 'text' || logsAt(this.options.level, 'Warning'));
  }

  /** Whether a line at `level` is printed now; one over the bound is counted instead. A caller
   * that gets true must print() the line: so a suppressed line costs no allocation. */
  admit(level: LogLevel): boolean {
    if (!this.logs(level)) return false;
    if (this.printed >= this.max) {
      this.suppressed++;
      return false;
    }
    return true;
  }

  /** Prints a line admit() let through. */
  print(level: LogLevel, msg: string, attrs: readonly LogAttr[]): void {
    this.printed++;
    this.options.write(this.format(level, msg, attrs));
  }

  log(level: LogLevel, msg: string, attrs: readonly LogAttr[]): void {
    if (this.admit(level)) this.print(level, msg, attrs);
  }

  /** A line about the run or one connection, not a call: as many as -c allows at most, so
   * outside the bound, which is for lines a server's answers can multiply. */
  logRun(level: LogLevel, msg: string, attrs: readonly LogAttr[]): void {
    if (this.logs(level)) this.options.write(this.format(level, msg, attrs));
  }

  private format(level: LogLevel, msg: string, attrs: readonly LogAttr[]): string {
    return formatFortioLine(level, msg, attrs, this.now(), this.screen, this.form.prefix, this.form);
  }

  /** The closing line when the bound dropped lines, else ''. */
  closingLine(): string {
    if (this.suppressed === 0) return '';
    return `meshload: ${this.suppressed} further log line${this.suppressed === 1 ? '' : 's'} suppressed after the first ${this.max} (Fortio prints every one)\n`;
  }
}

/** One line as fortio.org/log's s() writes it with no caller and no goroutine id. Without a
 * form: colour text when the screen has colour, JSON otherwise. */
export function formatFortioLine(level: LogLevel, msg: string, attrs: readonly LogAttr[], epochMs: number, screen: Screen, prefix = '> ', form?: LogForm): string {
  const mode = form?.mode ?? (screen.color ? 'color' : 'json');
  const timestamp = form?.timestamp ?? true;
  if (mode === 'json') {
    let line = `{${timestamp ? jsonTimestamp(epochMs) : ''}"level":"${JSON_LEVEL[level]}","msg":${JSON.stringify(msg)}`;
    for (const [key, value] of attrs) line += `,${JSON.stringify(key)}:${attrValue(value)}`;
    return `${line}}\n`;
  }
  let body = msg;
  for (const [key, value] of attrs) body += `, ${key}=${attrValue(value)}`;
  if (mode === 'text') {
    // log.Print(lvl1Char, prefix, msg, attrs) into the intercepted standard logger (flags 0),
    // whose logWriter re-logs the trimmed text as JSON at Warning with "src":"std".
    return `{${timestamp ? jsonTimestamp(epochMs) : ''}"level":"warn","msg":${JSON.stringify(`[${LETTER[level]}]${prefix}${body}`.trim())},"src":"std"}\n`;
  }
  // colorTimestamp() "15:04:05.000 " (none under NoTimestamp), ColorLevelToStr, the LogPrefix,
  // then msg and ", key=value".
  const time = new Date(epochMs);
  const stamp = timestamp ? paint(screen, 'dim', `${pad(time.getHours(), 2)}:${pad(time.getMinutes(), 2)}:${pad(time.getSeconds(), 2)}.${pad(time.getMilliseconds(), 3)} `) : '';
  const style = LEVEL_PAINT[level];
  return `${stamp}[${paint(screen, style, TEXT_LEVEL[level])}]${prefix}${paint(screen, style, body)}\n`;
}

/** jsonTimestamp(): seconds with microseconds (truncated, TimeToTS), %.6f, and its comma. */
function jsonTimestamp(epochMs: number): string {
  const us = Math.floor(epochMs * 1000);
  return `"ts":${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')},`;
}

function attrValue(value: LogAttr[1]): string {
  if (typeof value === 'object') return goG(value.float);
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** What `load` logs per call, where Fortio's HTTP clients log it (fhttp/http_client.go). */
export interface CallLogOptions {
  /** -log-errors: non-OK codes at Warning. Socket errors are logged at Error regardless. */
  logErrors: boolean;
  runId: number;
  url: string;
  method: string;
  /** -h2: Fortio's std client, whose lines differ from its fast HTTP/1.1 client's. */
  h2: boolean;
  /** -abort-on: the code whose call is logged at Info as it stops the run. */
  abortOn?: number | undefined;
}

/** Fortio's per-call Warning and Error lines for `load`, bounded by `log`. */
export function callLogger(log: FortioLog, options: CallLogOptions): CallObserver {
  const url = redactUrl(options.url);
  return new CallLog(log, options, url, hostOf(url));
}

class CallLog implements CallObserver {
  constructor(
    private readonly log: FortioLog,
    private readonly options: CallLogOptions,
    private readonly url: string,
    private readonly host: string,
  ) {}

  observe(outcome: Outcome, thread: number, iter: number): void {
    const status = outcome.status;
    if (outcome.grpcStatus !== undefined) {
      // grpcrunner.go Run: every failed call is a Warning, whatever -log-errors says.
      if (outcome.grpcStatus !== 0 && this.log.admit('Warning')) this.log.print('Warning', `Error making grpc call: ${goGrpcError(outcome)}`, [['thread', thread], ['run', this.options.runId]]);
      return;
    }
    if (!isOk(status)) this.notOk(outcome, thread);
    // httprunner.go:71, Run (timed calls only): the call that aborts the run. Its size is what
    // the client read: everything over HTTP/1.1 (fast client), the body over -h2 (Go's client).
    if (status === this.options.abortOn && iter >= 0 && this.log.admit('Info')) {
      const size = this.options.h2 ? outcome.bodyBytes : outcome.headerBytes + outcome.bodyBytes;
      this.log.print('Info', 'Aborted run because of http code', [['run', this.options.runId], ['code', status], ['size', size]]);
    }
  }

  /** periodic.go runOne's last line, at Info: "T%03d ended after %v : %d calls. qps=%g". */
  threadEnded(thread: number, calls: number, elapsedMs: number): void {
    if (!this.log.logs('Info')) return;
    const ns = Math.round(elapsedMs * 1e6);
    // periodic.go tIDStr is Sprintf("T%03d", id): zero padded, which goSprintf's %d does not do.
    const id = `T${String(thread).padStart(3, '0')}`;
    this.log.logRun('Info', goSprintf('%s ended after %s : %d calls. qps=%g', id, goDuration(ns), calls, calls / (ns / 1e9)), []);
  }

  private notOk(outcome: Outcome, thread: number): void {
    const status = outcome.status;
    const run = this.options.runId;
    if (status !== -1) {
      if (!this.options.logErrors || !this.log.admit('Warning')) return;
      // http_client.go:1159 (fast client) adds the status line start; :567 (std client) does not.
      if (this.options.h2) this.log.print('Warning', 'Non ok http code', [['code', status], ['thread', thread], ['run', run]]);
      else this.log.print('Warning', 'Non ok http code', [['code', status], ['status', `HTTP/1.1 ${status}`], ['thread', thread], ['run', run]]);
      return;
    }
    if (!this.log.admit('Error')) return;
    const err = outcome.errorMessage ?? outcome.errorKind ?? 'error';
    if (this.options.h2) {
      // http_client.go:535, Go's client: every failure is one "Unable to send request".
      this.log.print('Error', 'Unable to send request', [['method', this.options.method], ['url', this.url], ['err', err], ['thread', thread], ['run', run]]);
      return;
    }
    const [msg, where] = fastClientError(outcome.errorKind ?? 'other');
    const place: LogAttr = where === 'hostname' ? ['hostname', this.host.replace(/:\d+$/, '')] : ['dest', this.host];
    this.log.print('Error', msg, [place, ['err', err], ['thread', thread], ['run', run]]);
  }
}

/** The fast client's message for each kind of socket error (http_client.go connect() and
 * readResponse()); `dest` is host:port where Fortio logs the resolved address. */
function fastClientError(kind: ErrorKind): [string, 'dest' | 'hostname'] {
  switch (kind) {
    case 'refused':
      return ['Unable to connect', 'dest'];
    case 'dns':
      return ['Unable to resolve hostname', 'hostname'];
    case 'tls':
      return ['Unable to TLS connect', 'dest'];
    case 'timeout':
      return ['Timeout error (incomplete/invalid response)', 'dest'];
    default:
      return ['Read error', 'dest'];
  }
}

function hostOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.port !== '' ? parsed.host : `${parsed.hostname}:${parsed.protocol === 'https:' ? 443 : 80}`;
  } catch {
    return url;
  }
}
