import http from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main';
import type { LoadResult } from '../../src/model/load-result';
import { Distribution } from '../../src/metrics/distribution';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { cli, testIo } from '../helpers/cli';
import { startNginx, type RunningNginx } from '../helpers/nginx';
import { startRawServer, type RawServer } from '../helpers/raw-http-server';
import { makeMtlsFiles, startOpensslServer, type MtlsFiles, type OpensslServer } from '../helpers/self-signed-cert';
import { runProcess } from '../helpers/run-process';
import { MeshloadProcess } from '../helpers/spawn-meshload';

let server: RunningEchoServer | undefined;
let proc: MeshloadProcess | undefined;
let dir: string | undefined;
let nginx: RunningNginx | undefined;
let raw: RawServer | undefined;

async function echo(random?: () => number): Promise<string> {
  server = await startEchoServer({
    echo: { host: '127.0.0.1', port: 0 },
    admin: null,
    maxDelayMs: 1500,
    maxPayloadBytes: 256 * 1024,
    ...(random !== undefined ? { random } : {}),
  });
  return server.echoUrl;
}

function tempDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'meshload-load-'));
  return dir;
}

function readResult(path: string): { fortio: Record<string, unknown>; result: LoadResult } {
  const fortio = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  return { fortio, result: fortio.Meshload as LoadResult };
}

afterEach(async () => {
  await raw?.close();
  raw = undefined;
  await nginx?.stop();
  nginx = undefined;
  proc?.kill();
  proc = undefined;
  await server?.close();
  server = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('meshload load (Fortio command lines)', () => {
  it("runs the Istio docs' line unchanged and prints what scripts grep", async () => {
    const url = await echo();
    const run = await cli('load', '-c', '3', '-qps', '0', '-n', '30', '-loglevel', 'Warning', `${url}/get`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/Starting at max qps with 3 thread\(s\) \[gomax \d+\] for exactly 30 calls \(10 per thread \+ 0\)/);
    expect(run.stderr).toMatch(/^Code 200 : 30 \(100\.0 %\)$/m);
    expect(run.stderr).toMatch(/^Sockets used: 3 \(for perfect keepalive, would be 3\)$/m);
    expect(run.stderr).toMatch(/^All done 30 calls \(plus 0 warmup\) [\d.]+ ms avg, [\d.]+ qps$/m);
    expect(run.stderr).toMatch(/^# target 50% [\d.e-]+$/m);
    expect(run.stdout).toBe('');
  });

  it('makes exact counts against nginx, over HTTP/1.1 and with -keepalive=false', async () => {
    // keepalive_requests 50: nginx closes each connection after 50 requests; the client reconnects.
    nginx = await startNginx({ http: 'keepalive_requests 50;', server: 'location / { return 200 "hello"; } location /missing { return 404; }' });
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-c', '4', '-qps', '0', '-n', '1000', '-json', json, `${nginx.url}/`);
    expect(run.code).toBe(0);
    const { fortio, result } = readResult(json);
    expect(fortio.RetCodes).toEqual({ '200': 1000 });
    expect(result.socketsUsed).toBeGreaterThanOrEqual(20);
    expect(result.totalSizes.min).toBeGreaterThan(result.headerSizes.min); // the 5-byte body counted

    const closing = await cli('load', '-c', '2', '-qps', '0', '-n', '40', '-keepalive=false', `${nginx.url}/missing`);
    expect(closing.stderr).toMatch(/^Code 404 : 40 \(100\.0 %\)$/m);
    expect(closing.stderr).toMatch(/^Sockets used: 40 \(for perfect keepalive, would be 2\)$/m);
  });

  it('breaks codes down as the server drew them (status=503:30)', async () => {
    const url = await echo();
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-c', '8', '-qps', '0', '-n', '2000', '-allow-initial-errors', '-json', json, `${url}/echo?status=503:30`);
    expect(run.code).toBe(0);
    const { fortio } = readResult(json);
    const codes = fortio.RetCodes as Record<string, number>;
    expect((codes['200'] ?? 0) + (codes['503'] ?? 0)).toBe(2000);
    // Binomial(2000, 0.3): mean 600, sd 20.5; +/-5 sd.
    expect(codes['503']).toBeGreaterThanOrEqual(497);
    expect(codes['503']).toBeLessThanOrEqual(703);
    expect(run.stderr).toMatch(new RegExp(`^Code 503 : ${codes['503']} \\(\\d+\\.\\d %\\)$`, 'm'));
  });

  it('hits a paced rate within 1%', async () => {
    const url = await echo();
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-c', '4', '-qps', '200', '-t', '2s', '-json', json, url);
    expect(run.code).toBe(0);
    const { fortio, result } = readResult(json);
    expect(result.latency.count).toBe(400);
    expect(Math.abs((fortio.ActualQPS as number) / 200 - 1)).toBeLessThan(0.01);
    expect(result.fellBehind).toBe(false);
  });

  it('shows an injected stall in the corrected p99 that the uncorrected p99 hides', async () => {
    // delay=200ms:1 with deterministic draws: every 125th request stalls (0.8%), so the stalls
    // alone stay under 1% while each one delays the slots queued behind it on its connection.
    let draw = 0;
    const url = await echo(() => (++draw % 125 === 0 ? 0.001 : 0.5));
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-c', '8', '-qps', '500', '-t', '3s', '-json', json, `${url}/echo?delay=200ms:1`);
    expect(run.code).toBe(0);
    const { result } = readResult(json);
    const corrected = Distribution.decode(result.latency);
    const uncorrected = Distribution.decode(result.latencyUncorrected);
    expect(corrected.percentile(99)).toBeGreaterThan(100_000);
    expect(uncorrected.percentile(99)).toBeLessThan(50_000);
    expect(uncorrected.max).toBeGreaterThanOrEqual(195_000);
  });

  it('merges worker threads exactly', async () => {
    const url = await echo();
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-c', '4', '-qps', '0', '-n', '1001', '-workers', '2', '-allow-initial-errors', '-json', json, `${url}/echo?status=503:20`);
    expect(run.code).toBe(0);
    const { result } = readResult(json);
    expect(result.latency.count).toBe(1001);
    const byCodeTotal = Object.values(result.latencyByCode).reduce((n, d) => n + d.count, 0);
    expect(byCodeTotal).toBe(1001);
    expect(Object.values(result.codes).reduce((a, b) => a + b, 0)).toBe(1001);
    expect(result.warmupRequests).toBe(0);
    expect(result.plan.connections).toBe(4);
  });

  it('speaks HTTP/2 with -h2 --h2-multiplex: the connections are streams multiplexed on one socket', async () => {
    const url = await echo();
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-h2', '--h2-multiplex', '-c', '8', '-qps', '0', '-n', '400', '-allow-initial-errors', '-json', json, `${url}/echo?status=503:10`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Sockets used: 1 \(for perfect keepalive, would be 8\)$/m);
    const { result } = readResult(json);
    expect((result.codes['200'] ?? 0) + (result.codes['503'] ?? 0)).toBe(400);
    expect(result.plan.h2).toBe(true);
  });

  it('stops at the first -abort-on 503', async () => {
    const url = await echo();
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-c', '2', '-qps', '0', '-n', '100000', '-abort-on', '503', '-allow-initial-errors', '-json', json, `${url}/echo?status=503:5`);
    expect(run.code).toBe(0);
    const { result } = readResult(json);
    expect(result.stopReason).toBe('abort-on');
    expect(result.latency.count).toBeLessThan(100_000);
    expect(result.codes['503']).toBe(1);
  });

  it('counts connection refused as code -1 with a clear summary, not a crash', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/`;

    const strict = await cli('load', '-c', '1', '-qps', '0', '-t', '1s', url);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/^meshload: the warm-up call got a socket error \(refused.*; use -allow-initial-errors to run anyway\nAborting because of error -1 for http:\/\/127\.0\.0\.1:\d+\/ \(0 bytes\)$/m);

    const run = await cli('load', '-c', '2', '-qps', '0', '-n', '10', '-allow-initial-errors', url);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Code {2}-1 : 10 \(100\.0 %\)$/m);
    expect(run.stderr).toMatch(/refused 10/);
  });

  it.each([
    [['load'], /missing required argument 'url'/],
    [['load', 'not a url'], /'not a url' is not a URL/],
    [['load', 'ftp://x/'], /unsupported URL scheme 'ftp:'/],
    [['load', '-qps', 'fast', 'http://127.0.0.1:1/'], /-qps 'fast' is not a number/],
    [['load', '-c', '0', 'http://127.0.0.1:1/'], /-c '0' is not a whole number of at least 1/],
    [['load', '-t', '10', 'http://127.0.0.1:1/'], /-t '10' is not a duration/],
    [['load', '-n', '-5', 'http://127.0.0.1:1/'], /-n '-5' is not a whole number/],
    [['load', '-p', '50,200', 'http://127.0.0.1:1/'], /-p '50,200' is not a list of percentiles/],
    [['load', '-H', 'NoColon', 'http://127.0.0.1:1/'], /-H number 1 has no ':' between name and value/],
    [['load', '-abort-on', '9999', 'http://127.0.0.1:1/'], /-abort-on '9999' is not a status code/],
    [['load', '-connection-reuse', '5:2', 'http://127.0.0.1:1/'], /-connection-reuse '5:2' is not a range/],
    [['load', '-open', '-qps', '0', 'http://127.0.0.1:1/'], /-open needs a rate/],
    [['load', '-qsp', '5', 'http://127.0.0.1:1/'], /unknown flag '-qsp' for 'meshload load' \(did you mean -qps\?/],
  ])('%p exits 2 with one line', async (argv, pattern) => {
    const run = await cli(...argv);
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(pattern);
  });

  it('saves with -a under Fortio file naming in -data-dir', async () => {
    const url = await echo();
    const dataDir = tempDir();
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '5', '-a', '-data-dir', dataDir, '-labels', 'breaker test #1', url);
    expect(run.code).toBe(0);
    const files = readdirSync(dataDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d{2}-\d{2}-\d{6}_breaker_test_1\.json$/);
    expect(run.stderr).toMatch(/Successfully wrote \d+ bytes of Json data to /);
  });

  it('writes -json - to stdout, keeping the text on stderr', async () => {
    const url = await echo();
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '-json', '-', url);
    expect(run.code).toBe(0);
    const parsed = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(parsed.RetCodes).toEqual({ '200': 3 });
    expect(parsed.RunType).toBe('HTTP');
    expect(run.stderr).toMatch(/All done 3 calls/);
  });

  it('stops on interrupt, prints and writes the partial result, exits 130', async () => {
    const url = await echo();
    const json = join(tempDir(), 'r.json');
    const controller = new AbortController();
    const { io, stderr } = testIo(controller.signal);
    const exit = runCli(['load', '-c', '2', '-qps', '0', '-t', '0', '-json', json, url], io);
    await stderr.waitFor(/Starting at max qps/);
    while ((server?.metrics.totalRequests() ?? 0) < 200) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect(await exit).toBe(130);
    const { result } = readResult(json);
    expect(result.stopReason).toBe('interrupted');
    expect(result.latency.count).toBeGreaterThan(0);
    expect(stderr.text).toMatch(/All done/);
  });
});

describe('meshload load on a terminal', () => {
  it('shows live progress and a percentile table, but not when -quiet', async () => {
    const url = await echo();
    const tty = testIo();
    tty.stderr.isTTY = true;
    expect(await runCli(['load', '-c', '2', '-qps', '100', '-t', '1s', url], tty.io)).toBe(0);
    // The progress line redraws itself with CR and the ANSI erase-line escape.
    // eslint-disable-next-line no-control-regex
    expect(tty.stderr.text).toMatch(/\r\x1b\[K\d+\/100 calls, \d+ rps, 0 not OK, [\d.]+s, ETA [\d.]+s/);
    expect(tty.stderr.text).toMatch(/from intended send/);
    // meshload's table comes before Fortio's summary and dims the uncorrected row; Fortio's text
    // is Fortio's, uncoloured, with "All done" last.
    const table = tty.stderr.text.indexOf('┌');
    const ended = tty.stderr.text.indexOf('Ended after');
    expect(table).toBeGreaterThan(0);
    expect(table).toBeLessThan(ended);
    // eslint-disable-next-line no-control-regex
    expect(tty.stderr.text.slice(table, ended)).toMatch(/│ \x1b\[2mfrom actual send\x1b\[22m +│/);
    // eslint-disable-next-line no-control-regex
    expect(tty.stderr.text.slice(ended)).not.toMatch(/\x1b\[\d+m/);
    expect(tty.stderr.text.trimEnd().split('\n').pop()).toMatch(/^All done 100 calls/);

    const quiet = testIo();
    quiet.stderr.isTTY = true;
    expect(await runCli(['load', '-quiet', '-c', '2', '-qps', '100', '-t', '1s', url], quiet.io)).toBe(0);
    expect(quiet.stderr.text).not.toMatch(/calls, \d+ rps/);
    expect(quiet.stderr.text).not.toMatch(/Starting at/);
  });

  it("FORCE_COLOR on a pipe leaves Fortio's text uncoloured (scripts parse it)", async () => {
    const url = await echo();
    const forced = testIo();
    forced.io.env = { FORCE_COLOR: '1' };
    expect(await runCli(['load', '-c', '2', '-qps', '0', '-n', '50', url], forced.io)).toBe(0);
    expect(forced.stderr.text).toMatch(/All done 50 calls/);
    expect(forced.stderr.text).not.toContain('\x1b');
  });
});

describe('meshload load as a process', () => {
  it('writes the partial JSON on Ctrl-C and exits 130', async () => {
    const url = await echo();
    const json = join(tempDir(), 'r.json');
    proc = new MeshloadProcess(['load', '-c', '2', '-qps', '0', '-t', '0', '-json', json, url]);
    await proc.waitForStderr(/Starting at max qps/);
    while ((server?.metrics.totalRequests() ?? 0) < 200) await new Promise((resolve) => setImmediate(resolve));
    proc.child.kill('SIGINT');
    expect(await proc.exitCode()).toBe(130);
    expect(readResult(json).result.stopReason).toBe('interrupted');
  });
});

describe('meshload curl', () => {
  it('prints headers to stderr and the body to stdout, exit 0 on 200', async () => {
    const url = await echo();
    const run = await cli('curl', '-payload', 'hello', `${url}/echo`);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('hello');
    expect(run.stderr).toMatch(/^HTTP\/1\.1 200 OK\n/);
    expect(run.stderr).toMatch(/content-length: 5/);
    expect(run.stderr).toMatch(/no sign of an Envoy sidecar/);
  });

  it('exits 1 unless 200 and says when a response crossed Envoy', async () => {
    const url = await echo();
    const run = await cli('curl', `${url}/echo?status=503&header=server:envoy&header=x-envoy-upstream-service-time:4`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the response crossed an Envoy sidecar \(server: envoy, x-envoy-upstream-service-time: 4\)/);
  });

  it('reports a refused connection on one line, exit 1', async () => {
    const run = await cli('curl', 'http://127.0.0.1:1/');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^meshload: GET http:\/\/127\.0\.0\.1:1\/ failed: .*ECONNREFUSED/);
  });
});

describe('meshload demo', () => {
  it('runs a bounded load against its embedded chaos server and explains the result', async () => {
    const run = await cli('demo');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/embedded echo server on http:\/\/127\.0\.0\.1:\d+ answering "status=503:20/);
    expect(run.stderr).toMatch(/^Code 503 : \d+ \(\d+\.\d %\)$/m);
    expect(run.stderr).toMatch(/^All done 300 calls \(plus 0 warmup\)/m);
  });
});

describe('meshload load as UID 1337', () => {
  it("refuses, because Istio's sidecar does not intercept the proxy user's traffic, unless allowed", async () => {
    const url = await echo();
    const refused = testIo();
    refused.io.uid = 1337;
    expect(await runCli(['load', '-n', '2', '-c', '1', url], refused.io)).toBe(2);
    expect(refused.stderr.text).toMatch(/^meshload: meshload is running as UID 1337, Istio's proxy user: .*--allow-uid-1337/);
    expect(refused.stderr.text.trimEnd().split('\n')).toHaveLength(1);
    const allowed = testIo();
    allowed.io.uid = 1337;
    expect(await runCli(['load', '-n', '2', '-c', '1', '--allow-uid-1337', url], allowed.io)).toBe(0);
  });
});

const BIN = join(__dirname, '..', '..', 'bin', 'meshload.js');
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/** Runs the built CLI to its end; returns its exit, output and wall-clock seconds. */
async function timedLoad(args: string[]): Promise<{ code: number | null; stderr: string; seconds: number }> {
  const started = performance.now();
  const run = await runProcess(process.execPath, [BIN, 'load', ...args]);
  return { code: run.code, stderr: run.stderr, seconds: (performance.now() - started) / 1000 };
}

describe('meshload load against a target that stops answering (issue 12)', () => {
  it('-t 2s -timeout 0: ends by -t plus 1 s, counting each call still in flight once', async () => {
    // Answers the warm-up on each socket, then nothing.
    raw = await startRawServer((socket, request) => {
      if (request.indexOnSocket === 0) socket.write(OK);
    });
    const json = join(tempDir(), 'r.json');
    const run = await timedLoad(['-t', '2s', '-timeout', '0', '-quiet', '-json', json, raw.url]);
    expect(run.code).toBe(0);
    expect(run.seconds).toBeLessThan(6); // 3 s planned
    const { result } = readResult(json);
    expect(result.warmupRequests).toBe(4);
    expect(result.latency.count).toBe(4);
    expect(result.codes).toEqual({ '-1': 4 });
    expect(result.errorsByKind).toEqual({ timeout: 4 });
    expect(result.errorSamples.timeout).toBe('still in flight when -t 2s ended (plus 1s grace): connection closed');
    // Calls made (seen by the server) == calls counted.
    expect(raw.requests.length).toBe(result.warmupRequests + result.latency.count);
    expect(run.stderr).toMatch(/^Errors timeout: 4 \(e\.g\. still in flight when -t 2s ended/m);
  });

  it('-t 2s with the default -timeout 3s: ends by -t plus 3 s', async () => {
    raw = await startRawServer((socket, request) => {
      if (request.indexOnSocket === 0) socket.write(OK);
    });
    const json = join(tempDir(), 'r.json');
    const run = await timedLoad(['-t', '2s', '-quiet', '-json', json, raw.url]);
    expect(run.code).toBe(0);
    expect(run.seconds).toBeLessThan(9); // 5 s at most
    const { result } = readResult(json);
    expect(result.errorsByKind.timeout).toBeGreaterThanOrEqual(4);
    expect(raw.requests.length).toBe(result.warmupRequests + result.latency.count);
  });

  it('bounds a warm-up that hangs by -t: exit 1, the result written and saying why', async () => {
    raw = await startRawServer(() => undefined);
    const json = join(tempDir(), 'r.json');
    const run = await timedLoad(['-t', '1s', '-timeout', '0', '-quiet', '-json', json, raw.url]);
    expect(run.code).toBe(1);
    expect(run.seconds).toBeLessThan(5); // 2 s planned
    const { result } = readResult(json);
    expect(result.stopReason).toBe('warmup-failed');
    expect(result.stopDetail).toMatch(/^warm-up request still in flight when -t 1s \(plus 1s grace\) ended/);
    expect(run.stderr).toMatch(/^Aborting because of warm-up request still in flight when -t 1s \(plus 1s grace\) ended/m);
  });

  it('stops on the first Ctrl-C during a hanging warm-up: exit 130 and the JSON marked interrupted', async () => {
    raw = await startRawServer(() => undefined);
    const json = join(tempDir(), 'r.json');
    proc = new MeshloadProcess(['load', '-t', '60s', '-timeout', '0', '-json', json, raw.url]);
    await proc.waitForStderr(/Starting at/);
    await raw.whenRequests(4);
    proc.child.kill('SIGINT');
    expect(await proc.exitCode()).toBe(130);
    const { result } = readResult(json);
    expect(result.stopReason).toBe('interrupted');
    expect(result.stopDetail).toBe('interrupted by the user during warm-up');
    expect(proc.stderr).toMatch(/^Stopped early \(interrupted\): interrupted by the user during warm-up$/m);
  });
});

describe('meshload load with waits longer than a Node timer holds (2^31-1 ms)', () => {
  it('-qps 0.0000001 -t 1s neither bursts nor hangs: one call in about 1 s', async () => {
    raw = await startRawServer((socket) => socket.write(OK));
    const json = join(tempDir(), 'r.json');
    const run = await timedLoad(['-qps', '0.0000001', '-t', '1s', '-quiet', '-json', json, raw.url]);
    expect(run.code).toBe(0);
    expect(run.seconds).toBeLessThan(5);
    const { result } = readResult(json);
    expect(result.latency.count).toBe(1); // the second slot is due in 2 * 10^7 s
    expect(result.durationMs).toBeGreaterThanOrEqual(990);
    expect(raw.requests.length).toBe(2); // warm-up and one call
    expect(run.stderr).not.toMatch(/TimeoutOverflowWarning/);
  });

  it('-t 600h -timeout 600h runs as asked until interrupted, and the result shows the planned duration', async () => {
    raw = await startRawServer((socket) => socket.write(OK));
    const json = join(tempDir(), 'r.json');
    proc = new MeshloadProcess(['load', '-t', '600h', '-timeout', '600h', '-qps', '4', '-c', '1', '-json', json, raw.url]);
    await proc.waitForStderr(/for 600h0m0s/);
    // The warm-up and five paced calls: over a second of running, with nothing cut short.
    await raw.whenRequests(6);
    expect(proc.child.exitCode).toBeNull();
    proc.child.kill('SIGINT');
    expect(await proc.exitCode()).toBe(130);
    const { fortio, result } = readResult(json);
    expect(fortio.RequestedDuration).toBe('600h0m0s');
    expect(result.plan.durationMs).toBe(600 * 3_600_000);
    expect(result.stopReason).toBe('interrupted');
    expect(result.codes['200']).toBeGreaterThanOrEqual(5);
    expect(result.codes['-1']).toBeUndefined(); // no call timed out early
    expect(proc.stderr).not.toMatch(/TimeoutOverflowWarning/);
  });

  it('refuses waits past 100000h with exit 2 and one line', async () => {
    for (const args of [['-t', '200000h'], ['-timeout', '200000h'], ['-qps', '1e-10']]) {
      const run = await cli('load', ...args, 'http://127.0.0.1:1/');
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/over 100000h/);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});

describe('load -json files written before resends and errorSamples existed', () => {
  it('still merge and render, as no resends and no samples', async () => {
    const url = await echo();
    const folder = tempDir();
    const fresh = join(folder, 'fresh.json');
    expect((await cli('load', '-qps', '0', '-n', '3', '-quiet', '-json', fresh, url)).code).toBe(0);
    const data = JSON.parse(readFileSync(fresh, 'utf8')) as { Meshload: Record<string, unknown> };
    expect(data.Meshload.resends).toBe(0);
    delete data.Meshload.resends;
    delete data.Meshload.errorSamples;
    const old = join(folder, 'old.json');
    writeFileSync(old, JSON.stringify(data));
    const merged = join(folder, 'merged.json');
    const merge = await cli('merge', old, old, '-o', merged);
    expect(merge.code).toBe(0);
    expect(merge.stderr).toMatch(/All done 6 calls/);
    const { result } = readResult(merged);
    expect(result.resends).toBe(0);
    expect(result.errorSamples).toEqual({});
    expect((await cli('report', old, '-o', join(folder, 'old.html'))).code).toBe(0);
  });
});

describe('meshload load connection model (Fortio: new socket after a non-2xx, -h2 -c N is N connections)', () => {
  /** A server answering 503 to every even-numbered request and 200 to the rest. */
  async function everyOther503(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
    let requests = 0;
    let connections = 0;
    const httpServer = http.createServer((_req, res) => {
      res.writeHead(++requests % 2 === 0 ? 503 : 200, { 'content-length': '2' }).end('hi');
    });
    httpServer.on('connection', () => connections++);
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const close = (): Promise<void> =>
      new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      });
    return { url: `http://127.0.0.1:${(httpServer.address() as net.AddressInfo).port}/`, connections: () => connections, close };
  }

  it('opens a new socket after each 503, counted in Sockets used; --keep-socket-on-error keeps one', async () => {
    const target = await everyOther503();
    try {
      const json = join(tempDir(), 'r.json');
      const run = await cli('load', '-c', '1', '-qps', '0', '-n', '10', '-json', json, target.url);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/^Code 503 : 5 \(50\.0 %\)$/m);
      // 5 503s, the last one ends the run: 1 + 4 sockets, as Fortio's fast client counts them.
      expect(readResult(json).result.socketsUsed).toBe(5);
      expect(run.stderr).toMatch(/^Sockets used: 5 \(for perfect keepalive, would be 1\)$/m);
      expect(target.connections()).toBe(5);

      const kept = await cli('load', '-c', '1', '-qps', '0', '-n', '10', '--keep-socket-on-error', '-json', json, target.url);
      expect(kept.code).toBe(0);
      expect(kept.stderr).toMatch(/^Code 503 : 5 \(50\.0 %\)$/m);
      expect(readResult(json).result.socketsUsed).toBe(1);
      expect(target.connections()).toBe(6);
    } finally {
      await target.close();
    }
  });

  it('opens one HTTP/2 connection per -c with -h2, one shared with --h2-multiplex', async () => {
    const url = await echo();
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-h2', '-c', '4', '-qps', '0', '-n', '40', '-json', json, url);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Sockets used: 4 \(for perfect keepalive, would be 4\)$/m);
    expect(readResult(json).result.plan.h2Multiplex).toBe(false);
    const shared = await cli('load', '-h2', '--h2-multiplex', '-c', '4', '-qps', '0', '-n', '40', '-json', json, url);
    expect(shared.code).toBe(0);
    expect(shared.stderr).toMatch(/^Sockets used: 1 \(for perfect keepalive, would be 4\)$/m);
    expect(readResult(json).result.plan.h2Multiplex).toBe(true);
  });

  it('refuses --h2-multiplex without -h2 in one line, exit 2', async () => {
    const run = await cli('load', '--h2-multiplex', '-n', '1', 'http://127.0.0.1:1/');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/h2-multiplex only applies to HTTP\/2/);
  });
});

describe('meshload load: any Fortio command line (issue 14)', () => {
  it("runs istio/tools' line with -r=0.001 -httpbufferkb=128 and keeps Fortio's closing line last", async () => {
    const url = await echo();
    const run = await cli('load', '-r=0.001', '-httpbufferkb=128', '-c', '2', '-qps', '0', '-n', '10', `${url}/`);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/-r has no effect/); // -r sets the Fortio histogram's resolution
    expect(run.stderr).toMatch(/^meshload: -httpbufferkb has no effect here: /m);
    expect(run.stderr).toMatch(/Code 200 : 10 \(100\.0 %\)/);
    expect(run.stderr.trimEnd().split('\n').pop()).toMatch(/^All done 10 calls/);
  });

  it('says nothing about ignored flags under -quiet', async () => {
    const url = await echo();
    const run = await cli('load', '-quiet', '-stdclient', '-sequential-warmup', '-log-errors=false', '-runid', '7', '-c', '1', '-qps', '0', '-n', '2', url);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/has no effect here/);
  });

  it('load -curl URL is curl URL: one request, headers to stderr, body to stdout', async () => {
    const http = await import('node:http');
    let requests = 0;
    const target = http.createServer((_req, res) => {
      requests += 1;
      res.end('hello');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const port = (target.address() as { port: number }).port;
      const run = await cli('load', '-curl', '-quiet', '-c', '8', '-n', '100', `http://127.0.0.1:${port}/`);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/^HTTP\/1\.1 200 OK\n/);
      expect(run.stderr).not.toMatch(/All done|Starting at/);
      expect(run.stdout).toBe('hello');
      expect(requests).toBe(1);
    } finally {
      await new Promise<void>((resolve) => target.close(() => resolve()));
    }
  });

  it('takes a URL without a scheme as http:// (`load localhost:PORT/get`)', async () => {
    const url = await echo();
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '-loglevel', 'Warning', `${url.replace(/^http:\/\/127\.0\.0\.1/, 'localhost')}/get`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/Code 200 : 3 \(100\.0 %\)/);
  });

  it("Fortio's gRPC flags without -grpc: an HTTP load, each named once at Info as having no effect (Fortio ignores them too)", async () => {
    const url = await echo();
    const run = await cli('load', '-ping', '-s', '4', '-grpc-method', 'a.B/C', '-healthservice', 'x', '-grpc-ping-delay', '1s', '-grpc-compression', '-c', '1', '-qps', '0', '-n', '2', url);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Code 200 : 2 \(100\.0 %\)$/m);
    for (const flag of ['ping', 's', 'grpc-method', 'healthservice', 'grpc-ping-delay', 'grpc-compression']) {
      expect(run.stderr).toContain(`meshload: -${flag} has no effect here: only with -grpc (Fortio's HTTP load ignores it too)\n`);
    }
    const quiet = await cli('load', '-ping', '-quiet', '-c', '1', '-qps', '0', '-n', '1', url);
    expect(quiet.stderr).not.toContain('has no effect');
    const curl = await cli('curl', '-ping', url);
    expect(curl.code).toBe(0);
    expect(curl.stderr).toContain('meshload: -ping has no effect here: only with -grpc');
  });

  it("logs Fortio's run-size warnings in its words and form, just before its Starting at line (periodic.go runQPSSetup)", async () => {
    const url = await echo();
    const run = await cli('load', '-qps', '100', '-n', '5', '-c', '4', url);
    expect(run.code).toBe(0);
    const lines = run.stderr.split('\n');
    const starting = lines.findIndex((line) => line.startsWith('Starting at 100 qps with 2 thread(s)'));
    expect(JSON.parse(lines[starting - 1] as string)).toEqual({ ts: expect.any(Number), level: 'warn', msg: 'Lowering number of threads - total call 5 -> lowering from 4 to 2 threads' });
    const one = await cli('load', '-qps', '100', '-n', '1', url);
    const oneLines = one.stderr.split('\n');
    const oneStart = oneLines.findIndex((line) => line.startsWith('Starting at 100 qps with 1 thread(s)'));
    expect(JSON.parse(oneLines[oneStart - 1] as string)).toMatchObject({ level: 'warn', msg: 'Increasing the number of calls to the minimum of 2 with 1 thread. total duration will increase' });
  });

  it('refuses more connections, in-flight requests, streams or worker threads than one generator holds, with one line naming the bound', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-c', '100001'], /^meshload: -c 100001 is more connections than one generator opens \(at most 100000\)/],
      [['-open', '-qps', '10', '-max-inflight', '100001'], /^meshload: -max-inflight 100001 is more requests in flight than one generator holds/],
      [['-workers', '65'], /^meshload: -workers 65 is more worker threads than meshload starts \(at most 64/],
      [['-grpc', '-c', '1000', '-s', '101'], /^meshload: -c 1000 -s 101 is more gRPC calls in flight than one generator holds/],
    ];
    for (const [flags, message] of cases) {
      const run = await cli('load', ...flags, flags.includes('-grpc') ? '127.0.0.1:1' : 'http://127.0.0.1:1/');
      expect({ flags, code: run.code }).toEqual({ flags, code: 2 });
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('refuses -n beyond what a double counts exactly (2^53), rather than never ending', async () => {
    const run = await cli('load', '-n', '99999999999999999999', 'http://127.0.0.1:1/');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("meshload: -n '99999999999999999999' is too large (give -n at most 9007199254740991)\n");
  });

  it('shows the URL as typed, as Fortio: in the start lines, then "Assuming http://" at Warning; the JSON URL with http:// added', async () => {
    const typed = (await echo()).replace(/^http:\/\//, '');
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '2', '-json', '-', typed);
    expect(run.code).toBe(0);
    const lines = run.stderr.split('\n');
    // fortio_main.go prints httpOpts.URL as typed; httprunner.go logs it before HTTPOptions.Init,
    // whose URLSchemeCheck warns and adds the scheme (fhttp/http_client.go:172-175).
    expect(lines[0]).toMatch(new RegExp(`, for 2 calls: ${typed.replace(/\./g, '\\.')}$`));
    const starting = lines.findIndex((line) => line.includes('"msg":"Starting http test"'));
    expect(JSON.parse(lines[starting] as string)).toMatchObject({ level: 'info', url: typed });
    expect(JSON.parse(lines[starting + 1] as string)).toEqual({ ts: expect.any(Number), level: 'warn', msg: `Assuming http:// on missing scheme for '${typed}'` });
    expect((JSON.parse(run.stdout) as { URL: string }).URL).toBe(`http://${typed}`);
    // With a scheme and no path: no warning, and no "/" Fortio would not print.
    const full = await cli('load', '-c', '1', '-qps', '0', '-n', '1', '-json', '-', `http://${typed}`);
    expect(full.stderr.split('\n')[0]).toMatch(new RegExp(`: http://${typed.replace(/\./g, '\\.')}$`));
    expect(full.stderr).not.toContain('Assuming http://');
    expect((JSON.parse(full.stdout) as { URL: string }).URL).toBe(`http://${typed}`);
  });

  it('redacts credentials in the URL as typed, with or without a scheme', async () => {
    const typed = (await echo()).replace(/^http:\/\//, 'me:s3cret@');
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '1', '-json', '-', `${typed}/?token=abc`);
    expect(run.stderr).not.toContain('s3cret');
    expect(run.stderr).not.toContain('token=abc');
    expect(run.stdout).not.toContain('s3cret');
    expect(run.stderr.split('\n')[0]).toMatch(/: <redacted>@127\.0\.0\.1:\d+\/\?token=<redacted>$/);
  });

  it.each(['1d', '2w', '1d12h'])('accepts -t %s as Fortio does (with -n, which overrides it)', async (t) => {
    const url = await echo();
    const run = await cli('load', '-t', t, '-n', '2', '-c', '1', '-qps', '0', '-quiet', url);
    expect(run.code).toBe(0);
  });
});

describe('meshload load: client certificates (-cert, -key, -cacert)', () => {
  let files: MtlsFiles;
  let openssl: OpensslServer | undefined;
  beforeAll(() => {
    files = makeMtlsFiles();
  });
  afterAll(() => files.remove());
  afterEach(async () => {
    await openssl?.stop();
    openssl = undefined;
  });

  async function opensslUrl(): Promise<string> {
    openssl = await startOpensslServer(files);
    return `https://127.0.0.1:${openssl.port}/`;
  }

  it('gets 200s from openssl s_server -Verify 1, in one process and across workers; the JSON holds no PEM', async () => {
    const url = await opensslUrl();
    const tls = ['-cert', files.clientCert, '-key', files.clientKey, '-cacert', files.ca];
    const json = join(tempDir(), 'r.json');
    const run = await cli('load', '-n', '5', '-c', '1', '-qps', '0', ...tls, '-json', json, url);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Code 200 : 5 \(100\.0 %\)$/m);
    expect(readFileSync(json, 'utf8')).not.toMatch(/-----BEGIN/);
    const workers = await cli('load', '-n', '6', '-c', '2', '-workers', '2', '-qps', '0', ...tls, url);
    expect(workers.stderr).toMatch(/^Code 200 : 6 \(100\.0 %\)$/m);
  });

  it('without the client certificate, or with the wrong -cacert, every call is a socket error', async () => {
    const url = await opensslUrl();
    const without = await cli('load', '-n', '3', '-c', '1', '-qps', '0', '-allow-initial-errors', '-cacert', files.ca, url);
    expect(without.stderr).toMatch(/^Code {2}-1 : 3 \(100\.0 %\)$/m);
    const wrongCa = await cli('load', '-n', '3', '-c', '1', '-qps', '0', '-allow-initial-errors', '-cert', files.clientCert, '-key', files.clientKey, '-cacert', files.otherCa, url);
    expect(wrongCa.stderr).toMatch(/^Code {2}-1 : 3 \(100\.0 %\)$/m);
    expect(wrongCa.stderr).toMatch(/^Socket errors: tls 3$/m);
  });

  it('an unreadable -key is exit 2 with one line', async () => {
    const run = await cli('load', '-n', '1', '-cert', files.clientCert, '-key', join(files.dir, 'nope.pem'), 'https://127.0.0.1:1/');
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n').filter((l) => l.startsWith('meshload:'))).toEqual([expect.stringMatching(/cannot read -key .*nope\.pem/)]);
  });
});
