/** The sidecar reports of generators that ran side by side (`meshload merge`: the pods of a
 * sharded Job, several machines), as one report on the merged load. Each part is the proxy of a
 * different pod, so its counter deltas are that pod's alone and add exactly; gauges do not add
 * (the pods need not have peaked together) and keep the largest maximum, which the report says;
 * their series keep the largest value any pod sampled in each step, for the same reason.
 * Pure. */
import type { LoadResult } from '../model/load-result';
import { MAX_SERIES, MAX_SERIES_POINTS } from './gauge-sampler';
import type { GaugeSeriesSet, ResilienceView, SidecarClusterReport, SidecarReport } from '../model/sidecar-report';
import { buildView, isGaugeField, resilienceView, viewField, type ResilienceField } from './resilience-view';
import { agreementChecks, requestsReceived, sumViews, unavailableReport } from './sidecar-report';

export interface SidecarPart {
  /** The part's file as the user named it, for sentences. */
  file: string;
  /** undefined: that generator had no stats source. */
  report: SidecarReport | undefined;
}

type Reported = { file: string; report: SidecarReport };

/** Sources listed in the merged `source` before "and N more". */
const MAX_SOURCES_SHOWN = 3;

/** One report for the merged load, or undefined when no part had a stats source. A part without
 * stats, or with stats of another kind, format or cluster query, makes the whole unavailable:
 * a sum over the others would read as the whole run's and is not. */
export function mergeSidecarReports(parts: readonly SidecarPart[], mergedLoad: LoadResult): SidecarReport | undefined {
  const reported = parts.filter((p): p is Reported => p.report !== undefined);
  const [head] = reported;
  if (head === undefined) return undefined;
  // One part (a Job of one pod) is the whole: its report stands as it is.
  if (parts.length === 1) return head.report;
  const source = mergedSource(reported.map((p) => p.report.source), parts.length);
  const clusterQuery = head.report.clusterQuery;
  const lacking = parts.filter((p) => p.report === undefined || p.report.unavailable !== undefined);
  if (lacking.length > 0) return unavailableReport(source, clusterQuery, lackingReason(lacking, parts.length));
  const mismatch = mismatchReason(reported);
  if (mismatch !== undefined) return unavailableReport(source, clusterQuery, mismatch);
  const kind = head.report.kind;
  if (kind === undefined) return unavailableReport(source, clusterQuery, `${head.file}'s stats name no proxy kind, so no view can be built from them`);

  const clusters = mergeClusters(reported.map((p) => p.report)).map(
    (c): SidecarClusterReport => ({ ...c, view: resilienceView(kind, new Map(Object.entries(c.deltas)), new Map(Object.entries(c.gauges).map(([stat, g]) => [stat, g.max]))) }),
  );
  clusters.sort((a, b) => a.group.localeCompare(b.group) || a.subset.localeCompare(b.subset));
  // As buildSidecarReport: the total over the clusters, faults from the listeners' own counters,
  // which each part kept only as its total.
  let total: ResilienceView | undefined = clusters.length === 0 ? undefined : sumViews(kind, clusters.map((c) => c.view));
  if (total !== undefined && clusters.some((c) => c.unavailable !== undefined)) {
    const partial = total;
    total = buildView(kind, (field) => (isGaugeField(kind, field) ? viewField(partial, field) : undefined));
  }
  if (total !== undefined) {
    const totals = reported.map((p) => p.report.total);
    total = { ...total, faults: { aborts: sumOfAll(totals, 'faults.aborts'), delays: sumOfAll(totals, 'faults.delays') } };
  }
  const agreement = total === undefined ? [] : agreementChecks(total, mergedLoad, requestsReceived(kind, clusters));
  return {
    source,
    format: head.report.format,
    kind,
    clusterQuery,
    clusters,
    total,
    agreement,
    diagnostics: [...partDiagnostics(reported), ...mergeNotes(clusters, parts.length)],
    unavailable: undefined,
    ...seriesField(mergeGaugeSeries(reported.map((p) => p.report.gaugeSeries), mergedLoad.startTime)),
  };
}

function wellFormed(stats: unknown): Record<string, Array<[number, number]>> {
  if (typeof stats !== 'object' || stats === null) return {};
  const out: Record<string, Array<[number, number]>> = {};
  for (const [stat, points] of Object.entries(stats)) {
    if (Array.isArray(points)) out[stat] = points.filter((p): p is [number, number] => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));
  }
  return out;
}

function seriesField(gaugeSeries: GaugeSeriesSet | undefined): { gaugeSeries?: GaugeSeriesSet } {
  return gaugeSeries === undefined ? {} : { gaugeSeries };
}

/** The parts' gauge series on the merged load's clock. The pods sampled at moments of their own,
 * so values cannot be summed per moment: a merged step (the coarsest of the parts', widened
 * until MAX_SERIES_POINTS cover the run) keeps the largest value any pod sampled in it: exact
 * for "was a breaker open then", a lower bound of the pods' sum. */
export function mergeGaugeSeries(sets: ReadonlyArray<GaugeSeriesSet | undefined>, startTime: string): GaugeSeriesSet | undefined {
  const origin = Date.parse(startTime);
  // Parts are files: a series set of the wrong shape is left out, never a crash.
  const present = sets
    .filter((set): set is GaugeSeriesSet => typeof set === 'object' && set !== null && typeof set.startTime === 'string' && Number.isFinite(Date.parse(set.startTime)) && typeof set.clusters === 'object' && set.clusters !== null)
    .map((set) => ({ ...set, clusters: Object.fromEntries(Object.entries(set.clusters).map(([cluster, stats]) => [cluster, wellFormed(stats)])) }));
  if (present.length === 0 || !Number.isFinite(origin)) return undefined;
  const shifted = present.map((set) => ({ set, shiftMs: Date.parse(set.startTime) - origin }));
  let lastMs = 0;
  for (const { set, shiftMs } of shifted) for (const stats of Object.values(set.clusters)) for (const points of Object.values(stats)) for (const [at] of points) lastMs = Math.max(lastMs, at + shiftMs);
  let stepMs = Math.max(1, ...present.map((set) => (Number.isFinite(set.stepMs) && set.stepMs > 0 ? set.stepMs : 1000)));
  while (lastMs / stepMs >= MAX_SERIES_POINTS) stepMs *= 2;
  const merged = new Map<string, Map<number, number>>();
  for (const { set, shiftMs } of shifted) {
    for (const [cluster, stats] of Object.entries(set.clusters)) {
      for (const [stat, points] of Object.entries(stats)) {
        const key = JSON.stringify([cluster, stat]);
        const steps = merged.get(key) ?? new Map<number, number>();
        merged.set(key, steps);
        for (const [at, value] of points) {
          const index = Math.floor((at + shiftMs) / stepMs);
          steps.set(index, Math.max(steps.get(index) ?? value, value));
        }
      }
    }
  }
  const keys = [...merged.keys()].sort();
  const clusters: GaugeSeriesSet['clusters'] = {};
  for (const key of keys.slice(0, MAX_SERIES)) {
    const [cluster, stat] = JSON.parse(key) as [string, string];
    const byStat = clusters[cluster] ?? {};
    byStat[stat] = [...(merged.get(key) ?? new Map<number, number>())].sort((a, b) => a[0] - b[0]).map(([index, value]) => [index * stepMs, value]);
    clusters[cluster] = byStat;
  }
  const leftOut = present.reduce((n, set) => n + (Number.isFinite(set.leftOut) ? set.leftOut : 0), 0) + Math.max(0, keys.length - MAX_SERIES);
  return { startTime, stepMs, clusters, leftOut };
}

type MergedCluster = Omit<SidecarClusterReport, 'view'>;

/** Clusters matched by name across parts. A stat one part lacks counts nothing from it: Envoy
 * creates stats on first use, and a cluster's snapshot delta already counts an absent stat as 0. */
function mergeClusters(reports: readonly SidecarReport[]): MergedCluster[] {
  const byName = new Map<string, MergedCluster>();
  for (const report of reports) {
    for (const c of report.clusters) {
      let merged = byName.get(c.cluster);
      if (merged === undefined) {
        merged = { cluster: c.cluster, group: c.group, subset: c.subset, deltas: {}, resets: [], gauges: {} };
        byName.set(c.cluster, merged);
      }
      for (const [stat, delta] of Object.entries(c.deltas)) merged.deltas[stat] = (merged.deltas[stat] ?? 0) + delta;
      for (const stat of c.resets) if (!merged.resets.includes(stat)) merged.resets.push(stat);
      if (merged.unavailable === undefined && c.unavailable !== undefined) merged.unavailable = c.unavailable;
      // Gauges: the largest maximum, exact for "was it ever above 0" (breakers, ejections); the
      // pods' sum at one moment may have been higher. Time above 0: the longest part's, a lower
      // bound of the time any pod was above 0.
      for (const [stat, gauge] of Object.entries(c.gauges)) {
        const was = merged.gauges[stat];
        merged.gauges[stat] = was === undefined ? { max: gauge.max, msAboveZero: gauge.msAboveZero } : { max: Math.max(was.max, gauge.max), msAboveZero: largest(was.msAboveZero, gauge.msAboveZero) };
      }
    }
  }
  // A cluster whose counters are unavailable in one pod (a reset, unusable stats) has no deltas
  // there: the others' sum would understate the run, so it has none merged either, and its
  // resets keep stats checks on it inconclusive.
  return [...byName.values()].map((merged) =>
    merged.unavailable === undefined && merged.resets.length === 0 ? merged : { ...merged, deltas: {}, unavailable: merged.unavailable ?? 'counters went down in a generator\'s proxy' },
  );
}

function largest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

/** Unknown is never 0: a field missing from any part's total is missing from the sum. */
function sumOfAll(totals: ReadonlyArray<ResilienceView | undefined>, field: ResilienceField): number | undefined {
  let sum = 0;
  for (const total of totals) {
    const value = total === undefined ? undefined : viewField(total, field);
    if (value === undefined) return undefined;
    sum += value;
  }
  return sum;
}

function mergedSource(sources: readonly string[], parts: number): string {
  const unique = [...new Set(sources)];
  const shown = unique.length > MAX_SOURCES_SHOWN ? [...unique.slice(0, MAX_SOURCES_SHOWN - 1), `and ${unique.length - MAX_SOURCES_SHOWN + 1} more`] : unique;
  return `${parts} sidecars: ${shown.join(', ')}`;
}

function lackingReason(lacking: readonly SidecarPart[], parts: number): string {
  const each = lacking.map((p) => `${p.file}: ${p.report === undefined ? 'no stats source' : `unavailable (${p.report.unavailable ?? ''})`}`).join('; ');
  if (lacking.length === parts) return `no generator has proxy stats to merge (${each})`;
  const others = parts - lacking.length;
  return `${lacking.length} of the ${parts} generators have no proxy stats (${each}): a sum over the other ${others} sidecar${others === 1 ? '' : 's'} would read as the whole run's and is not`;
}

const MUST_MATCH: ReadonlyArray<['kind' | 'format' | 'clusterQuery', string]> = [
  ['kind', 'proxy kind'],
  ['format', 'stats format'],
  ['clusterQuery', 'cluster query'],
];

/** Deltas of different proxies, formats (stat names differ) or clusters do not add up to one run's. */
function mismatchReason(parts: readonly Reported[]): string | undefined {
  const [head] = parts;
  if (head === undefined) return undefined;
  for (const [field, label] of MUST_MATCH) {
    const other = parts.find((p) => p.report[field] !== head.report[field]);
    if (other !== undefined) {
      const show = (value: string | undefined): string => (value === undefined ? 'none' : `'${value}'`);
      return `${other.file} has ${label} ${show(other.report[field])} but ${head.file} has ${show(head.report[field])}: their stats do not add up to one run's`;
    }
  }
  return undefined;
}

/** Each part's diagnostics once; one that not every part has is prefixed by the files that do. */
function partDiagnostics(parts: readonly Reported[]): string[] {
  const filesOf = new Map<string, string[]>();
  for (const part of parts) {
    for (const diagnostic of part.report.diagnostics) {
      const files = filesOf.get(diagnostic) ?? [];
      if (!files.includes(part.file)) files.push(part.file);
      filesOf.set(diagnostic, files);
    }
  }
  return [...filesOf].map(([diagnostic, files]) => (files.length === parts.length ? diagnostic : `${files.join(', ')}: ${diagnostic}`));
}

function mergeNotes(clusters: readonly SidecarClusterReport[], parts: number): string[] {
  const notes: string[] = [];
  if (clusters.some((c) => c.resets.length > 0)) {
    notes.push("a cluster whose counters went down in any generator's proxy has no merged deltas: the others' alone would understate the run");
  }
  if (clusters.some((c) => Object.keys(c.gauges).length > 0)) {
    notes.push(
      `gauges: the largest of the ${parts} generators' maxima (exact for "was it ever above 0"); the pods' sum may have been higher. ` +
        'Time above 0 is the longest of theirs, a lower bound of the time any pod was above 0',
    );
  }
  return notes;
}
