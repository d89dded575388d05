import { readFileSync } from 'node:fs';
import path from 'node:path';
import { clusterGroup, clusterStatsOf, hasOutboundClusters, isEnvoyClusterStat, matchCluster, outboundClusterNames, parseIstioCluster, splitEnvoyClusterStat, suggestClusters, type IstioCluster } from '../../src/stats/cluster-stats';
import type { ClusterStat, StatSample } from '../../src/stats/stat-sample';
import { parseStats } from '../../src/stats/stats-parser';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'stats');
const fixtureStats = (name: string): ClusterStat[] => parseStats(readFileSync(path.join(FIXTURES, name), 'utf8')).flatMap((s) => clusterStatsOf(s));

const HTTPBIN = 'outbound|8000||httpbin.default.svc.cluster.local';

describe('splitEnvoyClusterStat', () => {
  it.each<[string, string | undefined, string | undefined]>([
    // Istio >= 1.23: the `;` ends the cluster name.
    [`cluster.${HTTPBIN};.upstream_rq_pending_overflow`, HTTPBIN, 'upstream_rq_pending_overflow'],
    [`cluster.${HTTPBIN};.circuit_breakers.default.rq_pending_open`, HTTPBIN, 'circuit_breakers.default.rq_pending_open'],
    [`cluster.${HTTPBIN};.some_future_stat.with.dots`, HTTPBIN, 'some_future_stat.with.dots'],
    ['cluster.inbound|8080||;.upstream_rq_total', 'inbound|8080||', 'upstream_rq_total'],
    ['cluster.xds-grpc;.http2.rx_reset', 'xds-grpc', 'http2.rx_reset'],
    // Before 1.23: the FQDN's dots make the split a search for a known stat shape.
    [`cluster.${HTTPBIN}.upstream_rq_pending_overflow`, HTTPBIN, 'upstream_rq_pending_overflow'],
    [`cluster.${HTTPBIN}.circuit_breakers.default.rq_pending_open`, HTTPBIN, 'circuit_breakers.default.rq_pending_open'],
    [`cluster.${HTTPBIN}.circuit_breakers.high.remaining_cx`, HTTPBIN, 'circuit_breakers.high.remaining_cx'],
    [`cluster.${HTTPBIN}.outlier_detection.ejections_active`, HTTPBIN, 'outlier_detection.ejections_active'],
    [`cluster.${HTTPBIN}.retry.upstream_rq_503`, HTTPBIN, 'retry.upstream_rq_503'],
    [`cluster.${HTTPBIN}.internal.upstream_rq_2xx`, HTTPBIN, 'internal.upstream_rq_2xx'],
    [`cluster.${HTTPBIN}.canary.upstream_rq_time`, HTTPBIN, 'canary.upstream_rq_time'],
    [`cluster.${HTTPBIN}.zone.us-east-1a.us-east-1b.upstream_rq_200`, HTTPBIN, 'zone.us-east-1a.us-east-1b.upstream_rq_200'],
    [`cluster.${HTTPBIN}.default.total_match_count`, HTTPBIN, 'default.total_match_count'],
    [`cluster.${HTTPBIN}.tlsMode-istio.total_match_count`, HTTPBIN, 'tlsMode-istio.total_match_count'],
    [`cluster.${HTTPBIN}.ssl.versions.TLSv1.3`, HTTPBIN, 'ssl.versions.TLSv1.3'],
    [`cluster.${HTTPBIN}.ssl.certificate.default.expiration_unix_time_seconds`, HTTPBIN, 'ssl.certificate.default.expiration_unix_time_seconds'],
    [`cluster.${HTTPBIN}.ssl.handshake`, HTTPBIN, 'ssl.handshake'],
    [`cluster.${HTTPBIN}.version_text`, HTTPBIN, 'version_text'],
    [`cluster.${HTTPBIN}.lb_subsets_active`, HTTPBIN, 'lb_subsets_active'],
    ['cluster.outbound|9080|v2|reviews.default.svc.cluster.local.upstream_rq_total', 'outbound|9080|v2|reviews.default.svc.cluster.local', 'upstream_rq_total'],
    ['cluster.inbound|9080||.upstream_rq_total', 'inbound|9080||', 'upstream_rq_total'],
    ['cluster.inbound|9080||reviews.default.svc.cluster.local.upstream_rq_total', 'inbound|9080||reviews.default.svc.cluster.local', 'upstream_rq_total'],
    // Namespace or host labels that look like stat trees are not taken for one.
    ['cluster.outbound|80||web.internal.svc.cluster.local.upstream_rq_total', 'outbound|80||web.internal.svc.cluster.local', 'upstream_rq_total'],
    ['cluster.outbound|80||web.zone.svc.cluster.local.upstream_rq_200', 'outbound|80||web.zone.svc.cluster.local', 'upstream_rq_200'],
    ['cluster.outbound|80||web.ssl.svc.cluster.local.ssl.handshake', 'outbound|80||web.ssl.svc.cluster.local', 'ssl.handshake'],
    ['cluster.outbound|80||web.retry.svc.cluster.local.upstream_rq_retry', 'outbound|80||web.retry.svc.cluster.local', 'upstream_rq_retry'],
    ['cluster.outbound|5432||db.corp.internal.upstream_cx_total', 'outbound|5432||db.corp.internal', 'upstream_cx_total'],
    // `|` in the FQDN part is impossible, so the search starts after the third one.
    ['cluster.outbound|80|upstream_rq_total|x.y.upstream_rq_total', 'outbound|80|upstream_rq_total|x.y', 'upstream_rq_total'],
    // Plain Envoy names.
    ['cluster.service_google.upstream_rq_total', 'service_google', 'upstream_rq_total'],
    ['cluster.service_google.circuit_breakers.default.rq_pending_open', 'service_google', 'circuit_breakers.default.rq_pending_open'],
    ['cluster.api.example.com.upstream_cx_total', 'api.example.com', 'upstream_cx_total'],
    ['cluster.xds-grpc.http2.tx_reset', 'xds-grpc', 'http2.tx_reset'],
    ['cluster.outbound_.8000_._.httpbin.default.svc.cluster.local.upstream_rq_total', 'outbound_.8000_._.httpbin.default.svc.cluster.local', 'upstream_rq_total'],
    // Not cluster stats, or no known shape: no guess.
    ['cluster_manager.active_clusters', undefined, undefined],
    ['http.inbound_0.0.0.0_8080;.downstream_rq_total', undefined, undefined],
    ['cluster.service_google.some_future_stat', undefined, undefined],
    ['cluster.service_google.circuit_breakers.urgent.rq_open', undefined, undefined],
    ['cluster.service_google.', undefined, undefined],
    [`cluster.${HTTPBIN};.`, undefined, undefined],
    ['cluster.upstream_rq_total', undefined, undefined],
  ])('%s', (name, cluster, stat) => {
    expect(splitEnvoyClusterStat(name)).toEqual(cluster === undefined ? undefined : { cluster, stat });
  });

  it('takes the first split when two are possible, unless the cluster is known', () => {
    // A ServiceEntry host `db.corp.internal` with a final response counter, or host `db.corp`
    // with an `internal.` (x-envoy-internal) counter: both are valid Envoy names.
    const name = 'cluster.outbound|5432||db.corp.internal.upstream_rq_200';
    expect(splitEnvoyClusterStat(name)).toEqual({ cluster: 'outbound|5432||db.corp', stat: 'internal.upstream_rq_200' });
    const known = new Set(['outbound|5432||db.corp.internal']);
    expect(splitEnvoyClusterStat(name, known)).toEqual({ cluster: 'outbound|5432||db.corp.internal', stat: 'upstream_rq_200' });
    expect(splitEnvoyClusterStat(name, new Set(['unrelated']))).toEqual({ cluster: 'outbound|5432||db.corp', stat: 'internal.upstream_rq_200' });
    // The names Envoy always emits for a cluster are unambiguous, so they can supply `known`.
    expect(splitEnvoyClusterStat('cluster.outbound|5432||db.corp.internal.upstream_cx_total')?.cluster).toBe('outbound|5432||db.corp.internal');
  });

  it.each<[string, boolean]>([
    ['upstream_rq_total', true],
    ['upstream_', false],
    ['membership_total', true],
    ['bind_errors', true],
    ['unknown', false],
    ['circuit_breakers.default.cx_open', true],
    ['circuit_breakers.default', false],
    ['circuit_breakers.default.', false],
    ['circuit_breakers.default.a.b', false],
    ['outlier_detection.ejections_active', true],
    ['outlier_detection.a.b', false],
    ['internal.upstream_rq_total', false],
    ['internal.upstream_rq_completed', true],
    ['retry.upstream_rq_5xx', true],
    ['zone.a.b.upstream_rq_time', true],
    ['zone.a.upstream_rq_time', false],
    ['ssl.ciphers.', false],
    ['default.svc.cluster.local.upstream_rq_total', false],
    ['anything.total_match_count', true],
  ])('isEnvoyClusterStat(%s) is %s', (rest, expected) => {
    expect(isEnvoyClusterStat(rest)).toBe(expected);
  });

  it.each(['istio-1.23-sidecar.txt', 'istio-1.22-sidecar.txt', 'istio-sidecar.json'])('attributes every cluster stat of %s', (name) => {
    const samples = parseStats(readFileSync(path.join(FIXTURES, name), 'utf8')).filter((s) => s.name.startsWith('cluster.'));
    expect(samples.length).toBeGreaterThan(5);
    for (const s of samples) expect([s.name, clusterStatsOf(s)]).toEqual([s.name, [expect.objectContaining({ value: s.value })]]);
  });
});

describe('clusterStatsOf', () => {
  const envoy = (name: string, value: number): StatSample => ({ name, labels: {}, kind: 'untyped', value, line: 1 });
  const prom = (name: string, labels: Record<string, string>, value = 1, kind: StatSample['kind'] = 'counter'): StatSample => ({ name, labels, kind, value, line: 1 });
  const stat = (cluster: string, s: string, value = 1, kind: StatSample['kind'] = 'counter'): ClusterStat => ({ cluster, stat: s, key: s.replace(/[.-]/g, '_'), kind, value });

  it.each<[string, StatSample, ClusterStat[]]>([
    ['Envoy text, Istio >= 1.23', envoy(`cluster.${HTTPBIN};.circuit_breakers.default.rq_pending_open`, 1), [stat(HTTPBIN, 'circuit_breakers.default.rq_pending_open', 1, 'untyped')]],
    ['Envoy text, not a cluster', envoy('server.uptime', 5), []],
    ['Istio response_code', prom('envoy_cluster_upstream_rq', { response_code: '503', cluster_name: HTTPBIN }, 21), [stat(HTTPBIN, 'upstream_rq_503', 21)]],
    ['Istio response_code_class', prom('envoy_cluster_upstream_rq', { response_code_class: '5xx', cluster_name: HTTPBIN }, 21), [stat(HTTPBIN, 'upstream_rq_5xx', 21)]],
    ['both labels: the specific code wins', prom('envoy_cluster_upstream_rq', { response_code: '503', response_code_class: '5xx', cluster_name: HTTPBIN }), [stat(HTTPBIN, 'upstream_rq_503')]],
    ['retry tree code', prom('envoy_cluster_retry_upstream_rq', { response_code: '503', cluster_name: HTTPBIN }), [stat(HTTPBIN, 'retry_upstream_rq_503')]],
    ['plain Envoy code', prom('envoy_cluster_upstream_rq', { envoy_response_code: '503', envoy_cluster_name: 'service_google' }), [stat('service_google', 'upstream_rq_503')]],
    ['plain Envoy class', prom('envoy_cluster_upstream_rq_xx', { envoy_response_code_class: '5', envoy_cluster_name: 'service_google' }), [stat('service_google', 'upstream_rq_5xx')]],
    ['cluster label of the formatter tests', prom('envoy_cluster_upstream_cx_total', { cluster: 'aaa' }), [stat('aaa', 'upstream_cx_total')]],
    ['cluster_name wins; another cluster label stays a label', prom('envoy_cluster_upstream_cx_total', { cluster: 'x', cluster_name: 'y' }), [stat('y', 'upstream_cx_total{cluster="x"}')]],
    ['Istio ; stripped from the label', prom('envoy_cluster_upstream_rq_total', { cluster_name: `${HTTPBIN};` }), [stat(HTTPBIN, 'upstream_rq_total')]],
    ['histogram bucket keeps le', prom('envoy_cluster_upstream_rq_time_bucket', { le: '0.5', cluster_name: HTTPBIN }, 3, 'histogram'), [stat(HTTPBIN, 'upstream_rq_time_bucket{le="0.5"}', 3, 'histogram')]],
    ['code label on another metric stays a label', prom('envoy_cluster_upstream_rq_time_bucket', { response_code: '200', le: '1', cluster_name: HTTPBIN }), [stat(HTTPBIN, 'upstream_rq_time_bucket{le="1",response_code="200"}')]],
    ['cluster manager is not a cluster', prom('envoy_cluster_manager_active_clusters', {}, 24, 'gauge'), []],
    ['Istio request metrics are not cluster stats', prom('istio_requests_total', { response_code: '503', destination_service: 'httpbin' }), []],
    ['HAProxy backend', prom('haproxy_backend_retry_warnings_total', { proxy: 'be_app' }, 4), [stat('be_app', 'retry_warnings_total', 4)]],
    ['HAProxy backend by code', prom('haproxy_backend_http_responses_total', { proxy: 'be_app', code: '5xx' }, 20), [stat('be_app', 'http_responses_total{code="5xx"}', 20)]],
    ['HAProxy server', prom('haproxy_server_retry_warnings_total', { proxy: 'be_app', server: 'app1' }, 3), [stat('be_app', 'server.app1.retry_warnings_total', 3)]],
    ['HAProxy server without a server label', prom('haproxy_server_retry_warnings_total', { proxy: 'be_app' }), []],
    ['HAProxy frontend', prom('haproxy_frontend_http_requests_total', { proxy: 'fe_http' }), []],
  ])('%s', (_, sample, expected) => {
    expect(clusterStatsOf(sample)).toEqual(expected);
  });

  it('never counts a response twice in Istio Prometheus output', () => {
    const stats = fixtureStats('istio-prometheus.txt').filter((s) => s.cluster === HTTPBIN);
    const byStat = new Map(stats.map((s) => [s.stat, s.value]));
    expect(byStat.size).toBe(stats.length); // each series its own stat
    expect(byStat.get('upstream_rq_503')).toBe(21);
    expect(byStat.get('upstream_rq_5xx')).toBe(21);
    expect(byStat.get('upstream_rq_2xx')).toBe(9);
    const classes = stats.filter((s) => /^upstream_rq_\dxx$/.test(s.stat)).reduce((sum, s) => sum + s.value, 0);
    expect(classes).toBe(30); // = upstream_rq_completed in the Envoy text of the same sidecar
  });

  it('gives the text and Prometheus forms of a stat the same key', () => {
    const text = new Map(fixtureStats('istio-1.23-sidecar.txt').filter((s) => s.cluster === HTTPBIN).map((s) => [s.key, s.value]));
    const prometheus = fixtureStats('istio-prometheus.txt').filter((s) => s.cluster === HTTPBIN && !s.stat.includes('{'));
    const shared = prometheus.filter((s) => text.has(s.key));
    expect(shared.map((s) => s.key).sort()).toEqual(
      ['assignment_stale', 'circuit_breakers_default_rq_pending_open', 'upstream_rq_200', 'upstream_rq_2xx', 'upstream_rq_503', 'upstream_rq_5xx', 'upstream_rq_pending_overflow', 'upstream_rq_total'].sort(),
    );
    for (const s of shared) expect([s.key, s.value]).toEqual([s.key, text.get(s.key)]);
  });

  it('attributes plain Envoy, formatter and HAProxy fixtures', () => {
    expect(new Set(fixtureStats('plain-envoy-prometheus.txt').map((s) => s.stat))).toEqual(
      new Set(['upstream_rq_503', 'upstream_rq_200', 'upstream_rq_2xx', 'upstream_rq_5xx', 'upstream_rq_total', 'upstream_rq_pending_overflow', 'circuit_breakers_default_rq_pending_open', 'ssl_ciphers{envoy_ssl_cipher="TLS_AES_128_GCM_SHA256"}']),
    );
    expect(new Set(fixtureStats('envoy-prometheus-formatter.txt').map((s) => s.cluster))).toEqual(new Set(['aaa', 'bbb', 'ccc']));
    const haproxy = fixtureStats('haproxy-promex.txt');
    expect(new Set(haproxy.map((s) => s.cluster))).toEqual(new Set(['be_app']));
    expect(haproxy.filter((s) => s.stat.endsWith('retry_warnings_total')).map((s) => [s.stat, s.value])).toEqual([
      ['retry_warnings_total', 4],
      ['server.app1.retry_warnings_total', 3],
      ['server.app2.retry_warnings_total', 1],
    ]);
    expect(haproxy.find((s) => s.stat === 'server.app1.check_status{state="L7OK"}')?.key).toBe('server_app1_check_status{state="L7OK"}');
  });
});

describe('Istio cluster names', () => {
  it.each<[string, IstioCluster | undefined]>([
    [HTTPBIN, { direction: 'outbound', port: 8000, subset: '', fqdn: 'httpbin.default.svc.cluster.local', service: 'httpbin' }],
    [`${HTTPBIN};`, { direction: 'outbound', port: 8000, subset: '', fqdn: 'httpbin.default.svc.cluster.local', service: 'httpbin' }],
    ['outbound|9080|v2|reviews.default.svc.cluster.local', { direction: 'outbound', port: 9080, subset: 'v2', fqdn: 'reviews.default.svc.cluster.local', service: 'reviews' }],
    ['inbound|8080||', { direction: 'inbound', port: 8080, subset: '', fqdn: '', service: '' }],
    ['inbound|9080|http|reviews.default.svc.cluster.local', { direction: 'inbound', port: 9080, subset: 'http', fqdn: 'reviews.default.svc.cluster.local', service: 'reviews' }],
    ['outbound|443||httpbin.org', { direction: 'outbound', port: 443, subset: '', fqdn: 'httpbin.org', service: 'httpbin' }],
    ['outbound|80||*.example.com', { direction: 'outbound', port: 80, subset: '', fqdn: '*.example.com', service: '*' }],
    ['outbound_.8000_._.httpbin.default.svc.cluster.local', { direction: 'outbound', port: 8000, subset: '', fqdn: 'httpbin.default.svc.cluster.local', service: 'httpbin' }],
    ['outbound_.9080_.v2_.reviews.default.svc.cluster.local', { direction: 'outbound', port: 9080, subset: 'v2', fqdn: 'reviews.default.svc.cluster.local', service: 'reviews' }],
    ['outbound|80|httpbin', undefined],
    ['outbound|http||httpbin', undefined],
    ['outbound|70000||httpbin', undefined],
    ['sideways|80||httpbin', undefined],
    ['xds-grpc', undefined],
    ['BlackHoleCluster', undefined],
    ['be_app', undefined],
  ])('parseIstioCluster(%s)', (name, expected) => {
    expect(parseIstioCluster(name)).toEqual(expected);
  });

  it.each<[string, string, boolean]>([
    ['httpbin', HTTPBIN, true],
    ['httpbin', `${HTTPBIN};`, true],
    ['httpbin.default', HTTPBIN, true],
    ['httpbin.default.svc.cluster.local', HTTPBIN, true],
    ['HTTPBIN', HTTPBIN, true],
    [HTTPBIN, HTTPBIN, true],
    [`${HTTPBIN};`, HTTPBIN, true],
    ['httpbin:8000', HTTPBIN, true],
    ['httpbin:8080', HTTPBIN, false],
    ['httpbin.default:8000', HTTPBIN, true],
    ['httpbin.other', HTTPBIN, false],
    ['httpbin.def', HTTPBIN, false],
    ['http', HTTPBIN, false],
    ['httpbin-v2', HTTPBIN, false],
    ['httpbin', 'outbound|8000||httpbin-v2.default.svc.cluster.local', false],
    ['default', HTTPBIN, false],
    ['svc.cluster.local', HTTPBIN, false],
    ['', HTTPBIN, false],
    [':8000', HTTPBIN, false],
    ['reviews', 'outbound|9080|v1|reviews.default.svc.cluster.local', true],
    ['reviews', 'outbound|9080|v2|reviews.default.svc.cluster.local', true],
    ['httpbin', 'outbound|443||httpbin.org', true],
    // Inbound clusters are the load generator's own server side: only their full name matches.
    ['reviews', 'inbound|9080||reviews.default.svc.cluster.local', false],
    ['reviews.default.svc.cluster.local', 'inbound|9080||reviews.default.svc.cluster.local', false],
    ['inbound|9080||reviews.default.svc.cluster.local', 'inbound|9080||reviews.default.svc.cluster.local', true],
    ['inbound|8080||', 'inbound|8080||', true],
    ['inbound', 'inbound|8080||', false],
    // Istio cluster names with a short host; the direction is explicit, so inbound may match.
    ['outbound|8000||httpbin', HTTPBIN, true],
    ['outbound|8000||httpbin.default', HTTPBIN, true],
    ['outbound|8001||httpbin', HTTPBIN, false],
    ['outbound|8000||', HTTPBIN, false],
    ['outbound|9080||reviews', 'outbound|9080|v2|reviews.default.svc.cluster.local', true],
    ['outbound|9080|v2|reviews', 'outbound|9080|v2|reviews.default.svc.cluster.local', true],
    ['outbound|9080|v1|reviews', 'outbound|9080|v2|reviews.default.svc.cluster.local', false],
    ['outbound|9080||reviews', 'inbound|9080||reviews.default.svc.cluster.local', false],
    ['inbound|9080||reviews', 'inbound|9080||reviews.default.svc.cluster.local', true],
    // Other proxies: exact names only.
    ['be_app', 'be_app', true],
    ['be', 'be_app', false],
    ['service_google', 'service_google', true],
    ['xds-grpc', 'xds-grpc', true],
  ])('matchCluster(%j, %j) is %s', (query, cluster, expected) => {
    expect(matchCluster(query, cluster)).toBe(expected);
  });

  it.each<[string, { group: string; subset: string }]>([
    ['outbound|9080|v1|reviews.default.svc.cluster.local', { group: 'outbound|9080||reviews.default.svc.cluster.local', subset: 'v1' }],
    ['outbound|9080|v2|reviews.default.svc.cluster.local;', { group: 'outbound|9080||reviews.default.svc.cluster.local', subset: 'v2' }],
    ['outbound|9080||reviews.default.svc.cluster.local', { group: 'outbound|9080||reviews.default.svc.cluster.local', subset: '' }],
    ['outbound_.9080_.v2_.reviews.default.svc.cluster.local', { group: 'outbound|9080||reviews.default.svc.cluster.local', subset: 'v2' }],
    ['inbound|8080||', { group: 'inbound|8080||', subset: '' }],
    ['be_app', { group: 'be_app', subset: '' }],
  ])('clusterGroup(%s)', (cluster, expected) => {
    expect(clusterGroup(cluster)).toEqual(expected);
  });

  it('reports a weighted split per subset of the matched service', () => {
    const split = new Map<string, number>();
    for (const s of fixtureStats('istio-1.23-sidecar.txt')) {
      if (s.stat !== 'upstream_rq_total' || !matchCluster('reviews', s.cluster)) continue;
      const { group, subset } = clusterGroup(s.cluster);
      split.set(`${group} ${subset || '(none)'}`, s.value);
    }
    expect(Object.fromEntries(split)).toEqual({
      'outbound|9080||reviews.default.svc.cluster.local v1': 68,
      'outbound|9080||reviews.default.svc.cluster.local v2': 32,
      'outbound|9080||reviews.default.svc.cluster.local (none)': 0,
    });
  });
});

describe('a --cluster that matched nothing', () => {
  const ISTIO = [
    'outbound|8000||httpbin.default.svc.cluster.local',
    'outbound|9080|v1|reviews.default.svc.cluster.local',
    'outbound|9080||reviews.default.svc.cluster.local',
    'inbound|8080||',
    'xds-grpc',
    'BlackHoleCluster',
    'PassthroughCluster',
  ];

  it.each([
    ['htpbin', ['httpbin']],
    ['Httpbim', ['httpbin']],
    ['reveiws', ['reviews']],
    ['httpbin.default.svc.cluster.locla', ['httpbin.default.svc.cluster.local']],
    ['ratings', []],
    ['xds-grpx', []], // Istio's own clusters are not what a load goes to
  ])('suggests for %s: %j', (query, expected) => {
    expect(suggestClusters(query, ISTIO)).toEqual(expected);
  });

  it('offers every tie, full names for clusters that are not Istio services', () => {
    expect(suggestClusters('aab', ['aaa', 'aac', 'zzz'])).toEqual(['aaa', 'aac']);
    expect(suggestClusters('be_ap', ['be_app'])).toEqual(['be_app']);
  });

  it('knows when Istio hides every outbound cluster', () => {
    expect(hasOutboundClusters(ISTIO)).toBe(true);
    expect(hasOutboundClusters(ISTIO.filter((c) => !c.startsWith('outbound')))).toBe(false);
    expect(hasOutboundClusters([])).toBe(false);
    expect(hasOutboundClusters(['be_app'])).toBe(true);
    expect(outboundClusterNames(ISTIO)).toEqual(['httpbin', 'reviews']);
  });
});
