/** JUnit XML for CI systems (GitHub, GitLab, Jenkins read it): a testsuite per phase, a testcase
 * per check, and one per failed step. `no_data` is a failure (a check that could not look at
 * anything did not pass); `inconclusive` is an error (the data could not decide). Pure. */
import type { CheckResult, PhaseResult, ScenarioResult, StepResult } from '../../scenario/scenario-result';

export function renderJunit(result: ScenarioResult): string {
  const suites = result.phases.map((phase) => suite(result.name, phase));
  if (result.always.some((s) => !s.ok)) {
    suites.push(stepSuite(result.name, 'always', result.always.filter((s) => !s.ok)));
  }
  const totals = suites.reduce((t, s) => ({ tests: t.tests + s.tests, failures: t.failures + s.failures, errors: t.errors + s.errors }), { tests: 0, failures: 0, errors: 0 });
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="${attr(`meshload: ${result.name}`)}" tests="${totals.tests}" failures="${totals.failures}" errors="${totals.errors}" time="${seconds(result.durationMs)}" timestamp="${attr(result.startTime)}">\n` +
    suites.map((s) => s.xml).join('') +
    '</testsuites>\n'
  );
}

interface Suite {
  xml: string;
  tests: number;
  failures: number;
  errors: number;
}

function suite(scenario: string, phase: PhaseResult): Suite {
  const cases: string[] = [];
  let failures = 0;
  let errors = 0;
  for (const step of phase.steps.filter((s) => !s.ok)) {
    errors++;
    cases.push(stepCase(scenario, phase.name, step));
  }
  for (const check of phase.checks) {
    const { xml, failure, error } = checkCase(scenario, phase.name, check);
    if (failure) failures++;
    if (error) errors++;
    cases.push(xml);
  }
  const duration = phase.load?.durationMs ?? 0;
  const tests = cases.length;
  return {
    tests,
    failures,
    errors,
    xml:
      `  <testsuite name="${attr(phase.name)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="0" time="${seconds(duration)}">\n` +
      cases.join('') +
      '  </testsuite>\n',
  };
}

function stepSuite(scenario: string, name: string, steps: StepResult[]): Suite {
  return {
    tests: steps.length,
    failures: 0,
    errors: steps.length,
    xml:
      `  <testsuite name="${attr(name)}" tests="${steps.length}" failures="0" errors="${steps.length}" skipped="0" time="0">\n` +
      steps.map((s) => stepCase(scenario, name, s)).join('') +
      '  </testsuite>\n',
  };
}

function checkCase(scenario: string, phase: string, check: CheckResult): { xml: string; failure: boolean; error: boolean } {
  const open = `    <testcase classname="${attr(`${scenario}.${phase}`)}" name="${attr(check.expression)}" time="0"`;
  const observed = check.observed ?? 'no data';
  const detail = `${check.path}: expected ${check.expected}, observed ${observed}${check.reason !== undefined ? ` (${check.reason})` : ''}`;
  switch (check.verdict) {
    case 'pass':
      return { xml: `${open}/>\n`, failure: false, error: false };
    case 'fail':
    case 'no_data':
      return {
        xml: `${open}>\n      <failure type="${check.verdict}" message="${attr(detail)}">${text(detail)}</failure>\n    </testcase>\n`,
        failure: true,
        error: false,
      };
    case 'inconclusive':
      return {
        xml: `${open}>\n      <error type="inconclusive" message="${attr(detail)}">${text(detail)}</error>\n    </testcase>\n`,
        failure: false,
        error: true,
      };
  }
}

function stepCase(scenario: string, phase: string, step: StepResult): string {
  const message = step.interrupted === true ? `${step.kind} interrupted` : `${step.kind} failed: ${step.error ?? 'unknown error'}`;
  const output = step.output === undefined || step.output === '' ? '' : `\n      <system-out>${text(step.output)}</system-out>`;
  return (
    `    <testcase classname="${attr(`${scenario}.${phase}`)}" name="${attr(`step ${step.kind}: ${step.description}`)}" time="${seconds(step.durationMs)}">\n` +
    `      <error type="step" message="${attr(message)}">${text(message)}</error>${output}\n` +
    '    </testcase>\n'
  );
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** XML 1.0 forbids most control characters even escaped; drop them. */
function clean(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '');
}

function text(value: string): string {
  return clean(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
}
