/** One `kubectl ...` simple command, read for what `k8s job` must know of it: the verb, the
 * files it names (`-f`, `--filename`, `-k`), the resource types and names, the namespace. Pure. */
import type { SimpleCommand } from './shell-words';

export interface KubectlCall {
  verb: string | undefined;
  /** Words after the verb that are not flags: `TYPE NAME...`, `TYPE/NAME`, or exec's pod. */
  args: string[];
  files: Array<{ path: string; expanded: boolean }>;
  /** -R: -f directories are read with their subdirectories. */
  recursive: boolean;
  kustomize: string[];
  namespace: string | undefined;
  allNamespaces: boolean;
  /** -l/--selector or --all: the call lists objects rather than naming them. */
  selects: boolean;
  watch: boolean;
  /** kubectl's own connection flags (--kubeconfig, --context, --server, --token...): the call
   * would not act as the pod's ServiceAccount. */
  otherIdentity: string | undefined;
}

/** kubectl's flags that take a value as the next word (the rest are read as booleans). */
const VALUE_FLAGS = new Set([
  '-f', '--filename', '-k', '--kustomize', '-n', '--namespace', '-l', '--selector', '-o', '--output', '-c', '--container',
  '--field-selector', '--type', '-p', '--patch', '--patch-file', '--timeout', '--for', '--grace-period', '--field-manager',
  '--template', '--sort-by', '--chunk-size', '--cascade', '--dry-run', '--prune-allowlist', '--subresource', '--request-timeout',
  '--context', '--kubeconfig', '--cluster', '--user', '--server', '-s', '--token', '--as', '--as-group', '--as-uid',
  '--certificate-authority', '--client-certificate', '--client-key', '--tls-server-name', '--username', '--password',
]);
const IDENTITY_FLAGS = new Set(['--context', '--kubeconfig', '--cluster', '--user', '--server', '-s', '--token', '--as', '--as-group', '--as-uid', '--client-certificate', '--client-key', '--username', '--password']);

export function isKubectl(cmd: SimpleCommand): boolean {
  const first = cmd.words[0] ?? '';
  return first === 'kubectl' || first.endsWith('/kubectl');
}

export function kubectlCall(cmd: SimpleCommand): KubectlCall {
  const call: KubectlCall = { verb: undefined, args: [], files: [], recursive: false, kustomize: [], namespace: undefined, allNamespaces: false, selects: false, watch: false, otherIdentity: undefined };
  const words = cmd.words;
  for (let i = 1; i < words.length; i += 1) {
    const w = words[i] as string;
    if (w === '--') break; // exec's command follows: not kubectl's words
    if (!w.startsWith('-') || w === '-') {
      if (call.verb === undefined) call.verb = w;
      else call.args.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    // Short flags may hold their value: -fmanifests/x.yaml, -nNS.
    const short = /^-[fknlop]./.test(w) && !w.startsWith('--') ? [w.slice(0, 2), w.slice(2)] : undefined;
    const name = short?.[0] ?? (eq > 0 ? w.slice(0, eq) : w);
    let value: string | undefined;
    let valueExpanded = cmd.expanded[i] === true;
    if (short !== undefined) value = short[1];
    else if (eq > 0) value = w.slice(eq + 1);
    else if (VALUE_FLAGS.has(name)) {
      i += 1;
      value = words[i];
      valueExpanded = cmd.expanded[i] === true;
    }
    if (IDENTITY_FLAGS.has(name)) call.otherIdentity = name;
    if (name === '-f' || name === '--filename') {
      if (value !== undefined) call.files.push({ path: value, expanded: valueExpanded });
    } else if (name === '-k' || name === '--kustomize') {
      if (value !== undefined) call.kustomize.push(value);
    } else if (name === '-n' || name === '--namespace') call.namespace = value;
    else if (name === '-A' || name === '--all-namespaces') call.allNamespaces = value !== 'false';
    else if (name === '-R' || name === '--recursive') call.recursive = value !== 'false';
    else if (name === '-l' || name === '--selector' || name === '--all' || name === '--field-selector') call.selects = true;
    else if (name === '-w' || name === '--watch' || name === '--watch-only') call.watch = value !== 'false';
  }
  return call;
}
