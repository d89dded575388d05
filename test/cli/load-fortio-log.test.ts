/** `load`'s Fortio logging and run flags: -log-errors, -loglevel/-quiet, the warm-up abort and
 * -sequential-warmup, -access-log-file/-format, -runid, -calc-qps; against meshload's own echo
 * server on loopback. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { runCli } from '../../src/cli/main';
import { cli, testIo } from '../helpers/cli';
import { runProcess } from '../helpers/run-process';

const BIN = join(__dirname, '..', '..', 'bin', 'meshload.js');

let server: RunningEchoServer | undefined;
let dir: string | undefined;

async function echo(): Promise<string> {
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1500, maxPayloadBytes: 256 * 1024 });
  return server.echoUrl;
}

function tempDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'meshload-f14log-'));
  return dir;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const nonOk = (stderr: string): string[] => stderr.split('\n').filter((l) => l.includes('"msg":"Non ok http code"'));

describe('load -log-errors', () => {
  it("logs non-OK codes as they come in Fortio's JSON form, the first 100, then one line with the count, before the summary", async () => {
    const url = await echo();
    const run = await cli('load', '-c', '2', '-qps', '0', '-n', '300', '-runid', '9', `${url}/echo?status=503`);
    expect(run.code).toBe(0);
    const lines = nonOk(run.stderr);
    expect(lines).toHaveLength(100);
    for (const line of lines) {
      expect(JSON.parse(line)).toEqual({ ts: expect.any(Number), level: 'warn', msg: 'Non ok http code', code: 503, status: 'HTTP/1.1 503', thread: expect.any(Number), run: 9 });
    }
    expect(run.stderr).toMatch(/^meshload: 200 further log lines suppressed after the first 100 \(Fortio prints every one\)$/m);
    expect(run.stderr.indexOf('further log lines')).toBeLessThan(run.stderr.indexOf('Code 503 : 300'));
    expect(run.stderr.lastIndexOf('Non ok http code')).toBeLessThan(run.stderr.indexOf('further log lines'));
  });

  it('-log-errors=false, -loglevel Error and -quiet print none of them; a clean run prints no closing line', async () => {
    const url = await echo();
    for (const flags of [['-log-errors=false'], ['-loglevel', 'Error'], ['-quiet']]) {
      const run = await cli('load', '-c', '1', '-qps', '0', '-n', '20', ...flags, `${url}/echo?status=503`);
      expect(run.code).toBe(0);
      expect(nonOk(run.stderr)).toEqual([]);
      expect(run.stderr).toMatch(/^Code 503 : 20 \(100\.0 %\)$/m);
    }
    const clean = await cli('load', '-c', '1', '-qps', '0', '-n', '20', `${url}/echo`);
    expect(clean.stderr).not.toMatch(/Non ok|suppressed/);
  });

  it("prints Fortio's console form on a colour terminal, erasing the progress line first", async () => {
    const url = await echo();
    const { io, stderr } = testIo();
    stderr.isTTY = true;
    expect(await runCli(['load', '-c', '1', '-qps', '0', '-n', '3', `${url}/echo?status=503`], io)).toBe(0);
    // eslint-disable-next-line no-control-regex
    const text = stderr.text.replace(/\x1b\[\d+m/g, '');
    // eslint-disable-next-line no-control-regex
    const lines = text.match(/\r\x1b\[K\d\d:\d\d:\d\d\.\d{3} \[WRN\]> Non ok http code, code=503, status="HTTP\/1\.1 503", thread=0, run=0\n/g);
    expect(lines).toHaveLength(3);
    expect(stderr.text).not.toMatch(/"msg":/);
  });

  it('says once that worker threads print no per-call lines, and prints none', async () => {
    const url = await echo();
    const run = await cli('load', '-c', '2', '-qps', '0', '-n', '20', '-workers', '2', `${url}/echo?status=503`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^meshload: with -workers 2, Fortio's per-call and per-thread log lines are not printed; the summary counts every code$/m);
    expect(nonOk(run.stderr)).toEqual([]);
  });

  it('logs a socket error at Error even with -log-errors=false, as Fortio', async () => {
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '2', '-log-errors=false', 'http://127.0.0.1:1/');
    expect(run.code).toBe(0);
    const errors = run.stderr.split('\n').filter((l) => l.includes('"msg":"Unable to connect"'));
    expect(errors).toHaveLength(2);
    expect(JSON.parse(errors[0] as string)).toMatchObject({ level: 'err', dest: '127.0.0.1:1', thread: 0, run: 0 });
    expect(run.stderr).toMatch(/^Code {2}-1 : 2 \(100\.0 %\)$/m);
  });
});

describe("load's Info lines (httprunner.go, periodic.go)", () => {
  const infoLines = (stderr: string): Array<Record<string, unknown>> =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('"level":"info"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('logs "Starting http test", each thread\'s "ended after" and "Run ended" in JSON, before Fortio\'s summary', async () => {
    const url = await echo();
    const run = await cli('load', '-c', '2', '-qps', '0', '-n', '10', '-runid', '7', '-connection-reuse', '3:5', `${url}/echo`);
    expect(run.code).toBe(0);
    const info = infoLines(run.stderr);
    expect(info[0]).toEqual({ ts: expect.any(Number), level: 'info', msg: 'Starting http test', run: 7, url: `${url}/echo`, threads: 2, qps: '0.0', warmup: 'parallel', 'conn-reuse': '[3, 5]' });
    const threads = info.filter((l) => /^T\d{3} ended after /.test(String(l['msg']))).map((l) => String(l['msg']));
    expect(threads.map((m) => m.slice(0, 4)).sort()).toEqual(['T000', 'T001']);
    for (const m of threads) expect(m).toMatch(/^T00[01] ended after [\d.]+(ms|s|µs) : 5 calls\. qps=[\d.e+-]+$/);
    const ended = info.find((l) => l['msg'] === 'Run ended');
    expect(ended).toEqual({ ts: expect.any(Number), level: 'info', msg: 'Run ended', run: 7, elapsed: expect.any(Number), calls: 10, qps: expect.any(Number) });
    expect(Number.isInteger(ended?.['elapsed'])).toBe(true);
    // In Fortio's order, and none inside the summary: "Ended after" to "All done" stays whole.
    const at = (text: string): number => run.stderr.indexOf(text);
    expect(at('running at')).toBeLessThan(at('"msg":"Starting http test"'));
    expect(at('"msg":"Starting http test"')).toBeLessThan(at('Starting at'));
    expect(at('"msg":"Run ended"')).toBeLessThan(at('Ended after'));
    expect(run.stderr.lastIndexOf('ended after')).toBeLessThan(at('"msg":"Run ended"'));
    expect(run.stderr.slice(at('Ended after'))).not.toContain('"level"');
    expect(run.stderr.trimEnd().split('\n').pop()).toMatch(/^All done 10 calls/);
  });

  it('-loglevel Warning and -quiet drop them; -sequential-warmup says so', async () => {
    const url = await echo();
    for (const flags of [['-loglevel', 'Warning'], ['-quiet']]) {
      const run = await cli('load', '-c', '2', '-qps', '0', '-n', '6', ...flags, `${url}/echo`);
      expect(run.code).toBe(0);
      expect(infoLines(run.stderr)).toEqual([]);
      expect(run.stderr).not.toMatch(/Starting http test|ended after|Run ended/);
    }
    const seq = await cli('load', '-c', '1', '-qps', '50', '-t', '200ms', '-sequential-warmup', `${url}/echo`);
    expect(seq.code).toBe(0);
    expect(infoLines(seq.stderr)[0]).toMatchObject({ msg: 'Starting http test', threads: 1, qps: '50.0', warmup: 'sequential', 'conn-reuse': '' });
    expect(infoLines(seq.stderr).filter((l) => String(l['msg']).startsWith('T000 ended after'))).toHaveLength(1);
    expect(infoLines(seq.stderr).map((l) => l['msg'])).not.toContain('H2 requested, switching to std client');
    const h2 = await cli('load', '-h2', '-c', '2', '-qps', '0', '-n', '4', `${url}/echo`);
    expect(h2.code).toBe(0);
    expect(infoLines(h2.stderr).map((l) => l['msg'])).toEqual(['Starting http test', 'H2 requested, switching to std client', expect.stringMatching(/^T00[01] ended after/), expect.stringMatching(/^T00[01] ended after/), 'Run ended']);
  });

  it("prints the console form on a colour terminal", async () => {
    const url = await echo();
    const { io, stderr } = testIo();
    stderr.isTTY = true;
    expect(await runCli(['load', '-c', '1', '-qps', '0', '-n', '3', `${url}/echo`], io)).toBe(0);
    // eslint-disable-next-line no-control-regex
    const text = stderr.text.replace(/\x1b\[\d+m/g, '');
    expect(text).toMatch(/\d\d:\d\d:\d\d\.\d{3} \[INF\]> Starting http test, run=0, url="[^"]+", threads=1, qps="0\.0", warmup="parallel", conn-reuse=""\n/);
    expect(text).toMatch(/\[INF\]> T000 ended after \S+ : 3 calls\. qps=\S+\n/);
    expect(text).toMatch(/\[INF\]> Run ended, run=0, elapsed=\d+, calls=3, qps=\S+\n/);
  });
});

describe('load warm-up (httprunner.go)', () => {
  it("aborts with Fortio's line and exit 1 when a warm-up call fails, and prints no summary", async () => {
    const url = await echo();
    const run = await cli('load', '-c', '2', '-t', '2s', `${url}/echo?status=503`);
    expect(run.code).toBe(1);
    // Fortio's line alone (httprunner.go:186), the way out on meshload's line before it.
    expect(run.stderr).toMatch(new RegExp(`^meshload: use -allow-initial-errors to run anyway\\nAborting because of error 503 for ${url}/echo\\?status=503 \\(\\d+ bytes\\)$`, 'm'));
    expect(run.stderr).not.toMatch(/All done/);
    expect(nonOk(run.stderr)).toHaveLength(2); // each warm-up call logged, as Fortio's client does
  });

  it('-sequential-warmup stops at the first failing connection and names it', async () => {
    const url = await echo();
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-c', '3', '-t', '2s', '-sequential-warmup', '-json', json, `${url}/echo?status=503`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^meshload: use -allow-initial-errors to run anyway\nAborting because of error 503 for \S+ \(\d+ body bytes\), thread# 0$/m);
    expect(nonOk(run.stderr)).toHaveLength(1);
    // A failed run still writes its result.
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ SequentialWarmup: true, Meshload: { stopReason: 'warmup-failed', warmupRequests: 1 } });
  });

  it('-allow-initial-errors runs anyway; the warm-up codes are logged but not counted', async () => {
    const url = await echo();
    const run = await cli('load', '-c', '2', '-qps', '20', '-t', '300ms', '-sequential-warmup', '-allow-initial-errors', `${url}/echo?status=503`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^All done \d+ calls \(plus 2 warmup\)/m);
  });
});

describe('load -access-log-file', () => {
  it("writes one Fortio json line per call and names the logger on the Starting line; influx too", async () => {
    const url = await echo();
    const base = tempDir();
    const path = join(base, 'access.json');
    const run = await cli('load', '-c', '2', '-qps', '0', '-n', '40', '-access-log-file', path, `${url}/echo?status=503:50`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`^Starting at max qps with 2 thread\\(s\\) \\[gomax \\d+\\] for exactly 40 calls \\(20 per thread \\+ 0\\) with access logger mode json to ${path}$`, 'm'));
    const entries = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; details: string; thread: number; iter: number });
    expect(entries).toHaveLength(40);
    const codes = run.stderr.match(/^Code 503 : (\d+)/m);
    expect(entries.filter((e) => e.details === '503' && !e.ok)).toHaveLength(Number(codes?.[1] ?? 0));
    const influx = join(base, 'access.influx');
    const second = await cli('load', '-c', '1', '-qps', '0', '-n', '5', '-access-log-file', influx, '-access-log-format', 'influx', `${url}/echo`);
    expect(second.code).toBe(0);
    const lines = readFileSync(influx, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toMatch(/^latency,thread=0,ok=true value=\d+\.\d{6},details="200" \d{19}$/);
  });

  it("fills -json's AccessLoggerInfo as periodic.go does, and leaves it empty without a logger", async () => {
    const url = await echo();
    const base = tempDir();
    const path = join(base, 'access.influx');
    const json = join(base, 'run.json');
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '-access-log-file', path, '-access-log-format', 'influx', '-json', json, `${url}/echo`);
    expect(run.code).toBe(0);
    expect((JSON.parse(readFileSync(json, 'utf8')) as { AccessLoggerInfo: string }).AccessLoggerInfo).toBe(`mode influx to ${path}`);
    const plain = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '-json', json, `${url}/echo`);
    expect(plain.code).toBe(0);
    expect((JSON.parse(readFileSync(json, 'utf8')) as { AccessLoggerInfo: string }).AccessLoggerInfo).toBe('');
  });

  it('reports the lines a failing disk lost, after the run, without failing it', async () => {
    const url = await echo();
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '5', '-access-log-file', '/dev/full', `${url}/echo`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^meshload: access log \/dev\/full: .*ENOSPC.*: \d+ lines? not written \(0 written\)$/m);
    expect(run.stderr).toMatch(/^All done 5 calls/m);
  });

  it.each([
    [['-access-log-file', '/nonexistent-dir/a.log'], /^meshload: Unable to open access log \/nonexistent-dir\/a\.log: ENOENT/],
    [['-access-log-file', 'x.log', '-access-log-format', 'xml'], /^meshload: invalid format "xml", should be "json" or "influx"/],
    [['-access-log-file', 'x.log', '-workers', '2'], /-access-log-file needs the calls on one thread/],
    [['-runid', 'abc'], /-runid 'abc' is not an integer/],
    [['-runid', '99999999999999999999'], /-runid '99999999999999999999' is not an integer/],
    [['-runid', '09'], /-runid '09' is not an integer/],
    [['-runid', '1.5'], /-runid '1.5' is not an integer/],
    [['-calc-qps'], /can't use `-calc-qps` without also specifying `-n` and `-t`/],
    [['-calc-qps', '-n', '10', '-t', '0'], /can't use `-calc-qps` without also specifying `-n` and `-t`/],
  ])('%p exits 2 with one line before anything starts', async (argv, pattern) => {
    const cwd = tempDir();
    const run = await cli('load', ...argv.map((a) => (a === 'x.log' ? join(cwd, a) : a)), 'http://127.0.0.1:1/');
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(pattern);
    expect(readdirSync(cwd)).toEqual([]); // no access log created by a refused command line
  });
});

describe('load -runid and -calc-qps', () => {
  it('puts -runid in the JSON, its ID and the -a file name, as Fortio', async () => {
    const url = await echo();
    const data = tempDir();
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '-runid', '42', '-labels', 'my run', '-a', '-data-dir', data, `${url}/echo`);
    expect(run.code).toBe(0);
    const files = readdirSync(data);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d\d-\d\d-\d{6}_42_my_run\.json$/);
    const json = JSON.parse(readFileSync(join(data, files[0] as string), 'utf8')) as { RunID: number; ID: string };
    expect(json.RunID).toBe(42);
    expect(`${json.ID}.json`).toBe(files[0]);
  });

  it("reads -runid as Go's flag.Int64 does: signs, 0x, 0o, 0b and a leading 0 for octal", async () => {
    const url = await echo();
    const base = tempDir();
    for (const [text, value] of [['0x2a', 42], ['052', 42], ['0o52', 42], ['0b101010', 42], ['-7', -7], ['+3', 3], ['0', 0]] as const) {
      const json = join(base, `${text}.json`);
      const run = await cli('load', '-c', '1', '-qps', '0', '-n', '1', '-runid', text, '-json', json, `${url}/echo`);
      expect(run.code).toBe(0);
      expect((JSON.parse(readFileSync(json, 'utf8')) as { RunID: number }).RunID).toBe(value);
    }
  });

  it('-calc-qps makes -qps n / t and paces the n calls over t', async () => {
    const url = await echo();
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-c', '2', '-calc-qps', '-n', '10', '-t', '1s', '-json', json, `${url}/echo`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/running at 10 queries per second, .* for 10 calls: /);
    const result = JSON.parse(readFileSync(json, 'utf8')) as { RequestedQPS: string; ActualDuration: number; DurationHistogram: { Count: number } };
    expect(result.RequestedQPS).toBe('10');
    expect(result.DurationHistogram.Count).toBe(10);
    expect(result.ActualDuration).toBeGreaterThan(0.5e9); // paced, not at max speed
    expect(result.ActualDuration).toBeLessThan(5e9);
  });
});

describe('load as a process (bin/meshload.js)', () => {
  it('exits 1 with the abort line after a failed warm-up, Fortio JSON log lines on a piped stderr', async () => {
    if (!existsSync(join(__dirname, '..', '..', 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build first');
    const url = await echo();
    const run = await runProcess(process.execPath, [BIN, 'load', '-c', '1', '-t', '1s', `${url}/echo?status=502`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^\{"ts":\d+\.\d{6},"level":"warn","msg":"Non ok http code","code":502,"status":"HTTP\/1\.1 502","thread":0,"run":0\}$/m);
    expect(run.stderr).toMatch(/^Aborting because of error 502 for /m);
  });
});
