/** `meshload k8s job` proven locally: the manifest is the Indexed Job it should be, and its pods'
 * command line, run as three real processes against one echo server on loopback (what the pods
 * would do, with the index Kubernetes fills in), gives results whose merge, read back from log
 * text as `kubectl logs` returns it, is exactly the whole: the same shape as one unsharded run,
 * every count the sum of the parts, histograms the union of theirs, checks evaluated again. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { RESULT_MARKER } from '../../src/k8s/result-line';
import { Distribution } from '../../src/metrics/distribution';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { ISTIO_STATS_ANNOTATION } from '../../src/stats/sidecar-report';
import { runCli } from '../../src/cli/main';
import { cli, testIo, type CliRun } from '../helpers/cli';
import { startHeaderRecorder } from '../helpers/header-recorder';
import { MeshloadProcess } from '../helpers/spawn-meshload';
import { runProcess, type Finished } from '../helpers/run-process';

const BIN = join(__dirname, '..', '..', 'bin', 'meshload.js');
const SHARDS = 3;

let dir: string;
let server: RunningEchoServer;
let scenarioFile: string;

/** Two phases as the brief of a real gate would have them: counted calls at full speed, then a
 * paced rate; a `run:` step (shard 0 only), a `sleep:` (every shard) and an `always:` step. */
function scenarioText(target: string): string {
  return [
    'name: sharded gate',
    `target: ${target}`,
    'phases:',
    '  - name: counted',
    '    load: { connections: 6, qps: 0, requests: 300 }',
    '    expect: [ "calls == 300", "status(200) == 100%" ]',
    '  - name: paced',
    '    steps:',
    '      - run: echo configured',
    '      - sleep: 50ms',
    '    load: { connections: 3, qps: 150, duration: 2s }',
    '    expect: [ "calls == 300", "error_rate < 1%" ]',
    'always:',
    '  - run: echo cleaned up',
    '',
  ].join('\n');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-k8s-job-'));
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1000, maxPayloadBytes: 1024 });
  scenarioFile = join(dir, 'gate.yaml');
  writeFileSync(scenarioFile, scenarioText(server.echoUrl));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Manifest {
  configMap: { metadata: { name: string; namespace: string }; data: Record<string, string> };
  serviceAccount: { metadata: { name: string; namespace: string } } | undefined;
  role: { metadata: { name: string; namespace: string }; rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> } | undefined;
  roleBinding: { metadata: { name: string }; roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string; namespace: string }> } | undefined;
  job: {
    metadata: { name: string; namespace: string };
    spec: {
      completionMode: string;
      completions: number;
      parallelism: number;
      backoffLimit: number;
      template: {
        metadata: { labels: Record<string, string>; annotations: Record<string, string> };
        spec: {
          restartPolicy: string;
          serviceAccountName: string;
          automountServiceAccountToken?: boolean;
          containers: Array<{
            name: string;
            image: string;
            args: string[];
            securityContext: { runAsUser: number; runAsNonRoot: boolean };
            workingDir: string;
            volumeMounts: Array<{ name: string; mountPath: string }>;
          }>;
          volumes: Array<{ name: string; configMap: { name: string; items: Array<{ key: string; path: string }> } }>;
        };
      };
    };
  };
  text: string;
}

async function generate(...flags: string[]): Promise<Manifest> {
  const run = await cli('k8s', 'job', scenarioFile, '--parallelism', String(SHARDS), '--namespace', 'loadtest', '--name', 'gate', ...flags);
  expect(run.stderr).toMatch(/^Job gate: 3 pods start gate\.yaml at /m);
  expect(run.code).toBe(0);
  return manifestOf(run.stdout);
}

/** The printed documents by kind; each kind at most once. */
function manifestOf(text: string): Manifest {
  const docs = parseAllDocuments(text);
  for (const doc of docs) expect(doc.errors).toEqual([]);
  const byKind = new Map<string, unknown>();
  for (const value of docs.map((d) => d.toJS() as { kind: string })) {
    expect(byKind.has(value.kind)).toBe(false);
    byKind.set(value.kind, value);
  }
  expect([...byKind.keys()].every((k) => ['ServiceAccount', 'Role', 'RoleBinding', 'ConfigMap', 'Job'].includes(k))).toBe(true);
  return { configMap: byKind.get('ConfigMap'), job: byKind.get('Job'), serviceAccount: byKind.get('ServiceAccount'), role: byKind.get('Role'), roleBinding: byKind.get('RoleBinding'), text } as Manifest;
}

/** What the kubelet does with the container's args: $(JOB_COMPLETION_INDEX) filled in; the
 * ConfigMap mounted at /scenario (here, a directory holding its data). */
function podArgs(manifest: Manifest, index: number, mount: string): string[] {
  const args = manifest.job.spec.template.spec.containers[0]?.args ?? [];
  return args.map((a) => a.replace('$(JOB_COMPLETION_INDEX)', String(index)).replace(/^\/scenario\//, `${mount}/`));
}

/** What the kubelet does with a ConfigMap volume with `items`: each key's data at its path
 * under the mount, and nothing else. */
function mountConfigMap(manifest: Manifest, mount = join(dir, 'scenario')): string {
  mkdirSync(mount, { recursive: true });
  const volume = manifest.job.spec.template.spec.volumes[0];
  expect(volume?.configMap.name).toBe(manifest.configMap.metadata.name);
  for (const { key, path } of volume?.configMap.items ?? []) {
    expect(path.split('/')).not.toContain('..');
    const text = manifest.configMap.data[key];
    if (text === undefined) throw new Error(`item ${key} is not in the ConfigMap`);
    mkdirSync(join(mount, path, '..'), { recursive: true });
    writeFileSync(join(mount, path), text);
  }
  return mount;
}

function resultOf(stdout: string): ScenarioResult {
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
  if (line === undefined) throw new Error(`no result line in: ${stdout}`);
  return JSON.parse(line.slice(RESULT_MARKER.length)) as ScenarioResult;
}

describe('meshload k8s job', () => {
  it('prints an Indexed Job of N meshed, non-1337 pods and the ConfigMap with the scenario', async () => {
    const before = Date.now();
    const m = await generate('--image', 'registry.example.com/meshload:0.1.0', '--start-delay', '30s');
    const spec = m.job.spec;
    expect(m.job.metadata).toMatchObject({ name: 'gate', namespace: 'loadtest' });
    expect([spec.completionMode, spec.completions, spec.parallelism, spec.backoffLimit]).toEqual(['Indexed', 3, 3, 0]);
    const pod = spec.template;
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(pod.metadata.labels['sidecar.istio.io/inject']).toBe('true');
    expect(pod.metadata.annotations).toEqual({ ...(parse(ISTIO_STATS_ANNOTATION) as Record<string, string>), 'sidecar.istio.io/nativeSidecar': 'true' });
    expect(pod.metadata.annotations['proxy.istio.io/config']).toBe('{"proxyStatsMatcher":{"inclusionPrefixes":["cluster.outbound"]}}');
    const container = pod.spec.containers[0];
    expect(container?.image).toBe('registry.example.com/meshload:0.1.0');
    expect(container?.securityContext).toMatchObject({ runAsUser: 10001, runAsNonRoot: true });
    const args = container?.args ?? [];
    expect(args.slice(0, 4)).toEqual(['run', '/scenario/gate.yaml', '--shard', '$(JOB_COMPLETION_INDEX)/3']);
    expect(args[4]).toBe('--start-at');
    const startAt = Date.parse(args[5] ?? '');
    expect(startAt).toBeGreaterThanOrEqual(before + 30_000);
    expect(startAt).toBeLessThanOrEqual(Date.now() + 31_000);
    expect(m.configMap.metadata).toMatchObject({ name: 'gate-scenario', namespace: 'loadtest' });
    expect(m.configMap.data).toEqual({ 'gate.yaml': readFileSync(scenarioFile, 'utf8') });
    expect(container?.volumeMounts).toEqual([{ name: 'scenario', mountPath: '/scenario', readOnly: true }]);
    expect(pod.spec.volumes).toEqual([{ name: 'scenario', configMap: { name: 'gate-scenario', items: [{ key: 'gate.yaml', path: 'gate.yaml' }] } }]);
    // Its steps call no API: a ServiceAccount of its own, no Role, no token.
    expect(pod.spec.serviceAccountName).toBe('meshload');
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(m.serviceAccount?.metadata).toMatchObject({ name: 'meshload', namespace: 'loadtest' });
    expect(m.role).toBeUndefined();
    expect(m.roleBinding).toBeUndefined();
    // No comment names a file or note of meshload's own sources.
    expect(m.text).not.toMatch(/MESH-FACTS|STYLE\.md|\.ts\b/);
    // The follow-up commands, exactly, as comments at the top.
    expect(m.text).toMatch(/^# +meshload k8s job \S+gate\.yaml --parallelism 3 --namespace loadtest --image registry\.example\.com\/meshload:0\.1\.0 --name gate --start-delay 30s \| kubectl apply -n loadtest -f -$/m);
    expect(m.text).toMatch(/^# +kubectl wait -n loadtest --for=condition=complete --timeout=\d+s job\/gate$/m);
    expect(m.text).toContain('\n#   kubectl logs -n loadtest -l job-name=gate -c meshload --tail=-1 | meshload merge --from-logs - -o gate-merged.json\n');
    expect(m.text.indexOf('kubectl apply')).toBeLessThan(m.text.indexOf('apiVersion'));
  });

  it('its pods, run as 3 processes, merge from their logs into exactly the whole', async () => {
    const m = await generate('--start-delay', '4s');
    const mount = mountConfigMap(m);
    const pods = Array.from({ length: SHARDS }, (_, i) => new MeshloadProcess(podArgs(m, i, mount)));
    const codes = await Promise.all(pods.map((p) => p.exitCode()));
    // A shard's own checks fail (it made 100 of the 300 calls) but do not fail the pod.
    expect(codes).toEqual([0, 0, 0]);
    const parts = pods.map((p) => resultOf(p.stdout));
    expect(parts.map((p) => p.shard)).toEqual([0, 1, 2].map((index) => ({ index, count: 3 })));
    for (const part of parts) {
      expect(part.phases.map((p) => p.load?.latency.count)).toEqual([100, 100]);
      expect(part.phases[0]?.checks[0]).toMatchObject({ expression: 'calls == 300', verdict: 'fail', observedValue: 100 });
    }
    // --start-at: all three began the first phase together, not before the time.
    const startAt = Date.parse(m.job.spec.template.spec.containers[0]?.args[5] ?? '');
    const loadStarts = parts.map((p) => Date.parse(p.phases[0]?.load?.startTime ?? ''));
    for (const s of loadStarts) expect(s).toBeGreaterThanOrEqual(startAt);
    expect(Math.max(...loadStarts) - Math.min(...loadStarts)).toBeLessThan(1000);
    for (const pod of pods) expect(pod.stderr).toMatch(/^waiting until .*\(--start-at, in \d+\.\ds\)$/m);

    // kubectl logs of the pods: stderr and stdout lines, pod after pod.
    const logs = join(dir, 'pods.log');
    writeFileSync(logs, pods.map((p) => p.stderr + p.stdout).join(''));
    const out = join(dir, 'merged.json');
    const run = await cli('merge', '--from-logs', logs, '-o', out);
    expect(run.stderr).toMatch(/^merged 3 shards of 'sharded gate'$/m);
    expect(run.stderr).toMatch(/^ {2}PASS {9}calls == 300/m);
    expect(run.stderr).toMatch(/^== sharded gate: PASS/m);
    expect(run.code).toBe(0);
    const merged = JSON.parse(readFileSync(out, 'utf8')) as ScenarioResult;

    // The same shape as one unsharded run of the scenario.
    const whole = await cli('run', scenarioFile, '--report-dir', join(dir, 'reports'));
    expect(whole.code).toBe(0);
    const reportDir = join(dir, 'reports', readdirSync(join(dir, 'reports'))[0] as string);
    const unsharded = JSON.parse(readFileSync(join(reportDir, 'result.json'), 'utf8')) as ScenarioResult;
    expect(Object.keys(merged).sort()).toEqual(Object.keys(unsharded).sort());
    expect(merged.shard).toBeUndefined();
    expect(merged.phases.map((p) => [p.name, p.checks.map((c) => [c.path, c.expression, c.verdict])])).toEqual(
      unsharded.phases.map((p) => [p.name, p.checks.map((c) => [c.path, c.expression, c.verdict])]),
    );
    // Steps: shard 0's run: once, every shard's sleep:, none of the skipped records.
    expect(merged.phases[1]?.steps.map((s) => s.kind)).toEqual(['run', 'sleep', 'sleep', 'sleep']);
    expect(merged.always.map((s) => s.description)).toEqual(['echo cleaned up']);

    merged.phases.forEach((phase, i) => {
      const own = parts.map((p) => p.phases[i]?.load);
      const load = phase.load;
      if (load === undefined || own.some((l) => l === undefined)) throw new Error(`phase ${phase.name} has no load`);
      const ownLoads = own as NonNullable<(typeof own)[number]>[];
      expect(load.latency.count).toBe(300);
      expect(load.plan.connections).toBe(i === 0 ? 6 : 3);
      expect(load.plan.qps).toBe(i === 0 ? 0 : 150);
      for (const code of new Set(ownLoads.flatMap((l) => Object.keys(l.codes)))) {
        expect(load.codes[code]).toBe(ownLoads.reduce((n, l) => n + (l.codes[code] ?? 0), 0));
      }
      expect(load.codes).toEqual({ '200': 300 });
      // Histograms: exact count, min, max and sum of the parts; percentiles of their union.
      const latency = load.latency;
      expect(latency.count).toBe(ownLoads.reduce((n, l) => n + l.latency.count, 0));
      expect(latency.sum).toBe(ownLoads.reduce((n, l) => n + l.latency.sum, 0));
      expect(latency.min).toBe(Math.min(...ownLoads.map((l) => l.latency.min)));
      expect(latency.max).toBe(Math.max(...ownLoads.map((l) => l.latency.max)));
      const union = new Distribution();
      for (const l of ownLoads) union.add(Distribution.decode(l.latency));
      const decoded = Distribution.decode(latency);
      for (const p of [50, 75, 90, 99, 99.9, 100]) expect(decoded.percentile(p)).toBe(union.percentile(p));
    });

    // The same logs through stdin, as `kubectl logs ... | meshload merge --from-logs -` reads them.
    const piped = await pipeInto(['merge', '--from-logs', '-'], readFileSync(logs, 'utf8'));
    expect(piped.code).toBe(0);
    expect((JSON.parse(piped.stdout) as ScenarioResult).phases.map((p) => p.load?.latency.count)).toEqual([300, 300]);

    // A missing shard, or one given twice, is refused with the shard named.
    const lines = readFileSync(logs, 'utf8').split('\n');
    const resultLines = lines.filter((l) => l.startsWith(RESULT_MARKER));
    const withoutOne = join(dir, 'missing.log');
    writeFileSync(withoutOne, lines.filter((l) => l !== resultLines[1]).join('\n'));
    let refused = await cli('merge', '--from-logs', withoutOne);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^meshload: shard 1 of 3 missing: the merged result would not be the scenario's load \(give every shard's result: .*kubectl logs -l job-name=NAME -c meshload --tail=-1/m);
    const twice = join(dir, 'twice.log');
    writeFileSync(twice, [...lines, resultLines[0] ?? ''].join('\n'));
    refused = await cli('merge', '--from-logs', twice);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^meshload: shard 0 given 2 times \(.*twice\.log line \d+, .*twice\.log line \d+\)/m);
    const none = join(dir, 'none.log');
    writeFileSync(none, pods.map((p) => p.stderr).join(''));
    refused = await cli('merge', '--from-logs', none);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^meshload: no MESHLOAD-RESULT line in .*none\.log \(.*--tail=-1/m);
  });

  it.each([
    [['--parallelism', '0'], /--parallelism '0' is not a whole number of pods/],
    [['--parallelism', '3', '--name', 'Not_A_Label'], /--name 'Not_A_Label' is not a Job name/],
    [['--parallelism', '3', '--namespace', 'bad ns'], /--namespace 'bad ns' is not a namespace name/],
    [['--parallelism', '3', '--start-at', '2020-01-01T00:00:00Z'], /--start-at 2020-01-01T00:00:00Z is not in the future/],
    [['--parallelism', '3', '--start-at', 'tomorrow'], /--start-at 'tomorrow' is not an ISO 8601 time with a zone/],
    [['--parallelism', '3', '--start-at', '2099-01-01T00:00:00Z', '--start-delay', '1m'], /--start-at and --start-delay exclude each other/],
    [['--parallelism', '7'], /phases\[1\]\.load: 3 connections cannot be split across 7 shards: each shard needs at least one; use at most 3 shards/],
  ])('refuses %p with one line naming the fix, exit 2', async (flags, pattern) => {
    const run = await cli('k8s', 'job', scenarioFile, ...flags);
    expect(run.stderr).toMatch(pattern);
    expect(run.stdout).toBe('');
    expect(run.code).toBe(2);
  });

  it('refuses an unreadable or invalid scenario', async () => {
    let run = await cli('k8s', 'job', join(dir, 'nope.yaml'), '--parallelism', '2');
    expect(run.stderr).toMatch(/cannot read scenario .*nope\.yaml/);
    expect(run.code).toBe(2);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: x\nphases:\n  - name: p\n    load: { conections: 2 }\n');
    run = await cli('k8s', 'job', bad, '--parallelism', '2');
    expect(run.stderr).toMatch(/unknown key "conections"/);
    expect(run.code).toBe(2);
  });
});

describe('meshload k8s job with ${VAR} references', () => {
  const SECRET = 's3cr3t-value';

  async function cliWithEnv(env: Record<string, string>, ...argv: string[]): Promise<CliRun> {
    const { io, stdout, stderr } = testIo();
    const code = await runCli(argv, { ...io, env });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }

  function secretScenario(): string {
    const file = join(dir, 'secret.yaml');
    writeFileSync(
      file,
      [
        'name: secret gate',
        'target: ${TARGET}',
        'defaults:',
        '  headers: { Authorization: "Bearer ${TOKEN}" }',
        'phases:',
        '  - name: p',
        '    load: { connections: 2, qps: 0, requests: 4 }',
        '    expect: [ "calls == 4" ]',
        '',
      ].join('\n'),
    );
    return file;
  }

  it('puts no value of a secret variable in the manifest, and the pods still send it', async () => {
    const recorder = await startHeaderRecorder();
    try {
      const file = secretScenario();
      const local = { TOKEN: SECRET, TARGET: recorder.url };
      const run = await cliWithEnv(local, 'k8s', 'job', file, '--parallelism', '2', '--namespace', 'loadtest', '--name', 'sec', '--env', 'TARGET', '--start-delay', '3s');
      expect(run.code).toBe(0);
      expect(run.stdout + run.stderr).not.toContain(SECRET);
      const manifest = manifestOf(run.stdout);
      // The file as written, ${TOKEN} and all: the pods fill it in.
      expect(manifest.configMap.data).toEqual({ 'secret.yaml': readFileSync(file, 'utf8') });
      const container = manifest.job.spec.template.spec.containers[0] as unknown as { env: unknown };
      expect(container.env).toEqual([
        { name: 'TARGET', value: recorder.url },
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'meshload-secrets', key: 'TOKEN' } } },
      ]);
      const create = 'kubectl create secret generic meshload-secrets -n loadtest --from-literal=TOKEN="$TOKEN"';
      expect(run.stderr).toContain(`\n  ${create}\n`);
      expect(run.stdout).toContain(`\n#   ${create}\n`);

      // The pods, with the env the kubelet gives them: TOKEN from the Secret, TARGET as written.
      const mount = mountConfigMap(manifest);
      const podEnv = { PATH: process.env.PATH ?? '', TOKEN: SECRET, TARGET: recorder.url };
      const pods = await Promise.all([0, 1].map((i) => runProcess(process.execPath, [BIN, ...podArgs(manifest, i, mount)], { env: podEnv })));
      expect(pods.map((p) => p.code)).toEqual([0, 0]);
      const shards = pods.map((p) => resultOf(p.stdout));
      expect(shards.map((r) => r.phases[0]?.load?.latency.count)).toEqual([2, 2]);
      // Every request carried the token (2 timed calls and a warm-up per connection, per pod)...
      expect(recorder.valuesOf('authorization')).toEqual(Array(recorder.received.length).fill(`Bearer ${SECRET}`));
      expect(recorder.received.length).toBeGreaterThanOrEqual(4);
      // ...and no pod printed it.
      for (const pod of pods) expect(pod.stdout + pod.stderr).not.toContain(SECRET);
      expect(shards[0]?.phases[0]?.load?.plan.headers).toEqual([['Authorization', '<redacted>']]);
    } finally {
      await recorder.close();
    }
  });

  it('quotes no secret value in its notes, its validation errors or the Job name', async () => {
    const file = join(dir, 'noted.yaml');
    const text = (load: string): string =>
      ['name: gate ${TOKEN}', 'target: http://127.0.0.1:1', 'phases:', '  - name: p', '    steps: [ { run: "echo ${TOKEN} > /dev/null" } ]', `    load: ${load}`, ''].join('\n');
    writeFileSync(file, text('{ requests: 4 }'));
    const env = { TOKEN: SECRET, NUM: '918273' };
    const run = await cliWithEnv(env, 'k8s', 'job', file, '--parallelism', '2');
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
    expect(run.stderr).toContain("note: phases[0].steps[0]: 'echo ${TOKEN} > /dev/null' runs in shard 0's pod");
    expect(run.stdout).toMatch(/^ {2}name: meshload-gate-token$/m);
    // A value the schema refuses is quoted in the error: as its reference, not its value.
    writeFileSync(file, text('{ requests: 4, headers: { X-N: ${NUM} } }'));
    const bad = await cliWithEnv({ ...env, NUM: '918273' }, 'k8s', 'job', file, '--parallelism', '2');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/headers\["X-N"\].*\$\{NUM\}/);
    expect(bad.stdout + bad.stderr).not.toMatch(/918273|s3cr3t-value/);
  });

  it('refuses a variable that is neither set here nor given, naming where the pods read it', async () => {
    const run = await cliWithEnv({ TARGET: 'http://127.0.0.1:1' }, 'k8s', 'job', secretScenario(), '--parallelism', '2', '--env', 'TARGET', '--secret-name', 'gate-env');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/variable TOKEN is unset or empty/);
    expect(run.stderr).toMatch(/Secret gate-env/);
    expect(run.stdout).toBe('');
  });
});

const REPO = join(__dirname, '..', '..');
/** What each shipped scenario's steps do, as the Role must grant it: the checks list the rules
 * of the host, apply creates or patches, delete deletes. */
const ISTIO_VERBS = ['create', 'delete', 'get', 'list', 'patch'];
const SHIPPED: Array<[string, string[]]> = [
  ['scenarios/istio/circuit-breaker.yaml', ['destinationrules']],
  ['scenarios/istio/fault-injection.yaml', ['virtualservices']],
  ['scenarios/istio/retries.yaml', ['virtualservices']],
  ['scenarios/istio/timeout.yaml', ['virtualservices']],
  ['scenarios/istio/traffic-shift.yaml', ['destinationrules', 'virtualservices']],
  ['scenarios/examples/httpbin-breaker.yaml', ['destinationrules']],
];

describe('meshload k8s job for the shipped Istio scenarios', () => {
  it('covers every shipped Istio scenario', () => {
    const listed = readdirSync(join(REPO, 'scenarios', 'istio')).filter((f) => f.endsWith('.yaml')).map((f) => `scenarios/istio/${f}`);
    expect(SHIPPED.map(([f]) => f)).toEqual(expect.arrayContaining(listed));
  });

  it.each(SHIPPED)('%s: ships every manifest its steps name, at its path, and the ServiceAccount, Role and RoleBinding they need', async (file, resources) => {
    const run = await cli('k8s', 'job', join(REPO, file), '--parallelism', '1', '-n', 'mesh-test', '--name', 'gate', '--start-delay', '1m');
    expect(run.stderr).not.toMatch(/^meshload:/m);
    expect(run.code).toBe(0);
    const m = manifestOf(run.stdout);
    const text = readFileSync(join(REPO, file), 'utf8');
    const referenced = [...new Set([...text.matchAll(/kubectl \w+ -f ([\w./-]+)/g)].map((r) => r[1] as string))];
    expect(referenced.length).toBeGreaterThan(0);
    const items = m.job.spec.template.spec.volumes[0]?.configMap.items ?? [];
    const key = file.split('/').pop() as string;
    expect(items).toContainEqual({ key, path: key });
    expect(m.configMap.data[key]).toBe(text);
    for (const path of referenced) {
      const item = items.find((i) => i.path === path);
      expect(item?.key).not.toContain('/');
      expect(m.configMap.data[item?.key ?? '']).toBe(readFileSync(join(REPO, dirname(file), path), 'utf8'));
    }
    // Nothing else: the ConfigMap holds the scenario and what it names.
    expect(items.map((i) => i.path).sort()).toEqual([key, ...referenced].sort());
    expect(Object.keys(m.configMap.data).sort()).toEqual(items.map((i) => i.key).sort());
    const pod = m.job.spec.template.spec;
    expect(pod.serviceAccountName).toBe('meshload');
    expect(pod.automountServiceAccountToken).toBeUndefined();
    expect(pod.containers[0]?.workingDir).toBe('/scenario');
    expect(m.serviceAccount?.metadata).toMatchObject({ name: 'meshload', namespace: 'mesh-test' });
    expect(m.role?.metadata).toMatchObject({ name: 'gate', namespace: 'mesh-test' });
    expect(m.role?.rules).toEqual(resources.map((r) => ({ apiGroups: ['networking.istio.io'], resources: [r], verbs: ISTIO_VERBS })));
    expect(m.roleBinding?.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'gate' });
    expect(m.roleBinding?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'meshload', namespace: 'mesh-test' }]);
    expect(m.text).toContain('kubectl delete -n mesh-test job/gate configmap/gate-scenario role/gate rolebinding/gate');
    expect(m.text).not.toMatch(/MESH-FACTS/);
  });

  it('names another ServiceAccount, and with --no-rbac prints none of the three', async () => {
    const file = join(REPO, 'scenarios/istio/retries.yaml');
    let m = manifestOf((await cli('k8s', 'job', file, '--parallelism', '1', '-n', 'mesh-test', '--service-account', 'ci-runner')).stdout);
    expect(m.job.spec.template.spec.serviceAccountName).toBe('ci-runner');
    expect(m.serviceAccount?.metadata.name).toBe('ci-runner');
    expect(m.roleBinding?.subjects[0]?.name).toBe('ci-runner');
    const run = await cli('k8s', 'job', file, '--parallelism', '1', '--service-account', 'ci-runner', '--no-rbac');
    expect(run.code).toBe(0);
    m = manifestOf(run.stdout);
    expect([m.serviceAccount, m.role, m.roleBinding]).toEqual([undefined, undefined, undefined]);
    expect(m.job.spec.template.spec.serviceAccountName).toBe('ci-runner');
    expect(m.text).toMatch(/--service-account ci-runner --no-rbac \| kubectl apply/);
  });

  it('its pod, run here in a folder laid out as the ConfigMap volume, finds the manifests where the steps name them', async () => {
    // The scenario's own folder, with manifests in a subfolder and a file a plain command reads.
    const source = mkdtempSync(join(tmpdir(), 'meshload-k8s-src-'));
    const mount = mkdtempSync(join(tmpdir(), 'meshload-k8s-mount-'));
    const bin = mkdtempSync(join(tmpdir(), 'meshload-k8s-bin-'));
    try {
      mkdirSync(join(source, 'manifests'));
      mkdirSync(join(source, 'data'));
      const rule = 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: meshload-e2e\nspec:\n  hosts: [svc]\n';
      writeFileSync(join(source, 'manifests', 'rule.yaml'), rule);
      writeFileSync(join(source, 'data', 'expected.txt'), 'shipped\n');
      writeFileSync(
        join(source, 'e2e.yaml'),
        [
          'name: e2e',
          `target: ${server.echoUrl}`,
          'phases:',
          '  - name: p',
          '    steps:',
          '      - run: kubectl apply -f manifests/rule.yaml',
          '      - run: grep -q shipped data/expected.txt',
          '    load: { connections: 1, requests: 2 }',
          'always:',
          '  - run: kubectl delete -f manifests/rule.yaml --ignore-not-found',
          '',
        ].join('\n'),
      );
      const run = await cli('k8s', 'job', join(source, 'e2e.yaml'), '--parallelism', '1', '-n', 'loadtest', '--start-delay', '3s');
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('Shipped with the scenario, under /scenario: data/expected.txt, manifests/rule.yaml\n');
      const m = manifestOf(run.stdout);
      expect(m.role?.rules).toEqual([{ apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['create', 'delete', 'get', 'patch'] }]);
      mountConfigMap(m, mount);
      // A kubectl that acts on the file as the real one reads it: relative to its working directory.
      const log = join(bin, 'kubectl.log');
      writeFileSync(join(bin, 'kubectl'), `#!/bin/sh\nprintf '%s %s ' "$1" "$3" >> '${log}'\nhead -c 200 "$3" | grep '^kind:' >> '${log}' || { echo "kubectl: $3 not found in $PWD" >&2; exit 1; }\n`, { mode: 0o755 });
      const container = m.job.spec.template.spec.containers[0];
      const args = (container?.args ?? []).map((a) => a.replace('$(JOB_COMPLETION_INDEX)', '0').replace(/^\/scenario\//, `${mount}/`));
      // The container's workingDir, /scenario, is the mount.
      expect(container?.workingDir).toBe('/scenario');
      const pod = await runProcess(process.execPath, [BIN, ...args], { cwd: mount, env: { PATH: `${bin}:${process.env.PATH ?? ''}` } });
      expect(pod.stderr).not.toMatch(/not found/);
      expect(pod.code).toBe(0);
      expect(readFileSync(log, 'utf8')).toBe('apply manifests/rule.yaml kind: VirtualService\ndelete manifests/rule.yaml kind: VirtualService\n');
      const result = resultOf(pod.stdout);
      expect([result.phases[0]?.steps.length, result.always.length]).toEqual([2, 1]);
    } finally {
      for (const d of [source, mount, bin]) rmSync(d, { recursive: true, force: true });
    }
  });

  describe('refuses, exit 2 with one line, a step it cannot ship or grant', () => {
    let bad: string;
    beforeAll(() => {
      bad = mkdtempSync(join(tmpdir(), 'meshload-k8s-bad-'));
      mkdirSync(join(bad, 'scen'));
      mkdirSync(join(bad, 'scen', 'manifests'));
      writeFileSync(join(bad, 'outside.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n');
      writeFileSync(join(bad, 'scen', 'manifests', 'ok.yaml'), 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: meshload-x }\n');
      writeFileSync(join(bad, 'scen', 'manifests', 'elsewhere.yaml'), 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: meshload-x, namespace: prod }\n');
      writeFileSync(join(bad, 'scen', 'manifests', 'big.yaml'), `# ${'x'.repeat(1024 * 1024)}\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: big }\n`);
    });
    afterAll(() => rmSync(bad, { recursive: true, force: true }));

    it.each([
      ['a missing file', 'kubectl apply -f manifests/nope.yaml', /kubectl -f manifests\/nope\.yaml: no such file beside the scenario/],
      ['a ../ path', 'kubectl apply -f ../outside.yaml', /kubectl -f \.\.\/outside\.yaml: outside the scenario's folder/],
      ['a URL', 'kubectl apply -f https://example.com/dr.yaml', /kubectl -f https:\/\/example\.com\/dr\.yaml: a URL is not shipped/],
      ['an absolute path', 'kubectl apply --filename=/etc/hosts', /kubectl -f \/etc\/hosts: an absolute path is not shipped/],
      ['a glob', "kubectl apply -f 'manifests/*.yaml'", /a pattern is not shipped/],
      ['stdin', 'kubectl apply -f -', /reads manifests from stdin/],
      ['a here-document', 'kubectl apply -f - <<EOF', /cannot read 'kubectl apply -f - <<EOF' .*a here-document/],
      ['a file named by a variable', 'kubectl apply -f "$RULE"', /a file named by a variable/],
      ['a kustomize folder', 'kubectl apply -k manifests', /a kustomize folder is not shipped/],
      ['an unknown verb', 'kubectl rollout restart deploy/x', /kubectl rollout: meshload does not know the rights/],
      ['another namespace', 'kubectl delete dr meshload-x -n prod', /acts in namespace prod, but the Role holds in namespace loadtest only/],
      ['a manifest of another namespace', 'kubectl apply -f manifests/elsewhere.yaml', /DestinationRule in namespace prod/],
      ['another identity', 'kubectl --context prod apply -f manifests/ok.yaml', /acts as another identity/],
      ['a name holding a newline', 'kubectl apply -f "a\nb.yaml"', /kubectl -f a\\x0ab\.yaml: no such file/],
      ['more than a ConfigMap holds', 'kubectl apply -f manifests/big.yaml', /^meshload: the scenario and the files its steps name take more than \d+ bytes \(at manifests\/big\.yaml\): a ConfigMap holds at most 1 MiB in Kubernetes/],
    ])('%s', async (_, command, pattern) => {
      const file = join(bad, 'scen', 'gate.yaml');
      writeFileSync(file, `name: bad\ntarget: http://127.0.0.1:1\nphases:\n  - name: p\n    steps:\n      - run: ${JSON.stringify(command)}\n    load: { requests: 2 }\n`);
      const run = await cliWithEnv({ RULE: 'manifests/ok.yaml' }, 'k8s', 'job', file, '--parallelism', '1', '-n', 'loadtest');
      expect(run.stderr).toMatch(pattern);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^meshload: (phases\[0\]\.steps\[0\]|the scenario and the files)/);
      expect(run.stdout).toBe('');
      expect(run.code).toBe(2);
    });

    it('a kubectl step without -n: the RoleBinding must name the namespace', async () => {
      const file = join(bad, 'scen', 'gate.yaml');
      writeFileSync(file, 'name: bad\ntarget: http://127.0.0.1:1\nphases:\n  - name: p\n    steps: [ { run: kubectl apply -f manifests/ok.yaml } ]\n    load: { requests: 2 }\n');
      const run = await cli('k8s', 'job', file, '--parallelism', '1');
      expect(run.stderr).toBe("meshload: the steps call kubectl, and the RoleBinding granting their rights must name the Job's namespace (give -n NAMESPACE, or --no-rbac if you grant the rights yourself)\n");
      expect(run.code).toBe(2);
      // The files are still checked with --no-rbac; the rights are the user's.
      expect((await cli('k8s', 'job', file, '--parallelism', '1', '--no-rbac')).code).toBe(0);
    });
  });
});

async function cliWithEnv(env: Record<string, string>, ...argv: string[]): Promise<CliRun> {
  const { io, stdout, stderr } = testIo();
  const code = await runCli(argv, { ...io, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

function pipeInto(args: string[], input: string): Promise<Finished> {
  return runProcess(process.execPath, [BIN, ...args], { input });
}
