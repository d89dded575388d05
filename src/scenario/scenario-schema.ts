/** Scenario files: the zod schema (the single source of the types, the validation and
 * scenarios/schema.json), loading a YAML file, and validation that reports every problem at
 * once with its path and line. Pure: no I/O, never mutates its input. */
import { z } from 'zod';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { isIP } from 'node:net';
import { LOAD_DEFAULTS } from '../model/load-plan';
import { parseGrpcTarget } from '../grpc/grpc-target';
import { parseEchoParams } from '../server/echo-params';
import { parseDuration } from '../util/duration';
import { MeshloadError } from '../util/errors';
import { suggest } from '../util/suggest';
import { expandDocument, protectReferences, restoreReferences } from './expand-env';
import { DEFAULT_STATS_MAX_BYTES } from '../stats/stat-sample';
import { formatBytes, parseByteSize } from '../util/byte-size';

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

/** Bounds of the load settings; far beyond what one generator can do, short of what breaks it. */
const LIMITS = { connections: 100_000, qps: 10_000_000, payloadBytes: 256 * 1024 * 1024, workers: 1024 } as const;
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
    streams: count(1, 1000).optional().meta({ description: '-s: calls in flight per HTTP/2 connection (default 1)' }),
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
      .refine((text) => isIP(text.replace(/^\[(.*)\]$/, '$1')) !== 0, { error: 'expected an IP address like 10.0.0.7 or ::1' })
      .optional()
      .meta({ description: "-resolve: connect to this IP instead of resolving the URL's host (Host and TLS SNI stay the URL's)" }),
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

// ---------------------------------------------------------------------------------------------
// Validation

type Segment = string | number;

export interface ScenarioIssue {
  /** `phases[0].load.connections`; '' for the whole file. */
  path: string;
  /** 1-based; undefined when the input did not come from a YAML text. */
  line: number | undefined;
  message: string;
}

export interface ValidateOptions {
  /** Checks one expectation; returns an error message, or undefined when it is valid. */
  checkExpression?: (text: string) => string | undefined;
}

export interface LoadOptions extends ValidateOptions {
  /** Fills `${VAR}` in scalar values (see expand-env.ts); without it references stay text. */
  env?: Record<string, string | undefined>;
  /** The fix named for an unset variable; NAME is replaced by its name. */
  unsetHint?: string;
}

/** Aliases a scenario may expand: a handful is reuse, thousands is a billion-laughs bomb. */
const MAX_ALIASES = 100;

/** Finds the line of a path in the source; `loadScenario` passes one built from the YAML. */
type LineOf = (path: readonly Segment[]) => Position | undefined;
interface Position {
  line: number;
  col: number;
}

export type ValidationResult = { ok: true; scenario: Scenario } | { ok: false; issues: ScenarioIssue[] };

export class ScenarioError extends MeshloadError {
  constructor(
    readonly file: string,
    readonly issues: ScenarioIssue[],
  ) {
    const first = issues[0];
    const summary = `${file}: invalid scenario, ${issues.length} problem${issues.length === 1 ? '' : 's'}`;
    // One line, as MeshloadError promises; report() has every issue.
    super('E_USAGE', first === undefined ? summary : `${summary}; first: ${formatIssue(first)}`);
    this.name = 'ScenarioError';
  }

  /** Every issue, one per line, under a header naming the file. */
  report(): string {
    return [`${this.file}: invalid scenario, ${this.issues.length} problem${this.issues.length === 1 ? '' : 's'}:`, ...this.issues.map((i) => `  ${formatIssue(i)}`)].join('\n');
  }
}

/** `phases[1].expect[0] (line 14): unknown function "stauts"`. */
export function formatIssue(issue: ScenarioIssue): string {
  const where = (issue.path === '' ? '(file)' : issue.path) + (issue.line === undefined ? '' : ` (line ${issue.line})`);
  return `${where}: ${issue.message}`;
}

export function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Parses and validates a scenario file. Throws ScenarioError listing every problem: YAML
 * syntax errors, or else every schema and cross-field problem, each with its line. */
export function loadScenario(text: string, file: string, options: LoadOptions = {}): Scenario {
  const lineCounter = new LineCounter();
  // With variables, references are tokens while YAML parses (see protectReferences).
  const source = options.env === undefined ? { text, restore: (parsed: string) => parsed } : protectReferences(text);
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number): Position => lineCounter.linePos(offset);
  if (doc.errors.length > 0) {
    // Syntax errors leave the tree unreliable: validating it would report noise.
    throw new ScenarioError(
      file,
      doc.errors.map((error) => ({ path: '', line: lineAt(error.pos[0]).line, message: `YAML syntax: ${source.restore(error.message).replace(/\s+/g, ' ').trim()}` })),
    );
  }
  const unsetHint = options.unsetHint ?? 'set it, or give a default as ${NAME:-value}';
  if (options.env !== undefined) restoreReferences(doc, source.restore);
  const expansion = options.env === undefined ? [] : expandDocument(doc, options.env, unsetHint);
  if (expansion.length > 0) {
    throw new ScenarioError(
      file,
      expansion.map((issue) => ({ path: formatPath(issue.path), line: issue.offset === undefined ? undefined : lineAt(issue.offset).line, message: issue.message })),
    );
  }
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    // yaml throws a ReferenceError for an alias bomb: bad input, not a bug.
    if (!(error instanceof ReferenceError)) throw error;
    throw new ScenarioError(file, [{ path: '', line: undefined, message: `more than ${MAX_ALIASES} alias expansions (*name): refused as a resource exhaustion attack` }]);
  }
  const result = validate(input, options, (path) => lineOfPath(doc, path, lineAt));
  if (!result.ok) throw new ScenarioError(file, result.issues);
  return result.scenario;
}

/** Validates a value already parsed (from YAML or JSON); issues have no lines. */
export function validateScenario(input: unknown, options: ValidateOptions = {}): ValidationResult {
  return validate(input, options, () => undefined);
}

function validate(input: unknown, options: ValidateOptions, lineOf: LineOf): ValidationResult {
  if (input === null || input === undefined) {
    return { ok: false, issues: [{ path: '', line: lineOf([])?.line, message: 'empty scenario: it needs at least name and phases' }] };
  }
  const found: Array<{ path: Segment[]; message: string }> = [];
  const claimed: Segment[][] = [];
  crossFieldRules(input, options, found, claimed);
  const crossCount = found.length;
  const parsed = scenarioSchema.safeParse(input, { error: defaultMessage });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) collectIssue(issue, [], scenarioSchema, input, found);
  }
  const seen = new Set<string>();
  const located: Array<{ issue: ScenarioIssue; col: number }> = [];
  for (const [index, { path, message }] of found.entries()) {
    // A step whose kind is wrong is reported once, not again by every union branch under it.
    if (index >= crossCount && claimed.some((prefix) => isPrefix(prefix, path))) continue;
    const key = `${formatPath(path)}\n${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const position = lineOf(path);
    located.push({ issue: { path: formatPath(path), line: position?.line, message }, col: position?.col ?? 0 });
  }
  if (located.length > 0 || !parsed.success) {
    // Stable sort: in file order, issues at the same place in the order found.
    located.sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || a.col - b.col);
    return { ok: false, issues: located.map((l) => l.issue) };
  }
  return { ok: true, scenario: resolve(parsed.data) };
}

function isPrefix(prefix: readonly Segment[], path: readonly Segment[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => segment === path[i]);
}

// ---------------------------------------------------------------------------------------------
// Turning zod issues into messages

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  record: 'a mapping (key: value)',
};

function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `a string (${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value)})`;
  if (typeof value === 'number' && !Number.isInteger(value)) return `a number (${value})`;
  return `${typeof value === 'number' ? 'a number' : typeof value} (${String(value)})`;
}

/** The per-parse error map: one plain sentence per zod issue kind. Schema-level messages
 * (durations, URLs, unions) take precedence over it. */
function defaultMessage(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type': {
      const expected = TYPE_NAMES[iss.expected] ?? iss.expected;
      if (iss.input === undefined) return `missing (expected ${expected})`;
      const hint = iss.expected === 'string' && (typeof iss.input === 'number' || typeof iss.input === 'boolean') ? `; quote it: "${String(iss.input)}"` : '';
      return `expected ${expected}, got ${describeValue(iss.input)}${hint}`;
    }
    case 'too_small':
      if (iss.origin === 'array') return `needs at least ${String(iss.minimum)} item${Number(iss.minimum) === 1 ? '' : 's'}`;
      if (iss.origin === 'string') return 'must not be empty';
      return iss.inclusive === false ? `must be more than ${String(iss.minimum)}` : `must be at least ${String(iss.minimum)}`;
    case 'too_big':
      return iss.inclusive === false ? `must be less than ${String(iss.maximum)}` : `must be at most ${String(iss.maximum)}`;
    case 'invalid_value': {
      const values = iss.values.map((v) => JSON.stringify(v));
      const close = typeof iss.input === 'string' ? suggest(iss.input, iss.values.map(String)) : undefined;
      const expected = values.length === 1 ? `expected ${values[0]}` : `expected one of ${values.join(', ')}`;
      return close === undefined ? expected : `${expected} - did you mean "${close}"?`;
    }
    default:
      return undefined;
  }
}

type AnySchema = z.ZodType;

/** Steps into wrappers (optional, default, transforms) down to the schema that owns the data. */
function unwrap(schema: AnySchema): AnySchema {
  let current: AnySchema = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodNullable) current = current.unwrap() as AnySchema;
    else if (current instanceof z.ZodPipe) current = current.in as AnySchema;
    else return current;
  }
}

function schemaAt(schema: AnySchema | undefined, path: readonly Segment[]): AnySchema | undefined {
  let current = schema === undefined ? undefined : unwrap(schema);
  for (const segment of path) {
    // zod reports straight through a union when one branch fits: follow the branch that has the key.
    if (current instanceof z.ZodUnion) current = objectOptions(current).find((option) => typeof segment === 'string' && segment in option.shape);
    if (current instanceof z.ZodObject && typeof segment === 'string') current = current.shape[segment] as AnySchema | undefined;
    else if (current instanceof z.ZodArray) current = current.element as AnySchema;
    else if (current instanceof z.ZodRecord) current = current.valueType as AnySchema;
    else return undefined;
    if (current === undefined) return undefined;
    current = unwrap(current);
  }
  return current;
}

function objectOptions(union: z.ZodUnion): z.ZodObject[] {
  return union.options.map((option) => unwrap(option as AnySchema)).filter((option): option is z.ZodObject => option instanceof z.ZodObject);
}

/** The keys the object at a path accepts; for a union of objects, those of the branch sharing
 * the most keys with what was written. */
function knownKeys(owner: AnySchema | undefined, value: unknown): string[] {
  if (owner instanceof z.ZodObject) return Object.keys(owner.shape);
  if (!(owner instanceof z.ZodUnion)) return [];
  const written = isRecord(value) ? Object.keys(value) : [];
  let best: string[] = [];
  let bestShared = -1;
  for (const option of objectOptions(owner)) {
    const keys = Object.keys(option.shape);
    const shared = written.filter((key) => keys.includes(key)).length;
    if (shared > bestShared) [best, bestShared] = [keys, shared];
  }
  return best;
}

function valueAt(value: unknown, path: readonly Segment[]): unknown {
  let current = value;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (isRecord(current) && typeof segment === 'string') current = current[segment];
    else return undefined;
  }
  return current;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const close = suggest(key, known);
  return `unknown key "${key}"${close === undefined ? `; expected one of ${known.join(', ')}` : ` - did you mean "${close}"?`}`;
}

/** `base` is where `issue.path` starts: union branches report paths relative to the union. */
function collectIssue(issue: z.core.$ZodIssue, base: Segment[], baseSchema: AnySchema | undefined, input: unknown, out: Array<{ path: Segment[]; message: string }>): void {
  const path = [...base, ...(issue.path as Segment[])];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schemaAt(baseSchema, issue.path as Segment[]), valueAt(input, path));
      for (const key of issue.keys) out.push({ path: [...path, key], message: unknownKeyMessage(key, known) });
      return;
    }
    case 'invalid_union': {
      const branch = pickBranch(issue.errors, valueAt(input, path));
      const union = schemaAt(baseSchema, issue.path as Segment[]);
      if (branch === undefined || !(union instanceof z.ZodUnion)) {
        out.push({ path, message: issue.message });
        return;
      }
      const branchSchema = union.options[branch] as AnySchema | undefined;
      for (const inner of issue.errors[branch] ?? []) collectIssue(inner, path, branchSchema, input, out);
      return;
    }
    default:
      out.push({ path, message: issue.message });
  }
}

/** Which union branch the user meant, judged by shape: a branch of the wrong type, missing
 * its own keys or rejecting keys given is a worse fit. A tie (or a scalar) is reported as the
 * union's own message, which lists the forms. */
function pickBranch(branches: z.core.$ZodIssue[][], value: unknown): number | undefined {
  if (!isRecord(value)) return undefined;
  let best: number | undefined;
  let bestScore = Infinity;
  let tie = false;
  branches.forEach((issues, index) => {
    let score = 0;
    for (const issue of issues) {
      if (issue.path.length === 0 && issue.code === 'invalid_type') score += 100;
      else if (issue.path.length === 0 && issue.code === 'unrecognized_keys') score += issue.keys.length;
      else if (issue.path.length === 1 && issue.code === 'invalid_type' && value[String(issue.path[0])] === undefined) score += 1;
    }
    if (score < bestScore) {
      best = index;
      bestScore = score;
      tie = false;
    } else if (score === bestScore) tie = true;
  });
  return tie ? undefined : best;
}

// ---------------------------------------------------------------------------------------------
// Rules across fields, checked on the raw input so they are reported even when other parts of
// the file are invalid (zod skips an object's refinements once a field inside it failed).

function crossFieldRules(input: unknown, options: ValidateOptions, out: Array<{ path: Segment[]; message: string }>, claimed: Segment[][]): void {
  if (!isRecord(input)) return;
  const add = (path: Segment[], message: string): void => {
    out.push({ path, message });
  };
  const has = (object: unknown, key: string): boolean => isRecord(object) && object[key] !== undefined;

  if (has(input, 'target') && has(input, 'server')) add(['server'], 'use either target (an existing service) or server (the embedded echo server), not both');
  const server = input['server'];
  const adminServer = isRecord(server) && server['admin'] !== false;

  const sidecar = input['sidecar'];
  if (isRecord(sidecar)) {
    const sources = ['stats', 'statsCmd', 'statsFile'].filter((key) => has(sidecar, key));
    if (sources.length === 0) add(['sidecar'], 'needs one of stats (URL), statsCmd or statsFile');
    for (const extra of sources.slice(1)) add(['sidecar', extra], `use one stats source; ${sources[0]} is already set`);
  }

  const defaults = input['defaults'];
  if (isRecord(defaults)) loadRules(defaults, undefined, ['defaults'], add);

  const checkSteps = (steps: unknown, path: Segment[]): void => {
    if (!Array.isArray(steps)) return;
    steps.forEach((step: unknown, index) => {
      const at = [...path, index];
      if (!isRecord(step)) return;
      const keys = Object.keys(step);
      const kinds = keys.filter((key) => (STEP_KINDS as readonly string[]).includes(key));
      if (kinds.length !== 1) {
        claimed.push(at);
        if (kinds.length > 1) add(at, `a step has exactly one kind; found ${kinds.join(' and ')}: split it into ${kinds.length} steps`);
        else if (keys.length === 0) add(at, `empty step; use one of ${STEP_KINDS.join(', ')}`);
        else
          for (const key of keys) {
            const close = suggest(key, STEP_KINDS);
            add([...at, key], `unknown step kind "${key}"${close === undefined ? `; use one of ${STEP_KINDS.join(', ')}` : ` - did you mean "${close}"?`}`);
          }
        return;
      }
      const chaos = step['chaos'];
      if (isRecord(chaos) && chaos['admin'] === undefined && !adminServer)
        add([...at, 'chaos'], 'needs admin: the chaos server admin URL, or server: with admin enabled (the default) to use the embedded one');
      if (step['waitFor'] !== undefined && !isRecord(sidecar)) add([...at, 'waitFor'], "reads the proxy's stats: add sidecar: with stats, statsCmd or statsFile");
    });
  };

  const phases = input['phases'];
  const names = new Map<string, number>();
  let needsUrl = false;
  if (Array.isArray(phases)) {
    phases.forEach((phase: unknown, index) => {
      const at: Segment[] = ['phases', index];
      if (!isRecord(phase)) return;
      const name = phase['name'];
      if (typeof name === 'string') {
        const earlier = names.get(name);
        if (earlier !== undefined) add([...at, 'name'], `duplicate phase name "${name}" (also phases[${earlier}]); results are reported by name`);
        else names.set(name, index);
      }
      if (!has(phase, 'load') && !has(phase, 'steps') && !has(phase, 'expect')) add(at, 'empty phase: give it load, steps or expect');
      const load = phase['load'];
      if (isRecord(load)) {
        loadRules(load, isRecord(defaults) ? defaults : undefined, [...at, 'load'], add);
        const merged = { ...(isRecord(defaults) ? defaults : {}), ...load };
        if (merged['url'] === undefined) needsUrl = true;
        if (isRecord(merged['grpc'])) grpcTargetRules(input, merged, [...at, 'load'], add);
      }
      checkSteps(phase['steps'], [...at, 'steps']);
      const expectations = phase['expect'];
      if (Array.isArray(expectations) && options.checkExpression !== undefined) {
        expectations.forEach((text: unknown, i) => {
          if (typeof text !== 'string' || text === '') return; // the schema reports it
          const message = checkSafely(options.checkExpression as (t: string) => string | undefined, text);
          if (message !== undefined) add([...at, 'expect', i], message);
        });
      }
    });
  }
  checkSteps(input['always'], ['always']);
  if (needsUrl && !has(input, 'target') && !has(input, 'server'))
    add(['target'], 'missing: set target (the URL to load) or server (start the embedded echo server), or url in every load');
}

function checkSafely(check: (text: string) => string | undefined, text: string): string | undefined {
  try {
    return check(text);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Rules inside one load block, and those that hold only once it is merged over `defaults`. */
function loadRules(load: Record<string, unknown>, defaults: Record<string, unknown> | undefined, path: Segment[], add: (path: Segment[], message: string) => void): void {
  const set = (key: string): boolean => load[key] !== undefined;
  const pairs: Array<[string, string, string]> = [
    ['duration', 'requests', 'use either duration or requests, not both'],
    ['url', 'path', 'use either url or path (appended to target), not both'],
    ['qps', 'ramp', 'use either qps or ramp (which sets the rate), not both'],
  ];
  for (const [a, b, message] of pairs) if (set(a) && set(b)) add([...path, b], message);
  const merged = mergeRaw(defaults ?? {}, load);
  if (merged['maxInflight'] !== undefined && merged['open'] !== true) add([...path, 'maxInflight'], 'applies only to the open model: add open: true');
  if (set('ramp') && merged['duration'] === undefined) add([...path, 'ramp'], 'needs duration: the rate is ramped over it');
  if (merged['open'] === true && merged['qps'] === 0) add([...path, 'qps'], 'the open model needs a rate above 0 (arrivals per second)');
  grpcRules(merged, path, add);
}

/** HTTP-only load keys, refused beside grpc: rather than silently ignored. */
const HTTP_ONLY_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['path', 'a gRPC destination has no path: the method is in grpc.call'],
  ['method', 'gRPC calls are POSTs: drop method'],
  ['h2', 'gRPC always speaks HTTP/2: drop h2'],
  ['h2Multiplex', 'with grpc, streams per connection is grpc.streams'],
  ['payloadSize', 'gRPC sends payload as the message (ping text or method JSON): use payload'],
  ['contentType', 'gRPC sets application/grpc itself: drop contentType'],
  ['keepSocketOnError', 'a gRPC failure is a status on a stream: the connection is kept anyway'],
  // The gRPC client dials the destination itself: these would be silently ignored, so refuse them.
  ['resolve', 'the gRPC client does not take resolve yet: give the IP in the target'],
  ['unixSocket', 'the gRPC client connects over TCP only'],
  ['http10', 'gRPC needs HTTP/2: drop http10'],
  ['followRedirects', 'gRPC has no redirects: drop followRedirects'],
];

/** A gRPC phase: no HTTP-only keys, call-specific keys only with their call, and a destination
 * `load -grpc` accepts (the embedded server must serve gRPC). */
function grpcRules(merged: Record<string, unknown>, path: Segment[], add: (path: Segment[], message: string) => void): void {
  const grpc = merged['grpc'];
  if (!isRecord(grpc)) return;
  for (const [key, why] of HTTP_ONLY_KEYS) if (merged[key] !== undefined) add([...path, key], `not with grpc: ${why}`);
  const call = typeof grpc['call'] === 'string' ? grpc['call'] : 'health';
  if (grpc['pingDelay'] !== undefined && call !== 'ping') add([...path, 'grpc', 'pingDelay'], 'applies only to call: ping');
  if (grpc['healthService'] !== undefined && call !== 'health') add([...path, 'grpc', 'healthService'], 'applies only to call: health');
}

function grpcTargetRules(input: Record<string, unknown>, merged: Record<string, unknown>, path: Segment[], add: (path: Segment[], message: string) => void): void {
  const server = input['server'];
  if (merged['url'] === undefined && isRecord(server) && server['grpc'] !== true) add([...path, 'grpc'], 'loads the embedded server over gRPC: add grpc: true to server');
  const destination = typeof merged['url'] === 'string' ? merged['url'] : isRecord(server) ? undefined : input['target'];
  if (typeof destination !== 'string') return;
  try {
    parseGrpcTarget(destination, false);
  } catch (error) {
    add([...path, typeof merged['url'] === 'string' ? 'url' : 'grpc'], `${error instanceof Error ? error.message : String(error)}: a gRPC destination is http://host:port (h2c) or https://host:port, without a path`);
  }
}

// Keys that travel together: a phase that sets one of them replaces the defaults' whole group,
// as -n replaces -t in Fortio.
const KEY_GROUPS: ReadonlyArray<readonly string[]> = [
  ['duration', 'requests'],
  ['payload', 'payloadSize'],
  ['url', 'path'],
  ['qps', 'ramp'],
];

function mergeRaw<T extends object>(defaults: T, load: T): T {
  const merged: Record<string, unknown> = { ...(defaults as unknown as Record<string, unknown>) };
  const own = load as unknown as Record<string, unknown>;
  for (const group of KEY_GROUPS) if (group.some((key) => own[key] !== undefined)) for (const key of group) delete merged[key];
  for (const [key, value] of Object.entries(own)) if (value !== undefined) merged[key] = value;
  return merged as T;
}

// ---------------------------------------------------------------------------------------------
// Defaults

function resolve(spec: ScenarioSpec): Scenario {
  const { phases, $schema: _schema, ...rest } = spec;
  return {
    ...rest,
    phases: phases.map((phase) => ({
      name: phase.name,
      description: phase.description,
      steps: phase.steps,
      load: phase.load === undefined ? undefined : { ...resolveLoad(spec.defaults ?? {}, phase.load), secretHeaders: spec.secretHeaders.map((h) => h.toLowerCase()) },
      expect: phase.expect,
    })),
  };
}

function resolveLoad(defaults: LoadSpec, own: LoadSpec): Omit<ResolvedLoad, 'secretHeaders'> {
  const load = mergeRaw(defaults, own);
  const headers: Record<string, string> = {};
  // Header names are case-insensitive: a phase's X-Test replaces the defaults' x-test.
  for (const source of [defaults.headers ?? {}, own.headers ?? {}]) {
    for (const [name, value] of Object.entries(source)) {
      for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
      headers[name] = value;
    }
  }
  const connections = load.connections ?? LOAD_DEFAULTS.connections;
  // POST with a body or a Content-Type, as `load` (fhttp/http_client.go Method): an empty payload is none.
  const hasBody = (load.payloadSize ?? 0) > 0 || (load.payload ?? '') !== '' || load.contentType !== undefined;
  return {
    connections,
    qps: load.qps ?? (load.ramp === undefined ? LOAD_DEFAULTS.qps : load.ramp.from),
    duration: load.duration ?? LOAD_DEFAULTS.durationMs,
    requests: load.requests,
    open: load.open === true ? { maxInflight: load.maxInflight ?? connections } : undefined,
    ramp: load.ramp,
    method: (load.method ?? (hasBody ? 'POST' : 'GET')).toUpperCase(),
    headers,
    payload: load.payload,
    payloadSize: load.payloadSize,
    contentType: load.contentType,
    url: load.url,
    path: load.path,
    h2: load.h2 ?? false,
    h2Multiplex: load.h2Multiplex ?? false,
    keepSocketOnError: load.keepSocketOnError ?? false,
    insecure: load.insecure ?? false,
    resolve: load.resolve?.replace(/^\[(.*)\]$/, '$1'),
    unixSocket: load.unixSocket,
    http10: load.http10 ?? false,
    user: load.user,
    followRedirects: load.followRedirects ?? false,
    timeout: load.timeout ?? LOAD_DEFAULTS.timeoutMs,
    keepAlive: load.keepAlive ?? true,
    uniform: load.uniform ?? false,
    jitter: load.jitter ?? false,
    noCatchUp: load.noCatchUp ?? false,
    abortOn: load.abortOn,
    allowInitialErrors: load.allowInitialErrors ?? false,
    connectionReuse: load.connectionReuse,
    workers: load.workers ?? 1,
    percentiles: load.percentiles ?? [...LOAD_DEFAULTS.percentiles],
    grpc:
      load.grpc === undefined
        ? undefined
        : { call: load.grpc.call ?? 'health', healthService: load.grpc.healthService ?? '', pingDelay: load.grpc.pingDelay ?? 0, streams: load.grpc.streams ?? 1, compression: load.grpc.compression ?? false },
  };
}

// ---------------------------------------------------------------------------------------------
// Lines

/** The line of the node at `path`: a mapping entry's key line (where an editor would point),
 * a list item's first line, or the nearest ancestor's when the path is missing. */
function lineOfPath(doc: Document, path: readonly Segment[], lineAt: (offset: number) => Position): Position | undefined {
  let node: unknown = doc.contents;
  let line = rangeLine(node, lineAt) ?? { line: 1, col: 1 };
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (pair === undefined) return line;
      line = rangeLine(pair.key, lineAt) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) return line;
      line = rangeLine(item, lineAt) ?? line;
      node = item;
    } else return line;
  }
  return line;
}

function rangeLine(node: unknown, lineAt: (offset: number) => Position): Position | undefined {
  const range = (node as Partial<YamlNode> | null | undefined)?.range;
  return range === undefined || range === null ? undefined : lineAt(range[0]);
}
