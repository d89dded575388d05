/** The `report --serve` index: per result its verdict, checks passed, p99 (of the run, or its
 * worst phase, named), error rate and calls; a result without checks (a plain load -json, a
 * Fortio file) reads "no checks", never PASS. */
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listReports, renderIndexHtml, type IndexEntry } from '../../src/report/report-index';
import type { CheckResult } from '../../src/scenario/scenario-result';
import { Distribution } from '../../src/metrics/distribution';
import { load, phase, scenario } from './html/html-fixtures';
import type { FixtureCall } from '../helpers/load-result-fixture';

const FORTIO = join(__dirname, 'fixtures', 'fortio-1.57.3-httpbin.json');

let root: string;

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'meshload-index-')));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** n calls of `ms` each, the first `bad` answered 503. */
function calls(n: number, bad: number, ms: number): FixtureCall[] {
  return Array.from({ length: n }, (_, i) => ({ code: i < bad ? 503 : 200, latencyUs: ms * 1000 }));
}

function check(verdict: CheckResult['verdict']): CheckResult {
  return { expression: 'status(503) < 1%', path: 'phases[0].expect[0]', expected: '< 1%', observed: '11.0%', observedValue: 11, verdict, reason: verdict === 'pass' ? undefined : 'why' };
}

/** Each row's cells as text, by column. */
function rows(html: string): Array<Record<string, string>> {
  return [...html.matchAll(/<tr><td><a href="[^"]*">([^<]*)<\/a>[\s\S]*?<\/tr>/g)].map((m) => {
    const row = m[0];
    const cell = (col: string): string => (new RegExp(`data-col="${col}">([\\s\\S]*?)</td>`).exec(row)?.[1] ?? '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
    const verdict = /data-verdict="([^"]*)">([^<]*)</.exec(row);
    return { name: m[1] as string, verdictClass: verdict?.[1] ?? '', verdict: verdict?.[2] ?? '', checks: cell('checks'), p99: cell('p99'), errors: cell('errors'), calls: cell('calls') };
  });
}

function byName(entries: readonly IndexEntry[], name: string): IndexEntry {
  const entry = entries.find((e) => e.name === name);
  if (entry === undefined) throw new Error(`no entry ${name}`);
  return entry;
}

describe('the reports index', () => {
  it('shows verdict, checks, worst p99 with its phase, error rate and calls', () => {
    const failed = join(root, '2024-03-05_failed');
    mkdirSync(failed);
    const result = scenario(
      [
        phase('fast', load(calls(100, 0, 2)), { checks: [check('pass')], verdict: 'pass' }),
        phase('slow', load(calls(100, 20, 40)), { checks: [check('fail'), check('pass')], verdict: 'fail' }),
      ],
      { name: 'gate', verdict: 'fail' },
    );
    writeFileSync(join(failed, 'result.json'), JSON.stringify(result));
    const passed = join(root, '2024-03-04_passed');
    mkdirSync(passed);
    writeFileSync(join(passed, 'result.json'), JSON.stringify(scenario([phase('only', load(calls(50, 0, 3)), { checks: [check('pass')] })], { name: 'green', startTime: '2024-03-04T10:00:00.000Z' })));

    const entries = listReports(root);
    const p99 = Distribution.decode(load(calls(100, 20, 40)).latency).percentile(99) / 1000;
    expect(byName(entries, 'gate')).toMatchObject({ verdict: 'fail', calls: 200, errorRatePct: 10, checks: { passed: 2, total: 3 }, p99: { ms: p99, phase: 'slow' } });
    expect(rows(renderIndexHtml('reports/', entries))).toEqual([
      { name: 'gate', verdictClass: 'fail', verdict: 'FAIL', checks: '2/3', p99: `${p99.toFixed(1)} ms worst phase: slow`, errors: '10.0%', calls: '200' },
      { name: 'green', verdictClass: 'pass', verdict: 'PASS', checks: '1/1', p99: '3.00 ms', errors: '0.0%', calls: '50' },
    ]);
  });

  it('shows a load -json with 11% 503s, and a Fortio file, as "no checks", never PASS', () => {
    const loadResult = load(calls(100, 11, 5), { plan: { labels: 'eleven percent' }, startTime: '2024-03-06T10:00:00.000Z' });
    writeFileSync(join(root, 'load-503.json'), JSON.stringify({ Meshload: loadResult }));
    copyFileSync(FORTIO, join(root, 'fortio-httpbin.json'));
    const entries = listReports(root);
    expect(byName(entries, 'eleven percent')).toMatchObject({ kind: 'load', verdict: 'no_checks', errorRatePct: 11, calls: 100, checks: { passed: 0, total: 0 } });
    const html = renderIndexHtml('reports/', entries);
    expect(rows(html)).toEqual([
      { name: 'eleven percent', verdictClass: 'no_checks', verdict: 'no checks', checks: '', p99: '5.00 ms', errors: '11.0%', calls: '100' },
      expect.objectContaining({ name: 'fortio-httpbin', verdictClass: 'no_checks', verdict: 'no checks', checks: '', errors: '0.0%', calls: '100' }),
    ]);
    expect(html).not.toContain('>PASS<');
    expect(html).toMatch(/\.no_checks \{ color: #57606a/);
  });

  it('keeps a failed warm-up a FAIL, with no p99 or error rate to show', () => {
    writeFileSync(join(root, 'down.json'), JSON.stringify({ Meshload: load([], { stopReason: 'warmup-failed', stopDetail: 'refused', plan: { labels: 'down' } }) }));
    const [entry] = listReports(root);
    expect(entry).toMatchObject({ verdict: 'fail', errorRatePct: undefined, p99: undefined });
    expect(rows(renderIndexHtml('r/', listReports(root)))[0]).toMatchObject({ verdict: 'FAIL', p99: '', errors: '' });
  });
});
