import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLog, accessLogLine, parseAccessLogFormat } from '../../src/engine/access-log';
import { runLoad } from '../../src/engine/run-load';
import { failure } from '../../src/transport/outcome';
import type { Outcome } from '../../src/model/outcome';
import { FakeTransport } from '../helpers/fake-transport';
import { loadPlan } from '../helpers/load-plan';

let dir: string | undefined;
let open: AccessLog | undefined;

function tempDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'meshload-access-'));
  return dir;
}

afterEach(async () => {
  await open?.close(1000);
  open = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function answered(status: number): Outcome {
  return { ...failure('other', ''), status, errorKind: undefined, errorMessage: undefined, headerBytes: 100, bodyBytes: 10 };
}

describe('access log lines (periodic.go fileAccessLogger.Report)', () => {
  it("writes Fortio's json line: latency in seconds, send time in Unix ns, thread, iter, ok, details", () => {
    expect(accessLogLine('json', 200, 3, 17, 1_700_000_000_123.456, 12.3456789)).toBe(
      '{"latency":0.012346,"timestamp":1700000000123456000,"thread":3,"iter":17,"ok":true,"details":"200"}\n',
    );
    expect(accessLogLine('json', 418, 0, 0, 1_700_000_000_000, 1)).toContain('"ok":true,"details":"418"');
    expect(accessLogLine('json', 503, 0, 0, 1_700_000_000_000, 1)).toContain('"ok":false,"details":"503"');
  });

  it("writes Fortio's influx line protocol form", () => {
    expect(accessLogLine('influx', -1, 1, 2, 1_700_000_000_000.001, 3000)).toBe('latency,thread=1,ok=false value=3.000000,details="-1" 1700000000000001000\n');
  });

  it('takes json and influx in any case, as Fortio', () => {
    expect(parseAccessLogFormat('JSON')).toBe('json');
    expect(parseAccessLogFormat('Influx')).toBe('influx');
    expect(parseAccessLogFormat('xml')).toBeUndefined();
    expect(parseAccessLogFormat('')).toBeUndefined();
  });
});

describe('AccessLog', () => {
  it('appends one line per timed call of a real run, none for warm-ups, and says where it writes', async () => {
    const path = join(tempDir(), 'access.log');
    writeFileSync(path, 'earlier line\n');
    const log = (open = new AccessLog(path, 'json'));
    expect(log.info).toBe(`mode json to ${path}`);
    const transport = new FakeTransport((call) => ({ status: call % 3 === 0 ? 503 : 200 }));
    const result = await runLoad(loadPlan({ qps: 0, connections: 2, durationMs: 200, allowInitialErrors: true }), transport, { observer: log });
    const summary = await log.close();
    open = undefined;
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('earlier line'); // appended, as Fortio's O_APPEND
    const entries = lines.slice(1).map((l) => JSON.parse(l) as { latency: number; timestamp: number; thread: number; iter: number; ok: boolean; details: string });
    expect(entries.length).toBe(result.latency.count);
    expect(summary).toEqual({ written: entries.length, dropped: 0, lost: 0, error: undefined });
    expect(entries.filter((e) => !e.ok).length).toBe(result.codes['503'] ?? 0);
    expect(entries.every((e) => e.details === (e.ok ? '200' : '503'))).toBe(true);
    // Each thread's iterations count up from 0 without gaps (the warm-up is not logged).
    for (const thread of [0, 1]) {
      const iters = entries.filter((e) => e.thread === thread).map((e) => e.iter);
      expect(iters).toEqual(iters.map((_, i) => i));
    }
    const now = Date.now() * 1e6;
    expect(entries.every((e) => e.timestamp > now - 60e9 && e.timestamp <= now)).toBe(true);
  });

  it('drops and counts lines a slow disk cannot take instead of buffering without end', async () => {
    const path = join(tempDir(), 'access.log');
    const log = (open = new AccessLog(path, 'influx', 4096));
    // One synchronous burst: nothing reaches the disk before it ends, so the buffer fills.
    for (let i = 0; i < 1000; i++) log.observe(answered(200), 0, i, performance.now(), performance.now() + 1);
    const summary = await log.close();
    open = undefined;
    const written = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').length;
    expect(summary.dropped).toBeGreaterThan(900);
    expect(summary.written).toBe(written);
    expect(summary.written + summary.dropped).toBe(1000);
    expect(summary.lost).toBe(0);
  });

  it('reports a failing disk with the lines it lost, and never throws', async () => {
    const log = (open = new AccessLog('/dev/full', 'json'));
    for (let i = 0; i < 5; i++) log.observe(answered(200), 0, i, performance.now(), performance.now() + 1);
    const summary = await log.close();
    open = undefined;
    expect(summary.error).toMatch(/ENOSPC/);
    expect(summary.written).toBe(0);
    expect(summary.lost).toBe(5);
    expect(summary.dropped).toBe(0);
    // However the lines fall around the failure, none is reported as a slow disk's drop.
    const again = (open = new AccessLog('/dev/full', 'json', 64));
    for (let i = 0; i < 50; i++) again.observe(answered(200), 0, i, performance.now(), performance.now() + 1);
    const second = await again.close();
    open = undefined;
    expect(second.written).toBe(0);
    expect(second.lost + second.dropped).toBe(50);
    expect(second.lost).toBeGreaterThan(0);
  });

  it('refuses a path it cannot open, a directory, and a FIFO nobody reads, at once', () => {
    const base = tempDir();
    expect(() => new AccessLog(join(base, 'missing', 'access.log'), 'json')).toThrow(/ENOENT/);
    expect(() => new AccessLog(base, 'json')).toThrow(/EISDIR/);
    const fifo = join(base, 'fifo');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      throw new Error('mkfifo (coreutils) is needed for this test: install coreutils');
    }
    // Blocking open would wait for a reader forever; non-blocking fails with ENXIO.
    expect(() => new AccessLog(fifo, 'json')).toThrow(/ENXIO/);
  });
});
