/** The Kubernetes manifests shipped in scenarios/istio/manifests deploy what the Istio scenarios
 * and the README assume: a meshed client pod whose sidecar shows cluster.outbound stats, the
 * meshload-server subsets v1/v2/v3 behind one Service, all running as UID 10001 (never 1337, the
 * sidecar's own user, whose traffic Istio does not intercept) from one image name. */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { defaultImage } from '../../src/k8s/image';
import { isKubectl, kubectlCall, type KubectlCall } from '../../src/k8s/kubectl-call';
import { simpleCommands } from '../../src/k8s/shell-words';
import { expandEnv } from '../../src/scenario/expand-env';
import { checkExpectation } from '../../src/checks';
import { loadScenario } from '../../src/scenario/load-scenario';
import { type Step } from '../../src/scenario/scenario-schema';
import { runProcess } from '../helpers/run-process';
import { ISTIO_STATS_ANNOTATION } from '../../src/stats/sidecar-report';

const ROOT = join(__dirname, '..', '..');
const DIR = join(ROOT, 'scenarios', 'istio', 'manifests');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** The one image name of every meshload container (the one `meshload k8s job` defaults to); its
 * tag is the package version. */
const IMAGE = defaultImage(VERSION);
/** Third-party targets, as Istio's samples run them. */
const OTHER_IMAGES: Record<string, string> = { httpbin: 'docker.io/mccutchen/go-httpbin:v2.15.0' };

type Labels = Record<string, string>;
interface Container {
  name: string;
  image?: string;
  args?: string[];
  ports?: Array<{ containerPort: number; name?: string }>;
  readinessProbe?: { httpGet?: { path?: string; port?: number | string } };
  livenessProbe?: { httpGet?: { path?: string; port?: number | string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean };
}
interface Resource {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Labels; annotations?: Record<string, string> };
  spec?: {
    // Deployment
    selector?: { matchLabels?: Labels } & Labels;
    template?: { metadata?: { labels?: Labels; annotations?: Record<string, string> }; spec?: { serviceAccountName?: string; containers?: Container[] } };
    // Service
    ports?: Array<{ port: number; targetPort?: number | string }>;
    // DestinationRule, VirtualService
    host?: string;
    subsets?: Array<{ name: string; labels: Labels }>;
    hosts?: string[];
    http?: Array<{ route?: Array<{ destination: { host: string; subset?: string } }> }>;
  };
}

const API_VERSIONS: Record<string, string> = {
  ServiceAccount: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  DestinationRule: 'networking.istio.io/v1',
  VirtualService: 'networking.istio.io/v1',
};

const files = readdirSync(DIR)
  .filter((name) => name.endsWith('.yaml'))
  .sort();
const resources: Resource[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return { ...(doc.toJS() as Omit<Resource, 'file'>), file };
  }),
);
const ofKind = (kind: string): Resource[] => resources.filter((r) => r.kind === kind);
const deployments = ofKind('Deployment');
const services = ofKind('Service');
const podLabels = (d: Resource): Labels => d.spec?.template?.metadata?.labels ?? {};
const containers = (d: Resource): Container[] => d.spec?.template?.spec?.containers ?? [];
const selects = (selector: Labels, labels: Labels): boolean => Object.entries(selector).every(([key, value]) => labels[key] === value);
const deployment = (name: string): Resource => {
  const found = deployments.find((d) => d.metadata.name === name);
  if (found === undefined) throw new Error(`no Deployment ${name}`);
  return found;
};

describe('the Kubernetes manifests', () => {
  it('include the client and the server beside the Istio policies', () => {
    expect(files).toEqual(expect.arrayContaining(['meshload-client.yaml', 'meshload-server.yaml', 'httpbin.yaml']));
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['httpbin', 'meshload-client', 'meshload-server-v1', 'meshload-server-v2', 'meshload-server-v3']);
  });

  it.each(files)('%s holds only known kinds with their API versions, each named', (file) => {
    for (const resource of resources.filter((r) => r.file === file)) {
      expect(API_VERSIONS[resource.kind]).toBeDefined();
      expect(resource.apiVersion).toBe(API_VERSIONS[resource.kind]);
      expect(resource.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('name each workload resource once (policies are alternatives, applied one at a time)', () => {
    for (const kind of ['Deployment', 'Service', 'ServiceAccount']) {
      const names = ofKind(kind).map((r) => r.metadata.name);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it.each(deployments.map((d) => [d.metadata.name, d]))("%s: the selector matches the pod labels and the service account exists", (_, d) => {
    const matchLabels = d.spec?.selector?.matchLabels ?? {};
    expect(Object.keys(matchLabels).length).toBeGreaterThan(0);
    expect(podLabels(d)).toMatchObject(matchLabels);
    expect(podLabels(d)['app']).toBeDefined();
    expect(podLabels(d)['version']).toMatch(/^v\d+$/);
    const account = d.spec?.template?.spec?.serviceAccountName;
    expect(ofKind('ServiceAccount').map((s) => s.metadata.name)).toContain(account);
  });

  it.each(deployments.map((d) => [d.metadata.name, d]))('%s: every container runs as 10001:10001, non-root, without privilege escalation', (_, d) => {
    expect(containers(d).length).toBeGreaterThan(0);
    for (const container of containers(d)) {
      expect(container.securityContext).toMatchObject({ runAsUser: 10001, runAsGroup: 10001, runAsNonRoot: true, allowPrivilegeEscalation: false });
    }
  });

  it('never name 1337 as a user or group (only comments may mention it)', () => {
    const ids = ['runAsUser', 'runAsGroup', 'fsGroup', 'supplementalGroups'];
    const visit = (value: unknown, path: string): void => {
      if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${path}[${i}]`));
      else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) visit(v, `${path}.${k}`);
      else if (ids.some((id) => path.includes(`.${id}`))) expect(`${path}=${String(value)}`).not.toMatch(/=1337$/);
    };
    for (const resource of resources) visit(resource, `${resource.file}:${resource.kind}/${resource.metadata.name}`);
    // Nor anywhere else in the data: a 1337 would only ever be a UID here.
    expect(JSON.stringify(resources)).not.toMatch(/\b1337\b/);
  });

  it(`run meshload from one image, ${IMAGE}`, () => {
    for (const d of deployments) {
      const app = podLabels(d)['app'] as string;
      for (const container of containers(d)) expect(`${d.metadata.name}: ${container.image ?? ''}`).toBe(`${d.metadata.name}: ${OTHER_IMAGES[app] ?? IMAGE}`);
    }
    expect(deployments.filter((d) => containers(d).some((c) => c.image === IMAGE)).length).toBe(4);
  });

  it.each(services.map((s) => [s.metadata.name, s]))('Service %s selects at least one Deployment, on a port its pods open', (_, service) => {
    const selector = service.spec?.selector as Labels;
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    const selected = deployments.filter((d) => selects(selector, podLabels(d)));
    expect(selected.length).toBeGreaterThan(0);
    for (const d of selected) {
      const opened = containers(d).flatMap((c) => (c.ports ?? []).flatMap((p) => [p.containerPort, p.name]));
      for (const port of service.spec?.ports ?? []) expect(opened).toContain(port.targetPort ?? port.port);
    }
  });

  it('run meshload-server v1, v2 and v3 behind one Service that selects on app only', () => {
    const service = services.find((s) => s.metadata.name === 'meshload-server');
    expect(service?.spec?.selector).toEqual({ app: 'meshload-server' });
    const servers = deployments.filter((d) => podLabels(d)['app'] === 'meshload-server');
    expect(servers.map((d) => podLabels(d)['version']).sort()).toEqual(['v1', 'v2', 'v3']);
    for (const d of servers) {
      const args = containers(d)[0]?.args ?? [];
      expect(args[0]).toBe('server');
      // Each subset tags its answers with its own version (x-version), so a split can be read.
      expect(args[args.indexOf('--version-tag') + 1]).toBe(podLabels(d)['version']);
      expect(args.slice(args.indexOf('--http-port'), args.indexOf('--http-port') + 2)).toEqual(['--http-port', '8080']);
    }
  });

  it.each(deployments.filter((d) => containers(d).some((c) => c.image === IMAGE)).map((d) => [d.metadata.name, d]))(
    '%s is ready and live on meshload server /healthz',
    (_, d) => {
      const container = containers(d)[0] as Container;
      expect(container.args?.[0]).toBe('server');
      const ports = (container.ports ?? []).map((p) => p.containerPort);
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        expect(probe?.httpGet?.path).toBe('/healthz');
        expect(ports).toContain(probe?.httpGet?.port);
      }
    },
  );

  it('mesh the client pod with cluster.outbound stats shown, as sidecar-report tells users to', () => {
    const client = deployment('meshload-client');
    const template = client.spec?.template?.metadata;
    expect(template?.labels?.['sidecar.istio.io/inject']).toBe('true'); // a string: labels are strings
    // ISTIO_STATS_ANNOTATION is the "key: 'value'" line the diagnostics print; parsed, it is the annotation.
    const annotation = parse(ISTIO_STATS_ANNOTATION) as Record<string, string>;
    expect(Object.keys(annotation)).toEqual(['proxy.istio.io/config']);
    expect(template?.annotations).toMatchObject(annotation);
    expect(JSON.parse(template?.annotations?.['proxy.istio.io/config'] ?? '')).toEqual({ proxyStatsMatcher: { inclusionPrefixes: ['cluster.outbound'] } });
    // kubectl exec without -c must land in meshload, not istio-proxy.
    const names = containers(client).map((c) => c.name);
    expect(names).toContain(template?.annotations?.['kubectl.kubernetes.io/default-container']);
    const resources = containers(client)[0]?.resources;
    for (const kind of ['requests', 'limits'] as const) expect(Object.keys(resources?.[kind] ?? {}).sort()).toEqual(['cpu', 'memory']);
  });

  it("give DestinationRule subsets labels that select existing Deployments of the rule's host", () => {
    const rules = ofKind('DestinationRule');
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      const service = services.find((s) => s.metadata.name === rule.spec?.host);
      expect(service).toBeDefined();
      for (const subset of rule.spec?.subsets ?? []) {
        const labels = { ...(service?.spec?.selector as Labels), ...subset.labels };
        expect(`${rule.file} subset ${subset.name}: ${deployments.filter((d) => selects(labels, podLabels(d))).length > 0}`).toBe(`${rule.file} subset ${subset.name}: true`);
      }
    }
  });

  it('route VirtualServices to existing Services, and to subsets some DestinationRule of that host defines', () => {
    for (const vs of ofKind('VirtualService')) {
      for (const destination of (vs.spec?.http ?? []).flatMap((h) => h.route ?? []).map((r) => r.destination)) {
        expect(services.map((s) => s.metadata.name)).toContain(destination.host);
        if (destination.subset === undefined) continue;
        const defined = ofKind('DestinationRule')
          .filter((r) => r.spec?.host === destination.host)
          .flatMap((r) => (r.spec?.subsets ?? []).map((s) => s.name));
        expect(defined).toContain(destination.subset);
      }
    }
  });

  it('hold every manifest the Istio scenarios apply', () => {
    const scenarios = readdirSync(join(ROOT, 'scenarios', 'istio')).filter((name) => name.endsWith('.yaml'));
    const referenced = scenarios.flatMap((name) => [...readFileSync(join(ROOT, 'scenarios', 'istio', name), 'utf8').matchAll(/manifests\/([\w.-]+\.yaml)/g)].map((m) => m[1]));
    expect(referenced.length).toBeGreaterThan(0);
    for (const file of referenced) expect(files).toContain(file);
  });
});

/** Every kubectl call of a shipped scenario's steps, with the objects of the files it names. */
interface Call {
  command: string;
  inAlways: boolean;
  call: KubectlCall;
  objects: Array<{ kind: string; name: string; labels: Labels; host: string[] }>;
}

const SHIPPED_SCENARIOS = [
  ...readdirSync(join(ROOT, 'scenarios', 'istio')).filter((f) => f.endsWith('.yaml')).map((f) => join(ROOT, 'scenarios', 'istio', f)),
  join(ROOT, 'scenarios', 'examples', 'httpbin-breaker.yaml'),
];

function callsOf(file: string): Call[] {
  const scenario = loadScenario(expandEnv(readFileSync(file, 'utf8'), {}).text, file, { checkExpression: checkExpectation });
  const runs = (steps: Step[], inAlways: boolean): Array<{ command: string; inAlways: boolean }> => steps.flatMap((st) => (st.kind === 'run' ? [{ command: st.command, inAlways }] : []));
  return [...scenario.phases.flatMap((p) => runs(p.steps, false)), ...runs(scenario.always, true)].flatMap(({ command, inAlways }) => {
    const reading = simpleCommands(command);
    if (!reading.ok) throw new Error(`${file}: ${reading.reason}`);
    return reading.commands.filter(isKubectl).map((cmd) => {
      const call = kubectlCall(cmd);
      const objects = call.files.flatMap((f) =>
        parseAllDocuments(readFileSync(join(dirname(file), f.path), 'utf8')).map((d) => {
          const r = d.toJS() as Resource;
          return { kind: r.kind, name: r.metadata.name, labels: r.metadata.labels ?? {}, host: r.spec?.host !== undefined ? [r.spec.host] : (r.spec?.hosts ?? []) };
        }),
      );
      return { command, inAlways, call, objects };
    });
  });
}

describe('the shipped scenarios', () => {
  it.each(SHIPPED_SCENARIOS.map((f) => [f.slice(ROOT.length + 1), f]))('%s creates, changes and deletes only objects with its own names, and deletes what it applied', (_, file) => {
    const calls = callsOf(file);
    const applied = new Set<string>();
    const deleted = new Set<string>();
    for (const { call, objects, inAlways, command } of calls) {
      if (call.verb === 'get') continue; // reading the host's rules
      expect(`${command}: ${call.verb}`).toMatch(/: (apply|delete)$/);
      // Only through its own files, never by a name that may be the user's.
      expect(`${command}: ${call.args.join(' ')}`).toBe(`${command}: `);
      expect(objects.length).toBeGreaterThan(0);
      for (const o of objects) {
        expect(`${o.kind} ${o.name}`).toMatch(/^\w+ meshload-[a-z0-9-]+$/);
        expect(o.labels['app.kubernetes.io/managed-by']).toBe('meshload');
        (call.verb === 'apply' ? applied : inAlways ? deleted : new Set<string>()).add(`${o.kind}/${o.name}`);
      }
    }
    expect(applied.size).toBeGreaterThan(0);
    // always: deletes exactly what the phases created.
    expect([...deleted].sort()).toEqual([...applied].sort());
  });

  it.each(SHIPPED_SCENARIOS.map((f) => [f.slice(ROOT.length + 1), f]))('%s checks, before it applies a rule, that no other rule names the host, and the check refuses one', async (_, file) => {
    const calls = callsOf(file);
    const bin = mkdtempSync(join(tmpdir(), 'meshload-owner-'));
    try {
      for (const [index, { call, objects }] of calls.entries()) {
        if (call.verb !== 'apply') continue;
        for (const rule of objects) {
          const plural = { DestinationRule: 'destinationrules', VirtualService: 'virtualservices' }[rule.kind];
          expect(plural).toBeDefined();
          const check = calls.slice(0, index).find((c) => c.call.verb === 'get' && c.call.args[0] === plural);
          expect(`${rule.kind} ${rule.name}: ${check === undefined ? 'no check' : 'checked'}`).toBe(`${rule.kind} ${rule.name}: checked`);
          // The check, run with a kubectl that lists what the cluster would hold.
          const host = rule.host[0] as string;
          const kubectl = join(bin, 'kubectl');
          const runCheck = async (listed: string, code = 0): Promise<{ code: number | null; stderr: string }> => {
            writeFileSync(kubectl, `#!/bin/sh\n[ "$2" = "${plural as string}" ] || exit 3\nprintf '${listed}'\nexit ${code}\n`);
            chmodSync(kubectl, 0o755);
            return runProcess('sh', ['-c', check?.command ?? 'false'], { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } });
          };
          expect((await runCheck('')).code).toBe(0);
          expect((await runCheck(`${rule.name} ${host}\\nreviews reviews\\n`)).code).toBe(0);
          const theirs = await runCheck(`reviews reviews\\nusers-${host} ${host}.default.svc.cluster.local\\n`);
          expect(theirs.code).toBe(1);
          expect(theirs.stderr).toBe(`${rule.kind} users-${host} already names host ${host}: meshload adds no rule beside it (run where it is not, or delete it yourself)\n`);
          // A kubectl that cannot list (no rights) stops the scenario too.
          expect((await runCheck('', 1)).code).not.toBe(0);
        }
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
