import { fortioFileName, fortioIpCountMap, fortioRunId, fortioSockets, rfc3339Nano, toFortioJson } from '../../../src/report/fortio/json';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FixtureCall, fixtureResult } from '../../helpers/load-result-fixture';

function calls(): FixtureCall[] {
  const out: FixtureCall[] = [];
  for (let i = 0; i < 18; i++) out.push({ latencyUs: 1500, code: 200, headerBytes: 124, totalBytes: 1200 });
  for (let i = 0; i < 12; i++) out.push({ latencyUs: 12000, code: 503, headerBytes: 124, totalBytes: 300 });
  return out;
}

/** A real Fortio 1.57.3 `-json` file: the golden key sets (and types) meshload's JSON must have. */
const FORTIO_FILE = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'fortio-1.57.3-httpbin.json'), 'utf8')) as Record<string, unknown>;
const FORTIO_FIELDS = Object.keys(FORTIO_FILE);
const HISTOGRAMS = ['DurationHistogram', 'ErrorsDurationHistogram', 'Sizes', 'HeaderSizes', 'ConnectionStats'] as const;

/** JSON's type of a value, with integers told apart from other numbers (Go's int vs float64). */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

describe('toFortioJson', () => {
  const result = fixtureResult(calls(), {
    durationMs: 37.512345,
    actualQps: 799.7,
    socketsUsed: 15,
    plan: { connections: 3, qps: 0, requests: 30, labels: 'circuit breaker, c3', abortOn: -1, jitter: true },
  });
  const json = toFortioJson(result);

  it("has exactly the real Fortio file's top-level fields, in Go's order, then meshload's result", () => {
    expect(Object.keys(json)).toEqual([...FORTIO_FIELDS, 'Meshload']);
    expect(json.Meshload).toEqual(result);
  });

  it("gives each Fortio field the real file's JSON type (null Payload aside, a []byte)", () => {
    const mine = JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
    for (const key of FORTIO_FIELDS) {
      const theirs = FORTIO_FILE[key];
      expect([key, jsonType(mine[key])]).toEqual([key, jsonType(theirs)]);
    }
    for (const key of ['ActualDuration', 'HTTPReqTimeOut', 'Offset', 'NumThreads', 'SocketCount', 'RunID', 'AbortOn']) {
      expect([key, Number.isInteger(mine[key])]).toEqual([key, true]); // Go ints and time.Duration nanoseconds
    }
  });

  it("has the real file's histogram keys and bucket keys: no Offset or Divider inside Fortio's objects", () => {
    for (const name of HISTOGRAMS) {
      const theirs = FORTIO_FILE[name] as Record<string, unknown>;
      const h = json[name] as unknown as Record<string, unknown>;
      // Percentiles is omitempty: present in Fortio's file when it has data and was asked for.
      const expected = Object.keys(theirs).filter((k) => k !== 'Percentiles');
      expect([name, Object.keys(h).filter((k) => k !== 'Percentiles')]).toEqual([name, expected]);
      expect(h).not.toHaveProperty('Offset');
      expect(h).not.toHaveProperty('Divider');
    }
    const bucketKeys = Object.keys((FORTIO_FILE['DurationHistogram'] as { Data: object[] }).Data[0] as object);
    for (const bucket of json.DurationHistogram.Data ?? []) expect(Object.keys(bucket)).toEqual(bucketKeys);
    const percentileKeys = Object.keys((FORTIO_FILE['DurationHistogram'] as { Percentiles: object[] }).Percentiles[0] as object);
    for (const p of json.DurationHistogram.Percentiles ?? []) expect(Object.keys(p)).toEqual(percentileKeys);
  });

  it('writes the HTTP options as the run had them, durations in integer nanoseconds', () => {
    expect(json).toMatchObject({
      HTTPReqTimeOut: 3_000_000_000,
      Resolution: 0.001,
      Offset: 0,
      H2: false,
      DisableKeepAlive: false,
      Insecure: false,
      ConnReuseRange: [0, 0],
      MethodOverride: '',
      Payload: null,
      UserCredentials: '',
      AccessLoggerInfo: '',
    });
    const h2 = toFortioJson(fixtureResult([], { plan: { h2: true, keepAlive: false, insecure: true, timeoutMs: 1500, connectionReuse: { min: 5, max: 9 }, method: 'PUT' } }));
    expect(h2).toMatchObject({ H2: true, DisableKeepAlive: true, Insecure: true, HTTPReqTimeOut: 1_500_000_000, ConnReuseRange: [5, 9], MethodOverride: 'PUT' });
  });

  it('splits the socket total over the connections (exact when none was replaced) and leaves connection times empty', () => {
    expect(json.Sockets).toEqual([5, 5, 5]);
    expect(json.Sockets.reduce((a, b) => a + b, 0)).toBe(json.SocketCount);
    expect(fortioSockets(3, 3)).toEqual([1, 1, 1]);
    expect(fortioSockets(7, 3)).toEqual([3, 2, 2]);
    expect(fortioSockets(0, 0)).toEqual([]);
    expect(json.ConnectionStats).toEqual({ Count: 0, Min: 0, Max: 0, Sum: 0, Avg: 0, StdDev: 0, Data: null });
  });

  it("writes Fortio 1.75's error fields (jrpc.ServerReply, after ID) only for a run whose warm-up failed", () => {
    expect(json).not.toHaveProperty('error');
    expect(json).not.toHaveProperty('message');
    const failed = toFortioJson(fixtureResult([], { stopReason: 'warmup-failed', stopDetail: 'warm-up request got 503; use -allow-initial-errors to run anyway' }));
    const keys = Object.keys(failed);
    expect(keys.slice(keys.indexOf('ID'), keys.indexOf('RetCodes') + 1)).toEqual(['ID', 'error', 'message', 'exception', 'exceptionDetails', 'RetCodes']);
    expect(failed).toMatchObject({ error: true, message: 'warmup error', exception: 'warm-up request got 503; use -allow-initial-errors to run anyway', exceptionDetails: {} });
    const interrupted = toFortioJson(fixtureResult(calls(), { stopReason: 'interrupted', stopDetail: 'Ctrl-C' }));
    expect(interrupted).not.toHaveProperty('error'); // Fortio writes a normal result for an interrupted run
  });

  it('fills IPCountMap only for an IP-literal target, which needs no DNS answer', () => {
    expect(json.IPCountMap).toEqual({}); // localhost: resolved addresses are not kept
    expect(fortioIpCountMap('http://10.96.108.76/get', 4)).toEqual({ '10.96.108.76:80': 4 });
    expect(fortioIpCountMap('https://[::1]:8443/', 2)).toEqual({ '[::1]:8443': 2 });
    expect(fortioIpCountMap('not a url', 2)).toEqual({});
  });

  it('never writes a secret: no header values, credentials redacted in the URL', () => {
    const secret = toFortioJson(
      fixtureResult([], { plan: { url: 'http://user:hunter2@10.0.0.1:8080/x', headers: [['Authorization', 'Bearer hunter2'], ['Content-Type', 'application/json']] } }),
    );
    const text = JSON.stringify(secret);
    expect(text).not.toContain('hunter2');
    expect(secret.ContentType).toBe('application/json');
  });

  it('uses Fortio types: strings for the requested rate and duration, integer nanoseconds', () => {
    expect(json).toMatchObject({
      RunType: 'HTTP',
      Labels: 'circuit breaker, c3',
      StartTime: '2024-03-05T10:20:30Z',
      RequestedQPS: 'max',
      RequestedDuration: 'exactly 30 calls',
      ActualQPS: 799.7,
      ActualDuration: 37_512_345,
      NumThreads: 3,
      Version: '0.1.0',
      Exactly: 30,
      Jitter: true,
      Uniform: false,
      NoCatchUp: false,
      RunID: 0,
      URL: 'http://localhost:8080/echo',
      NumConnections: 1,
      SocketCount: 15,
      AbortOn: -1,
    });
    expect(Number.isInteger(json.ActualDuration)).toBe(true);
  });

  it('keys RetCodes by code string, greppable in indented output as CI scripts do', () => {
    expect(json.RetCodes).toEqual({ '200': 18, '503': 12 });
    const text = JSON.stringify(json, null, 2);
    expect(text).toContain('"200": 18');
    expect(text).toContain('"503": 12');
  });

  it("carries Fortio's latency (from the actual send), with CalcPercentile's percentiles; the corrected one only under Meshload", () => {
    const paced = fixtureResult(
      [
        { latencyUs: 52_000, uncorrectedUs: 50_500, code: 200 },
        { latencyUs: 402_000, uncorrectedUs: 51_500, code: 200 },
        { latencyUs: 750_000, uncorrectedUs: 52_500, code: 503 },
      ],
      { plan: { qps: 100, connections: 1, percentiles: [50, 90] } },
    );
    const j = toFortioJson(paced);
    expect(j.DurationHistogram).toMatchObject({ Count: 3, Min: 0.0505, Max: 0.0525, Sum: 0.0505 + 0.0515 + 0.0525 });
    expect(j.DurationHistogram.Data).toEqual([{ Start: 0.0505, End: 0.0525, Percent: 100, Count: 3 }]);
    // stats.go CalcPercentile: Min up to 1/3, then linear over ]50, 60] ms clamped to [Min, Max].
    expect(j.DurationHistogram.Percentiles?.[0]?.Value).toBeCloseTo(0.0505 + ((50 - 100 / 3) / (100 - 100 / 3)) * 0.002, 15);
    expect(j.ErrorsDurationHistogram).toMatchObject({ Count: 1, Min: 0.0525, Max: 0.0525 });
    expect(j.Meshload.latency.max).toBe(750_000);
  });

  it('buckets latency at -offset and -r, and says so in Offset (ns) and Resolution (s)', () => {
    const fine = fixtureResult([], { plan: { histogramResolution: 0.0001, histogramOffset: 0.05 } });
    const { fortio: _f, ...old } = fixtureResult([{ latencyUs: 52_000, code: 200 }, { latencyUs: 52_550, code: 200 }], { plan: { histogramResolution: 0.0001, histogramOffset: 0.05 } });
    expect(toFortioJson(fine)).toMatchObject({ Offset: 0, Resolution: 0.001 }); // the fixture records at Fortio's defaults
    const j = toFortioJson(old); // rebuilt from HDR: at the plan's scale
    expect(j).toMatchObject({ Offset: 50_000_000, Resolution: 0.0001 });
    // Edges are divider * edge + offset in floats, as Fortio computes them: 0.052000000000000005.
    const edges = (j.DurationHistogram.Data ?? []).flatMap((b) => [b.Start, b.End]);
    [0.052, 0.052, 0.0525, 0.05255].forEach((edge, i) => expect(edges[i]).toBeCloseTo(edge, 15));
    expect(edges).toHaveLength(4);
  });

  it('carries latency in seconds, errors, and size histograms', () => {
    expect(json.DurationHistogram).toMatchObject({ Count: 30, Min: 0.0015, Max: 0.012 });
    expect(json.DurationHistogram.Data).toEqual([
      { Start: 0.0015, End: 0.002, Percent: 60, Count: 18 },
      { Start: 0.011, End: 0.012, Percent: 100, Count: 12 },
    ]);
    expect(json.DurationHistogram.Percentiles?.map((p) => p.Percentile)).toEqual([50, 75, 90, 99, 99.9]);
    expect(json.ErrorsDurationHistogram).toMatchObject({ Count: 12, Min: 0.012, Max: 0.012 });
    expect(json.Sizes).toMatchObject({ Count: 30, Min: 300, Max: 1200, Sum: 25200 });
    expect(json.Sizes.Percentiles).toBeUndefined();
    expect(json.HeaderSizes).toMatchObject({ Count: 30, Min: 124, Max: 124 });
  });

  it('names the run as -a does, without .json', () => {
    expect(json.ID).toBe(fortioRunId(new Date(result.startTime), 'circuit breaker, c3'));
    expect(json.ID).toMatch(/^\d{4}-\d\d-\d\d-\d{6}_circuit_breaker_c3$/);
  });

  it('describes paced runs and -n runs that stopped short', () => {
    const paced = toFortioJson(fixtureResult(calls(), { plan: { qps: 1000000, durationMs: 90_000 } }));
    expect(paced.RequestedQPS).toBe('1000000'); // %.9g
    expect(paced.RequestedDuration).toBe('1m30s');
    expect(paced.Exactly).toBe(0);
    expect(paced.AbortOn).toBe(0);
    const cut = toFortioJson(fixtureResult(calls().slice(0, 29), { plan: { qps: 0, requests: 30 }, stopReason: 'interrupted' }));
    expect(cut.RequestedDuration).toBe('exactly 30 calls, interrupted after 29');
    expect(toFortioJson(fixtureResult([], { plan: { qps: 10, durationMs: 0 } })).RequestedDuration).toBe('until stop');
    expect(toFortioJson(fixtureResult([], { plan: { qps: 0, durationMs: 0 } })).RequestedDuration).toBe('');
  });

  it('is plain JSON: it round-trips', () => {
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    const empty = toFortioJson(fixtureResult([]));
    expect(JSON.parse(JSON.stringify(empty)).DurationHistogram.Data).toBeNull();
  });
});

describe('Fortio run IDs and -a file names', () => {
  // periodic_test.go TestID: a local-time start of 2001-01-02 03:04:05.
  const startTime = new Date(2001, 0, 2, 3, 4, 5);
  it.each([
    ['', ''],
    ['abcDEF123', '_abcDEF123'],
    ["A!@#$%^&*()-+=/'B", '_A_B'],
    ['A  ', '_A'],
    [' ', ''],
    ['123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890', '_123456789012345678901234567890123456789012345678901234567890123456789012345678'],
    ['héllo wörld', '_h_llo_w_rld'], // only ASCII letters and digits are kept
  ])('labels %p give suffix %p', (labels, suffix) => {
    expect(fortioRunId(startTime, labels)).toBe('2001-01-02-030405' + suffix);
  });

  it('appends .json and includes a RunID when there is one', () => {
    expect(fortioFileName(startTime, 'circuit breaker, c3')).toBe('2001-01-02-030405_circuit_breaker_c3.json');
    expect(fortioRunId(startTime, 'x', 42)).toBe('2001-01-02-030405_42_x');
  });
});

describe('rfc3339Nano', () => {
  it('trims trailing fraction zeros as Go does', () => {
    expect(rfc3339Nano(new Date('2024-03-05T10:20:30.000Z'))).toBe('2024-03-05T10:20:30Z');
    expect(rfc3339Nano(new Date('2024-03-05T10:20:30.120Z'))).toBe('2024-03-05T10:20:30.12Z');
    expect(rfc3339Nano(new Date('2024-03-05T10:20:30.007Z'))).toBe('2024-03-05T10:20:30.007Z');
  });
});
