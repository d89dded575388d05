import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkExpectation } from '../../src/checks';
import { loadScenario, ScenarioError } from '../../src/scenario/load-scenario';

describe('scenario files with the real expectation grammar', () => {
  it('the example scenario validates', () => {
    const file = join(__dirname, '..', '..', 'scenarios', 'examples', 'httpbin-breaker.yaml');
    const scenario = loadScenario(readFileSync(file, 'utf8'), file, { checkExpression: checkExpectation });
    expect(scenario.phases.length).toBeGreaterThan(0);
  });

  it('reports every bad key and expression at once, with paths and lines', () => {
    const text = 'name: x\ntarget: http://a/\nphases:\n  - name: p\n    load: { conections: 2 }\n    expect:\n      - stauts(200) == 100%\n      - p(99) < 250\n';
    let caught: unknown;
    try {
      loadScenario(text, 'bad.yaml', { checkExpression: checkExpectation });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ScenarioError);
    const issues = (caught as ScenarioError).issues.map((i) => `${i.path} (line ${i.line ?? '?'}): ${i.message}`);
    expect(issues).toEqual([
      'phases[0].load.conections (line 5): unknown key "conections" - did you mean "connections"?',
      'phases[0].expect[0] (line 7): column 1: unknown function "stauts" - did you mean "status"?',
      expect.stringMatching(/^phases\[0\]\.expect\[1\] \(line 8\): .*needs a unit/),
    ]);
  });
});
