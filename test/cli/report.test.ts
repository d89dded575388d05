/** `meshload report` on real runs: report.html from a run directory, a result.json, a load JSON
 * and Fortio's JSON; `--serve` answering real HTTP requests (the index, rendered runs, raw files
 * with their types, 404 for every way out of the root) and stopping on the abort signal and on
 * SIGINT with exit 0; every bad input one line and exit 2. */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { Capture, cli, testIo } from '../helpers/cli';
import { MeshloadProcess } from '../helpers/spawn-meshload';

const FORTIO = join(__dirname, '..', 'report', 'fixtures', 'fortio-1.57.3-httpbin.json');

let dir: string;
let reports: string;
let runA: string;
let runB: string;
let loadJson: string;
let echo: RunningEchoServer;

const SCENARIO = (name: string): string => `name: ${name}
server: { admin: true }
phases:
  - name: baseline
    load: { connections: 2, qps: 0, requests: 200 }
    expect: [ "status(200) == 100%" ]
  - name: chaos
    steps:
      - chaos: { set: "status=503:30" }
    load: { connections: 2, qps: 0, requests: 200 }
    expect: [ "status(503) > 0" ]
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-report-'));
  reports = join(dir, 'reports');
  for (const name of ['report-alpha', 'report-beta']) {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, SCENARIO(name));
    const run = await cli('run', file, '--report-dir', reports);
    expect(run.code).toBe(0);
  }
  const dirs = readdirSync(reports);
  runA = join(reports, dirs.find((d) => d.endsWith('_report_alpha')) as string);
  runB = join(reports, dirs.find((d) => d.endsWith('_report_beta')) as string);
  echo = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1000, maxPayloadBytes: 1024 });
  loadJson = join(dir, 'pod-0.json');
  const load = await cli('load', '-qps', '0', '-n', '100', '-labels', 'pod zero', '-json', loadJson, `${echo.echoUrl}/echo`);
  expect(load.code).toBe(0);
}, 60_000);

afterAll(async () => {
  await echo.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('meshload report PATH', () => {
  it('writes report.html beside result.json for a run directory, prints the summary and the path', async () => {
    const run = await cli('report', runA);
    expect(run.code).toBe(0);
    const page = join(runA, 'report.html');
    expect(run.stdout).toBe(`${page}\n`);
    expect(readFileSync(page, 'utf8')).toContain('report-alpha');
    expect(run.stderr).toMatch(/^== baseline\n {2}load: 200 calls in [\d.]+s, [\d.]+ rps, corrected latency p50 [\d.]+ms, p99 [\d.]+ms, max [\d.]+ms; codes 200: 200\n {2}PASS {9}status\(200\) == 100%/m);
    expect(run.stderr).toMatch(/^ {2}phase chaos: PASS$/m);
    expect(run.stderr).toMatch(/^== report-alpha: PASS \(2 passed, 0 failed, 0 without data, 0 inconclusive; 2 phases run in [\d.]+s\)$/m);
  });

  it('on a terminal: PASS green and the verdict line bold; the path on stdout and the page stay plain', async () => {
    const { io, stdout, stderr } = testIo();
    stderr.isTTY = true;
    stdout.isTTY = true;
    const out = join(dir, 'colour.html');
    expect(await runCli(['report', runA, '-o', out], io)).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(stderr.text).toMatch(/^ {2}phase chaos: \x1b\[32mPASS\x1b\[39m$/m);
    expect(stderr.text).toContain('\x1b[1m== report-alpha: \x1b[32mPASS\x1b[39m (2 passed');
    expect(stdout.text).toBe(`${out}\n`);
    expect(readFileSync(out, 'utf8')).not.toContain('\x1b');
  });

  it('writes -o for a result.json', async () => {
    const out = join(dir, 'beta.html');
    const run = await cli('report', join(runB, 'result.json'), '-o', out);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${out}\n`);
    expect(readFileSync(out, 'utf8')).toContain('report-beta');
  });

  it('renders a meshload load -json file as a one-phase run, beside it as .html', async () => {
    const run = await cli('report', loadJson);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${join(dir, 'pod-0.html')}\n`);
    expect(readFileSync(join(dir, 'pod-0.html'), 'utf8')).toContain('pod zero');
    expect(run.stderr).toMatch(/^== load\n {2}load: 100 calls/m);
    expect(run.stderr).toMatch(/^== pod zero: NO CHECKS \(0 passed/m);
  });

  it("renders Fortio's JSON and says the percentiles are approximated", async () => {
    const copy = join(dir, 'fortio-run.json');
    copyFileSync(FORTIO, copy);
    const run = await cli('report', copy);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^note: imported from fortio 1\.57\.3: percentiles approximated within Fortio's histogram buckets \(count, min, max, avg exact\)/);
    expect(run.stderr).toMatch(/^ {2}load: 100 calls in 12\.5s, 8\.0 rps, .*codes 200: 100$/m);
    expect(existsSync(join(dir, 'fortio-run.html'))).toBe(true);
  });

  it('opens the page with $BROWSER when asked', async () => {
    const marker = join(dir, 'opened.txt');
    const browser = join(dir, 'browser.sh');
    // Written aside and renamed, so the marker appears whole: the watch below sees the rename.
    writeFileSync(browser, `#!/bin/sh\nprintf '%s' "$1" > '${marker}.tmp' && mv '${marker}.tmp' '${marker}'\n`, { mode: 0o755 });
    const opened = new Promise<void>((resolve) => {
      const watcher = watch(dir, () => {
        if (!existsSync(marker)) return;
        watcher.close();
        resolve();
      });
    });
    const stdout = new Capture();
    const stderr = new Capture();
    const io: CliIo = { stdout, stderr, env: { BROWSER: browser }, signal: new AbortController().signal };
    expect(await runCli(['report', loadJson, '--open', 'browser'], io)).toBe(0);
    await opened;
    expect(readFileSync(marker, 'utf8')).toBe(join(dir, 'pod-0.html'));
  });

  it.each<[string, () => string[], RegExp]>([
    ['no path', () => ['report'], /^meshload: report needs a result to render \(/],
    ['a missing path', () => ['report', join(dir, 'nope')], /^meshload: cannot read .*nope: ENOENT/],
    ['JSON that is no result', () => ['report', writeJson('bench.json', { suite: 'load' })], /^meshload: .*bench\.json is not a meshload or Fortio result/],
    ['--open with a bad value', () => ['report', loadJson, '--open', 'always'], /^meshload: --open 'always' is not one of none, browser/],
    ['--host without --serve', () => ['report', loadJson, '--host', '0.0.0.0'], /^meshload: --host applies only with --serve/],
    ['--serve with a bad port', () => ['report', reports, '--serve', 'eighty'], /^meshload: --serve 'eighty' is not a port/],
    ['--serve with a port out of range', () => ['report', reports, '--serve', '70000'], /^meshload: --serve '70000' is not a port/],
    ['--serve with -o', () => ['report', reports, '--serve', '0', '-o', 'x.html'], /^meshload: -o does not apply with --serve/],
    ['--serve on a file', () => ['report', loadJson, '--serve', '0'], /^meshload: .*pod-0\.json is not a folder/],
    ['--serve on one run', () => ['report', runA, '--serve', '0'], /^meshload: .*_report_alpha is one run, not a reports folder \(serve the folder that holds it/],
    ['--serve on a missing folder', () => ['report', join(dir, 'none'), '--serve', '0'], /^meshload: cannot read .*none: ENOENT/],
  ])('%s: one line, exit 2', async (_name, args, message) => {
    const [, ...rest] = args();
    const run = await cli('report', ...rest);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

function writeJson(name: string, data: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(data));
  return file;
}

interface RawReply {
  status: number;
  type: string | undefined;
  location: string | undefined;
  body: string;
}

/** A request with the path sent exactly as written: no client-side `..` normalisation. */
function raw(port: number, path: string, method = 'GET'): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('meshload report --serve', () => {
  it('serves the index, the runs and their files, nothing outside the root, and stops on abort', async () => {
    // A load file at the top is listed; a JSON file that is no result (a benchmark) is not.
    copyFileSync(FORTIO, join(reports, 'fortio-httpbin.json'));
    writeFileSync(join(reports, 'bench-load.json'), JSON.stringify({ suite: 'load', rps: 1 }));
    const secret = join(dir, 'secret.txt');
    writeFileSync(secret, 'outside the root');
    symlinkSync(secret, join(reports, 'escape.txt'));
    symlinkSync(dir, join(runA, 'up'));
    mkdirSync(join(reports, 'not-a-run'), { recursive: true });

    const controller = new AbortController();
    const stdout = new Capture();
    const stderr = new Capture();
    const exit = runCli(['report', reports, '--serve', '0'], { stdout, stderr, env: {}, signal: controller.signal });
    let port = 0;
    try {
      const [, label, portText] = await stderr.waitFor(/^serving (.+) on http:\/\/127\.0\.0\.1:(\d+)\/$/m);
      expect(label).toBe(`${reports}/`);
      port = Number(portText);
      expect(port).toBeGreaterThan(0);
      const idA = runA.slice(reports.length + 1);
      const idB = runB.slice(reports.length + 1);

      const index = await raw(port, '/');
      expect(index.status).toBe(200);
      expect(index.type).toBe('text/html; charset=utf-8');
      // Newest first: beta ran after alpha; Fortio's file is from 2023.
      const order = ['report-beta', 'report-alpha', 'fortio-httpbin'].map((name) => index.body.indexOf(`>${name}</a>`));
      expect(order.every((at) => at > 0)).toBe(true);
      expect(order).toEqual([...order].sort((x, y) => x - y));
      expect(index.body).toContain(`href="/run/${idA}/"`);
      expect(index.body).toContain('href="/run/fortio-httpbin.json/"');
      expect(index.body).toMatch(/<td class="pass" data-verdict="pass">PASS<\/td><td class="num" data-col="checks">2\/2<\/td>.*<td class="num" data-col="calls">400<\/td><td class="num" data-col="phases">2<\/td>/);
      expect(index.body).not.toContain('bench-load');
      expect(index.body).not.toContain('not-a-run');

      const page = await raw(port, `/run/${idB}/`);
      expect(page.status).toBe(200);
      expect(page.type).toBe('text/html; charset=utf-8');
      expect(page.body).toContain('report-beta');
      expect(page.body).toContain('<a href="result.json">result.json</a>');
      expect(page.body).toContain('<a href="phases/01-baseline/fortio.json">phases/01-baseline/fortio.json</a>');
      expect(await raw(port, `/run/${idB}`)).toMatchObject({ status: 301, location: `/run/${idB}/` });

      const fortioPage = await raw(port, '/run/fortio-httpbin.json/');
      expect(fortioPage.status).toBe(200);
      expect(fortioPage.body).toContain('imported from fortio 1.57.3');

      for (const [path, type] of [
        ['result.json', 'application/json; charset=utf-8'],
        ['summary.md', 'text/markdown; charset=utf-8'],
        ['summary.txt', 'text/plain; charset=utf-8'],
        ['junit.xml', 'application/xml; charset=utf-8'],
        ['phases/02-chaos/fortio.json', 'application/json; charset=utf-8'],
      ] as const) {
        const file = await raw(port, `/run/${idB}/${path}`);
        expect({ path, status: file.status, type: file.type }).toEqual({ path, status: 200, type });
        expect(file.body).toBe(readFileSync(join(runB, path), 'utf8'));
      }
      expect((await raw(port, '/files/fortio-httpbin.json')).body).toBe(readFileSync(FORTIO, 'utf8'));

      for (const path of [
        '/run/../../etc/passwd',
        `/run/${idA}/../../secret.txt`,
        '/files/%2e%2e/secret.txt',
        `/run/${idA}/..%2f..%2fsecret.txt`,
        '/files//etc/passwd',
        '/files/%2Fetc%2Fpasswd',
        '/files/escape.txt',
        `/run/${idA}/up/secret.txt`,
        '/run/not-a-run/',
        '/run/bench-load.json/',
        '/run/nothing-here/',
        '/etc/passwd',
      ]) {
        const reply = await raw(port, path);
        expect({ path, status: reply.status, leaked: reply.body.includes('outside the root') }).toEqual({ path, status: 404, leaked: false });
      }
      expect((await raw(port, '/', 'POST')).status).toBe(405);
    } finally {
      // A failed expectation must not leave the server running (jest would never exit).
      controller.abort();
    }
    expect(await exit).toBe(0);
    expect(stderr.text).toMatch(/^stopped$/m);
    await expect(raw(port, '/')).rejects.toThrow(/ECONNREFUSED/);
  }, 30_000);

  it('refuses a port in use with exit 1', async () => {
    const busy = echo.echoPort;
    const run = await cli('report', reports, '--serve', String(busy));
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`meshload: cannot listen on 127.0.0.1:${busy}: address already in use (choose another --serve port, or 0 for a free one)\n`);
  });

  it('as a process: prints the real port and stops on SIGINT with exit 0', async () => {
    const proc = new MeshloadProcess(['report', reports, '--serve', '0']);
    try {
      const [, port] = await proc.waitForStderr(/serving .+ on http:\/\/127\.0\.0\.1:(\d+)\//);
      expect((await raw(Number(port), '/')).status).toBe(200);
      proc.child.kill('SIGINT');
      expect(await proc.exitCode()).toBe(0);
    } finally {
      proc.kill();
    }
  });
});
