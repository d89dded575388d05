/** The endpoint count decides whether anything is ejected (Envoy's strict maxEjectionPercent):
 * read from the proxy's /clusters page or --endpoints, and used by the plan (issue 15). */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPlan } from '../../src/cli/commands/verify-action';
import { checkExpectation } from '../../src/checks';
import { loadScenario } from '../../src/scenario/load-scenario';
import { countEndpoints, parseEndpoints } from '../../src/verify/endpoint-count';
import { readIstioManifests } from '../../src/verify/istio-manifests';
import { planVerification, type VerifyOptions } from '../../src/verify/plan-verification';
import { probeEndpoints } from '../../src/verify/probe-backend';

const OPTIONS: VerifyOptions = {
  target: 'http://meshload-server:8080/echo',
  backend: 'meshload',
  maxDelayMs: undefined,
  proxy: 'envoy',
  confidence: 0.999,
  maxRequests: 2000,
  sidecar: { stats: 'http://localhost:15000/stats' },
  ejectAdmin: 'http://10.0.0.5:9081',
};

const DR = (outlier: string): string => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc}\nspec:\n  host: meshload-server\n  trafficPolicy:\n    outlierDetection: ${outlier}\n`;
const VS = `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc}\nspec:\n  hosts: [meshload-server]\n  http:\n  - route:\n    - destination: {host: meshload-server}\n    timeout: 500ms\n`;

function plan(yaml: string, options: Partial<VerifyOptions> = {}): ReturnType<typeof planVerification> {
  return planVerification(readIstioManifests([{ file: 'm.yaml', text: yaml }]), { ...OPTIONS, ...options });
}

/** An Istio-shaped /clusters page: `hosts` endpoints on the service's cluster, 2 on a subset's. */
function clustersPage(hosts: number, semicolon = false): string {
  const name = `outbound|8080||meshload-server.default.svc.cluster.local${semicolon ? ';' : ''}`;
  const lines = [`${name}::default_priority::max_connections::4294967295`, `${name}::outlier::success_rate_average::-1`];
  for (let i = 0; i < hosts; i++) lines.push(`${name}::10.1.0.${i}:8080::cx_active::0`, `${name}::10.1.0.${i}:8080::health_flags::healthy`, `${name}::10.1.0.${i}:8080::weight::1`);
  for (let i = 0; i < 2; i++) lines.push(`outbound|8080|v1|meshload-server.default.svc.cluster.local::10.2.0.${i}:8080::health_flags::healthy`);
  lines.push('outbound|9090||other.default.svc.cluster.local::10.3.0.1:9090::health_flags::healthy');
  return `${lines.join('\n')}\n`;
}

describe('countEndpoints: the hosts of the service cluster on /clusters', () => {
  it('counts the hosts of outbound|PORT||HOST, not the subset clusters nor other services', () => {
    expect(countEndpoints(clustersPage(3), { cluster: undefined, service: 'meshload-server', port: 8080 })).toEqual({ count: 3, source: "the proxy's /clusters (outbound|8080||meshload-server.default.svc.cluster.local)" });
    // Istio >= 1.23 may end the name with ';'.
    expect(countEndpoints(clustersPage(4, true), { cluster: undefined, service: 'meshload-server.default', port: undefined })).toMatchObject({ count: 4 });
    // --cluster names the subset's cluster exactly: its own hosts.
    expect(countEndpoints(clustersPage(3), { cluster: 'outbound|8080|v1|meshload-server.default.svc.cluster.local', service: 'x', port: undefined })).toMatchObject({ count: 2 });
  });

  it('says why when it cannot tell: no such cluster, or ports with different counts', () => {
    expect(countEndpoints(clustersPage(3), { cluster: undefined, service: 'reviews', port: 9080 })).toEqual({ reason: expect.stringMatching(/no cluster of outbound\|PORT\|\|reviews/) });
    const two = `${clustersPage(3)}outbound|9000||meshload-server.default.svc.cluster.local::10.9.0.1:9000::health_flags::healthy\n`;
    expect(countEndpoints(two, { cluster: undefined, service: 'meshload-server', port: undefined })).toEqual({ reason: expect.stringMatching(/different host counts \(3, 1\)/) });
    expect(countEndpoints(two, { cluster: undefined, service: 'meshload-server', port: 9000 })).toMatchObject({ count: 1 });
    // Envoy's own fixture (no Istio names): nothing matches a service, the exact name does.
    const fixture = readFileSync(join(__dirname, '..', '..', '..', 'shared', 'fixtures', 'envoy', 'clusters.txt'), 'utf8');
    expect(countEndpoints(fixture, { cluster: 'test_cluster', service: 'x', port: undefined })).toMatchObject({ count: 1 });
  });

  it('--endpoints takes a whole number from 1, nothing else', () => {
    expect(['3', ' 12 ', '100000'].map(parseEndpoints)).toEqual([3, 12, 100000]);
    expect(['0', '-1', '1.5', '1e3', '', 'x', '100001', '99999999999999999999'].map(parseEndpoints)).toEqual(Array(8).fill(undefined));
  });
});

describe('probeEndpoints: one bounded GET of /clusters beside the --stats URL', () => {
  let server: http.Server;
  let base: string;
  let page = clustersPage(5);
  let status = 200;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(req.url === '/clusters' ? status : 404);
      res.end(req.url === '/clusters' ? page : '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads the count from the admin origin', async () => {
    page = clustersPage(5);
    status = 200;
    await expect(probeEndpoints(`${base}/stats`, { cluster: undefined, service: 'meshload-server', port: 8080 })).resolves.toMatchObject({ count: 5 });
  });

  it('a Prometheus URL, an error status or a dead port: unknown, with the reason', async () => {
    await expect(probeEndpoints(`${base}/stats/prometheus`, { cluster: undefined, service: 'meshload-server', port: 8080 })).resolves.toEqual({ reason: expect.stringMatching(/not Envoy's admin \/stats/) });
    status = 503;
    await expect(probeEndpoints(`${base}/stats`, { cluster: undefined, service: 'meshload-server', port: 8080 })).resolves.toEqual({ reason: expect.stringMatching(/answered 503/) });
    // A page over the cap is cut: its count could be short, so it is not believed.
    status = 200;
    page = `${clustersPage(5)}${'x'.repeat(5 * 1024 * 1024)}\n`;
    await expect(probeEndpoints(`${base}/stats`, { cluster: undefined, service: 'meshload-server', port: 8080 })).resolves.toEqual({ reason: expect.stringMatching(/is over 4194304 bytes, so its host count may be short: pass --endpoints/) });
    await expect(probeEndpoints('http://127.0.0.1:1/stats', { cluster: undefined, service: 'meshload-server', port: 8080 }, 2000)).resolves.toEqual({ reason: expect.stringMatching(/failed/) });
  });
});

describe('the plan uses the endpoint count', () => {
  it('unknown: said as an assumption, and the phases are held under the threshold', () => {
    const p = plan(`${DR('{consecutive5xxErrors: 3}')}---\n${VS}`);
    expect(p.assumptions.join(' ')).toMatch(/endpoint count is unknown \(pass --endpoints N/);
    expect(p.scenario.phases.find((ph) => /slower than 500ms/.test(ph.name))?.load.requests).toBe(2);
    expect(p.rules).toContain('outlier.endpoint-count');
  });

  it('3 endpoints at the default 10%: nothing ejects, so no phase is held back, and the refused ejection is checked', () => {
    const p = plan(`${DR('{consecutive5xxErrors: 3}')}---\n${VS}`, { endpoints: { count: 3, source: '--endpoints' } });
    expect(p.assumptions.join(' ')).not.toMatch(/endpoint count/);
    // Eight slow calls: no longer capped at 2 by the threshold of 3.
    expect(p.scenario.phases.find((ph) => /slower than 500ms/.test(ph.name))?.load.requests).toBe(8);
    const od = p.policies.find((x) => x.policy === 'outlierDetection');
    expect(od?.model).toMatch(/The service has 3 endpoints \(--endpoints\): 10% of them is under one, so nothing is ejected\./);
    const last = p.scenario.phases[p.scenario.phases.length - 1];
    expect(last?.name).toBe('outlierDetection: one endpoint fails, none is ejected');
    expect(last?.expect).toEqual(['ejections.enforced == 0', 'delta(outlier_detection.ejections_overflow) > 0']);
    // meshload run reads it back.
    expect(loadScenario(renderPlan(p, ['m.yaml']), 'plan.yaml', { checkExpression: checkExpectation }).phases.length).toBe(p.scenario.phases.length);
  });

  it('10 endpoints at 10%: one may be ejected, named; 1 endpoint at 100%: not verified (no upstream left)', () => {
    const ten = plan(DR('{consecutive5xxErrors: 3}'), { endpoints: { count: 10, source: "the proxy's /clusters (c)" } });
    expect(ten.policies[0]?.model).toMatch(/The service has 10 endpoints \(the proxy's \/clusters \(c\)\): at most 1 of them ejected at once\./);
    expect(ten.scenario.phases.map((ph) => ph.name)).toEqual(['outlierDetection: one endpoint fails', 'outlierDetection: traffic left it', 'outlierDetection: after the ejection time']);
    expect(() => plan(DR('{consecutive5xxErrors: 3, maxEjectionPercent: 100}'), { endpoints: { count: 1, source: '--endpoints' } })).toThrow(/one endpoint: ejecting it leaves no healthy upstream/);
  });

  it('minHealthPercent against the known count: panic mode named when one ejection crosses it', () => {
    const p = plan(DR('{consecutive5xxErrors: 3, maxEjectionPercent: 50, minHealthPercent: 70}'), { endpoints: { count: 2, source: '--endpoints' } });
    expect(p.policies[0]?.unshown).toEqual(['minHealthPercent 70%: with one of 2 endpoints ejected, 50% are healthy, so panic mode sends traffic to the ejected one too']);
    const q = plan(DR('{consecutive5xxErrors: 3, maxEjectionPercent: 50, minHealthPercent: 70}'), { endpoints: { count: 4, source: '--endpoints' } });
    expect(q.policies[0]?.unshown).toBeUndefined();
  });
});
