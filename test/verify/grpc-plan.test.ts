/** verify against a gRPC target (issue 16): what the planner derives from fault.abort.grpcStatus,
 * httpStatus aborts and retryOn gRPC conditions, that the derived scenario validates, and that its
 * checks fail against the meshload gRPC server without a mesh in between (nothing injected, nothing
 * retried): a check that cannot fail would prove nothing. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkExpectation } from '../../src/checks';
import { runScenario } from '../../src/scenario/run-scenario';
import { loadScenario } from '../../src/scenario/load-scenario';
import { startGrpcServer, type RunningGrpcServer } from '../../src/server/grpc-server';
import { readIstioManifests } from '../../src/verify/istio-manifests';
import { planVerification, type VerificationPlan, type VerifyOptions } from '../../src/verify/plan-verification';
import { cli } from '../helpers/cli';

const OPTIONS: VerifyOptions = {
  target: 'grpc://echo:8079',
  backend: 'meshload',
  maxDelayMs: undefined,
  proxy: 'envoy',
  confidence: 0.999,
  maxRequests: 2000,
  sidecar: { stats: 'http://localhost:15000/stats' },
  ejectAdmin: undefined,
};

function vs(route: string): string {
  return `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: echo}\nspec:\n  hosts: [echo]\n  http:\n  - route:\n    - destination: {host: echo}\n${route}`;
}

function plan(yaml: string, options: Partial<VerifyOptions> = {}): VerificationPlan {
  return planVerification(readIstioManifests([{ file: 'm.yaml', text: yaml }]), { ...OPTIONS, ...options });
}

/** The derived scenario as `meshload run` reads it: it must validate. */
function validates(p: VerificationPlan): void {
  expect(() => loadScenario(stringify(p.scenario), 'plan.yaml', { checkExpression: checkExpectation })).not.toThrow();
}

describe('planning against a gRPC target', () => {
  it('fault.abort.grpcStatus: a gRPC load checking the status share against none', () => {
    const p = plan(vs('    fault:\n      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 20}}\n'));
    expect(p.scenario.target).toBe('http://echo:8079');
    expect(p.scenario.phases).toEqual([
      expect.objectContaining({ name: 'fault: injected gRPC aborts', load: { connections: 4, requests: 50, grpc: { call: 'ping' } }, expect: ['grpc(UNAVAILABLE) ~ 20% vs 0%', 'cause(fault) ~ 20% vs 0%'] }),
    ]);
    expect(p.rules).toEqual(['grpc.abort-status', 'grpc.target']);
    validates(p);
  });

  it('an httpStatus abort on a gRPC route is checked as the status the client sees (503 -> UNAVAILABLE), by --grpc on an http URL too', () => {
    const p = plan(vs('    fault:\n      abort: {httpStatus: 400, percentage: {value: 50}}\n'), { target: 'http://echo:8079', grpc: true, backend: 'unknown' });
    expect(p.scenario.phases[0]?.expect).toEqual(['grpc(INTERNAL) ~ 50% vs 0%', 'cause(fault) ~ 50% vs 0%']);
    // An unidentified server gets the health check, which every gRPC server may answer.
    expect(p.scenario.phases[0]?.load).toMatchObject({ grpc: {} });
    expect(p.rules).toContain('grpc.http-abort');
  });

  it('retryOn naming deadline-exceeded: fails 50% of tries with it by metadata, expects 0.5^(attempts+1)', () => {
    const p = plan(vs('    retries: {attempts: 3, retryOn: "unavailable,deadline-exceeded"}\n'));
    const phase = p.scenario.phases[0];
    expect(phase?.load).toEqual({ connections: 2, requests: 40, headers: { 'x-meshload-grpc-status': '4:50' }, grpc: { call: 'ping' } });
    expect(phase?.expect).toEqual(['grpc(DEADLINE_EXCEEDED) ~ 6.25% vs 50%', 'retries.attempted > 0']);
    expect(p.policies[0]?.unshown).toBeUndefined();
    validates(p);
  });

  it("retryOn with only Istio's default conditions and 2 attempts: the check cannot tell the block from no block, and says so", () => {
    const p = plan(vs('    retries: {attempts: 2, retryOn: unavailable}\n'));
    expect(p.scenario.phases[0]?.expect[0]).toBe('grpc(UNAVAILABLE) ~ 12.5% vs 50%');
    expect(p.policies[0]?.unshown).toEqual([expect.stringMatching(/a mesh without this retries block retries UNAVAILABLE 2 times too/)]);
  });

  it('no retryOn: the default (unavailable, cancelled) applies; retryOn without gRPC conditions: a code it does not retry, and no retries', () => {
    const byDefault = plan(vs('    retries: {attempts: 4}\n'));
    expect(byDefault.scenario.phases[0]?.expect).toEqual(['grpc(UNAVAILABLE) ~ 3.125% vs 12.5%', 'retries.attempted > 0']);
    expect(byDefault.rules).toContain('grpc.default-retry-on');
    const none = plan(vs('    retries: {attempts: 3, retryOn: "5xx"}\n'));
    // 5xx does not retry a gRPC failure (HTTP 200 on the wire); a mesh without the block would retry UNAVAILABLE.
    expect(none.scenario.phases[0]?.expect).toEqual(['grpc(UNAVAILABLE) ~ 50% vs 12.5%', 'retries.attempted == 0']);
    expect(none.policies[0]?.unshown).toBeUndefined();
  });

  it('skips with reasons: retries without the meshload server, and what is planned over HTTP only (nothing left: exit 2 naming each)', () => {
    const yaml = `${vs('    timeout: 2s\n    retries: {attempts: 2, retryOn: unavailable}\n    fault:\n      delay: {fixedDelay: 1s, percentage: {value: 10}}\n')}---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: echo}\nspec:\n  host: echo\n  trafficPolicy:\n    connectionPool: {http: {http2MaxRequests: 5}}\n`;
    const http = "verified over HTTP only: run verify against the service's HTTP port without --grpc for this policy";
    expect(() => plan(yaml, { backend: 'fortio' })).toThrow(
      `nothing to verify for echo: connectionPool: ${http}; retries: needs the meshload gRPC server upstream (per-call x-meshload-grpc-status chaos): pass --backend meshload if it is one; timeout: ${http}; fault: ${http}`,
    );
  });
});

describe('retries with outlier detection in force', () => {
  const od = '---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: echo}\nspec:\n  host: echo\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 3, interval: 10s, baseEjectionTime: 30s}\n';

  it('fails tries only with codes the detector does not count (RESOURCE_EXHAUSTED is 429 to it)', () => {
    const p = plan(`${vs('    retries: {attempts: 3, retryOn: "unavailable,resource-exhausted"}\n')}${od}`);
    expect(p.scenario.phases[0]?.load).toMatchObject({ headers: { 'x-meshload-grpc-status': '8:50' } });
    expect(p.scenario.phases[0]?.expect[0]).toBe('grpc(RESOURCE_EXHAUSTED) ~ 6.25% vs 50%');
    expect(p.rules).toContain('grpc.outlier');
  });

  it('a route retrying only counted codes is not planned, with the reason; one retrying none gets CANCELLED', () => {
    expect(() => plan(`${vs('    retries: {attempts: 3, retryOn: unavailable}\n')}${od}`)).toThrow(
      'retries: DestinationRule echo has outlier detection, which counts the unavailable failures this route retries as 5xx (Envoy maps grpc-status 14 to 503, 4 to 504, 13 to 500), so failing tries would eject endpoints: verify retries over HTTP, which keeps under the threshold, or with resource-exhausted or cancelled in retryOn',
    );
    const none = plan(`${vs('    retries: {attempts: 3, retryOn: 5xx}\n')}${od}`);
    expect(none.scenario.phases[0]?.expect).toEqual(['grpc(CANCELLED) ~ 50% vs 12.5%', 'retries.attempted == 0']);
    expect(none.scenario.phases[0]?.load).toMatchObject({ headers: { 'x-meshload-grpc-status': '1:50' } });
  });
});

describe('the derived checks against the meshload gRPC server without a mesh', () => {
  let server: RunningGrpcServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('fail: no abort is injected and no try is retried', async () => {
    server = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 1000 });
    const p = plan(
      `${vs('    fault:\n      abort: {grpcStatus: RESOURCE_EXHAUSTED, percentage: {value: 30}}\n')}---\n${vs('    retries: {attempts: 3, retryOn: deadline-exceeded}\n').replace('name: echo}', 'name: echo2}')}`,
      { target: `grpc://127.0.0.1:${server.port}`, sidecar: {} },
    );
    // The proxy's stats are not there without a mesh: run the client-side checks only.
    const scenario = { ...p.scenario, sidecar: undefined, phases: p.scenario.phases.map((ph) => ({ ...ph, expect: ph.expect.filter((e) => e.startsWith('grpc(')) })) };
    dir = mkdtempSync(join(tmpdir(), 'meshload-grpc-verify-'));
    const file = join(dir, 'plan.yaml');
    writeFileSync(file, stringify(scenario));
    const result = await runScenario(loadScenario(stringify(scenario), file, { checkExpression: checkExpectation }), file, new AbortController().signal, { phaseStarted: () => undefined, stepDone: () => undefined, phaseDone: () => undefined });
    expect(result.phases.map((ph) => ph.checks.map((c) => `${c.expression}: ${c.verdict}`))).toEqual([['grpc(RESOURCE_EXHAUSTED) ~ 30% vs 0%: fail'], ['grpc(DEADLINE_EXCEEDED) ~ 6.25% vs 50%: fail']]);
    expect(result.verdict).toBe('fail');
  }, 30_000);
});

describe('meshload verify with a gRPC target', () => {
  const STATS = ['--stats', 'http://127.0.0.1:1/stats'];
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshload-grpc-verify-cli-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run prints a gRPC plan and accounts grpcStatus as verified', async () => {
    const file = join(dir, 'vs.yaml');
    writeFileSync(file, vs('    fault:\n      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 20}}\n'));
    const run = await cli('verify', '-f', file, 'grpc://echo:8079', ...STATS, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/verify: backend unknown \(a gRPC target is not probed/);
    expect(run.stdout).toMatch(/verified: spec\.http\[0\]\.fault\.abort\.grpcStatus, spec\.http\[0\]\.fault\.abort\.percentage\.value/);
    expect(run.stdout).toMatch(/- grpc\(UNAVAILABLE\) ~ 20% vs 0%/);
  });

  it('over HTTP, grpcStatus is accounted as not verified, naming how to verify it', async () => {
    const file = join(dir, 'vs.yaml');
    writeFileSync(file, vs('    fault:\n      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 20}}\n    retries: {attempts: 2, retryOn: 5xx}\n'));
    const run = await cli('verify', '-f', file, 'http://echo:8080/', ...STATS, '--dry-run', '--backend', 'meshload');
    expect(run.stdout).toMatch(/not verified: spec\.http\[0\]\.fault\.abort\.grpcStatus: a grpcStatus abort is verified against a gRPC target only \(a grpc:\/\/ URL or --grpc\)/);
  });

  it.each([
    ['grpc://echo:8079/path', /is not a gRPC destination/],
    ['ftp://echo', /is not an http\(s\) or grpc:\/\/ URL/],
  ])('%s is a usage error, exit 2 in one line', async (url, pattern) => {
    const file = join(dir, 'vs.yaml');
    writeFileSync(file, vs('    fault:\n      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 20}}\n'));
    const run = await cli('verify', '-f', file, url, ...STATS, '--dry-run');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(pattern);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
