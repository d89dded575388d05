import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { runScenarioText } from '../../src/cli/commands/run-action';
import { EXIT } from '../../src/cli/exit-codes';
import { runCli } from '../../src/cli/main';
import { paint } from '../../src/report/screen';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { cli, testIo } from '../helpers/cli';
import { runProcess } from '../helpers/run-process';

const QUICKSTART = join(__dirname, '..', '..', 'scenarios', 'local', 'quickstart.yaml');
const BIN = join(__dirname, '..', '..', 'bin', 'meshload.js');
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
    expect(run.stderr).toMatch(/^ {2}FAIL {9}status\(200\) == 100% {2}\(expected == 100%, observed \d+\.\d% \(\d+ of 100 calls\); status\(200\) \d+\.\d% \(\d+ of 100 calls\) is below the 100% expected\)$/m);
    expect(run.stderr).toMatch(/^ {2}PASS {9}calls == 100/m);
    expect(run.stderr).toMatch(/== failing gate: FAIL \(1 passed, 1 failed/);
  });

  it('is inconclusive, not failed, when the server clamped the fault a failing check depends on', async () => {
    // The server caps delays at 50ms: the phase asked for 300ms and did not get it.
    const file = scenarioFile(
      'name: clamped\nserver: { maxDelay: 50ms }\nphases:\n  - name: slow\n    load: { path: "/echo?delay=300ms", connections: 2, qps: 0, requests: 10 }\n    expect:\n      - p(50) >= 250ms\n      - calls == 10\n',
    );
    const run = await cli('run', file, '--no-report');
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^ {2}INCONCLUSIVE p\(50\) >= 250ms .*the server clamped the fault of 10 responses \(x-meshload-clamped/m);
    expect(run.stderr).toMatch(/^ {2}PASS {9}calls == 10/m);
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
    // eslint-disable-next-line no-control-regex
    expect(stderr.text).toMatch(/│ paced +│ calls == 20 +│ == 20 +│ 20 calls +│ \x1b\[32mPASS\x1b\[39m +│/);
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
    const advice = /error -1 for http:\/\/127\.0\.0\.1:\d+\/ \(0 bytes\): a socket error \(refused: [^)]*\); set allowInitialErrors: true in this phase's load \(or in defaults\) to run anyway/g;
    // Each phase's load line and its check's reason.
    expect(run.stderr.match(advice)).toHaveLength(4);
    expect(run.stderr).not.toMatch(/-allow-initial-errors/);
  });
});

describe('meshload run in colour', () => {
  // eslint-disable-next-line no-control-regex
  const SGR = /\x1b\[\d+m/;
  const passing = (): string => scenarioFile('name: colour\nserver: {}\nphases:\n  - name: p\n    load: { connections: 2, qps: 0, requests: 20 }\n    expect: [ "calls == 20" ]\n');

  async function runOn(isTTY: boolean, env: Record<string, string>): Promise<{ code: number; stderr: string; summary: string }> {
    const { io, stderr } = testIo();
    stderr.isTTY = isTTY;
    io.env = env;
    const code = await runCli(['run', passing(), '--report-dir', join(dir, 'reports')], io);
    return { code, stderr: stderr.text, summary: readFileSync(join(onlyReport(), 'summary.txt'), 'utf8') };
  }

  it('on a terminal: PASS green, the verdict line bold; summary.txt the same text without a colour code', async () => {
    const run = await runOn(true, {});
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('  \x1b[32mPASS\x1b[39m         calls == 20');
    expect(run.stderr).toContain('\x1b[1m== colour: \x1b[32mPASS\x1b[39m (1 passed, 0 failed');
    expect(run.summary).not.toContain('\x1b');
    expect(run.summary).toMatch(/^ {2}PASS {9}calls == 20 {2}\(expected == 20, observed 20 calls\)$/m);
    expect(run.summary).toMatch(/│ p +│ calls == 20 +│ == 20 +│ 20 calls +│ PASS +│/);
    expect(run.summary).toMatch(/^== colour: PASS \(1 passed, 0 failed/m);
    for (const name of ['result.json', 'junit.xml', 'summary.md', 'report.html']) expect(readFileSync(join(onlyReport(), name), 'utf8')).not.toContain('\x1b');
  });

  it("an epilogue (verify's policy verdicts) is coloured on the terminal and plain in summary.txt", async () => {
    const { io, stderr } = testIo();
    stderr.isTTY = true;
    const ctx = { io, exitCode: EXIT.OK };
    const text = 'name: epilogue\nserver: {}\nphases:\n  - name: p\n    load: { connections: 1, qps: 0, requests: 5 }\n';
    await runScenarioText(text, 'epilogue.yaml', { reportDir: join(dir, 'reports'), report: true, tolerance: '10%' }, ctx, (_, screen) => `  ${paint(screen, 'red', 'does not behave')}\n`);
    expect(stderr.text).toContain('  \x1b[31mdoes not behave\x1b[39m\n');
    const summary = readFileSync(join(onlyReport(), 'summary.txt'), 'utf8');
    expect(summary).toContain('  does not behave\n== epilogue: NO CHECKS');
    expect(summary).not.toContain('\x1b');
  });

  it("a command's colour codes and CR in a failed step's error are escaped, on the terminal and in summary.txt", async () => {
    const file = scenarioFile(`name: noisy\nphases:\n  - name: p\n    steps:\n      - run: "printf 'a\\\\033[31mred\\\\rb' >&2; exit 3"\n`);
    const { io, stderr } = testIo();
    stderr.isTTY = true;
    expect(await runCli(['run', file, '--report-dir', join(dir, 'reports')], io)).toBe(1);
    expect(stderr.text).toContain('\x1b[31mFAILED: exited with 3: a\\x1b[31mred\\x0db\x1b[39m');
    const summary = readFileSync(join(onlyReport(), 'summary.txt'), 'utf8');
    expect(summary).toContain('FAILED: exited with 3: a\\x1b[31mred\\x0db (');
    // eslint-disable-next-line no-control-regex
    expect(summary).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
  });

  it.each([
    ['NO_COLOR', { NO_COLOR: '1' }],
    ['TERM=dumb', { TERM: 'dumb' }],
    ['FORCE_COLOR=0', { FORCE_COLOR: '0' }],
  ])('on a terminal with %s: no colour', async (_, env) => {
    const run = await runOn(true, env);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^== colour: PASS \(1 passed/m);
    expect(run.stderr).not.toMatch(SGR);
  });

  it('piped: no colour; FORCE_COLOR colours it anyway, and summary.txt stays plain', async () => {
    const piped = await runOn(false, {});
    expect(piped.stderr).not.toContain('\x1b');
    expect(piped.summary).toBe(piped.stderr.slice(0, piped.stderr.indexOf('report: ')));
    rmSync(join(dir, 'reports'), { recursive: true, force: true });
    const forced = await runOn(false, { FORCE_COLOR: '1' });
    expect(forced.stderr).toContain('\x1b[32mPASS\x1b[39m');
    expect(forced.summary).not.toContain('\x1b');
    // eslint-disable-next-line no-control-regex
    expect(forced.summary).toBe(forced.stderr.slice(0, forced.stderr.indexOf('report: ')).replace(/\x1b\[\d+m/g, ''));
  });
});

describe('meshload run as a process, its stderr piped', () => {
  // eslint-disable-next-line no-control-regex
  const SGR = /\x1b\[\d+m/;

  /** A failing and a passing check: both colours, exit 1. Needs `npm run build`. */
  async function spawnRun(env: Record<string, string>): Promise<{ code: number | null; stderr: string; summary: string }> {
    const file = scenarioFile('name: piped\nserver: {}\nphases:\n  - name: p\n    load: { connections: 2, qps: 0, requests: 20 }\n    expect: [ "calls == 20", "calls == 21" ]\n');
    const { FORCE_COLOR: _f, NO_COLOR: _n, ...inherited } = process.env;
    const run = await runProcess(process.execPath, [BIN, 'run', file, '--report-dir', join(dir, 'reports')], { env: { ...inherited, ...env } });
    const summary = readFileSync(join(onlyReport(), 'summary.txt'), 'utf8');
    rmSync(join(dir, 'reports'), { recursive: true, force: true });
    return { code: run.code, stderr: run.stderr, summary };
  }

  it('prints no colour; with FORCE_COLOR=1 it does (FAIL red, PASS green), NO_COLOR does not win over it; summary.txt never', async () => {
    const plain = await spawnRun({});
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^== piped: FAIL \(1 passed, 1 failed/m);
    expect(plain.stderr).not.toMatch(SGR);
    const forced = await spawnRun({ FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(forced.code).toBe(1);
    expect(forced.stderr).toContain('  \x1b[32mPASS\x1b[39m         calls == 20');
    expect(forced.stderr).toContain('  \x1b[31mFAIL\x1b[39m         calls == 21');
    expect(forced.stderr).toContain('\x1b[1m== piped: \x1b[31mFAIL\x1b[39m (1 passed, 1 failed');
    for (const run of [plain, forced]) {
      expect(run.summary).not.toContain('\x1b');
      expect(run.summary).toMatch(/^== piped: FAIL \(1 passed, 1 failed/m);
    }
    expect((await spawnRun({ NO_COLOR: '1' })).stderr).not.toMatch(SGR);
  });
});
