import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { proportionSampleSize } from '../../src/metrics/statistics';
import { checkExpectation } from '../../src/checks';
import { loadScenario } from '../../src/scenario/load-scenario';
import { renderPlan } from '../../src/cli/commands/verify-action';
import { readIstioManifests } from '../../src/verify/istio-manifests';
import { planVerification, type VerifyOptions } from '../../src/verify/plan-verification';

const MANIFESTS = join(__dirname, '..', '..', 'scenarios', 'istio', 'manifests');

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

function plan(yaml: string, options: Partial<VerifyOptions> = {}): ReturnType<typeof planVerification> {
  return planVerification(readIstioManifests([{ file: 'm.yaml', text: yaml }]), { ...OPTIONS, ...options });
}

function vs(route: string): string {
  return `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc}\nspec:\n  hosts: [meshload-server]\n  http:\n  - route:\n    - destination: {host: meshload-server}\n${route}`;
}

function dr(policy: string): string {
  return `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc}\nspec:\n  host: meshload-server\n  trafficPolicy:\n${policy}`;
}

function phase(p: ReturnType<typeof planVerification>, name: RegExp): (typeof p.scenario.phases)[number] {
  const found = p.scenario.phases.find((ph) => name.test(ph.name));
  if (found === undefined) throw new Error(`no phase ${name}: ${p.scenario.phases.map((ph) => ph.name).join(', ')}`);
  return found;
}

describe('planVerification', () => {
  it.each(readdirSync(MANIFESTS).filter((f) => !['httpbin.yaml', 'meshload-server.yaml', 'meshload-client.yaml'].includes(f)))(
    'turns %s into a scenario meshload run accepts',
    (file) => {
      const policies = readIstioManifests([{ file, text: readFileSync(join(MANIFESTS, file), 'utf8') }]);
      const target = file.startsWith('httpbin') ? 'http://httpbin:8000/get' : OPTIONS.target;
      const derived = planVerification(policies, { ...OPTIONS, target, backend: file.startsWith('httpbin') ? 'httpbin' : 'meshload' });
      const text = renderPlan(derived, [file]);
      const scenario = loadScenario(text, 'derived.yaml', { checkExpression: checkExpectation });
      expect(scenario.phases.length).toBe(derived.scenario.phases.length);
      expect(scenario.phases.every((p) => p.expect.length > 0)).toBe(true);
      expect(text).toMatch(/^# Derived by: meshload verify -f /);
    },
  );

  it('retries on 5xx: expects p^(attempts+1) against p, with the fewest calls that decide', () => {
    const p = plan(vs('    retries: {attempts: 3, retryOn: 5xx}\n'), { istioVersion: { major: 1, minor: 24, source: '--istio-version' } });
    const retries = phase(p, /^retries: each try fails at 50%/);
    const needed = proportionSampleSize(0.0625, 0.5, 0.999);
    expect(retries.load.requests).toBe(Math.ceil(needed / 10) * 10);
    expect(retries.load.url).toBe('http://meshload-server:8080/echo?status=503:50');
    expect(retries.expect).toEqual(['status(503) ~ 6.25% vs 50%', 'retries.attempted > 0', 'agree(retries)']);
    expect(retries.description).toMatch(/the fewest that tell the two apart at 99.9% confidence/);
    expect(p.policies[0]?.model).toMatch(/about 6.25% of calls fail, not 50%/);
    // Without a version, a mesh without the block may be an Istio <= 1.23 that retries 503
    // twice (12.5%): the check rules that out too, with more calls.
    const unknown = phase(plan(vs('    retries: {attempts: 3, retryOn: 5xx}\n')), /^retries: each try fails at 50%/);
    expect(unknown.expect[0]).toBe('status(503) ~ 6.25% vs 12.5%');
    expect(unknown.load.requests).toBe(Math.ceil(proportionSampleSize(0.0625, 0.125, 0.999) / 10) * 10);
  });

  it("retries without 503 in retryOn: the app's 503s are not retried", () => {
    const p = plan(vs('    retries: {attempts: 2, retryOn: "connect-failure,refused-stream"}\n'));
    expect(phase(p, /^retries:/).expect).toEqual(['status(503) ~ 50% vs 12.5%', 'retries.attempted == 0']);
    expect(p.policies[0]?.model).toMatch(/not retried \(retryOn names no 5xx, gateway-error or 503\)/);
  });

  it('HAProxy and httpbin: no Envoy-only checks, httpbin paths for faults and delays', () => {
    const p = plan(vs('    retries: {attempts: 1, retryOn: gateway-error}\n    timeout: 2s\n'), { proxy: 'haproxy', backend: 'httpbin', target: 'http://httpbin:8000/get' });
    const retries = phase(p, /^retries:/);
    expect(retries.load.url).toBe('http://httpbin:8000/status/200,503');
    expect(retries.expect).toEqual(['status(503) ~ 25% vs 50%', 'retries.attempted > 0']);
    const slow = phase(p, /^timeout: upstream slower/);
    expect(slow.load.url).toBe('http://httpbin:8000/delay/3');
    expect(slow.expect).toEqual(['status(504) == 100%', 'cause(timeout) == 100%', 'p(50) in [1.9s, 2.5s]', 'timeouts.route > 0']);
  });

  it('a breaker limits every other phase to the calls it lets through', () => {
    const yaml = `${dr('    connectionPool:\n      tcp: {maxConnections: 2}\n      http: {http1MaxPendingRequests: 1}\n')}---\n${vs('    timeout: 500ms\n    retries: {attempts: 3, retryOn: 5xx}\n')}`;
    const p = plan(yaml);
    expect(phase(p, /^connectionPool: under/).load.connections).toBe(2);
    expect(phase(p, /^connectionPool: over/).load.connections).toBe(9);
    // The pending queue binds (2 + 1 < unlimited active requests): its own overflow counter.
    expect(phase(p, /^connectionPool: over/).expect).toEqual(['breaker.pending > 0', 'cause(breaker) > 0', 'agree(breaker)']);
    expect(phase(p, /^timeout: upstream slower/).load.connections).toBe(2);
    expect(phase(p, /^retries:/).load.connections).toBe(2);
  });

  it('maxConnections alone: requests queue, no 503 is expected', () => {
    const p = plan(dr('    connectionPool:\n      tcp: {maxConnections: 4}\n'));
    expect(phase(p, /^connectionPool: over the connection limit/).expect).toEqual(['cause(breaker) == 0', 'breaker.connection > 0']);
  });

  it('says why a policy is not verified, and refuses a plan with nothing to run', () => {
    const high = plan(`${dr('    connectionPool:\n      http: {http2MaxRequests: 1000}\n')}---\n${vs('    timeout: 1s\n')}`);
    expect(high.policies.find((x) => x.policy === 'connectionPool')?.skipped).toMatch(/the limit 1000 is too high to exceed from one generator/);
    expect(() => plan(dr('    outlierDetection: {consecutive5xxErrors: 5}\n'))).toThrow(/nothing to verify for meshload-server: outlierDetection: needs one failing endpoint among at least 10: pass --eject-admin/);
    expect(() => plan(vs('    fault: {abort: {httpStatus: 500}}\n'))).toThrow(/an abort without percentage injects nothing/);
  });

  it('one service at a time', () => {
    const other = 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: b}\nspec:\n  host: reviews\n';
    expect(() => plan(`${vs('    timeout: 1s\n')}---\n${other}`)).toThrow(/the files configure reviews, meshload-server: verify one service at a time/);
  });

  it('faults: Wilson checks against no injection; enough connections for the delays', () => {
    const p = plan(vs('    fault:\n      abort: {httpStatus: 503, percentage: {value: 10}}\n      delay: {fixedDelay: 2s, percentage: {value: 50}}\n'));
    const faults = phase(p, /^fault:/);
    expect(faults.expect).toEqual(['status(503) ~ 10% vs 0%', 'cause(fault) ~ 10% vs 0%', 'slower(2s) ~ 50% vs 0%']);
    expect(faults.load.requests).toBe(Math.ceil(proportionSampleSize(0.1, 0, 0.999) / 10) * 10);
    // 100 calls x 50% x 2 s = 100 s of delays over 10 connections: about 10 s.
    expect(faults.load.connections).toBe(10);
    expect(faults.load.timeout).toBe('4s');
  });

  it('weights: proportions of any total, chi-square against the even split, from x-version and the proxy', () => {
    const p = plan(vs('').replace('    - destination: {host: meshload-server}\n', '    - destination: {host: meshload-server, subset: v1}\n      weight: 3\n    - destination: {host: meshload-server, subset: v2}\n      weight: 1\n'));
    const split = phase(p, /^weights:/);
    expect(split.expect).toEqual(['versions ~ [v1 75%, v2 25%] vs [v1 50%, v2 50%]', 'subsets ~ [v1 75%, v2 25%] vs [v1 50%, v2 50%]']);
  });

  it('caps a phase at --max-requests and says the verdict may be inconclusive', () => {
    const p = plan(vs('    retries: {attempts: 1, retryOn: 5xx}\n'), { maxRequests: 50, confidence: 0.9999 });
    const retries = phase(p, /^retries:/);
    expect(retries.load.requests).toBe(50);
    expect(retries.description).toMatch(/capped by --max-requests 50, so the verdict may be inconclusive/);
    expect(retries.expect[0]).toBe('status(503) ~ 25% vs 50% at 99.99%');
  });

  it('lists what it read and does not verify', () => {
    const p = plan(vs('    timeout: 1s\n    mirror: {host: shadow}\n'));
    expect(p.notes.join('\n')).toMatch(/m\.yaml: VirtualService svc: spec\.http\[0\]\.mirror: not verified by meshload/);
    expect(renderPlan(p, ['m.yaml'])).toMatch(/# Read but not verified:\n# {3}m\.yaml: VirtualService svc: spec\.http\[0\]\.mirror/);
  });

  it('fits a delay to the echo server cap when it still clears the timeout, and says what it needs when not', () => {
    const route = vs('    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 1s}\n');
    // 1.5s wanted; a 1.2s cap clears perTryTimeout 1s by more than its margin.
    expect(phase(plan(route, { maxDelayMs: 1200 }), /every try is too slow/).load.url).toBe('http://meshload-server:8080/echo?delay=1.2s');
    const tight = plan(route, { maxDelayMs: 1000, istioVersion: { major: 1, minor: 24, source: '--istio-version' } });
    expect(tight.scenario.phases.map((p) => p.name)).toEqual(['retries: each try fails at 50%']);
    expect(tight.policies[0]?.unshown).toEqual(['perTryTimeout 1s: needs -max-echo-delay >= 1.5s on the meshload server (it caps delays at 1s)']);
    expect(tight.refusedDelayMs).toBe(1500);
    const fortio = plan(vs('    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 2s}\n'), { backend: 'fortio', istioVersion: { major: 1, minor: 24, source: '--istio-version' } });
    expect(fortio.policies[0]?.unshown).toEqual(["perTryTimeout 2s: needs -max-echo-delay >= 3s on the Fortio server (its default cap, 1.5s, assumed: pass --max-echo-delay if it was started with more)"]);
    expect(phase(fortio, /each try fails/).load.url).toBe('http://meshload-server:8080/echo?status=503:50');
  });

  it('an unknown backend is asked for no upstream fault: what needs one is not verified, the rest runs as-is', () => {
    const p = plan(`${dr('    connectionPool: {tcp: {maxConnections: 2}, http: {http1MaxPendingRequests: 1}}\n')}---\n${vs('    retries: {attempts: 2, retryOn: 5xx}\n    timeout: 1s\n')}`, { backend: 'unknown' });
    expect(p.scenario.phases.map((ph) => ph.name)).toEqual(['connectionPool: under the limit (2 connections)', 'connectionPool: over the limit (9 connections)']);
    expect(p.scenario.phases.every((ph) => ph.load.url === 'http://meshload-server:8080/echo')).toBe(true);
    expect(p.scenario.phases.some((ph) => /holds each call/.test(ph.description))).toBe(false);
    expect(p.policies.filter((x) => x.skipped !== undefined).map((x) => x.policy)).toEqual(['retries', 'timeout']);
  });
});
