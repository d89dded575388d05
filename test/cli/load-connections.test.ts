/** `load` against meshload's own echo server on loopback: Fortio's per-connection socket lines,
 * connection times, IP distribution and sleep warning come from what really happened (Fortio's
 * own tests use `?close=true` to force one socket per call the same way). */
import { freePort } from '../helpers/server-process';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { cli, type CliRun } from '../helpers/cli';

let server: RunningEchoServer | undefined;

async function echo(): Promise<string> {
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1500, maxPayloadBytes: 256 * 1024 });
  return server.echoUrl;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface FortioJson {
  Sockets: number[];
  SocketCount: number;
  IPCountMap: Record<string, number>;
  ConnectionStats: { Count: number; Min: number; Max: number; Data: unknown[] | null; Percentiles?: unknown[] };
  RetCodes: Record<string, number>;
}

function json(run: CliRun): FortioJson {
  return JSON.parse(run.stdout) as FortioJson;
}

function hostPort(url: string): string {
  return new URL(url).host;
}

describe('load: sockets, peers and connection times, measured', () => {
  it('counts one socket per call with ?close=true, per connection, all to 127.0.0.1', async () => {
    const url = await echo();
    const run = await cli('load', '-c', '2', '-qps', '0', '-n', '10', '-json', '-', `${url}/echo?close=true`);
    expect(run.code).toBe(0);
    const result = json(run);
    const peer = hostPort(url);
    expect(peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(result.Sockets).toEqual([5, 5]);
    expect(result.SocketCount).toBe(10);
    expect(result.IPCountMap).toEqual({ [peer]: 10 });
    expect(result.ConnectionStats.Count).toBe(10);
    expect(result.ConnectionStats.Min).toBeGreaterThan(0);
    expect(result.ConnectionStats.Max).toBeLessThan(5);
    expect(result.ConnectionStats.Percentiles).toHaveLength(5);
    const text = run.stderr;
    expect(text).toContain('\n# Socket and IP used for each connection:\n');
    expect(text).toMatch(new RegExp(`\\n\\[0\\] {3}5 socket used, resolved to ${peer.replace(/\./g, '\\.')}, connection timing : count 5 avg \\S+ \\+/- \\S+ min \\S+ max \\S+ sum \\S+\\n\\[1\\] {3}5 socket used`));
    expect(text).toMatch(/\nConnection time histogram \(s\) : count 10 avg /);
    expect(text).toContain(`\nSockets used: 10 (for perfect keepalive, would be 2)\n`);
    expect(text).toContain(`\nIP addresses distribution:\n${peer}: 10\nCode 200 : 10 (100.0 %)\n`);
  });

  it('keeps one socket per connection with keep-alive, warm-up included', async () => {
    const url = await echo();
    const run = await cli('load', '-c', '3', '-qps', '0', '-t', '300ms', '-json', '-', `${url}/echo`);
    expect(run.code).toBe(0);
    const result = json(run);
    expect(result.Sockets).toEqual([1, 1, 1]);
    expect(result.IPCountMap).toEqual({ [hostPort(url)]: 3 });
    expect(result.ConnectionStats.Count).toBe(3);
  });

  it('prints the connection times as a counter at -loglevel Warning, and not at all with -quiet', async () => {
    const url = await echo();
    const warning = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '-loglevel', 'Warning', `${url}/echo?close=true`);
    expect(warning.stderr).toMatch(/\n\[0\] {3}3 socket used, resolved to 127\.0\.0\.1:\d+, connection timing : count 3 /);
    expect(warning.stderr).toMatch(/\nConnection time \(s\) : count 3 avg /);
    expect(warning.stderr).not.toContain('Connection time histogram');
    const quiet = await cli('load', '-quiet', '-c', '1', '-qps', '0', '-n', '3', `${url}/echo?close=true`);
    expect(quiet.stderr).toContain('# Socket and IP used for each connection:');
    expect(quiet.stderr).not.toContain('Connection time');
    expect(quiet.stderr).toContain('IP addresses distribution:');
  });

  it('counts HTTP/2 sessions per connection: one each, or one per call without keep-alive', async () => {
    const url = await echo();
    const kept = json(await cli('load', '-h2', '-c', '2', '-qps', '0', '-n', '6', '-json', '-', `${url}/echo`));
    expect(kept.RetCodes).toEqual({ '200': 6 });
    expect(kept.Sockets).toEqual([1, 1]);
    expect(kept.IPCountMap).toEqual({ [hostPort(url)]: 2 });
    const fresh = json(await cli('load', '-h2', '-keepalive=false', '-c', '2', '-qps', '0', '-n', '6', '-json', '-', `${url}/echo`));
    expect(fresh.RetCodes).toEqual({ '200': 6 });
    expect(fresh.Sockets).toEqual([3, 3]);
    expect(fresh.ConnectionStats.Count).toBe(6);
  });

  it.each([
    [[], true],
    [['-h2'], false],
  ])('counts and times refused dials too (%j); HTTP/1.1 counts the address tried, as Fortio', async (extra: string[], byAddress: boolean) => {
    const port = await freePort();
    const run = await cli('load', ...extra, '-c', '1', '-qps', '0', '-n', '3', '-json', '-', `http://127.0.0.1:${port}/`);
    const result = json(run);
    expect(result.RetCodes).toEqual({ '-1': 3 });
    expect(result.Sockets).toEqual([3]);
    // Fortio's fast client counts each resolution; its -h2 (Go's client) only dials that connected.
    expect(result.IPCountMap).toEqual(byAddress ? { [`127.0.0.1:${port}`]: 3 } : {});
    expect(result.ConnectionStats.Count).toBe(3);
  });

  it('lists the connections of every worker thread', async () => {
    const url = await echo();
    const result = json(await cli('load', '-workers', '2', '-c', '4', '-qps', '0', '-n', '8', '-json', '-', `${url}/echo?close=true`));
    expect(result.Sockets).toEqual([2, 2, 2, 2]);
    expect(result.IPCountMap).toEqual({ [hostPort(url)]: 8 });
    expect(result.ConnectionStats.Count).toBe(8);
  });
});

describe('load: the pacing loop\'s sleep times', () => {
  it('warns, as Fortio, when the server is slower than the pace: every sleep falls behind', async () => {
    const url = await echo();
    const run = await cli('load', '-c', '1', '-qps', '100', '-n', '6', `${url}/echo?delay=50ms`);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/\nEnded after [^\n]+\nAggregated Sleep Time : count 5 avg -[^\n]+\n# range, mid point, percentile, count\n/);
    expect(run.stderr).toMatch(/\n# target 50% -[\d.e-]+\nWARNING 100\.00% of sleep were falling behind\nAggregated Function Time : /);
  });

  it('prints the "Sleep times" counter when the pace is kept, and nothing at max speed', async () => {
    const url = await echo();
    const paced = await cli('load', '-c', '1', '-qps', '20', '-n', '4', `${url}/echo`);
    expect(paced.stderr).toMatch(/\nEnded after [^\n]+\nSleep times : count 3 avg 0\.0[\d.e-]+ \+\/- [^\n]+\nAggregated Function Time : /);
    expect(paced.stderr).not.toContain('falling behind');
    const max = await cli('load', '-c', '1', '-qps', '0', '-n', '4', `${url}/echo`);
    expect(max.stderr).not.toMatch(/Sleep time/);
  });
});
