/** `meshload load`'s Fortio lines in Fortio's less common modes, held to Fortio 1.75's source
 * (fortio/fortio @ 45e1871): which lines each -loglevel prints (periodic/periodic.go Run,
 * fhttp/httprunner.go RunHTTPTest), the run-until-interrupted start, and where -json/-a write
 * (cli/fortio_main.go fortioLoad). In-process against meshload's echo server on 127.0.0.1. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { cli, testIo } from '../helpers/cli';
import { fortioLineKind, fortioSummaryKinds, inFortioOrder } from '../helpers/fortio-lines';

let server: RunningEchoServer | undefined;
let dir: string | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function echoUrl(): Promise<string> {
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1500, maxPayloadBytes: 256 * 1024 });
  return `${server.echoUrl}/echo`;
}

function tempDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'meshload-fortio-modes-'));
  return dir;
}

const lastLine = (text: string): string => text.trimEnd().split('\n').pop() ?? '';

describe('which Fortio lines each -loglevel prints', () => {
  it('-quiet and -loglevel Error: the "running at" line, counters and targets without buckets, no "Starting at", "Ended after" or sizes', async () => {
    const url = await echoUrl();
    for (const flags of [['-quiet'], ['-loglevel', 'Error']]) {
      const run = await cli('load', '-c', '2', '-qps', '0', '-n', '10', '-p', '50,90', ...flags, url);
      expect(run.code).toBe(0);
      const text = run.stderr;
      // fortio_main.go:382-385 prints its first line at every level.
      expect(text.split('\n')[0]).toMatch(/^meshload \S+ running at 0 queries per second, \d+->\d+ procs, for 10 calls: http:\/\/127\.0\.0\.1:\d+\/echo$/);
      expect(fortioLineKind(text.split('\n')[0] ?? '')).toBe('banner');
      expect(text).not.toMatch(/^Starting at /m);
      expect(text).not.toMatch(/^Ended after /m);
      // periodic.go:645-651.
      expect(text).toMatch(/^Aggregated Function Time : count 10 avg \S+ \+\/- \S+ min \S+ max \S+ sum \S+\n# target 50% \S+\n# target 90% \S+\nError cases : count 0 avg 0 \+\/- 0 min 0 max 0 sum 0\n/m);
      expect(text).not.toMatch(/^# range, mid point, percentile, count$/m);
      expect(text).not.toMatch(/^Connection time/m);
      // httprunner.go:287-293: no size lines below Warning.
      expect(text).not.toMatch(/^Response /m);
      expect(text).toMatch(/^Sockets used: 2 \(for perfect keepalive, would be 2\)\nUniform: false, Jitter: false, Catchup allowed: true\nIP addresses distribution:\n127\.0\.0\.1:\d+: 2\nCode 200 : 10 \(100\.0 %\)\nAll done 10 calls \(plus 0 warmup\) [\d.]+ ms avg, [\d.]+ qps\n$/m);
      expect(inFortioOrder(fortioSummaryKinds(text))).toBe(true);
    }
  });

  it('-loglevel Warning: "Starting at" and "Ended after", the histograms with buckets, the size counters and connection time as a counter', async () => {
    const url = await echoUrl();
    const run = await cli('load', '-c', '2', '-qps', '0', '-n', '10', '-loglevel', 'Warning', url);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Starting at max qps with 2 thread\(s\) \[gomax \d+\] for exactly 10 calls \(5 per thread \+ 0\)$/m);
    expect(run.stderr).toMatch(/^Ended after \S+ : 10 calls\. qps=\S+\nAggregated Function Time : count 10 .*\n# range, mid point, percentile, count\n/m);
    expect(run.stderr).toMatch(/^Connection time \(s\) : count 2 /m);
    expect(run.stderr).toMatch(/^Response Header Sizes : count 10 .*\nResponse Body\/Total Sizes : count 10 .*\nAll done 10 calls/m);
    expect(inFortioOrder(fortioSummaryKinds(run.stderr))).toBe(true);
  });

  it('-loglevel Verbose: the size histograms, with Fortio\'s "Histogram" titles and buckets', async () => {
    const url = await echoUrl();
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '4', '-loglevel', 'Verbose', url);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Response Header Sizes Histogram : count 4 .*\n# range, mid point, percentile, count\n/m);
    expect(run.stderr).toMatch(/^Response Body\/Total Sizes Histogram : count 4 .*\n# range, mid point, percentile, count\n/m);
    expect(run.stderr).not.toMatch(/^Response Header Sizes : /m);
    expect(fortioLineKind(lastLine(run.stderr))).toBe('allDone');
  });
});

describe('-qps as typed (cli/fortio_main.go:374-397)', () => {
  it('-qps -1 is max speed, printed as typed in the first line and in "Starting http test"', async () => {
    const url = await echoUrl();
    const run = await cli('load', '-c', '1', '-qps', '-1', '-n', '3', url);
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n')[0]).toMatch(/^meshload \S+ running at -1 queries per second, \d+->\d+ procs, for 3 calls: /);
    expect(run.stderr).toContain('"qps":"-1.0"');
    expect(run.stderr).toMatch(/^Starting at max qps with 1 thread\(s\) /m);
  });
});

describe('-p as stats.go ParsePercentiles reads it', () => {
  it('skips empty entries and keeps the order given; refuses 0, 100 and an empty list (exit 2, one line)', async () => {
    const url = await echoUrl();
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '5', '-p', ' 99.99, ,50,', '-loglevel', 'Warning', url);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Aggregated Function Time : count 5 .*\n(?:[#>]? ?[^\n]*\n)*?# target 99\.99% \S+\n# target 50% \S+\nError cases/m);
    for (const list of ['0,50', '50,100', ' , ']) {
      const bad = await cli('load', '-c', '1', '-qps', '0', '-n', '5', '-p', list, url);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/is not a list of percentiles/);
      expect(bad.stderr).not.toMatch(/All done/);
    }
  });
});

describe('paced runs Fortio reshapes (periodic.go runQPSSetup)', () => {
  it('-c 4 -qps 4 -t 250ms: 2 calls on 1 thread, with both Warnings; "All done" says -c as the warm-up, as fortio_main.go:482-485', async () => {
    const url = await echoUrl();
    const run = await cli('load', '-c', '4', '-qps', '4', '-t', '250ms', '-loglevel', 'Warning', url);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('"msg":"Increasing the number of calls to the minimum of 2 with 1 thread. total duration will increase"');
    expect(run.stderr).toMatch(/^Starting at 4 qps with 1 thread\(s\) \[gomax \d+\] for 250ms : 2 calls each \(total 2\)$/m);
    expect(run.stderr).toMatch(/^Sockets used: 1 \(for perfect keepalive, would be 1\)$/m);
    expect(lastLine(run.stderr)).toMatch(/^All done 2 calls \(plus 4 warmup\) [\d.]+ ms avg, [\d.]+ qps$/);
  });
});

describe('-n smaller than 2 x -c', () => {
  it('paced: threads lowered with Fortio\'s Warning, "exactly 3, 3 calls each (total 3 + 0)"; max speed: idle threads, "(0 per thread + 3)"', async () => {
    const url = await echoUrl();
    const paced = await cli('load', '-c', '4', '-qps', '20', '-n', '3', '-loglevel', 'Warning', url);
    expect(paced.code).toBe(0);
    expect(paced.stderr).toContain('"msg":"Lowering number of threads - total call 3 -> lowering from 4 to 1 threads"');
    expect(paced.stderr).toMatch(/^Starting at 20 qps with 1 thread\(s\) \[gomax \d+\] : exactly 3, 3 calls each \(total 3 \+ 0\)$/m);
    expect(lastLine(paced.stderr)).toMatch(/^All done 3 calls \(plus 0 warmup\) /);
    const max = await cli('load', '-c', '4', '-qps', '0', '-n', '3', '-loglevel', 'Warning', url);
    expect(max.code).toBe(0);
    expect(max.stderr).toMatch(/^Starting at max qps with 4 thread\(s\) \[gomax \d+\] for exactly 3 calls \(0 per thread \+ 3\)$/m);
    expect(max.stderr).toMatch(/^\[3\] {3}0 socket used, resolved to \[\], connection timing : count 0 avg 0 \+\/- 0 min 0 max 0 sum 0$/m);
    expect(max.stderr).toMatch(/^Sockets used: 1 \(for perfect keepalive, would be 4\)$/m);
  });
});

describe('a paced thread short of its calls at -t (periodic.go:808-815)', () => {
  it('warns "T000 warning only did N out of 10 calls before reaching 1s" before its "ended after" line; not at -loglevel Error', async () => {
    const url = await echoUrl();
    const run = await cli('load', '-c', '1', '-qps', '10', '-t', '1s', `${url}?delay=300ms`);
    expect(run.code).toBe(0);
    const warn = /\{"ts":[\d.]+,"level":"warn","msg":"T000 warning only did (\d+) out of 10 calls before reaching 1s"\}\n/.exec(run.stderr);
    expect(warn).not.toBeNull();
    expect(Number(warn?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(warn?.[1])).toBeLessThan(10);
    expect(run.stderr.indexOf('warning only did')).toBeLessThan(run.stderr.indexOf('"msg":"T000 ended after'));
    const quiet = await cli('load', '-c', '1', '-qps', '10', '-t', '1s', '-loglevel', 'Error', `${url}?delay=300ms`);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('warning only did');
  }, 20_000);

  it('says nothing when every thread made its calls', async () => {
    const url = await echoUrl();
    const run = await cli('load', '-c', '2', '-qps', '20', '-t', '300ms', url);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Ended after \S+ : 6 calls/m);
    expect(run.stderr).not.toContain('warning only did');
  });
});

describe('-t 0: until interrupted', () => {
  it('prints "Starting at ... until interrupted" even with -quiet, and on Ctrl-C the summary, exit 130', async () => {
    const url = await echoUrl();
    const abort = new AbortController();
    const { io, stderr } = testIo(abort.signal);
    const running = runCli(['load', '-quiet', '-c', '2', '-qps', '50', '-t', '0', url], io);
    // periodic.go:427-431 prints it at every level: the user must know to press ^C.
    await stderr.waitFor(/^Starting at 50 qps with 2 thread\(s\) \[gomax \d+\] until interrupted$/m);
    abort.abort();
    expect(await running).toBe(130);
    expect(stderr.text.split('\n')[0]).toMatch(/^meshload \S+ running at 50 queries per second, \d+->\d+ procs, until interrupted: http:\/\/127\.0\.0\.1:\d+\/echo$/);
    expect(stderr.text).toMatch(/^Uniform: false, Jitter: false, Catchup allowed: true$/m);
    expect(lastLine(stderr.text)).toMatch(/^All done \d+ calls \(plus 2 warmup\) [\d.]+ ms avg, [\d.]+ qps$/);
  }, 15_000);
});

describe('-json and -a (fortio_main.go:491-522)', () => {
  it('-json - writes the JSON to stdout and says "to stdout" on stderr, with its byte count', async () => {
    const url = await echoUrl();
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '-json', '-', url);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { RetCodes: Record<string, number> }).RetCodes).toEqual({ '200': 3 });
    expect(lastLine(run.stderr)).toBe(`Successfully wrote ${Buffer.byteLength(run.stdout)} bytes of Json data to stdout`);
  });

  it('-json FILE with -a writes only FILE; -a alone saves ID.json in -data-dir', async () => {
    const url = await echoUrl();
    const root = tempDir();
    const file = join(root, 'out.json');
    const data = join(root, 'data');
    const both = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '-json', file, '-a', '-data-dir', data, url);
    expect(both.code).toBe(0);
    expect(readdirSync(root)).toEqual(['out.json']);
    expect(both.stderr.match(/^Successfully wrote/gm)).toHaveLength(1);
    expect(lastLine(both.stderr)).toBe(`Successfully wrote ${readFileSync(file).length} bytes of Json data to ${file}`);

    const saved = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '-runid', '5', '-labels', 'my run/1', '-a', '-data-dir', data, url);
    expect(saved.code).toBe(0);
    const names = readdirSync(data);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\d{4}-\d\d-\d\d-\d{6}_5_my_run_1\.json$/);
    const json = JSON.parse(readFileSync(join(data, names[0] ?? ''), 'utf8')) as { ID: string; Labels: string; RunID: number };
    expect(`${json.ID}.json`).toBe(names[0]);
    expect(json).toMatchObject({ Labels: 'my run/1', RunID: 5 });
    expect(lastLine(saved.stderr)).toBe(`Successfully wrote ${readFileSync(join(data, names[0] ?? '')).length} bytes of Json data to ${join(data, names[0] ?? '')}`);
  });
});
