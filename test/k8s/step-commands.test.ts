/** How `k8s job` reads a scenario's shell commands: the words sh would pass, kubectl's verb,
 * files and namespace, and the Role rules those calls need. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobFiles, type StepKubectl } from '../../src/k8s/job-files';
import { pluralOf, roleRules } from '../../src/k8s/job-rbac';
import { kubectlCall } from '../../src/k8s/kubectl-call';
import { simpleCommands } from '../../src/k8s/shell-words';
import { checkExpectation } from '../../src/checks';
import { loadScenario } from '../../src/scenario/load-scenario';
import { MeshloadError } from '../../src/util/errors';

const words = (command: string): string[][] => {
  const reading = simpleCommands(command);
  if (!reading.ok) throw new Error(reading.reason);
  return reading.commands.map((c) => c.words);
};

describe('simpleCommands', () => {
  it.each([
    ['kubectl apply -f manifests/x.yaml', [['kubectl', 'apply', '-f', 'manifests/x.yaml']]],
    ["A=1 B='two words' exec kubectl get dr", [['kubectl', 'get', 'dr']]],
    ['kubectl get dr 2>/dev/null >&2 && echo "a b" | grep -q x < in.txt', [['kubectl', 'get', 'dr'], ['echo', 'a b'], ['grep', '-q', 'x']]],
    ["found=$(kubectl get vs -o jsonpath='{.items[*]}') || exit 1", [['kubectl', 'get', 'vs', '-o', 'jsonpath={.items[*]}'], ['exit', '1']]],
    ['a; b\nc # d e\n  f\\ g', [['a'], ['b'], ['c'], ['f g']]],
  ])('%j', (command, expected) => {
    expect(words(command)).toEqual(expected);
  });

  it('marks the words whose value only the pod knows', () => {
    const reading = simpleCommands('kubectl apply -f "$F" -f \'$G\' -f ${H:-x}');
    expect(reading.ok && reading.commands[0]?.expanded).toEqual([false, false, false, true, false, false, false, true]);
  });

  it.each([
    ["kubectl apply -f - <<'YAML'", 'a here-document (<<)'],
    ['kubectl apply -f `ls`', 'a backquoted command'],
    ['echo "$(kubectl get dr)"', 'a $(...) inside double quotes'],
    ["echo 'open", 'an unclosed quote'],
  ])('cannot read %j', (command, reason) => {
    expect(simpleCommands(command)).toEqual({ ok: false, reason });
  });
});

describe('kubectlCall', () => {
  const call = (command: string): ReturnType<typeof kubectlCall> => {
    const reading = simpleCommands(command);
    if (!reading.ok || reading.commands[0] === undefined) throw new Error(command);
    return kubectlCall(reading.commands[0]);
  };

  it('reads the verb, files, namespace and flags in every spelling', () => {
    expect(call('kubectl -n ns apply -f a.yaml --filename=b.yaml -fc.yaml -R --ignore-not-found')).toMatchObject({
      verb: 'apply',
      args: [],
      files: [{ path: 'a.yaml' }, { path: 'b.yaml' }, { path: 'c.yaml' }],
      recursive: true,
      namespace: 'ns',
    });
    expect(call('kubectl delete dr meshload-a --grace-period 0 --namespace=x')).toMatchObject({ verb: 'delete', args: ['dr', 'meshload-a'], namespace: 'x' });
    expect(call('kubectl get vs -l app=x -o name')).toMatchObject({ verb: 'get', args: ['vs'], selects: true });
    expect(call('kubectl exec deploy/client -c istio-proxy -- pilot-agent request GET stats')).toMatchObject({ verb: 'exec', args: ['deploy/client'] });
    expect(call('kubectl --kubeconfig /k get dr').otherIdentity).toBe('--kubeconfig');
    expect(call('kubectl apply -k overlay').kustomize).toEqual(['overlay']);
  });
});

describe('roleRules', () => {
  const istio = (resource: string, verbs: string[]): unknown => ({ apiGroups: ['networking.istio.io'], resources: [resource], verbs });
  const calls = (...commands: string[]): StepKubectl[] =>
    commands.map((command, i) => {
      const reading = simpleCommands(command);
      if (!reading.ok || reading.commands[0] === undefined) throw new Error(command);
      const call = kubectlCall(reading.commands[0]);
      return { where: `always[${i}]`, call, manifests: call.files.map((f) => f.path) };
    });
  const files = [{ path: 'm.yaml', key: 'm.yaml', text: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: meshload-a }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: meshload-b }\n' }];

  it.each([
    [['kubectl apply -f m.yaml'], [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get', 'patch'] }, istio('destinationrules', ['create', 'get', 'patch'])]],
    [['kubectl get dr'], [istio('destinationrules', ['list'])]],
    [['kubectl get destinationrule meshload-a', 'kubectl delete vs/meshload-b'], [istio('destinationrules', ['get']), istio('virtualservices', ['delete'])]],
    [['kubectl get virtualservices.networking.istio.io -w'], [istio('virtualservices', ['list', 'watch'])]],
    [['kubectl label dr meshload-a x=y', 'kubectl patch dr meshload-a -p {}'], [istio('destinationrules', ['get', 'patch'])]],
    [['kubectl exec client-0 -- true'], [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }]],
  ])('%j', (commands, rules) => {
    expect(roleRules(calls(...commands), files, 'ns')).toEqual(rules);
  });

  it.each([
    ['kubectl rollout restart deploy/x', /kubectl rollout: meshload does not know the rights this verb needs/],
    ['kubectl get frobs', /kubectl get frobs: meshload does not know this resource type/],
    ['kubectl get dr -A', /acts in every namespace/],
    ['kubectl --token abc get dr', /acts as another identity/],
  ])('refuses %j', (command, message) => {
    expect(() => roleRules(calls(command), files, 'ns')).toThrow(message);
  });

  it("guesses a kind's plural as Kubernetes does", () => {
    expect(['DestinationRule', 'ServiceEntry', 'AuthorizationPolicy', 'Gateway', 'Ingress', 'Deployment'].map(pluralOf)).toEqual([
      'destinationrules',
      'serviceentries',
      'authorizationpolicies',
      'gateways',
      'ingresses',
      'deployments',
    ]);
  });
});

describe('jobFiles', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshload-job-files-'));
    mkdirSync(join(dir, 'm', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'm', 'a.yaml'), 'kind: A\n');
    writeFileSync(join(dir, 'm', 'b.json'), '{}');
    writeFileSync(join(dir, 'm', 'notes.txt'), 'not a manifest');
    writeFileSync(join(dir, 'm', 'sub', 'c.yml'), 'kind: C\n');
    writeFileSync(join(dir, 'proxy.cfg'), 'global\n');
    writeFileSync(join(dir, 'stats.txt'), 'cluster.x.upstream_rq_total: 1\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const scenario = (steps: string, extra = ''): ReturnType<typeof loadScenario> =>
    loadScenario(`name: s\ntarget: http://127.0.0.1:1\n${extra}phases:\n  - name: p\n    steps: ${steps}\n    load: { requests: 2 }\n`, join(dir, 's.yaml'), { checkExpression: checkExpectation });

  it('ships a -f folder as kubectl reads it (its manifests; below it with -R), a start: config and statsFile, each under a key without /', () => {
    const flat = jobFiles(scenario('[ { run: kubectl apply -f m } ]'), dir, 's.yaml', 10);
    expect(flat.files.map((f) => [f.path, f.key])).toEqual([
      ['m/a.yaml', 'm--a.yaml'],
      ['m/b.json', 'm--b.json'],
    ]);
    expect(flat.kubectl[0]?.manifests).toEqual(['m/a.yaml', 'm/b.json']);
    const deep = jobFiles(scenario('[ { run: kubectl apply -R -f m/ } ]'), dir, 's.yaml', 10);
    expect(deep.files.map((f) => f.path)).toEqual(['m/a.yaml', 'm/b.json', 'm/sub/c.yml']);
    const other = jobFiles(scenario('[ { start: { command: "exec haproxy -db -f ${CFG:-proxy.cfg}" } } ]', 'sidecar: { statsFile: stats.txt }\n'), dir, 's.yaml', 10);
    expect(other.files.map((f) => [f.path, f.text])).toEqual([
      ['proxy.cfg', 'global\n'],
      ['stats.txt', 'cluster.x.upstream_rq_total: 1\n'],
    ]);
    expect(other.notes).toEqual(['phases[0].steps[0]: shipped proxy.cfg, the default of ${CFG}; a value set for it must name a file shipped with the scenario']);
  });

  it('refuses a statsFile outside the folder, and a folder without manifests', () => {
    expect(() => jobFiles(scenario('[]', 'sidecar: { statsFile: ../x.txt }\n'), dir, 's.yaml', 10)).toThrow(MeshloadError);
    expect(() => jobFiles(scenario('[]', 'sidecar: { statsFile: ../x.txt }\n'), dir, 's.yaml', 10)).toThrow(/sidecar\.statsFile \.\.\/x\.txt: outside the scenario's folder/);
    writeFileSync(join(dir, 'm', 'sub', 'c.yml'), 'kind: C\n');
    mkdirSync(join(dir, 'empty'), { recursive: true });
    expect(() => jobFiles(scenario('[ { run: kubectl apply -f empty } ]'), dir, 's.yaml', 10)).toThrow(/empty holds no \.yaml, \.yml or \.json file/);
  });
});
