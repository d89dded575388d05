import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from '../../src/model/load-result';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import type { SidecarReport } from '../../src/model/sidecar-report';
import { runCli } from '../../src/cli/main';
import { cli, testIo } from '../helpers/cli';

const FIXTURE = join(__dirname, '..', 'fixtures', 'stats', 'istio-1.23-sidecar.txt');
const HTTPBIN = 'outbound|8000||httpbin.default.svc.cluster.local';

let dir: string | undefined;
let server: RunningEchoServer | undefined;

function temp(): string {
  dir ??= mkdtempSync(join(tmpdir(), 'meshload-stats-'));
  return dir;
}

/** The fixture with some httpbin counters raised, as a dump taken after a run would be. */
function afterDump(bump: Record<string, number>): string {
  let text = readFileSync(FIXTURE, 'utf8');
  for (const [stat, by] of Object.entries(bump)) {
    const re = new RegExp(`^(cluster\\.${HTTPBIN.replace(/[|.]/g, (c) => `\\${c}`)};\\.${stat.replace(/\./g, '\\.')}: )(\\d+)$`, 'm');
    if (!re.test(text)) throw new Error(`fixture has no ${stat}`);
    text = text.replace(re, (_, head: string, value: string) => `${head}${Number(value) + by}`);
  }
  const path = join(temp(), `after-${Object.keys(bump).join('-')}.txt`);
  writeFileSync(path, text);
  return path;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('meshload stats', () => {
  it('shows the resilience view of one dump, per matched cluster', async () => {
    const run = await cli('stats', FIXTURE, '--cluster', 'httpbin');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Sidecar \(envoy stats, envoy-text, from .*istio-1\.23-sidecar\.txt, cluster httpbin: 1 matched\)$/m);
    expect(run.stdout).toContain(HTTPBIN);
  });

  it('prints what is not 0 by the names checks take, and every stat with -v', async () => {
    const run = await cli('stats', FIXTURE, '--cluster', 'httpbin');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {4}view: requests\.sent 9, breaker\.pending 21, breaker\.connection 11, upstream_5xx\.final 21,$/m);
    expect(run.stdout).toContain('delta(upstream_rq_pending_overflow) 21');
    expect(run.stdout).toContain('max(circuit_breakers.default.rq_pending_open) 1');
    expect(run.stdout).not.toMatch(/breakerRejections|unknown|\) 0\b/);
    expect(run.stdout).toMatch(/^\(\d+ more not shown: .*; -v shows them\)$/m);
    const verbose = await cli('stats', FIXTURE, '--cluster', 'httpbin', '-v');
    expect(verbose.stdout).toMatch(/delta\(upstream_rq_retry\) 0/);
    expect(verbose.stdout).toMatch(/^ {4}not reported by envoy: /m);
    expect(verbose.stdout).not.toMatch(/more not shown/);
  });

  it('writes JSON with counter deltas keyed by raw stat name, beside the view', async () => {
    const run = await cli('stats', '--diff', FIXTURE, afterDump({ upstream_rq_pending_overflow: 5, upstream_rq_total: 30 }), '--cluster', 'httpbin', '--json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as SidecarReport;
    expect(report.clusters.map((c) => c.cluster)).toEqual([HTTPBIN]);
    const cluster = report.clusters[0] as SidecarReport['clusters'][number];
    expect(cluster.deltas.upstream_rq_pending_overflow).toBe(5);
    expect(cluster.deltas.upstream_rq_total).toBe(30);
    expect(cluster.view.breakerRejections.pending).toBe(5);
    expect(cluster.view.requestsSent).toBe(30);
  });

  it('reports a counter that went down as a reset, never a negative delta', async () => {
    const run = await cli('stats', '--diff', afterDump({ upstream_rq_total: 50 }), FIXTURE, '--cluster', 'httpbin', '--json');
    const report = JSON.parse(run.stdout) as SidecarReport;
    const cluster = report.clusters[0] as SidecarReport['clusters'][number];
    expect(cluster.resets).toContain('upstream_rq_total');
    expect(cluster.deltas.upstream_rq_total).toBeUndefined();
    expect(report.diagnostics.join('\n')).toMatch(/went down during the run .*the proxy restarted/);
  });

  it('counts injected faults from the listener fault filter, summed over prefixes', async () => {
    const withFaults = (aborts: number, delays: number): string => {
      const path = join(temp(), `faults-${aborts}-${delays}.txt`);
      writeFileSync(
        path,
        readFileSync(FIXTURE, 'utf8') +
          `http.outbound_0.0.0.0_8000.fault.aborts_injected: ${aborts}\nhttp.outbound_0.0.0.0_8000.fault.delays_injected: ${delays}\n` +
          `http.inbound_0.0.0.0_8080.fault.aborts_injected: 1\n`,
      );
      return path;
    };
    const run = await cli('stats', '--diff', withFaults(2, 0), withFaults(7, 3), '--cluster', 'httpbin', '--json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as SidecarReport;
    expect(report.total?.faults).toEqual({ aborts: 5, delays: 3 });
  });

  it('--watch prints the change since it started until Ctrl-C, one JSON object a line with --json', async () => {
    const controller = new AbortController();
    const { io, stdout } = testIo(controller.signal);
    const exit = runCli(['stats', '--watch', '--json', '--stats-cmd', `cat '${FIXTURE}'`, '--cluster', 'httpbin', '--stats-interval', '100ms'], io);
    await stdout.waitFor(/\n.*\n/); // two refreshes
    controller.abort();
    expect(await exit).toBe(0);
    const lines = stdout.text.trim().split('\n').map((line) => JSON.parse(line) as SidecarReport & { sinceSeconds: number });
    expect(lines.length).toBeGreaterThanOrEqual(2);
    // The same dump every time: nothing changed since the watch started.
    expect(lines[0]?.clusters[0]?.deltas.upstream_rq_total).toBe(0);
  });

  it('says how to make Istio show its outbound clusters when the dump has none', async () => {
    // The sidecar as Istio leaves it without proxyStatsMatcher: no cluster.outbound stats.
    const hidden = join(temp(), 'no-outbound.txt');
    writeFileSync(hidden, readFileSync(FIXTURE, 'utf8').split('\n').filter((line) => !line.startsWith('cluster.outbound')).join('\n'));
    const run = await cli('stats', hidden, '--cluster', 'httpbin');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/cluster 'httpbin' is not in the proxy's stats, which hold no outbound cluster/);
    expect(run.stdout).toContain('"proxyStatsMatcher":{"inclusionPrefixes":["cluster.outbound"]}');
  });

  it('suggests the cluster a typo meant, without the annotation advice', async () => {
    const run = await cli('stats', FIXTURE, '--cluster', 'htpbin');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Note: no cluster matches 'htpbin' \(did you mean httpbin\?\)$/m);
    expect(run.stdout).not.toContain('proxyStatsMatcher');
  });

  it('names the outbound clusters there are when nothing is close', async () => {
    const run = await cli('stats', FIXTURE, '--cluster', 'ratings');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Note: no cluster matches 'ratings' \(outbound clusters: httpbin, reviews\)$/m);
    expect(run.stdout).not.toContain('proxyStatsMatcher');
  });

  it('suggests from real Envoy Prometheus output (plain Envoy cluster names)', async () => {
    const run = await cli('stats', '/work/shared/fixtures/envoy/prometheus-formatter.txt', '--cluster', 'aab');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Note: no cluster matches 'aab' \(did you mean aaa\?\)$/m);
    expect(run.stdout).not.toContain('proxyStatsMatcher');
  });

  it.each([
    [['stats'], /meshload stats needs one stats source, got 0/, 2],
    [['stats', '--diff', FIXTURE], /--diff needs two stats sources, got 1/, 2],
    [['stats', FIXTURE, '--stats-format', 'xml'], /--stats-format 'xml' is not a stats format/, 2],
    [['stats', '/nonexistent/stats.txt'], /cannot read stats file \/nonexistent\/stats\.txt/, 1],
    [['stats', '--stats-cmd', 'exit 3'], /stats command 'exit 3' exited with 3/, 1],
    [['stats', FIXTURE, '--stats-max-bytes', 'lots'], /--stats-max-bytes 'lots' is not a size/, 2],
    [['stats', FIXTURE, '--stats-max-bytes', '0'], /--stats-max-bytes '0' is not a size/, 2],
    [['stats', FIXTURE, '--stats-max-bytes', '1KiB'], /istio-1\.23-sidecar\.txt sent more than 1 KiB of stats \(--stats-max-bytes 1KiB\)/, 1],
    [['stats', FIXTURE, '--stats-timeout', 'soon'], /--stats-timeout 'soon' is not a duration/, 2],
    [['stats', '--stats-cmd', 'sleep 30', '--stats-timeout', '300ms'], /reading stats from command 'sleep 30' took longer than --stats-timeout 300 ms/, 1],
  ])('%p fails on one line', async (argv, pattern, code) => {
    const run = await cli(...argv);
    expect(run.code).toBe(code);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(pattern);
  });

  it('names the line of a malformed dump', async () => {
    const bad = join(temp(), 'bad.txt');
    writeFileSync(bad, 'cluster.a.upstream_rq_total: 1\nthis is not a stat line\n');
    const run = await cli('stats', bad, '--stats-format', 'envoy-text');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/line 2: /);
  });
});

describe('meshload load with proxy stats', () => {
  async function echo(): Promise<string> {
    server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1500, maxPayloadBytes: 1024 });
    return server.echoUrl;
  }

  it('says the traffic bypassed the sidecar when its counters did not move', async () => {
    const url = await echo();
    const json = join(temp(), 'r.json');
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '10', '--stats-cmd', `cat '${FIXTURE}'`, '--cluster', 'httpbin', '-json', json, url);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^agree\(requests\): client 10, proxy 0 \(DISAGREE\)/m);
    expect(run.stderr).toMatch(/10 requests were sent but the proxy's upstream counter did not move: the traffic bypassed this sidecar/);
    const result = (JSON.parse(readFileSync(json, 'utf8')) as { Meshload: LoadResult }).Meshload;
    expect(result.sidecar?.clusters[0]?.cluster).toBe(HTTPBIN);
  });

  it('lists the unmoved counters of the run only with -v', async () => {
    const url = await echo();
    const quiet = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '--stats-cmd', `cat '${FIXTURE}'`, '--cluster', 'httpbin', url);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toMatch(/delta\(upstream_rq_total\) 0/);
    expect(quiet.stderr).toMatch(/^\(\d+ more not shown: .*; -v shows them\)$/m);
    const verbose = await cli('load', '-c', '1', '-qps', '0', '-n', '3', '-v', '--stats-cmd', `cat '${FIXTURE}'`, '--cluster', 'httpbin', url);
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toMatch(/delta\(upstream_rq_total\) 0/);
    expect(verbose.stderr).not.toMatch(/more not shown/);
  });

  it('completes the run and says the stats verdict is unavailable when the endpoint is down', async () => {
    const url = await echo();
    const run = await cli('load', '-c', '1', '-qps', '0', '-n', '5', '--stats', 'http://127.0.0.1:1/stats', url);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Code 200 : 5 \(100\.0 %\)$/m);
    expect(run.stderr).toMatch(/proxy stats unavailable, running without them: stats endpoint http:\/\/127\.0\.0\.1:1\/stats is unreachable/);
    expect(run.stderr).toMatch(/^Sidecar: stats unavailable/m);
    // The proxy's view comes before Fortio's summary: "All done" stays last.
    expect(run.stderr.search(/^Sidecar:/m)).toBeLessThan(run.stderr.indexOf('Ended after'));
    expect(run.stderr.trimEnd().split('\n').pop()).toMatch(/^All done 5 calls/);
  });

  it('never writes the credentials of a stats URL, in result.json or on the terminal', async () => {
    const url = await echo();
    const dump = readFileSync(FIXTURE);
    const stats = http.createServer((_req, res) => res.end(dump));
    await new Promise<void>((resolve) => stats.listen(0, '127.0.0.1', resolve));
    try {
      const port = (stats.address() as AddressInfo).port;
      const json = join(temp(), 'creds.json');
      const run = await cli('load', '-c', '1', '-qps', '0', '-n', '5', '--stats', `http://admin:hunter2@127.0.0.1:${port}/stats`, '--cluster', 'httpbin', '-json', json, url);
      expect(run.code).toBe(0);
      const written = readFileSync(json, 'utf8');
      const result = (JSON.parse(written) as { Meshload: LoadResult }).Meshload;
      expect(result.sidecar?.source).toBe(`http://<redacted>@127.0.0.1:${port}/stats`);
      expect(result.sidecar?.clusters[0]?.cluster).toBe(HTTPBIN);
      for (const text of [written, run.stdout, run.stderr]) expect(text).not.toContain('hunter2');
      const down = await cli('load', '-c', '1', '-qps', '0', '-n', '2', '--stats', 'http://admin:hunter2@127.0.0.1:1/stats', url);
      expect(down.stderr).toContain('http://<redacted>@127.0.0.1:1/stats is unreachable');
      expect(down.stderr).not.toContain('hunter2');
    } finally {
      stats.closeAllConnections();
      await new Promise((resolve) => stats.close(resolve));
    }
  });

  it.each([
    [['--cluster', 'httpbin'], /--cluster needs a stats source/],
    [['--stats', 'localhost:15000/stats'], /--stats 'localhost:15000\/stats' is not an http\(s\) URL/],
    [['--stats', 'http://x/', '--stats-cmd', 'cat x'], /--stats, --stats-cmd and --stats-file exclude each other/],
  ])('%p is a usage error before anything starts', async (flags, pattern) => {
    const run = await cli('load', '-n', '1', ...flags, 'http://127.0.0.1:1/');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(pattern);
  });
});
