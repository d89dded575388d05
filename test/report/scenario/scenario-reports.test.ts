import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { renderJunit } from '../../../src/report/scenario/junit';
import { renderScenarioMarkdown } from '../../../src/report/scenario/markdown';
import type { CheckResult, ScenarioResult } from '../../../src/scenario/scenario-result';
import { fixtureResult } from '../../helpers/load-result-fixture';

function check(expression: string, verdict: CheckResult['verdict'], over: Partial<CheckResult> = {}): CheckResult {
  return { expression, path: 'phases[0].expect[0]', expected: '>= 20%', observed: '31.0% (93 of 300 calls)', observedValue: 31, verdict, reason: undefined, ...over };
}

function scenario(): ScenarioResult {
  const load = fixtureResult([
    { latencyUs: 1000, code: 200 },
    { latencyUs: 2000, code: 503 },
  ]);
  return {
    name: 'httpbin <breaker> & "friends"',
    file: 'scenarios/local/breaker.yaml',
    startTime: '2026-11-25T01:00:00.000Z',
    durationMs: 12_345,
    phases: [
      { name: 'baseline', steps: [], load, checks: [check('status(200) == 100%', 'pass')], verdict: 'pass' },
      {
        name: 'overload',
        steps: [{ kind: 'run', description: 'kubectl apply -f dr.yaml', ok: false, durationMs: 40, output: 'error: <nope>\u0007', error: 'exit 1' }],
        load,
        checks: [
          check('status(503) >= 20%', 'fail', { observed: '5.0% (15 of 300 calls)' }),
          check('delta(upstream_rq_pending_overflow) > 0', 'no_data', { observed: undefined, reason: 'no stats source: add sidecar: to the scenario' }),
          check('rps >= 100', 'inconclusive', { reason: 'the generator fell behind' }),
        ],
        verdict: 'fail',
      },
    ],
    always: [{ kind: 'run', description: 'cleanup | tee x', ok: true, durationMs: 5, output: undefined, error: undefined }],
    verdict: 'fail',
    interrupted: false,
  };
}

interface Case {
  '@_name': string;
  failure?: { '@_type': string; '@_message': string };
  error?: { '@_type': string };
}

describe('renderJunit', () => {
  it('is well-formed XML with a testsuite per phase and a testcase per check and failed step', () => {
    const xml = renderJunit(scenario());
    expect(XMLValidator.validate(xml)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testsuite' || name === 'testcase' }).parse(xml) as {
      testsuites: { '@_name': string; '@_tests': string; '@_failures': string; '@_errors': string; testsuite: Array<{ '@_name': string; testcase: Case[] }> };
    };
    const root = parsed.testsuites;
    expect(root['@_name']).toBe('meshload: httpbin <breaker> & "friends"');
    expect(root.testsuite.map((s) => s['@_name'])).toEqual(['baseline', 'overload']);
    expect([root['@_tests'], root['@_failures'], root['@_errors']]).toEqual(['5', '2', '2']);
    const overload = root.testsuite[1]?.testcase ?? [];
    expect(overload.map((c) => c['@_name'])).toEqual([
      'step run: kubectl apply -f dr.yaml',
      'status(503) >= 20%',
      'delta(upstream_rq_pending_overflow) > 0',
      'rps >= 100',
    ]);
    expect(overload[1]?.failure?.['@_type']).toBe('fail');
    expect(overload[1]?.failure?.['@_message']).toBe('phases[0].expect[0]: expected >= 20%, observed 5.0% (15 of 300 calls)');
    expect(overload[2]?.failure?.['@_type']).toBe('no_data');
    expect(overload[3]?.error?.['@_type']).toBe('inconclusive');
    expect(root.testsuite[0]?.testcase[0]?.failure).toBeUndefined();
    expect(xml.includes('\u0007')).toBe(false); // XML 1.0 cannot carry BEL even escaped
  });
});

describe('renderScenarioMarkdown', () => {
  it('shows the verdict, each phase and every check in tables', () => {
    const md = renderScenarioMarkdown(scenario());
    expect(md).toMatch(/^## meshload: httpbin <breaker> & "friends": FAIL\n/);
    expect(md).toContain('| overload | 2 |');
    expect(md).toContain('| overload | `status(503) >= 20%` | >= 20% | 5.0% (15 of 300 calls) | FAIL |');
    expect(md).toContain('| overload | `delta(upstream_rq_pending_overflow) > 0` | >= 20% | no data: no stats source: add sidecar: to the scenario | FAIL (no data) |');
    expect(md).toContain('- overload: `run` kubectl apply -f dr.yaml: exit 1');
    expect(md).not.toContain('cleanup | tee'); // passing steps are not listed
  });

  it('names the latency its numbers are: corrected for coordinated omission, as the checks use it', () => {
    const md = renderScenarioMarkdown(scenario());
    expect(md).toContain('| phase | calls | rps | p50 (corrected) | p99 (corrected) | codes | verdict |');
    expect(md).toMatch(/^Latency here and in the checks is corrected for coordinated omission: from each call's intended send\./m);
  });
});

describe('a step stopped by a signal', () => {
  function interruptedRun(): ScenarioResult {
    const result = scenario();
    result.interrupted = true;
    result.always = [{ kind: 'run', description: 'sleep 300', ok: false, durationMs: 90, output: undefined, error: 'interrupted', interrupted: true }];
    return result;
  }

  it('is "interrupted" in JUnit and Markdown, not "failed"', () => {
    const result = interruptedRun();
    const xml = renderJunit(result);
    expect(xml).toContain('message="run interrupted"');
    expect(xml).not.toContain('run failed: interrupted');
    const md = renderScenarioMarkdown(result);
    expect(md).toContain('- always: `run` sleep 300: interrupted');
  });
});
