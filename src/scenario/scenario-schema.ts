/** Scenario files: the zod schema, the single source of the types, the validation
 * (load-scenario.ts) and scenarios/schema.json. Pure. */
import { z } from 'zod';
import { resolveTarget } from '../util/resolve-target';
import { parseEchoParams } from '../server/echo-params';
import { parseDuration } from '../util/duration';
import { DEFAULT_STATS_MAX_BYTES } from '../stats/stat-sample';
import { formatBytes, parseByteSize } from '../util/byte-size';
import { LOAD_LIMITS } from '../model/load-plan';

// ---------------------------------------------------------------------------------------------
// Building blocks

/** Go duration syntax, as parseDuration reads it, without a sign: a scenario never waits a
 * negative time. Kept as a pattern so the JSON Schema can check it in editors too. */
const GO_DURATION = /^(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;

function durationMessage(input: unknown): string | undefined {
  if (input === undefined) return undefined; // "missing" comes from the shared error map
  if (typeof input === 'number') return `expected a duration with a unit, like ${input}s or ${input}ms`;
  return 'expected a duration like 250ms, 1.5s or 1m30s';
}

/** The longest duration a scenario may give: a Node timer holds 2^31-1 ms (about 596h 31m) and
 * silently fires after 1 ms beyond it; a round bound below that is refused with its path. */
export const MAX_DURATION_MS = 596 * 3_600_000;

/** A Go duration string, parsed to milliseconds. */
const duration = z
  .string({ error: (iss) => durationMessage(iss.input) })
  .regex(GO_DURATION, { error: (iss) => durationMessage(iss.input) })
  .transform((text) => parseDuration(text) as number)
  .refine((ms) => ms <= MAX_DURATION_MS, { error: 'must be at most 596h (the longest a timer waits)' });

const positiveDuration = duration.refine((ms) => ms > 0, { error: 'must be longer than 0' });

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an absolute http:// or https:// URL' });

const nonEmpty = z.string().min(1, { error: 'must not be empty' });

/** A size as `--stats-max-bytes` takes it: `1048576`, `64KiB`, `256MiB`, `1GB`. */
const byteSize = z
  .union([z.string(), z.int()])
  .transform((value, ctx) => {
    const bytes = parseByteSize(String(value));
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected a size like 1048576, 64MiB or 500MB' });
      return z.NEVER;
    }
    return bytes;
  });

const DEFAULT_STATS_MAX_BYTES_TEXT = formatBytes(DEFAULT_STATS_MAX_BYTES).replace(' ', '');

/** Integers have an upper bound each: `connections: 1e12` is a typo or an attack, refused with
 * its path instead of failing deep in the engine. */
const count = (minimum: number, maximum = 1_000_000_000) => z.int().min(minimum).max(maximum);

const LIMITS = LOAD_LIMITS;
/** Fortio's -payload-size cap, -maxpayloadsizekb's default (fnet/network.go MaxPayloadSize), as
 * `load` applies it (cli/request-flags.ts, which the scenario layer does not import). */
const MAX_PAYLOAD_SIZE = 256 * 1024;

// RFC 9110 token characters: header field names and methods.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Echo parameters as the server's strict mode (-echo-server-default-params, PUT /chaos) reads
 * them, so a typo fails validation instead of injecting no fault at all. */
const echoParams = z.string().superRefine((text, ctx) => {
  try {
    parseEchoParams(text, { maxDelayMs: Infinity, maxPayloadBytes: Infinity }, true);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
  }
});

// ---------------------------------------------------------------------------------------------
// Load: what `meshload load` flags say, per phase

const connectionReuse = z
  .string({ error: 'expected "min:max", like "10:20"' })
  .regex(/^\d+(?::\d+)?$/, { error: 'expected "min:max", like "10:20"' })
  .transform((text, ctx) => {
    const [min, max = min] = text.split(':').map(Number) as [number, number?];
    if (min < 1 || max < min) {
      ctx.addIssue({ code: 'custom', message: 'needs 1 <= min <= max' });
      return z.NEVER;
    }
    return { min, max };
  });

// gRPC load (issue 16): what `load -grpc` flags say, kept in a block of their own.

/** `Service/Method` as -grpc-method takes it, or a full `/package.Service/Method` path. */
const GRPC_METHOD = /^\/?[A-Za-z_][A-Za-z0-9_.]*\/[A-Za-z_][A-Za-z0-9_]*$/;

const grpcSpecSchema = z
  .strictObject({
    call: z
      .union([z.enum(['health', 'ping']), z.string().regex(GRPC_METHOD, { error: 'expected health, ping or a method like package.Service/Method' })], {
        error: 'expected health, ping or a method like package.Service/Method',
      })
      .optional()
      .meta({ description: '-grpc (health, the default), -ping, or -grpc-method Service/Method (payload as JSON, types by server reflection)' }),
    healthService: z.string().optional().meta({ description: '-healthservice: the service name a health check asks about' }),
    pingDelay: duration.optional().meta({ description: '-grpc-ping-delay: with call: ping, the server delays each reply this long' }),
    streams: count(1, LIMITS.streams).optional().meta({ description: '-s: calls in flight per HTTP/2 connection (default 1)' }),
    compression: z.boolean().optional().meta({ description: '-grpc-compression: gzip the request messages' }),
  })
  .meta({ description: 'gRPC load: unary calls to the target (host:port, http:// for h2c, https:// for TLS); headers are sent as metadata' });

export const loadSpecSchema = z
  .strictObject({
    connections: count(1, LIMITS.connections).optional().meta({ description: '-c: connections, each a closed loop with one request in flight (default 4)' }),
    qps: z.number().min(0).max(LIMITS.qps).optional().meta({ description: '-qps: total target rate; 0 = as fast as possible (default 8)' }),
    duration: positiveDuration.optional().meta({ description: '-t: run time, e.g. 30s (default 5s); not with requests' }),
    requests: count(1).optional().meta({ description: '-n: exactly this many calls; not with duration' }),
    open: z.boolean().optional().meta({ description: '--open: arrivals at qps whatever the responses' }),
    maxInflight: count(1, LIMITS.connections).optional().meta({ description: '--max-inflight: open model cap on requests in flight (default connections)' }),
    ramp: z
      .strictObject({ from: z.number().min(0).max(LIMITS.qps), to: z.number().min(0).max(LIMITS.qps) })
      .optional()
      .meta({ description: 'rate ramped linearly from `from` to `to` qps over the duration; replaces qps' }),
    method: z.string().regex(TOKEN, { error: 'expected an HTTP method like GET' }).optional().meta({ description: '-X (default GET, POST with a body)' }),
    headers: z
      .record(z.string().regex(TOKEN, { error: 'expected a header name (letters, digits, -)' }), z.string())
      .optional()
      .meta({ description: '-H: request headers; a phase adds to and overrides the defaults' }),
    payload: z.string().optional().meta({ description: '-payload: request body text; payloadSize above 0 wins over it, as in Fortio' }),
    payloadSize: count(0, MAX_PAYLOAD_SIZE)
      .optional()
      .meta({ description: `-payload-size: a body of this many random bytes (at most ${MAX_PAYLOAD_SIZE}, Fortio's -maxpayloadsizekb); wins over payload when above 0` }),
    contentType: z.string().optional().meta({ description: '-content-type' }),
    url: httpUrl.optional().meta({ description: 'absolute URL for this load, instead of target + path' }),
    path: z
      .string()
      .regex(/^\//, { error: 'expected a path starting with /' })
      .optional()
      .meta({ description: 'appended to target (or the embedded server URL), e.g. /status/503' }),
    h2: z.boolean().optional().meta({ description: '-h2: HTTP/2, one connection per -c' }),
    h2Multiplex: z.boolean().optional().meta({ description: '--h2-multiplex: with h2, connections are streams sharing one connection per 100' }),
    keepSocketOnError: z.boolean().optional().meta({ description: '--keep-socket-on-error: HTTP/1.1 keeps its socket after a non-2xx (Fortio closes it)' }),
    insecure: z.boolean().optional().meta({ description: '-k: do not verify TLS certificates' }),
    // Fortio's client flags (issue 14), as `load` takes them.
    resolve: z
      .string()
      .refine((text) => resolveTarget(text) !== undefined, { error: 'expected an IP address like 10.0.0.7 or ::1, or a host name' })
      .optional()
      .meta({ description: "-resolve: connect to this IP (or host name) instead of resolving the URL's host (Host and TLS SNI stay the URL's)" }),
    unixSocket: z.string().min(1).optional().meta({ description: '-unix-socket: connect over this unix domain socket instead of TCP' }),
    http10: z.boolean().optional().meta({ description: '-http1.0: HTTP/1.0 requests, no Host unless in headers, a new connection per request' }),
    user: z
      .string()
      .regex(/:/, { error: "expected user:password (give the password as ${ENV_VAR})" })
      .optional()
      .meta({ description: '-user: basic authentication "user:password", best as ${ENV_VAR}; sent as an Authorization header (replacing one in headers), redacted in every output' }),
    followRedirects: z.boolean().optional().meta({ description: '-L: follow 301, 302, 303, 307 and 308 redirects' }),
    timeout: positiveDuration.optional().meta({ description: '-timeout: per request (default 3s)' }),
    keepAlive: z.boolean().optional().meta({ description: '-keepalive (default true)' }),
    uniform: z.boolean().optional().meta({ description: '-uniform' }),
    jitter: z.boolean().optional().meta({ description: '-jitter' }),
    noCatchUp: z.boolean().optional().meta({ description: '-nocatchup' }),
    abortOn: z
      .int()
      .refine((code) => code === -1 || (code >= 100 && code <= 599), { error: 'expected an HTTP status (100-599) or -1 (first socket error)' })
      .optional()
      .meta({ description: '-abort-on: stop at the first response with this code; -1 = first socket error' }),
    allowInitialErrors: z.boolean().optional().meta({ description: '-allow-initial-errors' }),
    connectionReuse: connectionReuse.optional().meta({ description: '-connection-reuse "min:max"' }),
    workers: z
      .union([count(1, LIMITS.workers), z.literal('auto')], { error: 'expected a number of worker threads or "auto"' })
      .optional()
      .meta({ description: '--workers (default 1)' }),
    percentiles: z
      .array(z.number().gt(0).max(100))
      .min(1)
      .optional()
      .meta({ description: '-p: percentiles to report (default 50, 75, 90, 99, 99.9)' }),
    grpc: grpcSpecSchema.optional(),
  })
  .meta({
    description: 'load settings; a phase load is merged over `defaults`',
    allOf: [
      { not: { required: ['duration', 'requests'] } },
      { not: { required: ['url', 'path'] } },
      { not: { required: ['qps', 'ramp'] } },
    ],
  });

// ---------------------------------------------------------------------------------------------
// Steps: each is exactly one kind, keyed by the kind's name

const runStep = z
  .strictObject({
    run: z.union(
      [
        nonEmpty,
        z.strictObject({
          command: nonEmpty,
          timeout: positiveDuration.prefault('60s').meta({ description: 'default 60s' }),
        }),
      ],
      { error: 'expected a command, or { command, timeout }' },
    ),
  })
  .meta({ description: 'run a shell command; a non-zero exit fails the step' })
  .transform(({ run }) => ({ kind: 'run' as const, command: typeof run === 'string' ? run : run.command, timeout: typeof run === 'string' ? 60_000 : run.timeout }));

const sleepStep = z
  .strictObject({ sleep: duration })
  .meta({ description: 'wait this long, e.g. 2s' })
  .transform(({ sleep }) => ({ kind: 'sleep' as const, duration: sleep }));

const STAT_OPS = ['>', '>=', '<', '<=', '==', '!='] as const;

/** Envoy's /clusters thresholds, named as that page prints them (max_pending_requests...). */
const clusterThresholds = z
  .strictObject({
    maxConnections: count(0).optional(),
    maxPendingRequests: count(0).optional(),
    maxRequests: count(0).optional(),
    maxRetries: count(0).optional(),
  })
  .refine((t) => Object.keys(t).length > 0, { error: 'name at least one of maxConnections, maxPendingRequests, maxRequests, maxRetries' })
  .meta({ minProperties: 1 });

const waitCommon = {
  cluster: nonEmpty.optional().meta({ description: "the upstream cluster (default: sidecar's cluster)" }),
  timeout: positiveDuration.prefault('60s').meta({ description: 'fail the step after this long (default 60s)' }),
  interval: positiveDuration.prefault('1s').meta({ description: 'how often to look (default 1s)' }),
};

const waitForStep = z
  .strictObject({
    waitFor: z.union(
      [
        z.strictObject({
          stat: nonEmpty.meta({ description: 'stat name without the cluster prefix, e.g. upstream_rq_pending_overflow' }),
          op: z.enum(STAT_OPS),
          value: z.number(),
          ...waitCommon,
        }),
        z.strictObject({
          clusters: clusterThresholds.meta({ description: "thresholds the proxy's /clusters page must show (the DestinationRule took effect)" }),
          ...waitCommon,
        }),
      ],
      { error: 'expected { stat, op, value } or { clusters: { maxPendingRequests: ... } }' },
    ),
  })
  .meta({ description: "wait until the sidecar's stats or breaker thresholds say so" })
  .transform(({ waitFor }) => ({ kind: 'waitFor' as const, ...waitFor }));

const chaosAdmin = httpUrl.optional().meta({ description: "the echo server's admin URL (default: the embedded server's)" });

const chaosStep = z
  .strictObject({
    chaos: z.union(
      [
        z.strictObject({ set: echoParams.meta({ description: 'echo parameters, e.g. status=503:30&delay=100ms:10' }), admin: chaosAdmin }),
        z.strictObject({ clear: z.literal(true), admin: chaosAdmin }),
      ],
      { error: 'expected { set: "status=503:30" } or { clear: true }' },
    ),
  })
  .meta({ description: "change the echo server's injected faults (PUT/DELETE /chaos)" })
  .transform(({ chaos }) => ({
    kind: 'chaos' as const,
    /** The echo parameters to set; undefined when clearing. */
    set: 'set' in chaos ? chaos.set : undefined,
    clear: 'clear' in chaos,
    /** undefined: the embedded server's admin port. */
    admin: chaos.admin,
  }));

const startStep = z
  .strictObject({
    start: z.strictObject({
      command: nonEmpty,
      ready: httpUrl.optional().meta({ description: 'wait until this URL answers 2xx' }),
      timeout: positiveDuration.prefault('30s').meta({ description: 'time allowed to become ready (default 30s)' }),
    }),
  })
  .meta({ description: 'start a background process, stopped when the scenario ends' })
  .transform(({ start }) => ({ kind: 'start' as const, ...start }));

export const STEP_KINDS = ['run', 'sleep', 'waitFor', 'chaos', 'start'] as const;

export const stepSchema = z.union([runStep, sleepStep, waitForStep, chaosStep, startStep], {
  error: `expected a step: one of ${STEP_KINDS.join(', ')}`,
});

// ---------------------------------------------------------------------------------------------
// Server, sidecar, phases, the scenario

export const serverSpecSchema = z
  .strictObject({
    port: z.int().min(0).max(65535).default(0).meta({ description: '-http-port; 0 picks a free port' }),
    admin: z.boolean().default(true).meta({ description: 'serve /chaos on a free loopback port (needed by chaos steps without admin)' }),
    maxDelay: duration.prefault('1.5s').meta({ description: '-max-echo-delay' }),
    maxPayloadKb: count(0, LIMITS.payloadBytes / 1024).default(256).meta({ description: '-maxpayloadsizekb' }),
    defaultParams: echoParams.optional().meta({ description: '-echo-server-default-params, e.g. status=503:20' }),
    versionTag: nonEmpty.optional().meta({ description: '-version-tag' }),
    grpc: z.boolean().optional().meta({ description: '-grpc-port 0: also serve gRPC (ping, health, chaos by metadata and /chaos); phases with grpc: load it' }),
  })
  .meta({ description: 'start the embedded echo server and load it; not with target' });

export const sidecarSpecSchema = z
  .strictObject({
    stats: httpUrl.optional().meta({ description: '--stats: the proxy stats URL, e.g. http://localhost:15000/stats' }),
    statsCmd: nonEmpty.optional().meta({ description: "--stats-cmd: a command printing the stats, e.g. kubectl exec ... -- pilot-agent request GET stats" }),
    statsFile: nonEmpty.optional().meta({ description: '--stats-file' }),
    format: z.enum(['envoy-text', 'envoy-json', 'prometheus']).optional().meta({ description: '--stats-format (default: detected)' }),
    cluster: nonEmpty.optional().meta({ description: '--cluster: short service name, FQDN or full cluster name' }),
    interval: duration.prefault('1s').meta({ description: '--stats-interval; 0 = no gauge sampling' }),
    timeout: positiveDuration.prefault('10s').meta({ description: '--stats-timeout' }),
    maxBytes: byteSize.prefault(DEFAULT_STATS_MAX_BYTES_TEXT).meta({ description: '--stats-max-bytes: most bytes one stats read may take, e.g. 64MiB' }),
  })
  .meta({
    description: "where to read the proxy's stats: exactly one of stats, statsCmd, statsFile",
    oneOf: [{ required: ['stats'] }, { required: ['statsCmd'] }, { required: ['statsFile'] }],
  });

const phaseSchema = z.strictObject({
  name: nonEmpty,
  description: z.string().optional(),
  steps: z.array(stepSchema).default([]).meta({ description: 'run in order before the load' }),
  load: loadSpecSchema.optional(),
  expect: z.array(nonEmpty).default([]).meta({ description: 'checks on the result, e.g. "status(503) >= 20%"' }),
});

export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: nonEmpty,
    description: z.string().optional(),
    target: httpUrl.optional().meta({ description: 'the URL to load; not with server' }),
    server: serverSpecSchema.optional(),
    sidecar: sidecarSpecSchema.optional(),
    defaults: loadSpecSchema.optional().meta({ description: 'load settings every phase load starts from' }),
    secretHeaders: z
      .array(z.string().regex(TOKEN, { error: 'expected a header name (letters, digits, -)' }))
      .default([])
      .meta({ description: '--secret-header: more headers whose values every output writes as <redacted> (Authorization, Cookie, Proxy-Authorization and names containing token, secret, password, api-key or apikey always are)' }),
    phases: z.array(phaseSchema).min(1),
    always: z.array(stepSchema).default([]).meta({ description: 'steps run after the phases, whatever happened' }),
  })
  .meta({ title: 'meshload scenario', not: { required: ['target', 'server'] } });

/** The JSON Schema of a scenario file as written (durations are strings there). */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(scenarioSchema, { io: 'input', target: 'draft-07' }) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Types

/** A scenario as written, parsed: durations in milliseconds, steps tagged with their kind. */
export type ScenarioSpec = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** One load block as written (durations in ms); unset fields come from `defaults`, then Fortio. */
export type LoadSpec = z.output<typeof loadSpecSchema>;
export type Step = z.output<typeof stepSchema>;
export type ServerSpec = z.output<typeof serverSpecSchema>;
export type SidecarSpec = z.output<typeof sidecarSpecSchema>;

/** A phase's load merged over `defaults`, every default filled. Times in milliseconds. */
export interface ResolvedLoad {
  connections: number;
  qps: number;
  /** Ignored when `requests` is set, as -t is with -n. */
  duration: number;
  requests: number | undefined;
  /** The open model's in-flight cap (default: connections); undefined for the closed model. */
  open: { maxInflight: number } | undefined;
  ramp: { from: number; to: number } | undefined;
  method: string;
  headers: Record<string, string>;
  payload: string | undefined;
  payloadSize: number | undefined;
  contentType: string | undefined;
  /** Absolute URL when given; otherwise the runner joins target (or the embedded server) and `path`. */
  url: string | undefined;
  path: string | undefined;
  h2: boolean;
  h2Multiplex: boolean;
  keepSocketOnError: boolean;
  insecure: boolean;
  /** Fortio's client flags (issue 14); see LoadPlan. */
  resolve: string | undefined;
  unixSocket: string | undefined;
  http10: boolean;
  /** "user:password" for -user: a secret, sent only as an Authorization header. */
  user: string | undefined;
  followRedirects: boolean;
  timeout: number;
  keepAlive: boolean;
  uniform: boolean;
  jitter: boolean;
  noCatchUp: boolean;
  abortOn: number | undefined;
  allowInitialErrors: boolean;
  connectionReuse: { min: number; max: number } | undefined;
  workers: number | 'auto';
  percentiles: number[];
  /** gRPC load (`load -grpc ...`); undefined for HTTP. */
  grpc: ResolvedGrpc | undefined;
  /** The scenario's `secretHeaders:`, lower case: redacted in results with the usual ones. */
  secretHeaders: string[];
}

/** A phase's gRPC block, defaults filled as `load -grpc` fills them. */
export interface ResolvedGrpc {
  /** 'health', 'ping' or a method `Service/Method`. */
  call: string;
  healthService: string;
  pingDelay: number;
  streams: number;
  compression: boolean;
}

export interface Phase {
  name: string;
  description: string | undefined;
  steps: Step[];
  /** undefined: the phase only runs steps and checks. */
  load: ResolvedLoad | undefined;
  expect: string[];
}

export type Scenario = Omit<ScenarioSpec, 'phases' | '$schema'> & { phases: Phase[] };
