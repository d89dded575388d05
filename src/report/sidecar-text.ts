/** The "Sidecar" section printed after a load run with --stats, and by `meshload stats`: the
 * resilience view, the counters that moved, gauge maxima, agreement and diagnostics. Pure. */
import { RESILIENCE_FIELDS, viewField, type ResilienceView } from '../stats/resilience-view';
import type { SidecarClusterReport, SidecarReport } from '../stats/sidecar-report';
import { redactUrlsIn } from '../util/redact';

/** Counters listed per cluster before "... and N more". */
const MAX_DELTAS_SHOWN = 20;
/** Gauges listed per cluster: HAProxy exports many static ones (weights, limits). */
const MAX_GAUGES_SHOWN = 8;

export function renderSidecarText(report: SidecarReport): string {
  const lines: string[] = [];
  const what = report.clusterQuery === undefined ? 'all clusters' : `cluster ${report.clusterQuery}`;
  if (report.unavailable !== undefined) {
    // Stats sources are redacted where they are read (src/stats); again here, cheaply, for old results.
    lines.push(`Sidecar: stats unavailable (${redactUrlsIn(report.unavailable)}); the run's client-side results above stand, the proxy verdict is missing`);
    return lines.join('\n') + '\n';
  }
  lines.push(`Sidecar (${report.kind ?? '?'} stats, ${report.format ?? '?'}, from ${redactUrlsIn(report.source)}, ${what}: ${report.clusters.length} matched)`);
  if (report.total !== undefined && report.clusters.length > 1) lines.push(...viewLines('all matched clusters', report.total));
  for (const cluster of report.clusters) lines.push(...clusterLines(cluster));
  for (const check of report.agreement) {
    const verdict = check.agrees === undefined ? 'cannot tell' : check.agrees ? 'agree' : 'DISAGREE';
    lines.push(`Agreement ${check.name} : client ${check.client}, proxy ${check.proxy ?? 'n/a'} (${verdict}) ${check.note}`);
  }
  for (const diagnostic of report.diagnostics) lines.push(`Note: ${redactUrlsIn(diagnostic)}`);
  return lines.join('\n') + '\n';
}

function clusterLines(cluster: SidecarClusterReport): string[] {
  const title = cluster.subset === '' ? cluster.cluster : `${cluster.cluster} (subset ${cluster.subset})`;
  const lines = viewLines(title, cluster.view);
  const moved = Object.entries(cluster.deltas).filter(([, d]) => d !== 0);
  if (moved.length > 0) {
    const shown = moved.slice(0, MAX_DELTAS_SHOWN).map(([stat, d]) => `${stat} +${d}`);
    const more = moved.length > MAX_DELTAS_SHOWN ? ` ... and ${moved.length - MAX_DELTAS_SHOWN} more (-json has them all)` : '';
    lines.push(`    counters moved: ${shown.join(', ')}${more}`);
  }
  const gauges = Object.entries(cluster.gauges).filter(([, g]) => g.max > 0);
  if (gauges.length > 0) {
    const shown = gauges
      .slice(0, MAX_GAUGES_SHOWN)
      .map(([stat, g]) => `${stat} max ${g.max}${g.msAboveZero !== undefined ? ` (above 0 for ${(g.msAboveZero / 1000).toFixed(1)}s)` : ''}`);
    const more = gauges.length > MAX_GAUGES_SHOWN ? ` ... and ${gauges.length - MAX_GAUGES_SHOWN} more (-json has them all)` : '';
    lines.push(`    gauges: ${shown.join(', ')}${more}`);
  }
  return lines;
}

function viewLines(title: string, view: ResilienceView): string[] {
  const lines = [`  ${title}`];
  const known: string[] = [];
  const unknown: string[] = [];
  for (const field of RESILIENCE_FIELDS) {
    const value = viewField(view, field);
    if (value === undefined) unknown.push(field);
    else if (value !== 0) known.push(`${field} ${value}`);
  }
  lines.push(`    ${known.length > 0 ? known.join(', ') : 'no resilience event (no rejection, retry, timeout, 5xx or ejection)'}`);
  // Unknown is not zero: say which areas have no data, grouped so the line stays readable.
  if (unknown.length > 0) {
    const areas = [...new Set(unknown.map((field) => field.split('.')[0] as string))];
    const whole = areas.map((area) => (RESILIENCE_FIELDS.filter((f) => f.split('.')[0] === area).every((f) => unknown.includes(f)) ? area : unknown.filter((f) => f.startsWith(`${area}.`) || f === area).join(', ')));
    lines.push(`    unknown (the proxy kind has no such stat, or these stats lack it): ${whole.join(', ')}`);
  }
  return lines;
}
