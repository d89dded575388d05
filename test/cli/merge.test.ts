/** `meshload merge` on real partial runs: three generators' results merge into one whose counts
 * add up and whose histogram is exactly the union of theirs; a scenario's checks are evaluated
 * again on the whole. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from '../../src/engine/load-result';
import { Distribution } from '../../src/metrics/distribution';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { cli } from '../helpers/cli';

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
    expect(run.stderr).toMatch(/== fanned out: PASS/);
    expect(run.code).toBe(0);
    const merged = JSON.parse(readFileSync(out, 'utf8')) as ScenarioResult;
    expect(merged.phases[0]?.load?.latency.count).toBe(40);
    expect(merged.verdict).toBe('pass');
  });

  it.each([
    [['only-one.json'], /merge needs at least two result files/],
    [['/nonexistent/a.json', '/nonexistent/b.json'], /cannot read \/nonexistent\/a\.json/],
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
    writeFileSync(scenario, JSON.stringify({ name: 'x', phases: [] }));
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
