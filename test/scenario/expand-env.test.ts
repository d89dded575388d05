import fc from 'fast-check';
import { expandEnv, isCommandPath, plainScalarValue } from '../../src/scenario/expand-env';
import { loadScenario, ScenarioError } from '../../src/scenario/load-scenario';
import { type Scenario } from '../../src/scenario/scenario-schema';

describe('expandEnv (one string)', () => {
  it.each([
    ['port: ${PORT}', { PORT: '8080' }, 'port: 8080'],
    ['port: ${PORT:-18080}', {}, 'port: 18080'],
    ['port: ${PORT:-18080}', { PORT: '9' }, 'port: 9'],
    ['port: ${PORT:-18080}', { PORT: '' }, 'port: 18080'],
    ['url: "http://${HOST:-127.0.0.1}:${PORT:-1}/x"', { PORT: '80' }, 'url: "http://127.0.0.1:80/x"'],
    ['no references, $HOME stays', {}, 'no references, $HOME stays'],
  ])('%p', (text, env, expected) => {
    expect(expandEnv(text, env)).toEqual({ text: expected, missing: [] });
  });

  it('lists every unset variable without a default, once', () => {
    expect(expandEnv('${A} ${B:-b} ${C} ${A}', {}).missing).toEqual(['A', 'C']);
  });
});

describe('plainScalarValue: what a lone reference in a plain scalar becomes', () => {
  it.each([
    ['8080', 8080],
    ['-1', -1],
    ['2.5', 2.5],
    ['1e3', 1000],
    ['0x1f', 31],
    ['true', true],
    ['False', false],
    ['', null],
    ['~', null],
    ['{a: 1}', '{a: 1}'],
    ['[1, 2]', '[1, 2]'],
    ['*alias', '*alias'],
    ['!!str 1', '!!str 1'],
    ['8080 # port', '8080 # port'],
  ])('%p', (text, expected) => {
    expect(plainScalarValue(text)).toEqual(expected);
  });
});

describe('isCommandPath', () => {
  it.each([
    [['phases', 0, 'steps', 1, 'run'], true],
    [['phases', 0, 'steps', 1, 'run', 'command'], true],
    [['always', 0, 'start', 'command'], true],
    [['sidecar', 'statsCmd'], true],
    [['phases', 0, 'load', 'url'], false],
    [['always', 0, 'run', 'timeout'], false],
    [['name'], false],
  ] as const)('%p is %p', (path, expected) => {
    expect(isCommandPath(path)).toBe(expected);
  });
});

/** A scenario whose phase name, header and URL path come from variables. */
const TEMPLATE = [
  "name: '${NAME}'",
  'target: http://127.0.0.1:1',
  'phases:',
  '  - name: "${PHASE}"',
  '    description: plain ${PHASE} text',
  '    load:',
  '      connections: ${C:-4}',
  '      headers: { X-Test: "${HEADER}", X-Flow: pre ${HEADER} post }',
  '      payload: |',
  '        body ${BODY} end',
  '    expect: ["success_rate >= ${RATE:-99}%"]',
  'always:',
  '  - run: echo "${NAME}" ; exit 0',
  '',
].join('\n');

function load(env: Record<string, string | undefined>, text = TEMPLATE): Scenario {
  return loadScenario(text, 'test.yaml', { env });
}

describe('loadScenario with variables: values are data', () => {
  it('fills values and types a lone reference in a plain scalar as YAML would', () => {
    const scenario = load({ NAME: 'n', PHASE: 'p', HEADER: 'h', BODY: 'b', C: '7' });
    expect(scenario.name).toBe('n');
    expect(scenario.phases[0]?.name).toBe('p');
    expect(scenario.phases[0]?.load).toMatchObject({ connections: 7, headers: { 'X-Test': 'h', 'X-Flow': 'pre h post' }, payload: 'body b end\n' });
    expect(scenario.phases[0]?.expect).toEqual(['success_rate >= 99%']);
  });

  it('keeps references in run: commands, for the shell to expand from the environment', () => {
    const scenario = load({ NAME: 'x; touch f', PHASE: 'p', HEADER: 'h', BODY: 'b' });
    expect(scenario.always[0]).toMatchObject({ kind: 'run', command: 'echo "${NAME}" ; exit 0' });
  });

  it.each([
    ['a newline and a key', 'x\nalways:\n  - run: touch pwned'],
    ['a comment', 'abc #def'],
    ['a quote that would end the string', 'a" , "b'],
    ['a flow mapping', '{ run: touch f }'],
    ['an alias and a tag', '*a !!binary'],
    ['a list item', '- run: touch f'],
  ])('a value holding %s stays one value, byte for byte', (_, value) => {
    const scenario = load({ NAME: value, PHASE: value, HEADER: value, BODY: value });
    expect(scenario.name).toBe(value);
    expect(scenario.phases).toHaveLength(1);
    expect(scenario.phases[0]?.name).toBe(value);
    expect(scenario.phases[0]?.description).toBe(`plain ${value} text`);
    expect(scenario.phases[0]?.load?.headers).toEqual({ 'X-Test': value, 'X-Flow': `pre ${value} post` });
    expect(scenario.phases[0]?.load?.payload).toBe(`body ${value} end\n`);
    expect(scenario.always).toHaveLength(1);
  });

  it('a number-like value in a lone plain reference is a number; one that is not is a string the schema refuses', () => {
    expect(() => load({ NAME: 'n', PHASE: 'p', HEADER: 'h', BODY: 'b', C: '{ a: 1 }' })).toThrow(/phases\[0\]\.load\.connections \(line 7\): expected a number, got a string/);
  });

  it('names every unset variable with its path and line', () => {
    const error = catchError(() => load({ NAME: 'n' }));
    expect(error.issues.map((i) => `${i.path} ${String(i.line)}: ${i.message}`)).toEqual([
      'phases[0].name 4: variable PHASE is unset or empty (set it, or give a default as ${PHASE:-value})',
      'phases[0].description 5: variable PHASE is unset or empty (set it, or give a default as ${PHASE:-value})',
      'phases[0].load.headers["X-Test"] 8: variable HEADER is unset or empty (set it, or give a default as ${HEADER:-value})',
      'phases[0].load.headers["X-Flow"] 8: variable HEADER is unset or empty (set it, or give a default as ${HEADER:-value})',
      'phases[0].load.payload 9: variable BODY is unset or empty (set it, or give a default as ${BODY:-value})',
    ]);
  });

  it('checks the variables of commands too, without expanding them', () => {
    const text = 'name: n\ntarget: http://127.0.0.1:1\nphases: [{ name: p, steps: [{ run: "echo ${MISSING}" }] }]\n';
    expect(() => load({}, text)).toThrow(/phases\[0\]\.steps\[0\]\.run \(line 3\): variable MISSING is unset/);
    expect(load({ MISSING: '1' }, text).phases[0]?.steps[0]).toMatchObject({ command: 'echo ${MISSING}' });
  });

  it('reads references in flow collections unquoted, as the text substitution did', () => {
    const text = 'name: n\ntarget: http://127.0.0.1:1\nphases: [{ name: p, load: { connections: ${C:-4}, qps: ${Q}, path: /a/${P:-x}/b } }]\n';
    expect(load({ Q: '2.5' }, text).phases[0]?.load).toMatchObject({ connections: 4, qps: 2.5, path: '/a/x/b' });
    expect(load({ Q: '1', P: '}, x: ]' }, text).phases[0]?.load?.path).toBe('/a/}, x: ]/b');
  });

  it('refuses references in keys', () => {
    const text = 'name: n\ntarget: http://127.0.0.1:1\nphases: [{ name: p, load: { headers: { "${H}": v } } }]\n';
    expect(() => load({ H: 'X-A' }, text)).toThrow(/a key cannot use \$\{VAR\}/);
  });

  it('leaves comments alone: a reference there needs no variable', () => {
    expect(load({ NAME: 'n', PHASE: 'p', HEADER: 'h', BODY: 'b' }, `# uses \${NOT_SET}\n${TEMPLATE}`).name).toBe('n');
  });
});

function catchError(run: () => unknown): ScenarioError {
  try {
    run();
  } catch (error) {
    if (error instanceof ScenarioError) return error;
    throw error;
  }
  throw new Error('expected a ScenarioError');
}

/** Any string: every unicode code point (controls too: a value never passes through YAML text)
 * and the characters of YAML syntax. */
const hostile = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom(...'\'"#: -{}[],*&!|>%@`\n\t\\$'.split(''), 'a', '1', 'x') }),
  fc.constantFrom('abc #def', 'x\nalways:\n  - run: touch f', '*alias', '!!tag x', '- item', '{a: 1}', '"', "'", '\\', '${OTHER}'),
);

describe('expansion properties (fast-check)', () => {
  it('no value changes the structure, and every value arrives byte for byte', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, hostile, (name, phase, header, body) => {
        // An empty value means unset; a value made only of blanks is still a value.
        fc.pre(name !== '' && phase !== '' && header !== '' && body !== '');
        const scenario = load({ NAME: name, PHASE: phase, HEADER: header, BODY: body });
        expect(scenario.name).toBe(name);
        expect(scenario.phases.map((p) => p.name)).toEqual([phase]);
        expect(scenario.phases[0]?.description).toBe(`plain ${phase} text`);
        expect(scenario.phases[0]?.load?.headers).toEqual({ 'X-Test': header, 'X-Flow': `pre ${header} post` });
        expect(scenario.phases[0]?.load?.payload).toBe(`body ${body} end\n`);
        expect(scenario.always).toEqual([{ kind: 'run', command: 'echo "${NAME}" ; exit 0', timeout: 60_000 }]);
      }),
      { numRuns: 300 },
    );
  });

  const fragment = fc.constantFrom(
    'name: ',
    'phases:\n',
    '  - ',
    '${A}',
    '${B:-x}',
    '${UNSET}',
    '${A:-',
    '"${A}"',
    "'${B}'",
    ' #c ',
    '\n',
    '  ',
    ': ',
    '[',
    ']',
    '{',
    '}',
    ', ',
    '&a ',
    '*a',
    '!!str ',
    '|\n',
    'load:\n',
    'connections: ',
    'run: ',
    'x',
    '1',
  );

  it('random YAML-ish templates with references throw nothing but the scenario error', () => {
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 40 }), hostile, hostile, (parts, a, b) => {
        try {
          load({ A: a, B: b }, parts.join(''));
        } catch (error) {
          expect(error).toBeInstanceOf(ScenarioError);
          expect((error as ScenarioError).code).toBe('E_USAGE');
        }
      }),
      { numRuns: 500 },
    );
  });
});
