/** `meshload verify`'s command line: the dry run prints a scenario `meshload run` runs, and bad
 * input is a one-line usage error (exit 2) that names the fix. The behaviour on a real proxy is
 * in test/verify/verify-haproxy.test.ts. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkExpectation } from '../../src/checks';
import { loadScenario } from '../../src/scenario/load-scenario';
import { cli } from '../helpers/cli';

const MANIFESTS = join(__dirname, '..', '..', 'scenarios', 'istio', 'manifests');
const RETRIES = join(MANIFESTS, 'meshload-server-retries.yaml');
const TIMEOUT = join(MANIFESTS, 'meshload-server-timeout.yaml');
const STATS = ['--stats', 'http://localhost:15000/stats'];
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-verify-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('meshload verify --dry-run', () => {
  it('prints the derived plan as a scenario file and runs nothing', async () => {
    const run = await cli('verify', '-f', RETRIES, '-f', TIMEOUT, 'http://meshload-server:8080/echo', ...STATS, '--dry-run', '--backend', 'meshload', '--max-echo-delay', '5s');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const scenario = loadScenario(run.stdout, 'plan.yaml', { checkExpression: checkExpectation });
    expect(scenario.phases.map((p) => p.name)).toEqual([
      'retries: each try fails at 50%',
      'retries: every try is too slow',
      'timeout: upstream slower than 500ms',
      'timeout: upstream faster than 500ms',
    ]);
    expect(scenario.sidecar).toMatchObject({ stats: 'http://localhost:15000/stats', cluster: 'meshload-server' });
    expect(run.stdout).toMatch(/^# {3}retries \(VirtualService meshload-server http\[0\]\): attempts 3, retryOn 5xx: .*about 6\.25% of calls fail, not 12\.5%/m);
  });

  it('offline, a meshload server is assumed to cap delays at its default 1.5s: the 3s per-try phase is not planned, and the plan says why', async () => {
    const run = await cli('verify', '-f', RETRIES, 'http://meshload-server:8080/echo', ...STATS, '--dry-run', '--backend', 'meshload');
    expect(run.code).toBe(0);
    const scenario = loadScenario(run.stdout, 'plan.yaml', { checkExpression: checkExpectation });
    expect(scenario.phases.map((p) => p.name)).toEqual(['retries: each try fails at 50%']);
    expect(run.stdout).toMatch(/Not shown, so at best inconclusive: perTryTimeout 2s: needs -max-echo-delay >= 3s on the meshload server \(its default cap, 1\.5s, assumed: pass --max-echo-delay if it was started with more\)/);
  });

  it('the shipped meshload-server pods allow the delays the shipped plans need', async () => {
    const manifest = readFileSync(join(MANIFESTS, 'meshload-server.yaml'), 'utf8');
    const caps = [...manifest.matchAll(/"--max-echo-delay", "(\w+)"/g)].map((m) => m[1]);
    expect(caps).toEqual(['5s', '5s', '5s']);
    const run = await cli('verify', '-f', RETRIES, 'http://meshload-server:8080/echo', ...STATS, '--dry-run', '--backend', 'meshload', '--max-echo-delay', '5s');
    expect(run.stdout).toMatch(/url: http:\/\/meshload-server:8080\/echo\?delay=3s$/m);
    expect(run.stdout).not.toMatch(/Not shown/);
  });

  it('passes --stats-cmd, --cluster and the confidence through', async () => {
    const run = await cli('verify', '-f', RETRIES, 'http://meshload-server:8080/echo', '--backend', 'meshload', '--stats-cmd', 'cat stats.txt', '--cluster', 'outbound|8080||meshload-server.default.svc.cluster.local', '--confidence', '99%', '--dry-run');
    expect(run.code).toBe(0);
    const scenario = loadScenario(run.stdout, 'plan.yaml', { checkExpression: checkExpectation });
    expect(scenario.sidecar).toMatchObject({ statsCmd: 'cat stats.txt', cluster: 'outbound|8080||meshload-server.default.svc.cluster.local' });
    // Without --istio-version the alternative is also Istio <= 1.23's default (2 retries on 503).
    expect(scenario.phases[0]?.expect[0]).toBe('status(503) ~ 6.25% vs 12.5% at 99%');
  });
});

describe('meshload verify --client-proxies', () => {
  it('plans each breaker phase for N proxies and says to run it as N shards of a Job', async () => {
    const breaker = join(MANIFESTS, 'httpbin-circuit-breaker.yaml');
    const one = await cli('verify', '-f', breaker, 'http://httpbin:8000/get', ...STATS, '--dry-run', '--backend', 'httpbin');
    const three = await cli('verify', '-f', breaker, 'http://httpbin:8000/get', ...STATS, '--dry-run', '--backend', 'httpbin', '--client-proxies', '3');
    expect([one.code, three.code]).toEqual([0, 0]);
    expect(one.stdout).toMatch(/^# Run it with: meshload run THIS_FILE$/m);
    expect(three.stdout).toMatch(/^# Run it with: meshload k8s job THIS_FILE --parallelism 3 \(planned for 3 client proxies, one per shard\)$/m);
    const loads = (text: string): number[] => loadScenario(text, 'plan.yaml', { checkExpression: checkExpectation }).phases.map((p) => p.load?.connections ?? 0);
    expect(loads(three.stdout)).toEqual(loads(one.stdout).map((c) => 3 * c));
  });
});

describe('meshload verify: bad input', () => {
  it.each([
    [['-f', RETRIES, 'http://x:1/'], /verify needs the proxy's stats \(add --stats http:\/\/localhost:15000\/stats/],
    [['-f', RETRIES, 'http://x:1/', ...STATS, '--backend', 'nginx'], /--backend 'nginx' is not a backend \(use meshload, httpbin, fortio, unknown, or leave it out to probe the target\)/],
    [['-f', RETRIES, 'http://x:1/', ...STATS, '--proxy', 'linkerd'], /--proxy 'linkerd' is not a proxy kind \(use envoy or haproxy\)/],
    [['-f', RETRIES, 'http://x:1/', ...STATS, '--confidence', '0.999'], /--confidence '0.999' is not a confidence \(use a percentage from 50% to under 100%/],
    [['-f', RETRIES, 'http://x:1/', ...STATS, '--max-requests', 'lots'], /--max-requests 'lots' is not a call count/],
    [['-f', RETRIES, 'http://x:1/', ...STATS, '--max-echo-delay', 'long'], /--max-echo-delay 'long' is not a duration \(give the server's -max-echo-delay, like 5s\)/],
    [['-f', RETRIES, 'httpbin:8000', ...STATS], /'httpbin:8000' is not an http\(s\) or grpc:\/\/ URL/],
    [['-f', '/nonexistent/vs.yaml', 'http://x:1/', ...STATS], /cannot read \/nonexistent\/vs\.yaml: .* \(check the path given with -f\)/],
    [['http://x:1/', ...STATS], /required option '-f, --filename <file>' not specified/],
    [['-f', RETRIES, 'http://x:1/', ...STATS, '--endpoints', '0'], /--endpoints '0' is not an endpoint count \(use a whole number from 1 to 100000/],
    [['-f', RETRIES, 'http://x:1/', ...STATS, '--client-proxies', 'two'], /--client-proxies 'two' is not a count of client proxies/],
    [['-f', RETRIES, 'http://x:1/', ...STATS, '--client-proxies', '3'], /--client-proxies 3: the plan loads 3 proxies at once .* \(add --dry-run and run the plan with meshload k8s job PLAN --parallelism 3\)/],
  ])('%p is a usage error, exit 2', async (args, pattern) => {
    const run = await cli('verify', ...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(pattern);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reports every problem of every manifest at once, with file and line', async () => {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    writeFileSync(a, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec:\n  hosts: [x]\n  http:\n  - timeout: soon\n    route: [{destination: {host: x}}]\n');
    writeFileSync(b, 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x}\nspec:\n  host: x\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: -1}\n');
    const run = await cli('verify', '-f', a, '-f', b, 'http://x:1/', ...STATS, '--dry-run');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^meshload: 2 problems in the manifests:$/m);
    expect(run.stderr).toMatch(/a\.yaml:7: VirtualService x: spec\.http\[0\]\.timeout: .*soon/);
    expect(run.stderr).toMatch(/b\.yaml:8: DestinationRule x: spec\.trafficPolicy\.connectionPool\.tcp\.maxConnections: /);
    expect(run.stdout).toBe('');
    // Every field's account comes first (issue 15: on every exit path), each with its reason.
    const [accounts, problems] = run.stderr.split(/^meshload: 2 problems/m);
    expect(problems).toBeDefined();
    expect(accounts).toMatch(/^verify: fields read:$/m);
    expect(accounts).toMatch(/a\.yaml: VirtualService x:\n {4}not verified: spec\.http\[0\]\.timeout: no plan was made: the manifests have 2 problems \(below\)/);
    expect(accounts).toMatch(/not verified: spec\.trafficPolicy\.connectionPool\.tcp\.maxConnections: no plan was made/);
    expect(accounts).toMatch(/not applicable: apiVersion, kind, metadata, spec\.host$/m);
  });

  it('one problem: the fields first (mirror keeps its reason), then the one-line error', async () => {
    const a = join(dir, 'a.yaml');
    writeFileSync(a, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec:\n  hosts: [x]\n  http:\n  - timeout: soon\n    mirror: {host: y}\n    route: [{destination: {host: x}}]\n');
    const run = await cli('verify', '-f', a, 'http://x:1/', ...STATS, '--dry-run');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/not verified: spec\.http\[0\]\.mirror: mirrored traffic goes to another upstream/);
    expect(run.stderr.trim().split('\n').pop()).toMatch(/^meshload: .*a\.yaml:7: VirtualService x: spec\.http\[0\]\.timeout: expected a duration/);
  });

  it('says so when the files hold nothing it can verify', async () => {
    const run = await cli('verify', '-f', join(MANIFESTS, 'httpbin.yaml'), 'http://httpbin:8000/get', ...STATS, '--dry-run');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/the files hold no DestinationRule or VirtualService \(pass the manifests with -f dr\.yaml -f vs\.yaml\)/);
  });
});
