/** Secrets are sent, never written: a real load and a real scenario run, through meshload's echo
 * server behind a recording hop, with secret headers, a --secret-header / secretHeaders: name,
 * credentials in the target URL and a secret query parameter. The server receives every value;
 * no value appears in anything meshload prints or writes (text, -json, -a, result.json,
 * fortio.json, summary.txt, summary.md, junit.xml, report.html, a report rendered again). */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactPlan } from '../../src/model/load-plan';
import type { LoadResult } from '../../src/model/load-result';
import { sidecarModel } from '../../src/report/html/sidecar-model';
import { renderSidecarText } from '../../src/report/sidecar-text';
import { planOf } from '../../src/scenario/run-scenario';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { loadScenario, ScenarioError } from '../../src/scenario/load-scenario';
import { type ResolvedLoad } from '../../src/scenario/scenario-schema';
import { unavailableReport } from '../../src/stats/sidecar-report';
import { cli } from '../helpers/cli';
import { startHeaderRecorder, type HeaderRecorder } from '../helpers/header-recorder';

/** Header, value: every one a secret by name, or by --secret-header / secretHeaders:. */
const SECRET_HEADERS: Array<[string, string]> = [
  ['X-Api-Key', 'k-123'],
  ['X-Auth-Token', 't-456'],
  ['Authorization', 'Bearer b-789'],
  ['My-Password', 'p-012'],
  ['X-Custom', 'c-345'],
];
const USER_PASSWORD = 'pw-678';
const QUERY_SECRET = 'q-901';
const SECRETS = [...SECRET_HEADERS.map(([, v]) => v), 'b-789', USER_PASSWORD, QUERY_SECRET];

let recorder: HeaderRecorder | undefined;
let dir: string;

beforeEach(async () => {
  recorder = await startHeaderRecorder();
  dir = mkdtempSync(join(tmpdir(), 'meshload-redaction-'));
});
afterEach(async () => {
  await recorder?.close();
  recorder = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** The target with user:password and a secret query parameter. */
function target(r: HeaderRecorder): string {
  return r.url.replace('http://', `http://user:${USER_PASSWORD}@`) + `/?api_key=${QUERY_SECRET}`;
}

function filesUnder(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function expectNoSecret(where: string, text: string): void {
  for (const secret of SECRETS) {
    if (text.includes(secret)) throw new Error(`${where} holds the secret '${secret}'`);
  }
}

/** Every request the server received carried every secret header, unchanged. */
function expectServerGotEverything(r: HeaderRecorder, minRequests: number): void {
  expect(r.received.length).toBeGreaterThanOrEqual(minRequests);
  for (const [name, value] of SECRET_HEADERS) expect(r.valuesOf(name)).toEqual(Array(r.received.length).fill(value));
}

describe('secrets are sent and never written', () => {
  // --workers 2: each worker thread makes its own result from its share of the plan (needs `npm run build`).
  it.each([['1'], ['2']])('meshload load --workers %s: text, -json - and -a hold none of them', async (workers) => {
    const r = recorder as HeaderRecorder;
    const headerFlags = SECRET_HEADERS.flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
    const run = await cli('load', '-c', '2', '-qps', '0', '-n', '6', '--workers', workers, ...headerFlags, '-H', 'X-Trace: visible-1', '--secret-header', 'X-Custom', '-json', '-', target(r));
    expect(run.code).toBe(0);
    expectServerGotEverything(r, 6);
    expectNoSecret('stdout', run.stdout);
    expectNoSecret('stderr', run.stderr);
    // -a apart: with -json Fortio writes only -json's file (fortio_main.go:491-522).
    const saved = await cli('load', '-c', '2', '-qps', '0', '-n', '6', '--workers', workers, ...headerFlags, '--secret-header', 'X-Custom', '-a', '--data-dir', dir, target(r));
    expect(saved.code).toBe(0);
    expectNoSecret('stderr of -a', saved.stderr);
    const files = filesUnder(dir);
    expect(files).toHaveLength(1);
    for (const file of files) expectNoSecret(file, readFileSync(file, 'utf8'));

    // What is written instead: the names, <redacted>, and what is not a secret.
    const json = JSON.parse(run.stdout) as { URL: string; Labels: string; Meshload: LoadResult };
    expect(json.Meshload.plan.headers).toEqual([...SECRET_HEADERS.map(([name]) => [name, '<redacted>']), ['X-Trace', 'visible-1']]);
    expect(json.URL).toBe(`${r.url.replace('http://', 'http://<redacted>@')}/?api_key=<redacted>`);
    expect(json.Meshload.plan.url).toBe(json.URL);
    expect(json.Labels).toMatch(/^<redacted>@127\.0\.0\.1:\d+\/\?api_key=<redacted> , /);
    expect(run.stderr).toContain(`: ${json.URL}\n`);
  });

  it('meshload run: the terminal and every report file hold none of them, nor does a report made again', async () => {
    const r = recorder as HeaderRecorder;
    const file = join(dir, 'secret.yaml');
    writeFileSync(
      file,
      [
        'name: secret headers',
        `target: ${target(r)}`,
        'secretHeaders: [ x-custom ]',
        'defaults:',
        `  headers: { ${SECRET_HEADERS.map(([name, value]) => `${name}: "${value}"`).join(', ')} }`,
        'phases:',
        '  - name: p',
        '    load: { connections: 2, qps: 0, requests: 6 }',
        '    expect: [ "calls == 6" ]',
        '',
      ].join('\n'),
    );
    const reports = join(dir, 'reports');
    const run = await cli('run', file, '--report-dir', reports);
    expect(run.code).toBe(0);
    expectServerGotEverything(r, 6);
    expectNoSecret('stdout', run.stdout);
    expectNoSecret('stderr', run.stderr);
    const runDir = join(reports, readdirSync(reports)[0] as string);
    const written = filesUnder(runDir).map((f) => f.slice(runDir.length + 1)).sort();
    expect(written).toEqual(expect.arrayContaining(['junit.xml', 'report.html', 'result.json', 'summary.md', 'summary.txt']));
    expect(written.some((f) => f.endsWith('fortio.json'))).toBe(true);
    for (const f of filesUnder(runDir)) expectNoSecret(f, readFileSync(f, 'utf8'));
    const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as ScenarioResult;
    expect(result.phases[0]?.load?.plan.headers).toEqual(SECRET_HEADERS.map(([name]) => [name, '<redacted>']));
    expect(result.phases[0]?.load?.plan.secretHeaders).toEqual(['x-custom']);

    // Rendered again from the result (report), and compared with itself: still nothing.
    const page = join(dir, 'again.html');
    const again = await cli('report', runDir, '-o', page);
    expect(again.code).toBe(0);
    expectNoSecret('report -o', readFileSync(page, 'utf8') + again.stdout + again.stderr);
  });
});

describe('a scenario\'s secretHeaders:', () => {
  const text = (secretHeaders: string): string =>
    ['name: s', 'target: http://127.0.0.1:1', secretHeaders, 'defaults: { headers: { X-Custom: c } }', 'phases:', '  - name: p', '    load: { requests: 1 }', '  - name: q', '    load: { requests: 1, headers: { X-Other: o } }', ''].join('\n');

  it('reaches every phase load, lower case, and its plan', () => {
    const scenario = loadScenario(text('secretHeaders: [ X-Custom, x-other ]'), 's.yaml');
    expect(scenario.secretHeaders).toEqual(['X-Custom', 'x-other']);
    for (const phase of scenario.phases) expect(phase.load?.secretHeaders).toEqual(['x-custom', 'x-other']);
    const plan = planOf(scenario.phases[1]?.load as ResolvedLoad, scenario.target, 's / q');
    expect(plan.headers).toEqual([['X-Custom', 'c'], ['X-Other', 'o']]); // sent as is
    expect(redactPlan(plan).headers).toEqual([['X-Custom', '<redacted>'], ['X-Other', '<redacted>']]);
  });

  it('is empty when absent, and refuses what is not a header name', () => {
    expect(loadScenario(text(''), 's.yaml').phases[0]?.load?.secretHeaders).toEqual([]);
    let error: unknown;
    try {
      loadScenario(text('secretHeaders: [ "X Bad" ]'), 's.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    expect((error as ScenarioError).report()).toMatch(/secretHeaders\[0\] \(line 3\): expected a header name/);
  });
});

describe('stats sources in the renderers', () => {
  it('show a stats URL without its credentials, in the text and the page model', () => {
    const source = `http://admin:${USER_PASSWORD}@127.0.0.1:15000/stats?format=json`;
    const report = unavailableReport(source, 'httpbin', `cannot read ${source}: connect ECONNREFUSED`);
    const text = renderSidecarText(report);
    expect(text).toContain('cannot read http://<redacted>@127.0.0.1:15000/stats?format=json: connect ECONNREFUSED');
    const model = sidecarModel(report);
    expect(model.source).toBe('http://<redacted>@127.0.0.1:15000/stats?format=json');
    expectNoSecret('sidecar text and model', text + JSON.stringify(model));
  });
});
