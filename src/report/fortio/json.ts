/** Fortio's `-json` result (fhttp.HTTPRunnerResults, flattened as Go marshals it), plus meshload's
 * whole result under `Meshload`. Fortio's UI, Nighthawk's converter and CI greps read the Fortio
 * fields; meshload's own data goes beside them, never instead of them. */
import { fortioUrl, redactPlan } from '../../model/load-plan';
import { errorSample, type LoadResult } from '../../model/load-result';
import { emptyFortioHistogram, type FortioHistogram, fortioViewOf } from './histogram';
import { fortioConnectionJson } from './connection-lines';
import { fortioRunShape } from './run-shape';

/** Field order is Go's, as json.MarshalIndent writes fhttp.HTTPRunnerResults (fhttp/httprunner.go):
 * periodic.RunnerResults' fields (periodic/periodic.go), RetCodes, IPCountMap, then the embedded
 * HTTPOptions (fhttp/http_client.go) flattened, then Sizes .. AbortOn. The key set is checked
 * against a real Fortio 1.57.3 file (test/report/fixtures/fortio-1.57.3-httpbin.json); Fortio 1.75's
 * structs have the same fields plus the error reply below. */
export type FortioJsonResult = {
  RunType: 'HTTP';
  Labels: string;
  /** RFC 3339 with Go's trimmed fraction (RFC3339Nano), in UTC. */
  StartTime: string;
  RequestedQPS: string;
  RequestedDuration: string;
  ActualQPS: number;
  /** Integer nanoseconds (Go's time.Duration). */
  ActualDuration: number;
  NumThreads: number;
  Version: string;
  /** Latency from each call's actual send, seconds, as Fortio measures it (meshload's corrected
   * latency is under Meshload.latency). */
  DurationHistogram: FortioHistogram;
  ErrorsDurationHistogram: FortioHistogram;
  Exactly: number;
  Jitter: boolean;
  Uniform: boolean;
  NoCatchUp: boolean;
  RunID: number;
  AccessLoggerInfo: string;
  ID: string;
  /** jrpc.ServerReply, embedded in RunnerResults (Fortio 1.75 periodic/periodic.go) and omitted on
   * success: a run whose warm-up failed (fhttp/httprunner.go NewErrorResult). */
  error?: true;
  message?: string;
  exception?: string;
  /** Go marshals the error value, whose fields are unexported: `{}`. */
  exceptionDetails?: Record<string, never>;
  RetCodes: Record<string, number>;
  /** "ip:port" -> sockets that went to it, measured (older results: guessed from an IP-literal URL). */
  IPCountMap: Record<string, number>;
  // HTTPOptions, embedded (so flattened) in HTTPRunnerResults.
  Insecure: boolean;
  MTLS: boolean;
  CACert: string;
  Cert: string;
  Key: string;
  UnixDomainSocket: string;
  URL: string;
  /** HTTPOptions.NumConnections: connections per thread, 1 for Fortio's (and meshload's) clients. */
  NumConnections: number;
  Compression: boolean;
  DisableFastClient: boolean;
  HTTP10: boolean;
  H2: boolean;
  DisableKeepAlive: boolean;
  AllowHalfClose: boolean;
  FollowRedirects: boolean;
  Resolve: string;
  /** Integer nanoseconds. */
  HTTPReqTimeOut: number;
  /** Never written in clear: "" or "<redacted>". */
  UserCredentials: string;
  ContentType: string;
  /** Go's []byte: base64, or null for none. meshload's result keeps only the payload's size. */
  Payload: string | null;
  MethodOverride: string;
  LogErrors: boolean;
  SequentialWarmup: boolean;
  ConnReuseRange: [number, number];
  NoResolveEachConn: boolean;
  /** Integer nanoseconds (-offset). */
  Offset: number;
  /** -r, seconds: the duration histograms' bucket divider. */
  Resolution: number;
  Sizes: FortioHistogram;
  HeaderSizes: FortioHistogram;
  /** Sockets per thread, measured (older results: see fortioSockets). */
  Sockets: number[];
  SocketCount: number;
  /** Time to connect each socket, seconds, with the run's percentiles (older results: empty). */
  ConnectionStats: FortioHistogram;
  AbortOn: number;
  Meshload: LoadResult;
};

const MS_TO_NS = 1e6;
const S_TO_NS = 1e9;

/** What the run knew that its result does not keep. */
export interface FortioJsonExtras {
  /** periodic.go Run: AccessLoggerInfo = AccessLogger.Info(), "mode json to PATH" with
   * -access-log-file; empty without, and in an error result (httprunner.go NewErrorResult). */
  accessLoggerInfo?: string;
}

export function toFortioJson(result: LoadResult, extras: FortioJsonExtras = {}): FortioJsonResult {
  // Results are redacted when made; again here, cheaply, for results read from older files.
  const plan = redactPlan(result.plan);
  const shape = fortioRunShape(plan);
  const fortio = fortioViewOf({ ...result, plan });
  const latency = fortio.duration;
  const exactly = plan.requests !== undefined && plan.requests > 0 ? plan.requests : 0;
  let requestedDuration = shape.requestedDuration;
  // periodic.Run: an -n run that stopped short says so in RequestedDuration.
  if (exactly > 0 && latency.Count !== exactly) requestedDuration += `, interrupted after ${latency.Count}`;
  const startTime = new Date(result.startTime);
  const retCodes: Record<string, number> = {};
  for (const code of Object.keys(result.codes).sort((a, b) => Number(a) - Number(b))) retCodes[code] = result.codes[code] ?? 0;
  const contentType = plan.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  const measured = fortioConnectionJson({ ...result, plan });
  return {
    RunType: 'HTTP',
    Labels: plan.labels,
    StartTime: rfc3339Nano(startTime),
    RequestedQPS: shape.requestedQps,
    RequestedDuration: requestedDuration,
    ActualQPS: result.actualQps,
    ActualDuration: Math.round(result.durationMs * MS_TO_NS),
    NumThreads: shape.threads,
    Version: result.version,
    DurationHistogram: latency,
    ErrorsDurationHistogram: fortio.errors,
    Exactly: exactly,
    Jitter: plan.jitter,
    Uniform: plan.uniform,
    NoCatchUp: plan.noCatchUp,
    RunID: plan.runId ?? 0,
    AccessLoggerInfo: result.stopReason === 'warmup-failed' ? '' : (extras.accessLoggerInfo ?? ''),
    ID: fortioRunId(startTime, plan.labels, plan.runId ?? 0),
    ...fortioErrorReply(result),
    RetCodes: retCodes,
    IPCountMap: measured?.IPCountMap ?? fortioIpCountMap(plan.url, shape.threads),
    Insecure: plan.insecure,
    MTLS: false,
    CACert: '',
    Cert: '',
    Key: '',
    UnixDomainSocket: plan.unixSocket ?? '',
    URL: fortioUrl(plan),
    NumConnections: 1,
    Compression: false,
    DisableFastClient: plan.followRedirects === true,
    HTTP10: plan.http10 === true,
    H2: plan.h2,
    DisableKeepAlive: !plan.keepAlive,
    AllowHalfClose: false,
    FollowRedirects: plan.followRedirects === true,
    Resolve: plan.resolve ?? '',
    HTTPReqTimeOut: Math.round(plan.timeoutMs * MS_TO_NS),
    UserCredentials: '',
    ContentType: contentType,
    Payload: null,
    MethodOverride: methodOverride(plan.method, plan.payloadBytes),
    LogErrors: false,
    SequentialWarmup: plan.sequentialWarmup === true,
    ConnReuseRange: plan.connectionReuse === undefined ? [0, 0] : [plan.connectionReuse.min, plan.connectionReuse.max],
    NoResolveEachConn: false,
    Offset: Math.round(fortio.scale.offset * S_TO_NS),
    Resolution: fortio.scale.divider,
    Sizes: fortio.sizes,
    HeaderSizes: fortio.headerSizes,
    Sockets: measured?.Sockets ?? fortioSockets(result.socketsUsed, shape.threads),
    SocketCount: result.socketsUsed,
    ConnectionStats: measured?.ConnectionStats ?? emptyFortioHistogram(),
    AbortOn: plan.abortOn ?? 0,
    Meshload: { ...result, plan },
  };
}

/** Fortio's error fields for a run that never started measuring: its parallel warm-up's message
 * ("warmup error"), and meshload's one-line reason as the exception. */
function fortioErrorReply(result: LoadResult): Pick<FortioJsonResult, 'error' | 'message' | 'exception' | 'exceptionDetails'> {
  if (result.stopReason !== 'warmup-failed') return {};
  return { error: true, message: 'warmup error', exception: errorSample(result.stopDetail ?? 'warm-up failed'), exceptionDetails: {} };
}

/** For results of versions that counted sockets for the whole run only: each connection opens at
 * least one, so the total is split evenly, the remainder going to the first: exact whenever no socket
 * was replaced (total == threads), a documented estimate otherwise; the sum is always the total. */
export function fortioSockets(total: number, threads: number): number[] {
  if (threads <= 0) return [];
  const each = Math.floor(total / threads);
  const extra = total - each * threads;
  return Array.from({ length: threads }, (_, i) => each + (i < extra ? 1 : 0));
}

/** IPCountMap: each thread's "ip:port", counted. Known without a DNS answer only when the URL's
 * host is an IP literal; otherwise the empty object (meshload does not keep resolved addresses). */
export function fortioIpCountMap(url: string, threads: number): Record<string, number> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return {};
  }
  const host = parsed.hostname;
  const isV6 = host.startsWith('[');
  if (!isV6 && !/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return {};
  const port = parsed.port !== '' ? parsed.port : parsed.protocol === 'https:' ? '443' : '80';
  return threads > 0 ? { [`${host}:${port}`]: threads } : {};
}

/** HTTPOptions.MethodOverride: set only when -X changed the method Fortio would pick (GET, or POST
 * with a payload). */
function methodOverride(method: string, payloadBytes: number): string {
  const natural = payloadBytes > 0 ? 'POST' : 'GET';
  return method === natural ? '' : method;
}

/** Go's time.RFC3339Nano (fraction without trailing zeros), in UTC. */
export function rfc3339Nano(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction === '' ? '' : '.' + fraction}Z`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** periodic.RunnerResults ID: `YYYY-MM-DD-HHMMSS[_RunID][_labels]` in the start time's zone, which
 * for Fortio is local time (time.Now()); so here too. Each run of non-alphanumeric characters
 * (ASCII letters and digits only) in the labels becomes one `_`, a trailing `_` is dropped, and the
 * whole is cut at 96 bytes. */
export function fortioRunId(startTime: Date, labels: string, runId = 0): string {
  let base =
    `${startTime.getFullYear()}-${pad2(startTime.getMonth() + 1)}-${pad2(startTime.getDate())}-` +
    `${pad2(startTime.getHours())}${pad2(startTime.getMinutes())}${pad2(startTime.getSeconds())}`;
  if (runId !== 0) base += `_${runId}`;
  if (labels === '') return base;
  let last = '_';
  base += last;
  for (const ch of labels) {
    if (/^[a-zA-Z0-9]$/.test(ch)) {
      last = ch;
    } else {
      if (last === '_') continue; // one separator at a time
      last = '_';
    }
    base += last;
  }
  if (last === '_') base = base.slice(0, -1);
  return base.length > 96 ? base.slice(0, 96) : base;
}

/** The file `-a` saves into -data-dir: the run ID plus ".json". */
export function fortioFileName(startTime: Date, labels: string, runId = 0): string {
  return `${fortioRunId(startTime, labels, runId)}.json`;
}
