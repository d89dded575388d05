/** `meshload k8s job`: a scenario as an Indexed Job of N meshed pods, each running one shard of
 * it (`meshload run --shard $(JOB_COMPLETION_INDEX)/N --start-at T`), plus the ConfigMap holding
 * the scenario and the files its steps name, and the ServiceAccount, Role and RoleBinding its
 * `kubectl` steps need. The pods print their results as MESHLOAD-RESULT lines, which `kubectl logs` keeps
 * and `meshload merge` reads back. Pure: inputs in, YAML text out. */
import { Document, isMap, isScalar, parse, type Pair } from 'yaml';
import { ISTIO_STATS_ANNOTATION } from '../stats/sidecar-report';
import { secretKeys, secretNote, type PodEnv } from './job-env';
import type { ShippedFile } from './job-files';
import type { RoleRule } from './job-rbac';

/** The non-root user the meshload image runs as. Never 1337: Istio's iptables rules skip that
 * user's traffic (it is the proxy's own), so load from it would bypass the sidecar (MESH-FACTS). */
export const MESHLOAD_UID = 10001;

export interface JobManifestInput {
  /** Job name, a DNS label; the ConfigMap is `<name>-scenario`. */
  name: string;
  /** undefined: kubectl's current namespace (no `namespace:` and no `-n` in the commands). */
  namespace: string | undefined;
  image: string;
  parallelism: number;
  /** Key in the ConfigMap and file name under /scenario. */
  scenarioKey: string;
  /** The file as written: its `${VAR}` references are filled in the pods, from `env`. */
  scenarioText: string;
  env: PodEnv;
  /** The files the steps name, mounted at their paths under /scenario. */
  files: ShippedFile[];
  serviceAccount: string;
  /** The Role's rules (empty: the steps call no API); undefined: --no-rbac, the user manages the
   * ServiceAccount and its rights, and none of the three is printed. */
  rbac: RoleRule[] | undefined;
  /** Whether the steps may talk to the API server: if not, the pods get no token. */
  usesApi: boolean;
  /** ISO 8601: every pod starts its first phase then. */
  startAt: string;
  generatedAt: string;
  /** For `kubectl wait --timeout`: how long the Job may take, start delay included. */
  waitTimeoutSeconds: number;
  /** The `meshload k8s job ...` command line that makes this manifest again (with a new start
   * time when it was given as a delay). */
  commandLine: string;
}

/** The commands that run the Job and collect it, in order (also printed as the manifest's head). */
export function followUpCommands(input: Pick<JobManifestInput, 'name' | 'namespace' | 'waitTimeoutSeconds' | 'commandLine' | 'env' | 'rbac'>): {
  /** Creates the Secret the pods read their variables from, with the values of the user's
   * shell; undefined when the pods need none (variables with defaults are optional). */
  secret: string | undefined;
  apply: string;
  wait: string;
  merge: string;
  cleanUp: string;
} {
  const ns = input.namespace === undefined ? '' : ` -n ${input.namespace}`;
  const keys = secretKeys(input.env).required;
  return {
    secret: keys.length === 0 ? undefined : `kubectl create secret generic ${input.env.secretName}${ns} ${keys.map((k) => `--from-literal=${k}="$${k}"`).join(' ')}`,
    apply: `${input.commandLine} | kubectl apply${ns} -f -`,
    wait: `kubectl wait${ns} --for=condition=complete --timeout=${input.waitTimeoutSeconds}s job/${input.name}`,
    merge: `kubectl logs${ns} -l job-name=${input.name} -c meshload --tail=-1 | meshload merge --from-logs - -o ${input.name}-merged.json`,
    // The ServiceAccount stays: other Jobs may run as it.
    cleanUp: `kubectl delete${ns} job/${input.name} configmap/${configMapName(input.name)}${input.rbac !== undefined && input.rbac.length > 0 ? ` role/${input.name} rolebinding/${input.name}` : ''}`,
  };
}

export function configMapName(job: string): string {
  return `${job}-scenario`;
}

export function jobManifest(input: JobManifestInput): string {
  const commands = followUpCommands(input);
  const [statsKey, statsValue] = Object.entries(parse(ISTIO_STATS_ANNOTATION) as Record<string, string>)[0] as [string, string];
  const metadata = (name: string): Record<string, unknown> => ({
    name,
    ...(input.namespace !== undefined ? { namespace: input.namespace } : {}),
    labels: { 'app.kubernetes.io/name': 'meshload', 'app.kubernetes.io/instance': input.name },
  });
  const configMap = new Document({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(configMapName(input.name)),
    data: { [input.scenarioKey]: input.scenarioText, ...Object.fromEntries(input.files.map((f) => [f.key, f.text])) },
  });
  const access = input.rbac === undefined ? [] : accessDocuments(input, metadata);
  const head = access[0] ?? configMap;
  head.commentBefore = [
    ` meshload k8s job: ${input.parallelism} pods run ${input.scenarioKey} side by side, one shard each, from ${input.startAt}`,
    ` (generated ${input.generatedAt}: apply it before then; a pod that starts more than 5s late refuses to run).`,
    ...[secretNote(input.env), commands.secret].flatMap((line, i) => (line === undefined ? [] : [i === 0 ? ` ${line}` : `   ${line}`])),
    ' Run it, wait for it, merge the shards (the merge evaluates the checks on the whole and is the gate):',
    `   ${commands.apply}`,
    `   ${commands.wait}`,
    `   ${commands.merge}`,
    `   ${commands.cleanUp}`,
    ' Breaker limits (connectionPool) hold per client sidecar: N pods have N times the capacity of one.',
    input.rbac === undefined
      ? ` The pods run as ServiceAccount ${input.serviceAccount}, which you manage with its rights (--no-rbac).`
      : ` The pods run as ServiceAccount ${input.serviceAccount}${input.rbac.length === 0 ? '' : `, with Role ${input.name}: the rights the steps' kubectl calls need, here only`}.`,
  ].join('\n');
  const job = new Document({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadata(input.name),
    spec: {
      completionMode: 'Indexed',
      completions: input.parallelism,
      parallelism: input.parallelism,
      // A shard that failed is not retried: a rerun would start after the others.
      backoffLimit: 0,
      template: {
        metadata: {
          labels: { 'sidecar.istio.io/inject': 'true', 'app.kubernetes.io/name': 'meshload', 'app.kubernetes.io/instance': input.name },
          annotations: { [statsKey]: statsValue, 'sidecar.istio.io/nativeSidecar': 'true' },
        },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: input.serviceAccount,
          ...(input.usesApi ? {} : { automountServiceAccountToken: false }),
          containers: [
            {
              name: 'meshload',
              image: input.image,
              // Kubernetes sets JOB_COMPLETION_INDEX in every container of an Indexed Job and
              // expands $(...) in args from the container's environment.
              // Relative paths in the scenario (sidecar.statsFile) resolve beside it, as shipped.
              workingDir: '/scenario',
              args: ['run', `/scenario/${input.scenarioKey}`, '--shard', `$(JOB_COMPLETION_INDEX)/${input.parallelism}`, '--start-at', input.startAt, '--no-report'],
              ...(input.env.vars.length === 0 ? {} : { env: input.env.vars.map((v) => envEntry(v, input.env.secretName)) }),
              securityContext: {
                runAsUser: MESHLOAD_UID,
                runAsGroup: MESHLOAD_UID,
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'scenario', mountPath: '/scenario', readOnly: true }],
            },
          ],
          volumes: [{ name: 'scenario', configMap: { name: configMapName(input.name), items: configMapItems(input) } }],
        },
      },
    },
  });
  commentKey(job, ['spec', 'template', 'metadata', 'annotations'], statsKey, ' Istio hides cluster.outbound stats unless the pod opts in; the proxy reads this when it starts.');
  commentKey(
    job,
    ['spec', 'template', 'metadata', 'annotations'],
    'sidecar.istio.io/nativeSidecar',
    [
      ' A Job completes only when all its containers have ended, and a classic istio-proxy sidecar never',
      ' does. As a native sidecar (an init container with restartPolicy Always) it is ready before meshload',
      ' starts and is stopped once meshload exits. Needs Kubernetes >= 1.28 (SidecarContainers, on by default',
      ' from 1.29) and Istio >= 1.19 (this annotation, or istiod ENABLE_NATIVE_SIDECARS; the default from 1.27).',
      ' Without native sidecars the Job never completes: end the proxy when meshload exits, with',
      " 'pilot-agent request POST quitquitquit' (proxy container) or POST localhost:15020/quitquitquit.",
    ].join('\n'),
  );
  if (input.env.vars.length > 0) {
    commentKey(
      job,
      ['spec', 'template', 'spec', 'containers', 0],
      'env',
      ` The scenario's \${VAR} references, filled here: from Secret ${input.env.secretName}, or plain values given with --env.`,
    );
  }
  commentKey(job, ['spec', 'template', 'spec', 'containers', 0], 'securityContext', ` UID ${MESHLOAD_UID}, never 1337: Istio does not intercept traffic from UID 1337 (the proxy's own user).`);
  return [...access, configMap, job].map((d) => d.toString({ lineWidth: 0 })).join('---\n');
}

/** Each file at its path under /scenario: ConfigMap keys cannot hold '/', so the volume maps
 * keys back to the layout the steps expect (`manifests/x.yaml`). */
export function configMapItems(input: Pick<JobManifestInput, 'scenarioKey' | 'files'>): Array<{ key: string; path: string }> {
  return [{ key: input.scenarioKey, path: input.scenarioKey }, ...input.files.map((f) => ({ key: f.key, path: f.path }))];
}

/** The ServiceAccount, and when the steps call the API, the Role and RoleBinding granting it
 * exactly what they use, in the Job's namespace. */
function accessDocuments(input: JobManifestInput, metadata: (name: string) => Record<string, unknown>): Document[] {
  const account = new Document({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(input.serviceAccount) });
  const rules = input.rbac ?? [];
  if (rules.length === 0) return [account];
  const role = new Document({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: metadata(input.name), rules });
  role.commentBefore = " What the steps' kubectl calls do, on the kinds they name and the manifests they apply.";
  const binding = new Document({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: metadata(input.name),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: input.name },
    subjects: [{ kind: 'ServiceAccount', name: input.serviceAccount, namespace: input.namespace }],
  });
  return [account, role, binding];
}

function envEntry(v: PodEnv['vars'][number], secretName: string): Record<string, unknown> {
  if ('value' in v) return { name: v.name, value: v.value };
  return { name: v.name, valueFrom: { secretKeyRef: { name: secretName, key: v.secretKey, ...(v.optional ? { optional: true } : {}) } } };
}

function commentKey(doc: Document, path: ReadonlyArray<string | number>, key: string, comment: string): void {
  const map = doc.getIn(path, true);
  if (!isMap(map)) throw new Error(`no map at ${path.join('.')}`);
  const pair = (map.items as Array<Pair<unknown, unknown>>).find((p) => isScalar(p.key) && p.key.value === key);
  if (pair === undefined || !isScalar(pair.key)) throw new Error(`no key ${key} at ${path.join('.')}`);
  pair.key.commentBefore = comment;
}
