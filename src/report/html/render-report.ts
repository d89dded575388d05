/** report.html: one self-contained page for a scenario run (uPlot, styles, script and data
 * inlined; no network, clusters are offline). Pure: a result in, a string out. Sections have ids
 * (#summary, #section-checks, #latency, #timeline, #codes, #sidecar, #traffic, #steps); a
 * section without data says so instead of drawing zeros. `meshload report` and `compare` call
 * renderReportHtml too. */
import type { BaselineReference, ScenarioResult, ShownVerdict, StepResult } from '../../scenario/scenario-result';
import { redactUrlsIn } from '../../util/redact';
import { meshloadVersion } from '../../util/version';
import { CLIENT_SCRIPT } from './client-script';
import { escapeHtml, formatCount, formatMs, formatPercent, formatRate, inlineScript, jsonForScript } from './html-text';
import { latencyModel } from './latency-model';
import { buildReportModel, type PhaseModel, type ReportModel } from './report-model';
import type { ClusterModel, SidecarModel, ViewRow } from './sidecar-model';
import { REPORT_CSS } from './styles';
import { timelineModel, type TimelineModel } from './timeline-model';
import { renderTrafficSvg } from './traffic-svg';
import { uplotAssets } from './uplot-assets';

export interface ReportHtmlOptions {
  /** Shown in the page title and header; defaults to the scenario name. */
  title?: string;
  /** Where the data came from (a path), shown in the header. */
  source?: string;
}

/** What the page's script draws, by chart container id: plain numbers only. */
export type ChartSpec =
  | { kind: 'histogram'; title: string; edgesMs: number[]; counts: number[] }
  | { kind: 'percentiles'; title: string; x: number[]; corrected: number[]; uncorrected: number[] | null; baseline: number[] | null }
  | ({ kind: 'rate'; title: string; rps: Array<number | null>; codes: TimelineModel['codes']; baselineRps: Array<number | null> | null } & TimeAxis)
  | ({ kind: 'latency-time'; title: string; p50: Array<number | null>; p99: Array<number | null>; baselineP99: Array<number | null> | null } & TimeAxis)
  | ({ kind: 'gauge-time'; title: string; series: Array<{ label: string; values: Array<number | null> }> } & TimeAxis)
  | { kind: 'gauges'; title: string; phases: string[]; series: Array<{ label: string; values: Array<number | null> }> };

interface TimeAxis {
  x: number[];
  startS: number;
  endS: number;
  bands: Array<{ name: string; startS: number; endS: number }>;
  marks: Array<{ atS: number; kind: string; label: string; ok: boolean }>;
}

const VERDICT_TEXT: Readonly<Record<ShownVerdict, string>> = { pass: 'pass', fail: 'fail', inconclusive: 'inconclusive', no_data: 'no data', no_checks: 'no checks' };

const e = escapeHtml;

function badge(verdict: ShownVerdict, big = false): string {
  return `<span class="verdict ${verdict}${big ? ' big' : ''}">${VERDICT_TEXT[verdict]}</span>`;
}

function noData(text: string): string {
  return `<p class="nodata">${e(text)}</p>`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Collects chart specs while sections are rendered, so containers and data always match. */
class Charts {
  readonly specs: Record<string, ChartSpec> = {};
  add(id: string, spec: ChartSpec, full = false): string {
    this.specs[id] = spec;
    return `<div class="chart${full ? ' full' : ''}" id="${e(id)}" data-chart="${e(id)}"></div>`;
  }
}

/** The page's lead: what was run, before any number it produced. */
function whatRan(model: ReportModel, version: string): string {
  const run = model.run;
  const row = (label: string, value: string, id?: string): string => `<tr${id === undefined ? '' : ` data-fact="${e(id)}"`}><th>${e(label)}</th><td>${e(value)}</td></tr>`;
  const started = `<tr data-fact="started"><th>started</th><td><time datetime="${e(run.startTime)}">${e(run.startTime)}</time></td></tr>`;
  const rows = [row(run.how.label, run.how.text, run.how.label === 'command' ? 'command' : 'scenario-file'), started];
  for (const [fact, value] of run.common) rows.push(row(fact, value, fact.replace(/ /g, '-')));
  if (run.common.length === 0 && run.differing.length === 0) rows.push(row('load', 'no phase ran a load', 'load'));
  rows.push(row('report by', `meshload ${version}`, 'report-by'));
  const perPhase =
    run.differing.length === 0
      ? ''
      : `<table id="run-phases" class="wide"><thead><tr><th>phase</th>${run.differing.map((f) => `<th>${e(f)}</th>`).join('')}</tr></thead><tbody>${run.phases
          .map((p) => `<tr><td>${e(p.name)}</td>${p.values.map((v) => `<td>${e(v)}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`;
  const idle = run.withoutLoad.length > 0 && (run.common.length > 0 || run.differing.length > 0) ? `<p class="muted">No load in: ${e(run.withoutLoad.join(', '))}.</p>` : '';
  return `<section id="what-ran"><table id="run" class="facts"><tbody>${rows.join('')}</tbody></table>${perPhase}${idle}</section>`;
}

function header(model: ReportModel, version: string): string {
  const counts = model.checkCounts;
  const total = model.checks.length;
  const countText = `${total} check${total === 1 ? '' : 's'}: ${counts.pass} passed, ${counts.fail} failed, ${counts.no_data} without data, ${counts.inconclusive} inconclusive`;
  const rows = model.phases.map((p) => {
    const l = p.load;
    const s = p.latency?.summary;
    const stop = l?.stopReason === undefined ? '' : `${l.stopReason}${l.stopDetail !== undefined ? `: ${l.stopDetail}` : ''}`;
    const behind = l?.fellBehind === true ? 'fell behind the requested rate' : '';
    return (
      `<tr data-phase="${p.index}"><td>${e(p.name)}</td><td>${badge(p.shownVerdict)}</td>` +
      `<td class="num">${l === undefined ? '' : formatCount(l.calls)}</td><td class="num">${l === undefined ? '' : formatRate(l.rps)}</td>` +
      `<td class="num">${l === undefined ? '' : formatPercent(l.errorRatePct)}</td><td class="num">${s === undefined ? '' : formatMs(s.p50Ms)}</td>` +
      `<td class="num">${s === undefined ? '' : formatMs(s.p99Ms)}</td><td class="num">${l === undefined ? '' : seconds(l.durationMs)}</td>` +
      `<td>${e([stop, behind].filter((t) => t !== '').join('; '))}</td></tr>`
    );
  });
  const phases =
    model.phases.length === 0
      ? noData('no phase ran')
      : `<table class="wide"><thead><tr><th>phase</th><th>verdict</th><th class="num">calls</th><th class="num">rps</th><th class="num">errors</th><th class="num" title="corrected for coordinated omission: from each call's intended send">p50 corrected</th><th class="num" title="corrected for coordinated omission: from each call's intended send">p99 corrected</th><th class="num">load time</th><th>note</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return `<header id="summary">
<h1>${e(model.title)} ${badge(model.shownVerdict, true)}${model.interrupted ? ' <span class="verdict interrupted big" id="interrupted">interrupted</span>' : ''}</h1>
<p class="meta"><span>${model.run.how.label === 'command' ? 'load' : 'scenario'} <b>${e(model.name)}</b></span>${model.run.how.label === 'command' ? `<span>file <code>${e(model.file)}</code></span>` : ''}${model.source !== undefined ? `<span>from <code>${e(model.source)}</code></span>` : ''}</p>
${whatRan(model, version)}
<p class="meta"><span>duration ${seconds(model.durationMs)}</span><span>${e(total === 0 ? 'no checks' : countText)}</span></p>
${phases}
<nav class="toc"><a href="#section-checks">checks</a><a href="#latency">latency</a><a href="#timeline">timeline</a><a href="#codes">status codes</a><a href="#sidecar">sidecar</a><a href="#traffic">traffic</a><a href="#steps">steps</a></nav>
</header>`;
}

function checksSection(model: ReportModel): string {
  if (model.checks.length === 0) return `<section id="section-checks"><h2>Checks</h2>${noData('no checks: the scenario has no expect: lines, or no phase reached them')}</section>`;
  const rows = model.checks.map(
    (c) =>
      `<tr data-verdict="${e(c.verdict)}" data-path="${e(c.path)}"><td>${e(c.phase)}</td><td class="mono expression">${e(c.expression)}</td><td>${e(c.expected)}</td>` +
      `<td>${c.observed === undefined ? '<span class="nodata">no data</span>' : e(c.observed)}</td><td>${badge(c.verdict)}</td><td>${c.reason === undefined ? '' : e(c.reason)}</td></tr>`,
  );
  return `<section id="section-checks"><h2>Checks</h2>
<table id="checks" class="wide"><thead><tr><th>phase</th><th>expression</th><th>expected</th><th>observed</th><th>verdict</th><th>reason</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></section>`;
}

function latencySection(model: ReportModel, charts: Charts, baselineFile: string | undefined): string {
  const parts = model.phases.map((p) => {
    const title = `<h3>${e(p.name)}</h3>`;
    if (p.load === undefined) return `${title}${noData('no load in this phase')}`;
    const l = p.latency;
    if (l === undefined) return `${title}${noData('no calls were made')}`;
    const s = l.summary;
    const table =
      '<table><caption>corrected latency (from intended send)</caption><thead><tr><th class="num">calls</th><th class="num">min</th><th class="num">mean</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">p99.9</th><th class="num">max</th></tr></thead>' +
      `<tbody><tr><td class="num">${formatCount(s.count)}</td>${[s.minMs, s.meanMs, s.p50Ms, s.p90Ms, s.p99Ms, s.p999Ms, s.maxMs].map((v) => `<td class="num">${formatMs(v)}</td>`).join('')}</tr></tbody></table>`;
    const histogram = charts.add(`latency-histogram-${p.index}`, { kind: 'histogram', title: `${p.name}: latency histogram (corrected)`, edgesMs: l.histogram.edgesMs, counts: l.histogram.counts });
    const curve = charts.add(`latency-percentiles-${p.index}`, {
      kind: 'percentiles',
      title: `${p.name}: latency by percentile`,
      x: l.curve.x,
      corrected: l.curve.correctedMs,
      uncorrected: l.curve.uncorrectedMs ?? null,
      baseline: l.curve.baselineMs ?? null,
    });
    let note = l.curve.uncorrectedMs === undefined ? noData('this result has no uncorrected latency: only the corrected curve is drawn') : '';
    if (baselineFile !== undefined) note += l.curve.baselineMs === undefined ? noData(`the baseline ${baselineFile} has no phase '${p.name}' with calls`) : `<p class="muted">Dashed grey: the baseline's phase '${e(p.name)}', from <code>${e(baselineFile)}</code>.</p>`;
    return `${title}${table}<div class="charts">${histogram}${curve}</div>${note}`;
  });
  return `<section id="latency"><h2>Latency</h2>
<p class="muted">Corrected latency runs from each call's intended send time (coordinated omission corrected); uncorrected from its actual send, as Fortio reports it. Percentile axis: 1/(1&minus;p) on a log scale.</p>
${parts.length > 0 ? parts.join('\n') : noData('no phase ran')}</section>`;
}

function timelineSection(model: ReportModel, charts: Charts, baselineFile: string | undefined): string {
  const t = model.timeline;
  if (t === undefined) return `<section id="timeline"><h2>Timeline</h2>${noData('no per-second data: no phase ran a load')}</section>`;
  const axis: TimeAxis = {
    x: t.x,
    startS: t.startS,
    endS: t.endS,
    bands: t.bands.map((b) => ({ name: b.name, startS: b.startS, endS: b.endS })),
    marks: t.marks.map((m) => ({ atS: m.atS, kind: m.kind, label: m.label, ok: m.ok })),
  };
  const rate = charts.add('timeline-rate', { kind: 'rate', title: 'Calls per second by status code', rps: t.rps, codes: t.codes, baselineRps: t.baseline?.rps ?? null, ...axis }, true);
  const latency = charts.add('timeline-latency', { kind: 'latency-time', title: 'Latency per step (corrected)', p50: t.p50Ms, p99: t.p99Ms, baselineP99: t.baseline?.p99Ms ?? null, ...axis }, true);
  const g = t.gauges;
  const gauges =
    g === undefined
      ? ''
      : g.series.length === 0
        ? noData('no activity gauge (requests or connections active, pending or queued, breakers open, hosts ejected) moved during a load')
        : charts.add('timeline-gauges', { kind: 'gauge-time', title: 'Proxy gauges, sampled during each load', series: g.series, ...axis, x: g.x }, true);
  const notes: string[] = [];
  if (g !== undefined && g.leftOut > 0) notes.push(`<p class="muted">${g.leftOut} more gauge${g.leftOut === 1 ? '' : 's'} moved but ${g.leftOut === 1 ? 'is' : 'are'} not drawn; their maxima are in the sidecar section.</p>`);
  if (baselineFile !== undefined) notes.push(`<p class="muted" id="baseline-note">Dashed: the baseline <code>${e(baselineFile)}</code>, each phase matched by name and aligned at its load's start.</p>`);
  if (t.placement === 'sequential') notes.push(noData('this result has no usable timestamps: phases are placed end to end by duration'));
  const stepCount = model.phases.reduce((n, p) => n + p.steps.length, 0) + model.always.length;
  if (t.marks.length === 0 && stepCount > 0) notes.push(noData('steps are not marked: this result was written before steps recorded their start time'));
  const marks =
    t.marks.length === 0
      ? ''
      : `<details><summary>${t.marks.length} step${t.marks.length === 1 ? '' : 's'} on the timeline</summary><table><thead><tr><th class="num">at</th><th>phase</th><th>step</th><th>ok</th></tr></thead><tbody>${t.marks
          .map((m) => `<tr><td class="num">${m.atS.toFixed(2)} s</td><td>${e(m.where)}</td><td class="mono">${e(m.label)}</td><td>${m.ok ? '<span class="good">ok</span>' : '<span class="bad">failed</span>'}</td></tr>`)
          .join('')}</tbody></table></details>`;
  return `<section id="timeline"><h2>Timeline</h2>
<p class="muted">Every phase on one time axis (seconds since the run started); shaded bands are phases, dashed lines are steps. A load planned under 10 s is drawn in 100 ms steps, a longer one by the second; the last fraction of a step of each load is counted with the step before it. The proxy's gauges are the largest value sampled in each sampling interval (sidecar: interval).</p>
<div class="charts">${rate}${gauges}${latency}</div>${notes.join('')}${marks}</section>`;
}

function codesSection(model: ReportModel): string {
  const withLoad = model.phases.filter((p) => p.load !== undefined);
  if (withLoad.length === 0) return `<section id="codes"><h2>Status codes and failure causes</h2>${noData('no phase ran a load')}</section>`;
  const parts = withLoad.map((p) => {
    const calls = p.load?.calls ?? 0;
    const codeRows = p.codes.map(
      (c) =>
        `<tr data-code="${e(c.code)}"><td>${c.code === '-1' ? '-1 (socket error)' : e(c.code)}</td><td class="num">${formatCount(c.count)}</td><td class="num">${formatPercent(calls > 0 ? (c.count * 100) / calls : undefined)}</td>` +
        `${[c.p50Ms, c.p90Ms, c.p99Ms, c.maxMs].map((v) => `<td class="num">${formatMs(v)}</td>`).join('')}</tr>`,
    );
    const codes =
      codeRows.length === 0
        ? noData('no calls')
        : `<table class="codes"><caption>latency by code: corrected (from intended send)</caption><thead><tr><th>code</th><th class="num">count</th><th class="num">share</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">max</th></tr></thead><tbody>${codeRows.join('')}</tbody></table>`;
    const causes =
      p.causes.length === 0
        ? `<p class="muted">No failed call${calls === 0 ? '' : ': every call was OK (2xx or 418)'}.</p>`
        : `<table class="causes"><thead><tr><th>cause</th><th class="num">calls</th><th class="num">share</th><th class="barcell"></th><th>meaning</th></tr></thead><tbody>${p.causes
            .map(
              (c) =>
                `<tr data-cause="${c.cause}"><td>${c.cause}</td><td class="num">${formatCount(c.count)}</td><td class="num">${formatPercent(c.sharePct)}</td>` +
                `<td class="barcell"><span class="bar" style="width:${Math.min(100, Math.max(0.5, c.sharePct)).toFixed(1)}%"></span></td><td>${e(c.description)}</td></tr>`,
            )
            .join('')}</tbody></table>`;
    // A gRPC failure is HTTP 200 on the wire: its status is what tells (issue 16).
    const grpc =
      p.grpcStatuses.length === 0
        ? ''
        : `<table class="grpc-statuses"><caption>gRPC calls by status</caption><thead><tr><th>gRPC status</th><th class="num">calls</th><th class="num">share</th></tr></thead><tbody>${p.grpcStatuses
            .map(([name, n]) => `<tr data-grpc-status="${e(name)}"><td>${e(name)}</td><td class="num">${formatCount(n)}</td><td class="num">${formatPercent(calls > 0 ? (n * 100) / calls : undefined)}</td></tr>`)
            .join('')}</tbody></table>`;
    return `<h3>${e(p.name)}</h3>${codes}${grpc}<h4>Failure causes</h4>${causes}`;
  });
  return `<section id="codes"><h2>Status codes and failure causes</h2>${parts.join('\n')}</section>`;
}

function viewTable(columns: Array<{ name: string; rows: ViewRow[] }>): string {
  const first = columns[0];
  if (first === undefined) return '';
  const head = columns.map((c) => `<th class="num">${e(c.name)}</th>`).join('');
  const body = first.rows
    .map((row, i) => {
      const cells = columns.map((c) => {
        const value = c.rows[i]?.value;
        return value === undefined ? '<td class="num nodata" title="not reported by this proxy">n/a</td>' : `<td class="num">${formatCount(value)}</td>`;
      });
      return `<tr><td class="mono">${row.field}</td>${cells.join('')}<td class="muted">${e(row.meaning)}</td></tr>`;
    })
    .join('');
  return `<table class="view"><thead><tr><th>resilience view</th>${head}<th>meaning</th></tr></thead><tbody>${body}</tbody></table>`;
}

function clusterName(c: ClusterModel): string {
  return c.subset === '' ? c.cluster : `${c.cluster} (subset ${c.subset})`;
}

function clusterDetail(c: ClusterModel): string {
  const counters =
    c.moved.length === 0
      ? `<p class="muted">No counter moved${c.unchanged > 0 ? ` (${c.unchanged} unchanged)` : ''}.</p>`
      : `<details${c.moved.length <= 15 ? ' open' : ''}><summary>${c.moved.length} counter${c.moved.length === 1 ? '' : 's'} moved, ${c.unchanged} unchanged</summary><table><thead><tr><th>counter</th><th class="num">delta</th></tr></thead><tbody>${c.moved
          .map(([stat, d]) => `<tr><td class="mono">${e(stat)}</td><td class="num">${d > 0 ? '+' : ''}${formatCount(d)}</td></tr>`)
          .join('')}</tbody></table></details>`;
  const gauges =
    c.gauges.length === 0
      ? ''
      : `<details${c.gauges.length <= 15 ? ' open' : ''}><summary>${c.gauges.length} gauge${c.gauges.length === 1 ? '' : 's'}: maxima during the load</summary><table><thead><tr><th>gauge</th><th class="num">max</th><th class="num">above 0 for</th></tr></thead><tbody>${c.gauges
          .map((g) => `<tr><td class="mono">${e(g.stat)}</td><td class="num">${formatCount(g.max)}</td><td class="num">${g.msAboveZero === undefined ? '<span class="nodata">not sampled</span>' : seconds(g.msAboveZero)}</td></tr>`)
          .join('')}</tbody></table></details>`;
  const resets = c.resets.length === 0 ? '' : `<p class="bad">Counters went down during the run (proxy restarted or reset): ${e(c.resets.join(', '))}</p>`;
  return `<h4>${e(clusterName(c))}</h4>${resets}${counters}${gauges}`;
}

function sidecarPhase(p: PhaseModel, s: SidecarModel): string {
  const title = `<h3>${e(p.name)}</h3>`;
  const where = `<p class="meta"><span>${e(s.kind ?? 'unknown proxy')} stats${s.format !== undefined ? ` (${e(s.format)})` : ''}</span><span>from <code>${e(s.source)}</code></span><span>${s.clusterQuery !== undefined ? `cluster <code>${e(s.clusterQuery)}</code>` : 'all clusters'}</span></p>`;
  if (s.unavailable !== undefined) return `${title}${where}<p class="bad unavailable">Stats unavailable: ${e(s.unavailable)}</p>`;
  const columns = s.clusters.map((c) => ({ name: c.subset === '' ? c.cluster : c.subset, rows: c.view }));
  if (s.total !== undefined) columns.push({ name: 'all matched', rows: s.total });
  const agreement =
    s.agreement.length === 0
      ? ''
      : `<h4>Client and proxy agreement</h4><table><thead><tr><th>check</th><th class="num">client</th><th class="num">proxy</th><th>verdict</th><th>note</th></tr></thead><tbody>${s.agreement
          .map(
            (a) =>
              `<tr data-agreement="${a.name}"><td>${a.name}</td><td class="num">${formatCount(a.client)}</td><td class="num">${a.proxy === undefined ? 'n/a' : formatCount(a.proxy)}</td>` +
              `<td>${a.agrees === undefined ? '<span class="muted">cannot tell</span>' : a.agrees ? '<span class="good">agree</span>' : '<span class="bad">disagree</span>'}</td><td>${e(a.note)}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  const diagnostics = s.diagnostics.length === 0 ? '' : `<h4>Diagnostics</h4><ul class="diagnostics">${s.diagnostics.map((d) => `<li>${e(d)}</li>`).join('')}</ul>`;
  const clusters = s.clusters.length === 0 ? noData('no cluster matched') : viewTable(columns) + s.clusters.map(clusterDetail).join('');
  return `${title}${where}${diagnostics}${agreement}${clusters}`;
}

function sidecarSection(model: ReportModel, charts: Charts): string {
  const watched = model.phases.filter((p) => p.sidecar !== undefined);
  if (watched.length === 0) return `<section id="sidecar"><h2>Sidecar</h2>${noData('no proxy stats: the scenario has no sidecar: section')}</section>`;
  let overPhases = '';
  const g = model.gauges;
  if (g !== undefined) {
    const others = g.others > 0 ? ` ${g.others} other gauge${g.others === 1 ? '' : 's'} above zero (limits, weights, timings, states) are listed per cluster below.` : '';
    const leftOut = g.leftOut.length > 0 ? ` Also above zero, not drawn: ${g.leftOut.join(', ')}.` : '';
    overPhases =
      g.series.length > 0
        ? `<div class="charts">${charts.add('sidecar-gauges', { kind: 'gauges', title: 'Activity gauges: maximum per phase', phases: g.phases, series: g.series }, true)}</div>`
        : noData('no activity gauge (requests or connections active, pending or queued, breakers open, hosts ejected) rose above zero in any phase');
    if (others !== '' || leftOut !== '') overPhases += `<p class="muted">${e((leftOut + others).trim())}</p>`;
  }
  return `<section id="sidecar"><h2>Sidecar</h2>
<p class="muted">What the proxy counted during each phase's load. The proxy's gauges are sampled during the load: drawn over time on the timeline, and their maxima per phase here. n/a: this proxy does not report it (never a zero).</p>
${overPhases}
${model.phases.map((p) => (p.sidecar === undefined ? (p.load === undefined ? '' : `<h3>${e(p.name)}</h3>${noData('this phase\'s load was not watched')}`) : sidecarPhase(p, p.sidecar))).join('\n')}</section>`;
}

function trafficSection(model: ReportModel): string {
  const parts: string[] = [];
  for (const p of model.phases) {
    p.traffic.forEach((graph, i) => {
      const from =
        graph.source === 'versions'
          ? 'from the responses\' x-version header (what the client saw)'
          : 'from the proxy\'s per-subset clusters (requests the sidecar sent upstream)';
      const unattributed = graph.unattributed > 0 ? `<p class="muted">${formatCount(graph.unattributed)} calls carried no x-version and are not in the split.</p>` : '';
      parts.push(`<h3>${e(p.name)} <span class="muted">${from}</span></h3><div class="traffic">${renderTrafficSvg(graph, `traffic-${p.index}-${i}`)}</div>${unattributed}`);
    });
  }
  const body = parts.length > 0 ? parts.join('\n') : noData('no per-subset data: start meshload servers with -version-tag, or watch an Istio sidecar whose subsets are clusters');
  return `<section id="traffic"><h2>Traffic</h2>${body}</section>`;
}

function stepRows(steps: readonly StepResult[], origin: number): string {
  return steps
    .map((s) => {
      const at = s.startedAt === undefined || !Number.isFinite(Date.parse(s.startedAt)) || !Number.isFinite(origin) ? '' : `${((Date.parse(s.startedAt) - origin) / 1000).toFixed(2)} s`;
      const output = s.output === undefined || s.output === '' ? '' : `<details><summary>output</summary><pre>${e(s.output)}</pre></details>`;
      return (
        `<tr data-ok="${s.ok}"><td>${e(s.kind)}</td><td class="mono">${e(s.description)}</td><td class="num">${at}</td><td class="num">${formatMs(s.durationMs)}</td>` +
        `<td>${s.ok ? '<span class="good">ok</span>' : s.interrupted === true ? '<span class="warn">interrupted</span>' : '<span class="bad">failed</span>'}</td><td>${s.error === undefined ? '' : e(s.error)}${output}</td></tr>`
      );
    })
    .join('');
}

function stepsSection(model: ReportModel): string {
  const origin = Date.parse(model.startTime);
  const groups = [...model.phases.map((p) => ({ name: p.name, steps: p.steps })), { name: 'always', steps: model.always }].filter((g) => g.steps.length > 0);
  if (groups.length === 0) return `<section id="steps"><h2>Steps</h2>${noData('no steps')}</section>`;
  const head = '<thead><tr><th>kind</th><th>step</th><th class="num">at</th><th class="num">took</th><th>result</th><th>error / output</th></tr></thead>';
  return `<section id="steps"><h2>Steps</h2>${groups.map((g) => `<h3>${e(g.name)}</h3><table class="wide">${head}<tbody>${stepRows(g.steps, origin)}</tbody></table>`).join('\n')}</section>`;
}

/** The baseline a result carries (`run --baseline`), if it is of the right shape: result.json
 * may come from anywhere, so a malformed one is not drawn rather than a crash. */
function usableBaseline(baseline: unknown): BaselineReference | undefined {
  if (typeof baseline !== 'object' || baseline === null) return undefined;
  const b = baseline as Partial<BaselineReference>;
  if (typeof b.file !== 'string' || !Array.isArray(b.phases)) return undefined;
  const phases = b.phases
    .filter((p) => typeof p === 'object' && p !== null && typeof p.name === 'string')
    .map((p) => {
      const load = p.load;
      const usable = typeof load === 'object' && load !== null && Number.isFinite(load.durationMs) && Array.isArray(load.timeline) && typeof load.latency === 'object' && load.latency !== null;
      return { name: p.name, load: usable ? load : undefined };
    });
  return { file: b.file, startTime: typeof b.startTime === 'string' ? b.startTime : '', phases };
}

/** The model with the baseline's phases (matched by name) beside this run's, on the latency
 * curves and the timeline. */
function withBaselineDrawn(model: ReportModel, result: ScenarioResult, baseline: BaselineReference | undefined): ReportModel {
  if (baseline === undefined) return model;
  const phases = model.phases.map((p, i) => {
    const load = result.phases[i]?.load;
    const before = baseline.phases.find((b) => b.name === p.name)?.load;
    return load === undefined || before === undefined ? p : { ...p, latency: latencyModel(load, before) };
  });
  return { ...model, phases, timeline: timelineModel(result, baseline) };
}

export function renderReportHtml(result: ScenarioResult, options: ReportHtmlOptions = {}): string {
  const baseline = usableBaseline(result.baseline);
  const model = withBaselineDrawn(buildReportModel(result, options), result, baseline);
  const baselineFile = baseline === undefined ? undefined : redactUrlsIn(baseline.file);
  const version = meshloadVersion();
  const charts = new Charts();
  const body = [
    header(model, version),
    checksSection(model),
    latencySection(model, charts, baselineFile),
    timelineSection(model, charts, baselineFile),
    codesSection(model),
    sidecarSection(model, charts),
    trafficSection(model),
    stepsSection(model),
  ].join('\n');
  const uplot = uplotAssets();
  const verdict = model.interrupted ? 'interrupted' : VERDICT_TEXT[model.shownVerdict];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="meshload ${e(version)}">
<title>${e(`${model.title}: ${verdict} (meshload)`)}</title>
<style>${uplot.css}</style>
<style>${REPORT_CSS}</style>
</head>
<body>
${body}
<script type="application/json" id="report-data">${jsonForScript({ charts: charts.specs })}</script>
<script>${inlineScript(uplot.script)}</script>
<script>${inlineScript(CLIENT_SCRIPT)}</script>
</body>
</html>
`;
}
