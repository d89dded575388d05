/** Connection and sleep histograms on the one Fortio histogram (metrics/fortio-histogram.ts):
 * Fortio's scales (httprunner.go connectionStats at -offset/-r, periodic.go sleepTime at
 * (-0.001, 0.001)), exact merges, and results stored by the former fortio-counts module still
 * reading and printing the same. */
import { ConnectionStats, mergeSocketFields, newConnectTime, newSleepTimes, sleepSeconds } from '../../src/metrics/connection-stats';
import { FORTIO_SLEEP_SCALE, FortioCounts, fortioDurationScale } from '../../src/metrics/fortio-histogram';
import { fortioConnectionJson, fortioSleepLines, fortioSocketLines } from '../../src/report/fortio/connection-lines';

/** A result's `connections` and `sleepTimes` exactly as meshload wrote them before the two
 * histogram modules became one (captured from that build's connection-stats.js). */
const STORED = JSON.parse(
  '{"connections":{"threads":[{"sockets":2,"addresses":{"127.0.0.1:8080":2},"connect":{"count":2,"min":0.0008123,"max":0.0025,"sum":0.0033123,"sumSq":0.00000690983129}}],"connectTime":{"offset":0,"divider":0.001,"count":2,"min":0.0008123,"max":0.0025,"sum":0.0033123,"sumSq":0.00000690983129,"buckets":[0,1,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}},"sleepTimes":{"offset":-0.001,"divider":0.001,"count":3,"min":-0.0032,"max":0.00987,"sum":0.007070000000000001,"sumSq":0.00010781690000000001,"buckets":[1,0,1,0,0,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}',
) as { connections: unknown; sleepTimes: unknown };

function stored(): Parameters<typeof fortioSocketLines>[0] {
  return { ...(STORED as object), plan: { percentiles: [50, 90] } } as Parameters<typeof fortioSocketLines>[0];
}

/** What the same measurements record today (same scale: -r and -offset at their defaults). */
function recordedNow(): { connections: unknown; sleepTimes: unknown } {
  const connectTime = newConnectTime(fortioDurationScale({}));
  const a = new ConnectionStats(connectTime);
  for (const ms of [0.8123, 2.5]) {
    a.socketOpened();
    a.socketDialled(ms, '127.0.0.1:8080');
  }
  const sleep = newSleepTimes();
  for (const ms of [9.87, -3.2, 0.4]) sleep.record(sleepSeconds(ms));
  return { connections: { threads: [a.report()], connectTime: connectTime.encode() }, sleepTimes: sleep.encode() };
}

describe('stored results of the former fortio-counts module', () => {
  it('encode the same fields as the one histogram records now', () => {
    expect(JSON.parse(JSON.stringify(recordedNow()))).toEqual(STORED);
  });

  it('still load and print the lines they printed then', () => {
    expect(fortioSocketLines(stored(), 'Info')).toEqual([
      '# Socket and IP used for each connection:',
      '[0]   2 socket used, resolved to 127.0.0.1:8080, connection timing : count 2 avg 0.00165615 +/- 0.0008439 min 0.0008123 max 0.0025 sum 0.0033123',
      'Connection time histogram (s) : count 2 avg 0.00165615 +/- 0.0008439 min 0.0008123 max 0.0025 sum 0.0033123',
      '# range, mid point, percentile, count',
      '>= 0.0008123 <= 0.001 , 0.00090615 , 50.00, 1',
      '> 0.002 <= 0.0025 , 0.00225 , 100.00, 1',
      '# target 50% 0.0008123',
      '# target 90% 0.0024',
    ]);
    expect(fortioSleepLines(stored(), 'Verbose')).toEqual([
      'Aggregated Sleep Time : count 3 avg 0.0023566667 +/- 0.005512 min -0.0032 max 0.00987 sum 0.00707',
      '# range, mid point, percentile, count',
      '>= -0.0032 <= -0.001 , -0.0021 , 33.33, 1',
      '> 0 <= 0.001 , 0.0005 , 66.67, 1',
      '> 0.009 <= 0.00987 , 0.009435 , 100.00, 1',
      '# target 50% 0.0005',
      'WARNING 33.33% of sleep were falling behind',
    ]);
    expect(JSON.stringify(fortioConnectionJson(stored()))).toBe(
      '{"Sockets":[2],"IPCountMap":{"127.0.0.1:8080":2},"ConnectionStats":{"Count":2,"Min":0.0008123,"Max":0.0025,"Sum":0.0033123,"Avg":0.00165615,"StdDev":0.0008438500000000002,"Data":[{"Start":0.0008123,"End":0.001,"Percent":50,"Count":1},{"Start":0.002,"End":0.0025,"Percent":100,"Count":1}],"Percentiles":[{"Percentile":50,"Value":0.0008123},{"Percentile":90,"Value":0.0024000000000000002}]}}',
    );
  });

  it('refuse a malformed histogram or counter (an edited file) instead of printing it', () => {
    const bad = (patch: object): Parameters<typeof fortioSocketLines>[0] => ({ ...stored(), connections: { ...(STORED.connections as object), ...patch } }) as Parameters<typeof fortioSocketLines>[0];
    const good = (STORED.connections as { connectTime: Record<string, unknown>; threads: Array<Record<string, unknown>> });
    for (const connectTime of [{ ...good.connectTime, buckets: [1, 2] }, { ...good.connectTime, divider: 0 }, { ...good.connectTime, count: 5 }, { ...good.connectTime, min: 'x' }, null]) {
      expect(fortioSocketLines(bad({ connectTime }), 'Info')).toEqual([]);
    }
    expect(fortioSocketLines(bad({ threads: [{ ...good.threads[0], connect: { ...(good.threads[0]?.['connect'] as object), sumSq: 'x' } }] }), 'Info')).toEqual([]);
    expect(fortioSleepLines({ sleepTimes: { ...(STORED.sleepTimes as object), count: -1 } as never }, 'Verbose')).toEqual([]);
  });
});

describe('a Fortio import (aggregate peers only) in a merge', () => {
  it('keeps peer counts for the whole merge, and prints no per-connection lines', () => {
    const measured = recordedNow();
    const imported = { threads: [{ sockets: 3, addresses: {}, connect: { count: 0, min: 0, max: 0, sum: 0, sumSq: 0 } }], connectTime: newConnectTime(fortioDurationScale({})).encode(), addresses: { '10.0.0.9:80': 3, '127.0.0.1:8080': 1 } };
    const merged = mergeSocketFields([measured, { connections: imported }]).connections;
    expect(merged?.threads.map((t) => t.sockets)).toEqual([2, 3]);
    expect(merged?.addresses).toEqual({ '127.0.0.1:8080': 3, '10.0.0.9:80': 3 });
    const lines = fortioSocketLines({ connections: merged, plan: { percentiles: [50] } } as Parameters<typeof fortioSocketLines>[0], 'Info');
    expect(lines[0]).toMatch(/^Connection time histogram \(s\) : count 2 /);
    expect(lines.join('\n')).not.toMatch(/socket used/);
    // Two fully measured parts stay per connection.
    expect(mergeSocketFields([measured, measured]).connections?.addresses).toBeUndefined();
  });
});

describe("Fortio's scales", () => {
  it('connection times use -offset and -r, as httprunner.go sets HTTPOptions from the runner', () => {
    const scale = fortioDurationScale({ histogramOffset: 0.002, histogramResolution: 0.0001 });
    const connectTime = newConnectTime(scale);
    new ConnectionStats(connectTime).socketDialled(2.25, '10.0.0.1:80');
    const encoded = connectTime.encode();
    expect([encoded.offset, encoded.divider]).toEqual([0.002, 0.0001]);
    // (0.00225 - 0.002) / 0.0001 = 2.5: the bucket ]2, 3].
    expect(encoded.buckets.indexOf(1)).toBe(3);
  });

  it('sleep times are (-0.001, 0.001) whatever -r says: bucket 0 is -1 ms or less', () => {
    const h = newSleepTimes();
    for (const ms of [-1, -0.999, 0]) h.record(sleepSeconds(ms));
    expect({ offset: h.offset, divider: h.divider }).toEqual(FORTIO_SLEEP_SCALE);
    expect(h.buckets[0]).toBe(1);
    expect(h.buckets[1]).toBe(2);
  });

  it('merges parts exactly: the same export as one histogram of every value', () => {
    const values = [0.4, 1.1, 2, 17.3, 250, 3200];
    const whole = newSleepTimes();
    for (const ms of values) whole.record(sleepSeconds(ms));
    const part = (ms: number[]): FortioCounts => {
      const h = newSleepTimes();
      for (const m of ms) h.record(sleepSeconds(m));
      return h;
    };
    const merged = mergeSocketFields([{ sleepTimes: part(values.slice(0, 2)).encode() }, { sleepTimes: 'edited' }, { sleepTimes: part(values.slice(2)).encode() }]).sleepTimes;
    const again = FortioCounts.decode(merged);
    expect(again?.export([50, 90]).Data).toEqual(whole.export([50, 90]).Data);
    expect(again?.export([50, 90]).Percentiles).toEqual(whole.export([50, 90]).Percentiles);
    expect(again?.count).toBe(6);
  });
});
