import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESILIENCE_FIELD_DOCS, RESILIENCE_FIELDS, resilienceView, type ResilienceField } from '../../src/stats/resilience-view';
import type { ResilienceView } from '../../src/model/sidecar-report';

const map = (entries: Record<string, number>): Map<string, number> => new Map(Object.entries(entries));

/** Reads a field of the view by its dotted name. */
function field(view: ResilienceView, name: ResilienceField): number | undefined {
  const [group, leaf] = name.split('.') as [string, string | undefined];
  const value = (view as unknown as Record<string, unknown>)[group];
  if (leaf === undefined) return value as number | undefined;
  return (value as Record<string, number | undefined>)[leaf];
}

function definedFields(view: ResilienceView): Partial<Record<ResilienceField, number>> {
  const out: Partial<Record<ResilienceField, number>> = {};
  for (const name of RESILIENCE_FIELDS) {
    const value = field(view, name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

// Deltas of `cluster.outbound|8000||httpbin.default.svc.cluster.local;.*` after a Fortio-style
// run against maxConnections 1 / http1MaxPendingRequests 1, retries on 5xx (keys in statKey form).
const ENVOY_BREAKER_RUN = map({
  upstream_rq_total: 14,
  upstream_rq_completed: 30,
  upstream_rq_2xx: 11,
  upstream_rq_200: 11,
  upstream_rq_5xx: 19,
  upstream_rq_503: 19,
  retry_upstream_rq_5xx: 2,
  retry_upstream_rq_503: 2,
  upstream_rq_pending_overflow: 17,
  upstream_rq_pending_total: 14,
  upstream_cx_overflow: 9,
  upstream_rq_retry: 2,
  upstream_rq_retry_success: 1,
  upstream_rq_retry_overflow: 0,
  upstream_rq_retry_limit_exceeded: 1,
  upstream_rq_timeout: 0,
  upstream_rq_per_try_timeout: 0,
  upstream_cx_connect_fail: 0,
  outlier_detection_ejections_enforced_total: 0,
});

describe('resilienceView envoy', () => {
  it('maps every cluster counter it knows', () => {
    const view = resilienceView('envoy', ENVOY_BREAKER_RUN);
    expect(definedFields(view)).toEqual({
      requestsSent: 14,
      'breakerRejections.pending': 17,
      'breakerRejections.connection': 9,
      'retries.attempted': 2,
      'retries.succeeded': 1,
      'retries.overflowed': 0,
      'retries.limitExceeded': 1,
      'timeouts.route': 0,
      'timeouts.perTry': 0,
      'upstream5xx.final': 19,
      'upstream5xx.retried': 2,
      connectFailures: 0,
      'ejections.enforced': 0,
    });
    // Envoy < 1.38 has no active overflow counter: unknown, not zero.
    expect(view.breakerRejections.active).toBeUndefined();
    expect(view.kind).toBe('envoy');
  });

  it('says nothing at all for an empty input', () => {
    expect(definedFields(resilienceView('envoy', new Map(), new Map(), new Map()))).toEqual({});
    expect(definedFields(resilienceView('haproxy', new Map()))).toEqual({});
  });

  it('reads the breaker and ejection gauges from their maxima only', () => {
    const gauges = map({
      circuit_breakers_default_cx_open: 1,
      circuit_breakers_default_rq_pending_open: 1,
      circuit_breakers_default_rq_open: 0,
      circuit_breakers_default_rq_retry_open: 0,
      outlier_detection_ejections_active: 2,
    });
    const view = resilienceView('envoy', map({ outlier_detection_ejections_active: 7 }), gauges);
    expect(view.breakerOpen).toEqual({ cx: 1, rqPending: 1, rq: 0, rqRetry: 0 });
    expect(view.ejections.active).toBe(2);
  });

  it('accepts stat names as well as their keys', () => {
    const names = resilienceView('envoy', map({ 'upstream_rq_pending_overflow': 3 }), map({ 'circuit_breakers.default.rq_pending_open': 1 }));
    const keys = resilienceView('envoy', map({ upstream_rq_pending_overflow: 3 }), map({ circuit_breakers_default_rq_pending_open: 1 }));
    expect(names).toEqual(keys);
    expect(keys.breakerRejections).toEqual({ pending: 3, active: undefined, connection: undefined });
    expect(keys.breakerOpen.rqPending).toBe(1);
  });

  it('reads max_requests rejects apart on Envoy >= 1.38', () => {
    const view = resilienceView('envoy', map({ upstream_rq_pending_overflow: 3, upstream_rq_active_overflow: 4 }));
    expect(view.breakerRejections).toEqual({ pending: 3, active: 4, connection: undefined });
  });

  describe('5xx: class or codes, never both', () => {
    const cases: Array<[string, Record<string, number>, number | undefined, number | undefined]> = [
      ['class and codes present: the class', { upstream_rq_5xx: 5, upstream_rq_503: 3, upstream_rq_504: 2 }, 5, undefined],
      ['codes only: their sum', { upstream_rq_503: 3, upstream_rq_504: 2, upstream_rq_200: 9 }, 5, undefined],
      ['retry codes only', { retry_upstream_rq_503: 4, retry_upstream_rq_502: 1 }, undefined, 5],
      ['retried 503s are not final ones', { upstream_rq_503: 1, retry_upstream_rq_503: 4 }, 1, 4],
      ['no 5xx stat at all', { upstream_rq_2xx: 10, upstream_rq_200: 10 }, undefined, undefined],
      ['not a status code', { upstream_rq_5xxx: 1, upstream_rq_50: 1 }, undefined, undefined],
    ];
    it.each(cases)('%s', (_name, deltas, final, retried) => {
      expect(resilienceView('envoy', map(deltas)).upstream5xx).toEqual({ final, retried });
    });
  });

  it('sums the fault filter stats of every HTTP stat prefix given', () => {
    const http = map({
      'http.outbound_0.0.0.0_8000.fault.aborts_injected': 4,
      'http.outbound_0.0.0.0_9080.fault.aborts_injected': 1,
      'http.outbound_0.0.0.0_8000.fault.delays_injected': 6,
      'http.outbound_0.0.0.0_8000.downstream_rq_total': 100,
    });
    expect(resilienceView('envoy', new Map(), undefined, http).faults).toEqual({ aborts: 5, delays: 6 });
    expect(resilienceView('envoy', new Map()).faults).toEqual({ aborts: undefined, delays: undefined });
  });
});

// Deltas captured from HAProxy 2.6.12 (test/stats/haproxy-mapping.test.ts, breaker scenario):
// maxconn 1, timeout queue 200ms, six concurrent 400ms requests -> one 200, five 503 sQ. Keys as
// cluster-stats.ts makes them: backend series by metric name, server series as server.<name>.*.
const HAPROXY_BREAKER_RUN = map({
  max_queue: 5,
  sessions_total: 6,
  connection_errors_total: 5,
  response_errors_total: 0,
  server_aborts_total: 0,
  retry_warnings_total: 0,
  redispatch_warnings_total: 0,
  loadbalanced_total: 1,
  'http_responses_total{code="2xx"}': 1,
  'http_responses_total{code="5xx"}': 5,
  http_requests_total: 6,
  server_s1_sessions_total: 1,
  server_s1_connection_errors_total: 0,
  server_s1_server_aborts_total: 0,
  'server_s1_http_responses_total{code="2xx"}': 1,
  server_s1_check_up_down_total: Number.NaN,
});

describe('resilienceView haproxy', () => {
  it('maps the exporter counters it can, approximations included', () => {
    expect(definedFields(resilienceView('haproxy', HAPROXY_BREAKER_RUN))).toEqual({
      requestsSent: 1,
      'breakerRejections.pending': 5,
      'retries.attempted': 0,
      'timeouts.route': 0,
      'upstream5xx.final': 5,
      connectFailures: 0,
    });
  });

  it('sums the servers of a backend, and only servers', () => {
    const view = resilienceView(
      'haproxy',
      map({
        connection_errors_total: 9,
        'server_web-1_connection_errors_total': 2,
        server_web_2_connection_errors_total: 3,
        server_s1_sessions_total: 10,
        server_s2_sessions_total: 5,
        sessions_total: 100,
        server_aborts_total: 1,
        server_s1_check_up_down_total: 1,
        server_s2_check_up_down_total: 0,
      }),
    );
    expect(view.connectFailures).toBe(5);
    expect(view.breakerRejections.pending).toBe(4);
    expect(view.requestsSent).toBe(15);
    expect(view.ejections.enforced).toBe(1);
  });

  it('leaves a derived field unknown when one of its inputs is missing', () => {
    const view = resilienceView('haproxy', map({ connection_errors_total: 5, retry_warnings_total: 3 }));
    expect(view.breakerRejections.pending).toBeUndefined();
    expect(view.retries.attempted).toBeUndefined();
    expect(view.connectFailures).toBeUndefined();
  });

  it('floors a difference at zero and skips NaN (stats that do not apply)', () => {
    const view = resilienceView('haproxy', map({ connection_errors_total: 1, server_s1_connection_errors_total: 2, server_s1_check_up_down_total: Number.NaN }));
    expect(view.breakerRejections.pending).toBe(0);
    expect(view.ejections.enforced).toBeUndefined();
  });

  it('never reports what HAProxy has no stat for, whatever the input holds', () => {
    const view = resilienceView('haproxy', ENVOY_BREAKER_RUN, map({ circuit_breakers_default_rq_pending_open: 1 }), map({ fault_aborts_injected: 1 }));
    expect(definedFields(view)).toEqual({});
  });
});

describe('RESILIENCE_FIELD_DOCS', () => {
  it('documents every field for both proxies', () => {
    expect(RESILIENCE_FIELD_DOCS.map((doc) => doc.field)).toEqual(RESILIENCE_FIELDS);
    for (const doc of RESILIENCE_FIELD_DOCS) {
      expect(doc.meaning.length).toBeGreaterThan(0);
      expect(doc.byKind.envoy).toBeDefined();
    }
    expect(RESILIENCE_FIELD_DOCS.find((doc) => doc.field === 'breakerRejections.pending')?.byKind.haproxy).toEqual({
      stats: '`haproxy_backend_connection_errors_total` - sum of `haproxy_server_connection_errors_total`',
      exact: false,
      note: expect.stringContaining('no reject counter'),
    });
  });

  it('matches docs/proxy-stats-mapping.md', () => {
    const markdown = readFileSync(join(__dirname, '../../docs/proxy-stats-mapping.md'), 'utf8');
    for (const doc of RESILIENCE_FIELD_DOCS) {
      for (const source of [doc.byKind.envoy, doc.byKind.haproxy]) {
        if (source !== undefined) expect(markdown).toContain(source.stats);
      }
    }
  });
});
