/** The proxy's side of each phase as the HTML report shows it: per cluster the counters that
 * moved, the gauge maxima, the resilience view (unknown kept apart from zero), agreement and
 * diagnostics; and across phases the gauge maxima per phase (the series over time, where the
 * result has them, are drawn on the timeline: timeline-model.ts). Pure. */
import type { ScenarioResult } from '../../scenario/scenario-result';
import { RESILIENCE_FIELD_DOCS, viewField, type ResilienceField } from '../../stats/resilience-view';
import type { AgreementCheck, ResilienceView, SidecarReport } from '../../model/sidecar-report';
import { redactUrlsIn } from '../../util/redact';

/** Gauge series drawn across phases; the rest are listed as left out. */
export const MAX_GAUGE_SERIES = 10;

export interface ViewRow {
  field: ResilienceField;
  meaning: string;
  /** undefined: not reported by this proxy (never shown as 0). */
  value: number | undefined;
}

export interface ClusterModel {
  cluster: string;
  subset: string;
  /** Counters that moved, by name. */
  moved: Array<[string, number]>;
  /** Counters that did not move. */
  unchanged: number;
  resets: string[];
  gauges: Array<{ stat: string; max: number; msAboveZero: number | undefined }>;
  view: ViewRow[];
}

export interface SidecarModel {
  source: string;
  format: string | undefined;
  kind: string | undefined;
  clusterQuery: string | undefined;
  /** The sentence saying why there are no stats; the rest is then empty. */
  unavailable: string | undefined;
  clusters: ClusterModel[];
  /** The view summed over the matched clusters, when more than one matched. */
  total: ViewRow[] | undefined;
  agreement: AgreementCheck[];
  diagnostics: string[];
}

export interface GaugeSeries {
  /** `stat`, or `cluster: stat` when several clusters matched (`subset: stat` for the subsets
   * of one service). */
  label: string;
  /** Maximum per phase; null where the phase has no such gauge (or no stats). */
  values: Array<number | null>;
}

export interface GaugesOverPhases {
  phases: string[];
  series: GaugeSeries[];
  /** Activity gauges above zero somewhere but not drawn (past MAX_GAUGE_SERIES). */
  leftOut: string[];
  /** Other gauges above zero (limits, weights, timings, states): listed per cluster, not drawn. */
  others: number;
}

/** Gauges that move with the load: requests and connections in flight, queues, open breakers,
 * ejected hosts. Envoy's `upstream_rq_active`, `circuit_breakers.default.rq_pending_open`,
 * HAProxy's `current_sessions`, `current_queue`. */
const ACTIVITY = /active|pending|current|queue|open|eject|inflight/i;
/** ...and those that only look like it: limits, weights, timings, states, health checks
 * (HAProxy's `max_queue`, `check_last_change_seconds`, `active_servers`, `idle_connections_current`). */
const STATIC = /seconds|time|weight|limit|max|status|state|check|rate|servers|idle|need/i;

export function isActivityGauge(stat: string): boolean {
  return ACTIVITY.test(stat) && !STATIC.test(stat);
}

export function viewRows(view: ResilienceView): ViewRow[] {
  return RESILIENCE_FIELD_DOCS.map((doc) => ({ field: doc.field, meaning: doc.meaning, value: viewField(view, doc.field) }));
}

export function sidecarModel(report: SidecarReport): SidecarModel {
  // Stats sources are redacted where they are read (src/stats); again here, cheaply, for old results.
  const base = { source: redactUrlsIn(report.source), format: report.format, kind: report.kind, clusterQuery: report.clusterQuery };
  if (report.unavailable !== undefined) return { ...base, unavailable: redactUrlsIn(report.unavailable), clusters: [], total: undefined, agreement: [], diagnostics: (report.diagnostics ?? []).map(redactUrlsIn) };
  const clusters = (report.clusters ?? []).map((c): ClusterModel => {
    const deltas = Object.entries(c.deltas ?? {});
    return {
      cluster: c.cluster,
      subset: c.subset,
      moved: deltas.filter(([, d]) => d !== 0).sort((a, b) => a[0].localeCompare(b[0])),
      unchanged: deltas.filter(([, d]) => d === 0).length,
      resets: c.resets ?? [],
      gauges: Object.entries(c.gauges ?? {})
        .map(([stat, g]) => ({ stat, max: g.max, msAboveZero: g.msAboveZero }))
        .sort((a, b) => b.max - a.max || a.stat.localeCompare(b.stat)),
      view: viewRows(c.view),
    };
  });
  return {
    ...base,
    unavailable: undefined,
    clusters,
    total: report.total !== undefined && clusters.length > 1 ? viewRows(report.total) : undefined,
    agreement: report.agreement ?? [],
    diagnostics: (report.diagnostics ?? []).map(redactUrlsIn),
  };
}

/** Activity gauges' maxima per phase. Gauges that never rose above zero are left out (an idle
 * breaker gauge says nothing); those that changed between phases come first, then the largest.
 * Static gauges (limits, weights, timings) are only counted: drawn, they would dwarf the rest. */
export function gaugesOverPhases(result: ScenarioResult): GaugesOverPhases | undefined {
  const withStats = result.phases.filter((p) => p.load?.sidecar !== undefined && p.load.sidecar.unavailable === undefined);
  if (withStats.length === 0) return undefined;
  const clusters = withStats.flatMap((p) => p.load?.sidecar?.clusters ?? []);
  const multiCluster = new Set(clusters.map((c) => c.cluster)).size > 1;
  // Subsets of one service are named by subset alone: the full Istio names crowd the legend.
  const oneGroup = new Set(clusters.map((c) => c.group)).size === 1 && clusters.every((c) => c.subset !== '');
  const byLabel = new Map<string, Array<number | null>>();
  const statOf = new Map<string, string>();
  result.phases.forEach((phase, i) => {
    for (const cluster of phase.load?.sidecar?.clusters ?? []) {
      for (const [stat, gauge] of Object.entries(cluster.gauges ?? {})) {
        const label = multiCluster ? `${oneGroup ? cluster.subset : cluster.cluster}: ${stat}` : stat;
        let values = byLabel.get(label);
        if (values === undefined) {
          values = result.phases.map(() => null);
          byLabel.set(label, values);
          statOf.set(label, stat);
        }
        values[i] = Math.max(values[i] ?? 0, gauge.max);
      }
    }
  });
  const candidates = [...byLabel]
    .map(([label, values]) => {
      const present = values.filter((v): v is number => v !== null);
      return { label, stat: statOf.get(label) ?? label, values, max: Math.max(...present), varies: new Set(present).size > 1 };
    })
    .filter((s) => s.max > 0);
  const activity = candidates
    .filter((s) => isActivityGauge(s.stat))
    .sort((a, b) => Number(b.varies) - Number(a.varies) || b.max - a.max || a.label.localeCompare(b.label));
  return {
    phases: result.phases.map((p) => p.name),
    series: activity.slice(0, MAX_GAUGE_SERIES).map(({ label, values }) => ({ label, values })),
    leftOut: activity.slice(MAX_GAUGE_SERIES).map((s) => s.label),
    others: candidates.length - activity.length,
  };
}
