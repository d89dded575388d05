import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatIssue,
  loadScenario,
  ScenarioError,
  validateScenario,
  type ScenarioIssue,
} from '../../src/scenario/load-scenario';
import { scenarioJsonSchema } from '../../src/scenario/scenario-schema';

const ROOT = join(__dirname, '..', '..');

/** The issues loadScenario throws, formatted; fails the test if it does not throw. */
function problems(text: string, checkExpression?: (text: string) => string | undefined): string[] {
  try {
    loadScenario(text, 'test.yaml', checkExpression === undefined ? {} : { checkExpression });
  } catch (error) {
    if (error instanceof ScenarioError) return error.issues.map(formatIssue);
    throw error;
  }
  throw new Error('expected the scenario to be rejected');
}

const MINIMAL = 'name: t\ntarget: http://127.0.0.1:1/\n';

describe('loadScenario', () => {
  it('loads a full scenario with durations in ms and every default filled', () => {
    const scenario = loadScenario(
      `name: full
target: http://httpbin:8000
sidecar: { statsCmd: "kubectl exec p -- pilot-agent request GET stats", cluster: httpbin }
defaults: { timeout: 2s, headers: { x-test: meshload, X-Env: ci }, connections: 2 }
phases:
  - name: warm
    steps:
      - run: echo hi
      - run: { command: kubectl apply -f dr.yaml, timeout: 10s }
      - sleep: 1.5s
      - waitFor: { stat: upstream_rq_pending_overflow, op: ">", value: 0, timeout: 30s }
      - waitFor: { clusters: { maxPendingRequests: 1 } }
      - chaos: { set: "status=503:30&delay=100ms:10", admin: "http://127.0.0.1:8079" }
      - chaos: { clear: true, admin: "http://127.0.0.1:8079" }
      - start: { command: ./server, ready: "http://127.0.0.1:9000/healthz" }
    load: { duration: 10s, ramp: { from: 5, to: 50 }, path: /status/200, headers: { x-env: phase } }
    expect: [ "status(200) == 100%" ]
  - name: burst
    load: { requests: 30, payload: hello, open: true, qps: 100, connectionReuse: "5:10", workers: auto }
  - name: checks only
    expect: [ "delta(upstream_rq_pending_overflow) == 0" ]
always:
  - run: kubectl delete dr httpbin
`,
      'full.yaml',
    );
    expect(scenario.sidecar).toEqual({ statsCmd: 'kubectl exec p -- pilot-agent request GET stats', cluster: 'httpbin', interval: 1000, timeout: 10000, maxBytes: 256 * 1024 * 1024 });
    const [warm, burst, checks] = scenario.phases;
    expect(warm?.steps).toEqual([
      { kind: 'run', command: 'echo hi', timeout: 60000 },
      { kind: 'run', command: 'kubectl apply -f dr.yaml', timeout: 10000 },
      { kind: 'sleep', duration: 1500 },
      { kind: 'waitFor', stat: 'upstream_rq_pending_overflow', op: '>', value: 0, timeout: 30000, interval: 1000 },
      { kind: 'waitFor', clusters: { maxPendingRequests: 1 }, timeout: 60000, interval: 1000 },
      { kind: 'chaos', set: 'status=503:30&delay=100ms:10', clear: false, admin: 'http://127.0.0.1:8079' },
      { kind: 'chaos', set: undefined, clear: true, admin: 'http://127.0.0.1:8079' },
      { kind: 'start', command: './server', ready: 'http://127.0.0.1:9000/healthz', timeout: 30000 },
    ]);
    expect(warm?.load).toMatchObject({
      connections: 2,
      qps: 5, // a ramp starts at `from`
      duration: 10000,
      requests: undefined,
      ramp: { from: 5, to: 50 },
      method: 'GET',
      headers: { 'x-test': 'meshload', 'x-env': 'phase' }, // case-insensitive override of X-Env
      path: '/status/200',
      timeout: 2000,
      keepAlive: true,
      open: undefined,
      workers: 1,
      percentiles: [50, 75, 90, 99, 99.9],
    });
    expect(burst?.load).toMatchObject({ requests: 30, method: 'POST', payload: 'hello', open: { maxInflight: 2 }, qps: 100, connectionReuse: { min: 5, max: 10 }, workers: 'auto' });
    expect(checks?.load).toBeUndefined();
    expect(checks?.steps).toEqual([]);
    expect(scenario.always).toEqual([{ kind: 'run', command: 'kubectl delete dr httpbin', timeout: 60000 }]);
  });

  it('fills the embedded server defaults and lets chaos use its admin port', () => {
    const scenario = loadScenario('name: s\nserver: {}\nphases:\n  - name: p\n    steps: [ { chaos: { set: "status=503:20" } } ]\n    load: { requests: 5 }\n', 's.yaml');
    expect(scenario.server).toEqual({ port: 0, admin: true, maxDelay: 1500, maxPayloadKb: 256 });
    expect(scenario.phases[0]?.load).toMatchObject({ connections: 4, qps: 8, timeout: 3000 });
  });

  it('reports every problem at once, in file order, with paths and lines', () => {
    const text = [
      'name: many', // 1
      'target: http://httpbin:8000/get', // 2
      'sidecar: { stats: "http://localhost:15000/stats", intervl: 1s }', // 3
      'defaults: { timeout: 3, headers: { x-n: 1 } }', // 4
      'phases:', // 5
      '  - name: one', // 6
      '    load:', // 7
      '      connections: 0', // 8
      '      conections: 2', // 9
      '      qps: fast', // 10
      '    steps:', // 11
      '      - run: { command: kubectl apply, timout: 5s }', // 12
      '      - waitFor: { stat: x, op: gt, value: 1 }', // 13
      '      - chaos: { set: "stauts=503" }', // 14
      '  - load: { workers: many, percentiles: [] }', // 15
      'bogus: true', // 16
    ].join('\n');
    expect(problems(text)).toEqual([
      'sidecar.intervl (line 3): unknown key "intervl" - did you mean "interval"?',
      'defaults.timeout (line 4): expected a duration with a unit, like 3s or 3ms',
      'defaults.headers["x-n"] (line 4): expected a string, got a number (1); quote it: "1"',
      'phases[0].load.connections (line 8): must be at least 1',
      'phases[0].load.conections (line 9): unknown key "conections" - did you mean "connections"?',
      'phases[0].load.qps (line 10): expected a number, got a string ("fast")',
      'phases[0].steps[0].run.timout (line 12): unknown key "timout" - did you mean "timeout"?',
      'phases[0].steps[1].waitFor.op (line 13): expected one of ">", ">=", "<", "<=", "==", "!="',
      'phases[0].steps[2].chaos (line 14): needs admin: the chaos server admin URL, or server: with admin enabled (the default) to use the embedded one',
      'phases[0].steps[2].chaos.set (line 14): stauts: unknown parameter (did you mean status?); use delay, status, size, close, header, gzip, grpc-status, grpc-delay',
      // A missing key points at the nearest line that exists: the list item.
      'phases[1].name (line 15): missing (expected a string)',
      'phases[1].load.workers (line 15): expected a number of worker threads or "auto"',
      'phases[1].load.percentiles (line 15): needs at least 1 item',
      'bogus (line 16): unknown key "bogus"; expected one of $schema, name, description, target, server, sidecar, defaults, secretHeaders, phases, always',
    ]);
  });

  it('reports unknown keys with suggestions, and unknown step kinds', () => {
    expect(problems(`${MINIMAL}phase:\n  - name: p\n`)).toEqual([
      // A missing key points at the nearest line that exists: here the top of the file.
      'phases (line 1): missing (expected a list)',
      'phase (line 3): unknown key "phase" - did you mean "phases"?',
    ]);
    expect(problems(`${MINIMAL}phases:\n  - name: p\n    steps:\n      - rnu: echo\n      - {}\n`)).toEqual([
      'phases[0].steps[0].rnu (line 6): unknown step kind "rnu" - did you mean "run"?',
      'phases[0].steps[1] (line 7): empty step; use one of run, sleep, waitFor, chaos, start',
    ]);
  });

  describe('cross-field rules', () => {
    const phase = (body: string): string => `phases:\n  - name: p\n${body}`;
    it.each<[string, string, string[]]>([
      [
        'target xor server',
        `name: t\ntarget: http://h/\nserver: {}\n${phase('    load: { requests: 1 }\n')}`,
        ['server (line 3): use either target (an existing service) or server (the embedded echo server), not both'],
      ],
      [
        'a load needs target or server (or its own url)',
        `name: t\n${phase('    load: { requests: 1 }\n')}`,
        ['target (line 1): missing: set target (the URL to load) or server (start the embedded echo server), or url in every load'],
      ],
      ['duration xor requests', `${MINIMAL}${phase('    load: { duration: 1s, requests: 5 }\n')}`, ['phases[0].load.requests (line 5): use either duration or requests, not both']],
      ['ramp needs duration', `${MINIMAL}${phase('    load: { requests: 5, ramp: { from: 1, to: 9 } }\n')}`, ['phases[0].load.ramp (line 5): needs duration: the rate is ramped over it']],
      ['ramp xor qps', `${MINIMAL}${phase('    load: { duration: 1s, qps: 3, ramp: { from: 1, to: 9 } }\n')}`, ['phases[0].load.ramp (line 5): use either qps or ramp (which sets the rate), not both']],
      ['maxInflight needs open', `${MINIMAL}${phase('    load: { maxInflight: 3 }\n')}`, ['phases[0].load.maxInflight (line 5): applies only to the open model: add open: true']],
      [
        'a step has exactly one kind',
        `${MINIMAL}${phase('    steps:\n      - run: echo\n        sleep: 1s\n')}`,
        ['phases[0].steps[0] (line 6): a step has exactly one kind; found run and sleep: split it into 2 steps'],
      ],
      [
        'chaos without admin needs server: with an admin port',
        `${MINIMAL}${phase('    steps: [ { chaos: { clear: true } } ]\n')}`,
        ['phases[0].steps[0].chaos (line 5): needs admin: the chaos server admin URL, or server: with admin enabled (the default) to use the embedded one'],
      ],
      [
        'chaos with server admin disabled',
        `name: t\nserver: { admin: false }\n${phase('    steps: [ { chaos: { set: "status=503" } } ]\n')}`,
        ['phases[0].steps[0].chaos (line 5): needs admin: the chaos server admin URL, or server: with admin enabled (the default) to use the embedded one'],
      ],
      [
        'sidecar stats xor statsCmd',
        `${MINIMAL}sidecar: { stats: "http://localhost:15000/stats", statsCmd: cat }\n${phase('    expect: [ x ]\n')}`,
        ['sidecar.statsCmd (line 3): use one stats source; stats is already set'],
      ],
      ['sidecar needs a source', `${MINIMAL}sidecar: { cluster: httpbin }\n${phase('    expect: [ x ]\n')}`, ['sidecar (line 3): needs one of stats (URL), statsCmd or statsFile']],
      [
        'sidecar maxBytes is a size',
        `${MINIMAL}sidecar: { stats: "http://localhost:15000/stats", maxBytes: lots }\n${phase('    expect: [ x ]\n')}`,
        ['sidecar.maxBytes (line 3): expected a size like 1048576, 64MiB or 500MB'],
      ],
      [
        'waitFor needs sidecar',
        `${MINIMAL}${phase('    steps: [ { waitFor: { stat: x, op: ">", value: 0 } } ]\n')}`,
        ["phases[0].steps[0].waitFor (line 5): reads the proxy's stats: add sidecar: with stats, statsCmd or statsFile"],
      ],
      ['a phase does something', `${MINIMAL}${phase('    description: nothing\n')}`, ['phases[0] (line 4): empty phase: give it load, steps or expect']],
      [
        'phase names are unique',
        `${MINIMAL}phases:\n  - { name: p, expect: [ x ] }\n  - { name: p, expect: [ y ] }\n`,
        ['phases[1].name (line 5): duplicate phase name "p" (also phases[0]); results are reported by name'],
      ],
      [
        'chaos takes set or clear',
        `name: t\nserver: {}\n${phase('    steps: [ { chaos: { set: "status=503", clear: true } } ]\n')}`,
        ['phases[0].steps[0].chaos (line 5): expected { set: "status=503:30" } or { clear: true }'],
      ],
    ])('%s', (_name, text, expected) => {
      expect(problems(text)).toEqual(expected);
    });

    it('checks rules on the load merged over defaults', () => {
      // duration comes from defaults, so the phase's ramp is fine; requests in a phase replaces it.
      expect(loadScenario(`${MINIMAL}defaults: { duration: 10s }\nphases:\n  - name: p\n    load: { ramp: { from: 1, to: 5 } }\n`, 't.yaml').phases[0]?.load?.duration).toBe(10000);
      expect(problems(`${MINIMAL}defaults: { duration: 10s }\nphases:\n  - name: p\n    load: { requests: 3, ramp: { from: 1, to: 5 } }\n`)).toEqual([
        'phases[0].load.ramp (line 6): needs duration: the rate is ramped over it',
      ]);
    });
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problems('name: t\nphases:\n  - name: a\n   load: {}\n')).toEqual(['(file) (line 4): YAML syntax: Sequence item without - indicator']);
    expect(problems('name: a\nname: b\n')).toEqual(['(file) (line 2): YAML syntax: Map keys must be unique']);
  });

  it('says an empty file is empty', () => {
    expect(problems('')).toEqual(['(file) (line 1): empty scenario: it needs at least name and phases']);
  });

  it("reports the injected expression checker's messages at their paths and lines", () => {
    const check = (text: string): string | undefined => (text.startsWith('stauts') ? 'unknown function "stauts" - did you mean "status"?' : undefined);
    const text = `${MINIMAL}phases:\n  - name: a\n    expect: [ "status(200) == 100%" ]\n  - name: b\n    load: { requests: 3 }\n    expect:\n      - status(503) >= 20%\n      - stauts(503) >= 20%\n`;
    expect(problems(text, check)).toEqual(['phases[1].expect[1] (line 10): unknown function "stauts" - did you mean "status"?']);
    // Without a checker, expectations are only required to be non-empty strings.
    expect(loadScenario(text, 't.yaml').phases[1]?.expect).toEqual(['status(503) >= 20%', 'stauts(503) >= 20%']);
  });

  it('throws a MeshloadError with a one-line message and a full report', () => {
    let caught: unknown;
    try {
      loadScenario(`${MINIMAL}phases:\n  - name: p\n    load: { conections: 1, qps: x }\n`, 'bad.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ScenarioError);
    const error = caught as ScenarioError;
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toBe('bad.yaml: invalid scenario, 2 problems; first: phases[0].load.conections (line 5): unknown key "conections" - did you mean "connections"?');
    expect(error.report().split('\n')).toEqual([
      'bad.yaml: invalid scenario, 2 problems:',
      '  phases[0].load.conections (line 5): unknown key "conections" - did you mean "connections"?',
      '  phases[0].load.qps (line 5): expected a number, got a string ("x")',
    ]);
  });

  it('loads the example scenario', () => {
    const file = join(ROOT, 'scenarios', 'examples', 'httpbin-breaker.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema.json');
    const scenario = loadScenario(text, file);
    expect(scenario.phases.map((p) => p.name)).toEqual(['baseline', 'breaker trips']);
    expect(scenario.phases[1]?.load).toMatchObject({ connections: 3, requests: 30, qps: 0 });
  });
});

describe('validateScenario', () => {
  const input = {
    name: 'plain',
    server: { port: 0 },
    defaults: { headers: { 'x-a': '1' }, timeout: '1s' },
    phases: [{ name: 'p', load: { requests: 5, headers: { 'x-b': '2' } }, steps: [{ sleep: '1s' }], expect: ['x'] }],
  };

  it('never mutates its input', () => {
    const before = structuredClone(input);
    const result = validateScenario(deepFreeze(structuredClone(input)));
    expect(result.ok).toBe(true);
    const again = validateScenario(input);
    expect(input).toEqual(before);
    if (again.ok) {
      again.scenario.phases[0]?.steps.push({ kind: 'sleep', duration: 1 });
      (again.scenario.phases[0]?.load?.headers ?? {})['x-c'] = '3';
    }
    expect(input).toEqual(before);
  });

  it('reports issues without lines for input that did not come from YAML', () => {
    const result = validateScenario({ ...input, phases: [{ name: 'p', load: { duration: 'ten' } }] });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues).toEqual<ScenarioIssue[]>([{ path: 'phases[0].load.duration', line: undefined, message: 'expected a duration like 250ms, 1.5s or 1m30s' }]);
  });
});

describe('scenarios/schema.json', () => {
  it('is what the zod schema generates (run `npm run schema` after changing it)', () => {
    const committed: unknown = JSON.parse(readFileSync(join(ROOT, 'scenarios', 'schema.json'), 'utf8'));
    expect(committed).toEqual(scenarioJsonSchema());
  });

  it('describes the file as written: durations as strings, unknown keys rejected', () => {
    const schema = scenarioJsonSchema() as { additionalProperties: unknown; required: string[]; properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['name', 'phases']);
    expect(schema.properties['sidecar']?.properties?.['interval']).toMatchObject({ type: 'string', default: '1s' });
  });
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

describe('sidecar.maxBytes', () => {
  it('takes sizes as --stats-max-bytes does', () => {
    for (const [text, bytes] of [['64KiB', 65536], ['1048576', 1048576], ['500MB', 500_000_000]] as const) {
      const scenario = loadScenario(`${MINIMAL}sidecar: { stats: "http://localhost:15000/stats", maxBytes: ${text} }\nphases:\n  - name: p\n    expect: [ "rps > 0" ]\n`, 'test.yaml');
      expect(scenario.sidecar?.maxBytes).toBe(bytes);
    }
  });
});
