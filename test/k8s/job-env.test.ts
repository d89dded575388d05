/** k8s job's pod environment: every referenced variable from the Secret unless given as a plain
 * --env, never a value of this machine's environment unless named. */
import { parseAllDocuments } from 'yaml';
import { hideSecretValues, podEnv, referencedVariables, secretKeys, secretNote } from '../../src/k8s/job-env';
import { followUpCommands, jobManifest, type JobManifestInput } from '../../src/k8s/job-manifest';
import { MeshloadError } from '../../src/util/errors';

const TEXT = [
  'name: gate',
  'target: ${TARGET}',
  'defaults:',
  '  headers: { Authorization: "Bearer ${TOKEN}", X-Api-Key: "${API_KEY:-none}" }',
  '  qps: ${QPS:-10}',
  'phases:',
  '  - name: p',
  '    load: { requests: 3, headers: { X-Shard: "${JOB_COMPLETION_INDEX}", X-Again: "${TOKEN}" } }',
  '',
].join('\n');

const LOCAL = { TOKEN: 's3cr3t-value', API_KEY: 'k-123', TARGET: 'http://svc:8000', HOME: '/home/me' };

describe('referencedVariables', () => {
  it('lists each variable once, in order, with a default only if every use has one', () => {
    expect(referencedVariables(TEXT)).toEqual([
      { name: 'TARGET', hasDefault: false },
      { name: 'TOKEN', hasDefault: false },
      { name: 'API_KEY', hasDefault: true },
      { name: 'QPS', hasDefault: true },
      { name: 'JOB_COMPLETION_INDEX', hasDefault: false },
    ]);
    expect(referencedVariables('a: ${X:-1}\nb: ${X}\n')).toEqual([{ name: 'X', hasDefault: false }]);
    expect(referencedVariables('a: $X and ${not-a-name} and $${Y}\n')).toEqual([{ name: 'Y', hasDefault: false }]);
  });
});

describe('podEnv', () => {
  it('takes every variable from the Secret by default, optional when the scenario has a default', () => {
    const env = podEnv(TEXT, {}, LOCAL);
    expect(env.secretName).toBe('meshload-secrets');
    expect(env.vars).toEqual([
      { name: 'TARGET', secretKey: 'TARGET', optional: false },
      { name: 'TOKEN', secretKey: 'TOKEN', optional: false },
      { name: 'API_KEY', secretKey: 'API_KEY', optional: true },
      { name: 'QPS', secretKey: 'QPS', optional: true },
    ]);
    expect(env.plain).toEqual({});
    expect(secretKeys(env)).toEqual({ required: ['TARGET', 'TOKEN'], optional: ['API_KEY', 'QPS'] });
    expect(secretNote(env)).toBe("The pods read TARGET, TOKEN from Secret meshload-secrets (and API_KEY, QPS if it holds them: the scenario has defaults for those); create it first, with your shell's values:");
  });

  it('writes plain values only for the names given with --env, from the flag or from here', () => {
    const env = podEnv(TEXT, { env: ['TARGET', 'QPS=20'], secretName: 'gate-env' }, LOCAL);
    expect(env.vars).toEqual([
      { name: 'TARGET', value: 'http://svc:8000' },
      { name: 'QPS', value: '20' },
      { name: 'TOKEN', secretKey: 'TOKEN', optional: false },
      { name: 'API_KEY', secretKey: 'API_KEY', optional: true },
    ]);
    expect(env.plain).toEqual({ TARGET: 'http://svc:8000', QPS: '20' });
  });

  it.each([
    [{ env: ['1X=a'] }, /--env '1X' does not start with a variable name/],
    [{ env: ['=s3cr3t-value'] }, /--env '' does not start with a variable name/],
    [{ env: ['QPS=1', 'QPS=2'] }, /--env QPS given twice/],
    [{ env: ['UNSET'] }, /--env UNSET: UNSET is not set here/],
    [{ secretName: 'Not_A_Name' }, /--secret-name 'Not_A_Name' is not a Secret name/],
  ])('refuses %p without quoting a value', (flags, pattern) => {
    let error: unknown;
    try {
      podEnv(TEXT, flags, LOCAL);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MeshloadError);
    expect((error as Error).message).toMatch(pattern);
    expect((error as Error).message).not.toContain('s3cr3t-value');
  });
});

describe('hideSecretValues', () => {
  it("puts back the references of the Secret's values as set here, longest first, not plain or short ones", () => {
    const env = podEnv('${TOKEN} ${TOKEN_PART} ${TARGET} ${N}', { env: ['TARGET'] }, { ...LOCAL, TOKEN_PART: 's3cr3t', N: '42' });
    const local = { ...LOCAL, TOKEN_PART: 's3cr3t', N: '42' };
    expect(hideSecretValues('bad value s3cr3t-value, then s3cr3t at http://svc:8000 with 42', env, local)).toBe('bad value ${TOKEN}, then ${TOKEN_PART} at http://svc:8000 with 42');
  });
});

describe('jobManifest with variables', () => {
  const input = (env: JobManifestInput['env']): JobManifestInput => ({
    name: 'gate',
    namespace: 'loadtest',
    image: 'meshload:test',
    parallelism: 2,
    scenarioKey: 'gate.yaml',
    scenarioText: TEXT,
    env,
    files: [],
    serviceAccount: 'meshload',
    rbac: undefined,
    usesApi: false,
    startAt: '2030-01-01T00:01:00Z',
    generatedAt: '2030-01-01T00:00:00Z',
    waitTimeoutSeconds: 700,
    commandLine: 'meshload k8s job gate.yaml --parallelism 2 --namespace loadtest --name gate --env QPS=20',
  });

  it('ships the text as written and declares the variables as secretKeyRef or plain env', () => {
    const env = podEnv(TEXT, { env: ['QPS=20'] }, LOCAL);
    const text = jobManifest(input(env));
    const [configMap, job] = parseAllDocuments(text).map((d) => d.toJS() as unknown) as [
      { data: Record<string, string> },
      { spec: { template: { spec: { containers: Array<{ env: unknown }> } } } },
    ];
    expect(configMap.data['gate.yaml']).toBe(TEXT);
    const container = job.spec.template.spec.containers[0];
    expect(container?.env).toEqual([
      { name: 'QPS', value: '20' },
      { name: 'TARGET', valueFrom: { secretKeyRef: { name: 'meshload-secrets', key: 'TARGET' } } },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'meshload-secrets', key: 'TOKEN' } } },
      { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'meshload-secrets', key: 'API_KEY', optional: true } } },
    ]);
    for (const value of Object.values(LOCAL)) expect(text).not.toContain(value);
    const secret = followUpCommands(input(env)).secret;
    expect(secret).toBe('kubectl create secret generic meshload-secrets -n loadtest --from-literal=TARGET="$TARGET" --from-literal=TOKEN="$TOKEN"');
    expect(text).toContain(`\n#   ${secret ?? ''}\n`);
    expect(text.indexOf('kubectl create secret')).toBeLessThan(text.indexOf('kubectl apply'));
  });

  it('has no env and no Secret to create when the scenario references no variable', () => {
    const env = podEnv('name: x\n', {}, LOCAL);
    const text = jobManifest({ ...input(env), scenarioText: 'name: x\n' });
    expect(text).not.toMatch(/\benv:|secretKeyRef|kubectl create secret/);
    expect(followUpCommands(input(env)).secret).toBeUndefined();
    expect(secretNote(env)).toBeUndefined();
  });

  it('has nothing to create when every variable has a default, and says the Secret is read if there', () => {
    const env = podEnv('name: x\nqps: ${QPS:-5}\n', {}, LOCAL);
    expect(followUpCommands(input(env)).secret).toBeUndefined();
    expect(secretNote(env)).toBe('The pods read QPS from Secret meshload-secrets if it holds them (the scenario has defaults for them).');
  });
});
