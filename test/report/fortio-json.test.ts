import { fortioFileName, fortioRunId, rfc3339Nano, toFortioJson } from '../../src/report/fortio-json';
import { type FixtureCall, fixtureResult } from '../helpers/load-result-fixture';

function calls(): FixtureCall[] {
  const out: FixtureCall[] = [];
  for (let i = 0; i < 18; i++) out.push({ latencyUs: 1500, code: 200, headerBytes: 124, totalBytes: 1200 });
  for (let i = 0; i < 12; i++) out.push({ latencyUs: 12000, code: 503, headerBytes: 124, totalBytes: 300 });
  return out;
}

const FORTIO_FIELDS = [
  'RunType',
  'Labels',
  'StartTime',
  'RequestedQPS',
  'RequestedDuration',
  'ActualQPS',
  'ActualDuration',
  'NumThreads',
  'Version',
  'DurationHistogram',
  'ErrorsDurationHistogram',
  'Exactly',
  'Jitter',
  'Uniform',
  'NoCatchUp',
  'RunID',
  'ID',
  'RetCodes',
  'URL',
  'NumConnections',
  'Sizes',
  'HeaderSizes',
  'SocketCount',
  'AbortOn',
];

describe('toFortioJson', () => {
  const result = fixtureResult(calls(), {
    durationMs: 37.512345,
    actualQps: 799.7,
    socketsUsed: 15,
    plan: { connections: 3, qps: 0, requests: 30, labels: 'circuit breaker, c3', abortOn: -1, jitter: true },
  });
  const json = toFortioJson(result);

  it("has Fortio's fields, in Go's order, then meshload's result", () => {
    expect(Object.keys(json)).toEqual([...FORTIO_FIELDS, 'Meshload']);
    expect(json.Meshload).toEqual(result);
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

  it('carries corrected latency in seconds, errors, and size histograms', () => {
    expect(json.DurationHistogram).toMatchObject({ Count: 30, Min: 0.0015, Max: 0.012, Divider: 0.001 });
    expect(json.DurationHistogram.Data).toEqual([
      { Start: 0.0015, End: 0.002, Percent: 60, Count: 18 },
      { Start: 0.011, End: 0.012, Percent: 100, Count: 12 },
    ]);
    expect(json.DurationHistogram.Percentiles?.map((p) => p.Percentile)).toEqual([50, 75, 90, 99, 99.9]);
    expect(json.ErrorsDurationHistogram).toMatchObject({ Count: 12, Min: 0.012, Max: 0.012 });
    expect(json.Sizes).toMatchObject({ Count: 30, Min: 300, Max: 1200, Sum: 25200, Divider: 100 });
    expect(json.Sizes.Percentiles).toBeUndefined();
    expect(json.HeaderSizes).toMatchObject({ Count: 30, Min: 124, Max: 124, Divider: 5 });
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
