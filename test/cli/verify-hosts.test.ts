/** `meshload verify` on files that configure several services, and the field accounting on every
 * exit path: Bookinfo's canonical flow is no longer refused, ambiguity is one line naming the
 * candidates, and "nothing to verify" still says what was read. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { checkExpectation } from '../../src/checks';
import { loadScenario } from '../../src/scenario/load-scenario';
import { cli } from '../helpers/cli';

const CORPUS = join(__dirname, '..', 'fixtures', 'istio-corpus');
const DR_ALL = join(CORPUS, 'bookinfo-destination-rule-all.yaml');
const REVIEWS_80_20 = join(CORPUS, 'bookinfo-virtual-service-reviews-80-20.yaml');
const STATS = ['--stats', 'http://localhost:15000/stats'];
let server: RunningEchoServer | undefined;
let dir: string | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('meshload verify: one service out of many', () => {
  it("Bookinfo's destination-rule-all.yaml with the reviews 80/20 route: the URL chooses reviews, the other hosts are listed as not verified", async () => {
    const run = await cli('verify', '-f', DR_ALL, '-f', REVIEWS_80_20, 'http://reviews:9080/reviews/0', ...STATS, '--dry-run', '--backend', 'meshload');
    expect(run.code).toBe(0);
    const scenario = loadScenario(run.stdout, 'plan.yaml', { checkExpression: checkExpectation });
    expect(scenario.phases.map((p) => p.name)).toEqual(['weights: traffic split']);
    expect(run.stdout).toMatch(/^# Host: reviews \(chosen by the URL\)$/m);
    for (const other of ['productpage', 'ratings', 'details']) {
      expect(run.stdout).toMatch(new RegExp(`^# {3}.*bookinfo-destination-rule-all\\.yaml: DestinationRule ${other}: not verified \\(spec\\): other host: ${other}`, 'm'));
    }
    expect(run.stdout).toMatch(/^# {5}verified: spec\.http\[0\]\.route\[0\]\.weight, spec\.http\[0\]\.route\[1\]\.weight$/m);
  });

  it('--host chooses when the URL is an address', async () => {
    const run = await cli('verify', '-f', DR_ALL, '-f', REVIEWS_80_20, 'http://127.0.0.1:9080/', '--host', 'reviews.default.svc.cluster.local', ...STATS, '--dry-run', '--backend', 'meshload');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^# Host: reviews\.default\.svc\.cluster\.local \(chosen by --host\)$/m);
    expect(run.stdout).toMatch(/^# Derived by: meshload verify -f .* http:\/\/127\.0\.0\.1:9080\/ --host reviews\.default\.svc\.cluster\.local --dry-run$/m);
  });

  it('no choice possible: exit 2 with one line naming the candidate hosts', async () => {
    const run = await cli('verify', '-f', DR_ALL, 'http://127.0.0.1:9080/', ...STATS, '--dry-run', '--backend', 'meshload');
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/the URL names 127\.0\.0\.1, which no DestinationRule or VirtualService in the files configures \(they configure productpage, reviews, ratings, details\) \(pass --host with one of them\)/);
  });
});

describe('meshload verify: every field accounted for on every exit path', () => {
  it('nothing to verify (exit 2): mirror and the route fields are still listed, then the one-line error', async () => {
    const run = await cli('verify', '-f', join(CORPUS, 'task-mirroring-mirror.yaml'), 'http://httpbin:8000/headers', ...STATS, '--dry-run', '--backend', 'meshload');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^ {4}not verified: spec\.http\[0\]\.mirror: mirrored traffic goes to another upstream/m);
    expect(run.stderr).toMatch(/^ {4}not verified: spec\.http\[0\]\.mirrorPercent: /m);
    expect(run.stderr.trim().split('\n').pop()).toMatch(/^meshload: nothing to verify for httpbin: no resilience policy in the files/);
  });

  it('no DestinationRule or VirtualService (exit 2): each skipped document is listed', async () => {
    const workloads = join(__dirname, '..', '..', 'scenarios', 'istio', 'manifests', 'httpbin.yaml');
    const none = await cli('verify', '-f', workloads, 'http://x:1/', ...STATS, '--dry-run', '--backend', 'meshload');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^ {2}.*httpbin\.yaml: Deployment httpbin: not applicable: not a DestinationRule or VirtualService, skipped$/m);
    expect(none.stderr).toMatch(/^ {2}.*httpbin\.yaml: Service httpbin: not applicable: not a DestinationRule or VirtualService, skipped$/m);
    expect(none.stderr.trim().split('\n').pop()).toMatch(/the files hold no DestinationRule or VirtualService/);
  });

  it("the circuit-breaking task's plan names maxRequestsPerConnection and the outlier fields with their reasons", async () => {
    const run = await cli('verify', '-f', join(CORPUS, 'task-circuit-breaking.yaml'), 'http://httpbin:8000/get', ...STATS, '--dry-run', '--backend', 'httpbin');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^# {5}verified: spec\.trafficPolicy\.connectionPool\.tcp\.maxConnections, spec\.trafficPolicy\.connectionPool\.http\.http1MaxPendingRequests$/m);
    expect(run.stdout).toMatch(/^# {5}not verified: spec\.trafficPolicy\.connectionPool\.http\.maxRequestsPerConnection: not a breaker/m);
    expect(run.stdout).toMatch(/^# {5}not verified: spec\.trafficPolicy\.outlierDetection\.maxEjectionPercent: outlierDetection not verified: /m);
  });
});

describe('meshload verify: hostile keys in the accounting', () => {
  it('a key holding a newline or an escape sequence is escaped: the plan file keeps its phases and no terminal is painted', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshload-verify-hosts-'));
    const evil = join(dir, 'evil.yaml');
    writeFileSync(evil, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc}\nspec:\n  hosts: [svc]\n  http:\n  - route: [{destination: {host: svc}}]\n    timeout: 1s\n    "x\\nphases: []\\e[31m": 1\n');
    const run = await cli('verify', '-f', evil, 'http://svc/', ...STATS, '--dry-run', '--backend', 'meshload');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('not verified: spec.http[0].x\\x0aphases: []\\x1b[31m: unknown field (typo?), ignored');
    expect(run.stdout).not.toContain('\u001b');
    const scenario = loadScenario(run.stdout, 'plan.yaml', { checkExpression: checkExpectation });
    expect(scenario.phases).toHaveLength(2);
  });
});

describe('meshload verify: a run (not a dry run) on files for several hosts', () => {
  it('says the host chosen and lists every field before the phases run', async () => {
    server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 5000, maxPayloadBytes: 1024 });
    dir = mkdtempSync(join(tmpdir(), 'meshload-verify-hosts-'));
    const route = join(dir, 'reviews-vs.yaml');
    writeFileSync(route, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - route: [{destination: {host: reviews}}]\n    timeout: 300ms\n    corsPolicy: {allowOrigins: [{exact: x}]}\n');
    const stats = join(dir, 'stats.txt');
    writeFileSync(stats, 'cluster.reviews.upstream_rq_timeout: 0\ncluster.reviews.upstream_rq_total: 0\n');
    const run = await cli('verify', '-f', DR_ALL, '-f', route, `http://127.0.0.1:${server.echoPort}/echo`, '--host', 'reviews', '--stats-cmd', `cat ${stats}`, '--backend', 'meshload', '--max-echo-delay', '5s', '--no-report');
    expect(run.stderr).toMatch(/^== verify http:\/\/127\.0\.0\.1:\d+\/echo: host reviews \(chosen by --host\): 1 policy, 2 phases$/m);
    expect(run.stderr).toMatch(/^ {4}.*bookinfo-destination-rule-all\.yaml: DestinationRule ratings: not verified \(spec\): other host: ratings/m);
    expect(run.stderr).toMatch(/^ {6}verified: spec\.http\[0\]\.timeout$/m);
    expect(run.stderr).toMatch(/^ {6}not verified: spec\.http\[0\]\.corsPolicy: CORS applies to browser preflight requests/m);
    // The phases ran against the echo server (the stats file never moves, so the verdict is not the point here).
    expect(run.stderr).toMatch(/phase timeout: upstream slower than 300ms/);
  });
});
