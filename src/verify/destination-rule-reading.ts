/** Reads a DestinationRule's spec (host, subsets, traffic policy: connection pool and outlier
 * detection) into the policy model; every problem names its line. */
import { isMap, isScalar } from 'yaml';
import type { ConnectionPool, DestinationRule, Origin, OutlierDetection, Subset, TrafficPolicy } from './istio-policy';
import { describeNode, entries, join, lineOf, note, problem, readDuration, readInt, readSeq, readString, resolve, type Ctx, type Entry, type Shape } from './manifest-reading';

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

export function readDestinationRule(ctx: Ctx, origin: Origin, spec: Entry | undefined, first: number): DestinationRule | undefined {
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
