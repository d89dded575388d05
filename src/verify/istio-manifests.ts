/** Reads the DestinationRules and VirtualServices a team wrote (`meshload verify -f dr.yaml`)
 * into `IstioPolicies`. Walks the YAML nodes rather than a zod schema so that every problem
 * names its line and every field meshload does not verify becomes a note, never silence. */

import { isMap, isScalar, LineCounter, parseAllDocuments } from 'yaml';
import { MeshloadError } from '../util/errors';
import { collectLeaves, type DocumentLeaves, type FieldRecord } from './field-accounting';
import type { DestinationRule, IstioPolicies, Origin, PolicyNote } from './istio-policy';
import { aliasCount, describeNode, entries, inFileOrder, isNull, lineOf, MAX_ALIASES, problem, readSeq, record, resolve, scalarString, type Ctx, type Entry, type Positioned, type Shape } from './manifest-reading';
import { readDestinationRule } from './destination-rule-reading';
import { readVirtualService, type SubsetRef } from './virtual-service-reading';

/** Every problem of every file, each `FILE:LINE: Kind name: spec.path: problem - fix`. */
export class ManifestError extends MeshloadError {
  constructor(
    readonly problems: string[],
    /** What was read despite the problems, so every field can still be accounted for. */
    readonly read?: { policies: IstioPolicies; records: FieldRecord[]; leaves: DocumentLeaves[] },
  ) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    super('E_USAGE', `${problems[0] ?? 'invalid Istio manifests'}${more}`);
    this.name = 'ManifestError';
  }
}

// The YAML reading itself is ./manifest-reading.ts; each kind's spec, ./destination-rule-reading.ts
// and ./virtual-service-reading.ts. This file reads the documents and checks across them.

const RESOURCE: Shape = { read: ['apiVersion', 'kind', 'metadata', 'spec', 'status'], unverified: [] };
const ISTIO_GROUP = 'networking.istio.io';
const ISTIO_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'];

// ---------------------------------------------------------------------------------------------
// Documents

/** Parses every file and returns the policies, or throws one ManifestError listing every
 * problem of every file. */
export function readIstioManifests(files: readonly { file: string; text: string }[]): IstioPolicies {
  return readIstioManifestsAccounted(files).policies;
}

/** The policies, and for the field accounting what happened to every key and every leaf. */
export function readIstioManifestsAccounted(files: readonly { file: string; text: string }[]): { policies: IstioPolicies; records: FieldRecord[]; leaves: DocumentLeaves[] } {
  const out: IstioPolicies = { destinationRules: [], virtualServices: [], notes: [] };
  const records: FieldRecord[] = [];
  const leaves: DocumentLeaves[] = [];
  const problems: Positioned<string>[] = [];
  const notes: Positioned<PolicyNote>[] = [];
  const subsetRefs: SubsetRef[] = [];
  files.forEach(({ file, text }, fileIndex) => {
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    docs.forEach((doc, i) => {
      const where = `document ${i + 1}`;
      const origin = { file, kind: 'document', name: String(i + 1), namespace: undefined };
      const ctx: Ctx = { file, doc, lines, where, origin, fileIndex, problems, notes, document: i + 1, prefix: '', records };
      if (doc.errors.length > 0) {
        // A syntax error leaves the tree unreliable: reading it would only add noise.
        for (const error of doc.errors) {
          const fix = error.code === 'DUPLICATE_KEY' ? 'remove one of the duplicate keys' : 'fix the YAML syntax (indent with spaces, one key: value per line)';
          problem(ctx, lines.linePos(error.pos[0]).line, '', `YAML syntax: ${error.message.replace(/\s+/g, ' ').trim()}`, fix);
        }
        return;
      }
      // Aliases are read where they are used: a billion-laughs document would multiply the work.
      if (aliasCount(doc) > MAX_ALIASES) {
        problem(ctx, lines.linePos(doc.range[0]).line, '', `more than ${MAX_ALIASES} YAML aliases (*name)`, 'write the resources out without aliases (kubectl get -o yaml does)');
        return;
      }
      const contents = resolve(ctx, doc.contents);
      // Empty documents (a trailing `---`, a comment-only file) are ordinary YAML.
      if (isNull(contents)) return;
      leaves.push(collectLeaves(contents, (n) => resolve(ctx, n), file, i + 1));
      readResource(ctx, contents, out, subsetRefs);
    });
  });
  checkSubsets(out.destinationRules, subsetRefs, notes);
  out.notes = inFileOrder(notes);
  if (problems.length > 0) throw new ManifestError(inFileOrder(problems), { policies: out, records, leaves });
  return { policies: out, records, leaves };
}

function readResource(ctx: Ctx, node: unknown, out: IstioPolicies, subsetRefs: SubsetRef[]): void {
  const first = lineOf(ctx, node, 1);
  if (!isMap(node)) {
    problem(ctx, first, '', `expected a Kubernetes resource (a mapping with apiVersion and kind), got ${describeNode(node)}`, 'put one resource per document and separate documents with ---');
    return;
  }
  const top = new Map<string, Entry>();
  for (const pair of node.items) {
    if (isScalar(pair.key)) top.set(String(pair.key.value), { node: resolve(ctx, pair.value), line: lineOf(ctx, pair.key, first) });
  }
  const apiVersion = scalarString(top.get('apiVersion'));
  const kind = scalarString(top.get('kind'));
  if (apiVersion === undefined || kind === undefined) {
    const missing = [apiVersion === undefined ? 'apiVersion' : '', kind === undefined ? 'kind' : ''].filter((s) => s !== '').join(' and ');
    problem(ctx, first, '', `not a Kubernetes resource: ${missing} missing`, 'give each document apiVersion and kind, e.g. apiVersion: networking.istio.io/v1, kind: DestinationRule');
    return;
  }
  const items = top.get('items');
  if (kind === 'List' || (kind.endsWith('List') && items !== undefined)) {
    // `kubectl get destinationrules,virtualservices -o yaml` prints `kind: List` with `items`.
    const list = readSeq(ctx, items, 'items', 'items: [...]') ?? [];
    for (const pair of node.items) {
      if (isScalar(pair.key)) record(ctx, String(pair.key.value), 'list', resolve(ctx, pair.value));
    }
    list.forEach((item, i) => readResource({ ...ctx, where: `${ctx.where} items[${i}]`, prefix: `${ctx.prefix}items[${i}].` }, item.node, out, subsetRefs));
    return;
  }
  const metadata = top.get('metadata');
  const meta = isMap(metadata?.node) ? metadata.node : undefined;
  const name = scalarString(meta === undefined ? undefined : { node: meta.get('name', true) });
  const namespaceValue = scalarString(meta === undefined ? undefined : { node: meta.get('namespace', true) });
  // `v1` is the core group; `networking.istio.io` alone lacks its version (an error below).
  const slash = apiVersion.indexOf('/');
  const group = slash >= 0 ? apiVersion.slice(0, slash) : apiVersion === ISTIO_GROUP ? ISTIO_GROUP : '';
  const version = slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion === ISTIO_GROUP ? '' : apiVersion;
  const isIstioKind = kind === 'DestinationRule' || kind === 'VirtualService';
  if (!isIstioKind || group !== ISTIO_GROUP) {
    const origin = { file: ctx.file, kind, name: name ?? '(no name)', namespace: namespaceValue };
    const message = isIstioKind ? `apiVersion ${apiVersion} is not ${ISTIO_GROUP}, skipped` : 'not a DestinationRule or VirtualService, skipped';
    ctx.notes.push({ fileIndex: ctx.fileIndex, line: first, value: { origin, path: '', message } });
    record({ ...ctx, origin }, '', 'skipped', node, message);
    return;
  }
  if (!ISTIO_VERSIONS.includes(version)) {
    const named = { ...ctx, where: name === undefined ? `${kind} in ${ctx.where}` : `${kind} ${name}` };
    problem(named, top.get('apiVersion')?.line ?? first, 'apiVersion', `${kind} version ${JSON.stringify(version)} is not one meshload knows`, `use ${ISTIO_GROUP}/v1 (or v1beta1, v1alpha3)`);
    return;
  }
  if (name === undefined) {
    problem({ ...ctx, where: `${kind} in ${ctx.where}` }, metadata?.line ?? first, 'metadata.name', 'missing', 'give the resource a name: metadata: {name: httpbin}');
    return;
  }
  const origin: Origin = { file: ctx.file, kind, name, namespace: namespaceValue };
  const rctx: Ctx = { ...ctx, where: `${kind} ${name}`, origin };
  // metadata beyond name/namespace (labels, annotations, uid...) and status are kubectl noise.
  const fields = entries(rctx, node, first, '', RESOURCE) ?? new Map<string, Entry>();
  const spec = fields.get('spec');
  if (kind === 'DestinationRule') {
    const rule = readDestinationRule(rctx, origin, spec, first);
    if (rule !== undefined) out.destinationRules.push(rule);
  } else {
    const service = readVirtualService(rctx, origin, spec, first, subsetRefs);
    if (service !== undefined) out.virtualServices.push(service);
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-resource

/** Hosts match on their first label: `reviews` is `reviews.default.svc.cluster.local`. */
function shortHost(host: string): string {
  return host.split('.')[0] ?? host;
}

/** A subset no DestinationRule defines makes Istio route to a cluster that does not exist:
 * Envoy answers 503 with flag NC (cluster_not_found), see istio/istio#15226. */
function checkSubsets(destinationRules: readonly DestinationRule[], refs: readonly SubsetRef[], notes: Positioned<PolicyNote>[]): void {
  for (const ref of refs) {
    const rules = destinationRules.filter((rule) => shortHost(rule.host) === shortHost(ref.host));
    if (rules.some((rule) => rule.subsets.some((subset) => subset.name === ref.subset))) continue;
    const given = rules.length === 0 ? `no DestinationRule for ${ref.host} is in the files given` : `the DestinationRule for ${ref.host} does not define it`;
    const message = `subset ${ref.subset}: ${given}; unless the cluster defines it, Istio answers these requests 503 (no such cluster, flag NC)`;
    notes.push({ fileIndex: ref.fileIndex, line: ref.line, value: { origin: ref.origin, path: ref.path, message } });
  }
}
