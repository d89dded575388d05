/** The scenario twins of load's Fortio client flags (issue 14): resolve, unixSocket, http10,
 * user (a secret from ${ENV}, redacted) and followRedirects; and payloadSize as load has it. */
import { redactPlan } from '../../src/model/load-plan';
import { planOf } from '../../src/scenario/run-scenario';
import { formatIssue, loadScenario, ScenarioError } from '../../src/scenario/load-scenario';
import { type ResolvedLoad } from '../../src/scenario/scenario-schema';

const PASSWORD = 'hunter2-s3cret';

function scenarioWith(load: string, env: Record<string, string> = {}): ReturnType<typeof loadScenario> {
  return loadScenario(['name: s', 'target: http://127.0.0.1:1/', 'phases:', '  - name: p', `    load: ${load}`, ''].join('\n'), 's.yaml', { env });
}

function planFor(load: string, env: Record<string, string> = {}): ReturnType<typeof planOf> {
  const scenario = scenarioWith(load, env);
  return planOf(scenario.phases[0]?.load as ResolvedLoad, scenario.target, 's / p');
}

function problems(load: string): string[] {
  try {
    scenarioWith(load);
  } catch (error) {
    if (error instanceof ScenarioError) return error.issues.map(formatIssue);
    throw error;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('scenario client keys', () => {
  it('reach the plan as the CLI flags do', () => {
    const plan = planFor('{ requests: 1, resolve: "[::1]", unixSocket: /tmp/s.sock, http10: true, followRedirects: true }');
    expect(plan).toMatchObject({ resolve: '::1', unixSocket: '/tmp/s.sock', http10: true, followRedirects: true });
    const plain = planFor('{ requests: 1 }');
    for (const key of ['resolve', 'unixSocket', 'http10', 'followRedirects']) expect(plain).not.toHaveProperty(key);
  });

  it('user: expands ${ENV}, replaces an Authorization header, and is redacted in results', () => {
    const plan = planFor('{ requests: 1, user: "me:${PW}", headers: { authorization: Bearer x, X-A: a } }', { PW: PASSWORD });
    expect(plan.headers).toEqual([
      ['X-A', 'a'],
      ['Authorization', `Basic ${Buffer.from(`me:${PASSWORD}`).toString('base64')}`],
    ]);
    const redacted = JSON.stringify(redactPlan(plan));
    expect(redacted).not.toContain(PASSWORD);
    expect(redacted).not.toContain(Buffer.from(`me:${PASSWORD}`).toString('base64'));
    expect(redactPlan(plan).headers).toContainEqual(['Authorization', '<redacted>']);
  });

  it('refuses what the CLI refuses, in one line each, without quoting a password', () => {
    expect(problems('{ requests: 1, resolve: "httpbin.local:80", user: justapassword }')).toEqual([
      'phases[0].load.resolve (line 5): expected an IP address like 10.0.0.7 or ::1, or a host name',
      'phases[0].load.user (line 5): expected user:password (give the password as ${ENV_VAR})',
    ]);
    expect(problems('{ requests: 1, payloadSize: 262145 }')).toEqual(['phases[0].load.payloadSize (line 5): must be at most 262144']);
  });
});

describe('scenario payloadSize (as -payload-size)', () => {
  it('is random bytes, wins over payload when above 0, and is sent as application/octet-stream by POST', () => {
    const a = planFor('{ requests: 1, payload: text, payloadSize: 64 }');
    const b = planFor('{ requests: 1, payloadSize: 64 }');
    expect(a.payload).toHaveLength(64);
    expect(a.payload.equals(b.payload)).toBe(false);
    expect(a.payload.equals(Buffer.alloc(64, 'x'))).toBe(false);
    expect(a.method).toBe('POST');
    expect(a.headers).toContainEqual(['Content-Type', 'application/octet-stream']);
  });

  it('0 leaves the payload (or none: GET, no Content-Type)', () => {
    const text = planFor('{ requests: 1, payload: text, payloadSize: 0 }');
    expect(text.payload.toString()).toBe('text');
    expect(text.method).toBe('POST');
    const none = planFor('{ requests: 1, payloadSize: 0 }');
    expect(none.payload).toHaveLength(0);
    expect(none.method).toBe('GET');
    expect(none.headers).toEqual([]);
  });
});
