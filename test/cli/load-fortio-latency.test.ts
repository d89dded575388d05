/** Fortio's latency meaning in `meshload load`'s Fortio-shaped output (issue 14): a spawned run
 * against meshload's own server prints Fortio's numbers (from the actual send), meshload's
 * corrected latency in a line of its own, and honours -r and -offset. Needs `npm run build`. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from '../../src/model/load-result';
import { FORTIO_BUCKET_EDGES, fortioBucketIndex } from '../../src/metrics/fortio-histogram';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { runProcess } from '../helpers/run-process';

const BIN = join(__dirname, '..', '..', 'bin', 'meshload.js');

let server: RunningEchoServer;
let dir: string;

beforeAll(async () => {
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1500, maxPayloadBytes: 4096 });
  dir = mkdtempSync(join(tmpdir(), 'meshload-fortio-latency-'));
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function load(...args: string[]): Promise<{ code: number | null; stderr: string; json: Record<string, unknown> & { Meshload: LoadResult } }> {
  const file = join(dir, `run-${Math.random().toString(36).slice(2)}.json`);
  const run = await runProcess(process.execPath, [BIN, 'load', '-json', file, ...args]);
  const json = run.code === 0 ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { Meshload: LoadResult }) : ({} as never);
  return { code: run.code, stderr: run.stderr, json };
}

function allDoneMs(stderr: string): number {
  const match = /^All done \d+ calls \(plus \d+ warmup\) ([\d.]+) ms avg, [\d.]+ qps$/m.exec(stderr);
  if (match === null) throw new Error(`no "All done" line in:\n${stderr}`);
  return Number(match[1]);
}

function correctedAvgS(stderr: string): number {
  const match = /^Latency corrected for coordinated omission \(from intended send; the Fortio lines measure from actual send\) : avg ([\d.e+-]+), /m.exec(stderr);
  if (match === null) throw new Error(`no corrected latency line in:\n${stderr}`);
  return Number(match[1]);
}

describe("meshload load keeps Fortio's latency meaning", () => {
  it('-c 1 -qps 20 -n 20 on a 50 ms server: "All done" averages about 50 ms, the corrected line is there, "All done" is last', async () => {
    const run = await load('-c', '1', '-qps', '20', '-n', '20', `${server.echoUrl}/echo?delay=50ms`);
    expect(run.code).toBe(0);
    const avgMs = allDoneMs(run.stderr);
    // From the actual send: the server's 50 ms plus loopback, never the queueing behind late slots.
    expect(avgMs).toBeGreaterThanOrEqual(49);
    expect(avgMs).toBeLessThan(150);
    expect(correctedAvgS(run.stderr) * 1000).toBeGreaterThanOrEqual(avgMs - 0.001);
    // Fortio's closing lines: "All done", then (with -json) where the JSON went.
    expect(run.stderr.trimEnd().split('\n').slice(-2)).toEqual([expect.stringMatching(/^All done 20 calls/), expect.stringMatching(/^Successfully wrote \d+ bytes of Json data to /)]);
    // The JSON says the same as the text: Fortio's DurationHistogram, from the send.
    const duration = run.json['DurationHistogram'] as { Count: number; Avg: number };
    expect(duration.Count).toBe(20);
    expect(duration.Avg * 1000).toBeCloseTo(avgMs, 2);
    expect(run.json.Meshload.fortio?.duration.count).toBe(20);
  });

  it('-c 1 -qps 100 -n 20 on a 50 ms server: Fortio\'s average stays near 50 ms while the corrected one grows with the queue', async () => {
    // Due every 10 ms, answered in 50: call k waits about 40 * k ms for its turn.
    const run = await load('-c', '1', '-qps', '100', '-n', '20', `${server.echoUrl}/echo?delay=50ms`);
    expect(run.code).toBe(0);
    const avgMs = allDoneMs(run.stderr);
    expect(avgMs).toBeLessThan(150);
    expect(correctedAvgS(run.stderr) * 1000).toBeGreaterThan(3 * avgMs);
    const corrected = run.json.Meshload.latency;
    expect(corrected.sum / corrected.count / 1000).toBeGreaterThan(3 * avgMs);
  });

  it('-r and -offset set the buckets of the text and the JSON (Resolution, Offset in ns)', async () => {
    const run = await load('-c', '1', '-qps', '0', '-n', '5', '-r', '0.0001', '-offset=40ms', `${server.echoUrl}/echo?delay=45ms`);
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ Resolution: 0.0001, Offset: 40_000_000 });
    expect(run.json.Meshload.fortio?.duration).toMatchObject({ divider: 0.0001, offset: 0.04 });
    // The fastest call was recorded in its bucket at this scale: ]50, 60] (45-46 ms) where the
    // default scale would say ]45, 50] ms; and the first bucket ends on the 0.1 ms grid.
    const encoded = run.json.Meshload.fortio?.duration;
    const min = encoded?.min ?? NaN;
    const index = fortioBucketIndex((min - 0.04) / 0.0001);
    expect(index).not.toBe(fortioBucketIndex(min / 0.001));
    expect(encoded?.buckets[index]).toBeGreaterThan(0);
    const data = (run.json['DurationHistogram'] as { Data: Array<{ End: number }> }).Data;
    if (data.length > 1) expect(data[0]?.End).toBeCloseTo(0.0001 * (FORTIO_BUCKET_EDGES[index] ?? NaN) + 0.04, 12);
    expect(run.stderr).toContain(`>= ${String(Number(min.toPrecision(6)))} <= `); // %.6g
  });

  it("merges Fortio's histograms exactly across worker threads and in `merge`: buckets add up", async () => {
    const a = await load('-c', '2', '-qps', '0', '-n', '40', '-workers', '2', '-allow-initial-errors', `${server.echoUrl}/echo?status=503:25&delay=1ms:50`);
    const b = await load('-c', '1', '-qps', '0', '-n', '15', '-allow-initial-errors', `${server.echoUrl}/echo?delay=3ms`);
    expect([a.code, b.code]).toEqual([0, 0]);
    const parts = [a.json.Meshload, b.json.Meshload];
    // Worker threads: the merged run holds every call in Fortio's buckets, errors apart.
    expect(a.json.Meshload.fortio?.duration.count).toBe(40);
    expect(a.json.Meshload.fortio?.duration.buckets.reduce((n, c) => n + c, 0)).toBe(40);
    expect(a.json.Meshload.fortio?.errors.count).toBe(a.json.Meshload.codes['503'] ?? 0);
    const files = parts.map((_, i) => join(dir, `merge-part-${i}.json`));
    files.forEach((file, i) => writeFileSync(file, JSON.stringify({ Meshload: parts[i] })));
    const out = join(dir, 'merged.json');
    const run = await runProcess(process.execPath, [BIN, 'merge', ...files, '-o', out]);
    expect(run.code).toBe(0);
    const merged = (JSON.parse(readFileSync(out, 'utf8')) as { Meshload: LoadResult }).Meshload.fortio;
    const sumOf = (key: 'duration' | 'errors' | 'sizes' | 'headerSizes'): number[] =>
      (parts[0]?.fortio?.[key].buckets ?? []).map((n, i) => n + (parts[1]?.fortio?.[key].buckets[i] ?? 0));
    for (const key of ['duration', 'errors', 'sizes', 'headerSizes'] as const) expect({ key, buckets: merged?.[key].buckets }).toEqual({ key, buckets: sumOf(key) });
    // The text merge prints is Fortio's, from those buckets: the avg of both runs' calls.
    const avgMs = ((parts[0]?.fortio?.duration.sum ?? 0) + (parts[1]?.fortio?.duration.sum ?? 0)) / 55 * 1000;
    expect(allDoneMs(run.stderr)).toBeCloseTo(avgMs, 2);
  });

  it.each([
    [['-r', 'fine'], /^meshload: -r 'fine' is not a number/m],
    [['-offset', '5'], /^meshload: -offset '5' is not a duration/m],
  ])('refuses %p with exit 2 and one line', async (flags, message) => {
    const run = await runProcess(process.execPath, [BIN, 'load', ...flags, '-n', '1', `${server.echoUrl}/echo`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
