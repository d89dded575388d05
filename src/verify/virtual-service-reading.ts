/** Reads a VirtualService's spec (hosts, HTTP routes: destinations and weights, timeout, retries,
 * faults) into the policy model; every problem names its line. */
import { isScalar } from 'yaml';
import { GRPC_STATUS_CONSTANTS } from '../grpc/grpc-status';
import { suggest } from '../util/suggest';
import type { FaultAbort, FaultDelay, GrpcFaultAbort, HttpRoute, Origin, Retries, RouteDestination, VirtualService } from './istio-policy';
import { describeNode, entries, lineOf, note, problem, readDuration, readInt, readPercent, readSeq, readString, type Ctx, type Entry, type Shape } from './manifest-reading';

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

/** Istio's supportedRetryOnPolicies (pkg/config/validation): anything else, other than an HTTP
 * status code, is rejected when the VirtualService is applied. */
const RETRY_ON = [
  '5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes',
  'retriable-headers', 'envoy-ratelimited', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
];

/** A route's `destination.subset`, checked against the DestinationRules once every file is read. */
export interface SubsetRef {
  origin: Origin;
  fileIndex: number;
  line: number;
  path: string;
  host: string;
  subset: string;
}

export function readVirtualService(ctx: Ctx, origin: Origin, spec: Entry | undefined, first: number, subsetRefs: SubsetRef[]): VirtualService | undefined {
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
