/** `meshload load`'s Fortio lines in Fortio's less common modes, held to Fortio 1.75's source
 * (fortio/fortio @ 45e1871): which lines each -loglevel prints (periodic/periodic.go Run,
 * fhttp/httprunner.go RunHTTPTest), the run-until-interrupted start, and where -json/-a write
 * (cli/fortio_main.go fortioLoad). In-process against meshload's echo server on 127.0.0.1. */
import { mkdtempSync, rmSync } from 'node:fs';
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

export function tempDir(): string {
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
