/** Scenario results for the HTML report's tests, built from calls with known latencies so every
 * number the page shows can be checked against the distributions themselves. */
import type { LoadResult, TimelineSecond } from '../../../src/model/load-result';
import type { PhaseResult, ScenarioResult, StepResult } from '../../../src/scenario/scenario-result';
import { resilienceView } from '../../../src/stats/resilience-view';
import type { SidecarClusterReport, SidecarReport } from '../../../src/model/sidecar-report';
import { fixtureResult, type FixtureCall, type FixtureOverrides } from '../../helpers/load-result-fixture';

/** n calls spread over 100us..~5s (log-uniform), every `errorEvery`th one a 503. */
export function spreadCalls(n: number, errorEvery = 10): FixtureCall[] {
  const calls: FixtureCall[] = [];
  for (let i = 0; i < n; i++) {
    const latencyUs = Math.round(100 * 10 ** ((4.7 * i) / n));
    calls.push({ latencyUs, uncorrectedUs: Math.max(1, Math.round(latencyUs * 0.8)), code: i % errorEvery === errorEvery - 1 ? 503 : 200 });
  }
  return calls;
}

/** One timeline entry per second of `durationMs`, the last one a fragment. */
export function timelineFor(durationMs: number, perSecond: number): TimelineSecond[] {
  const seconds = Math.ceil(durationMs / 1000);
  return Array.from({ length: seconds }, (_, second) => ({
    second,
    requests: perSecond,
    codes: { '200': perSecond - Math.floor(perSecond / 10), '503': Math.floor(perSecond / 10) },
    p50Us: 1000 + second,
    p99Us: 5000 + second,
  }));
}

export function load(calls: readonly FixtureCall[], overrides: FixtureOverrides = {}): LoadResult {
  return fixtureResult(calls, overrides);
}

export function step(kind: StepResult['kind'], description: string, startedAt: string | undefined, durationMs = 10, ok = true): StepResult {
  return { kind, description, ok, durationMs, output: undefined, error: ok ? undefined : 'failed', ...(startedAt !== undefined ? { startedAt } : {}) };
}

export function phase(name: string, loadResult: LoadResult | undefined, extra: Partial<PhaseResult> = {}): PhaseResult {
  return { name, steps: [], load: loadResult, checks: [], verdict: 'pass', ...extra };
}

export function scenario(phases: PhaseResult[], extra: Partial<ScenarioResult> = {}): ScenarioResult {
  return { name: 'fixture', file: 'fixture.yaml', startTime: '2024-03-05T10:20:00.000Z', durationMs: 30_000, phases, always: [], verdict: 'pass', interrupted: false, ...extra };
}

/** An Envoy cluster report as Istio names subset clusters, with its view computed from deltas. */
export function envoyCluster(subset: string, sent: number, fivexx: number, gauges: Record<string, number> = {}): SidecarClusterReport {
  const deltas: Record<string, number> = { upstream_rq_total: sent, upstream_rq_5xx: fivexx, upstream_rq_retry: 0, upstream_rq_pending_overflow: 0 };
  const byKey = new Map(Object.entries(deltas));
  const gaugeMax = new Map(Object.entries(gauges));
  return {
    cluster: `outbound|8080|${subset}|reviews.default.svc.cluster.local`,
    group: 'outbound|8080||reviews.default.svc.cluster.local',
    subset,
    deltas,
    resets: [],
    gauges: Object.fromEntries(Object.entries(gauges).map(([stat, max]) => [stat, { max, msAboveZero: max > 0 ? 1200 : 0 }])),
    view: resilienceView('envoy', byKey, gaugeMax),
  };
}

export function envoySidecar(clusters: SidecarClusterReport[]): SidecarReport {
  return {
    source: 'http://localhost:15000/stats',
    format: 'envoy-text',
    kind: 'envoy',
    clusterQuery: 'reviews',
    clusters,
    total: undefined,
    agreement: [{ name: 'requests', client: 100, proxy: 100, agrees: true, note: 'every request the client sent is accounted for' }],
    diagnostics: ['a diagnostic <with> markup'],
    unavailable: undefined,
  };
}

/** Ten one-minute phases, each with a run: step, a check, a v1/v2 split, failures and two
 * Istio subset clusters: the size a long gate reaches. */
export function tenPhaseResult(): ScenarioResult {
  const t0 = Date.parse('2024-03-05T10:00:00.000Z');
  const iso = (ms: number): string => new Date(t0 + ms).toISOString();
  const phases = Array.from({ length: 10 }, (_, i) =>
    phase(
      `phase ${i}`,
      load(spreadCalls(20_000), {
        startTime: iso(i * 65_000),
        durationMs: 60_000,
        timeline: timelineFor(60_000, 333),
        versions: { v1: 15_000, v2: 5000 },
        causes: { app: 2000 },
        sidecar: envoySidecar([envoyCluster('v1', 15_000, 10, { rq_active: i, cx_active: 4 }), envoyCluster('v2', 5000, 3, { rq_active: i + 1 })]),
      }),
      {
        startedAt: iso(i * 65_000 - 1000),
        steps: [step('run', `kubectl apply -f phase-${i}.yaml`, iso(i * 65_000 - 1000))],
        checks: [
          { expression: 'p(99) < 5s', path: `phases[${i}].expect[0]`, expected: '< 5s', observed: '4.2s', observedValue: 4200, verdict: i === 7 ? 'fail' : 'pass', reason: undefined },
        ],
        verdict: i === 7 ? 'fail' : 'pass',
      },
    ),
  );
  return scenario(phases, { startTime: iso(-2000), durationMs: 652_000, verdict: 'fail' });
}
