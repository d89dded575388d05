/** The "Sidecar" section printed after a load run with --stats, and by `meshload stats`: per
 * cluster what moved (resilience view, counters, gauges), agreement and diagnostics. Every name
 * is the one a scenario check reads (`breaker.pending`, `delta(upstream_rq_pending_overflow)`,
 * `max(...)`, `agree(requests)`), so it can be pasted into `expect:`. What did not move is left
 * to `-v` (screen.verbose) and to the JSON and HTML reports. Pure. */
import { parseExpectation, type Expectation } from '../checks';
import { CHECK_NAMES, RESILIENCE_FIELDS, viewField } from '../stats/resilience-view';
import type { AgreementCheck, ProxyKind, ResilienceView, SidecarClusterReport, SidecarReport } from '../model/sidecar-report';
import { statKey } from '../stats/stat-sample';
import { redactUrlsIn } from '../util/redact';
import { paint, PLAIN, type Screen } from './screen';

/** Moved counters and gauges above 0 listed per cluster without -v; the rest are counted as hidden. */
const MAX_COUNTERS_SHOWN = 12;
/** HAProxy exports many static gauges (weights, limits) that are always above 0. */
const MAX_GAUGES_SHOWN = 6;
/** Lines of comma-separated items wrap here. */
const WIDTH = 110;

/** What the phase's checks read: these are shown even when 0 or not reported. */
interface Referenced {
  views: ReadonlySet<string>;
  /** statKey of the stats in `delta(...)` and `max(...)`. */
  stats: ReadonlySet<string>;
}

/** @param checks the phase's check expressions, whose names are always shown. */
export function renderSidecarText(report: SidecarReport, screen: Screen = PLAIN, checks: readonly string[] = []): string {
  const lines: string[] = [];
  const what = report.clusterQuery === undefined ? 'all clusters' : `cluster ${report.clusterQuery}`;
  if (report.unavailable !== undefined) {
    // Stats sources are redacted where they are read (src/stats); again here, cheaply, for old results.
    lines.push(`Sidecar: stats unavailable (${redactUrlsIn(report.unavailable)}); the run's client-side results above stand, the proxy verdict is missing`);
    return lines.join('\n') + '\n';
  }
  lines.push(`Sidecar (${report.kind ?? '?'} stats, ${report.format ?? '?'}, from ${redactUrlsIn(report.source)}, ${what}: ${report.clusters.length} matched)`);
  const referenced = referencedBy(checks);
  const kind = report.kind ?? report.total?.kind;
  let hidden = 0;
  let capped = false;
  if (report.total !== undefined && report.clusters.length > 1) {
    const total = viewLines(report.total, kind, screen, referenced);
    lines.push('  all matched clusters', ...total.lines);
    hidden += total.hidden;
  }
  for (const cluster of report.clusters) {
    const block = clusterLines(cluster, kind, screen, referenced);
    lines.push(...block.lines);
    hidden += block.hidden;
    capped ||= block.capped;
  }
  for (const check of report.agreement) lines.push(agreementLine(check, screen));
  for (const diagnostic of report.diagnostics) lines.push(`Note: ${redactUrlsIn(diagnostic)}`);
  if (hidden > 0) {
    const past = capped ? `, moved ones past ${MAX_COUNTERS_SHOWN} counters or ${MAX_GAUGES_SHOWN} gauges` : '';
    lines.push(paint(screen, 'dim', `(${hidden} more not shown: unmoved counters, gauges at 0, fields this proxy does not report${past}; -v shows them)`));
  }
  return lines.join('\n') + '\n';
}

function agreementLine(check: AgreementCheck, screen: Screen): string {
  const verdict = check.agrees === undefined ? paint(screen, 'yellow', 'cannot tell') : check.agrees ? paint(screen, 'green', 'agree') : paint(screen, 'red', 'DISAGREE');
  return `agree(${check.name}): client ${check.client}, proxy ${check.proxy ?? 'n/a'} (${verdict}) ${paint(screen, 'dim', check.note)}`;
}

function clusterLines(cluster: SidecarClusterReport, kind: ProxyKind | undefined, screen: Screen, referenced: Referenced): { lines: string[]; hidden: number; capped: boolean } {
  const title = cluster.subset === '' ? cluster.cluster : `${cluster.cluster} (subset ${cluster.subset})`;
  const view = viewLines(cluster.view, kind, screen, referenced);
  const lines = [`  ${title}`, ...view.lines];
  let hidden = view.hidden;

  // A cluster's own stats before its sub-trees (Envoy's `internal.`, `ssl.`; HAProxy's
  // `server.<name>.`), which mostly repeat them: what a cap cuts is then the repetition.
  const counters = Object.entries(cluster.deltas).sort(([a], [b]) => Number(a.includes('.')) - Number(b.includes('.')));
  const wanted = (stat: string): boolean => referenced.stats.has(statKey(stat));
  const moved = counters.filter(([stat, d]) => d !== 0 || wanted(stat));
  const shownCounters = screen.verbose ? counters : pick(moved, MAX_COUNTERS_SHOWN, ([stat]) => wanted(stat));
  hidden += counters.length - shownCounters.length;
  lines.push(...wrap('counters', shownCounters.map(([stat, d]) => `delta(${stat}) ${d}`)));

  const gauges = Object.entries(cluster.gauges);
  const up = gauges.filter(([stat, g]) => g.max > 0 || wanted(stat));
  const shownGauges = screen.verbose ? gauges : pick(up, MAX_GAUGES_SHOWN, ([stat]) => wanted(stat));
  hidden += gauges.length - shownGauges.length;
  lines.push(
    ...wrap(
      'gauges',
      shownGauges.map(([stat, g]) => {
        // The time above 0 needs in-run sampling; a blip shorter than a sample says nothing.
        const time = g.msAboveZero !== undefined && (screen.verbose || g.msAboveZero >= 100) ? ` ${paint(screen, 'dim', `(above 0 for ${(g.msAboveZero / 1000).toFixed(1)}s)`)}` : '';
        return `max(${stat}) ${g.max}${time}`;
      }),
    ),
  );
  return { lines, hidden, capped: shownCounters.length < moved.length || shownGauges.length < up.length };
}

/** The referenced entries first, then the others in order, `limit` in all (or more, if more are referenced). */
function pick<T>(items: readonly T[], limit: number, isReferenced: (item: T) => boolean): T[] {
  const first = items.filter(isReferenced);
  const rest = items.filter((item) => !isReferenced(item));
  return [...first, ...rest.slice(0, Math.max(0, limit - first.length))];
}

function viewLines(view: ResilienceView, kind: ProxyKind | undefined, screen: Screen, referenced: Referenced): { lines: string[]; hidden: number } {
  const shown: string[] = [];
  const unreported: string[] = [];
  let hidden = 0;
  let events = 0;
  for (const field of RESILIENCE_FIELDS) {
    const name = CHECK_NAMES[field];
    const value = viewField(view, field);
    const wanted = referenced.views.has(name);
    if (value !== undefined && value !== 0) events++;
    if (value === undefined) {
      // Unknown is not zero: a referenced field says so where it would be.
      if (wanted) shown.push(`${name} n/a`);
      else if (screen.verbose) unreported.push(name);
      else hidden++;
    } else if (value !== 0 || wanted || screen.verbose) shown.push(`${name} ${value}`);
    else hidden++;
  }
  const lines = shown.length > 0 ? wrap('view', shown) : [];
  if (events === 0) lines.push(`    no resilience event (no rejection, retry, timeout, 5xx or ejection)`);
  if (unreported.length > 0) lines.push(...wrap(`not reported by ${kind ?? 'this proxy'}`, unreported).map((line) => paint(screen, 'dim', line)));
  return { lines, hidden };
}

/** `    label: a, b, c` over as many lines as WIDTH needs, continuation lines indented. */
function wrap(label: string, items: readonly string[]): string[] {
  if (items.length === 0) return [];
  const lines: string[] = [];
  let line = `    ${label}: `;
  let empty = true;
  for (const item of items) {
    if (!empty && line.length + item.length + 2 > WIDTH) {
      lines.push(`${line},`);
      line = `      ${item}`;
    } else {
      line += `${empty ? '' : ', '}${item}`;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** The view names and stats the checks read; a check that does not parse reads nothing (the
 * scenario's validation reports it). */
function referencedBy(checks: readonly string[]): Referenced {
  const views = new Set<string>();
  const stats = new Set<string>();
  for (const text of checks) {
    let expectation: Expectation;
    try {
      expectation = parseExpectation(text);
    } catch {
      continue;
    }
    if (!('metric' in expectation)) continue;
    const metric = expectation.metric;
    if (metric.kind === 'view') {
      views.add(metric.name);
      // breaker.rejected is pending + active: show both parts.
      if (metric.name === 'breaker.rejected') views.add(CHECK_NAMES['breakerRejections.pending']).add(CHECK_NAMES['breakerRejections.active']);
    } else if (metric.kind === 'delta' || metric.kind === 'gauge') stats.add(statKey(metric.stat));
  }
  return { views, stats };
}
