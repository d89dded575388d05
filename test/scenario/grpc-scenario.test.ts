/** gRPC in scenarios (issue 16): a phase loads the embedded gRPC server, failures injected per
 * call by metadata, and grpc(...) checks decide by gRPC status (which is HTTP 200 on the wire). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReportHtml } from '../../src/report/html/render-report';
import { renderScenarioMarkdown } from '../../src/report/scenario/markdown';
import { loadLine } from '../../src/report/scenario/text';
import { checkExpectation, formatExpectation, parseExpectation } from '../../src/checks';
import { runScenario } from '../../src/scenario/run-scenario';
import type { ScenarioResult } from '../../src/scenario/scenario-result';
import { loadScenario, ScenarioError } from '../../src/scenario/load-scenario';
import { cli } from '../helpers/cli';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-grpc-scenario-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const NO_EVENTS = { phaseStarted: () => undefined, stepDone: () => undefined, phaseDone: () => undefined };

function issuesOf(text: string): string[] {
  try {
    loadScenario(text, 'g.yaml', { checkExpression: checkExpectation });
  } catch (error) {
    if (error instanceof ScenarioError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

describe('grpc(STATUS) checks: parsing', () => {
  it('reads a name in either spelling or a code, and writes it back canonically', () => {
    for (const text of ['grpc(UNAVAILABLE) == 0', 'grpc(Unavailable) == 0', 'grpc(unavailable) == 0', 'grpc(14) == 0']) {
      expect(parseExpectation(text)).toEqual({ kind: 'compare', metric: { kind: 'grpc', code: 14 }, op: '==', value: { unit: 'number', value: 0 } });
      expect(formatExpectation(parseExpectation(text))).toBe('grpc(UNAVAILABLE) == 0');
    }
    expect(formatExpectation(parseExpectation('grpc(DEADLINE_EXCEEDED) ~ 10% vs 50%'))).toBe('grpc(DEADLINE_EXCEEDED) ~ 10% vs 50%');
    expect(formatExpectation(parseExpectation('grpc(OK) > 99%'))).toBe('grpc(OK) > 99%');
  });

  it('refuses unknown statuses with a suggestion, and a missing one', () => {
    expect(checkExpectation('grpc(UNAVAILBLE) == 0')).toBe('column 6: unknown gRPC status "UNAVAILBLE" - did you mean "UNAVAILABLE"?');
    expect(checkExpectation('grpc(17) == 0')).toMatch(/unknown gRPC status "17"/);
    expect(checkExpectation('grpc() == 0')).toMatch(/grpc\(\) needs a gRPC status/);
    expect(checkExpectation('grpc == 0')).toMatch(/grpc needs a status/);
    expect(checkExpectation('grcp(OK) > 99%')).toMatch(/did you mean "grpc"/);
  });
});

describe('gRPC load keys: validation', () => {
  const head = 'name: g\nserver: { grpc: true }\nphases:\n  - name: p\n    load:\n';

  it('accepts a gRPC phase against the embedded server', () => {
    expect(issuesOf(`${head}      grpc: { call: ping, pingDelay: 1ms, streams: 2 }\n    expect: ['grpc(OK) > 99%']\n`)).toEqual([]);
  });

  it('refuses HTTP-only keys, misplaced call keys, a server without gRPC and a path in the target, all at once', () => {
    expect(issuesOf(`${head}      grpc: { call: health, pingDelay: 1ms }\n      path: /x\n      h2: true\n`)).toEqual([
      'phases[0].load.grpc.pingDelay: applies only to call: ping',
      'phases[0].load.path: not with grpc: a gRPC destination has no path: the method is in grpc.call',
      'phases[0].load.h2: not with grpc: gRPC always speaks HTTP/2: drop h2',
    ]);
    expect(issuesOf('name: g\nserver: {}\nphases:\n  - name: p\n    load: { grpc: {} }\n')).toEqual(['phases[0].load.grpc: loads the embedded server over gRPC: add grpc: true to server']);
    expect(issuesOf('name: g\ntarget: http://127.0.0.1:1/api\nphases:\n  - name: p\n    load: { grpc: {} }\n')).toEqual([
      expect.stringMatching(/^phases\[0\]\.load\.grpc: 'http:\/\/127\.0\.0\.1:1\/api' is not a gRPC destination: a gRPC destination is http:\/\/host:port/),
    ]);
    expect(issuesOf(`${head}      grpc: { call: 'not a method' }\n`)).toEqual(['phases[0].load.grpc.call: expected health, ping or a method like package.Service/Method']);
  });

  it('refuses the HTTP client keys the gRPC client would otherwise ignore', () => {
    expect(issuesOf(`${head}      grpc: { call: ping }\n      resolve: 127.0.0.1\n      unixSocket: /tmp/x.sock\n      http10: true\n      followRedirects: true\n`)).toEqual([
      'phases[0].load.resolve: not with grpc: the gRPC client does not take resolve yet: give the IP in the target',
      'phases[0].load.http10: not with grpc: gRPC needs HTTP/2: drop http10',
      'phases[0].load.followRedirects: not with grpc: gRPC has no redirects: drop followRedirects',
    ]);
  });
});

/** A scenario against the embedded server: 30% of pings fail UNAVAILABLE, 0% DEADLINE_EXCEEDED. */
function chaosScenario(expectations: string[]): string {
  return [
    'name: grpc chaos',
    'server: { grpc: true }',
    'phases:',
    '  - name: unavailable',
    '    load:',
    '      requests: 200',
    '      connections: 4',
    '      qps: 0',
    '      headers: { x-meshload-grpc-status: "14:30" }',
    '      grpc: { call: ping }',
    '    expect:',
    ...expectations.map((e) => `      - '${e}'`),
    '',
  ].join('\n');
}

describe('a gRPC phase against the embedded gRPC server', () => {
  it('passes when the checks hold, and the reports show the gRPC statuses', async () => {
    const text = chaosScenario(['grpc(UNAVAILABLE) ~ 30% vs 0%', 'grpc(OK) in [50%, 90%]', 'grpc(DEADLINE_EXCEEDED) == 0', 'calls == 200', 'error_rate > 10%']);
    const file = join(dir, 'pass.yaml');
    const scenario = loadScenario(text, file, { checkExpression: checkExpectation });
    const result: ScenarioResult = await runScenario(scenario, file, new AbortController().signal, NO_EVENTS);
    const phase = result.phases[0];
    expect(phase?.checks.map((c) => [c.expression, c.verdict])).toEqual([
      ['grpc(UNAVAILABLE) ~ 30% vs 0%', 'pass'],
      ['grpc(OK) in [50%, 90%]', 'pass'],
      ['grpc(DEADLINE_EXCEEDED) == 0', 'pass'],
      ['calls == 200', 'pass'],
      ['error_rate > 10%', 'pass'],
    ]);
    expect(result.verdict).toBe('pass');
    const load = phase?.load;
    if (load === undefined) throw new Error('no load');
    expect(load.plan.grpc?.kind).toBe('ping');
    const statuses = load.grpcStatuses ?? {};
    expect((statuses['OK'] ?? 0) + (statuses['Unavailable'] ?? 0)).toBe(200);
    expect(statuses['Unavailable']).toBeGreaterThan(0);
    expect(loadLine(load)).toMatch(new RegExp(`; gRPC OK ${statuses['OK'] ?? 0}, Unavailable ${statuses['Unavailable'] ?? 0}`));
    expect(renderScenarioMarkdown(result)).toMatch(new RegExp(`gRPC OK: ${statuses['OK'] ?? 0}, Unavailable: ${statuses['Unavailable'] ?? 0} \\| pass \\|`));
    expect(renderReportHtml(result)).toMatch(new RegExp(`<tr data-grpc-status="Unavailable"><td>Unavailable</td><td class="num">${statuses['Unavailable'] ?? 0}</td>`));
  }, 20_000);

  it('fails through `meshload run` (exit 1) when UNAVAILABLE calls are seen, naming the numbers', async () => {
    const file = join(dir, 'fail.yaml');
    writeFileSync(file, chaosScenario(['grpc(UNAVAILABLE) == 0', 'grpc(OK) > 99%']));
    const run = await cli('run', file, '--no-report');
    expect(run.code).toBe(1);
    const out = run.stdout + run.stderr;
    expect(out).toMatch(/grpc\(UNAVAILABLE\) \d+ \(\d+\.\d% of 200 calls\) is above the 0 expected/);
    expect(out).toMatch(/grpc\(OK\) \d+\.\d% \(\d+ of 200 calls\) is below 99%, not above it/);
  }, 20_000);

  it('an unknown gRPC status in a check is a usage error (exit 2, one line with the path)', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, chaosScenario(['grpc(UNAVAILBLE) == 0']));
    const run = await cli('run', file);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/phases\[0\]\.expect\[0\] \(line 12\): column 6: unknown gRPC status "UNAVAILBLE" - did you mean "UNAVAILABLE"\?/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('a chaos: step sets server-wide gRPC statuses on the embedded gRPC server (/chaos grpc-status=)', async () => {
    const text = [
      'name: grpc server-wide chaos',
      'server: { grpc: true }',
      'phases:',
      '  - name: all unavailable',
      '    steps: [{ chaos: { set: "grpc-status=UNAVAILABLE" } }]',
      '    load: { requests: 20, qps: 0, grpc: { call: health } }',
      '    expect: ["grpc(UNAVAILABLE) == 100%", "cause(app) == 20"]',
      '  - name: cleared',
      '    steps: [{ chaos: { clear: true } }]',
      '    load: { requests: 20, qps: 0, grpc: {} }',
      '    expect: ["grpc(OK) == 100%"]',
      '',
    ].join('\n');
    const file = join(dir, 'server-wide.yaml');
    const result = await runScenario(loadScenario(text, file, { checkExpression: checkExpectation }), file, new AbortController().signal, NO_EVENTS);
    expect(result.phases.map((p) => p.checks.map((c) => `${c.expression}: ${c.verdict}`))).toEqual([
      ['grpc(UNAVAILABLE) == 100%: pass', 'cause(app) == 20: pass'],
      ['grpc(OK) == 100%: pass'],
    ]);
  }, 20_000);

  it('a chaos: step with a bad gRPC status is refused with its path when the file is read', () => {
    expect(issuesOf('name: g\nserver: { grpc: true }\nphases:\n  - name: p\n    steps: [{ chaos: { set: "grpc-status=UNAVAILBLE" } }]\n')).toEqual([
      "phases[0].steps[0].chaos.set: grpc-status: 'UNAVAILBLE' is not a gRPC status (0-16 or a name like UNAVAILABLE)",
    ]);
  });

  it('call: a method resolved by server reflection, as load -grpc-method; one reflection cannot resolve fails its phase, not the run', async () => {
    const text = [
      'name: grpc methods',
      'server: { grpc: true }',
      'phases:',
      '  - name: health by reflection',
      `    load: { requests: 10, qps: 0, payload: '{"service":""}', grpc: { call: grpc.health.v1.Health/Check } }`,
      '    expect: ["grpc(OK) == 100%"]',
      '  - name: no such service',
      '    load: { requests: 10, qps: 0, grpc: { call: nowhere.Svc/Do } }',
      '    expect: ["grpc(OK) == 100%"]',
      '  - name: after it',
      '    load: { requests: 5, qps: 0, grpc: {} }',
      '    expect: ["grpc(OK) == 100%"]',
      '',
    ].join('\n');
    const file = join(dir, 'methods.yaml');
    const result = await runScenario(loadScenario(text, file, { checkExpression: checkExpectation }), file, new AbortController().signal, NO_EVENTS);
    expect(result.phases.map((p) => [p.name, p.verdict])).toEqual([
      ['health by reflection', 'pass'],
      ['no such service', 'no_data'],
      ['after it', 'pass'],
    ]);
    expect(result.phases[0]?.load?.plan.grpc?.kind).toBe('method');
    expect(result.phases[1]?.checks[0]?.reason).toMatch(/^the gRPC call could not be prepared: .*nowhere\.Svc/);
    expect(result.verdict).toBe('no_data');
  }, 20_000);

  it('grpc(...) on an HTTP phase is no data, never a pass', async () => {
    const text = 'name: http\nserver: {}\nphases:\n  - name: p\n    load: { requests: 5, qps: 0 }\n    expect: ["grpc(UNAVAILABLE) == 0"]\n';
    const file = join(dir, 'http.yaml');
    const result = await runScenario(loadScenario(text, file, { checkExpression: checkExpectation }), file, new AbortController().signal, NO_EVENTS);
    expect(result.phases[0]?.checks[0]).toMatchObject({ verdict: 'no_data', reason: "the phase's load made no gRPC calls: add grpc: to its load" });
  }, 20_000);
});
