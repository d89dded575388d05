/** Proof on a real proxy: `meshload verify` reads Istio manifests, and the same policies run in
 * HAProxy (test/helpers/istio-to-haproxy.ts, differences written there) in front of meshload
 * servers on loopback. Configured as the manifests say, every verified policy behaves as
 * configured; configured wrong, exactly the wrong policies are reported. */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { readIstioManifests } from '../../src/verify/istio-manifests';
import { cli } from '../helpers/cli';
import { startHaproxyWith, type RunningHaproxy } from '../helpers/haproxy';
import { haproxyFromIstio, type Misconfiguration, type Upstreams } from '../helpers/istio-to-haproxy';

const FIXTURES = join(__dirname, '..', 'fixtures', 'verify');

const servers: RunningEchoServer[] = [];
let haproxy: RunningHaproxy | undefined;
let dir: string | undefined;

afterEach(async () => {
  await haproxy?.stop();
  haproxy = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Seeded draws: the server's failures are the same every run (HAProxy's rand() cannot be
 * seeded; those checks rely on the confidence below). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function echo(versionTag?: string): Promise<RunningEchoServer> {
  const server = await startEchoServer({
    random: seeded(servers.length + 1),
    echo: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    maxDelayMs: 2000,
    maxPayloadBytes: 1024,
    ...(versionTag === undefined ? {} : { versionTag }),
  });
  servers.push(server);
  return server;
}

/** HAProxy translated from the fixture, in front of `upstreams`. */
async function proxyFor(fixture: string, upstreams: Upstreams, wrong: Misconfiguration = {}): Promise<RunningHaproxy> {
  const policies = readIstioManifests([{ file: fixture, text: readFileSync(join(FIXTURES, fixture), 'utf8') }]);
  haproxy = await startHaproxyWith((port, metricsPort) => haproxyFromIstio(policies, upstreams, port, metricsPort, wrong), 'meshload-server');
  return haproxy;
}

async function verify(fixture: string, h: RunningHaproxy, ...flags: string[]): Promise<{ code: number; stderr: string; policies: Record<string, string> }> {
  dir ??= mkdtempSync(join(tmpdir(), 'meshload-verify-'));
  const run = await cli(
    'verify',
    '-f',
    join(FIXTURES, fixture),
    `${h.url}/echo`,
    '--proxy',
    'haproxy',
    '--stats',
    h.metricsUrl,
    '--stats-interval',
    '100ms',
    // 99.99%: a wrong verdict from chance alone stays out of CI's way (each ~ check at 99.9%
    // would be wrong about once in a thousand runs).
    '--confidence',
    '99.99%',
    '--report-dir',
    dir,
    // HAProxy without a VirtualService's retries retries nothing: Istio >= 1.24's default.
    '--istio-version',
    '1.24',
    ...flags,
  );
  if (process.env.DEBUG_VERIFY !== undefined) process.stdout.write(run.stderr);
  // `  retries (VirtualService meshload-server http[0]): behaves as configured: ...`
  const policies: Record<string, string> = {};
  const section = run.stderr.slice(run.stderr.indexOf('== policies'));
  for (const m of section.matchAll(/^ {2}(\w+) \([^)]*\): (behaves as configured|does not behave as configured|inconclusive|not run|not verified)/gm)) {
    policies[m[1] as string] = m[2] as string;
  }
  return { code: run.code, stderr: run.stderr, policies };
}

describe('meshload verify against HAProxy configured from the manifests', () => {
  it('finds the breaker, retries and timeout behaving as configured', async () => {
    const server = await echo();
    const h = await proxyFor('resilience.yaml', { '': `127.0.0.1:${server.echoPort}` });
    const run = await verify('resilience.yaml', h);
    expect(run.policies).toEqual({ connectionPool: 'behaves as configured', retries: 'behaves as configured', timeout: 'behaves as configured' });
    expect(run.stderr).toMatch(/status\(503\) ~ 6\.25% vs 50% at 99\.99%: .*99\.99% interval/);
    expect(run.code).toBe(0);
  }, 60_000);

  it('reports exactly the policies the proxy does not enforce', async () => {
    const server = await echo();
    const h = await proxyFor('resilience.yaml', { '': `127.0.0.1:${server.echoPort}` }, { noRetries: true, higherLimits: true, longerTimeout: true });
    const run = await verify('resilience.yaml', h);
    expect(run.policies).toEqual({
      connectionPool: 'does not behave as configured',
      retries: 'does not behave as configured',
      timeout: 'does not behave as configured',
    });
    expect(run.stderr).toMatch(/connectionPool \(DestinationRule meshload-server\): does not behave as configured: connectionPool: over the limit \(6 connections\): breaker\.pending > 0: observed 0/);
    expect(run.stderr).toMatch(/retries \(VirtualService meshload-server http\[0\]\): does not behave as configured: .*status\(503\) ~ 6\.25% vs 50% at 99\.99%.*excludes the expected 6\.25%/);
    expect(run.stderr).toMatch(/timeout \(VirtualService meshload-server http\[0\]\): does not behave as configured: .*status\(504\) == 100%: observed 0\.0%/);
    expect(run.code).toBe(1);
  }, 60_000);

  it('a retries-only mistake leaves the breaker and the timeout passing', async () => {
    const server = await echo();
    const h = await proxyFor('resilience.yaml', { '': `127.0.0.1:${server.echoPort}` }, { noRetries: true });
    const run = await verify('resilience.yaml', h);
    expect(run.policies).toEqual({ connectionPool: 'behaves as configured', retries: 'does not behave as configured', timeout: 'behaves as configured' });
    expect(run.code).toBe(1);
  }, 60_000);

  it('verifies a weighted split (x-version, chi-square) and injected aborts and delays (Wilson)', async () => {
    const v1 = await echo('v1');
    const v2 = await echo('v2');
    const upstreams = { v1: `127.0.0.1:${v1.echoPort}`, v2: `127.0.0.1:${v2.echoPort}` };
    const good = await proxyFor('split-and-faults.yaml', upstreams);
    const run = await verify('split-and-faults.yaml', good);
    expect(run.policies).toEqual({ fault: 'behaves as configured', weights: 'behaves as configured' });
    expect(run.stderr).toMatch(/versions ~ \[v1 75%, v2 25%\] vs \[v1 50%, v2 50%\] at 99\.99%: v1 \d+\.\d% \(\d+\), v2 \d+\.\d% \(\d+\) of \d+ calls with x-version; chi-square p = /);
    expect(run.stderr).toMatch(/slower\(200ms\) ~ 25% vs 0% at 99\.99%/);
    expect(run.code).toBe(0);
    await good.stop();

    const wrong = await proxyFor('split-and-faults.yaml', upstreams, { noFaults: true, evenWeights: true });
    const bad = await verify('split-and-faults.yaml', wrong);
    expect(bad.policies).toEqual({ fault: 'does not behave as configured', weights: 'does not behave as configured' });
    expect(bad.code).toBe(1);
  }, 90_000);

  it('verifies outlier detection: a failing endpoint is ejected and traffic leaves it', async () => {
    const failing = await echo();
    const healthy = await echo();
    const h = await proxyFor('outlier.yaml', { s1: `127.0.0.1:${failing.echoPort}`, s2: `127.0.0.1:${healthy.echoPort}` });
    const run = await verify('outlier.yaml', h, '--eject-admin', failing.adminUrl as string);
    expect(run.policies).toEqual({ outlierDetection: 'behaves as configured' });
    // Ejected, traffic left it, and after the ejection time every call answered again.
    expect(run.stderr).toMatch(/outlierDetection \(DestinationRule meshload-server\): behaves as configured: ejections\.enforced > 0: \d+; status\(503\) == 0: [^;]+; status\(200\) == 100%/);
    // always: cleared the failing endpoint's chaos.
    expect(failing.chaos.defaultPlan).toBe(healthy.chaos.defaultPlan);
    expect(run.code).toBe(0);
  }, 60_000);

  it('outlier detection with retries and a timeout: no phase ejects by accident, the ejection poisons nothing after it', async () => {
    const failing = await echo();
    const healthy = await echo();
    const upstreams = { s1: `127.0.0.1:${failing.echoPort}`, s2: `127.0.0.1:${healthy.echoPort}` };
    const h = await proxyFor('outlier-and-retries.yaml', upstreams);
    const run = await verify('outlier-and-retries.yaml', h, '--eject-admin', failing.adminUrl as string);
    expect(run.policies).toEqual({ retries: 'behaves as configured', timeout: 'behaves as configured', outlierDetection: 'behaves as configured' });
    // The retry phase asked for fewer failures than 50%, so that five in a row stay improbable.
    expect(run.stderr).toMatch(/retries: each try fails at (?!50%)\d+%/);
    expect(run.stderr).toMatch(/^ {2}assumed: Istio 1\.24: the default retry policy does not retry an app's 503\.$/m);
    expect(run.code).toBe(0);
    await h.stop();

    // Negative control: the same proxy without outlier detection; the retries and the timeout
    // still behave, the outlier detection does not.
    const without = await proxyFor('outlier-and-retries.yaml', upstreams, { noOutlier: true });
    const bad = await verify('outlier-and-retries.yaml', without, '--eject-admin', failing.adminUrl as string);
    expect(bad.policies).toEqual({ retries: 'behaves as configured', timeout: 'behaves as configured', outlierDetection: 'does not behave as configured' });
    expect(bad.stderr).toMatch(/outlierDetection \(DestinationRule meshload-server\): does not behave as configured: outlierDetection: one endpoint fails: ejections\.enforced > 0: observed 0/);
    expect(bad.code).toBe(1);
  }, 120_000);

  it('one 5xx ejects: retries are not verified (said why), the timeout runs one slow call and the next phase waits its ejection out', async () => {
    const failing = await echo();
    const healthy = await echo();
    const h = await proxyFor('outlier-threshold-1.yaml', { s1: `127.0.0.1:${failing.echoPort}`, s2: `127.0.0.1:${healthy.echoPort}` });
    const run = await verify('outlier-threshold-1.yaml', h, '--eject-admin', failing.adminUrl as string);
    expect(run.policies).toEqual({ retries: 'not verified', timeout: 'behaves as configured', outlierDetection: 'behaves as configured' });
    expect(run.stderr).toMatch(/retries \(VirtualService meshload-server http\[0\]\): not verified: DestinationRule meshload-server ejects an endpoint after 1 consecutive 5xx/);
    expect(run.stderr).toMatch(/step sleep: 4000 ms ok/);
    expect(run.code).toBe(0);
  }, 60_000);

  it('without --eject-admin, says why outlier detection is not verified and runs nothing', async () => {
    const server = await echo();
    const h = await proxyFor('outlier.yaml', { '': `127.0.0.1:${server.echoPort}` });
    const run = await verify('outlier.yaml', h);
    expect(run.stderr).toMatch(/nothing to verify for meshload-server: outlierDetection: needs one failing endpoint among at least 2: pass --eject-admin/);
    expect(run.code).toBe(2);
  }, 30_000);
});
