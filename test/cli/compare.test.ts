/** `meshload compare A B` end to end: real loads against meshload's echo server and real scenario
 * runs. A 20 ms server delay is a regression (exit 1, the p99 row says so); two loads of one setup
 * run side by side are within noise (exit 0); every bad input is one line and exit 2. */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Comparison } from '../../src/report/compare/compare';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { runCli } from '../../src/cli/main';
import { cli, testIo } from '../helpers/cli';

const FORTIO = join(__dirname, '..', 'report', 'fixtures', 'fortio-1.57.3-httpbin.json');

let server: RunningEchoServer;
let dir: string;

beforeAll(async () => {
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1000, maxPayloadBytes: 1024 });
  dir = mkdtempSync(join(tmpdir(), 'meshload-compare-cli-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function load(name: string, path: string, ...flags: string[]): Promise<string> {
  const file = join(dir, `${name}.json`);
  const run = await cli('load', '-qps', '0', '-allow-initial-errors', '-json', file, ...flags, `${server.echoUrl}${path}`);
  expect(run.code).toBe(0);
  return file;
}

/** A run directory of a small two-phase scenario (the echo server's delay keeps latency stable). */
async function scenarioRun(name: string, phases: string[]): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  const body = phases.map((phase) => `  - name: ${phase}\n    load: { connections: 4, qps: 0, requests: 400, path: "/echo?delay=5ms" }\n    expect: [ "status(200) == 100%" ]\n`).join('');
  writeFileSync(file, `name: ${name}\nserver: {}\nphases:\n${body}`);
  const reports = join(dir, `reports-${name}`);
  const run = await cli('run', file, '--report-dir', reports);
  expect(run.code).toBe(0);
  return join(reports, readdirSync(reports)[0] as string);
}

describe('meshload compare', () => {
  it('finds a real regression: B with a 60ms server delay, exit 1, the p99 row a regression', async () => {
    const a = await load('a', '/echo', '-c', '4', '-n', '3000');
    // 60 ms, not 20: a stall of the shared test machine can lift A's p99 past 20 ms (seen: 16.8 ms).
    const b = await load('b', '/echo?delay=60ms', '-c', '10', '-n', '400');
    const html = join(dir, 'compare.html');
    const run = await cli('compare', a, b, '-o', html);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^A: ${a.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(`, 'm'));
    expect(run.stdout).toMatch(/│ load +│ p99 +│ [\d.]+ms +│ [\d.]+ms +│ \+[\d.]+ms \(\+[\d.]+%\) +│ REGRESSION +│ beyond 10% and the 99% intervals are apart +│/);
    expect(run.stdout).toMatch(/^== \d+ regressions, 0 improvements, \d+ within noise \(1 phase; tolerance 10%, 99% confidence\)$/m);
    expect(run.stdout).toMatch(/^Rule: /m);
    expect(run.stderr).toBe(`wrote ${html}\n`);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).toMatch(/<tr class="regression"><td>p99<\/td>/);
    expect(page).not.toMatch(/<script|<link|src=|href="https?:|url\(/);

    const json = await cli('compare', a, b, '--json');
    expect(json.code).toBe(1);
    const comparison = JSON.parse(json.stdout) as Comparison;
    expect(comparison.tolerance).toBe(0.1);
    expect(comparison.phases[0]?.rows.find((r) => r.metric === 'p99')?.verdict).toBe('regression');
    expect(json.stderr).toMatch(/REGRESSION/);

    // The other way round it is an improvement, and nothing regressed: exit 0.
    const back = await cli('compare', b, a);
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/│ load +│ p99 +│.*│ improvement +│/);
  }, 30_000);

  it('calls two loads of one setup run side by side within noise, every row, exit 0', async () => {
    // Side by side, the two runs share the machine's load (other tests, a busy core): one after
    // the other they need not, and a tail that moved with the machine is beyond sampling noise.
    const [a, b] = await Promise.all([load('same-a', '/echo?delay=10ms', '-c', '10', '-n', '3000'), load('same-b', '/echo?delay=10ms', '-c', '10', '-n', '3000')]);
    const run = await cli('compare', a, b, '--json');
    const comparison = JSON.parse(run.stdout) as Comparison;
    const rows = comparison.phases[0]?.rows ?? [];
    expect(rows.map((r) => r.metric)).toEqual(['p50', 'p90', 'p99', 'p99.9', 'max', 'avg', 'rps', 'error rate', 'code 200']);
    expect(rows.filter((r) => r.verdict !== 'within noise').map((r) => `${r.metric}: ${r.a} -> ${r.b} ${r.reason}`)).toEqual([]);
    expect(run.code).toBe(0);
  }, 30_000);

  it('pairs the phases of two scenario runs by name and lists the unmatched one', async () => {
    const a = await scenarioRun('gate-a', ['baseline', 'steady']);
    const b = await scenarioRun('gate-b', ['baseline', 'steady', 'extra']);
    const run = await cli('compare', a, join(b, 'result.json'));
    expect(run.stdout).toMatch(/^== baseline: A 400 calls, B 400 calls$/m);
    expect(run.stdout).toMatch(/^== steady: A 400 calls, B 400 calls$/m);
    expect(run.stdout).toMatch(/^not compared: phase 'extra' is only in B$/m);
    expect(run.stdout).toMatch(/^== \d+ regressions?, \d+ improvements?, \d+ within noise \(2 phases;/m);
    expect([0, 1]).toContain(run.code);
  }, 30_000);

  it("reads Fortio's own JSON and says it is approximated", async () => {
    const copy = join(dir, 'fortio.json');
    copyFileSync(FORTIO, copy);
    const run = await cli('compare', FORTIO, copy);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}note: A imported from fortio 1\.57\.3: percentiles approximated within Fortio's histogram buckets/m);
    expect(run.stdout).toMatch(/^== 0 regressions, 0 improvements, \d+ within noise/m);
  });

  it('colours the table where it goes: stdout on a terminal, or stderr beside --json; never the JSON', async () => {
    const copy = join(dir, 'fortio-colour.json');
    copyFileSync(FORTIO, copy);
    const tty = testIo();
    tty.stdout.isTTY = true;
    expect(await runCli(['compare', FORTIO, copy], tty.io)).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(tty.stdout.text).toMatch(/│ \x1b\[2mwithin noise\x1b\[22m │/);
    const piped = await cli('compare', FORTIO, copy);
    expect(piped.stdout).not.toContain('\x1b');
    // eslint-disable-next-line no-control-regex
    expect(tty.stdout.text.replace(/\x1b\[\d+m/g, '')).toBe(piped.stdout);

    const json = testIo();
    json.stdout.isTTY = true;
    json.stderr.isTTY = true;
    expect(await runCli(['compare', FORTIO, copy, '--json'], json.io)).toBe(0);
    expect(json.stdout.text).not.toContain('\x1b');
    expect(json.stderr.text).toContain('\x1b[2mwithin noise\x1b[22m');
  });

  describe('bad input: one line, exit 2', () => {
    let good: string;
    beforeAll(async () => {
      good = await load('good', '/echo', '-c', '2', '-n', '50');
      writeFileSync(join(dir, 'not-json.json'), 'nope');
      writeFileSync(join(dir, 'other.json'), JSON.stringify({ hello: 'world' }));
    });

    it.each<[string, () => string[], RegExp]>([
      ['a tolerance without %', () => [good, good, '--tolerance', '10'], /^meshload: --tolerance '10' is not a percentage \(use e\.g\. 10%\)\n$/],
      ['a negative tolerance', () => [good, good, '--tolerance', '-5%'], /^meshload: --tolerance '-5%' is not a percentage/],
      ['a missing file', () => [good, join(dir, 'missing.json')], /^meshload: cannot read .*missing\.json: ENOENT/],
      ['a file that is not JSON', () => [join(dir, 'not-json.json'), good], /^meshload: .*not-json\.json is not JSON: /],
      ['JSON that is no result', () => [good, join(dir, 'other.json')], /^meshload: .*other\.json is not a meshload or Fortio result \(give a run directory/],
      ['a directory without result.json', () => [dir, good], /^meshload: .* has no result\.json \(give a report directory written by meshload run\)\n$/],
      ['one argument only', () => [good], /^meshload: missing required argument 'b'/],
    ])('%s', async (_name, args, message) => {
      const run = await cli('compare', ...args());
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stdout).toBe('');
    });

    it('no phase in common', async () => {
      const two = await scenarioRun('two-phases', ['warm', 'hot']);
      const one = await scenarioRun('one-phase-a', ['cold']);
      const run = await cli('compare', two, one);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(
        "meshload: no phase with load to compare: A has 'warm', 'hot', B has 'cold' (compare two runs of the same scenario (phases are paired by name), or two single loads)\n",
      );
    }, 30_000);
  });
});
