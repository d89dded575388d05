import { gaugesOverPhases, isActivityGauge, MAX_GAUGE_SERIES, sidecarModel } from '../../../src/report/html/sidecar-model';
import { subsetsGraph, trafficGraphs, versionsGraph } from '../../../src/report/html/traffic-model';
import { unavailableReport } from '../../../src/stats/sidecar-report';
import { envoyCluster, envoySidecar, load, phase, scenario, spreadCalls } from './html-fixtures';

describe('traffic model', () => {
  it('splits by x-version as version(TAG) counts it: shares of the calls that carried one', () => {
    const result = load(spreadCalls(100, 5), { durationMs: 4000, versions: { v2: 19, v1: 76 } });
    const graph = versionsGraph(result);
    expect(graph?.source).toBe('versions');
    expect(graph?.service).toBe('localhost:8080');
    expect(graph?.total).toBe(100);
    expect(graph?.unattributed).toBe(5);
    expect(graph?.rps).toBe(result.actualQps);
    // Every 5th call is a 503: 20% not OK, as the client saw it.
    expect(graph?.errorRatePct).toBe(20);
    expect(graph?.edges).toEqual([
      { subset: 'v1', count: 76, sharePct: 80, rps: 19, errorRatePct: undefined },
      { subset: 'v2', count: 19, sharePct: 20, rps: 4.75, errorRatePct: undefined },
    ]);
  });

  it('splits by the proxy\'s subset clusters as share(SUBSET) counts it, with the proxy\'s 5xx per subset', () => {
    const sidecar = envoySidecar([envoyCluster('v1', 300, 3), envoyCluster('v2', 100, 0)]);
    const result = load(spreadCalls(400), { durationMs: 2000, sidecar });
    const graph = subsetsGraph(result);
    expect(graph?.service).toBe('reviews.default.svc.cluster.local');
    expect(graph?.total).toBe(400);
    expect(graph?.rps).toBe(200);
    expect(graph?.errorRatePct).toBeCloseTo(0.75, 9);
    expect(graph?.edges).toEqual([
      { subset: 'v1', count: 300, sharePct: 75, rps: 150, errorRatePct: 1 },
      { subset: 'v2', count: 100, sharePct: 25, rps: 50, errorRatePct: 0 },
    ]);
  });

  it('draws nothing without per-subset data, or when the stats were unavailable', () => {
    expect(trafficGraphs(load(spreadCalls(10)))).toEqual([]);
    const plain = envoySidecar([{ ...envoyCluster('', 10, 0), cluster: 'be', group: 'be' }]);
    expect(trafficGraphs(load(spreadCalls(10), { sidecar: plain }))).toEqual([]);
    expect(trafficGraphs(load(spreadCalls(10), { sidecar: unavailableReport('http://x/stats', 'reviews', 'connection refused') }))).toEqual([]);
    // Both sources present: both graphs, versions first.
    const both = load(spreadCalls(10), { versions: { v1: 10 }, sidecar: envoySidecar([envoyCluster('v1', 10, 0)]) });
    expect(trafficGraphs(both).map((g) => g.source)).toEqual(['versions', 'subsets']);
  });
});

describe('sidecar model', () => {
  it('keeps unknown apart from zero and lists only the counters that moved', () => {
    const model = sidecarModel(envoySidecar([envoyCluster('v1', 300, 3, { 'circuit_breakers.default.rq_pending_open': 1 })]));
    const cluster = model.clusters[0];
    expect(cluster?.moved).toEqual([
      ['upstream_rq_5xx', 3],
      ['upstream_rq_total', 300],
    ]);
    expect(cluster?.unchanged).toBe(2);
    expect(cluster?.gauges).toEqual([{ stat: 'circuit_breakers.default.rq_pending_open', max: 1, msAboveZero: 1200 }]);
    const view = new Map(cluster?.view.map((r) => [r.field, r.value]));
    expect(view.get('requestsSent')).toBe(300);
    expect(view.get('breakerRejections.pending')).toBe(0);
    // Not in the input: unknown, not zero.
    expect(view.get('timeouts.route')).toBeUndefined();
    expect(model.total).toBeUndefined();
    expect(model.agreement).toHaveLength(1);
  });

  it('says why when the stats were unavailable', () => {
    const model = sidecarModel(unavailableReport('http://x/stats', 'reviews', 'connection refused'));
    expect(model.unavailable).toBe('connection refused');
    expect(model.clusters).toEqual([]);
  });

  it('charts activity gauges\' maxima per phase: null where a phase has no stats; limits only counted', () => {
    const result = scenario([
      phase('calm', load(spreadCalls(10), { sidecar: envoySidecar([envoyCluster('v1', 10, 0, { rq_active: 2, cx_active: 4, 'circuit_breakers.default.rq_open': 0, max_requests_limit: 100 })]) })),
      phase('no stats', load(spreadCalls(10))),
      phase('stress', load(spreadCalls(10), { sidecar: envoySidecar([envoyCluster('v1', 10, 0, { rq_active: 40, cx_active: 4, 'circuit_breakers.default.rq_open': 1, max_requests_limit: 100 })]) })),
      phase('steps only', undefined),
    ]);
    const gauges = gaugesOverPhases(result);
    expect(gauges?.phases).toEqual(['calm', 'no stats', 'stress', 'steps only']);
    // Changed between phases first, then the largest; a limit would dwarf them and is not drawn.
    expect(gauges?.series).toEqual([
      { label: 'rq_active', values: [2, null, 40, null] },
      { label: 'circuit_breakers.default.rq_open', values: [0, null, 1, null] },
      { label: 'cx_active', values: [4, null, 4, null] },
    ]);
    expect(gauges?.leftOut).toEqual([]);
    expect(gauges?.others).toBe(1);
    expect(['upstream_rq_pending_active', 'outlier_detection.ejections_active', 'current_queue', 'server.v1.current_sessions'].every(isActivityGauge)).toBe(true);
    expect(['max_queue', 'check_last_change_seconds', 'active_servers', 'server.v1.weight', 'circuit_breakers.default.remaining_rq'].some(isActivityGauge)).toBe(false);
    expect(gaugesOverPhases(scenario([phase('plain', load(spreadCalls(10)))]))).toBeUndefined();
  });

  it('draws at most MAX_GAUGE_SERIES gauges and names the rest', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_GAUGE_SERIES + 3 }, (_, i) => [`g${String(i).padStart(2, '0')}_active`, i + 1]));
    const gauges = gaugesOverPhases(scenario([phase('p', load(spreadCalls(10), { sidecar: envoySidecar([envoyCluster('v1', 10, 0, many)]) }))]));
    expect(gauges?.series).toHaveLength(MAX_GAUGE_SERIES);
    expect(gauges?.series[0]?.label).toBe(`g${MAX_GAUGE_SERIES + 2}_active`);
    expect(gauges?.leftOut).toEqual(['g02_active', 'g01_active', 'g00_active']);
  });
});

describe('gauge labels', () => {
  it('names the subsets of one service by subset, other clusters in full', () => {
    const subsets = gaugesOverPhases(scenario([phase('p', load(spreadCalls(10), { sidecar: envoySidecar([envoyCluster('v1', 10, 0, { rq_active: 2 }), envoyCluster('v2', 10, 0, { rq_active: 1 })]) }))]));
    expect(subsets?.series.map((s) => s.label)).toEqual(['v1: rq_active', 'v2: rq_active']);
    const other = { ...envoyCluster('', 10, 0, { rq_active: 3 }), cluster: 'outbound|9080||ratings.default.svc.cluster.local', group: 'outbound|9080||ratings.default.svc.cluster.local' };
    const mixed = gaugesOverPhases(scenario([phase('p', load(spreadCalls(10), { sidecar: envoySidecar([envoyCluster('v1', 10, 0, { rq_active: 2 }), other]) }))]));
    expect(mixed?.series.map((s) => s.label)).toEqual(['outbound|9080||ratings.default.svc.cluster.local: rq_active', 'outbound|8080|v1|reviews.default.svc.cluster.local: rq_active']);
  });
});
