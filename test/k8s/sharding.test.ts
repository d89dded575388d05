/** The pure parts of running one scenario from N generators: dividing a plan exactly, which steps
 * each shard runs, the --shard and --start-at flags, the result line, checking a merge has every
 * shard once, and the Job's defaults. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evenShares, shardPlan, shardProblem } from '../../src/engine/split-plan';
import { defaultName, estimatedMs, jobNotes, planJob, scenarioKey } from '../../src/k8s/job-plan';
import { resultLine, resultsFromLogs } from '../../src/k8s/result-line';
import { parseShard, startAtOf } from '../../src/k8s/sharding';
import { everyShardOnce } from '../../src/report/merge-files';
import { runsOnEveryShard, shardProblems } from '../../src/scenario/run-scenario';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { loadScenario } from '../../src/scenario/load-scenario';
import { type Step } from '../../src/scenario/scenario-schema';
import { MeshloadError } from '../../src/util/errors';
import { cli } from '../helpers/cli';
import { loadPlan } from '../helpers/load-plan';

describe('shardPlan', () => {
  it.each([
    [7, 3, [3, 2, 2]],
    [300, 3, [100, 100, 100]],
    [1001, 4, [251, 250, 250, 250]],
    [5, 5, [1, 1, 1, 1, 1]],
  ])('evenShares(%p, %p) is %p: at most one apart, adding up exactly', (total, n, expected) => {
    expect(evenShares(total, n)).toEqual(expected);
  });

  it('divides connections, rate, calls and the in-flight cap so the shards add up to the plan', () => {
    const plan = loadPlan({ connections: 7, qps: 700, requests: 1001, open: { maxInflight: 10 }, workers: 2 });
    const shards = [0, 1, 2].map((i) => shardPlan(plan, i, 3));
    expect(shards.map((s) => s.connections)).toEqual([3, 2, 2]);
    // The rate follows the connections: each keeps the pace it has in one generator (100/s).
    expect(shards.map((s) => s.qps)).toEqual([300, 200, 200]);
    expect(shards.map((s) => s.requests)).toEqual([334, 334, 333]);
    expect(shards.map((s) => s.open?.maxInflight)).toEqual([4, 3, 3]);
    expect(shards.every((s) => s.workers === 2)).toBe(true);
  });

  it('divides a ramp like a rate', () => {
    const shards = [0, 1].map((i) => shardPlan(loadPlan({ connections: 4, ramp: { from: 40, to: 400 } }), i, 2));
    expect(shards.map((s) => s.ramp)).toEqual([{ from: 20, to: 200 }, { from: 20, to: 200 }]);
  });

  it('refuses more shards than connections, calls or in-flight slots: a shard would sit idle', () => {
    expect(shardProblem(loadPlan({ connections: 3 }), 4)).toBe('3 connections cannot be split across 4 shards: each shard needs at least one; use at most 3 shards, or raise connections to 4');
    expect(shardProblem(loadPlan({ connections: 4, requests: 2 }), 3)).toMatch(/^2 requests cannot be split across 3 shards/);
    expect(shardProblem(loadPlan({ connections: 4, open: { maxInflight: 2 } }), 3)).toMatch(/^maxInflight 2 cannot be split/);
    expect(shardProblem(loadPlan({ connections: 3, requests: 3 }), 3)).toBeUndefined();
    expect(() => shardPlan(loadPlan({ connections: 1 }), 0, 2)).toThrow(/1 connection cannot be split across 2 shards/);
  });
});

describe('which steps each shard runs', () => {
  const scenario = loadScenario(
    [
      'name: s',
      'server: { admin: true }',
      'sidecar: { stats: "http://localhost:15000/stats", cluster: httpbin }',
      'phases:',
      '  - name: p',
      '    steps:',
      '      - run: kubectl apply -f dr.yaml',
      '      - waitFor: { clusters: { maxConnections: 1 } }',
      '      - sleep: 1s',
      '      - start: { command: "haproxy -f x.cfg" }',
      '      - chaos: { set: "status=503", admin: "http://server-admin:8079" }',
      '      - chaos: { clear: true }',
      '    load: { connections: 2, requests: 10 }',
      '',
    ].join('\n'),
    'gate.yaml',
  );
  const steps = scenario.phases[0]?.steps ?? [];

  it('shared changes once (run:, chaos: on a named admin), the pod\'s own steps on every shard', () => {
    expect(steps.map((s: Step) => [s.kind, runsOnEveryShard(s)])).toEqual([
      ['run', false],
      ['waitFor', true],
      ['sleep', true],
      ['start', true],
      ['chaos', false],
      ['chaos', true],
    ]);
  });

  it('lists every phase whose load cannot be divided, with its path', () => {
    expect(shardProblems(scenario, 2)).toEqual([]);
    expect(shardProblems(scenario, 3).map((i) => i.path)).toEqual(['phases[0].load']);
  });
});

describe('--shard and --start-at', () => {
  it.each([
    ['0/3', { index: 0, count: 3 }],
    ['2/3', { index: 2, count: 3 }],
    [' 0 / 1 ', { index: 0, count: 1 }],
  ])('parses %p', (text, shard) => {
    expect(parseShard(text)).toEqual(shard);
  });

  it.each(['3/3', '1/0', '-1/3', '1', 'a/b', '$(JOB_COMPLETION_INDEX)/3'])('refuses %p as a usage error', (text) => {
    expect(() => parseShard(text)).toThrow(MeshloadError);
  });

  it('waits for a future time, starts at once up to 5s late, refuses later', () => {
    const at = Date.parse('2030-01-01T12:00:00Z');
    expect(startAtOf('2030-01-01T12:00:00Z', at - 2000)).toEqual({ atMs: at, lateMs: 0 });
    expect(startAtOf('2030-01-01T13:00:00+01:00', at + 4000)).toEqual({ atMs: at, lateMs: 4000 });
    expect(() => startAtOf('2030-01-01T12:00:00Z', at + 6000)).toThrow(/passed 6s ago: this part would start after the others/);
    expect(() => startAtOf('2030-01-01T12:00:00', at)).toThrow(/not an ISO 8601 time with a zone/);
  });

  describe('meshload run', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'meshload-shard-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each([
      [['--shard', '3/3'], /^meshload: --shard 3\/3: the index must be from 0 to 2/m],
      [['--shard', '0/4'], /phases\[0\]\.load: 3 connections cannot be split across 4 shards/],
      [['--start-at', '2000-01-01T00:00:00Z'], /^meshload: --start-at 2000-01-01T00:00:00Z passed .* ago/m],
    ])('%p is refused before anything starts, exit 2', async (flags, pattern) => {
      const file = join(dir, 's.yaml');
      writeFileSync(file, 'name: s\ntarget: http://127.0.0.1:1\nphases:\n  - name: p\n    load: { connections: 3, requests: 9 }\n');
      const run = await cli('run', file, '--no-report', ...flags);
      expect(run.stderr).toMatch(pattern);
      expect(run.stderr).not.toMatch(/== phase/);
      expect(run.code).toBe(2);
    });
  });
});

describe('result lines in logs', () => {
  const part = (index: number, count = 3): ScenarioResult => ({
    name: 'gate',
    file: 'gate.yaml',
    startTime: '2030-01-01T12:00:00.000Z',
    durationMs: 1000,
    phases: [],
    always: [],
    verdict: 'pass',
    interrupted: false,
    shard: { index, count },
  });

  it('finds each marked line, after any prefix kubectl adds, and nothing else', () => {
    const text = [
      'waiting until 2030-01-01T12:00:00.000Z',
      resultLine(part(0)).trimEnd(),
      `[pod/gate-1-abcde/meshload] ${resultLine(part(1)).trimEnd()}`,
      `2030-01-01T12:00:05.123456789Z ${resultLine(part(2))}`,
    ].join('\n');
    const { found, broken } = resultsFromLogs(text);
    expect(broken).toEqual([]);
    expect(found.map((f) => [f.line, (f.data as ScenarioResult).shard?.index])).toEqual([
      [2, 0],
      [3, 1],
      [4, 2],
    ]);
    expect(resultLine(part(0)).split('\n')).toHaveLength(2);
  });

  it('reports a marked line cut short instead of skipping it', () => {
    const { found, broken } = resultsFromLogs(`x\n${resultLine(part(0)).slice(0, 40)}\n`);
    expect(found).toEqual([]);
    expect(broken.map((b) => b.line)).toEqual([2]);
  });

  it('merge needs every shard exactly once, in one count', () => {
    const files = (parts: ScenarioResult[]): Array<{ file: string; result: ScenarioResult }> => parts.map((result, i) => ({ file: `f${i}`, result }));
    expect(everyShardOnce(files([part(2), part(0), part(1)]))?.map((p) => p.result.shard?.index)).toEqual([0, 1, 2]);
    expect(everyShardOnce(files([{ ...part(0), shard: undefined } as unknown as ScenarioResult]))).toBeUndefined();
    expect(() => everyShardOnce(files([part(0), part(2)]))).toThrow(/^shard 1 of 3 missing/);
    expect(() => everyShardOnce(files([part(0), part(1), part(1), part(2)]))).toThrow(/^shard 1 given 2 times \(f1, f2\)/);
    expect(() => everyShardOnce(files([part(0), part(1, 4)]))).toThrow(/f1 is shard 1\/4 but f0 is shard 0\/3/);
    const whole = { ...part(0) } as Partial<ScenarioResult>;
    delete whole.shard;
    expect(() => everyShardOnce(files([part(0), whole as ScenarioResult]))).toThrow(/f1 is a whole run but f0 is shard 0\/3/);
    expect(() => everyShardOnce(files([{ ...part(0), shard: { index: 3, count: 3 } }]))).toThrow(/malformed shard/);
  });
});

describe('the Job plan', () => {
  const scenario = loadScenario(
    'name: Istio Circuit Breaker!\ntarget: http://h:80\nphases:\n  - name: a\n    steps: [ { sleep: 5s } ]\n    load: { connections: 4, duration: 20s }\n  - name: b\n    load: { connections: 4, requests: 100 }\n',
    'x.yaml',
  );

  it('names the Job after the scenario, as a DNS label that fits the pod hostnames', () => {
    expect(defaultName('Istio Circuit Breaker!', 61)).toBe('meshload-istio-circuit-breaker');
    expect(defaultName('x'.repeat(100), 20)).toBe(`meshload-${'x'.repeat(11)}`);
    expect(defaultName('---', 61)).toBe('meshload');
  });

  it('keys the ConfigMap by the file name', () => {
    expect(scenarioKey('scenarios/istio/circuit-breaker.yaml')).toBe('circuit-breaker.yaml');
    expect(scenarioKey('/tmp/my gate.yaml')).toBe('my-gate.yaml');
  });

  it('waits for the start delay, the timed phases and sleeps, and a margin', () => {
    expect(estimatedMs(scenario)).toBe(25_000);
    const now = Date.parse('2030-01-01T12:00:00.200Z');
    const input = planJob({ file: 'x.yaml', text: 't', scenario, env: { secretName: 'meshload-secrets', vars: [], plain: {} }, steps: { files: [], kubectl: [], notes: [] }, flags: { parallelism: '4' }, nowMs: now, version: '0.1.0', commandLine: 'meshload k8s job x.yaml --parallelism 4' });
    expect(input).toMatchObject({
      name: 'meshload-istio-circuit-breaker',
      namespace: undefined,
      image: 'ghcr.io/meshload/meshload:0.1.0',
      parallelism: 4,
      scenarioKey: 'x.yaml',
      startAt: '2030-01-01T12:01:01Z',
      generatedAt: '2030-01-01T12:00:00Z',
      waitTimeoutSeconds: 61 + 25 + 600,
    });
  });

  it('says which run: steps will need the image and the pod to allow them', () => {
    const withSteps = loadScenario('name: n\ntarget: http://h:80\nphases:\n  - name: a\n    steps: [ { run: kubectl apply -f dr.yaml }, { sleep: 1s } ]\nalways:\n  - run: kubectl delete -f dr.yaml\n', 'n.yaml');
    expect(jobNotes(withSteps).map((n) => n.split(':')[0])).toEqual(['phases[0].steps[0]', 'always[0]']);
    expect(jobNotes(scenario)).toEqual([]);
  });
});
