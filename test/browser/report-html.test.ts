/** report.html in a real browser: reports of real runs (the quickstart through the built CLI, and
 * a weighted split through HAProxy with its stats watched) and of an older result with Istio
 * subsets, opened from disk with no network. Each must draw every chart without a console error,
 * show the checks as result.json has them, and draw the traffic split with result.json's shares. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { renderReportHtml } from '../../src/report/html/render-report';
import { resultFromJson } from '../../src/report/read-result';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { cli } from '../helpers/cli';
import { metricsFrontend, startHaproxy, startHaproxyWith, type RunningHaproxy } from '../helpers/haproxy';
import { MeshloadProcess, startServerProcess } from '../helpers/spawn-meshload';
import { envoyCluster, envoySidecar, load, phase, scenario, spreadCalls, tenPhaseResult, timelineFor } from '../report/html/html-fixtures';
import { chartState, checkRows, launchChromium, openReport, saveScreenshot, SCREENSHOTS, trafficEdges, type OpenedReport } from './report-page';

const ROOT = join(__dirname, '..', '..');
const QUICKSTART = join(ROOT, 'scenarios', 'local', 'quickstart.yaml');
const TIMEOUT_MS = 60_000;
/** A run that reached a verdict wrote its reports: pass (0), fail (1) or inconclusive (3). A busy
 * CI core may fail the quickstart's rps check; the page must still show it. */
const VERDICT_EXITS = [0, 1, 3];

let browser: Browser | undefined;
let dir: string;

beforeAll(async () => {
  browser = await launchChromium();
}, TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  if (existsSync(SCREENSHOTS)) process.stderr.write(`screenshots of the HTML reports: ${SCREENSHOTS}\n`);
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-browser-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function onlyReport(reports: string): string {
  const runs = readdirSync(reports);
  expect(runs).toHaveLength(1);
  return join(reports, runs[0] as string);
}

/** result.json's shares per x-version, as the page should print them: percent, one decimal. */
function versionShares(result: ScenarioResult): string[][][] {
  return result.phases.flatMap((p) => {
    const versions = Object.entries(p.load?.versions ?? {});
    const total = versions.reduce((sum, [, n]) => sum + n, 0);
    return total === 0 ? [] : [versions.sort((a, b) => a[0].localeCompare(b[0])).map(([tag, n]) => [tag, ((n * 100) / total).toFixed(1)])];
  });
}

/** What every report must show: no errors, no network, every chart drawn with data on it, and
 * the checks table equal to result.json's checks. */
async function expectSoundReport(file: string, result: ScenarioResult, screenshot: string): Promise<OpenedReport> {
  if (browser === undefined) throw new Error('the browser did not start');
  const opened = await openReport(browser, file);
  await saveScreenshot(opened.page, screenshot);
  expect(opened.errors).toEqual([]);
  expect(opened.external).toEqual([]);
  const charts = await chartState(opened.page);
  expect(charts.containers).toBeGreaterThan(0);
  expect(charts.drawn).toBe(charts.containers);
  for (const chart of charts.colouredPixels) {
    expect({ id: chart.id, canvases: chart.canvases > 0, drawn: chart.coloured > 50 }).toEqual({ id: chart.id, canvases: true, drawn: true });
  }
  const checks = result.phases.flatMap((p) => p.checks.map((c) => [c.expression, c.verdict, c.path]));
  expect(await checkRows(opened.page)).toEqual(checks);
  return opened;
}

describe('report.html in Chromium', () => {
  it(
    'draws the quickstart run by the built CLI: every chart, the checks as result.json has them',
    async () => {
      if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build first (npm test does)');
      const proc = new MeshloadProcess(['run', QUICKSTART, '--report-dir', join(dir, 'reports')]);
      try {
        const code = await proc.exitCode();
        if (!VERDICT_EXITS.includes(code ?? -1)) throw new Error(`meshload run exited ${code}: ${proc.stderr}`);
      } finally {
        proc.kill();
      }
      const report = onlyReport(join(dir, 'reports'));
      const result = JSON.parse(readFileSync(join(report, 'result.json'), 'utf8')) as ScenarioResult;
      const file = join(report, 'report.html');
      const opened = await expectSoundReport(file, result, 'quickstart');
      try {
        // Two latency charts per phase and the two timeline charts.
        expect(await opened.page.locator('.chart').count()).toBe(result.phases.length * 2 + 2);
        expect(await opened.page.locator(`#summary h1 .verdict.${result.verdict}`).isVisible()).toBe(true);
        // Steps recorded their start: the timeline lists them.
        expect(await opened.page.locator('#timeline details summary').textContent()).toBe('2 steps on the timeline');
      } finally {
        await opened.page.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'draws a 3:1 split through HAProxy with its stats watched: the graph shows result.json\'s shares',
    async () => {
      const servers: MeshloadProcess[] = [];
      let haproxy: RunningHaproxy | undefined;
      try {
        const v1 = await startServerProcess(['-version-tag', 'v1']);
        servers.push(v1.proc);
        const v2 = await startServerProcess(['-version-tag', 'v2']);
        servers.push(v2.proc);
        const hostOf = (url: string): string => new URL(url).host;
        haproxy = await startHaproxyWith(
          (port, metricsPort) =>
            [
              'global',
              '  nbthread 1',
              'defaults',
              '  mode http',
              '  timeout connect 1s',
              '  timeout client 5s',
              '  timeout server 5s',
              'frontend fe',
              `  bind 127.0.0.1:${port}`,
              '  default_backend be',
              ...metricsFrontend(metricsPort),
              'backend be',
              '  balance roundrobin',
              `  server v1 ${hostOf(v1.echoUrl)} weight 3`,
              `  server v2 ${hostOf(v2.echoUrl)} weight 1`,
              '',
            ].join('\n'),
          'be',
        );
        const file = join(dir, 'split.yaml');
        writeFileSync(
          file,
          [
            'name: weighted split',
            `target: "${haproxy.url}"`,
            'sidecar:',
            `  stats: "${haproxy.metricsUrl}"`,
            '  cluster: be',
            '  interval: 100ms',
            'defaults: { connections: 2, qps: 100, duration: 2s }',
            'phases:',
            '  - name: split',
            '    steps:',
            '      - run: "echo weights v1 3, v2 1"',
            '    load: { path: /echo }',
            '    expect:',
            '      - versions ~ [v1 75%, v2 25%] vs [v1 50%, v2 50%]',
            '      - status(200) == 100%',
            '      - breaker.rejected == 0',
            '  - name: faults',
            '    steps:',
            '      - sleep: 300ms',
            '    load: { path: "/echo?status=503:20", allowInitialErrors: true }',
            '    expect:',
            '      - status(503) in [5%, 40%]',
            '      - cause(app) > 0',
            '',
          ].join('\n'),
        );
        const run = await cli('run', file, '--report-dir', join(dir, 'reports'));
        if (!VERDICT_EXITS.includes(run.code)) throw new Error(`meshload run exited ${run.code}: ${run.stderr}`);
      } finally {
        await haproxy?.stop();
        for (const server of servers) server.kill();
      }
      const report = onlyReport(join(dir, 'reports'));
      const result = JSON.parse(readFileSync(join(report, 'result.json'), 'utf8')) as ScenarioResult;
      const opened = await expectSoundReport(join(report, 'report.html'), result, 'weighted-split');
      try {
        const expected = versionShares(result);
        expect(expected).toHaveLength(2);
        expect(await trafficEdges(opened.page, 'versions')).toEqual(expected);
        // The proxy's stats are on the page: its resilience view and the agreement of client and proxy.
        expect(await opened.page.locator('#sidecar table.view').count()).toBe(2);
        expect(await opened.page.locator('#sidecar [data-agreement="requests"]').count()).toBe(2);
        // 503s stacked on the timeline: the page has the series.
        expect(await opened.page.locator('#timeline .u-legend').first().textContent()).toContain('503');
      } finally {
        await opened.page.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'draws an older result (no start times, no uncorrected latency) with Istio subsets from the proxy',
    async () => {
      const t0 = Date.parse('2024-03-05T10:20:00.000Z');
      const iso = (s: number): string => new Date(t0 + s * 1000).toISOString();
      const result = scenario(
        [
          phase('canary 10%', load(spreadCalls(3000, 50), { startTime: iso(1), durationMs: 10_000, timeline: timelineFor(10_000, 300), sidecar: envoySidecar([envoyCluster('v1', 2700, 3, { rq_active: 3 }), envoyCluster('v2', 300, 9, { rq_active: 1 })]) }), {
            checks: [{ expression: 'share(v2) in [5%, 15%]', path: 'phases[0].expect[0]', expected: 'in [5%, 15%]', observed: '10.0%', observedValue: 10, verdict: 'pass', reason: undefined }],
          }),
          phase('canary 50%', load(spreadCalls(3000, 20), { startTime: iso(12), durationMs: 10_000, timeline: timelineFor(10_000, 300), sidecar: envoySidecar([envoyCluster('v1', 1500, 2, { rq_active: 6 }), envoyCluster('v2', 1500, 30, { rq_active: 9 })]) }), {
            checks: [{ expression: 'share(v2) in [45%, 55%]', path: 'phases[1].expect[0]', expected: 'in [45%, 55%]', observed: undefined, observedValue: undefined, verdict: 'inconclusive', reason: 'a <reason>' }],
          }),
        ],
        { startTime: iso(0), durationMs: 23_000 },
      );
      for (const p of result.phases) delete (p.load as unknown as Record<string, unknown>).latencyUncorrected;
      const file = join(dir, 'report.html');
      writeFileSync(file, renderReportHtml(result));
      const opened = await expectSoundReport(file, result, 'istio-subsets');
      try {
        expect(await trafficEdges(opened.page, 'subsets')).toEqual([
          [['v1', '90.0'], ['v2', '10.0']],
          [['v1', '50.0'], ['v2', '50.0']],
        ]);
        expect(await opened.page.locator('#sidecar-gauges').count()).toBe(1);
      } finally {
        await opened.page.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'draws a 10-phase run of a minute each: every chart with data on it',
    async () => {
      const result = tenPhaseResult();
      const file = join(dir, 'report.html');
      writeFileSync(file, renderReportHtml(result));
      const opened = await expectSoundReport(file, result, 'ten-phases');
      try {
        expect(await opened.page.locator('.chart').count()).toBe(10 * 2 + 2 + 1);
        expect(await trafficEdges(opened.page, 'versions')).toEqual(versionShares(result));
      } finally {
        await opened.page.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'shows what was run in the first screen, and a load without checks as a grey "no checks"',
    async () => {
      if (browser === undefined) throw new Error('the browser did not start');
      const calls = spreadCalls(200).map((c, i) => ({ ...c, code: i % 9 === 0 ? 503 : 200 }));
      const stored = { Meshload: load(calls, { plan: { url: 'https://user:pw@shop.example:8443/cart?token=abc', h2: true, connections: 16, qps: 250, durationMs: 30_000 } }) };
      const { result } = resultFromJson(JSON.parse(JSON.stringify(stored)), join(dir, 'cart.json'));
      const file = join(dir, 'cart.html');
      writeFileSync(file, renderReportHtml(result));
      const opened = await openReport(browser, file);
      try {
        expect(opened.errors).toEqual([]);
        const head = opened.page.locator('#what-ran');
        expect(await head.isVisible()).toBe(true);
        const box = await head.boundingBox();
        expect(box).not.toBeNull();
        // Within the first 900 px a person sees on opening the page.
        expect((box?.y ?? Infinity) + (box?.height ?? Infinity)).toBeLessThan(900);
        const facts = await opened.page.evaluate<string[][]>(`Array.from(document.querySelectorAll('#run tr')).map((tr) => [tr.querySelector('th').textContent, tr.querySelector('td').textContent])`);
        expect(facts).toEqual(
          expect.arrayContaining([
            ['target', 'GET https://<redacted>@shop.example:8443/cart?token=<redacted>'],
            ['protocol', 'HTTP/2 over TLS (h2)'],
            ['connections', '16'],
            ['rate', '250 qps'],
            ['length', '30s'],
            ['stats source', 'none watched'],
          ]),
        );
        const badge = opened.page.locator('h1 .verdict');
        expect(await badge.textContent()).toBe('no checks');
        // Neutral grey, not the green of a pass.
        expect(await opened.page.evaluate<string>(`getComputedStyle(document.querySelector('h1 .verdict')).backgroundColor`)).toBe('rgb(110, 119, 129)');
        expect(await opened.page.locator('body').textContent()).not.toContain('pw@');
      } finally {
        await opened.page.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'draws a breaker through HAProxy over time: the queue gauge where it rose, 100 ms steps, and the baseline run dashed',
    async () => {
      let server: MeshloadProcess | undefined;
      let haproxy: RunningHaproxy | undefined;
      const first = join(dir, 'first');
      const second = join(dir, 'second');
      let baseline = '';
      try {
        const upstream = await startServerProcess();
        server = upstream.proc;
        // One request at a time upstream: the rest wait in HAProxy's queue (its breaker), and
        // past the 1 s queue timeout they get its 503.
        haproxy = await startHaproxy({ upstream: new URL(upstream.echoUrl).host, maxconn: 1, timeouts: { queue: '1s' } });
        const file = join(dir, 'breaker.yaml');
        writeFileSync(
          file,
          [
            'name: breaker over time',
            `target: "${haproxy.url}"`,
            'sidecar:',
            `  stats: "${haproxy.metricsUrl}"`,
            '  cluster: be',
            '  interval: 100ms',
            'defaults: { allowInitialErrors: true }',
            'phases:',
            '  - name: calm',
            '    load: { path: /echo, connections: 1, qps: 10, duration: 1500ms }',
            '    expect:',
            '      - status(200) == 100%',
            '  - name: trip',
            '    load: { path: "/echo?delay=150ms", connections: 8, qps: 0, duration: 2s }',
            '    expect:',
            '      - p(99) >= 150ms',
            '',
          ].join('\n'),
        );
        const run1 = await cli('run', file, '--report-dir', first);
        if (!VERDICT_EXITS.includes(run1.code)) throw new Error(`meshload run exited ${run1.code}: ${run1.stderr}`);
        baseline = onlyReport(first);
        const run2 = await cli('run', file, '--report-dir', second, '--baseline', baseline);
        if (!VERDICT_EXITS.includes(run2.code)) throw new Error(`meshload run --baseline exited ${run2.code}: ${run2.stderr}`);
      } finally {
        await haproxy?.stop();
        server?.kill();
      }
      const report = onlyReport(second);
      const result = JSON.parse(readFileSync(join(report, 'result.json'), 'utf8')) as ScenarioResult;
      const trip = result.phases[1]?.load;
      // The result: 100 ms steps for these short loads, and the queue gauge's series rising from 0.
      expect(trip?.timelineStepMs).toBe(100);
      const queue = Object.entries(trip?.sidecar?.gaugeSeries?.clusters ?? {}).flatMap(([, stats]) => Object.entries(stats)).find(([stat]) => stat === 'current_queue');
      if (queue === undefined) throw new Error(`no current_queue series in result.json: ${JSON.stringify(trip?.sidecar?.gaugeSeries)}`);
      expect(Math.max(...queue[1].map(([, v]) => v))).toBeGreaterThan(0);
      const opened = await expectSoundReport(join(report, 'report.html'), result, 'breaker-over-time');
      try {
        const charts = await chartState(opened.page);
        const gauges = charts.colouredPixels.find((c) => c.id === 'timeline-gauges');
        expect(gauges?.coloured).toBeGreaterThan(50);
        const legend = await opened.page.locator('#timeline-gauges .u-legend').textContent();
        expect(legend).toContain('current_queue');
        // The page's own data: more than one rate point per second of each load, the queue
        // above 0 only inside the trip phase's band, and the baseline's p99 beside this run's.
        const data = (await opened.page.evaluate('JSON.parse(document.getElementById("report-data").textContent).charts')) as Record<string, Record<string, unknown>>;
        const rate = data['timeline-rate'] as { x: number[]; bands: Array<{ name: string; startS: number; endS: number }>; baselineRps: Array<number | null> | null };
        const tripBand = rate.bands.find((b) => b.name === 'trip');
        if (tripBand === undefined) throw new Error('no trip band');
        const inTrip = rate.x.filter((x) => x >= tripBand.startS && x <= tripBand.endS);
        expect(inTrip.length).toBeGreaterThan(2 * 2 * 2);
        const gaugeSpec = data['timeline-gauges'] as { x: number[]; series: Array<{ label: string; values: Array<number | null> }> };
        const queueValues = gaugeSpec.series.find((s) => s.label.endsWith('current_queue'))?.values ?? [];
        const queued = gaugeSpec.x.filter((_, i) => (queueValues[i] ?? 0) > 0);
        expect(queued.length).toBeGreaterThan(0);
        for (const x of queued) expect(x).toBeGreaterThanOrEqual(tripBand.startS - 0.2);
        expect((rate.baselineRps ?? []).filter((v) => v !== null).length).toBeGreaterThan(10);
        expect(await opened.page.locator('#timeline-latency .u-legend').textContent()).toContain('baseline p99');
        expect(await opened.page.locator('#baseline-note').textContent()).toContain(baseline);
      } finally {
        await opened.page.close();
      }
      // result.json keeps the baseline: `meshload report` draws it again, with the gauges.
      const again = join(dir, 'again.html');
      const rendered = await cli('report', report, '-o', again);
      expect(rendered.code).toBe(0);
      const reopened = await expectSoundReport(again, result, 'breaker-over-time-again');
      try {
        expect(await reopened.page.locator('#timeline-latency .u-legend').textContent()).toContain('baseline p99');
        expect(await reopened.page.locator('#timeline-gauges .u-legend').textContent()).toContain('current_queue');
      } finally {
        await reopened.page.close();
      }
    },
    2 * TIMEOUT_MS,
  );
});
