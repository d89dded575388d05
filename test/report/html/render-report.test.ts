import type { ChartSpec } from '../../../src/report/html/render-report';
import { renderReportHtml } from '../../../src/report/html/render-report';
import { CLIENT_SCRIPT } from '../../../src/report/html/client-script';
import { escapeHtml, jsonForScript } from '../../../src/report/html/html-text';
import { baselineReference, type CheckResult, type ScenarioResult } from '../../../src/scenario/scenario-result';
import { unavailableReport } from '../../../src/stats/sidecar-report';
import { meshloadVersion } from '../../../src/util/version';
import { envoyCluster, envoySidecar, load, phase, scenario, spreadCalls, step, tenPhaseResult, timelineFor } from './html-fixtures';

function check(expression: string, verdict: CheckResult['verdict'], path: string, extra: Partial<CheckResult> = {}): CheckResult {
  return { expression, path, expected: expression.replace(/^\S+\s*/, ''), observed: '42', observedValue: 42, verdict, reason: undefined, ...extra };
}

/** The JSON the page's script reads. */
function reportData(html: string): { charts: Record<string, ChartSpec> } {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (match === null) throw new Error('no report-data block');
  return JSON.parse(match[1] as string) as { charts: Record<string, ChartSpec> };
}

function chartContainers(html: string): string[] {
  return [...html.matchAll(/<div class="chart[^"]*" id="([^"]+)" data-chart="([^"]+)">/g)].map((m) => m[2] as string);
}

const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

function fullResult(): ScenarioResult {
  const t0 = Date.parse('2024-03-05T10:20:00.000Z');
  const iso = (s: number): string => new Date(t0 + s * 1000).toISOString();
  return scenario(
    [
      phase('baseline', load(spreadCalls(2000), { startTime: iso(1), durationMs: 5000, timeline: timelineFor(5000, 400), versions: { v1: 1500, v2: 500 } }), {
        startedAt: iso(0.5),
        steps: [step('chaos', 'set status=503:10', iso(0.5))],
        checks: [check('status(200) >= 80%', 'pass', 'phases[0].expect[0]'), check('p(99) < 1ms', 'fail', 'phases[0].expect[1]', { reason: 'too slow' })],
      }),
      phase(
        'stressed',
        load(spreadCalls(1000), {
          startTime: iso(8),
          durationMs: 3000,
          timeline: timelineFor(3000, 333),
          causes: { app: 100 },
          sidecar: envoySidecar([envoyCluster('v1', 700, 7, { rq_active: 12 }), envoyCluster('v2', 300, 3, { rq_active: 5 })]),
        }),
        { startedAt: iso(7.5), checks: [check('breaker.rejected == 0', 'no_data', 'phases[1].expect[0]', { observed: undefined, reason: 'no stat' })], verdict: 'fail' },
      ),
      phase('setup only', undefined, { steps: [step('run', 'true', iso(11))] }),
    ],
    { verdict: 'fail', durationMs: 12_000 },
  );
}

describe('renderReportHtml', () => {
  const result = fullResult();
  const html = renderReportHtml(result, { source: 'reports/x/result.json' });

  it('is one self-contained page: uPlot and the script inlined, nothing fetched', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`<meta name="generator" content="meshload ${meshloadVersion()}">`);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link\b/);
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).toContain('uPlot');
    expect(html).toContain(CLIENT_SCRIPT.trim().slice(0, 60));
  });

  it('has every section, found by id', () => {
    for (const id of ['summary', 'section-checks', 'latency', 'timeline', 'codes', 'sidecar', 'traffic', 'steps']) expect(html).toContain(`id="${id}"`);
  });

  it('lists the checks exactly as the result has them, in order, with verdict and path', () => {
    const rows = [...html.matchAll(/<tr data-verdict="([^"]+)" data-path="([^"]+)"><td>([^<]*)<\/td><td class="mono expression">([^<]*)<\/td>/g)].map((m) => [m[1], m[2], m[3], m[4]]);
    expect(rows).toEqual([
      ['pass', 'phases[0].expect[0]', 'baseline', 'status(200) &gt;= 80%'],
      ['fail', 'phases[0].expect[1]', 'baseline', 'p(99) &lt; 1ms'],
      ['no_data', 'phases[1].expect[0]', 'stressed', 'breaker.rejected == 0'],
    ]);
    expect(html).toContain('<table id="checks"');
    expect(html).toContain('too slow');
  });

  it('has one data entry per chart container, with plain numbers', () => {
    const data = reportData(html);
    const containers = chartContainers(html);
    // Two latency charts per phase with calls, two timeline charts, the gauges chart.
    expect(containers).toEqual(['latency-histogram-0', 'latency-percentiles-0', 'latency-histogram-1', 'latency-percentiles-1', 'timeline-rate', 'timeline-latency', 'sidecar-gauges']);
    expect(Object.keys(data.charts).sort()).toEqual([...containers].sort());
    const histogram = data.charts['latency-histogram-0'];
    if (histogram?.kind !== 'histogram') throw new Error('histogram spec');
    expect(histogram.counts.reduce((a, b) => a + b, 0)).toBe(2000);
    const rate = data.charts['timeline-rate'];
    if (rate?.kind !== 'rate') throw new Error('rate spec');
    expect(rate.bands.map((b) => b.name)).toEqual(['baseline', 'stressed', 'setup only']);
    expect(rate.marks.map((m) => m.label)).toEqual(['chaos set status=503:10', 'run true']);
    expect(html).not.toContain('"hdr"');
  });

  it('draws the traffic split with each edge\'s subset and share', () => {
    const edges = [...html.matchAll(/data-source="(\w+)"|data-subset="([^"]*)" data-share="([^"]+)"/g)].map((m) => (m[1] !== undefined ? m[1] : `${m[2]}=${m[3]}`));
    expect(edges).toEqual(['versions', 'v1=75.0', 'v2=25.0', 'subsets', 'v1=70.0', 'v2=30.0']);
  });

  it('shows the sidecar per cluster and says which phases have no stats', () => {
    expect(html).toContain('outbound|8080|v1|reviews.default.svc.cluster.local (subset v1)');
    expect(html).toContain('a diagnostic &lt;with&gt; markup');
    expect(html).toMatch(/<h3>baseline<\/h3><p class="nodata">this phase&#39;s load was not watched<\/p>/);
  });

  it('escapes every string from the result, in text, attributes and the embedded data', () => {
    const hostile = scenario(
      [
        phase(HOSTILE, load(spreadCalls(50), { versions: { [HOSTILE]: 50 } }), {
          steps: [{ ...step('run', HOSTILE, '2024-03-05T10:20:00.000Z'), output: `</script>${HOSTILE}`, error: HOSTILE, ok: false }],
          checks: [check(`status(200) >= 1% ${HOSTILE}`, 'pass', `phases[0].expect["${HOSTILE}"]`, { observed: HOSTILE, reason: HOSTILE })],
        }),
      ],
      { name: HOSTILE, file: `${HOSTILE}.yaml` },
    );
    const page = renderReportHtml(hostile, { title: HOSTILE, source: HOSTILE });
    expect(page).not.toContain('<img src=x');
    expect(page).not.toContain('alert("x")</script>');
    expect(page).toContain(escapeHtml(HOSTILE));
    // Only the page's own three scripts open and close.
    expect(page.match(/<script\b/g)).toHaveLength(3);
    expect(page.match(/<\/script>/g)).toHaveLength(3);
    // The data block round-trips the name intact for the canvas (drawn as text, never as HTML).
    const data = reportData(page);
    expect((data.charts['latency-histogram-0'] as { title: string }).title).toBe(`${HOSTILE}: latency histogram (corrected)`);
    expect(jsonForScript({ a: '</script><!--' })).toBe('{"a":"\\u003c/script>\\u003c!--"}');
  });

  it('renders a result written before the optional fields existed, saying what is missing', () => {
    const old = JSON.parse(JSON.stringify(fullResult())) as Record<string, unknown> & ScenarioResult;
    for (const p of old.phases) {
      delete (p as Partial<typeof p>).startedAt;
      for (const s of p.steps) delete (s as Partial<typeof s>).startedAt;
      if (p.load !== undefined) {
        const l = p.load as unknown as Record<string, unknown>;
        for (const key of ['versions', 'latencyUncorrected', 'latencyByCode', 'attempts', 'causes', 'sidecar']) delete l[key];
      }
    }
    const page = renderReportHtml(old);
    expect(page).toContain('steps are not marked');
    expect(page).toContain('only the corrected curve is drawn');
    expect(page).toContain('no per-subset data');
    expect(page).toContain('no proxy stats');
    const data = reportData(page);
    expect(chartContainers(page)).toEqual(Object.keys(data.charts));
  });

  it('says "no data" instead of drawing zeros', () => {
    const page = renderReportHtml(scenario([phase('steps only', undefined, { steps: [step('sleep', '1 s', undefined)] }), phase('no calls', load([]))]));
    expect(chartContainers(page)).toEqual([]);
    expect(page).toContain('no load in this phase');
    expect(page).toContain('no calls were made');
    expect(page).toContain('no checks');
    expect(reportData(page)).toEqual({ charts: {} });
  });

  it('shows the sentence when the stats were unavailable', () => {
    const page = renderReportHtml(scenario([phase('p', load(spreadCalls(20), { sidecar: unavailableReport('http://127.0.0.1:1/stats', 'be', 'connect ECONNREFUSED 127.0.0.1:1') }))]));
    expect(page).toContain('Stats unavailable: connect ECONNREFUSED 127.0.0.1:1');
  });

  it('stays under 1 MB for a 10-phase run of a minute each, with stats and a split', () => {
    const page = renderReportHtml(tenPhaseResult());
    expect(chartContainers(page)).toHaveLength(10 * 2 + 2 + 1);
    expect(Buffer.byteLength(page)).toBeLessThan(1_000_000);
  });

  it('ships a client script that parses as plain JavaScript', () => {
    expect(() => new Function(CLIENT_SCRIPT)).not.toThrow();
    expect(CLIENT_SCRIPT).not.toMatch(/<\/script/i);
  });
});

describe('renderReportHtml: gauges over time and the baseline', () => {
  it('charts the gauge series on the timeline, on its axis, when the result has them', () => {
    const result = fullResult();
    const stressed = result.phases[1]?.load?.sidecar;
    if (stressed === undefined) throw new Error('the fixture watches its second phase');
    stressed.gaugeSeries = { startTime: '2024-03-05T10:20:08.000Z', stepMs: 1000, leftOut: 0, clusters: { be: { rq_pending_open: [[0, 0], [1000, 1], [2000, 0]] } } };
    const data = reportData(renderReportHtml(result));
    const spec = data.charts['timeline-gauges'];
    if (spec === undefined || spec.kind !== 'gauge-time') throw new Error('no gauge chart');
    expect(spec.series.map((s) => s.label)).toEqual(['rq_pending_open']);
    expect(spec.x).toEqual([8, 9, 10, 11]);
    expect(spec.series[0]?.values).toEqual([0, 1, 0, 0]);
    const rate = data.charts['timeline-rate'] as { startS: number; endS: number };
    expect([spec.startS, spec.endS]).toEqual([rate.startS, rate.endS]);
    // Without series (older results) there is no such chart.
    expect(reportData(renderReportHtml(fullResult())).charts['timeline-gauges']).toBeUndefined();
  });

  it('draws the baseline dashed beside this run and names its file', () => {
    const before = fullResult();
    const html = renderReportHtml({ ...fullResult(), baseline: baselineReference(before, 'reports/<old>/result.json') });
    const data = reportData(html);
    const curve = data.charts['latency-percentiles-0'] as { baseline: number[] | null; corrected: number[] };
    expect(curve.baseline).toEqual(curve.corrected);
    const latency = data.charts['timeline-latency'] as { baselineP99: Array<number | null> | null; p99: Array<number | null> };
    expect(latency.baselineP99).toEqual(latency.p99.map((v, i) => (latency.baselineP99?.[i] === null ? null : v)));
    expect(latency.baselineP99?.filter((v) => v !== null).length).toBeGreaterThan(5);
    expect((data.charts['timeline-rate'] as { baselineRps: unknown }).baselineRps).not.toBeNull();
    expect(html).toContain('the baseline <code>reports/&lt;old&gt;/result.json</code>');
    // Without a baseline nothing dashed is drawn.
    const plain = reportData(renderReportHtml(fullResult()));
    expect((plain.charts['timeline-latency'] as { baselineP99: unknown }).baselineP99).toBeNull();
  });

  it.each([
    ['not an object', 'yesterday'],
    ['phases not a list', { file: 'x.json', startTime: 'x', phases: 3 }],
    ['a phase without a usable load', { file: 'x.json', startTime: 'x', phases: [{ name: 'baseline', load: { durationMs: 'long', timeline: 5, latency: null } }, null, 7] }],
    ['a load whose histogram is not one', { file: 'x.json', startTime: 'x', phases: [{ name: 'baseline', load: { durationMs: 10, timeline: [], latency: { count: 5, hdr: '!!' } } }] }],
  ])('draws no baseline from a malformed one (%s), never failing the page', (_name, baseline) => {
    const html = renderReportHtml({ ...fullResult(), baseline } as unknown as ScenarioResult);
    const data = reportData(html);
    expect((data.charts['latency-percentiles-0'] as { baseline: unknown }).baseline).toBeNull();
    expect(Object.keys(data.charts).sort()).toEqual(Object.keys(reportData(renderReportHtml(fullResult())).charts).sort());
  });
});
