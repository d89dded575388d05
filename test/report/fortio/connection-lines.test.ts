/** Fortio's socket, connection-time, IP and sleep lines: format, order and log levels
 * (fhttp/httprunner.go RunHTTPTest, periodic/periodic.go Run), and their JSON fields. */
import { ConnectionStats, mergeSocketFields, newConnectTime, newSleepTimes, sleepSeconds } from '../../../src/metrics/connection-stats';
import type { ConnectionsReport } from '../../../src/model/connections-report';
import type { LoadResult } from '../../../src/model/load-result';
import { FORTIO_SCALES } from '../../../src/metrics/fortio-histogram';
import type { EncodedFortioHistogram } from '../../../src/model/encoded-histograms';
import { fortioConnectionJson, fortioIpLines, fortioSleepLines, fortioSocketLines } from '../../../src/report/fortio/connection-lines';
import { toFortioJson } from '../../../src/report/fortio/json';
import { renderLoadText } from '../../../src/report/fortio/text';
import { fixtureResult, type FixtureOverrides } from '../../helpers/load-result-fixture';

/** Two connections: the first dialled twice (1 ms and 3 ms), the second once (2 ms) to another peer. */
function twoConnections(): ConnectionsReport {
  const connectTime = newConnectTime(FORTIO_SCALES.duration);
  const a = new ConnectionStats(connectTime);
  const b = new ConnectionStats(connectTime);
  for (const [stats, ms, address] of [
    [a, 1, '127.0.0.1:8080'],
    [a, 3, '127.0.0.1:8080'],
    [b, 2, '127.0.0.2:8080'],
  ] as const) {
    stats.socketOpened();
    stats.socketDialled(ms, address);
  }
  return { threads: [a.report(), b.report()], connectTime: connectTime.encode() };
}

/** Sleeps in ms, recorded as the pacing loop records them. */
function sleeps(ms: number[]): EncodedFortioHistogram {
  const h = newSleepTimes();
  for (const m of ms) h.record(sleepSeconds(m));
  return h.encode();
}

function result(extra: FixtureOverrides = {}): LoadResult {
  return fixtureResult([{ latencyUs: 1000, code: 200 }], { ...extra, plan: { percentiles: [50, 90], ...extra.plan } });
}

describe('fortioSocketLines', () => {
  it('prints one line per connection, then the connection time histogram at Info', () => {
    expect(fortioSocketLines(result({ connections: twoConnections() }), 'Info')).toEqual([
      '# Socket and IP used for each connection:',
      '[0]   2 socket used, resolved to 127.0.0.1:8080, connection timing : count 2 avg 0.002 +/- 0.001 min 0.001 max 0.003 sum 0.004',
      '[1]   1 socket used, resolved to 127.0.0.2:8080, connection timing : count 1 avg 0.002 +/- 0 min 0.002 max 0.002 sum 0.002',
      'Connection time histogram (s) : count 3 avg 0.002 +/- 0.0008165 min 0.001 max 0.003 sum 0.006',
      '# range, mid point, percentile, count',
      '>= 0.001 <= 0.001 , 0.001 , 33.33, 1',
      '> 0.001 <= 0.002 , 0.0015 , 66.67, 1',
      '> 0.002 <= 0.003 , 0.0025 , 100.00, 1',
      '# target 50% 0.0015',
      '# target 90% 0.0027',
    ]);
  });

  it('prints the counter only at Warning, and no connection time at all under it (-quiet)', () => {
    const measured = result({ connections: twoConnections() });
    const warning = fortioSocketLines(measured, 'Warning');
    expect(warning.slice(3)).toEqual(['Connection time (s) : count 3 avg 0.002 +/- 0.0008165 min 0.001 max 0.003 sum 0.006']);
    const quiet = fortioSocketLines(measured, 'Error');
    expect(quiet).toHaveLength(3);
    expect(quiet[0]).toBe('# Socket and IP used for each connection:');
  });

  it('lists several peers of one connection as Fortio does: "[a (n), b (m)]"', () => {
    const stats = new ConnectionStats(newConnectTime(FORTIO_SCALES.duration));
    for (const address of ['10.0.0.2:80', '10.0.0.1:80', '10.0.0.2:80']) {
      stats.socketOpened();
      stats.socketDialled(1, address);
    }
    const [, line] = fortioSocketLines(result({ connections: { threads: [stats.report()], connectTime: newConnectTime(FORTIO_SCALES.duration).encode() } }), 'Error');
    expect(line).toMatch(/^\[0\] {3}3 socket used, resolved to \[10\.0\.0\.2:80 \(2\), 10\.0\.0\.1:80 \(1\)\], connection timing : count 3 /);
  });

  it('prints nothing for a result that did not measure sockets, or whose field was edited', () => {
    expect(fortioSocketLines(result(), 'Info')).toEqual([]);
    const edited = { threads: [{ sockets: 1, addresses: { '\u001b[31mred:80': 1 }, connect: twoConnections().threads[0]!.connect }], connectTime: twoConnections().connectTime };
    expect(fortioSocketLines(result({ connections: edited }), 'Info')).toEqual([]);
    expect(fortioSocketLines(result({ connections: 'x' as unknown as ConnectionsReport }), 'Info')).toEqual([]);
  });
});

describe('fortioIpLines', () => {
  it('counts every socket by peer, most used first', () => {
    expect(fortioIpLines(result({ connections: twoConnections() }), {})).toEqual(['IP addresses distribution:', '127.0.0.1:8080: 2', '127.0.0.2:8080: 1']);
  });

  it("falls back to the URL's guess for an older result", () => {
    expect(fortioIpLines(result(), { '10.1.1.1:80': 4 })).toEqual(['IP addresses distribution:', '10.1.1.1:80: 4']);
  });
});

describe('fortioSleepLines', () => {
  it('prints the "Sleep times" counter at Warning and Info, nothing under Warning', () => {
    const paced = result({ sleepTimes: sleeps([100, 100, 100, 100]) });
    expect(fortioSleepLines(paced, 'Info')).toEqual(['Sleep times : count 4 avg 0.1 +/- 0 min 0.1 max 0.1 sum 0.4']);
    expect(fortioSleepLines(paced, 'Warning')).toEqual(fortioSleepLines(paced, 'Info'));
    expect(fortioSleepLines(paced, 'Error')).toEqual([]);
    expect(fortioSleepLines(paced, 'Verbose')[0]).toBe('Aggregated Sleep Time : count 4 avg 0.1 +/- 0 min 0.1 max 0.1 sum 0.4');
  });

  it('warns at every level when over 5% of sleeps were -1 ms or less; exactly 5% does not', () => {
    // 1 late sleep in 20 is 5%: no warning (Fortio: percentNegative > 5).
    const five = result({ sleepTimes: sleeps([-1, ...Array.from({ length: 19 }, () => 50)]) });
    expect(fortioSleepLines(five, 'Info')).toEqual([expect.stringMatching(/^Sleep times : count 20 /)]);
    // -0.9 ms is not behind: bucket 0 holds -1 ms or less.
    const almost = result({ sleepTimes: sleeps([-0.9, -0.9, 50]) });
    expect(fortioSleepLines(almost, 'Info')).toHaveLength(1);
    const behind = result({ sleepTimes: sleeps([-30, -10, 50]) });
    const lines = fortioSleepLines(behind, 'Error');
    expect(lines).toEqual([
      'Aggregated Sleep Time : count 3 avg 0.0033333333 +/- 0.03399 min -0.03 max 0.05 sum 0.01',
      '# range, mid point, percentile, count',
      '>= -0.03 <= -0.001 , -0.0155 , 66.67, 2',
      '> 0.049 <= 0.05 , 0.0495 , 100.00, 1',
      '# target 50% -0.0155',
      'WARNING 66.67% of sleep were falling behind',
    ]);
  });

  it('prints nothing at max speed (no sleep histogram)', () => {
    expect(fortioSleepLines(result(), 'Verbose')).toEqual([]);
  });
});

describe('placement in the load text', () => {
  it("puts each line where Fortio does, and keeps 'All done' last", () => {
    const text = renderLoadText(result({ connections: twoConnections(), sleepTimes: sleeps([100, 100]) }));
    const lines = text.trimEnd().split('\n');
    const at = (prefix: string): number => lines.findIndex((l) => l.startsWith(prefix));
    expect(at('Ended after')).toBe(0);
    expect(at('Sleep times')).toBe(1);
    expect(at('Aggregated Function Time')).toBe(2);
    expect(at('# Socket and IP used')).toBe(at('Error cases') + 1);
    expect(at('Connection time histogram (s)')).toBe(at('[1] ') + 1);
    expect(at('Sockets used:')).toBeGreaterThan(at('Connection time histogram (s)'));
    expect(lines.slice(at('Uniform:'), at('Uniform:') + 4)).toEqual([
      'Uniform: false, Jitter: false, Catchup allowed: true',
      'IP addresses distribution:',
      '127.0.0.1:8080: 2',
      '127.0.0.2:8080: 1',
    ]);
    expect(lines[at('127.0.0.2:8080: 1') + 1]).toMatch(/^Code 200 : /);
    expect(lines[lines.length - 1]).toMatch(/^All done /);
  });
});

describe('JSON fields', () => {
  it('writes measured Sockets, IPCountMap (keys sorted, as encoding/json) and ConnectionStats', () => {
    const json = toFortioJson(result({ connections: twoConnections(), socketsUsed: 3 }));
    expect(json.Sockets).toEqual([2, 1]);
    expect(json.SocketCount).toBe(3);
    expect(Object.entries(json.IPCountMap)).toEqual([
      ['127.0.0.1:8080', 2],
      ['127.0.0.2:8080', 1],
    ]);
    expect(json.ConnectionStats).toMatchObject({ Count: 3, Min: 0.001, Max: 0.003, Sum: 0.006, Percentiles: [{ Percentile: 50, Value: 0.0015 }, { Percentile: 90, Value: 0.0027 }] });
    expect(json.ConnectionStats.Data).toHaveLength(3);
  });

  it('keeps the old estimates for a result without measurements', () => {
    expect(fortioConnectionJson(result())).toBeUndefined();
    const json = toFortioJson(result({ socketsUsed: 5, plan: { connections: 2, url: 'http://10.0.0.1:8080/' } }));
    expect(json.Sockets).toEqual([3, 2]);
    expect(json.IPCountMap).toEqual({ '10.0.0.1:8080': 2 });
    expect(json.ConnectionStats.Count).toBe(0);
  });
});

describe('mergeSocketFields (worker threads, merged files)', () => {
  it("lists every part's connections and adds their histograms", () => {
    const merged = mergeSocketFields([
      { connections: twoConnections(), sleepTimes: sleeps([10, -5]) },
      { connections: twoConnections(), sleepTimes: sleeps([20]) },
      {}, // a part from an older version adds nothing
    ]);
    expect(merged.connections?.threads.map((t) => t.sockets)).toEqual([2, 1, 2, 1]);
    expect(merged.connections?.connectTime.count).toBe(6);
    expect(merged.sleepTimes?.count).toBe(3);
    expect(merged.sleepTimes?.buckets[0]).toBe(1);
    expect(mergeSocketFields([{}, {}])).toEqual({});
  });
});
