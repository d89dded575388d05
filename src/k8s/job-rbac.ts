/** The Role a Job's `kubectl` steps need, derived from the calls and the kinds in the manifests
 * they name: exactly those verbs on those resources, in the Job's namespace. A call whose rights
 * cannot be derived (an unknown verb or type, another namespace) is a usage error naming it, with
 * `--no-rbac` as the way out for users who grant the rights themselves. Pure. */
import { parseAllDocuments } from 'yaml';
import { usageError } from '../util/errors';
import type { ShippedFile, StepKubectl } from './job-files';

export interface RoleRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

interface Resource {
  group: string;
  resource: string;
}

/** kubectl's names for the types a mesh test touches: short names, kinds, plurals. */
const TYPES: Record<string, Resource> = {};
for (const [group, resource, ...names] of [
  ['networking.istio.io', 'destinationrules', 'dr', 'destinationrule'],
  ['networking.istio.io', 'virtualservices', 'vs', 'virtualservice'],
  ['networking.istio.io', 'gateways', 'gw', 'gateway'],
  ['networking.istio.io', 'serviceentries', 'se', 'serviceentry'],
  ['networking.istio.io', 'sidecars', 'sidecar'],
  ['networking.istio.io', 'envoyfilters', 'envoyfilter'],
  ['networking.istio.io', 'workloadentries', 'we', 'workloadentry'],
  ['security.istio.io', 'peerauthentications', 'pa', 'peerauthentication'],
  ['security.istio.io', 'authorizationpolicies', 'ap', 'authorizationpolicy'],
  ['security.istio.io', 'requestauthentications', 'ra', 'requestauthentication'],
  ['telemetry.istio.io', 'telemetries', 'telemetry'],
  ['', 'pods', 'po', 'pod'],
  ['', 'services', 'svc', 'service'],
  ['', 'configmaps', 'cm', 'configmap'],
  ['', 'endpoints', 'ep'],
  ['apps', 'deployments', 'deploy', 'deployment'],
  ['apps', 'replicasets', 'rs', 'replicaset'],
  ['apps', 'statefulsets', 'sts', 'statefulset'],
] as Array<[string, string, ...string[]]>) {
  for (const name of [resource, ...names]) TYPES[name] = { group, resource };
}

/** What each kubectl verb asks the API server for. Client-side apply reads the live object, then
 * creates or patches it; delete does not read first (its wait is skipped when forbidden). */
const VERBS: Record<string, string[]> = {
  apply: ['get', 'create', 'patch'],
  create: ['create'],
  delete: ['delete'],
  get: ['get'],
  describe: ['get'],
  patch: ['patch'],
  replace: ['update'],
  label: ['get', 'patch'],
  annotate: ['get', 'patch'],
  wait: ['get', 'list', 'watch'],
};

/** `namespace`: the Job's; undefined for kubectl's current one (calls must not name another). */
export function roleRules(calls: StepKubectl[], files: ShippedFile[], namespace: string | undefined): RoleRule[] {
  const grants = new Map<string, { group: string; resource: string; verbs: Set<string> }>();
  const grant = (r: Resource, verbs: string[]): void => {
    const id = `${r.resource}.${r.group}`;
    const entry = grants.get(id) ?? { group: r.group, resource: r.resource, verbs: new Set<string>() };
    for (const v of verbs) entry.verbs.add(v);
    grants.set(id, entry);
  };
  const hint = 'grant the rights yourself and give --no-rbac (and --service-account NAME), or change the step';
  for (const { where, call, manifests } of calls) {
    const said = `${where}: kubectl ${call.verb ?? ''}`.trimEnd();
    if (call.verb === undefined) throw usageError(`${said}: no verb to derive its rights from`, hint);
    if (call.otherIdentity !== undefined) throw usageError(`${said} ${call.otherIdentity}: acts as another identity, not the Job's ServiceAccount`, hint);
    if (call.allNamespaces || (call.namespace !== undefined && call.namespace !== namespace)) {
      throw usageError(`${said}: acts in ${call.allNamespaces ? 'every namespace' : `namespace ${call.namespace as string}`}, but the Role holds in ${namespace === undefined ? 'the Job\'s namespace' : `namespace ${namespace}`} only`, 'give the Job the same --namespace, or ' + hint);
    }
    if (call.verb === 'exec') {
      const target = call.args[0] ?? '';
      const slash = target.indexOf('/');
      grant({ group: '', resource: 'pods' }, slash < 0 ? ['get'] : ['list']);
      grant({ group: '', resource: 'pods/exec' }, ['create']);
      if (slash >= 0) grant(typeOf(said, target.slice(0, slash), hint), ['get']);
      continue;
    }
    const verbs = VERBS[call.verb];
    if (verbs === undefined) throw usageError(`${said}: meshload does not know the rights this verb needs`, hint);
    const extra = [...(call.watch ? ['list', 'watch'] : []), ...(call.selects ? ['list'] : [])];
    for (const path of manifests) {
      for (const r of manifestResources(said, files, path, namespace)) grant(r, [...verbs, ...extra]);
    }
    if (call.args.length > 0) {
      const [types, names] = typesAndNames(call.args);
      // `kubectl get TYPE` without names lists; with names it reads each one.
      const verbsHere = call.verb === 'get' || call.verb === 'describe' ? [names ? 'get' : 'list', ...extra] : [...verbs, ...extra];
      for (const t of types) grant(typeOf(said, t, hint), verbsHere);
    }
  }
  return [...grants.values()]
    .sort((a, b) => `${a.group}/${a.resource}`.localeCompare(`${b.group}/${b.resource}`))
    .map((g) => ({ apiGroups: [g.group], resources: [g.resource], verbs: [...g.verbs].sort() }));
}

/** `TYPE NAME...`, `TYPE1,TYPE2`, `TYPE/NAME TYPE/NAME`: the types, and whether names were given. */
function typesAndNames(args: string[]): [string[], boolean] {
  if (args.some((a) => a.includes('/'))) return [[...new Set(args.map((a) => a.split('/')[0] as string))], true];
  return [(args[0] as string).split(','), args.length > 1];
}

function typeOf(said: string, name: string, hint: string): Resource {
  const lower = name.toLowerCase();
  const known = TYPES[lower];
  if (known !== undefined) return known;
  // `plural.group`, as kubectl also takes it.
  const dot = lower.indexOf('.');
  if (dot > 0) return { resource: lower.slice(0, dot), group: lower.slice(dot + 1) };
  throw usageError(`${said} ${name}: meshload does not know this resource type`, `write it as PLURAL.GROUP (e.g. destinationrules.networking.istio.io), or ${hint}`);
}

function manifestResources(said: string, files: ShippedFile[], path: string, namespace: string | undefined): Resource[] {
  const file = files.find((f) => f.path === path);
  if (file === undefined) return [];
  const out: Resource[] = [];
  for (const doc of parseAllDocuments(file.text)) {
    if (doc.errors.length > 0) throw usageError(`${said} -f ${path}: not YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`, 'fix the manifest');
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value === null || value === undefined) continue;
    const object = value as { apiVersion?: unknown; kind?: unknown; metadata?: { namespace?: unknown } };
    if (typeof object.kind !== 'string' || typeof object.apiVersion !== 'string') throw usageError(`${said} -f ${path}: a document without kind and apiVersion`, 'fix the manifest');
    if (object.kind === 'List') throw usageError(`${said} -f ${path}: a List is not read for its kinds`, 'write its items as documents of their own');
    const ns = object.metadata?.namespace;
    if (typeof ns === 'string' && ns !== namespace) {
      throw usageError(`${said} -f ${path}: ${object.kind} in namespace ${ns}, but the Role holds in ${namespace === undefined ? "the Job's namespace" : `namespace ${namespace}`} only`, 'drop the namespace from the manifest, or give the Job the same --namespace');
    }
    const slash = object.apiVersion.indexOf('/');
    out.push({ group: slash < 0 ? '' : object.apiVersion.slice(0, slash), resource: pluralOf(object.kind) });
  }
  return out;
}

/** A kind's resource name as Kubernetes guesses it for custom resources (and as Istio's are). */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  const known = TYPES[lower];
  if (known !== undefined) return known.resource;
  if (lower.endsWith('s')) return `${lower}es`;
  if (lower.endsWith('y') && !/[aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}
