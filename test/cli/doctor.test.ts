/** `meshload doctor` against a real proxy: HAProxy from Debian in front of meshload's echo server,
 * its Prometheus exporter standing in for the sidecar's stats. A request through HAProxy moves the
 * backend's counter; one straight to the echo server does not, and doctor must say the traffic
 * bypassed the proxy. */
import net from 'node:net';
import { runCli } from '../../src/cli/main';
import { clusterFinding, clusterQueryOf, uidFinding } from '../../src/doctor/findings';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { ISTIO_STATS_ANNOTATION } from '../../src/stats/sidecar-report';
import { testIo, type CliRun } from '../helpers/cli';
import { startHaproxy, type RunningHaproxy } from '../helpers/haproxy';

let server: RunningEchoServer;
let haproxy: RunningHaproxy;

beforeAll(async () => {
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1000, maxPayloadBytes: 1024 });
  haproxy = await startHaproxy({ upstream: `127.0.0.1:${server.echoPort}` });
});
afterAll(async () => {
  await haproxy.stop();
  await server.close();
});

async function doctor(uid: number | undefined, ...argv: string[]): Promise<CliRun> {
  return doctorOn(false, uid, ...argv);
}

/** doctor's findings go to stdout: its colour follows stdout. */
async function doctorOn(isTTY: boolean, uid: number | undefined, ...argv: string[]): Promise<CliRun> {
  const { io, stdout, stderr } = testIo();
  stdout.isTTY = isTTY;
  io.uid = uid;
  const code = await runCli(['doctor', ...argv], io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe('meshload doctor', () => {
  it('through the proxy: stats answer, the cluster is found, the counter moves; exit 0', async () => {
    const run = await doctor(10001, `${haproxy.url}/echo`, '--stats', haproxy.metricsUrl, '--cluster', haproxy.backend);
    expect(run.stdout).toMatch(/^✓ meshload \d+\.\d+\.\d+$/m);
    expect(run.stdout).toMatch(/^✓ Node\.js v\d+/m);
    expect(run.stdout).toMatch(/^✓ running as UID 10001: the sidecar intercepts it/m);
    expect(run.stdout).toMatch(/^✓ proxy stats answer at http:\/\/127\.0\.0\.1:\d+\/metrics \(prometheus, \d+ clusters\)$/m);
    expect(run.stdout).toMatch(/^✓ cluster 'be' is in the stats: be$/m);
    expect(run.stdout).toMatch(/^✓ traffic goes through the proxy: GET http:\/\/127\.0\.0\.1:\d+\/echo answered 200 and the request counter of 'be' moved by 1$/m);
    expect(run.stdout).not.toMatch(/^[✗!]/m);
    expect(run.code).toBe(0);
  });

  it('a cluster not in the stats: ✗ naming the clusters there are, exit 1', async () => {
    const run = await doctor(10001, `${haproxy.url}/echo`, '--stats', haproxy.metricsUrl, '--cluster', 'nosuch');
    const line = run.stdout.split('\n').find((l) => l.startsWith("✗ cluster 'nosuch'"));
    expect(line).toContain("is not in the proxy's stats");
    // HAProxy's backends are there: the annotation would be the wrong advice.
    expect(line).toMatch(/\(fix: no cluster matches 'nosuch' \(outbound clusters: [^)]*\bbe\b/);
    expect(line).not.toContain(ISTIO_STATS_ANNOTATION);
    expect(run.stdout).toMatch(/^! interception not checked: cluster 'nosuch' is not in the stats/m);
    expect(run.code).toBe(1);
  });

  it('a URL that bypasses the proxy: ✗ the counter did not move, with the fix, exit 1', async () => {
    const run = await doctor(10001, `${server.echoUrl}/echo`, '--stats', haproxy.metricsUrl, '--cluster', haproxy.backend);
    expect(run.stdout).toMatch(/^✓ cluster 'be' is in the stats/m);
    const line = run.stdout.split('\n').find((l) => l.startsWith('✗ GET'));
    expect(line).toMatch(/answered 200 but the request counter of 'be' did not move: the traffic bypassed the proxy \(fix: do not run as UID 1337; .*excludeOutboundPorts/);
    expect(run.code).toBe(1);
  });

  it('stats at a closed port: ✗ naming the failure, the dependent checks not run, exit 1', async () => {
    const port = await closedPort();
    const run = await doctor(10001, `${haproxy.url}/echo`, '--stats', `http://127.0.0.1:${port}/metrics`, '--cluster', haproxy.backend);
    expect(run.stdout).toMatch(new RegExp(`^✗ proxy stats did not answer \\(http://127\\.0\\.0\\.1:${port}/metrics\\): .*ECONNREFUSED.*\\(fix: `, 'm'));
    expect(run.stdout).toMatch(/^! cluster and interception not checked: they need the proxy stats$/m);
    expect(run.code).toBe(1);
  });

  it('UID 1337 fails with the reason: Istio does not intercept the proxy user', async () => {
    const run = await doctor(1337, `${haproxy.url}/echo`, '--stats', haproxy.metricsUrl, '--cluster', haproxy.backend);
    expect(run.stdout).toMatch(/^✗ running as UID 1337, the Istio proxy's own user: iptables never sends its traffic through the sidecar.*\(fix: run as another user, e\.g\. securityContext\.runAsUser: 10001/m);
    expect(run.code).toBe(1);
    const root = await doctor(0, '--stats', haproxy.metricsUrl);
    expect(root.stdout).toMatch(/^✓ running as root \(UID 0\): the sidecar intercepts it; the meshload image runs as UID 10001$/m);
    expect(root.stdout).toMatch(/^! no target cluster to look for: cluster and interception not checked \(fix: give the target/m);
    expect(root.code).toBe(0);
  });

  it('on a terminal: ✓ green and ✗ red; piped: the same lines without colour', async () => {
    const port = await closedPort();
    const args = [`${haproxy.url}/echo`, '--stats', `http://127.0.0.1:${port}/metrics`, '--cluster', haproxy.backend];
    const tty = await doctorOn(true, 10001, ...args);
    // eslint-disable-next-line no-control-regex
    expect(tty.stdout).toMatch(/^\x1b\[32m✓\x1b\[39m running as UID 10001/m);
    // eslint-disable-next-line no-control-regex
    expect(tty.stdout).toMatch(/^\x1b\[31m✗\x1b\[39m proxy stats did not answer/m);
    // eslint-disable-next-line no-control-regex
    expect(tty.stdout).toMatch(/^\x1b\[33m!\x1b\[39m cluster and interception not checked/m);
    const piped = await doctorOn(false, 10001, ...args);
    expect(piped.stdout).not.toContain('\x1b');
    // eslint-disable-next-line no-control-regex
    expect(tty.stdout.replace(/\x1b\[\d+m/g, '')).toBe(piped.stdout);
  });

  it('a bad URL is a usage error, exit 2', async () => {
    const run = await doctor(10001, 'httpbin:8000');
    expect(run.stderr).toMatch(/^meshload: 'httpbin:8000' is not an http\(s\) URL/m);
    expect(run.code).toBe(2);
  });
});

describe('doctor findings', () => {
  it.each([
    [undefined, 'http://httpbin:8000/get', 'httpbin:8000'],
    [undefined, 'https://reviews.default.svc.cluster.local/x', 'reviews.default.svc.cluster.local:443'],
    [undefined, 'http://10.0.0.7:8080/', undefined],
    [undefined, 'http://localhost:8080/', undefined],
    ['httpbin', 'http://10.0.0.7:8080/', 'httpbin'],
    [undefined, undefined, undefined],
  ])('cluster query from --cluster %p and URL %p is %p', (cluster, url, query) => {
    expect(clusterQueryOf(cluster, url)).toBe(query);
  });

  it('marks UID 1337 as a failure with a fix, any other known UID as fine', () => {
    expect(uidFinding(1337)).toMatchObject({ mark: 'fail', fix: expect.stringContaining('runAsUser: 10001') as unknown });
    expect(uidFinding(10001).mark).toBe('ok');
    expect(uidFinding(undefined).mark).toBe('warn');
  });
});

describe('clusterFinding', () => {
  it('gives the annotation only when Istio hides every outbound cluster, and did-you-mean for a typo', () => {
    const hidden = clusterFinding('httpbin:8000', [], new Set(['xds-grpc', 'BlackHoleCluster', 'PassthroughCluster']));
    expect(hidden.fix).toContain(ISTIO_STATS_ANNOTATION);
    const typo = clusterFinding('htpbin', [], new Set(['outbound|8000||httpbin.default.svc.cluster.local', 'xds-grpc']));
    expect(typo.mark).toBe('fail');
    expect(typo.fix).toMatch(/did you mean httpbin/);
    expect(typo.fix).not.toContain(ISTIO_STATS_ANNOTATION);
  });
});
