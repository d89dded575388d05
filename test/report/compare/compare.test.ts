/** compareResults on real runs against meshload's echo server (and HAProxy for the proxy rows):
 * a server delay is a regression and its removal an improvement, injected 503s regress the error
 * rows, a result compared with itself is all within noise, and the statistics behind "noise" are
 * the documented ones. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from '../../../src/model/load-result';
import { Distribution } from '../../../src/metrics/distribution';
import { compareResults, pairPhases, quantileInterval, twoProportionP, type CompareRow, type Comparison } from '../../../src/report/compare/compare';
import { renderCompareHtml } from '../../../src/report/compare/html';
import { renderCompareText } from '../../../src/report/compare/text';
import { asScenario, readResult } from '../../../src/report/read-result';
import type { ScenarioResult } from '../../../src/scenario/scenario-result';
import { startEchoServer, type RunningEchoServer } from '../../../src/server/echo-server';
import { cli } from '../../helpers/cli';
import { startHaproxy } from '../../helpers/haproxy';

const FORTIO = join(__dirname, '..', 'fixtures', 'fortio-1.57.3-httpbin.json');

let server: RunningEchoServer;
let dir: string;
const runs = new Map<string, ScenarioResult>();

async function load(name: string, url: string, ...flags: string[]): Promise<ScenarioResult> {
  const file = join(dir, `${name}.json`);
  const run = await cli('load', '-qps', '0', '-allow-initial-errors', '-json', file, ...flags, url);
  expect(run.code).toBe(0);
  const result = asScenario((JSON.parse(readFileSync(file, 'utf8')) as { Meshload: LoadResult }).Meshload, file);
  runs.set(name, result);
  return result;
}

function run(name: string): ScenarioResult {
  const result = runs.get(name);
  if (result === undefined) throw new Error(`no run ${name}`);
  return result;
}

function row(comparison: Comparison, metric: string): CompareRow {
  const found = comparison.phases[0]?.rows.find((r) => r.metric === metric);
  if (found === undefined) throw new Error(`no row ${metric}: ${comparison.phases[0]?.rows.map((r) => r.metric).join(', ')}`);
  return found;
}

function verdicts(comparison: Comparison): Record<string, string> {
  return Object.fromEntries((comparison.phases[0]?.rows ?? []).map((r) => [r.metric, r.verdict]));
}

beforeAll(async () => {
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1000, maxPayloadBytes: 1024 });
  dir = mkdtempSync(join(tmpdir(), 'meshload-compare-'));
  await load('plain', `${server.echoUrl}/echo`, '-c', '4', '-n', '3000');
  // 60 ms: a stall of a shared test machine can lift the plain run's p99 near 20 ms.
  await load('delayed', `${server.echoUrl}/echo?delay=60ms`, '-c', '10', '-n', '400');
  await load('errors', `${server.echoUrl}/echo?status=503:30`, '-c', '4', '-n', '2000');
  await load('mixed', `${server.echoUrl}/echo?delay=1ms:20,5ms:5&status=503:10,429:5`, '-c', '4', '-n', '2000');
}, 60_000);

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('compareResults on real runs', () => {
  it('calls a result compared with itself within noise, every row', () => {
    const mixed = run('mixed');
    const comparison = compareResults(mixed, mixed, { tolerance: 0.1 });
    const rows = comparison.phases[0]?.rows ?? [];
    expect(rows.map((r) => r.metric)).toEqual(
      expect.arrayContaining(['p50', 'p90', 'p99', 'p99.9', 'max', 'avg', 'rps', 'error rate', 'code 200', 'code 429', 'code 503', 'cause app']),
    );
    expect(rows.filter((r) => r.verdict !== 'within noise')).toEqual([]);
    expect(rows.every((r) => r.change === 0 && r.reason === 'no change')).toBe(true);
    expect(comparison.regressions).toBe(0);
    expect(comparison.improvements).toBe(0);
  });

  it('finds a 60ms server delay a regression, with the 99% intervals of p99 apart', () => {
    const comparison = compareResults(run('plain'), run('delayed'), { tolerance: 0.1 });
    expect(verdicts(comparison)).toMatchObject({ p50: 'regression', p90: 'regression', p99: 'regression', avg: 'regression', rps: 'regression' });
    // The max is one call: a scheduler stall on a busy machine can make the plain run's max as
    // large as the delayed one's, and the precedence test then rightly cannot tell.
    expect(['regression', 'within noise']).toContain(verdicts(comparison)['max']);
    const p99 = row(comparison, 'p99');
    expect(p99.b).toBeGreaterThanOrEqual(60);
    expect(p99.intervalB?.low).toBeGreaterThan(p99.intervalA?.high ?? Infinity);
    expect(p99.reason).toBe('beyond 10% and the 99% intervals are apart');
    expect(comparison.regressions).toBeGreaterThanOrEqual(5);
    // Nothing about errors changed.
    expect(verdicts(comparison)).toMatchObject({ 'error rate': 'within noise', 'code 200': 'within noise' });
  });

  it('calls the same change the other way round an improvement, never a regression', () => {
    const comparison = compareResults(run('delayed'), run('plain'), { tolerance: 0.1 });
    expect(verdicts(comparison)).toMatchObject({ p50: 'improvement', p99: 'improvement', avg: 'improvement', rps: 'improvement' });
    expect(comparison.regressions).toBe(0);
  });

  it('judges 30% 503s a regression of the error rate, of code 503 and cause app, and of code 200 (lower)', () => {
    const comparison = compareResults(run('plain'), run('errors'), { tolerance: 0.1 });
    expect(verdicts(comparison)).toMatchObject({ 'error rate': 'regression', 'code 503': 'regression', 'code 200': 'regression', 'cause app': 'regression' });
    const rate = row(comparison, 'error rate');
    expect(rate.a).toBe(0);
    expect(rate.b).toBeGreaterThan(20);
    expect(rate.reason).toMatch(/^beyond max\(10% of the rate, 1 point\) and significant \(two-proportion test, p < 1e-6\)$/);
  });

  it('does not call a tolerated change a regression, however significant', () => {
    const comparison = compareResults(run('plain'), run('delayed'), { tolerance: 1000 });
    expect(comparison.regressions).toBe(0);
    expect(row(comparison, 'p50').reason).toMatch(/^within 100000%$/);
  });

  it('renders the comparison as text and as a self-contained page', () => {
    const comparison = compareResults(run('plain'), run('delayed'), { tolerance: 0.1 });
    const text = renderCompareText(comparison);
    expect(text).toMatch(/│ load +│ p99 +│ [\d.]+ms +│ [\d.]+ms +│ \+[\d.]+ms \(\+[\d.]+%\) +│ REGRESSION +│/);
    expect(text).toMatch(/^== \d+ regressions, 0 improvements, \d+ within noise \(1 phase; tolerance 10%, 99% confidence\)$/m);
    expect(text).toMatch(/^Rule: A row is a regression or an improvement only when/m);
    const html = renderCompareHtml(comparison);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg');
    expect(html).toContain('<polyline');
    expect(html).toMatch(/<tr class="regression"><td>p99<\/td>/);
    expect(html).not.toMatch(/<script|<link|src=|href="https?:/);
  });
});

describe('Fortio JSON in a comparison', () => {
  it('compares an imported Fortio file with itself within noise, with intervals on its bucket edges', () => {
    const fortio = readResult(FORTIO).result;
    const comparison = compareResults(fortio, fortio, { tolerance: 0.1 });
    expect(comparison.regressions + comparison.improvements).toBe(0);
    // 100 calls: the p50 ranks are 50 -/+ 12.9, calls 37..63, which fall in Fortio's (12, 14] and (16, 18] ms buckets.
    expect(row(comparison, 'p50').intervalA).toEqual({ low: 12, high: 18 });
    expect(comparison.phases[0]?.notes).toEqual(
      expect.arrayContaining([expect.stringMatching(/^A imported from fortio 1\.57\.3: percentiles approximated/), 'failure causes not compared: Fortio does not record them']),
    );
    expect(comparison.phases[0]?.rows.some((r) => r.metric.startsWith('cause'))).toBe(false);
  });

  it('pairs the Fortio load with a meshload load and says how they differ', () => {
    const comparison = compareResults(readResult(FORTIO).result, run('plain'), { tolerance: 0.1 });
    const notes = comparison.phases[0]?.notes ?? [];
    expect(notes).toEqual(expect.arrayContaining([expect.stringMatching(/^the loads differ: A ran GET -c 4 -qps 8 -n 100, B ran GET -c 4 -qps max -n 3000$/), expect.stringMatching(/^the targets differ/)]));
    expect(row(comparison, 'p50').verdict).toBe('improvement');
  });
});

describe('the statistics', () => {
  it('bounds a quantile by order statistics: 1..10000, median ranks 5000 -/+ 2.576 * 50', () => {
    const d = new Distribution();
    for (let v = 1; v <= 10_000; v++) d.record(v);
    const { low, high } = quantileInterval(d, 0.5, 2.5758293035489);
    // Ranks 4871 and 5129, read at HDR's resolution (3 significant digits: buckets of 4 here).
    expect(low).toBeGreaterThanOrEqual(4868);
    expect(low).toBeLessThanOrEqual(4871);
    expect(high).toBeGreaterThanOrEqual(5129);
    expect(high).toBeLessThanOrEqual(5132);
    // 10 calls cannot bound a p99.9 from above.
    const few = new Distribution();
    for (let v = 1; v <= 10; v++) few.record(v * 1000);
    expect(quantileInterval(few, 0.999, 2.5758293035489).high).toBe(Infinity);
  });

  it('computes the two-proportion p-value: 30/100 vs 50/100 is z = 2.887, p = 0.0039', () => {
    expect(twoProportionP(30, 100, 50, 100)).toBeCloseTo(0.00389, 4);
    expect(twoProportionP(0, 100, 0, 100)).toBe(1);
    expect(twoProportionP(5, 1000, 6, 1000)).toBeGreaterThan(0.5);
  });
});

describe('pairing phases', () => {
  function withPhases(result: ScenarioResult, names: Array<string | [string, 'no load']>): ScenarioResult {
    const [phase] = result.phases;
    if (phase === undefined) throw new Error('no phase');
    return {
      ...result,
      phases: names.map((n) => (Array.isArray(n) ? { ...phase, name: n[0], load: undefined } : { ...phase, name: n })),
    };
  }

  it('pairs by name and lists the rest', () => {
    const a = withPhases(run('plain'), ['baseline', 'chaos', ['setup', 'no load'], 'gone']);
    const b = withPhases(run('plain'), ['baseline', 'chaos', ['setup', 'no load'], 'new']);
    const { pairs, unmatched } = pairPhases(a, b);
    expect(pairs.map(([x, y]) => [x.name, y.name])).toEqual([
      ['baseline', 'baseline'],
      ['chaos', 'chaos'],
    ]);
    expect(unmatched).toEqual(["phase 'setup' ran no load in A or B", "phase 'gone' is only in A", "phase 'new' is only in B"]);
  });

  it('pairs the only loaded phase of each side when no name matches, with a note', () => {
    const a = withPhases(run('plain'), ['baseline']);
    const comparison = compareResults(a, run('plain'), { tolerance: 0.1 });
    expect(comparison.phases[0]?.notes[0]).toBe("A's phase 'baseline' compared with B's 'load': the only phase with load on each side");
  });

  it('refuses results with no phase in common, in one line', () => {
    const a = withPhases(run('plain'), ['baseline', 'chaos']);
    const b = withPhases(run('plain'), ['other']);
    expect(() => compareResults(a, b, { tolerance: 0.1 })).toThrow(/^no phase with load to compare: A has 'baseline', 'chaos', B has 'other'$/);
  });
});

describe('proxy rows, through HAProxy', () => {
  it('calls more retries per call a regression when the upstream starts failing', async () => {
    const h = await startHaproxy({ upstream: `127.0.0.1:${server.echoPort}`, retries: 2, retryOn: '503' });
    try {
      const stats = ['--stats', h.metricsUrl, '--cluster', h.backend, '--stats-interval', '0'];
      const a = await load('proxy-a', `${h.url}/echo?status=503:2`, '-c', '4', '-n', '400', ...stats);
      const b = await load('proxy-b', `${h.url}/echo?status=503:40`, '-c', '4', '-n', '400', ...stats);
      expect(a.phases[0]?.load?.sidecar?.total?.retries.attempted).toBeDefined();
      const comparison = compareResults(a, b, { tolerance: 0.1 });
      const retries = row(comparison, 'proxy retries.attempted');
      expect(retries.b).toBeGreaterThan(0.3);
      expect(retries.verdict).toBe('regression');
      expect(retries.reason).toMatch(/significant \(\d+ vs \d+ for 400 vs 400 calls, conditional binomial test\)$/);
      expect(row(comparison, 'proxy requests.sent').verdict).toBe('regression');
      // Against itself the proxy rows are within noise too.
      const same = compareResults(b, b, { tolerance: 0.1 });
      expect(same.phases[0]?.rows.filter((r) => r.metric.startsWith('proxy ') && r.verdict !== 'within noise')).toEqual([]);
    } finally {
      await h.stop();
    }
  }, 30_000);
});
