/** report.html leads with what was run (target, protocol, connections, rate or calls, length,
 * stats source and cluster, the meshload that ran it, start, scenario file or command), gives a
 * reason for every check that did not pass, and never calls a result without checks a pass. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReportHtml } from '../../../src/report/html/render-report';
import { resultFromJson } from '../../../src/report/read-result';
import type { CheckResult } from '../../../src/scenario/scenario-result';
import { meshloadVersion } from '../../../src/util/version';
import { envoyCluster, envoySidecar, load, phase, scenario, spreadCalls } from './html-fixtures';

const FORTIO = join(__dirname, '..', 'fixtures', 'fortio-1.57.3-httpbin.json');

/** The facts table as [label, value] rows, tags stripped, entities decoded. */
function facts(html: string): string[][] {
  const table = /<table id="run" class="facts"><tbody>([\s\S]*?)<\/tbody><\/table>/.exec(html);
  if (table === null) throw new Error('no facts table');
  return [...(table[1] as string).matchAll(/<tr[^>]*><th>([^<]*)<\/th><td>([\s\S]*?)<\/td><\/tr>/g)].map((m) => [text(m[1] as string), text(m[2] as string)]);
}

function text(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function badges(html: string): string[] {
  return [...html.matchAll(/<span class="verdict ([a-z_]+)[^"]*">([^<]*)<\/span>/g)].map((m) => `${m[1] as string}:${m[2] as string}`);
}

function check(expression: string, verdict: CheckResult['verdict'], extra: Partial<CheckResult> = {}): CheckResult {
  return { expression, path: 'phases[0].expect[0]', expected: expression.replace(/^\S+\s*/, ''), observed: '42', observedValue: 42, verdict, reason: undefined, ...extra };
}

describe('report.html head: what was run', () => {
  const secretUrl = 'https://ops:hunter2@api.example.com:8443/v1/items?api_key=k3y&page=2';
  const statsSecret = 'http://admin:s3cret@127.0.0.1:15000/stats?token=t0k';
  const result = scenario(
    [
      phase(
        'steady',
        load(spreadCalls(200), {
          plan: { url: secretUrl, h2: true, connections: 8, qps: 100, durationMs: 10_000 },
          sidecar: { ...envoySidecar([envoyCluster('v1', 100, 1)]), source: statsSecret },
        }),
        { checks: [check('p(99) < 1ms', 'fail', { reason: 'p(99) 4.8s is above 1ms, not under it' })], verdict: 'fail' },
      ),
      phase(
        'burst',
        load(spreadCalls(200), {
          plan: { url: secretUrl, h2: true, connections: 8, qps: 0, durationMs: 0, requests: 500 },
          sidecar: { ...envoySidecar([envoyCluster('v1', 100, 1)]), source: statsSecret },
        }),
      ),
      phase('cleanup', undefined),
    ],
    { file: 'scenarios/gate.yaml', verdict: 'fail' },
  );
  const html = renderReportHtml(result);

  it('opens with the facts, before the phases and checks', () => {
    expect(html.indexOf('id="what-ran"')).toBeGreaterThan(html.indexOf('<h1>'));
    expect(html.indexOf('id="what-ran"')).toBeLessThan(html.indexOf('<th>phase</th><th>verdict</th>'));
    expect(html.indexOf('id="what-ran"')).toBeLessThan(html.indexOf('id="section-checks"'));
  });

  it('says once what every phase shares, and per phase what differs', () => {
    expect(facts(html)).toEqual([
      ['scenario file', 'scenarios/gate.yaml'],
      ['started', '2024-03-05T10:20:00.000Z'],
      ['target', 'GET https://<redacted>@api.example.com:8443/v1/items?api_key=<redacted>&page=2'],
      ['protocol', 'HTTP/2 over TLS (h2)'],
      ['connections', '8'],
      ['stats source', 'http://<redacted>@127.0.0.1:15000/stats?token=<redacted> (envoy, envoy-text)'],
      ['stats cluster', 'reviews'],
      ['run by', 'meshload 0.1.0'],
      ['report by', `meshload ${meshloadVersion()}`],
    ]);
    const perPhase = /<table id="run-phases"[^>]*>([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
    const rows = [...perPhase.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...(m[1] as string).matchAll(/<t[hd]>([^<]*)<\/t[hd]>/g)].map((c) => text(c[1] as string)));
    expect(rows).toEqual([
      ['phase', 'rate', 'length'],
      ['steady', '100 qps', '10s'],
      ['burst', 'max speed (closed loop)', '500 calls'],
    ]);
    expect(html).toContain('No load in: cleanup.');
  });

  it('never writes a secret of the target or the stats source', () => {
    for (const secret of ['hunter2', 'k3y', 's3cret', 't0k']) expect(html).not.toContain(secret);
  });

  it('names every protocol and rate model', () => {
    const one = (plan: Parameters<typeof load>[1]): string[][] => facts(renderReportHtml(scenario([phase('p', load(spreadCalls(10), plan))])));
    const fact = (rows: string[][], name: string): string | undefined => rows.find(([label]) => label === name)?.[1];
    expect(fact(one({ plan: { url: 'http://a/', h2: true } }), 'protocol')).toBe('HTTP/2 cleartext (h2c)');
    expect(fact(one({ plan: { url: 'https://a/', insecure: true } }), 'protocol')).toBe('HTTP/1.1 over TLS, certificate not verified');
    expect(fact(one({ plan: { url: 'http://a/', keepAlive: false } }), 'protocol')).toBe('HTTP/1.1, no keep-alive');
    expect(fact(one({ plan: { qps: 50, open: { maxInflight: 64 } } }), 'rate')).toBe('open model: 50 arrivals/s whatever the responses, at most 64 in flight');
    expect(fact(one({ plan: { qps: 10, ramp: { from: 10, to: 200 } } }), 'rate')).toBe('ramp from 10 to 200 qps');
    expect(fact(one({ plan: { qps: 8, durationMs: 0 } }), 'length')).toBe('until interrupted');
    expect(fact(one({}), 'stats source')).toBe('none watched');
  });

  it('says "not recorded" for what an older result lacks', () => {
    const old = JSON.parse(JSON.stringify(scenario([phase('p', load(spreadCalls(10)))]))) as ReturnType<typeof scenario>;
    const plan = old.phases[0]?.load?.plan as unknown as Record<string, unknown>;
    for (const key of ['h2', 'qps', 'connections', 'durationMs', 'requests', 'method']) delete plan[key];
    const rows = facts(renderReportHtml(old));
    expect(rows.filter(([, value]) => value === 'not recorded').map(([label]) => label)).toEqual(['protocol', 'connections', 'rate', 'length']);
  });

  it('gives every check that did not pass a reason, derived for older results', () => {
    const page = renderReportHtml(
      scenario([
        phase('p', load(spreadCalls(10)), {
          checks: [
            check('status(503) >= 20%', 'fail', { observed: '10.0% (1 of 10 calls)', reason: undefined }),
            check('breaker.rejected > 0', 'no_data', { observed: undefined, reason: '' }),
            check('p(99) < 5s', 'pass'),
          ],
          verdict: 'fail',
        }),
      ]),
    );
    const reasons = [...page.matchAll(/<tr data-verdict="([^"]+)"[^>]*>(?:<td[^>]*>[\s\S]*?<\/td>){5}<td>([^<]*)<\/td><\/tr>/g)].map((m) => [m[1], text(m[2] as string)]);
    expect(reasons).toEqual([
      ['fail', 'observed 10.0% (1 of 10 calls), expected >= 20%'],
      ['no_data', 'observed no data, expected > 0'],
      ['pass', ''],
    ]);
  });
});

describe('report.html of a single load: no checks, never PASS', () => {
  it('shows a meshload load -json file with 11% 503s as "no checks", with its command', () => {
    const calls = spreadCalls(100).map((c, i) => ({ ...c, code: i < 11 ? 503 : 200 }));
    const file = { Meshload: load(calls, { plan: { url: 'http://127.0.0.1:8080/echo', connections: 4, qps: 20, durationMs: 5000 } }) };
    const { result } = resultFromJson(JSON.parse(JSON.stringify(file)), 'run-503.json');
    const html = renderReportHtml(result);
    expect(badges(html)).toEqual(['no_checks:no checks', 'no_checks:no checks']);
    expect(html).toMatch(/<title>[^<]*no checks \(meshload\)<\/title>/);
    expect(html).not.toMatch(/class="verdict pass/);
    expect(facts(html)[0]).toEqual(['command', "meshload load -c 4 -qps 20 -t 5s http://127.0.0.1:8080/echo (rebuilt from the result's plan; headers and payload not shown)"]);
    expect(facts(html)).toContainEqual(['rate', '20 qps']);
  });

  it('shows a Fortio file as "no checks", run by Fortio', () => {
    const { result } = resultFromJson(JSON.parse(readFileSync(FORTIO, 'utf8')) as unknown, FORTIO);
    const html = renderReportHtml(result);
    expect(badges(html)[0]).toBe('no_checks:no checks');
    const rows = facts(html);
    expect(rows).toContainEqual(['run by', 'fortio 1.57.3']);
    expect(rows).toContainEqual(['length', '100 calls']);
    expect(rows).toContainEqual(['target', 'GET http://httpbin.default/get']);
    expect(rows[0]?.[1]).toMatch(/^fortio load -c 4 -qps 8 -n 100 http:\/\/httpbin\.default\/get /);
  });

  it('still fails a load whose warm-up failed', () => {
    const file = { Meshload: load([], { stopReason: 'warmup-failed', stopDetail: 'connection refused' }) };
    const { result } = resultFromJson(JSON.parse(JSON.stringify(file)), 'down.json');
    expect(badges(renderReportHtml(result))[0]).toBe('fail:fail');
  });
});
