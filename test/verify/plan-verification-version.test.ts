/** The Istio version in plans: parsed from --istio-version or the proxy's istio_build metric, and
 * the version-dependent retry default named, never guessed (issue 15, istio/istio#50506). */
import * as http from 'node:http';
import { join } from 'node:path';
import { readIstioManifests } from '../../src/verify/istio-manifests';
import { probeIstioVersion } from '../../src/verify/probe-backend';
import { cli } from '../helpers/cli';
import { detectIstioVersion, parseIstioVersion } from '../../src/verify/istio-version';
import { planVerification, type VerifyOptions } from '../../src/verify/plan-verification';

const OPTIONS: VerifyOptions = {
  target: 'http://meshload-server:8080/echo',
  backend: 'meshload',
  maxDelayMs: undefined,
  proxy: 'envoy',
  confidence: 0.999,
  maxRequests: 2000,
  sidecar: { stats: 'http://localhost:15000/stats' },
  ejectAdmin: undefined,
};

function plan(route: string, options: Partial<VerifyOptions> = {}): ReturnType<typeof planVerification> {
  const yaml = `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc}\nspec:\n  hosts: [meshload-server]\n  http:\n  - route:\n    - destination: {host: meshload-server}\n${route}`;
  return planVerification(readIstioManifests([{ file: 'm.yaml', text: yaml }]), { ...OPTIONS, ...options });
}

const v = (text: string): VerifyOptions['istioVersion'] => parseIstioVersion(text);

describe('the Istio version', () => {
  it('parses X.Y, X.Y.Z and a leading v; refuses anything else as a usage error', () => {
    expect(parseIstioVersion('1.24')).toEqual({ major: 1, minor: 24, source: '--istio-version' });
    expect(parseIstioVersion('v1.23.4')).toMatchObject({ major: 1, minor: 23 });
    expect(parseIstioVersion('1.26.0-beta.1')).toMatchObject({ major: 1, minor: 26 });
    for (const bad of ['', '1', 'latest', '1.x', `1.2${'4'.repeat(200)}`]) {
      expect(() => parseIstioVersion(bad)).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringMatching(/^--istio-version '.{0,40}' is not a version$/) }));
    }
  });

  it("reads the proxy's istio_build line, not istiod's, and nothing from Envoy's own stats", () => {
    const merged = [
      '# TYPE istio_build gauge',
      'istio_build{component="pilot",tag="1.22.0"} 1',
      'istio_build{component="proxy",tag="1.23.2"} 1',
      'envoy_cluster_upstream_rq_total{cluster_name="outbound|8000||httpbin.default.svc.cluster.local"} 12',
    ].join('\n');
    expect(detectIstioVersion(merged)).toEqual({ major: 1, minor: 23, source: 'istio_build tag="1.23.2"' });
    expect(detectIstioVersion('server.version: 11489287\ncluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_total: 3\n')).toBeUndefined();
    expect(detectIstioVersion('istio_build{component="proxy",tag="not-a-version"} 1')).toBeUndefined();
    // Hostile input: an endless label or a huge text stays a bounded scan.
    expect(detectIstioVersion(`istio_build{${'a'.repeat(1_000_000)}} 1`)).toBeUndefined();
  });
});

describe('retries and the default retry policy by version', () => {
  it('no version: Istio >= 1.24 is assumed and named; a check that would flip by version is inconclusive', () => {
    const p = plan('    retries: {attempts: 3}\n');
    expect(p.assumptions).toEqual(['Istio >= 1.24: the default retry policy does not retry 503 (EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY, istio/istio#50506); it did up to 1.23.']);
    expect(p.scenario.description).toMatch(/Istio version: unknown \(assuming Istio >= 1\.24; pass --istio-version\)/);
    const retries = p.policies[0];
    expect(retries?.model).toMatch(/not retried \(the default retryOn has no 503 on the version assumed\)/);
    expect(retries?.unshown).toEqual([
      'the Istio version: without retryOn the default applies, which retries 503 on Istio <= 1.23 and not on >= 1.24; pass --istio-version',
      "a mesh without this retries block does not retry an app's 503 either (Istio's default policy on the version assumed), so the 503 share cannot tell whether the block is in force",
    ]);
    expect(p.rules).toEqual(expect.arrayContaining(['version.default-retry-503', 'version.retry-block-default-retry-on']));
  });

  it('Istio 1.23: a retries block without retryOn retries 503, against the default policy of 2 retries', () => {
    const p = plan('    retries: {attempts: 3}\n', { istioVersion: v('1.23') });
    expect(p.scenario.phases[0]?.expect.slice(0, 2)).toEqual(['status(503) ~ 6.25% vs 12.5%', 'retries.attempted > 0']);
    expect(p.policies[0]?.unshown).toBeUndefined();
    expect(p.assumptions).toEqual(["Istio 1.23: the default retry policy retries an app's 503."]);
  });

  it('Istio 1.24: retryOn without 503 looks like no VirtualService at all, so it cannot decide', () => {
    const p = plan('    retries: {attempts: 2, retryOn: "connect-failure,refused-stream"}\n', { istioVersion: v('1.24') });
    expect(p.policies[0]?.unshown).toEqual([
      "a mesh without this retries block does not retry an app's 503 either (Istio's default policy on the version assumed), so the 503 share cannot tell whether the block is in force",
    ]);
    // On 1.23 the same block is a real difference: without it the default retries 503 twice.
    const old = plan('    retries: {attempts: 2, retryOn: "connect-failure,refused-stream"}\n', { istioVersion: v('1.23') });
    expect(old.policies[0]?.unshown).toBeUndefined();
    expect(old.scenario.phases[0]?.expect).toEqual(['status(503) ~ 50% vs 12.5%', 'retries.attempted == 0']);
  });

  it('Istio 1.23: attempts 2 on 5xx is what the default policy does anyway, so it is inconclusive', () => {
    const p = plan('    retries: {attempts: 2, retryOn: 5xx}\n', { istioVersion: v('1.23') });
    expect(p.policies[0]?.unshown?.[0]).toMatch(/a mesh without this retries block retries 503 2 times too/);
    expect(plan('    retries: {attempts: 2, retryOn: 5xx}\n', { istioVersion: v('1.24') }).policies[0]?.unshown).toBeUndefined();
  });

  it('retriable-status-codes alone retries no 503 (Istio takes codes only from numbers in retryOn)', () => {
    const p = plan('    retries: {attempts: 2, retryOn: retriable-status-codes}\n', { istioVersion: v('1.24') });
    expect(p.policies[0]?.model).toMatch(/an app's 503 is not retried/);
    const with503 = plan('    retries: {attempts: 2, retryOn: "retriable-status-codes,503"}\n', { istioVersion: v('1.24') });
    expect(with503.policies[0]?.model).toMatch(/a call fails only when all 3 tries fail/);
  });
});

describe('per-try timeouts against the route timeout', () => {
  it('(attempts + 1) x perTryTimeout shorter than timeout: the calls end in per-try 504s, and the checks say so', () => {
    const p = plan('    timeout: 3s\n    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 400ms}\n', { istioVersion: v('1.24'), maxDelayMs: 10_000 });
    const timeout = p.policies.find((x) => x.policy === 'timeout');
    expect(timeout?.model).toMatch(/perTryTimeout 400ms x 3 tries = 1\.2s, shorter: .* at about 1\.2s \(plus up to 500ms of retry back-off\), before the route timeout/);
    const slow = p.scenario.phases.find((ph) => ph.name === 'timeout: upstream slower than 3s');
    expect(slow?.expect).toEqual(['status(504) == 100%', 'cause(timeout) == 100%', 'p(50) in [1.14s, 2.45s]', 'timeouts.per_try > 0']);
    // The fast phase stays under the per-try timeout, not only the route's.
    expect(p.scenario.phases.find((ph) => ph.name === 'timeout: upstream faster than 3s')?.load.url).toBe('http://meshload-server:8080/echo?delay=200ms');
  });

  it('the route timeout first: the usual checks', () => {
    const p = plan('    timeout: 1s\n    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 600ms}\n', { istioVersion: v('1.24'), maxDelayMs: 10_000 });
    const slow = p.scenario.phases.find((ph) => ph.name === 'timeout: upstream slower than 1s');
    expect(slow?.expect).toEqual(['status(504) == 100%', 'cause(timeout) == 100%', 'p(50) in [950ms, 1.25s]', 'timeouts.route > 0']);
    // 2 x 450ms = 900ms is under 1s, but not with the back-off: either timer may end the call.
    const either = plan('    timeout: 1s\n    retries: {attempts: 1, retryOn: 5xx, perTryTimeout: 450ms}\n', { istioVersion: v('1.24'), maxDelayMs: 10_000 });
    expect(either.scenario.phases.find((ph) => ph.name === 'timeout: upstream slower than 1s')?.expect).toEqual(['status(504) == 100%', 'cause(timeout) == 100%', 'p(50) in [855ms, 1.25s]', 'timeouts.per_try > 0']);
  });

  it('per-try timeouts not retried (retryOn without 5xx or gateway-error): one try, ended at perTryTimeout', () => {
    const p = plan('    timeout: 2s\n    retries: {attempts: 2, retryOn: connect-failure, perTryTimeout: 500ms}\n', { istioVersion: v('1.24'), maxDelayMs: 10_000 });
    expect(p.policies.find((x) => x.policy === 'timeout')?.model).toMatch(/perTryTimeout 500ms x 1 try = 500ms, shorter/);
  });
});

describe('meshload verify --istio-version, and the version from the proxy', () => {
  const FIXTURE = join(__dirname, '..', 'fixtures', 'verify', 'resilience.yaml');
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
  });

  async function serve(body: string): Promise<string> {
    server = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return `http://127.0.0.1:${address.port}/stats/prometheus`;
  }

  it('a bad --istio-version is a usage error: exit 2, one line, before any request', async () => {
    const run = await cli('verify', '-f', FIXTURE, 'http://127.0.0.1:9/echo', '--backend', 'meshload', '--stats', 'http://127.0.0.1:9/stats', '--istio-version', 'newest', '--dry-run');
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual(["meshload: --istio-version 'newest' is not a version (give the mesh's Istio version as X.Y, e.g. --istio-version 1.24)"]);
  });

  it('the dry run names the version given and what it assumes', async () => {
    const run = await cli('verify', '-f', FIXTURE, 'http://127.0.0.1:9/echo', '--backend', 'meshload', '--stats', 'http://127.0.0.1:9/stats', '--istio-version', '1.23', '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Istio version: 1\.23 \(--istio-version\)\. Assumed: .*Istio 1\.23: the default retry policy retries an app's 503\./);
    // On 1.23 a mesh without the VirtualService retries 503 twice: the alternative is 12.5%, not 50%.
    expect(run.stdout).toMatch(/status\(503\) ~ 6\.25% vs 12\.5%/);
  });

  it("reads the proxy's istio_build from the stats URL, and says so when there is none", async () => {
    const url = await serve('# TYPE istio_build gauge\nistio_build{component="proxy",tag="1.22.3"} 1\n');
    expect(await probeIstioVersion(url)).toEqual({ version: { major: 1, minor: 22, source: 'istio_build tag="1.22.3"' }, evidence: 'the proxy reports istio_build tag="1.22.3"' });
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const plain = await serve('cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_total: 3\n');
    expect(await probeIstioVersion(plain)).toEqual({ version: undefined, evidence: 'the stats (200) carry no istio_build metric of the proxy: pass --istio-version' });
    expect((await probeIstioVersion('http://127.0.0.1:9/stats', 2000)).evidence).toMatch(/^the stats GET http:\/\/127\.0\.0\.1:9\/stats failed: /);
  });
});
