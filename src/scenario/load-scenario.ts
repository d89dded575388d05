/** Loading a scenario file: YAML to a checked, defaults-filled Scenario, with validation that
 * reports every problem at once with its path and line. Pure: no I/O, never mutates its input. */
import { z } from 'zod';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { LOAD_DEFAULTS } from '../model/load-plan';
import { parseGrpcTarget } from '../grpc/grpc-target';
import { MeshloadError } from '../util/errors';
import { suggest } from '../util/suggest';
import { expandDocument, protectReferences, restoreReferences } from './expand-env';
import { scenarioSchema, STEP_KINDS, type LoadSpec, type ResolvedLoad, type Scenario, type ScenarioSpec } from './scenario-schema';

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
