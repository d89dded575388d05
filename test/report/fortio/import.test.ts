/** Fortio's own JSON as a LoadResult: a file Fortio 1.57.3 wrote, and a round trip of real meshload
 * runs through Fortio's shape (toFortioJson without the Meshload object). Counts, codes, min, max
 * and sum survive exactly; percentiles within one Fortio bucket. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from '../../../src/model/load-result';
import { Distribution } from '../../../src/metrics/distribution';
import { FORTIO_BUCKET_EDGES } from '../../../src/report/fortio/histogram';
import { fromFortioJson, importedBucketOf, importNote, isFortioImport, isFortioJson } from '../../../src/report/fortio/import';
import { toFortioJson } from '../../../src/report/fortio/json';
import { renderLoadText } from '../../../src/report/fortio/text';
import { startEchoServer, type RunningEchoServer } from '../../../src/server/echo-server';
import { cli } from '../../helpers/cli';

const FIXTURE = join(__dirname, '..', 'fixtures', 'fortio-1.57.3-httpbin.json');

interface FortioFixture {
  DurationHistogram: { Count: number; Min: number; Max: number; Sum: number; StdDev: number; Data: Array<{ Start: number; End: number; Count: number }>; Percentiles: Array<{ Percentile: number; Value: number }> };
  RetCodes: Record<string, number>;
}

function fixture(): FortioFixture & Record<string, unknown> {
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as FortioFixture & Record<string, unknown>;
}

/** The Fortio bucket (1 ms resolution) that holds `seconds`: the index of its upper edge. */
function bucketIndex(seconds: number): number {
  const ms = seconds * 1000;
  const index = FORTIO_BUCKET_EDGES.findIndex((edge) => ms <= edge + 1e-9);
  return index < 0 ? FORTIO_BUCKET_EDGES.length : index;
}

describe('Fortio 1.57.3 JSON (captured from a real run)', () => {
  it('is recognised as Fortio JSON and converted with exact counters', () => {
    const data = fixture();
    expect(isFortioJson(data)).toBe(true);
    const load = fromFortioJson(data, FIXTURE);
    expect(load.version).toBe('fortio 1.57.3');
    expect(isFortioImport(load)).toBe(true);
    expect(importNote(load)).toMatch(/^imported from fortio 1\.57\.3: percentiles approximated/);
    expect(load.codes).toEqual({ '200': 100 });
    expect(load.latency.count).toBe(100);
    // Exact: microseconds that convert back (us / 1e6, as the Fortio renderers do) to Fortio's numbers.
    expect(load.latency.min / 1e6).toBe(data.DurationHistogram.Min);
    expect(load.latency.max / 1e6).toBe(data.DurationHistogram.Max);
    expect(load.latency.sum / 1e6).toBe(data.DurationHistogram.Sum);
    expect(load.durationMs).toBeCloseTo(12538.231589, 6);
    expect(load.actualQps).toBe(7.975606391552989);
    expect(load.startTime).toBe('2023-07-21T14:00:40.134Z');
    expect(load.plan).toMatchObject({ url: 'http://httpbin.default/get', connections: 4, qps: 8, requests: 100, timeoutMs: 3000, percentiles: [50, 75, 90, 95, 99, 99.9] });
    expect(load.totalSizes).toMatchObject({ count: 100, min: 413, max: 413, sum: 41300 });
    expect(load.headerSizes).toMatchObject({ count: 100, min: 230, max: 230, sum: 23000 });
    expect(load.errorLatency.count).toBe(0);
    const d = Distribution.decode(load.latency);
    expect(d.stddev() / 1e6).toBeCloseTo(data.DurationHistogram.StdDev, 9);
  });

  it("carries Sockets, IPCountMap and ConnectionStats, printed as Fortio's aggregate lines only", () => {
    const load = fromFortioJson(fixture(), FIXTURE);
    expect(load.connections?.threads.map((t) => t.sockets)).toEqual([1, 1, 1, 1]);
    expect(load.connections?.addresses).toEqual({ '10.96.108.76:80': 4 });
    const text = renderLoadText(load);
    // The run's dial times and peers are Fortio's; which connection had which is not in the file.
    expect(text).toMatch(/^Connection time histogram \(s\) : count 4 avg 0\.0016011458 \+\/- 0\.000131 min 0\.001385875 max 0\.001724375 sum 0\.006404583$/m);
    expect(text).toMatch(/^IP addresses distribution:\n10\.96\.108\.76:80: 4$/m);
    expect(text).not.toMatch(/^# Socket and IP used|^\[\d+\] /m);
    const json = toFortioJson(load);
    expect(json.Sockets).toEqual([1, 1, 1, 1]);
    expect(json.IPCountMap).toEqual({ '10.96.108.76:80': 4 });
    expect(json.ConnectionStats).toMatchObject({ Count: 4, Min: 0.001385875, Max: 0.001724375, Sum: 0.006404583 });
  });

  it('refuses socket fields that are not what Fortio writes, and imports a file without them', () => {
    for (const [patch, message] of [
      [{ Sockets: [1, -1] }, /Sockets is not a list of counts/],
      [{ IPCountMap: { '10.0.0.1:80': 'x' } }, /IPCountMap is not a map of address to count/],
      [{ IPCountMap: { 'a\u001b[31m': 1 } }, /IPCountMap is not a map of address to count/],
      [{ ConnectionStats: { Count: 2, Data: [] } }, /ConnectionStats\.Data holds 0 values but ConnectionStats\.Count is 2/],
    ] as const) {
      expect(() => fromFortioJson({ ...fixture(), ...patch }, FIXTURE)).toThrow(message);
    }
    const older = fixture();
    delete older['Sockets'];
    delete older['ConnectionStats'];
    expect(fromFortioJson(older, FIXTURE).connections).toBeUndefined();
  });

  it("puts every percentile in (or next to) the Fortio bucket of Fortio's own value", () => {
    const data = fixture();
    const d = Distribution.decode(fromFortioJson(data, FIXTURE).latency);
    for (const { Percentile, Value } of data.DurationHistogram.Percentiles) {
      const ours = d.percentile(Percentile) / 1e6;
      expect({ Percentile, near: Math.abs(bucketIndex(ours) - bucketIndex(Value)) <= 1 }).toEqual({ Percentile, near: true });
      expect(ours).toBeGreaterThanOrEqual(data.DurationHistogram.Min - 1e-6);
      expect(ours).toBeLessThanOrEqual(data.DurationHistogram.Max + 1e-6);
    }
  });

  it('keeps each bucket count: Fortio JSON written back has the same buckets and codes', () => {
    const data = fixture();
    const back = toFortioJson(fromFortioJson(data, FIXTURE));
    expect(back.DurationHistogram.Data?.map((b) => b.Count)).toEqual(data.DurationHistogram.Data.map((b) => b.Count));
    expect(back.RetCodes).toEqual(data.RetCodes);
  });

  it("writes Fortio's own DurationHistogram back: same buckets, and CalcPercentile gives Fortio's percentiles", () => {
    const data = fixture();
    const back = toFortioJson(fromFortioJson(data, FIXTURE)).DurationHistogram;
    expect(back.Data).toEqual(data.DurationHistogram.Data);
    // Fortio 1.57.3 wrote these values from its own buckets; ours come from the same buckets.
    expect(back.Percentiles?.map((p) => p.Percentile)).toEqual(data.DurationHistogram.Percentiles.map((p) => p.Percentile));
    back.Percentiles?.forEach((p, i) => expect(p.Value).toBeCloseTo(data.DurationHistogram.Percentiles[i]?.Value ?? NaN, 12));
  });

  it('renders as Fortio text with the numbers Fortio printed', () => {
    const text = renderLoadText(fromFortioJson(fixture(), FIXTURE));
    expect(text).toMatch(/^Code 200 : 100 \(100\.0 %\)$/m);
    expect(text).toMatch(/^Aggregated Function Time : count 100 avg 0\.015977101 \+\/- 0\.008341 min 0\.004223875 max 0\.040490042 sum 1\.59771009$/m);
  });

  it('widens an imported value to its Fortio bucket', () => {
    const bucketOf = importedBucketOf(fromFortioJson(fixture(), FIXTURE));
    expect(bucketOf?.(14_571)).toEqual([14_000, 16_000]);
    expect(bucketOf?.(40_490)).toEqual([40_000, 45_000]);
    expect(bucketOf?.(120_000_000)?.[1]).toBe(Infinity);
  });

  it('reads the scale from the top level: Resolution in seconds, Offset as Go nanoseconds', () => {
    const data = fixture();
    data['Resolution'] = 0.0001;
    data['Offset'] = 2_000_000; // -offset 2ms
    expect(fromFortioJson(data, FIXTURE).version).toBe('fortio 1.57.3 -r 0.0001 -offset 0.002');
    expect(fromFortioJson(fixture(), FIXTURE).version).toBe('fortio 1.57.3'); // Offset 0, Resolution 0.001
  });

  it('still imports older files with Offset/Divider (seconds) in each histogram, which win over the top level', () => {
    const data = fixture();
    for (const name of ['DurationHistogram', 'ErrorsDurationHistogram', 'Sizes', 'HeaderSizes']) {
      const h = data[name] as Record<string, unknown>;
      data[name] = { Offset: 0, Divider: name === 'Sizes' ? 100 : name === 'HeaderSizes' ? 5 : 0.0005, ...h };
    }
    const load = fromFortioJson(data, FIXTURE);
    expect(load.version).toBe('fortio 1.57.3 -r 0.0005');
    expect(load.codes).toEqual({ '200': 100 });
    expect(load.latency.count).toBe(100);
    expect(load.totalSizes).toMatchObject({ count: 100, min: 413, max: 413, sum: 41300 });
  });

  it.each<[string, (d: Record<string, unknown>) => void, RegExp]>([
    ['a gRPC run', (d) => (d['RunType'] = 'GRPC'), /RunType is "GRPC", meshload reads HTTP runs/],
    ['buckets that do not add up', (d) => ((d['DurationHistogram'] as { Count: number }).Count = 99), /DurationHistogram\.Data holds 100 values but DurationHistogram\.Count is 99/],
    ['codes that do not add up', (d) => (d['RetCodes'] = { '200': 90 }), /RetCodes add up to 90 calls but DurationHistogram\.Count is 100/],
    ['a bad start time', (d) => (d['StartTime'] = 'yesterday'), /StartTime "yesterday" is not a time/],
    ['a bucket without a count', (d) => delete (d['DurationHistogram'] as { Data: Array<Record<string, unknown>> }).Data[0]?.['Count'], /DurationHistogram\.Data\[0\] is not a bucket/],
  ])('refuses %s with a one-line usage error', (_name, mutate, message) => {
    const data = fixture();
    mutate(data);
    let error: unknown;
    try {
      fromFortioJson(data, 'f.json');
    } catch (e) {
      error = e;
    }
    expect((error as { code?: string }).code).toBe('E_USAGE');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/\n/);
  });
});

describe('round trip: meshload result -> Fortio JSON without Meshload -> import', () => {
  let server: RunningEchoServer;
  let dir: string;
  beforeAll(async () => {
    server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1000, maxPayloadBytes: 4096 });
    dir = mkdtempSync(join(tmpdir(), 'meshload-import-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['mixed delays, 503s and sizes', 'mixed', '/echo?delay=1ms:30,8ms:20,30ms:5&status=503:15,429:5&size=100:50,3000:50', ['-c', '4', '-qps', '0', '-n', '400']],
    ['paced, plain', 'paced', '/echo', ['-c', '2', '-qps', '200', '-n', '200']],
  ])('%s', async (_name, slug, path, flags) => {
    const file = join(dir, `${slug}.json`);
    const run = await cli('load', ...flags, '-allow-initial-errors', '-json', file, `${server.echoUrl}${path}`);
    expect(run.code).toBe(0);
    const written = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { Meshload: LoadResult };
    const original = written.Meshload;
    expect(Object.keys(written)).toEqual([...Object.keys(fixture()), 'Meshload']); // a real Fortio file's fields
    delete (written as Record<string, unknown>)['Meshload'];
    for (const name of ['DurationHistogram', 'ErrorsDurationHistogram', 'Sizes', 'HeaderSizes']) {
      expect(written[name]).not.toHaveProperty('Offset');
      expect(written[name]).not.toHaveProperty('Divider');
    }
    const imported = fromFortioJson(JSON.parse(JSON.stringify(written)), file);
    expect(imported.version).toMatch(/^fortio \S+$/); // top-level Resolution 0.001, Offset 0: the defaults

    expect(imported.codes).toEqual(original.codes);
    // Fortio's lines of the import are the run's own, to the digit: the same Fortio histograms,
    // connection times and IP distribution. Less the per-connection lines: Fortio's JSON keeps
    // no per-thread peers or dial times to print.
    const fortioBlock = (l: LoadResult): string => {
      const text = renderLoadText(l);
      return text.slice(text.indexOf('Aggregated Function Time')).replace(/^# Socket and IP used for each connection:\n(?:\[\d+\] .*\n)*/m, '');
    };
    expect(renderLoadText(imported)).not.toMatch(/^# Socket and IP used|^\[\d+\] /m);
    expect(fortioBlock(imported)).toMatch(/^Connection time histogram \(s\) : count \d+/m);
    expect(fortioBlock(imported)).toBe(fortioBlock({ ...original, warmupRequests: imported.warmupRequests }));
    // And so are the JSON fields Fortio wrote about sockets (StdDev comes back through the sum
    // of squares rebuilt from it: equal to the last bit or two).
    const again = toFortioJson(imported) as unknown as Record<string, unknown>;
    for (const name of ['Sockets', 'IPCountMap']) expect({ name, value: again[name] }).toEqual({ name, value: written[name] });
    const stats = (json: Record<string, unknown>): { StdDev: number } & Record<string, unknown> => json['ConnectionStats'] as { StdDev: number } & Record<string, unknown>;
    expect({ ...stats(again), StdDev: 0 }).toEqual({ ...stats(written), StdDev: 0 });
    expect(stats(again).StdDev).toBeCloseTo(stats(written).StdDev, 12);
    // The imported distributions hold Fortio's counters: from the actual send, in float seconds.
    const fortio = original.fortio;
    expect(fortio).toBeDefined();
    for (const [key, h, scale] of [
      ['latency', fortio?.duration, 1e6],
      ['errorLatency', fortio?.errors, 1e6],
      ['headerSizes', fortio?.headerSizes, 1],
      ['totalSizes', fortio?.sizes, 1],
    ] as const) {
      expect({ key, count: imported[key].count }).toEqual({ key, count: h?.count });
      if (imported[key].count === 0) continue;
      expect(imported[key].min / scale).toBeCloseTo(h?.min ?? NaN, 9);
      expect(imported[key].max / scale).toBeCloseTo(h?.max ?? NaN, 9);
      expect(imported[key].sum / scale).toBeCloseTo(h?.sum ?? NaN, 6);
    }
    expect(imported.plan).toMatchObject({ url: original.plan.url, connections: original.plan.connections, qps: original.plan.qps, requests: original.plan.requests });
    expect(imported.startTime).toBe(original.startTime);
    expect(imported.durationMs).toBeCloseTo(original.durationMs, 3);
    const before = Distribution.decode(original.latencyUncorrected);
    const after = Distribution.decode(imported.latency);
    for (const p of [10, 50, 75, 90, 99, 99.9]) {
      // toFortioJson places an HDR range by its start, so an edge value may sit one bucket lower.
      const was = bucketIndex(before.percentile(p) / 1e6);
      const now = bucketIndex(after.percentile(p) / 1e6);
      expect({ p, near: Math.abs(now - was) <= 1 }).toEqual({ p, near: true });
    }
  });
});
