/** Reads the DestinationRules and VirtualServices a team wrote (`meshload verify -f dr.yaml`)
 * into `IstioPolicies`. Walks the YAML nodes rather than a zod schema so that every problem
 * names its line and every field meshload does not verify becomes a note, never silence. */

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Document } from 'yaml';
import { GRPC_STATUS_CONSTANTS } from '../grpc/grpc-status';
import { parseDuration } from '../util/duration';
import { MeshloadError } from '../util/errors';
import { suggest } from '../util/suggest';
import { collectLeaves, type Disposition, type DocumentLeaves, type FieldRecord } from './field-accounting';
import type {
  ConnectionPool,
  DestinationRule,
  FaultAbort,
  FaultDelay,
  GrpcFaultAbort,
  HttpRoute,
  IstioPolicies,
  Origin,
  OutlierDetection,
  PolicyNote,
  Retries,
  RouteDestination,
  Subset,
  TrafficPolicy,
  VirtualService,
} from './istio-policy';

/** Every problem of every file, each `FILE:LINE: Kind name: spec.path: problem - fix`. */
export class ManifestError extends MeshloadError {
  constructor(
    readonly problems: string[],
    /** What was read despite the problems, so every field can still be accounted for. */
    readonly read?: { policies: IstioPolicies; records: FieldRecord[]; leaves: DocumentLeaves[] },
  ) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    super('E_USAGE', `${problems[0] ?? 'invalid Istio manifests'}${more}`);
    this.name = 'ManifestError';
  }
}

// ---------------------------------------------------------------------------------------------
// Field lists. `read`: mapped into IstioPolicies. `unverified`: real Istio fields meshload
// leaves alone (a note says so). `unsupported`: Istio fields that make the enclosing part
// unusable for meshload (the part becomes undefined). Anything else is a typo candidate.

interface Shape {
  read: readonly string[];
  unverified: readonly string[];
  unsupported?: readonly string[];
}

const RESOURCE: Shape = { read: ['apiVersion', 'kind', 'metadata', 'spec', 'status'], unverified: [] };
const DR_SPEC: Shape = { read: ['host', 'trafficPolicy', 'subsets'], unverified: ['exportTo', 'workloadSelector'] };
const TRAFFIC_POLICY: Shape = {
  read: ['connectionPool', 'outlierDetection'],
  unverified: ['loadBalancer', 'tls', 'portLevelSettings', 'tunnel', 'proxyProtocol', 'retryBudget'],
};
const CONNECTION_POOL: Shape = { read: ['tcp', 'http'], unverified: [] };
const TCP_SETTINGS: Shape = {
  read: ['maxConnections'],
  unverified: ['connectTimeout', 'tcpKeepalive', 'maxConnectionDuration', 'idleTimeout'],
};
const HTTP_SETTINGS: Shape = {
  read: ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries'],
  unverified: ['idleTimeout', 'h2UpgradePolicy', 'useClientProtocol', 'maxConcurrentStreams'],
};
const OUTLIER_DETECTION: Shape = {
  read: ['consecutive5xxErrors', 'consecutiveGatewayErrors', 'consecutiveErrors', 'interval', 'baseEjectionTime', 'maxEjectionPercent', 'minHealthPercent', 'splitExternalLocalOriginErrors', 'consecutiveLocalOriginFailures'],
  unverified: [],
};
const SUBSET: Shape = { read: ['name', 'labels', 'trafficPolicy'], unverified: [] };
const VS_SPEC: Shape = { read: ['hosts', 'http'], unverified: ['gateways', 'tcp', 'tls', 'exportTo'] };
const HTTP_ROUTE: Shape = {
  read: ['name', 'match', 'route', 'timeout', 'retries', 'fault'],
  unverified: ['redirect', 'directResponse', 'delegate', 'rewrite', 'mirror', 'mirrors', 'mirrorPercent', 'mirrorPercentage', 'corsPolicy', 'headers'],
};
const ROUTE_DESTINATION: Shape = { read: ['destination', 'weight'], unverified: ['headers'] };
const DESTINATION: Shape = { read: ['host', 'subset', 'port'], unverified: [] };
const PORT_SELECTOR: Shape = { read: ['number'], unverified: [] };
const RETRIES: Shape = {
  read: ['attempts', 'perTryTimeout', 'retryOn'],
  unverified: ['retryRemoteLocalities', 'retryIgnorePreviousHosts', 'backoff'],
};
const FAULT: Shape = { read: ['delay', 'abort'], unverified: [] };
const FAULT_DELAY: Shape = { read: ['fixedDelay', 'percentage', 'percent'], unverified: [], unsupported: ['exponentialDelay'] };
const FAULT_ABORT: Shape = { read: ['httpStatus', 'grpcStatus', 'percentage'], unverified: [], unsupported: ['http2Error'] };
const PERCENTAGE: Shape = { read: ['value'], unverified: [] };

const ISTIO_GROUP = 'networking.istio.io';
const ISTIO_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'];
const INT32_MAX = 2_147_483_647;

/** Istio's supportedRetryOnPolicies (pkg/config/validation): anything else, other than an HTTP
 * status code, is rejected when the VirtualService is applied. */
const RETRY_ON = [
  '5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes',
  'retriable-headers', 'envoy-ratelimited', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
];

// ---------------------------------------------------------------------------------------------
// Reading context

type NoteOrigin = PolicyNote['origin'];

interface Ctx {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** How problems name the resource: `DestinationRule httpbin`, or `document 2` before a name is known. */
  where: string;
  origin: NoteOrigin;
  /** Position of the file in the input, so problems and notes can be put in file order. */
  fileIndex: number;
  problems: Positioned<string>[];
  notes: Positioned<PolicyNote>[];
  /** 1-based document number in the file, and `items[i].` inside a kubectl List. */
  document: number;
  prefix: string;
  /** What happened to every key met, for the field accounting. */
  records: FieldRecord[];
}

/** Problems and notes are found in reading order (a mapping's keys before its children's);
 * they are reported in file order. */
interface Positioned<T> {
  fileIndex: number;
  line: number;
  value: T;
}

function inFileOrder<T>(items: readonly Positioned<T>[]): T[] {
  return [...items].sort((a, b) => a.fileIndex - b.fileIndex || a.line - b.line).map((item) => item.value);
}

/** A mapping entry: its value node (aliases resolved) and the line of its key. */
interface Entry {
  node: unknown;
  line: number;
}

function lineOf(ctx: Ctx, node: unknown, fallback: number): number {
  const range = (node as { range?: [number, number, number] | null } | null | undefined)?.range;
  return range === undefined || range === null ? fallback : ctx.lines.linePos(range[0]).line;
}

function problem(ctx: Ctx, line: number, path: string, text: string, fix: string): void {
  const at = path === '' ? '' : `${path}: `;
  ctx.problems.push({ fileIndex: ctx.fileIndex, line, value: `${ctx.file}:${line}: ${ctx.where}: ${at}${text} - ${fix}` });
}

function note(ctx: Ctx, line: number, path: string, message: string): void {
  ctx.notes.push({ fileIndex: ctx.fileIndex, line, value: { origin: ctx.origin, path, message } });
}

/** Records what happened to the key at `path` (see field-accounting). */
function record(ctx: Ctx, path: string, disposition: Disposition, value: unknown, message?: string): void {
  const origin = ctx.origin.kind === 'DestinationRule' || ctx.origin.kind === 'VirtualService' ? (ctx.origin as Origin) : undefined;
  const empty = isNull(value) || ((isMap(value) || isSeq(value)) && value.items.length === 0);
  ctx.records.push({
    file: ctx.file,
    document: ctx.document,
    prefix: ctx.prefix,
    path,
    disposition,
    message,
    origin,
    resource: `${ctx.origin.kind} ${ctx.origin.name}`,
    value: isScalar(value) ? value.value : undefined,
    empty,
  });
}

/** Aliases one document may hold: a handful is reuse, more is a resource exhaustion attack. */
const MAX_ALIASES = 100;

function aliasCount(doc: Document): number {
  let count = 0;
  visit(doc, {
    Alias: () => {
      count++;
      // Enough seen: stop walking a document that may be all aliases.
      return count > MAX_ALIASES ? visit.BREAK : undefined;
    },
  });
  return count;
}

function resolve(ctx: Ctx, node: unknown): unknown {
  return isAlias(node) ? node.resolve(ctx.doc) : node;
}

function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describeNode(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return typeof node.value === 'string' ? `string ${JSON.stringify(node.value)}` : String(node.value);
  return 'nothing';
}

/** The entries of the mapping `node` that `shape` reads; every other key becomes a note. Null
 * values count as absent, as they do when kubectl applies the manifest. */
function entries(ctx: Ctx, node: unknown, line: number, path: string, shape: Shape): Map<string, Entry> | undefined {
  if (!isMap(node)) {
    problem(ctx, lineOf(ctx, node, line), path, `expected a mapping, got ${describeNode(node)}`, `write ${path.split('.').pop() ?? path} as indented key: value lines`);
    return undefined;
  }
  const out = new Map<string, Entry>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    const keyLine = lineOf(ctx, pair.key, line);
    if (key === undefined) {
      problem(ctx, keyLine, path, 'complex mapping key', 'use plain field names as keys');
      continue;
    }
    const here = join(path, key);
    const value = resolve(ctx, pair.value);
    if (shape.read.includes(key)) {
      record(ctx, here, 'read', value);
      if (!isNull(value)) out.set(key, { node: value, line: keyLine });
    } else if (shape.unverified.includes(key)) {
      record(ctx, here, 'unverified', value);
      note(ctx, keyLine, here, 'not verified by meshload');
    } else if (shape.unsupported?.includes(key) === true) {
      record(ctx, here, 'unsupported', value, `unsupported by meshload: the ${path.split('.').pop() ?? 'part'} is not verified`);
      out.set(key, { node: value, line: keyLine });
    } else {
      const guess = suggest(key, [...shape.read, ...shape.unverified, ...(shape.unsupported ?? [])]);
      const message = guess === undefined ? 'unknown field (typo?), ignored' : `unknown field (typo?), ignored: did you mean ${guess}?`;
      record(ctx, here, 'unknown', value, message);
      note(ctx, keyLine, here, message);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Typed values. Each returns undefined when the entry is absent or wrong (the problem is recorded).

interface IntRange {
  min: number;
  max: number;
}

function readInt(ctx: Ctx, entry: Entry | undefined, path: string, range: IntRange = { min: 0, max: INT32_MAX }): number | undefined {
  if (entry === undefined) return undefined;
  const line = lineOf(ctx, entry.node, entry.line);
  const value = isScalar(entry.node) ? entry.node.value : undefined;
  // Istio's CRD schema types these as integers: a quoted "1" is rejected by the API server.
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    const fix = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? `remove the quotes: ${value.trim()}` : `write a whole number in ${range.min}..${range.max}`;
    problem(ctx, line, path, `expected an integer, got ${describeNode(entry.node)}`, fix);
    return undefined;
  }
  if (value < 0 && range.min >= 0) {
    problem(ctx, line, path, `must not be negative, got ${value}`, `use a number in ${range.min}..${range.max}`);
    return undefined;
  }
  if (value < range.min || value > range.max) {
    problem(ctx, line, path, `must be in ${range.min}..${range.max}, got ${value}`, `use a number in ${range.min}..${range.max}`);
    return undefined;
  }
  return value;
}

function readPercent(ctx: Ctx, entry: Entry | undefined, path: string): number | undefined {
  if (entry === undefined) return undefined;
  const line = lineOf(ctx, entry.node, entry.line);
  const value = isScalar(entry.node) ? entry.node.value : undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    problem(ctx, line, path, `expected a number, got ${describeNode(entry.node)}`, 'write a percentage between 0 and 100 without quotes, e.g. value: 50');
    return undefined;
  }
  if (value < 0 || value > 100) {
    problem(ctx, line, path, `must be in 0..100, got ${value}`, 'write a percentage between 0 and 100, e.g. value: 50');
    return undefined;
  }
  return value;
}

function readString(ctx: Ctx, entry: Entry | undefined, path: string): string | undefined {
  if (entry === undefined) return undefined;
  const value = isScalar(entry.node) ? entry.node.value : undefined;
  if (typeof value !== 'string' || value === '') {
    problem(ctx, lineOf(ctx, entry.node, entry.line), path, `expected a non-empty string, got ${describeNode(entry.node)}`, 'write a plain string value');
    return undefined;
  }
  return value;
}

/** Durations in Istio's form ("1s", "0.5s", "100ms", "1m"). `minMs` 1 where Istio's
 * ValidateDuration applies (it rejects anything under 1ms). */
function readDuration(ctx: Ctx, entry: Entry | undefined, path: string, minMs: number): number | undefined {
  if (entry === undefined) return undefined;
  const line = lineOf(ctx, entry.node, entry.line);
  const value = isScalar(entry.node) ? entry.node.value : undefined;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) {
    const fix = typeof value === 'number' ? `add a unit: ${value}s or ${value}ms` : 'write a duration like 1s, 0.5s, 100ms or 1m';
    problem(ctx, line, path, `expected a duration, got ${describeNode(entry.node)}`, fix);
    return undefined;
  }
  if (ms < minMs) {
    problem(ctx, line, path, `must be at least ${minMs === 0 ? '0s' : `${minMs}ms`}, got ${String(value)}`, 'write a positive duration like 1s or 100ms');
    return undefined;
  }
  return ms;
}

function readSeq(ctx: Ctx, entry: Entry | undefined, path: string, example: string): Array<{ node: unknown; line: number }> | undefined {
  if (entry === undefined) return undefined;
  if (!isSeq(entry.node)) {
    problem(ctx, lineOf(ctx, entry.node, entry.line), path, `expected a list, got ${describeNode(entry.node)}`, `write it as a list: ${example}`);
    return undefined;
  }
  return entry.node.items.map((item) => ({ node: resolve(ctx, item), line: lineOf(ctx, item, entry.line) }));
}

// ---------------------------------------------------------------------------------------------
// Documents

/** Parses every file and returns the policies, or throws one ManifestError listing every
 * problem of every file. */
export function readIstioManifests(files: readonly { file: string; text: string }[]): IstioPolicies {
  return readIstioManifestsAccounted(files).policies;
}

/** The policies, and for the field accounting what happened to every key and every leaf. */
export function readIstioManifestsAccounted(files: readonly { file: string; text: string }[]): { policies: IstioPolicies; records: FieldRecord[]; leaves: DocumentLeaves[] } {
  const out: IstioPolicies = { destinationRules: [], virtualServices: [], notes: [] };
  const records: FieldRecord[] = [];
  const leaves: DocumentLeaves[] = [];
  const problems: Positioned<string>[] = [];
  const notes: Positioned<PolicyNote>[] = [];
  const subsetRefs: SubsetRef[] = [];
  files.forEach(({ file, text }, fileIndex) => {
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    docs.forEach((doc, i) => {
      const where = `document ${i + 1}`;
      const origin = { file, kind: 'document', name: String(i + 1), namespace: undefined };
      const ctx: Ctx = { file, doc, lines, where, origin, fileIndex, problems, notes, document: i + 1, prefix: '', records };
      if (doc.errors.length > 0) {
        // A syntax error leaves the tree unreliable: reading it would only add noise.
        for (const error of doc.errors) {
          const fix = error.code === 'DUPLICATE_KEY' ? 'remove one of the duplicate keys' : 'fix the YAML syntax (indent with spaces, one key: value per line)';
          problem(ctx, lines.linePos(error.pos[0]).line, '', `YAML syntax: ${error.message.replace(/\s+/g, ' ').trim()}`, fix);
        }
        return;
      }
      // Aliases are read where they are used: a billion-laughs document would multiply the work.
      if (aliasCount(doc) > MAX_ALIASES) {
        problem(ctx, lines.linePos(doc.range[0]).line, '', `more than ${MAX_ALIASES} YAML aliases (*name)`, 'write the resources out without aliases (kubectl get -o yaml does)');
        return;
      }
      const contents = resolve(ctx, doc.contents);
      // Empty documents (a trailing `---`, a comment-only file) are ordinary YAML.
      if (isNull(contents)) return;
      leaves.push(collectLeaves(contents, (n) => resolve(ctx, n), file, i + 1));
      readResource(ctx, contents, out, subsetRefs);
    });
  });
  checkSubsets(out.destinationRules, subsetRefs, notes);
  out.notes = inFileOrder(notes);
  if (problems.length > 0) throw new ManifestError(inFileOrder(problems), { policies: out, records, leaves });
  return { policies: out, records, leaves };
}

interface SubsetRef {
  origin: Origin;
  fileIndex: number;
  line: number;
  path: string;
  host: string;
  subset: string;
}

function readResource(ctx: Ctx, node: unknown, out: IstioPolicies, subsetRefs: SubsetRef[]): void {
  const first = lineOf(ctx, node, 1);
  if (!isMap(node)) {
    problem(ctx, first, '', `expected a Kubernetes resource (a mapping with apiVersion and kind), got ${describeNode(node)}`, 'put one resource per document and separate documents with ---');
    return;
  }
  const top = new Map<string, Entry>();
  for (const pair of node.items) {
    if (isScalar(pair.key)) top.set(String(pair.key.value), { node: resolve(ctx, pair.value), line: lineOf(ctx, pair.key, first) });
  }
  const apiVersion = scalarString(top.get('apiVersion'));
  const kind = scalarString(top.get('kind'));
  if (apiVersion === undefined || kind === undefined) {
    const missing = [apiVersion === undefined ? 'apiVersion' : '', kind === undefined ? 'kind' : ''].filter((s) => s !== '').join(' and ');
    problem(ctx, first, '', `not a Kubernetes resource: ${missing} missing`, 'give each document apiVersion and kind, e.g. apiVersion: networking.istio.io/v1, kind: DestinationRule');
    return;
  }
  const items = top.get('items');
  if (kind === 'List' || (kind.endsWith('List') && items !== undefined)) {
    // `kubectl get destinationrules,virtualservices -o yaml` prints `kind: List` with `items`.
    const list = readSeq(ctx, items, 'items', 'items: [...]') ?? [];
    for (const pair of node.items) {
      if (isScalar(pair.key)) record(ctx, String(pair.key.value), 'list', resolve(ctx, pair.value));
    }
    list.forEach((item, i) => readResource({ ...ctx, where: `${ctx.where} items[${i}]`, prefix: `${ctx.prefix}items[${i}].` }, item.node, out, subsetRefs));
    return;
  }
  const metadata = top.get('metadata');
  const meta = isMap(metadata?.node) ? metadata.node : undefined;
  const name = scalarString(meta === undefined ? undefined : { node: meta.get('name', true) });
  const namespaceValue = scalarString(meta === undefined ? undefined : { node: meta.get('namespace', true) });
  // `v1` is the core group; `networking.istio.io` alone lacks its version (an error below).
  const slash = apiVersion.indexOf('/');
  const group = slash >= 0 ? apiVersion.slice(0, slash) : apiVersion === ISTIO_GROUP ? ISTIO_GROUP : '';
  const version = slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion === ISTIO_GROUP ? '' : apiVersion;
  const isIstioKind = kind === 'DestinationRule' || kind === 'VirtualService';
  if (!isIstioKind || group !== ISTIO_GROUP) {
    const origin = { file: ctx.file, kind, name: name ?? '(no name)', namespace: namespaceValue };
    const message = isIstioKind ? `apiVersion ${apiVersion} is not ${ISTIO_GROUP}, skipped` : 'not a DestinationRule or VirtualService, skipped';
    ctx.notes.push({ fileIndex: ctx.fileIndex, line: first, value: { origin, path: '', message } });
    record({ ...ctx, origin }, '', 'skipped', node, message);
    return;
  }
  if (!ISTIO_VERSIONS.includes(version)) {
    const named = { ...ctx, where: name === undefined ? `${kind} in ${ctx.where}` : `${kind} ${name}` };
    problem(named, top.get('apiVersion')?.line ?? first, 'apiVersion', `${kind} version ${JSON.stringify(version)} is not one meshload knows`, `use ${ISTIO_GROUP}/v1 (or v1beta1, v1alpha3)`);
    return;
  }
  if (name === undefined) {
    problem({ ...ctx, where: `${kind} in ${ctx.where}` }, metadata?.line ?? first, 'metadata.name', 'missing', 'give the resource a name: metadata: {name: httpbin}');
    return;
  }
  const origin: Origin = { file: ctx.file, kind, name, namespace: namespaceValue };
  const rctx: Ctx = { ...ctx, where: `${kind} ${name}`, origin };
  // metadata beyond name/namespace (labels, annotations, uid...) and status are kubectl noise.
  const fields = entries(rctx, node, first, '', RESOURCE) ?? new Map<string, Entry>();
  const spec = fields.get('spec');
  if (kind === 'DestinationRule') {
    const rule = readDestinationRule(rctx, origin, spec, first);
    if (rule !== undefined) out.destinationRules.push(rule);
  } else {
    const service = readVirtualService(rctx, origin, spec, first, subsetRefs);
    if (service !== undefined) out.virtualServices.push(service);
  }
}

function scalarString(entry: { node: unknown } | undefined): string | undefined {
  const value = entry !== undefined && isScalar(entry.node) ? entry.node.value : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

// ---------------------------------------------------------------------------------------------
// DestinationRule

function readDestinationRule(ctx: Ctx, origin: Origin, spec: Entry | undefined, first: number): DestinationRule | undefined {
  const fields = spec === undefined ? new Map<string, Entry>() : entries(ctx, spec.node, spec.line, 'spec', DR_SPEC);
  if (fields === undefined) return undefined;
  const hostEntry = fields.get('host');
  if (hostEntry === undefined) {
    problem(ctx, spec?.line ?? first, 'spec.host', 'missing', 'name the service the rule applies to, e.g. spec: {host: httpbin}');
  }
  const host = readString(ctx, hostEntry, 'spec.host');
  const trafficPolicy = readTrafficPolicy(ctx, fields.get('trafficPolicy'), 'spec.trafficPolicy');
  const subsets: Subset[] = [];
  const seen = new Set<string>();
  (readSeq(ctx, fields.get('subsets'), 'spec.subsets', '- name: v1') ?? []).forEach((item, i) => {
    const path = `spec.subsets[${i}]`;
    const subset = entries(ctx, item.node, item.line, path, SUBSET);
    if (subset === undefined) return;
    const nameEntry = subset.get('name');
    if (nameEntry === undefined) {
      problem(ctx, item.line, `${path}.name`, 'missing', 'name the subset, e.g. name: v1');
      return;
    }
    const name = readString(ctx, nameEntry, `${path}.name`);
    if (name === undefined) return;
    if (seen.has(name)) {
      problem(ctx, lineOf(ctx, nameEntry.node, nameEntry.line), `${path}.name`, `subset ${name} is defined twice`, 'give each subset a unique name');
      return;
    }
    seen.add(name);
    subsets.push({
      name,
      labels: readLabels(ctx, subset.get('labels'), `${path}.labels`),
      trafficPolicy: readTrafficPolicy(ctx, subset.get('trafficPolicy'), `${path}.trafficPolicy`),
    });
  });
  if (host === undefined) return undefined;
  return { origin, host, trafficPolicy, subsets };
}

function readLabels(ctx: Ctx, entry: Entry | undefined, path: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (entry === undefined) return labels;
  if (!isMap(entry.node)) {
    problem(ctx, lineOf(ctx, entry.node, entry.line), path, `expected a mapping, got ${describeNode(entry.node)}`, 'write labels as key: value lines, e.g. version: v1');
    return labels;
  }
  for (const pair of entry.node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = resolve(ctx, pair.value);
    if (isScalar(value) && typeof value.value === 'string') labels[key] = value.value;
    else problem(ctx, lineOf(ctx, value, entry.line), join(path, key), `label values are strings, got ${describeNode(value)}`, `quote it: ${key}: "${isScalar(value) ? String(value.value) : ''}"`);
  }
  return labels;
}

function readTrafficPolicy(ctx: Ctx, entry: Entry | undefined, path: string): TrafficPolicy | undefined {
  if (entry === undefined) return undefined;
  const fields = entries(ctx, entry.node, entry.line, path, TRAFFIC_POLICY);
  if (fields === undefined) return undefined;
  return {
    connectionPool: readConnectionPool(ctx, fields.get('connectionPool'), `${path}.connectionPool`),
    outlierDetection: readOutlierDetection(ctx, fields.get('outlierDetection'), `${path}.outlierDetection`),
  };
}

function readConnectionPool(ctx: Ctx, entry: Entry | undefined, path: string): ConnectionPool | undefined {
  if (entry === undefined) return undefined;
  const fields = entries(ctx, entry.node, entry.line, path, CONNECTION_POOL);
  if (fields === undefined) return undefined;
  const tcpEntry = fields.get('tcp');
  const httpEntry = fields.get('http');
  const tcp = tcpEntry === undefined ? new Map<string, Entry>() : entries(ctx, tcpEntry.node, tcpEntry.line, `${path}.tcp`, TCP_SETTINGS);
  const http = httpEntry === undefined ? new Map<string, Entry>() : entries(ctx, httpEntry.node, httpEntry.line, `${path}.http`, HTTP_SETTINGS);
  // Istio treats 0 as unset for every connection pool limit (MESH-FACTS "How Istio config maps to Envoy").
  const limit = (fieldsOf: Map<string, Entry> | undefined, key: string, sub: string): number | undefined => {
    const value = readInt(ctx, fieldsOf?.get(key), `${path}.${sub}.${key}`);
    return value === 0 ? undefined : value;
  };
  return {
    maxConnections: limit(tcp, 'maxConnections', 'tcp'),
    http1MaxPendingRequests: limit(http, 'http1MaxPendingRequests', 'http'),
    http2MaxRequests: limit(http, 'http2MaxRequests', 'http'),
    maxRetries: limit(http, 'maxRetries', 'http'),
    maxRequestsPerConnection: limit(http, 'maxRequestsPerConnection', 'http'),
  };
}

function readOutlierDetection(ctx: Ctx, entry: Entry | undefined, path: string): OutlierDetection | undefined {
  if (entry === undefined) return undefined;
  const fields = entries(ctx, entry.node, entry.line, path, OUTLIER_DETECTION);
  if (fields === undefined) return undefined;
  const legacy = readInt(ctx, fields.get('consecutiveErrors'), `${path}.consecutiveErrors`);
  if (fields.has('consecutiveErrors')) {
    // Current Istio ignores the deprecated field (applyOutlierDetection reads no consecutiveErrors):
    // Envoy's consecutive_5xx default applies (see ./outlier-model.ts).
    note(ctx, fields.get('consecutiveErrors')?.line ?? entry.line, `${path}.consecutiveErrors`, 'deprecated and ignored by current Istio: write consecutive5xxErrors or consecutiveGatewayErrors instead');
  }
  const split = fields.get('splitExternalLocalOriginErrors');
  const splitValue = split !== undefined && isScalar(split.node) ? split.node.value : undefined;
  if (split !== undefined && typeof splitValue !== 'boolean') {
    problem(ctx, lineOf(ctx, split.node, split.line), `${path}.splitExternalLocalOriginErrors`, `expected true or false, got ${describeNode(split.node)}`, 'write true or false without quotes');
  }
  return {
    // 0 is kept: in Istio `consecutive5xxErrors: 0` disables 5xx ejection, the planner decides.
    consecutive5xxErrors: readInt(ctx, fields.get('consecutive5xxErrors'), `${path}.consecutive5xxErrors`),
    consecutiveGatewayErrors: readInt(ctx, fields.get('consecutiveGatewayErrors'), `${path}.consecutiveGatewayErrors`),
    intervalMs: readDuration(ctx, fields.get('interval'), `${path}.interval`, 1),
    baseEjectionTimeMs: readDuration(ctx, fields.get('baseEjectionTime'), `${path}.baseEjectionTime`, 1),
    maxEjectionPercent: readInt(ctx, fields.get('maxEjectionPercent'), `${path}.maxEjectionPercent`, { min: 0, max: 100 }),
    consecutiveErrors: legacy,
    minHealthPercent: readInt(ctx, fields.get('minHealthPercent'), `${path}.minHealthPercent`, { min: 0, max: 100 }),
    splitExternalLocalOriginErrors: typeof splitValue === 'boolean' ? splitValue : undefined,
    consecutiveLocalOriginFailures: readInt(ctx, fields.get('consecutiveLocalOriginFailures'), `${path}.consecutiveLocalOriginFailures`),
  };
}

// ---------------------------------------------------------------------------------------------
// VirtualService

function readVirtualService(ctx: Ctx, origin: Origin, spec: Entry | undefined, first: number, subsetRefs: SubsetRef[]): VirtualService | undefined {
  const fields = spec === undefined ? new Map<string, Entry>() : entries(ctx, spec.node, spec.line, 'spec', VS_SPEC);
  if (fields === undefined) return undefined;
  const hostItems = readSeq(ctx, fields.get('hosts'), 'spec.hosts', 'hosts: [httpbin]');
  if (fields.get('hosts') === undefined || hostItems?.length === 0) {
    problem(ctx, fields.get('hosts')?.line ?? spec?.line ?? first, 'spec.hosts', 'missing', 'list the services this VirtualService routes, e.g. hosts: [httpbin] (delegate VirtualServices are not supported)');
  }
  const hosts: string[] = [];
  (hostItems ?? []).forEach((item, i) => {
    const host = readString(ctx, item, `spec.hosts[${i}]`);
    if (host !== undefined) hosts.push(host);
  });
  const http: HttpRoute[] = [];
  (readSeq(ctx, fields.get('http'), 'spec.http', '- route: [...]') ?? []).forEach((item, index) => {
    const route = readHttpRoute(ctx, origin, item, index, subsetRefs);
    if (route !== undefined) http.push(route);
  });
  if (hosts.length === 0) return undefined;
  return { origin, hosts, http };
}

function readHttpRoute(ctx: Ctx, origin: Origin, item: Entry, index: number, subsetRefs: SubsetRef[]): HttpRoute | undefined {
  const path = `spec.http[${index}]`;
  const fields = entries(ctx, item.node, item.line, path, HTTP_ROUTE);
  if (fields === undefined) return undefined;
  const name = readString(ctx, fields.get('name'), `${path}.name`) ?? `http[${index}]`;
  const match = readSeq(ctx, fields.get('match'), `${path}.match`, '- uri: {prefix: /}');
  const fault = fields.get('fault');
  const faultFields = fault === undefined ? undefined : entries(ctx, fault.node, fault.line, `${path}.fault`, FAULT);
  if (fault !== undefined && faultFields !== undefined && faultFields.size === 0) {
    problem(ctx, fault.line, `${path}.fault`, 'has neither delay nor abort', 'add fault.delay or fault.abort, or remove fault');
  }
  return {
    name,
    index,
    hasMatch: match !== undefined && match.length > 0,
    destinations: readDestinations(ctx, origin, fields.get('route'), `${path}.route`, subsetRefs),
    timeoutMs: readDuration(ctx, fields.get('timeout'), `${path}.timeout`, 0),
    retries: readRetries(ctx, fields.get('retries'), `${path}.retries`),
    faultDelay: readFaultDelay(ctx, faultFields?.get('delay'), `${path}.fault.delay`),
    ...readFaultAbort(ctx, faultFields?.get('abort'), `${path}.fault.abort`),
  };
}

function readDestinations(ctx: Ctx, origin: Origin, entry: Entry | undefined, path: string, subsetRefs: SubsetRef[]): RouteDestination[] {
  const items = readSeq(ctx, entry, path, '- destination: {host: httpbin}') ?? [];
  const out: RouteDestination[] = [];
  let total = 0;
  let weightsOk = true;
  items.forEach((item, i) => {
    const here = `${path}[${i}]`;
    const fields = entries(ctx, item.node, item.line, here, ROUTE_DESTINATION);
    if (fields === undefined) return;
    const weightEntry = fields.get('weight');
    const weight = readInt(ctx, weightEntry, `${here}.weight`, { min: 0, max: 2_147_483_647 });
    if (weightEntry !== undefined && weight === undefined) weightsOk = false;
    total += weight ?? 0;
    const destination = fields.get('destination');
    if (destination === undefined) {
      problem(ctx, item.line, `${here}.destination`, 'missing', 'add destination: {host: SERVICE}');
      return;
    }
    const dest = entries(ctx, destination.node, destination.line, `${here}.destination`, DESTINATION);
    if (dest === undefined) return;
    if (dest.get('host') === undefined) problem(ctx, destination.line, `${here}.destination.host`, 'missing', 'name the service, e.g. host: httpbin');
    const host = readString(ctx, dest.get('host'), `${here}.destination.host`);
    const subset = readString(ctx, dest.get('subset'), `${here}.destination.subset`);
    const portEntry = dest.get('port');
    const port = portEntry === undefined ? undefined : entries(ctx, portEntry.node, portEntry.line, `${here}.destination.port`, PORT_SELECTOR);
    const portNumber = readInt(ctx, port?.get('number'), `${here}.destination.port.number`, { min: 1, max: 65535 });
    if (host === undefined) return;
    const subsetLine = dest.get('subset')?.line ?? destination.line;
    if (subset !== undefined) subsetRefs.push({ origin, fileIndex: ctx.fileIndex, line: subsetLine, path: `${here}.destination.subset`, host, subset });
    out.push({ host, subset, port: portNumber, weight });
  });
  if (items.length > 1 && weightsOk && total === 0) {
    // Istio spreads traffic in proportion to the weights (older releases wanted a total of 100);
    // all zero routes nowhere.
    problem(ctx, entry?.line ?? 1, path, 'every weight is 0', 'give the destinations weights, e.g. 80 and 20');
  }
  if (items.length > 1) for (const d of out) d.weight ??= 0;
  if (out.length === 1 && out[0]?.weight !== undefined && out[0].weight !== 100) {
    note(ctx, entry?.line ?? 1, `${path}[0].weight`, `a single destination receives all traffic: weight ${out[0].weight} has no effect`);
  }
  return out;
}

function readRetries(ctx: Ctx, entry: Entry | undefined, path: string): Retries | undefined {
  if (entry === undefined) return undefined;
  const fields = entries(ctx, entry.node, entry.line, path, RETRIES);
  if (fields === undefined) return undefined;
  const attemptsEntry = fields.get('attempts');
  if (attemptsEntry === undefined) {
    problem(ctx, entry.line, `${path}.attempts`, 'missing', 'say how many retries, e.g. attempts: 3 (0 disables retries)');
  }
  const attempts = readInt(ctx, attemptsEntry, `${path}.attempts`);
  const perTryTimeoutMs = readDuration(ctx, fields.get('perTryTimeout'), `${path}.perTryTimeout`, 1);
  const retryOn = readRetryOn(ctx, fields.get('retryOn'), `${path}.retryOn`);
  if (attempts === 0 && (fields.has('perTryTimeout') || fields.has('retryOn'))) {
    // Istio's validation: "http retry policy configured when attempts are set to 0 (disabled)".
    problem(ctx, lineOf(ctx, attemptsEntry?.node, entry.line), `${path}.attempts`, 'is 0 (retries disabled) but perTryTimeout or retryOn is set', 'set attempts above 0, or remove perTryTimeout and retryOn');
  }
  if (attempts === undefined) return undefined;
  return { attempts, perTryTimeoutMs, retryOn };
}

function readRetryOn(ctx: Ctx, entry: Entry | undefined, path: string): string[] | undefined {
  if (entry === undefined) return undefined;
  const value = isScalar(entry.node) ? entry.node.value : undefined;
  // A bare `retryOn: 503` is a YAML number; Istio's field is a string, so it is rejected.
  if (typeof value !== 'string') {
    problem(ctx, lineOf(ctx, entry.node, entry.line), path, `expected a comma-separated string, got ${describeNode(entry.node)}`, `quote it: retryOn: "${String(value)}"`);
    return undefined;
  }
  const conditions = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (conditions.length === 0) return undefined;
  let ok = true;
  for (const condition of conditions) {
    const status = /^\d{3}$/.test(condition) ? Number(condition) : undefined;
    if (RETRY_ON.includes(condition) || (status !== undefined && status >= 100 && status <= 599)) continue;
    ok = false;
    const guess = suggest(condition, RETRY_ON);
    problem(ctx, lineOf(ctx, entry.node, entry.line), path, `${JSON.stringify(condition)} is not a retry condition Istio accepts`, guess === undefined ? `use conditions such as 5xx, gateway-error, connect-failure or an HTTP status like 503` : `did you mean ${guess}?`);
  }
  return ok ? conditions : undefined;
}

function readFaultDelay(ctx: Ctx, entry: Entry | undefined, path: string): FaultDelay | undefined {
  if (entry === undefined) return undefined;
  const fields = entries(ctx, entry.node, entry.line, path, FAULT_DELAY);
  if (fields === undefined) return undefined;
  if (fields.has('exponentialDelay')) {
    note(ctx, fields.get('exponentialDelay')?.line ?? entry.line, `${path}.exponentialDelay`, 'unsupported by meshload (Istio does not implement it either): the delay is not verified');
    return undefined;
  }
  const fixed = fields.get('fixedDelay');
  if (fixed === undefined) problem(ctx, entry.line, `${path}.fixedDelay`, 'missing', 'say how long to delay, e.g. fixedDelay: 2s');
  const fixedDelayMs = readDuration(ctx, fixed, `${path}.fixedDelay`, 1);
  const percent = readFaultPercent(ctx, fields, path);
  return fixedDelayMs === undefined ? undefined : { fixedDelayMs, percent };
}

function readFaultAbort(ctx: Ctx, entry: Entry | undefined, path: string): { faultAbort: FaultAbort | undefined; faultAbortGrpc?: GrpcFaultAbort } {
  if (entry === undefined) return { faultAbort: undefined };
  const fields = entries(ctx, entry.node, entry.line, path, FAULT_ABORT);
  if (fields === undefined) return { faultAbort: undefined };
  const other = ['grpcStatus', 'http2Error'].find((key) => fields.has(key));
  if (other === 'grpcStatus') {
    // Planned against a gRPC target only (grpc-plan.ts); the field accounts say so over HTTP.
    const grpc = readGrpcAbortStatus(ctx, fields.get('grpcStatus'), `${path}.grpcStatus`);
    const percent = readPercentage(ctx, fields.get('percentage'), `${path}.percentage`);
    return { faultAbort: undefined, ...(grpc !== undefined ? { faultAbortGrpc: { ...grpc, percent } } : {}) };
  }
  if (other !== undefined) {
    note(ctx, fields.get(other)?.line ?? entry.line, `${path}.${other}`, 'unsupported by meshload (only httpStatus aborts are verified): the abort is not verified');
    return { faultAbort: undefined };
  }
  const statusEntry = fields.get('httpStatus');
  if (statusEntry === undefined) problem(ctx, entry.line, `${path}.httpStatus`, 'missing', 'say which status to answer, e.g. httpStatus: 503');
  const httpStatus = readInt(ctx, statusEntry, `${path}.httpStatus`, { min: 200, max: 599 });
  const percent = readPercentage(ctx, fields.get('percentage'), `${path}.percentage`);
  return { faultAbort: httpStatus === undefined ? undefined : { httpStatus, percent } };
}

/** grpcStatus as Istio's webhook takes it: exactly a key of SupportedGRPCStatus (upper case,
 * istio/istio pkg/util/grpc/codes.go:22; pkg/config/validation/validation.go:2570 validateGRPCStatus).
 * rule: 'grpc.abort-status' */
function readGrpcAbortStatus(ctx: Ctx, entry: Entry | undefined, path: string): { grpcStatus: number; name: string } | undefined {
  const name = readString(ctx, entry, path);
  if (name === undefined) return undefined;
  const code = (GRPC_STATUS_CONSTANTS as readonly string[]).indexOf(name);
  if (code < 0) {
    const guess = suggest(name.toUpperCase().replace(/-/g, '_'), GRPC_STATUS_CONSTANTS);
    problem(ctx, entry?.line ?? 1, path, `${JSON.stringify(name)} is not a gRPC status Istio accepts`, guess === undefined ? 'use an upper-case name like UNAVAILABLE or DEADLINE_EXCEEDED' : `did you mean ${guess}?`);
    return undefined;
  }
  return { grpcStatus: code, name };
}

/** percentage.value, else the deprecated integer `percent` (Istio uses it only without percentage). */
function readFaultPercent(ctx: Ctx, fields: Map<string, Entry>, path: string): number | undefined {
  const percentage = readPercentage(ctx, fields.get('percentage'), `${path}.percentage`);
  if (!fields.has('percent')) return percentage;
  const legacy = readInt(ctx, fields.get('percent'), `${path}.percent`, { min: 0, max: 100 });
  const line = fields.get('percent')?.line ?? 1;
  if (fields.has('percentage')) {
    note(ctx, line, `${path}.percent`, 'deprecated and overridden by percentage.value: remove it');
    return percentage;
  }
  note(ctx, line, `${path}.percent`, 'deprecated: write percentage: {value: N} instead');
  return legacy;
}

function readPercentage(ctx: Ctx, entry: Entry | undefined, path: string): number | undefined {
  if (entry === undefined) return undefined;
  const fields = entries(ctx, entry.node, entry.line, path, PERCENTAGE);
  return fields === undefined ? undefined : readPercent(ctx, fields.get('value'), `${path}.value`);
}

// ---------------------------------------------------------------------------------------------
// Cross-resource

/** Hosts match on their first label: `reviews` is `reviews.default.svc.cluster.local`. */
function shortHost(host: string): string {
  return host.split('.')[0] ?? host;
}

/** A subset no DestinationRule defines makes Istio route to a cluster that does not exist:
 * Envoy answers 503 with flag NC (cluster_not_found), see istio/istio#15226. */
function checkSubsets(destinationRules: readonly DestinationRule[], refs: readonly SubsetRef[], notes: Positioned<PolicyNote>[]): void {
  for (const ref of refs) {
    const rules = destinationRules.filter((rule) => shortHost(rule.host) === shortHost(ref.host));
    if (rules.some((rule) => rule.subsets.some((subset) => subset.name === ref.subset))) continue;
    const given = rules.length === 0 ? `no DestinationRule for ${ref.host} is in the files given` : `the DestinationRule for ${ref.host} does not define it`;
    const message = `subset ${ref.subset}: ${given}; unless the cluster defines it, Istio answers these requests 503 (no such cluster, flag NC)`;
    notes.push({ fileIndex: ref.fileIndex, line: ref.line, value: { origin: ref.origin, path: ref.path, message } });
  }
}
