/** --stats-pod POD: the sidecar's stats through `kubectl exec POD -c istio-proxy -- pilot-agent
 * request GET stats`, proven with a fake kubectl on PATH that records its argv and prints an
 * Istio-shaped dump. The stats command runs as a child process (bin/meshload.js, built by
 * `npm test`'s pretest) because the command source inherits the process environment, and only a
 * child's PATH can be pointed at the fake. */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandStatsPod, statsPodCommand } from '../../src/cli/stats-flags';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import type { SidecarReport } from '../../src/model/sidecar-report';
import { cli } from '../helpers/cli';
import { runProcess, type Finished } from '../helpers/run-process';

const BIN = join(__dirname, '..', '..', 'bin', 'meshload.js');
const FIXTURE = join(__dirname, '..', 'fixtures', 'stats', 'istio-1.23-sidecar.txt');
const HTTPBIN = 'outbound|8000||httpbin.default.svc.cluster.local';
const STATS_ARGV = ['-c', 'istio-proxy', '--', 'pilot-agent', 'request', 'GET', 'stats'];

let dir: string | undefined;
let server: RunningEchoServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A directory holding an executable `kubectl` that appends its argv (tab-separated, one call a
 * line) to `calls` and prints the fixture, as `pilot-agent request GET stats` would. */
function fakeKubectl(): { bin: string; calls: () => string[][]; marker: string } {
  dir = mkdtempSync(join(tmpdir(), 'meshload-stats-pod-'));
  const log = join(dir, 'calls.tsv');
  const script = join(dir, 'kubectl');
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\t' "$@" >> '${log}'\nprintf '\\n' >> '${log}'\ncat '${FIXTURE}'\n`);
  chmodSync(script, 0o755);
  const calls = (): string[][] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => line.split('\t').slice(0, -1))
      : [];
  return { bin: dir, calls, marker: join(dir, 'injected') };
}

/** Runs bin/meshload.js with `binDir` first on PATH; resolves with its exit code and output. */
function meshload(binDir: string, args: string[]): Promise<Finished> {
  return runProcess(process.execPath, [BIN, ...args], { env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}` } });
}

describe('--stats-pod', () => {
  it('meshload stats runs kubectl exec POD -c istio-proxy -- pilot-agent request GET stats, without a shell word more', async () => {
    const kubectl = fakeKubectl();
    const run = await meshload(kubectl.bin, ['stats', '--stats-pod', 'deploy/meshload-client', '--cluster', 'httpbin']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(kubectl.calls()).toEqual([['exec', 'deploy/meshload-client', ...STATS_ARGV]]);
    expect(run.stdout).toMatch(
      /^Sidecar \(envoy stats, envoy-text, from command 'kubectl exec deploy\/meshload-client -c istio-proxy -- pilot-agent request GET stats', cluster httpbin: 1 matched\)$/m,
    );
    expect(run.stdout).toContain(HTTPBIN);
  });

  it('adds -n NAMESPACE with --stats-namespace (Go-style flags too), and the dump parses into the JSON view', async () => {
    const kubectl = fakeKubectl();
    const run = await meshload(kubectl.bin, ['stats', '-stats-pod', 'meshload-client-7d9f8b6c5-x2x7q', '-stats-namespace', 'mesh-test', '--cluster', 'httpbin', '--json']);
    expect(run.code).toBe(0);
    expect(kubectl.calls()).toEqual([['exec', '-n', 'mesh-test', 'meshload-client-7d9f8b6c5-x2x7q', ...STATS_ARGV]]);
    const report = JSON.parse(run.stdout) as SidecarReport;
    expect(report.clusters.map((c) => c.cluster)).toEqual([HTTPBIN]);
    // The fixture's counters since the proxy started: 21 pending overflows, 9 requests sent.
    const cluster = report.clusters[0] as SidecarReport['clusters'][number];
    expect(cluster.deltas.upstream_rq_pending_overflow).toBe(21);
    expect(cluster.view.breakerRejections.pending).toBe(21);
    expect(cluster.view.requestsSent).toBe(9);
  });

  it('meshload load reads the pod sidecar before and after the run', async () => {
    server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1500, maxPayloadBytes: 1024 });
    const kubectl = fakeKubectl();
    const run = await meshload(kubectl.bin, ['load', '-c', '1', '-qps', '0', '-n', '5', '--stats-interval', '0', '--stats-pod', 'deploy/meshload-client', '--cluster', 'httpbin', server.echoUrl]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Code 200 : 5 \(100\.0 %\)$/m);
    expect(run.stderr).toMatch(/^Sidecar \(envoy stats, envoy-text, from command 'kubectl exec deploy\/meshload-client -c istio-proxy -- pilot-agent request GET stats'/m);
    const calls = kubectl.calls();
    expect(calls.length).toBeGreaterThanOrEqual(2); // before and after
    for (const call of calls) expect(call).toEqual(['exec', 'deploy/meshload-client', ...STATS_ARGV]);
  });

  it("meshload verify writes it into the scenario's sidecar as the command it stands for", async () => {
    const manifest = join(__dirname, '..', '..', 'scenarios', 'istio', 'manifests', 'meshload-server-retries.yaml');
    const run = await cli('verify', '-f', manifest, 'http://meshload-server:8080/echo', '--stats-pod', 'deploy/meshload-client', '--stats-namespace', 'mesh', '--dry-run', '--backend', 'meshload');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}statsCmd: kubectl exec -n mesh deploy\/meshload-client -c istio-proxy -- pilot-agent request GET stats$/m);
  });

  it('never hands a rejected name to a shell', async () => {
    const kubectl = fakeKubectl();
    const run = await meshload(kubectl.bin, ['stats', '--stats-pod', `x;touch ${kubectl.marker}`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^meshload: --stats-pod 'x;touch .*' is not a pod name/);
    expect(existsSync(kubectl.marker)).toBe(false);
    expect(kubectl.calls()).toEqual([]);
  });

  it.each([
    ['an upper-case name', ['--stats-pod', 'Deploy/Client'], /--stats-pod 'Deploy\/Client' is not a pod name \(give a pod or KIND\/NAME/],
    ['a command substitution', ['--stats-pod', 'client $(id)'], /--stats-pod 'client \$\(id\)' is not a pod name/],
    ['a kubectl flag', ['--stats-pod=--kubeconfig=/tmp/x'], /--stats-pod '--kubeconfig=\/tmp\/x' is not a pod name/],
    ['a kind without a name', ['--stats-pod', 'deploy/'], /--stats-pod 'deploy\/' is not a pod name/],
    ['a name without a kind', ['--stats-pod', '/client'], /--stats-pod '\/client' is not a pod name/],
    ['a name over 253 characters', ['--stats-pod', `a${'b'.repeat(253)}`], /is not a pod name/],
    ['a bad namespace', ['--stats-pod', 'client', '--stats-namespace', 'Mesh_Test'], /--stats-namespace 'Mesh_Test' is not a namespace name/],
    ['a namespace over 63 characters', ['--stats-pod', 'client', '--stats-namespace', 'n'.repeat(64)], /is not a namespace name/],
    ['a namespace without a pod', ['--stats-namespace', 'mesh', '--stats-cmd', 'cat x'], /--stats-namespace needs --stats-pod/],
    ['--stats-pod with --stats', ['--stats-pod', 'client', '--stats', 'http://localhost:15000/stats'], /--stats-pod and --stats exclude each other \(give one stats source\)/],
    ['--stats-pod with --stats-cmd', ['--stats-pod', 'client', '--stats-cmd', 'cat x'], /--stats-pod and --stats-cmd exclude each other/],
    ['--stats-pod with --stats-file', ['--stats-pod', 'client', '--stats-file', 'x.txt'], /--stats-pod and --stats-file exclude each other/],
  ])('%s is one line on stderr and exit 2, for stats and load alike', async (_, flags, pattern) => {
    for (const argv of [['stats', ...flags], ['load', '-n', '1', ...flags, 'http://127.0.0.1:1/']]) {
      const run = await cli(...argv);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^meshload: /);
      expect(run.stderr).toMatch(pattern);
    }
  });

  it('with a source given positionally to meshload stats, counts as a second source', async () => {
    const run = await cli('stats', '--stats-pod', 'client', FIXTURE);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/meshload stats needs one stats source, got 2/);
  });
});

describe('statsPodCommand', () => {
  it.each([
    ['client', undefined, 'kubectl exec client -c istio-proxy -- pilot-agent request GET stats'],
    ['deploy/meshload-client', undefined, 'kubectl exec deploy/meshload-client -c istio-proxy -- pilot-agent request GET stats'],
    ['deployment.apps/meshload-client', 'team-a', 'kubectl exec -n team-a deployment.apps/meshload-client -c istio-proxy -- pilot-agent request GET stats'],
    ['pod/client-0.example', 'mesh', 'kubectl exec -n mesh pod/client-0.example -c istio-proxy -- pilot-agent request GET stats'],
  ])('%s in namespace %s is %s', (pod, namespace, command) => {
    expect(statsPodCommand(pod, namespace)).toBe(command);
  });

  it('expandStatsPod replaces the pod flags with the command and leaves its input alone', () => {
    const flags = { statsPod: 'client', statsNamespace: 'mesh', cluster: 'httpbin', statsInterval: '1s', statsTimeout: '10s' };
    const copy = { ...flags };
    expect(expandStatsPod(flags)).toEqual({
      statsCmd: 'kubectl exec -n mesh client -c istio-proxy -- pilot-agent request GET stats',
      cluster: 'httpbin',
      statsInterval: '1s',
      statsTimeout: '10s',
    });
    expect(flags).toEqual(copy);
  });
});
