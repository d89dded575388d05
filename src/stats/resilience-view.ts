/** The resilience view: what the proxy did to a run's traffic (breaker rejects, retries,
 * timeouts, ejections, faults) in proxy-neutral terms, from the stat deltas of one upstream
 * cluster (Envoy) or backend (HAProxy). One mapping table per proxy kind lives here and nowhere
 * else; docs/proxy-stats-mapping.md explains each row and its limits.
 *
 * A field is undefined when the proxy has no such stat or the stat was missing from the input,
 * never 0: the UI says "not reported by this proxy" rather than a reassuring zero. */
import type { ProxyKind, ResilienceView } from '../model/sidecar-report';
import { statKey } from './stat-sample';

export const PROXY_KINDS: readonly ProxyKind[] = ['envoy', 'haproxy'];

type Count = number | undefined;

export type ResilienceField =
  | 'requestsSent'
  | 'breakerRejections.pending'
  | 'breakerRejections.active'
  | 'breakerRejections.connection'
  | 'retries.attempted'
  | 'retries.succeeded'
  | 'retries.overflowed'
  | 'retries.limitExceeded'
  | 'timeouts.route'
  | 'timeouts.perTry'
  | 'upstream5xx.final'
  | 'upstream5xx.retried'
  | 'connectFailures'
  | 'ejections.enforced'
  | 'ejections.active'
  | 'faults.aborts'
  | 'faults.delays'
  | 'breakerOpen.cx'
  | 'breakerOpen.rqPending'
  | 'breakerOpen.rq'
  | 'breakerOpen.rqRetry';

/** Where a field's number comes from, by ClusterStat key (statKey form). */
type Source =
  /** A counter delta. */
  | { op: 'counter'; key: string }
  /** A gauge's maximum over the run, from `gaugeMax`. */
  | { op: 'gauge'; key: string }
  /** Sum of the HTTP connection manager deltas whose key ends with `suffix` (any stat prefix). */
  | { op: 'http'; suffix: string }
  /** `<base>_5xx`, or else the sum of `<base>_5NN`: never both, which would count twice. */
  | { op: 'class5xx'; base: string }
  /** HAProxy: the sum over a backend's servers of `server.<name>.<metric>` (key `server_<name>_<metric>`). */
  | { op: 'servers'; metric: string }
  | { op: 'sum'; of: readonly Source[] }
  /** The first minus the second, floored at 0 (snapshots taken at slightly different times). */
  | { op: 'minus'; of: readonly [Source, Source] };

interface Mapping {
  source: Source;
  /** false: the number approximates the field (the note says how). */
  exact: boolean;
  note: string;
}

type MappingTable = Readonly<Record<ResilienceField, Mapping | undefined>>;

const counter = (key: string): Source => ({ op: 'counter', key });
const gauge = (key: string): Source => ({ op: 'gauge', key });

/** Envoy cluster stats (MESH-FACTS "Counters that show resilience behaviour"). */
const ENVOY: MappingTable = {
  requestsSent: { source: counter('upstream_rq_total'), exact: true, note: 'every attempt, retries included; overflow rejects are not in it' },
  'breakerRejections.pending': {
    source: counter('upstream_rq_pending_overflow'),
    exact: true,
    note: 'pending queue full (http1MaxPendingRequests); before Envoy 1.38 it also counts max_requests rejects',
  },
  'breakerRejections.active': {
    source: counter('upstream_rq_active_overflow'),
    exact: true,
    note: 'max_requests (http2MaxRequests) rejects; Envoy >= 1.38 only, older ones count them as pending',
  },
  'breakerRejections.connection': {
    source: counter('upstream_cx_overflow'),
    exact: true,
    note: 'max_connections reached; on HTTP/1.1 the request then queues, it does not fail by itself',
  },
  'retries.attempted': { source: counter('upstream_rq_retry'), exact: true, note: 'retries sent' },
  'retries.succeeded': { source: counter('upstream_rq_retry_success'), exact: true, note: 'retries that succeeded' },
  'retries.overflowed': {
    source: counter('upstream_rq_retry_overflow'),
    exact: true,
    note: 'retries skipped by the max_retries breaker or the retry budget',
  },
  'retries.limitExceeded': { source: counter('upstream_rq_retry_limit_exceeded'), exact: true, note: 'retries skipped: attempts used up' },
  'timeouts.route': { source: counter('upstream_rq_timeout'), exact: true, note: 'route timeout fired (504 "upstream request timeout")' },
  'timeouts.perTry': { source: counter('upstream_rq_per_try_timeout'), exact: true, note: 'per-try timeout fired' },
  'upstream5xx.final': {
    source: { op: 'class5xx', base: 'upstream_rq' },
    exact: true,
    note: "final responses only, Envoy's own 503/504 included; per-code keys are summed only when the class key is absent",
  },
  'upstream5xx.retried': {
    source: { op: 'class5xx', base: 'retry_upstream_rq' },
    exact: true,
    note: 'responses that triggered a retry (a retried 503 is not in the final count)',
  },
  connectFailures: { source: counter('upstream_cx_connect_fail'), exact: true, note: 'failed connection attempts, each one counted' },
  'ejections.enforced': { source: counter('outlier_detection_ejections_enforced_total'), exact: true, note: 'hosts ejected by outlier detection' },
  'ejections.active': { source: gauge('outlier_detection_ejections_active'), exact: true, note: 'most hosts ejected at once (gauge, sampled)' },
  'faults.aborts': {
    source: { op: 'http', suffix: 'fault_aborts_injected' },
    exact: true,
    note: 'from the HTTP stats of the client listener (`http.<prefix>.fault.*`), not the cluster',
  },
  'faults.delays': { source: { op: 'http', suffix: 'fault_delays_injected' }, exact: true, note: 'as aborts' },
  'breakerOpen.cx': { source: gauge('circuit_breakers_default_cx_open'), exact: true, note: 'connection limit reached (gauge, sampled)' },
  'breakerOpen.rqPending': { source: gauge('circuit_breakers_default_rq_pending_open'), exact: true, note: 'pending limit reached' },
  'breakerOpen.rq': { source: gauge('circuit_breakers_default_rq_open'), exact: true, note: 'request limit reached' },
  'breakerOpen.rqRetry': { source: gauge('circuit_breakers_default_rq_retry_open'), exact: true, note: 'retry limit reached' },
};

/** HAProxy's Prometheus exporter (promex), keyed as cluster-stats.ts extracts it: a backend's
 * own series by metric name without `haproxy_backend_` (labels kept as a selector,
 * `http_responses_total{code="5xx"}`), its servers' as `server.<name>.<metric>`. Verified on
 * HAProxy 2.6.12 by test/stats/haproxy-mapping.test.ts. */
const HAPROXY: MappingTable = {
  requestsSent: {
    source: { op: 'servers', metric: 'sessions_total' },
    exact: true,
    note: "every attempt a server was given, retries and redispatches included; queue rejects are not in it (the backend's own sessions_total counts them)",
  },
  'breakerRejections.pending': {
    source: { op: 'minus', of: [counter('connection_errors_total'), { op: 'servers', metric: 'connection_errors_total' }] },
    exact: false,
    note: 'no reject counter exists: a queue timeout (503 sQ) counts in the backend econ but in no server\'s; so does "no usable server" (all down)',
  },
  'breakerRejections.active': undefined,
  'breakerRejections.connection': undefined,
  'retries.attempted': {
    source: { op: 'sum', of: [counter('retry_warnings_total'), counter('redispatch_warnings_total')] },
    exact: false,
    note: 'connection retries and redispatches count once; HAProxy 2.6 counts each L7 retry (retry-on status or timeout) twice',
  },
  'retries.succeeded': undefined,
  'retries.overflowed': undefined,
  'retries.limitExceeded': undefined,
  'timeouts.route': {
    source: { op: 'minus', of: [counter('response_errors_total'), counter('server_aborts_total')] },
    exact: false,
    note: 'eresp counts `timeout server` 504s (sH) but also invalid or empty responses (502) and client write errors',
  },
  'timeouts.perTry': undefined,
  'upstream5xx.final': {
    source: counter('http_responses_total{code="5xx"}'),
    exact: true,
    note: "final responses, HAProxy's own 503/504 included; L7-retried responses are not counted",
  },
  'upstream5xx.retried': undefined,
  connectFailures: {
    source: { op: 'servers', metric: 'connection_errors_total' },
    exact: false,
    note: 'requests whose connection still failed after their retries (one per request, not per attempt); a successful redispatch counts nothing',
  },
  'ejections.enforced': {
    source: { op: 'servers', metric: 'check_up_down_total' },
    exact: false,
    note: 'servers marked DOWN by health checks (or `observe` + `on-error mark-down`); absent without `check`',
  },
  'ejections.active': undefined,
  'faults.aborts': undefined,
  'faults.delays': undefined,
  'breakerOpen.cx': undefined,
  'breakerOpen.rqPending': undefined,
  'breakerOpen.rq': undefined,
  'breakerOpen.rqRetry': undefined,
};

const TABLES: Readonly<Record<ProxyKind, MappingTable>> = { envoy: ENVOY, haproxy: HAPROXY };

/** Finite values only (HAProxy exports NaN for stats that do not apply), under canonical keys
 * (statKey is idempotent, so stat names are accepted as well). */
function normalize(input: ReadonlyMap<string, number> | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (input === undefined) return out;
  for (const [key, value] of input) {
    if (Number.isFinite(value)) out.set(statKey(key), value);
  }
  return out;
}

interface Inputs {
  deltas: ReadonlyMap<string, number>;
  gaugeMax: ReadonlyMap<string, number>;
  http: ReadonlyMap<string, number> | undefined;
}

const CODE_5XX = /^5\d\d$/;
const SERVER_HEAD = 'server_';

function evaluate(source: Source, inputs: Inputs): Count {
  switch (source.op) {
    case 'counter':
      return inputs.deltas.get(source.key);
    case 'gauge':
      return inputs.gaugeMax.get(source.key);
    case 'http': {
      if (inputs.http === undefined) return undefined;
      let total: Count;
      for (const [key, value] of inputs.http) {
        if (!Number.isFinite(value)) continue;
        const canonical = statKey(key);
        if (canonical === source.suffix || canonical.endsWith(`_${source.suffix}`)) total = (total ?? 0) + value;
      }
      return total;
    }
    case 'class5xx': {
      const byClass = inputs.deltas.get(`${source.base}_5xx`);
      if (byClass !== undefined) return byClass;
      const head = `${source.base}_`;
      let total: Count;
      for (const [key, value] of inputs.deltas) {
        if (key.length === head.length + 3 && key.startsWith(head) && CODE_5XX.test(key.slice(head.length))) total = (total ?? 0) + value;
      }
      return total;
    }
    case 'servers': {
      const tail = `_${source.metric}`;
      let total: Count;
      for (const [key, value] of inputs.deltas) {
        if (key.startsWith(SERVER_HEAD) && key.length > SERVER_HEAD.length + tail.length && key.endsWith(tail)) total = (total ?? 0) + value;
      }
      return total;
    }
    case 'sum': {
      let total = 0;
      for (const part of source.of) {
        const value = evaluate(part, inputs);
        if (value === undefined) return undefined;
        total += value;
      }
      return total;
    }
    case 'minus': {
      const [from, less] = source.of;
      const a = evaluate(from, inputs);
      const b = evaluate(less, inputs);
      return a === undefined || b === undefined ? undefined : Math.max(0, a - b);
    }
  }
}

/** The view of one cluster (Envoy) or backend (HAProxy).
 * @param deltas counter deltas over the run, by ClusterStat key as cluster-stats.ts makes it:
 *   Envoy `upstream_rq_pending_overflow`, `upstream_rq_5xx` (Istio's `response_code_class` label
 *   folded in); HAProxy `connection_errors_total`, `http_responses_total{code="5xx"}`,
 *   `server_<name>_sessions_total` (one per server, summed here).
 * @param gaugeMax each gauge's maximum seen while the run was sampled, same keys.
 * @param httpDeltas Envoy HTTP connection manager deltas (`http.<prefix>.fault.aborts_injected`),
 *   which are not cluster stats; every prefix given is summed. */
export function resilienceView(
  kind: ProxyKind,
  deltas: ReadonlyMap<string, number>,
  gaugeMax?: ReadonlyMap<string, number>,
  httpDeltas?: ReadonlyMap<string, number>,
): ResilienceView {
  const table = TABLES[kind];
  const inputs: Inputs = { deltas: normalize(deltas), gaugeMax: normalize(gaugeMax), http: httpDeltas };
  return buildView(kind, (field) => {
    const mapping = table[field];
    return mapping === undefined ? undefined : evaluate(mapping.source, inputs);
  });
}

/** Whether a field is a gauge's maximum (it stands without the counter deltas). */
export function isGaugeField(kind: ProxyKind, field: ResilienceField): boolean {
  return TABLES[kind][field]?.source.op === 'gauge';
}

/** A view whose every field is `get(field)`: the one place the view's shape is spelled out. */
export function buildView(kind: ProxyKind, get: (field: ResilienceField) => Count): ResilienceView {
  return {
    kind,
    requestsSent: get('requestsSent'),
    breakerRejections: { pending: get('breakerRejections.pending'), active: get('breakerRejections.active'), connection: get('breakerRejections.connection') },
    retries: {
      attempted: get('retries.attempted'),
      succeeded: get('retries.succeeded'),
      overflowed: get('retries.overflowed'),
      limitExceeded: get('retries.limitExceeded'),
    },
    timeouts: { route: get('timeouts.route'), perTry: get('timeouts.perTry') },
    upstream5xx: { final: get('upstream5xx.final'), retried: get('upstream5xx.retried') },
    connectFailures: get('connectFailures'),
    ejections: { enforced: get('ejections.enforced'), active: get('ejections.active') },
    faults: { aborts: get('faults.aborts'), delays: get('faults.delays') },
    breakerOpen: { cx: get('breakerOpen.cx'), rqPending: get('breakerOpen.rqPending'), rq: get('breakerOpen.rq'), rqRetry: get('breakerOpen.rqRetry') },
  };
}

/** One field of a view by its dotted name (`breakerRejections.pending`). */
export function viewField(view: ResilienceView, field: ResilienceField): Count {
  const [head, tail] = field.split('.') as [string, string | undefined];
  const value = (view as unknown as Record<string, unknown>)[head];
  return tail === undefined ? (value as Count) : (value as Record<string, Count>)[tail];
}

/** One field as the README and `docs/proxy-stats-mapping.md` show it. */
export interface FieldDoc {
  field: ResilienceField;
  meaning: string;
  /** Per proxy kind; undefined: not reported by this proxy. */
  byKind: Readonly<Record<ProxyKind, SourceDoc | undefined>>;
}

export interface SourceDoc {
  /** The raw stats that feed the field, as a formula (`a - b`, `a + b`, `max of g`). */
  stats: string;
  exact: boolean;
  note: string;
}

const MEANINGS: Readonly<Record<ResilienceField, string>> = {
  requestsSent: 'requests sent to an upstream server, retries included',
  'breakerRejections.pending': 'rejected: the pending queue was full or timed out',
  'breakerRejections.active': 'rejected: too many requests in flight',
  'breakerRejections.connection': 'connection limit reached',
  'retries.attempted': 'retries sent',
  'retries.succeeded': 'retries that succeeded',
  'retries.overflowed': 'retries skipped by a retry breaker or budget',
  'retries.limitExceeded': 'retries skipped: no attempts left',
  'timeouts.route': 'the whole request timed out',
  'timeouts.perTry': 'one attempt timed out',
  'upstream5xx.final': '5xx returned to the client',
  'upstream5xx.retried': '5xx that were retried',
  connectFailures: 'connections to the upstream that failed',
  'ejections.enforced': 'hosts ejected',
  'ejections.active': 'most hosts ejected at once',
  'faults.aborts': 'requests aborted by fault injection',
  'faults.delays': 'requests delayed by fault injection',
  'breakerOpen.cx': 'connection breaker at its limit (0/1)',
  'breakerOpen.rqPending': 'pending breaker at its limit (0/1)',
  'breakerOpen.rq': 'request breaker at its limit (0/1)',
  'breakerOpen.rqRetry': 'retry breaker at its limit (0/1)',
};

export const RESILIENCE_FIELDS = Object.keys(MEANINGS) as readonly ResilienceField[];

/** Each field by the name a scenario check reads it with (src/checks/observe-sidecar.ts, the
 * README's "Checks"), so what the terminal shows can be pasted into `expect:`. */
export const CHECK_NAMES: Readonly<Record<ResilienceField, string>> = {
  requestsSent: 'requests.sent',
  'breakerRejections.pending': 'breaker.pending',
  'breakerRejections.active': 'breaker.active',
  'breakerRejections.connection': 'breaker.connection',
  'retries.attempted': 'retries.attempted',
  'retries.succeeded': 'retries.succeeded',
  'retries.overflowed': 'retries.overflowed',
  'retries.limitExceeded': 'retries.limit_exceeded',
  'timeouts.route': 'timeouts.route',
  'timeouts.perTry': 'timeouts.per_try',
  'upstream5xx.final': 'upstream_5xx.final',
  'upstream5xx.retried': 'upstream_5xx.retried',
  connectFailures: 'connect_failures',
  'ejections.enforced': 'ejections.enforced',
  'ejections.active': 'ejections.active',
  'faults.aborts': 'faults.aborts',
  'faults.delays': 'faults.delays',
  'breakerOpen.cx': 'breaker_open.cx',
  'breakerOpen.rqPending': 'breaker_open.rq_pending',
  'breakerOpen.rq': 'breaker_open.rq',
  'breakerOpen.rqRetry': 'breaker_open.rq_retry',
};

/** Envoy fields name the cluster stat; HAProxy fields the exporter metric, whose backend and
 * server series share a name the key alone would not tell apart. */
function describeSource(kind: ProxyKind, source: Source): string {
  switch (source.op) {
    case 'counter':
      return kind === 'haproxy' ? `\`haproxy_backend_${source.key}\`` : `\`${source.key}\``;
    case 'gauge':
      return `max of \`${source.key}\``;
    case 'http':
      return `\`http.<prefix>.${source.suffix.replace('fault_', 'fault.')}\``;
    case 'class5xx':
      return `\`${source.base}_5xx\` (else the sum of \`${source.base}_5NN\`)`;
    case 'servers':
      return `sum of \`haproxy_server_${source.metric}\``;
    case 'sum':
      return source.of.map((part) => describeSource(kind, part)).join(' + ');
    case 'minus':
      return `${describeSource(kind, source.of[0])} - ${describeSource(kind, source.of[1])}`;
  }
}

/** Which raw stats feed each field, per proxy kind, generated from the mapping tables. */
export const RESILIENCE_FIELD_DOCS: readonly FieldDoc[] = RESILIENCE_FIELDS.map((field) => {
  const doc = (kind: ProxyKind): SourceDoc | undefined => {
    const mapping = TABLES[kind][field];
    return mapping === undefined ? undefined : { stats: describeSource(kind, mapping.source), exact: mapping.exact, note: mapping.note };
  };
  return { field, meaning: MEANINGS[field], byKind: { envoy: doc('envoy'), haproxy: doc('haproxy') } };
});
