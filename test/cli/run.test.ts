import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { runCli } from '../../src/cli/main';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { cli, testIo } from '../helpers/cli';

const QUICKSTART = join(__dirname, '..', '..', 'scenarios', 'local', 'quickstart.yaml');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-run-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function scenarioFile(text: string): string {
  const path = join(dir, 'scenario.yaml');
  writeFileSync(path, text);
  return path;
}

function onlyReport(): string {
  const runs = readdirSync(join(dir, 'reports'));
  expect(runs).toHaveLength(1);
  return join(dir, 'reports', runs[0] as string);
}

describe('meshload run', () => {
  it('passes the quickstart and writes result.json, summary.txt, junit.xml, summary.md and report.html', async () => {
    const summary = join(dir, 'github-summary.md');
    const { io, stderr } = testIo();
    io.env.GITHUB_STEP_SUMMARY = summary;
    const code = await runCli(['run', QUICKSTART, '--report-dir', join(dir, 'reports')], io);
    expect(stderr.text).toMatch(/== quickstart: PASS \(8 passed, 0 failed/);
    expect(code).toBe(0);
    const report = onlyReport();
    expect(readdirSync(report).sort()).toEqual(['junit.xml', 'phases', 'report.html', 'result.json', 'summary.md', 'summary.txt']);
    const result = JSON.parse(readFileSync(join(report, 'result.json'), 'utf8')) as ScenarioResult;
    expect(result.phases.map((p) => p.verdict)).toEqual(['pass', 'pass', 'pass']);
    // Each phase with load also in Fortio's result shape, for Fortio's UI and scripts.
    expect(readdirSync(join(report, 'phases')).sort()).toEqual(['01-baseline', '02-chaos', '03-recovery']);
    const fortio = JSON.parse(readFileSync(join(report, 'phases', '02-chaos', 'fortio.json'), 'utf8')) as Record<string, unknown>;
    expect(fortio.RetCodes).toEqual(result.phases[1]?.load?.codes);
    expect((fortio.DurationHistogram as { Count: number }).Count).toBe(result.phases[1]?.load?.latency.count);
    expect(fortio.Meshload).toEqual(result.phases[1]?.load);
    expect(result.phases[1]?.load?.codes['503']).toBeGreaterThan(0);
    const xml = readFileSync(join(report, 'junit.xml'), 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false, isArray: (n) => n === 'testsuite' || n === 'testcase' }).parse(xml) as {
      testsuites: { testsuite: Array<{ '@_name': string; testcase: Array<{ '@_name': string }> }> };
    };
    expect(parsed.testsuites.testsuite.map((s) => [s['@_name'], s.testcase.length])).toEqual([['baseline', 3], ['chaos', 3], ['recovery', 2]]);
    expect(readFileSync(join(report, 'summary.txt'), 'utf8')).toBe(stderr.text.slice(0, stderr.text.indexOf('report: ')));
    expect(readFileSync(summary, 'utf8')).toMatch(/^## meshload: quickstart: pass/);
  });

  it('fails with exit 1 naming the failed check: a gate that cannot fail is worthless', async () => {
    const file = scenarioFile(
      'name: failing gate\nserver: { defaultParams: "status=503:50" }\nphases:\n  - name: overload\n    load: { connections: 2, qps: 0, requests: 100, allowInitialErrors: true }\n    expect:\n      - status(200) == 100%\n      - calls == 100\n',
    );
    const run = await cli('run', file, '--report-dir', join(dir, 'reports'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^ {2}FAIL {9}status\(200\) == 100% {2}\(expected == 100%, observed \d+\.\d% \(\d+ of 100 calls\)\)$/m);
    expect(run.stderr).toMatch(/^ {2}PASS {9}calls == 100/m);
    expect(run.stderr).toMatch(/== failing gate: FAIL \(1 passed, 1 failed/);
  });

  it('compares with a baseline: a run against its own earlier result passes', async () => {
    // A 20 ms server delay dominates p99, so a GC pause or a busy CI core cannot make the same
    // run look like a tenfold regression (bare loopback p99s of ~0.7 ms did, once).
    const file = scenarioFile('name: steady\nserver: { defaultParams: "delay=20ms" }\nphases:\n  - name: load\n    load: { connections: 4, qps: 0, requests: 40 }\n    expect: [ "calls == 40" ]\n');
    const first = await cli('run', file, '--report-dir', join(dir, 'reports'));
    expect(first.code).toBe(0);
    const baseline = join(onlyReport(), 'result.json');
    const second = await cli('run', file, '--no-report', '--baseline', baseline, '--tolerance', '1000%');
    expect(second.stderr).toMatch(/== against the baseline .* \(tolerance 1000%\)/);
    expect(second.stderr).toMatch(/load: {2}PASS {9}baseline p\(99\)/);
    expect(second.stderr).toMatch(/load: {2}PASS {9}baseline error_rate/);
    expect(second.code).toBe(0);
  });

  it.each([
    [['--baseline', '/nonexistent/result.json'], /cannot read the baseline \/nonexistent\/result\.json/],
    [['--baseline', QUICKSTART], /cannot read the baseline|is not a meshload run result/],
    [['--tolerance', 'ten'], /--tolerance 'ten' is not a percentage/],
  ])('%p is a usage error, exit 2', async (flags, pattern) => {
    const run = await cli('run', QUICKSTART, '--no-report', ...flags);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(pattern);
  });

  it('reports every problem of an invalid file at once and starts nothing, exit 2', async () => {
    const file = scenarioFile('name: bad\ntarget: http://127.0.0.1:1/\nphases:\n  - name: p\n    load: { conections: 2 }\n    expect:\n      - stauts(200) == 100%\n');
    const run = await cli('run', file, '--report-dir', join(dir, 'reports'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/phases\[0\]\.load\.conections \(line 5\): unknown key "conections" - did you mean "connections"\?/);
    expect(run.stderr).toMatch(/phases\[0\]\.expect\[0\] \(line 7\): column 1: unknown function "stauts" - did you mean "status"\?/);
    expect(existsSync(join(dir, 'reports'))).toBe(false);
  });

  it('runs always: after a failed phase, and skips the phases after it', async () => {
    const marker = join(dir, 'cleaned');
    const file = scenarioFile(
      `name: cleanup\nserver: {}\nphases:\n  - name: setup\n    steps:\n      - run: "echo broken >&2; exit 4"\n  - name: never\n    load: { requests: 5, qps: 0 }\nalways:\n  - run: "touch '${marker}'"\n`,
    );
    const run = await cli('run', file, '--no-report');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/step run: echo broken >&2; exit 4 FAILED: exited with 4: broken/);
    expect(run.stderr).not.toMatch(/phase 2\/2/);
    expect(existsSync(marker)).toBe(true);
  });

  it('runs always: after Ctrl-C, writes the partial report, exit 130', async () => {
    const marker = join(dir, 'cleaned');
    const file = scenarioFile(
      `name: interrupted\nserver: {}\nphases:\n  - name: long\n    load: { connections: 1, qps: 50, duration: 60s }\nalways:\n  - run: "touch '${marker}'"\n`,
    );
    const controller = new AbortController();
    const { io, stderr } = testIo(controller.signal);
    const exit = runCli(['run', file, '--report-dir', join(dir, 'reports')], io);
    await stderr.waitFor(/== phase 1\/1: long/);
    setTimeout(() => controller.abort(), 300); // let some calls happen
    expect(await exit).toBe(130);
    expect(existsSync(marker)).toBe(true);
    const result = JSON.parse(readFileSync(join(onlyReport(), 'result.json'), 'utf8')) as ScenarioResult;
    expect(result.interrupted).toBe(true);
    expect(result.phases[0]?.load?.stopReason).toBe('interrupted');
  });
});

describe('meshload run with a ramp', () => {
  it('ramps a phase rate linearly over its duration', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'meshload-run-ramp-'));
    const file = join(tmp, 'ramp.yaml');
    writeFileSync(file, 'name: ramp\nserver: {}\nphases:\n  - name: up\n    load: { connections: 2, ramp: { from: 0, to: 100 }, duration: 2s }\n    expect: [ "calls == 100", "rps >= 45" ]\n');
    const run = await cli('run', file, '--no-report');
    rmSync(tmp, { recursive: true, force: true });
    expect(run.stderr).toMatch(/PASS {9}calls == 100/);
    expect(run.code).toBe(0);
  });
});

describe('meshload run on a terminal', () => {
  it('shows a live progress line during each load and a table of checks', async () => {
    const { io, stderr } = testIo();
    stderr.isTTY = true;
    const file = join(mkdtempSync(join(tmpdir(), 'meshload-run-tty-')), 'tty.yaml');
    writeFileSync(file, 'name: tty\nserver: {}\nphases:\n  - name: paced\n    load: { connections: 1, qps: 20, duration: 1s }\n    expect: [ "calls == 20" ]\n');
    expect(await runCli(['run', file, '--no-report'], io)).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(stderr.text).toMatch(/\r\x1b\[K\d+\/20 calls, \d+ rps, 0 not OK/);
    expect(stderr.text).toMatch(/│ phase +│ check +│ expected +│ observed +│ verdict +│/);
    expect(stderr.text).toMatch(/│ paced +│ calls == 20 +│ == 20 +│ 20 calls +│ PASS +│/);
    rmSync(join(file, '..'), { recursive: true, force: true });
  });

  it("advises the scenario's allowInitialErrors key, not load's flag, when the target is unreachable (also with workers)", async () => {
    // A port that was free a moment ago: connecting to it is refused.
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const file = scenarioFile(
      `name: unreachable\ntarget: "http://127.0.0.1:${port}/"\nphases:\n  - name: one\n    load: { connections: 1, qps: 5, duration: 1s }\n    expect: [ "calls > 0" ]\n` +
        '  - name: two\n    load: { connections: 2, qps: 5, duration: 1s, workers: 2 }\n    expect: [ "calls > 0" ]\n',
    );
    const run = await cli('run', file, '--no-report');
    expect(run.code).toBe(3);
    const advice = /warm-up request got a socket error \(refused: [^)]*\); set allowInitialErrors: true in this phase's load \(or in defaults\) to run anyway/g;
    // Each phase's load line and its check's reason.
    expect(run.stderr.match(advice)).toHaveLength(4);
    expect(run.stderr).not.toMatch(/-allow-initial-errors/);
  });
});
