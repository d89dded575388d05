/** What a load run will do, validated, with every default filled: the output of flag or
 * scenario parsing and the input of the engine. Plain data. */
import { redactCredentialsOf, redactHeaders, redactUrl } from '../util/redact';

export { ALWAYS_SECRET_HEADERS } from '../util/redact';

/** PEM text (strings, so a plan crosses worker threads unchanged) and the SNI name. */
export interface TlsClientOptions {
  cert?: string;
  key?: string;
  /** Replaces the system CAs for verifying the server. */
  ca?: string;
  /** SNI and the name the certificate is checked against; default the URL's host name. */
  servername?: string;
}

/** The gRPC part of a plan: plain data (crosses worker threads, echoed in results). */
export interface GrpcLoadPlan {
  kind: 'health' | 'ping' | 'method';
  /** "/package.Service/Method". */
  path: string;
  /** The request message, protobuf-encoded, base64. */
  messageBase64: string;
  /** -s: calls in flight per HTTP/2 connection; the plan's `connections` is -c times this. */
  streams: number;
  compression: boolean;
  /** Fortio's RunType ("GRPC Ping Delay=10ms PayloadLength=5"). */
  runType: string;
  /** The destination as given (Fortio's JSON Destination). */
  destination: string;
}

export interface LoadPlan {
  /** The parsed target the client sends to (WHATWG form: `http://host:8080/`). */
  url: string;
  /** The target as typed on `load`'s command line, when it was: Fortio prints it so in its start
   * lines and writes it, with http:// added when it has none, as the JSON's URL. */
  typedUrl?: string;
  method: string;
  /** In order, as given (-H); values of secret headers are redacted only in results and logs. */
  headers: Array<[string, string]>;
  /** Request body (-payload, -payload-file, -payload-size); empty for none. */
  payload: Buffer;
  /** -c: closed-loop connections (each one request in flight), or generators in the open model. */
  connections: number;
  /** -qps: total target rate across connections; 0 means as fast as possible. */
  qps: number;
  /** -t in milliseconds; 0 means until interrupted. Ignored when `requests` is set. */
  durationMs: number;
  /** -n: exact number of timed calls, split across connections (remainder to the first). */
  requests: number | undefined;
  /** -uniform: stagger connection start times over one period instead of starting together. */
  uniform: boolean;
  /** -jitter: +/-10% random noise on each pause. */
  jitter: boolean;
  /** -nocatchup: skip slots that are already late instead of sending them in a burst. */
  noCatchUp: boolean;
  /** -timeout in milliseconds, per request. */
  timeoutMs: number;
  /** -keepalive=false sends Connection: close and uses a new socket per request. */
  keepAlive: boolean;
  /** -h2: HTTP/2 (h2c prior knowledge for http://, ALPN for https://). */
  h2: boolean;
  /** --keep-socket-on-error: HTTP/1.1 keeps its socket after a non-2xx. Absent or false is
   * Fortio's model: closed after any status but 2xx and 418, a new one for the next call. */
  reuseAfterError?: boolean;
  /** --h2-multiplex: -c Connections are streams sharing one session per 100. Absent or false is
   * Fortio's -h2: one session (TCP connection) per Connection. */
  h2Multiplex?: boolean;
  /** -resolve: connect to this IP instead of resolving the URL's host (Host and SNI unchanged). */
  resolve?: string;
  /** -unix-socket: connect over this unix domain socket instead of TCP. */
  unixSocket?: string;
  /** -http1.0: HTTP/1.0 requests, a new connection for each (Fortio's fast client). */
  http10?: boolean;
  /** -L: Fortio's std client, which follows redirects; the final answer is counted. */
  followRedirects?: boolean;
  /** -k: do not verify TLS certificates. */
  insecure: boolean;
  /** -cert, -key, -cacert (PEM text) and the SNI name from -H Host; never shown in results. */
  tls?: TlsClientOptions;
  /** -abort-on: stop at the first response with this code (-1: first socket error). */
  abortOn: number | undefined;
  /** -allow-initial-errors: a failed warm-up does not abort the run. */
  allowInitialErrors: boolean;
  /** -sequential-warmup: warm-up calls one connection after another, stopping at the first
   * failure (unless errors are allowed); absent or false warms all connections at once. */
  sequentialWarmup?: boolean;
  /** -runid: Fortio's RunID, echoed in the JSON and its ID (and -a's file name) when not 0. */
  runId?: number;
  /** -connection-reuse MIN:MAX: reconnect after a random number of requests in [min, max]. */
  connectionReuse: { min: number; max: number } | undefined;
  /** A rate changing linearly from `from` to `to` qps over `durationMs` (scenario `ramp:`);
   * `qps` then holds `from`. */
  ramp: { from: number; to: number } | undefined;
  /** --open: arrivals at `qps` whatever the responses, at most `maxInflight` at once. */
  open: { maxInflight: number } | undefined;
  /** --workers: worker threads sharing the connections; 1 runs on the main thread. */
  workers: number;
  /** -p: percentiles to report. */
  percentiles: number[];
  /** -r: the bucket width of Fortio's latency histograms, in seconds (absent: 0.001). */
  histogramResolution?: number;
  /** -offset: where Fortio's latency buckets start, in seconds (absent: 0). */
  histogramOffset?: number;
  /** -labels: free text naming the run. */
  labels: string;
  /** Header names whose values are written as <redacted> in results and logs, beyond those
   * util/redact always hides (lower case). */
  secretHeaders: string[];
  /** -grpc: unary gRPC calls to `url` (http:// h2c or https://) instead of HTTP requests. */
  grpc?: GrpcLoadPlan;
}

/** Bounds of a load, the same for flags and scenarios: far beyond what one generator can do,
 * short of what breaks it. Connections (and gRPC calls in flight, -c x -s): one client address
 * has about 28,000 ephemeral ports per target, and -c 1000000 took 3.3 GB before failing; worker
 * threads: each is a V8 isolate (about 18 MB measured, 200 took 3.5 GB), and more than the cores
 * only add overhead. More load than this is `meshload k8s job --parallelism N`. */
export const LOAD_LIMITS = { connections: 100_000, qps: 10_000_000, payloadBytes: 256 * 1024 * 1024, workers: 64, streams: 1000 } as const;

/** Fortio's defaults (-c 4 -qps 8 -t 5s -timeout 3s -p "50,75,90,99,99.9"). */
export const LOAD_DEFAULTS = {
  connections: 4,
  qps: 8,
  durationMs: 5000,
  timeoutMs: 3000,
  percentiles: [50, 75, 90, 99, 99.9],
} as const;

/** A plan as results and logs show it: secret header values, the URL's credentials and secret
 * query values replaced, also in the labels made from the URL. The plan sent is not changed. */
export function redactPlan<P extends Pick<LoadPlan, 'url' | 'typedUrl' | 'headers' | 'labels' | 'secretHeaders'>>(plan: P): P {
  // The client key is a secret and the PEM texts are noise: results show none of -cert/-key/-cacert.
  const { tls: _tls, ...rest } = plan as P & { tls?: unknown };
  // Like the HTTP payload, a gRPC request message is not kept in results (its size is in RunType).
  const grpc = (plan as { grpc?: LoadPlan['grpc'] }).grpc;
  const typedUrl = plan.typedUrl;
  return {
    ...(rest as P),
    ...(grpc !== undefined ? { grpc: { ...grpc, messageBase64: '' } } : {}),
    url: redactUrl(plan.url),
    ...(typedUrl !== undefined ? { typedUrl: redactTypedUrl(typedUrl) } : {}),
    headers: redactHeaders(plan.headers, plan.secretHeaders),
    labels: redactCredentialsOf(plan.labels, plan.url),
  };
}

/** fhttp/http_client.go URLSchemeCheck (:163-175): a URL that starts with neither http:// nor
 * https:// (any case) gets http:// in front; anything else is kept as typed. */
export function hasFortioScheme(typed: string): boolean {
  return /^https?:\/\//i.test(typed);
}

/** The URL Fortio's JSON carries: as typed, with http:// added by URLSchemeCheck. */
export function fortioUrl(plan: Pick<LoadPlan, 'url' | 'typedUrl'>): string {
  const typed = plan.typedUrl;
  if (typed === undefined) return plan.url;
  return hasFortioScheme(typed) ? typed : `http://${typed}`;
}

/** The target as Fortio's start lines show it (as typed), its credentials redacted. */
export function shownUrl(plan: Pick<LoadPlan, 'url' | 'typedUrl'>): string {
  return plan.typedUrl === undefined ? redactUrl(plan.url) : redactTypedUrl(plan.typedUrl);
}

/** A typed URL without its credentials or secret query values, kept scheme-less if it was. */
function redactTypedUrl(typed: string): string {
  return hasFortioScheme(typed) ? redactUrl(typed) : redactUrl(`http://${typed}`).slice('http://'.length);
}
