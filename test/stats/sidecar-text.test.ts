/** The sidecar block on the terminal: what moved and what the checks read, by the names checks
 * accept; the rest behind -v. Reports are built from the stats fixtures through the real
 * snapshot path, as `meshload stats DUMP` builds them. */
import { join } from 'node:path';
import type { LoadResult } from '../../src/model/load-result';
import { PLAIN } from '../../src/report/screen';
import { renderSidecarText } from '../../src/report/sidecar-text';
import { evaluateExpectation, parseExpectation } from '../../src/checks';
import { buildView, CHECK_NAMES, RESILIENCE_FIELDS } from '../../src/stats/resilience-view';
import { buildSidecarReport } from '../../src/stats/sidecar-report';
import type { SidecarReport } from '../../src/model/sidecar-report';
import { diffSnapshots, takeSnapshot } from '../../src/stats/snapshot';
import { fixtureResult } from '../helpers/load-result-fixture';

const FIXTURES = join(__dirname, '..', 'fixtures', 'stats');

/** The counts of one dump since the proxy started, for one --cluster. */
async function dumpReport(file: string, cluster: string): Promise<SidecarReport> {
  const after = await takeSnapshot({ kind: 'file', path: join(FIXTURES, file) }, { timeoutMs: 5000 }, cluster);
  const before = { ...after, clusters: new Map(), httpFaults: new Map(), takenAtMs: 0 };
  return buildSidecarReport({ source: file, clusterQuery: cluster, before, after, delta: diffSnapshots(before, after), gauges: undefined, result: undefined });
}

function withSidecar(sidecar: SidecarReport): LoadResult {
  return { ...fixtureResult([{ code: 200, latencyUs: 1000 }]), sidecar };
}

/** The items of the view, counters and gauges lines (wrapped lines joined), and of the
 * "not reported by" line. */
function items(text: string): { shown: string[]; unreported: string[] } {
  const shown: string[] = [];
  const unreported: string[] = [];
  let current: string[] | undefined;
  let buffer = '';
  const flush = (): void => {
    if (current !== undefined && buffer !== '') current.push(...buffer.split(', '));
    buffer = '';
    current = undefined;
  };
  for (const line of text.split('\n')) {
    const head = /^ {4}(view|counters|gauges|not reported by \w+): (.*)$/.exec(line);
    if (head !== null) {
      flush();
      current = (head[1] as string).startsWith('not reported') ? unreported : shown;
      buffer = head[2] as string;
    } else if (current !== undefined && /^ {6}\S/.test(line)) buffer += ` ${line.trim()}`;
    else flush();
  }
  flush();
  return { shown: shown.map((item) => item.replace(/ \(above 0 for [\d.]+s\)$/, '')), unreported };
}

describe('renderSidecarText', () => {
  it.each([
    ['istio-1.23-sidecar.txt', 'httpbin'],
    ['istio-1.22-sidecar.txt', 'httpbin'],
    ['haproxy-promex.txt', 'be_app'],
    ['istio-prometheus.txt', 'httpbin'],
  ])('%s: every name printed is a check that reads the value printed', async (file, cluster) => {
    const report = await dumpReport(file, cluster);
    expect(report.clusters).toHaveLength(1);
    const result = withSidecar(report);
    for (const verbose of [false, true]) {
      const { shown } = items(renderSidecarText(report, { ...PLAIN, verbose }));
      expect(shown.length).toBeGreaterThan(0);
      for (const item of shown) {
        const space = item.lastIndexOf(' ');
        const check = `${item.slice(0, space)} == ${item.slice(space + 1)}`;
        const verdict = evaluateExpectation(parseExpectation(check), result, 'test', check);
        expect({ check, verdict: verdict.verdict, reason: verdict.reason }).toEqual({ check, verdict: 'pass', reason: undefined });
      }
    }
  });

  it('names every resilience field as the checks do', () => {
    const view = buildView('envoy', (field) => RESILIENCE_FIELDS.indexOf(field) + 1);
    const result = withSidecar({ source: 's', format: 'envoy-text', kind: 'envoy', clusterQuery: 'x', clusters: [], total: view, agreement: [], diagnostics: [], unavailable: undefined });
    for (const field of RESILIENCE_FIELDS) {
      const check = `${CHECK_NAMES[field]} == ${RESILIENCE_FIELDS.indexOf(field) + 1}`;
      expect([check, evaluateExpectation(parseExpectation(check), result, 'test', check).verdict]).toEqual([check, 'pass']);
    }
  });

  it.each([
    ['istio-1.23-sidecar.txt', 'httpbin'],
    ['haproxy-promex.txt', 'be_app'],
  ])('%s: hides unmoved counters, gauges at 0 and unreported fields, says how many, and -v shows them', async (file, cluster) => {
    const report = await dumpReport(file, cluster);
    const short = renderSidecarText(report);
    const full = renderSidecarText(report, { ...PLAIN, verbose: true });
    const hidden = /^\((\d+) more not shown: unmoved counters, gauges at 0, fields this proxy does not report(, moved ones past 12 counters or 6 gauges)?; -v shows them\)$/m.exec(short);
    expect(hidden).not.toBeNull();
    const few = items(short);
    const all = items(full);
    expect(few.shown.filter((item) => / 0$/.test(item))).toEqual([]);
    expect(few.unreported).toEqual([]);
    expect(short).not.toMatch(/unknown|breakerRejections|upstream5xx/);
    expect(full).not.toMatch(/more not shown/);
    expect(all.shown.length + all.unreported.length - few.shown.length).toBe(Number(hidden?.[1]));
    expect(all.shown.some((item) => / 0$/.test(item))).toBe(true);
  });

  it("always shows what the phase's checks read, even 0 or not reported", async () => {
    const report = await dumpReport('istio-1.23-sidecar.txt', 'httpbin');
    const checks = ['retries.attempted == 0', 'breaker.rejected > 0', 'delta(upstream_rq_retry) == 0', 'max(upstream_rq_active) >= 0', 'not a check ('];
    const { shown } = items(renderSidecarText(report, PLAIN, checks));
    expect(shown).toEqual(expect.arrayContaining(['retries.attempted 0', 'breaker.pending 21', 'breaker.active n/a', 'delta(upstream_rq_retry) 0', 'max(upstream_rq_active) 0']));
    expect(items(renderSidecarText(report)).shown).not.toContain('retries.attempted 0');
  });

  it('colours the agreement verdicts on a colour screen only', async () => {
    const report: SidecarReport = {
      ...(await dumpReport('istio-1.23-sidecar.txt', 'httpbin')),
      agreement: [
        { name: 'breaker', client: 21, proxy: 21, agrees: true, note: 'match' },
        { name: 'requests', client: 40, proxy: 30, agrees: false, note: 'fewer' },
        { name: 'retries', client: 0, proxy: 3, agrees: undefined, note: 'no echo' },
      ],
    };
    const colour = renderSidecarText(report, { color: true, verbose: false });
    expect(colour).toContain('agree(breaker): client 21, proxy 21 (\x1b[32magree\x1b[39m) \x1b[2mmatch\x1b[22m');
    expect(colour).toContain('(\x1b[31mDISAGREE\x1b[39m)');
    expect(colour).toContain('(\x1b[33mcannot tell\x1b[39m)');
    const plain = renderSidecarText(report);
    expect(plain).not.toContain('\x1b[');
    expect(plain).toMatch(/^agree\(requests\): client 40, proxy 30 \(DISAGREE\) fewer$/m);
  });
});
