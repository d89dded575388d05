/** Every field of every manifest accounted for exactly once: verified (a planned phase shows
 * it), read but not verified (with the reason), or not applicable (it names or wraps something,
 * it configures nothing to verify). The reader records each key it meets; the rules below turn
 * records into accounts, and a walk over every leaf of the parsed YAML checks that each leaf is
 * covered by exactly one account, so a field cannot be dropped silently. Rule ids: docs/verify-rules.md. */

import { isMap, isScalar, isSeq } from 'yaml';
import type { HostChoice } from './host-selection';
import type { DestinationRule, HttpRoute, Origin, VirtualService } from './istio-policy';
import type { PlannedPolicy, PolicyKind } from './plan-types';

export type FieldClass = 'verified' | 'not verified' | 'not applicable';

/** What the reader did with one key of a mapping. `read`: meshload maps it; `unverified`: a real
 * Istio field it leaves alone; `unknown`: not an Istio field (typo?); `unsupported`: an Istio
 * field that makes its part unusable; `skipped`: a whole document of another kind. */
export type Disposition = 'read' | 'unverified' | 'unknown' | 'unsupported' | 'skipped' | 'list';

export interface FieldRecord {
  file: string;
  /** 1-based document number in the file. */
  document: number;
  /** `items[2].` for a resource inside a kubectl List, else ''. */
  prefix: string;
  /** Path inside the resource: `spec.trafficPolicy.tls`; '' for the whole document. */
  path: string;
  disposition: Disposition;
  /** The reader's own words (unknown/unsupported/skipped). */
  message: string | undefined;
  /** The resource as read (the same object the policies carry), undefined for skipped documents. */
  origin: Origin | undefined;
  /** Resource label for messages: `DestinationRule reviews`, `Gateway bookinfo-gateway`. */
  resource: string;
  /** The value when it is a scalar (0 means unset for connection pool limits). */
  value: unknown;
  /** The value is null, {} or []. */
  empty: boolean;
}

/** The leaves of one document: every scalar, null, empty mapping or list, by path. */
export interface DocumentLeaves {
  file: string;
  document: number;
  paths: string[];
  /** More leaves than MAX_LEAVES: the rest are not listed. */
  truncated: boolean;
}

export interface FieldAccount {
  file: string;
  document: number;
  resource: string;
  /** Path in the document (a subtree when the account covers it whole). */
  path: string;
  class: FieldClass;
  reason: string;
  /** Row of docs/verify-rules.md. */
  rule: string;
}

export interface AccountingInput {
  records: readonly FieldRecord[];
  leaves: readonly DocumentLeaves[];
  /** The chosen host's resources; every other resource is another host's. */
  chosen: ReadonlySet<Origin>;
  /** Resources of other hosts, with the host they configure. */
  otherHost: ReadonlyMap<Origin, string>;
  destinationRules: readonly DestinationRule[];
  virtualServices: readonly VirtualService[];
  /** The plan's policies, or why there is no plan (exit 2 paths). */
  plan: { policies: readonly PlannedPolicy[]; phases: readonly string[] } | { failed: string };
}

export interface Accounting {
  accounts: FieldAccount[];
  /** Leaves no account covers (listed as "not read" in accounts too) and leaves two cover. */
  unaccounted: string[];
  doubled: string[];
}

/** Leaves of one document, at most this many (the files are bounded; aliases are not). */
export const MAX_LEAVES = 50_000;

/** Paths of every leaf under `node`, aliases resolved by `resolve`. */
export function collectLeaves(node: unknown, resolve: (n: unknown) => unknown, file: string, document: number): DocumentLeaves {
  const paths: string[] = [];
  let truncated = false;
  const walk = (n: unknown, path: string): void => {
    if (paths.length >= MAX_LEAVES) {
      truncated = true;
      return;
    }
    const value = resolve(n);
    if (isMap(value) && value.items.length > 0) {
      for (const pair of value.items) walk(pair.value, join(path, isScalar(pair.key) ? String(pair.key.value) : '?'));
    } else if (isSeq(value) && value.items.length > 0) {
      value.items.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else {
      paths.push(path);
    }
  };
  walk(node, '');
  return { file, document, paths, truncated };
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** `path` and each of its ancestors up to the document (''): `a.b[0]`, `a.b`, `a`, ''. Lookups
 * go through these so the checks stay linear in the size of the file. */
export function ancestors(path: string): string[] {
  const out = [path];
  for (let i = path.length - 1; i > 0; i--) {
    const c = path[i];
    if (c === '.' || (c === '[' && path[i - 1] !== '.')) out.push(path.slice(0, i));
  }
  if (path !== '') out.push('');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rules: one decision per record

interface Classified {
  container?: false;
  class: FieldClass;
  reason: string;
  rule: string;
  /** The account covers the subtree: records beneath it are not accounted again. */
  whole?: boolean;
  /** Where the account is, when not at the record's own path. */
  at?: string;
}

type Decision = { container: true } | Classified;

const CONTAINER: Decision = { container: true };

function na(reason: string, rule: string): Classified {
  return { class: 'not applicable', reason, rule };
}

function unverified(reason: string, rule: string, whole = false): Classified {
  return { class: 'not verified', reason, rule, whole };
}

/** Why known Istio fields meshload leaves alone are not verified, where more can be said. */
const UNVERIFIED_WHY: Readonly<Record<string, string>> = {
  loadBalancer: 'load balancing is not verified (no phase tells the algorithm apart)',
  tls: 'TLS settings are not verified (the client sees the same responses)',
  mirror: 'mirrored traffic goes to another upstream whose answers the client never sees',
  mirrors: 'mirrored traffic goes to another upstream whose answers the client never sees',
  mirrorPercent: 'mirrored traffic goes to another upstream whose answers the client never sees',
  mirrorPercentage: 'mirrored traffic goes to another upstream whose answers the client never sees',
  corsPolicy: 'CORS applies to browser preflight requests, which the plan does not send',
  headers: 'header manipulation is not verified',
  gateways: 'only mesh traffic from the client sidecar is verified, not gateways',
  exportTo: 'visibility across namespaces is not verified',
};

/** Routes the planner skips and why (it plans the first route without match, see plan-verification). */
function routeSkip(vs: VirtualService, route: HttpRoute): string | undefined {
  if (route.hasMatch) {
    const carries = [route.faultAbort !== undefined || route.faultDelay !== undefined ? 'fault' : '', route.retries !== undefined ? 'retries' : '', route.timeoutMs !== undefined ? 'timeout' : '', route.destinations.length > 1 ? 'weights' : ''].filter((c) => c !== '');
    return `a route with match conditions${carries.length > 0 ? ` (carries ${carries.join(', ')})` : ''}: the generated load may not match it`;
  }
  const first = vs.http.find((r) => !r.hasMatch);
  if (first !== undefined && first !== route) return `unreachable: ${first.name} before it has no match conditions and takes all traffic`;
  return undefined;
}

class Rules {
  constructor(private readonly input: AccountingInput) {}

  private policies(kind: PolicyKind, subject: string): PlannedPolicy[] {
    const plan = this.input.plan;
    return 'failed' in plan ? [] : plan.policies.filter((p) => p.policy === kind && p.subject === subject);
  }

  /** A field a policy's phases show: verified when planned, else the planner's reason. */
  policy(kind: PolicyKind, subject: string, pick?: (p: PlannedPolicy) => boolean): Decision {
    const plan = this.input.plan;
    if ('failed' in plan) return unverified(`no plan was made: ${plan.failed}`, 'field.no-plan');
    const mine = this.policies(kind, subject).filter((p) => pick === undefined || pick(p));
    const planned = mine.find((p) => p.skipped === undefined);
    if (planned !== undefined) return { class: 'verified', reason: `phases ${planned.phases.join('; ')}`, rule: 'field.policy' };
    const skipped = mine.find((p) => p.skipped !== undefined);
    if (skipped !== undefined) return unverified(`${kind} not verified: ${skipped.skipped ?? ''}`, 'field.policy-skipped');
    return unverified(`${kind}: no phase was planned for it`, 'field.policy-skipped');
  }

  decide(record: FieldRecord): Decision {
    const key = record.path.split('.').pop() ?? '';
    if (record.disposition === 'skipped') return na(record.message ?? 'not a DestinationRule or VirtualService', 'field.other-kind');
    if (record.disposition === 'list' && record.path !== 'items') return na('the kubectl List around the resources', 'field.list-wrapper');
    if (record.disposition === 'unverified') return unverified(UNVERIFIED_WHY[key.replace(/\[\d+\]$/, '')] ?? 'not verified by meshload', 'field.unverified');
    if (record.disposition === 'unknown') return unverified(record.message ?? 'unknown field (typo?), ignored', 'field.unknown');
    if (record.disposition === 'unsupported') return unverified(record.message ?? 'unsupported by meshload', 'field.unsupported', true);
    const decision = record.disposition === 'list' ? CONTAINER : this.decideRead(record);
    if (decision.container === true && record.empty) return na('empty', 'field.empty');
    return decision;
  }

  private decideRead(record: FieldRecord): Decision {
    const pattern = record.path.replace(/\[\d+\]/g, '[]');
    switch (pattern) {
      case 'apiVersion':
      case 'kind':
        return na('the resource type', 'field.identity');
      case 'metadata':
        return na('names the resource (its namespace resolves short hosts)', 'field.identity');
      case 'status':
        return na('written by the cluster, not configuration', 'field.identity');
    }
    const origin = record.origin;
    if (origin === undefined) return unverified('not read by meshload', 'field.unread');
    const other = this.input.otherHost.get(origin);
    if (pattern === 'spec') {
      if (other !== undefined) return unverified(`other host: ${other} (not the one verified; verify it with --host ${other})`, 'field.other-host', true);
      if (!this.input.chosen.has(origin)) {
        const plan = this.input.plan;
        return 'failed' in plan ? unverified(`no plan was made: ${plan.failed}`, 'field.no-plan', true) : unverified('not read by meshload', 'field.unread', true);
      }
      return CONTAINER;
    }
    const dr = this.input.destinationRules.find((d) => d.origin === origin);
    if (dr !== undefined) return this.decideDestinationRule(dr, record, pattern);
    const vs = this.input.virtualServices.find((v) => v.origin === origin);
    if (vs !== undefined) return this.decideVirtualService(vs, record, pattern);
    return unverified('not read by meshload', 'field.unread');
  }

  private decideDestinationRule(dr: DestinationRule, record: FieldRecord, pattern: string): Decision {
    const subject = `DestinationRule ${dr.origin.name}`;
    const pool = 'spec.trafficPolicy.connectionPool';
    const outlier = 'spec.trafficPolicy.outlierDetection';
    switch (pattern) {
      case 'spec.host':
        return na('names the service', 'field.identity');
      case 'spec.trafficPolicy':
      case pool:
      case `${pool}.tcp`:
      case `${pool}.http`:
      case outlier:
      case 'spec.subsets':
      case 'spec.subsets[]':
        return CONTAINER;
      case `${pool}.tcp.maxConnections`:
      case `${pool}.http.http1MaxPendingRequests`:
      case `${pool}.http.http2MaxRequests`:
        // Istio treats 0 as unset (MESH-FACTS "How Istio config maps to Envoy").
        if (record.value === 0) return na('0 means unset: no limit', 'field.zero-limit');
        return this.policy('connectionPool', subject);
      case `${pool}.http.maxRetries`:
        // istio/api destination_rule.proto ConnectionPoolSettings.HTTPSettings.max_retries
        return unverified('the retry breaker is not exercised: no phase overflows it (upstream_rq_retry_overflow is not checked); retries phases keep their concurrency under it', 'field.max-retries');
      case `${pool}.http.maxRequestsPerConnection`:
        // istio/api destination_rule.proto max_requests_per_connection: not a breaker.
        return unverified('not a breaker: it limits requests per connection (1 turns keep-alive off); connection reuse is not checked', 'field.max-requests-per-connection');
      case `${outlier}.consecutive5xxErrors`:
      case `${outlier}.consecutiveGatewayErrors`:
      case `${outlier}.consecutiveErrors`:
        return this.policy('outlierDetection', subject);
      case `${outlier}.interval`:
      case `${outlier}.baseEjectionTime`:
      case `${outlier}.maxEjectionPercent`: {
        const decision = this.policy('outlierDetection', subject);
        if (decision.container !== true && decision.class === 'verified') return unverified('read; the outlierDetection phases do not depend on it', 'field.outlier-tuning');
        return decision;
      }
      case 'spec.subsets[].name':
      case 'spec.subsets[].labels':
        return na('names a subset and its pods', 'field.identity');
      case 'spec.subsets[].trafficPolicy': {
        const name = dr.subsets[Number(/\[(\d+)\]/.exec(record.path)?.[1] ?? -1)]?.name ?? '';
        // A subset's outlierDetection is planned (or skipped) on its own: its parts get their own accounts.
        if (this.policies('outlierDetection', `${subject} subset ${name}`).length > 0) return CONTAINER;
        const skip = this.policies('connectionPool', `${subject} subset ${name}`).find((p) => p.skipped !== undefined);
        return unverified(skip?.skipped ?? 'subset-level traffic policies are not verified', 'field.subset-policy', true);
      }
    }
    if (pattern.startsWith('spec.subsets[].trafficPolicy.')) {
      const name = dr.subsets[Number(/\[(\d+)\]/.exec(record.path)?.[1] ?? -1)]?.name ?? '';
      if (pattern === 'spec.subsets[].trafficPolicy.outlierDetection') {
        const decision = this.policy('outlierDetection', `${subject} subset ${name}`);
        return decision.container === true ? decision : { ...decision, whole: true };
      }
      const skip = this.policies('connectionPool', `${subject} subset ${name}`).find((p) => p.skipped !== undefined);
      return unverified(skip?.skipped ?? 'subset-level traffic policies other than outlierDetection are not verified', 'field.subset-policy', true);
    }
    return unverified('not read by meshload', 'field.unread');
  }

  private decideVirtualService(vs: VirtualService, record: FieldRecord, pattern: string): Decision {
    if (pattern === 'spec.hosts') return na('the hosts routed (the host verified is chosen among them)', 'field.identity');
    if (pattern === 'spec.http') return CONTAINER;
    const index = Number(/^spec\.http\[(\d+)\]/.exec(record.path)?.[1] ?? -1);
    const route = vs.http.find((r) => r.index === index);
    if (route === undefined) return unverified('not read by meshload', 'field.unread');
    const skip = routeSkip(vs, route);
    // A skipped route is accounted for whole, at the route, by the first of its keys met.
    if (skip !== undefined) return { ...unverified(skip, route.hasMatch ? 'field.match-route' : 'field.unreachable-route', true), at: `spec.http[${index}]` };
    const subject = `VirtualService ${vs.origin.name} ${route.name}`;
    const sub = pattern.slice('spec.http[].'.length);
    switch (sub) {
      case 'name':
        return na('names the route', 'field.identity');
      case 'route':
      case 'route[]':
      case 'route[].destination':
      case 'route[].destination.port':
      case 'retries':
      case 'fault':
      case 'fault.delay':
      case 'fault.abort':
      case 'fault.delay.percentage':
      case 'fault.abort.percentage':
        return CONTAINER;
      case 'route[].destination.host':
      case 'route[].destination.subset':
      case 'route[].destination.port.number':
        return na('where the route sends traffic', 'field.identity');
      case 'route[].weight':
        if (route.destinations.length < 2) return na('a single destination receives all traffic', 'field.single-weight');
        return this.policy('weights', subject);
      case 'timeout':
        return this.policy('timeout', subject);
      case 'retries.attempts':
      case 'retries.retryOn':
        return this.policy('retries', subject);
      case 'retries.perTryTimeout':
        return this.perTryTimeout(subject, route);
      case 'fault.delay.fixedDelay':
      case 'fault.delay.percentage.value':
      case 'fault.delay.percent':
        return this.fault(subject, 'delay', route.faultDelay?.percent);
      case 'fault.abort.grpcStatus':
        return this.grpcAbort(subject, route);
      case 'fault.abort.httpStatus':
      case 'fault.abort.percentage.value':
        if (route.faultAbortGrpc !== undefined) return this.grpcAbort(subject, route);
        return this.fault(subject, 'abort', route.faultAbort?.percent);
    }
    return unverified('not read by meshload', 'field.unread');
  }

  /** perTryTimeout is shown only by its own phase (see plan-verification planRetries). */
  private perTryTimeout(subject: string, route: HttpRoute): Decision {
    const decision = this.policy('retries', subject);
    if (decision.container === true || decision.class !== 'verified') return decision;
    const planned = this.policies('retries', subject).find((p) => p.skipped === undefined);
    if (planned?.phases.some((name) => /too slow|per.?try/i.test(name)) === true) return { ...decision, rule: 'field.per-try-timeout' };
    const unshown = planned?.unshown?.find((u) => u.startsWith('perTryTimeout'));
    if (unshown !== undefined) return unverified(`not shown: ${unshown}`, 'field.per-try-timeout');
    const retryOn = route.retries?.retryOn?.join(',') ?? '(default)';
    return unverified(`no phase times tries out: retryOn ${retryOn} does not retry the 503 the plan injects, or the proxy is not Envoy`, 'field.per-try-timeout');
  }

  /** fault.abort.grpcStatus: verified by a gRPC target's plan (grpc-plan.ts), never over HTTP. */
  private grpcAbort(subject: string, route: HttpRoute): Decision {
    const percent = route.faultAbortGrpc?.percent;
    if ((percent ?? 0) > 0 && !this.policies('fault', subject).some((p) => p.skipped === undefined)) {
      return unverified('a grpcStatus abort is verified against a gRPC target only (a grpc:// URL or --grpc): over HTTP it is not', 'field.unsupported');
    }
    return this.fault(subject, 'abort', percent);
  }

  private fault(subject: string, part: 'delay' | 'abort', percent: number | undefined): Decision {
    if ((percent ?? 0) > 0) return this.policy('fault', subject);
    const plan = this.input.plan;
    if ('failed' in plan) return unverified(`no plan was made: ${plan.failed}`, 'field.no-plan');
    const skip = this.policies('fault', subject).find((p) => p.skipped !== undefined && p.model.startsWith(part));
    return unverified(skip?.skipped ?? `the ${part} could not be used (see the other fields of fault.${part})`, 'field.policy-skipped');
  }
}

/** Accounts for every field of every document, and the leaves that broke "exactly once". */
export function accountFields(input: AccountingInput): Accounting {
  const rules = new Rules(input);
  const accounts: FieldAccount[] = [];
  const byDocument = new Map<string, FieldAccount[]>();
  const docKey = (file: string, document: number): string => `${document}\u0000${file}`;
  // Records come in reading order: a whole-subtree decision (other host, skipped route) hides the
  // records beneath it, which the reader also made.
  const wholes = new Set<string>();
  for (const record of input.records) {
    const key = docKey(record.file, record.document);
    const at = (p: string): string => (record.prefix === '' ? p : p === '' ? record.prefix.replace(/\.$/, '') : `${record.prefix}${p}`);
    if (ancestors(at(record.path)).slice(1).some((a) => wholes.has(`${key}\u0000${a}`))) continue;
    const decision = rules.decide(record);
    if (decision.container === true) continue;
    const path = at(decision.at ?? record.path);
    const account: FieldAccount = { file: record.file, document: record.document, resource: record.resource, path, class: decision.class, reason: decision.reason, rule: decision.rule };
    if (decision.whole === true || record.disposition === 'skipped') wholes.add(`${key}\u0000${path}`);
    accounts.push(account);
    const list = byDocument.get(key) ?? [];
    list.push(account);
    byDocument.set(key, list);
  }
  const unaccounted: string[] = [];
  const doubled: string[] = [];
  for (const doc of input.leaves) {
    const mine = new Map<string, number>();
    for (const a of byDocument.get(docKey(doc.file, doc.document)) ?? []) mine.set(a.path, (mine.get(a.path) ?? 0) + 1);
    for (const leaf of doc.paths) {
      const count = ancestors(leaf).reduce((n, a) => n + (mine.get(a) ?? 0), 0);
      const where = `${doc.file}#${doc.document}: ${leaf === '' ? '(document)' : leaf}`;
      if (count === 0) {
        unaccounted.push(where);
        // Never silent: a leaf no rule covers is listed as not read.
        accounts.push({ file: doc.file, document: doc.document, resource: `document ${doc.document}`, path: leaf, class: 'not verified', reason: 'not read by meshload', rule: 'field.unread' });
      } else if (count > 1) {
        doubled.push(where);
      }
    }
    if (doc.truncated) accounts.push({ file: doc.file, document: doc.document, resource: `document ${doc.document}`, path: '', class: 'not verified', reason: `more than ${MAX_LEAVES} fields: the rest are not listed`, rule: 'field.unread' });
  }
  return { accounts, unaccounted, doubled };
}

/** The accounting of one verify: what was read, the host chosen (undefined when none could
 * be), and the plan or why there is none. */
export function accountVerification(
  read: { records: readonly FieldRecord[]; leaves: readonly DocumentLeaves[] },
  choice: HostChoice | undefined,
  plan: AccountingInput['plan'],
): Accounting {
  const otherHost = new Map<Origin, string>();
  for (const other of choice?.others ?? []) otherHost.set(other.origin, 'host' in other ? other.host : other.hosts.join(', '));
  const policies = choice?.policies;
  return accountFields({
    records: read.records,
    leaves: read.leaves,
    chosen: new Set([...(policies?.destinationRules ?? []), ...(policies?.virtualServices ?? [])].map((r) => r.origin)),
    otherHost,
    destinationRules: policies?.destinationRules ?? [],
    virtualServices: policies?.virtualServices ?? [],
    plan,
  });
}

/** Keys come from the file: a newline or an escape sequence in one must not break a plan file's
 * comment into YAML, nor paint a terminal. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Lines for people: per resource, what was verified, what not and why, and what does not apply. */
export function formatAccounts(accounts: readonly FieldAccount[]): string[] {
  return formatGroups(accounts).map(printable);
}

function formatGroups(accounts: readonly FieldAccount[]): string[] {
  const lines: string[] = [];
  const groups = new Map<string, FieldAccount[]>();
  for (const account of accounts) {
    const key = `${account.file}: ${account.resource}`;
    const list = groups.get(key) ?? [];
    list.push(account);
    groups.set(key, list);
  }
  for (const [key, list] of groups) {
    const whole = list.find((a) => a.path === '' || a.path === 'spec');
    if (whole !== undefined && whole.class !== 'verified' && list.every((a) => a === whole || a.class === 'not applicable')) {
      lines.push(`${key}: ${whole.class}${whole.path === '' ? '' : ` (${whole.path})`}: ${whole.reason}`);
      continue;
    }
    lines.push(`${key}:`);
    const verified = list.filter((a) => a.class === 'verified');
    if (verified.length > 0) lines.push(`  verified: ${verified.map((a) => a.path).join(', ')}`);
    for (const a of list.filter((x) => x.class === 'not verified')) lines.push(`  not verified: ${a.path}: ${a.reason}`);
    const none = list.filter((a) => a.class === 'not applicable');
    if (none.length > 0) lines.push(`  not applicable: ${none.map((a) => a.path).join(', ')}`);
  }
  return lines;
}
