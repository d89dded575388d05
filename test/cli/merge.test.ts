/** `meshload merge` on real partial runs: three generators' results merge into one whose counts
 * add up and whose histogram is exactly the union of theirs; a scenario's checks are evaluated
 * again on the whole. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from '../../src/model/load-result';
import type { SidecarClusterReport, SidecarReport } from '../../src/model/sidecar-report';
import { Distribution } from '../../src/metrics/distribution';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { runCli } from '../../src/cli/main';
import { cli, testIo } from '../helpers/cli';
import { startHaproxy } from '../helpers/haproxy';

let dir: string;
let server: RunningEchoServer | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-merge-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function echoUrl(): Promise<string> {
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1000, maxPayloadBytes: 1024 });
  return server.echoUrl;
}

function meshloadOf(file: string): LoadResult {
  return (JSON.parse(readFileSync(file, 'utf8')) as { Meshload: LoadResult }).Meshload;
}

describe('meshload merge', () => {
  it('merges load results exactly: counts add, the histogram is the union of the parts', async () => {
    const url = await echoUrl();
    const parts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const file = join(dir, `part-${i}.json`);
      const run = await cli('load', '-qps', '0', '-c', '2', '-n', String(20 + 10 * i), '-allow-initial-errors', '-json', file, `${url}/echo?status=503:30&delay=1ms:50`);
      expect(run.code).toBe(0);
      parts.push(file);
    }
    const out = join(dir, 'merged.json');
    const run = await cli('merge', ...parts, '-o', out);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^merged 3 results$/m);
    expect(run.stderr).toMatch(/^All done 90 calls/m);
    const merged = meshloadOf(out);
    const each = parts.map(meshloadOf);
    expect(merged.latency.count).toBe(90);
    for (const code of ['200', '503']) expect(merged.codes[code] ?? 0).toBe(each.reduce((n, r) => n + (r.codes[code] ?? 0), 0));
    const union = new Distribution();
    for (const r of each) union.add(Distribution.decode(r.latency));
    const decoded = Distribution.decode(merged.latency);
    for (const p of [50, 90, 99, 99.9, 100]) expect(decoded.percentile(p)).toBe(union.percentile(p));
    expect(decoded.min).toBe(union.min);
    expect(decoded.max).toBe(union.max);
    expect((JSON.parse(readFileSync(out, 'utf8')) as { RetCodes: Record<string, number> }).RetCodes).toEqual(merged.codes);
  });

  it('says parts that did not run at the same time did not, instead of a generator that fell behind', async () => {
    const url = await echoUrl();
    const first = join(dir, 'first.json');
    expect((await cli('load', '-qps', '40', '-c', '2', '-n', '20', '-json', first, `${url}/echo`)).code).toBe(0);
    // The same run again a minute later, as a second laptop started late would have made it.
    const json = JSON.parse(readFileSync(first, 'utf8')) as { Meshload: LoadResult };
    const later = new Date(Date.parse(json.Meshload.startTime) + 60_000).toISOString();
    const second = join(dir, 'second.json');
    writeFileSync(second, JSON.stringify({ ...json, Meshload: { ...json.Meshload, startTime: later } }));
    const out = join(dir, 'merged.json');
    const run = await cli('merge', first, second, '-o', out);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^note: the parts did not run at the same time: all of them together for 0s of the [\d.]+m?s any of them ran \(.*first\.json from .*; .*second\.json from .*\); calls\/s is over those/m);
    expect(run.stderr).not.toMatch(/fell behind/);
    const merged = meshloadOf(out);
    expect(merged.fellBehind).toBe(false);
    // 40 calls over the two half-seconds they ran, not over the minute between them.
    expect(merged.actualQps).toBeGreaterThan(20);
  });

  it("re-evaluates a scenario's checks on the merged phases", async () => {
    const scenario = join(dir, 'part.yaml');
    // Each part alone makes 20 calls: "calls == 40" fails per part and passes merged.
    writeFileSync(scenario, 'name: fanned out\nserver: {}\nphases:\n  - name: load\n    load: { connections: 2, qps: 0, requests: 20 }\n    expect: [ "calls == 40", "status(200) == 100%" ]\n');
    for (let i = 0; i < 2; i++) {
      const run = await cli('run', scenario, '--report-dir', join(dir, `reports-${i}`));
      expect(run.code).toBe(1);
    }
    const results = [0, 1].map((i) => {
      const reports = join(dir, `reports-${i}`);
      return join(reports, readdirSync(reports)[0] as string, 'result.json');
    });
    const out = join(dir, 'merged.json');
    const run = await cli('merge', ...results, '-o', out);
    expect(run.stderr).toMatch(/PASS {9}calls == 40/);
    // The two parts ran one after the other, and merge says so.
    expect(run.stderr).toMatch(/^note: phase load: the parts did not run at the same time: all of them together for 0s of the /m);
    expect(run.stderr).toMatch(/== fanned out: PASS/);
    expect(run.code).toBe(0);
    const merged = JSON.parse(readFileSync(out, 'utf8')) as ScenarioResult;
    expect(merged.phases[0]?.load?.latency.count).toBe(40);
    expect(merged.verdict).toBe('pass');
    // On a terminal the same verdicts in colour; the merged file never has colour.
    const tty = testIo();
    tty.stderr.isTTY = true;
    expect(await runCli(['merge', ...results, '-o', out], tty.io)).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(tty.stderr.text).toMatch(/^ {2}\x1b\[32mPASS\x1b\[39m {9}calls == 40/m);
    expect(tty.stderr.text).toContain('\x1b[1m== fanned out: \x1b[32mPASS\x1b[39m');
    expect(readFileSync(out, 'utf8')).not.toContain('\x1b');
  });

  it("sums the generators' proxy stats: the merged cluster's deltas are the parts' added", async () => {
    const url = new URL(await echoUrl());
    const h = await startHaproxy({ upstream: url.host });
    try {
      // In a cluster every generator pod reads its own sidecar. Both parts here read one HAProxy,
      // so they run one after the other: each delta is then its own traffic only, as a pod's is.
      const parts: string[] = [];
      for (const [i, calls] of [60, 100].entries()) {
        const file = join(dir, `part-${i}.json`);
        const flags = ['-qps', '0', '-c', '2', '-n', String(calls), '-allow-initial-errors', '--stats', h.metricsUrl, '--cluster', h.backend, '--stats-interval', '100ms'];
        expect((await cli('load', ...flags, '-json', file, `${h.url}/echo?status=503:20`)).code).toBe(0);
        parts.push(file);
      }
      const out = join(dir, 'merged.json');
      const run = await cli('merge', ...parts, '-o', out);
      expect(run.code).toBe(0);
      const merged = meshloadOf(out);
      const each = parts.map(meshloadOf);
      const backendOf = (sidecar: SidecarReport | undefined): SidecarClusterReport | undefined => sidecar?.clusters.find((c) => c.cluster === h.backend);
      const mine = backendOf(merged.sidecar);
      const theirs = each.map((r) => backendOf(r.sidecar));
      expect(merged.sidecar?.unavailable).toBeUndefined();
      expect(merged.sidecar?.source).toBe(`2 sidecars: ${h.metricsUrl}`);
      const stats = new Set(theirs.flatMap((c) => Object.keys(c?.deltas ?? {})));
      expect(stats.size).toBeGreaterThan(0);
      for (const stat of stats) expect([stat, mine?.deltas[stat]]).toEqual([stat, theirs.reduce((n, c) => n + (c?.deltas[stat] ?? 0), 0)]);
      // HAProxy sent the upstream every call of both parts (no retries, no breaker, -n: no warm-up).
      expect(theirs.map((c) => c?.view.requestsSent)).toEqual([60, 100]);
      expect(mine?.view.requestsSent).toBe(160);
      expect(merged.sidecar?.total?.upstream5xx.final).toBe(merged.codes['503'] ?? 0);
      expect(merged.sidecar?.agreement.find((a) => a.name === 'requests')).toMatchObject({ client: 160, proxy: 160, agrees: true });
      expect(merged.sidecar?.agreement.find((a) => a.name === 'breaker')).toMatchObject({ client: 0, proxy: 0, agrees: true });
      // The hidden-count line offers -v, and merge has it: every stat, and no such line.
      expect(run.stderr).toMatch(/more not shown: .*-v shows them/);
      const verbose = await cli('merge', ...parts, '-v', '-o', join(dir, 'merged-v.json'));
      expect(verbose.code).toBe(0);
      expect(verbose.stderr).not.toMatch(/more not shown/);
      expect(verbose.stderr.split('\n').length).toBeGreaterThan(run.stderr.split('\n').length);
    } finally {
      await h.stop();
    }
  });

  it("re-evaluates stats checks on the summed proxy stats of a sharded run's shards", async () => {
    const url = new URL(await echoUrl());
    const h = await startHaproxy({ upstream: url.host });
    try {
      const scenario = join(dir, 'sharded.yaml');
      // Each shard makes 100 of the 200 calls: the count checks fail per shard, pass merged.
      writeFileSync(
        scenario,
        [
          'name: sharded through haproxy',
          `target: "${h.url}/echo?status=503:20"`,
          `sidecar: { stats: "${h.metricsUrl}", cluster: ${h.backend}, interval: 100ms }`,
          'defaults: { qps: 0, allowInitialErrors: true }',
          'phases:',
          '  - name: load',
          '    load: { connections: 2, requests: 200 }',
          '    expect: [ "calls == 200", "requests.sent == 200", "agree(requests)", "agree(breaker)" ]',
          '',
        ].join('\n'),
      );
      // One shard after the other: both read the same HAProxy (a pod reads its own sidecar).
      let logs = '';
      for (const shard of ['0/2', '1/2']) {
        const run = await cli('run', scenario, '--shard', shard, '--no-report');
        expect(run.code).toBe(0);
        expect(run.stderr).toMatch(/^ {2}FAIL {9}requests\.sent == 200 {2}\(expected == 200, observed 100; requests\.sent 100 is below the 200 expected\)/m);
        logs += run.stderr + run.stdout;
      }
      const file = join(dir, 'pods.log');
      writeFileSync(file, logs);
      const out = join(dir, 'merged.json');
      const run = await cli('merge', '--from-logs', file, '-o', out);
      expect(run.stderr).toMatch(/^merged 2 shards of 'sharded through haproxy'$/m);
      for (const check of ['calls == 200', 'requests.sent == 200', 'agree(requests)', 'agree(breaker)']) {
        expect(run.stderr).toMatch(new RegExp(`^ {2}PASS {9}${check.replace(/[.()]/g, '\\$&')}`, 'm'));
      }
      expect(run.code).toBe(0);
      const merged = JSON.parse(readFileSync(out, 'utf8')) as ScenarioResult;
      expect(merged.phases[0]?.load?.sidecar?.clusters.find((c) => c.cluster === h.backend)?.view.requestsSent).toBe(200);
    } finally {
      await h.stop();
    }
  });

  it.each([
    [['only-one.json'], /merge needs at least two result files/],
    [['/nonexistent/a.json', '/nonexistent/b.json'], /cannot read result \/nonexistent\/a\.json/],
  ])('%p is a usage error, exit 2', async (args, pattern) => {
    const run = await cli('merge', ...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(pattern);
  });

  it('refuses files that are not meshload results, or of two kinds', async () => {
    const fortioOnly = join(dir, 'fortio.json');
    writeFileSync(fortioOnly, JSON.stringify({ DurationHistogram: { Count: 1 } }));
    const notJson = join(dir, 'x.json');
    writeFileSync(notJson, 'nope');
    const scenario = join(dir, 'r.json');
    writeFileSync(scenario, JSON.stringify({ name: 'x', file: 'x.yaml', startTime: '2026-01-01T00:00:00Z', durationMs: 1, verdict: 'pass', interrupted: false, phases: [], always: [] }));
    let run = await cli('merge', fortioOnly, fortioOnly);
    expect(run.stderr).toMatch(/fortio\.json is a Fortio result without meshload's histograms/);
    run = await cli('merge', notJson, notJson);
    expect(run.stderr).toMatch(/x\.json is not JSON/);
    const url = await echoUrl();
    const load = join(dir, 'load.json');
    expect((await cli('load', '-qps', '0', '-n', '4', '-json', load, url)).code).toBe(0);
    run = await cli('merge', load, scenario);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/r\.json is a scenario result but .*load\.json is a load result/);
  });
});
