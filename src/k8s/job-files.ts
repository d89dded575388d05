/** The files a scenario's steps name, found beside the scenario and shipped with it: a Job's pod
 * has only what its ConfigMap holds, so `kubectl apply -f manifests/x.yaml` needs that file under
 * /scenario as it is beside the scenario here. What cannot be shipped so (a URL, stdin, a glob, a
 * path out of the scenario's folder, a file named by a variable, a missing file, a kustomize
 * folder, more than a ConfigMap holds) is a usage error naming it: never a Job that cannot work. */
import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import type { Scenario, Step } from '../scenario/scenario-schema';
import { usageError } from '../util/errors';
import { readInputFile } from '../util/read-input-file';
import { isKubectl, kubectlCall, type KubectlCall } from './kubectl-call';
import { simpleCommands } from './shell-words';

/** Kubernetes refuses a ConfigMap over 1 MiB (etcd's object limit); its keys count too. */
export const CONFIGMAP_LIMIT_BYTES = 1024 * 1024;
/** Room left for the ConfigMap's metadata and YAML framing. */
const METADATA_ROOM_BYTES = 16 * 1024;
const MAX_FILES = 100;
/** kubectl reads these from a -f folder. */
const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface ShippedFile {
  /** Where the pod sees it, relative to /scenario (POSIX separators). */
  path: string;
  /** Its ConfigMap key: no '/' allowed there. */
  key: string;
  text: string;
}

export interface StepKubectl {
  /** `phases[0].steps[1]`, `always[0]`, `sidecar.statsCmd`. */
  where: string;
  call: KubectlCall;
  /** The shipped files its -f names (a folder's files one by one), as `path`s. */
  manifests: string[];
}

export interface JobFiles {
  /** Every file the steps name, the scenario not included. */
  files: ShippedFile[];
  kubectl: StepKubectl[];
  /** What was shipped on a guess, for stderr. */
  notes: string[];
}

/** Every shell command of the scenario, where it is written. */
export function scenarioCommands(scenario: Scenario): Array<{ where: string; command: string }> {
  const out: Array<{ where: string; command: string }> = [];
  const add = (where: string, step: Step): void => {
    if (step.kind === 'run' || step.kind === 'start') out.push({ where, command: step.command });
  };
  scenario.phases.forEach((phase, i) => phase.steps.forEach((step, j) => add(`phases[${i}].steps[${j}]`, step)));
  scenario.always.forEach((step, j) => add(`always[${j}]`, step));
  if (scenario.sidecar?.statsCmd !== undefined) out.push({ where: 'sidecar.statsCmd', command: scenario.sidecar.statsCmd });
  return out;
}

/** `dir` is the scenario's folder, `scenarioBytes` what the scenario itself takes in the ConfigMap. */
export function jobFiles(scenario: Scenario, dir: string, scenarioKey: string, scenarioBytes: number): JobFiles {
  const root = realpathSync(dir);
  const found = new Map<string, string>(); // path -> absolute file
  const kubectl: StepKubectl[] = [];
  const notes: string[] = [];
  const ship = (where: string, ref: string, expanded: boolean, folders: 'no' | 'flat' | 'recursive'): string[] => {
    const rel = checkedPath(where, ref, expanded, root);
    const full = join(root, ...rel.split('/'));
    const paths = folders !== 'no' && statSync(full).isDirectory() ? folderManifests(full, rel, folders === 'recursive') : [rel];
    if (paths.length === 0) throw usageError(`${where}: ${ref} holds no .yaml, .yml or .json file`, 'name the manifests kubectl should apply');
    for (const p of paths) found.set(p, join(root, ...p.split('/')));
    return paths;
  };
  for (const { where, command } of scenarioCommands(scenario)) {
    const reading = simpleCommands(command);
    if (!reading.ok) throw usageError(`${where}: cannot read '${firstLine(command)}' for the files it needs: it holds ${reading.reason}`, 'write the command as plain words, with its manifests in files beside the scenario');
    for (const cmd of reading.commands) {
      if (!isKubectl(cmd)) {
        // Any other command's words that name a file beside the scenario go with it.
        cmd.words.forEach((word, i) => {
          // `${CFG:-haproxy.cfg}`: the default is shipped; another value must name a shipped file.
          const fallback = cmd.expanded[i] === true ? /^\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}$]+)\}$/.exec(word) : null;
          if (fallback !== null && existsWithin(root, fallback[2] as string)) {
            ship(where, fallback[2] as string, false, 'no');
            notes.push(`${where}: shipped ${fallback[2] as string}, the default of \${${fallback[1] as string}}; a value set for it must name a file shipped with the scenario`);
          }
          if (cmd.expanded[i] === true || word.startsWith('-') || !existsWithin(root, word)) return;
          ship(where, word, false, 'no');
        });
        continue;
      }
      const call = kubectlCall(cmd);
      if (call.kustomize.length > 0) {
        throw usageError(`${where}: kubectl -k ${call.kustomize[0] as string}: a kustomize folder is not shipped`, 'render it (kubectl kustomize DIR > manifests/x.yaml) and apply that file with -f');
      }
      const manifests = call.files.flatMap((f) => ship(`${where}: kubectl -f`, f.path, f.expanded, call.recursive ? 'recursive' : 'flat'));
      kubectl.push({ where, call, manifests });
    }
  }
  if (scenario.sidecar?.statsFile !== undefined) ship('sidecar.statsFile', scenario.sidecar.statsFile, false, 'no');
  found.delete(scenarioKey);
  if (found.size > MAX_FILES) throw usageError(`the steps name ${found.size} files, more than the ${MAX_FILES} a Job ships`, 'apply fewer, larger manifests');
  return { files: readAll(found, scenarioKey, scenarioBytes), kubectl, notes };
}

/** `ref` as a path below the scenario's folder, or a usage error saying why not. */
function checkedPath(where: string, ref: string, expanded: boolean, root: string): string {
  const hint = 'name a file beside the scenario or below its folder, by a relative path';
  if (ref === '-') throw usageError(`${where} - reads manifests from stdin, which a Job cannot ship`, 'put them in a file beside the scenario and name it');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) throw usageError(`${where} ${ref}: a URL is not shipped (the pod would fetch it, or fail)`, 'save it beside the scenario and name that file');
  if (expanded) throw usageError(`${where} ${ref}: a file named by a variable is not known until the pod runs`, 'write its path in the scenario');
  if (/[*?[\]{}]/.test(ref)) throw usageError(`${where} ${ref}: a pattern is not shipped`, 'name each file, or a folder');
  if (isAbsolute(ref)) throw usageError(`${where} ${ref}: an absolute path is not shipped`, hint);
  const rel = posix.normalize(ref.split(sep).join('/')).replace(/\/+$/, '');
  if (rel === '..' || rel.startsWith('../')) throw usageError(`${where} ${ref}: outside the scenario's folder`, hint);
  const full = join(root, ...rel.split('/'));
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    throw usageError(`${where} ${ref}: no such file beside the scenario (${full})`, 'create it, or correct the path: paths are relative to the scenario\'s folder');
  }
  const back = relative(root, real);
  if (back.startsWith('..') || isAbsolute(back)) throw usageError(`${where} ${ref}: a link out of the scenario's folder`, hint);
  return rel;
}

function existsWithin(root: string, word: string): boolean {
  if (isAbsolute(word) || /^[a-z][a-z0-9+.-]*:\/\//i.test(word) || /[*?[\]{}]/.test(word)) return false;
  try {
    return lstatSync(join(root, word)).isFile();
  } catch {
    return false;
  }
}

function folderManifests(full: string, rel: string, recursive: boolean): string[] {
  return readdirSync(full, { withFileTypes: true })
    .flatMap((entry) => {
      const path = rel === '.' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) return recursive ? folderManifests(join(full, entry.name), path, true) : [];
      return entry.isFile() && MANIFEST_EXTENSIONS.some((ext) => entry.name.endsWith(ext)) ? [path] : [];
    })
    .sort();
}

function readAll(found: Map<string, string>, scenarioKey: string, scenarioBytes: number): ShippedFile[] {
  const budget = CONFIGMAP_LIMIT_BYTES - METADATA_ROOM_BYTES;
  let total = scenarioBytes + scenarioKey.length;
  const keys = new Set([scenarioKey]);
  const files: ShippedFile[] = [];
  for (const [path, full] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
    const size = statSync(full).size;
    total += size + path.length;
    if (total > budget) {
      throw usageError(
        `the scenario and the files its steps name take more than ${budget} bytes (at ${path}): a ConfigMap holds at most 1 MiB in Kubernetes`,
        'apply the larger manifests before the Job, and name only what the steps must change',
      );
    }
    const text = readInputFile(full, size, 'file', 'the steps name it; it must be UTF-8 text');
    files.push({ path, key: uniqueKey(path, keys), text });
  }
  return files;
}

/** `manifests/x.yaml` as `manifests--x.yaml`: keys allow letters, digits, '-', '_' and '.'. */
function uniqueKey(path: string, taken: Set<string>): string {
  const base = path.replace(/\//g, '--').replace(/[^-._a-zA-Z0-9]/g, '_').slice(0, 240);
  let key = base;
  for (let n = 2; taken.has(key); n += 1) key = `${base}-${n}`;
  taken.add(key);
  return key;
}

function firstLine(command: string): string {
  const line = command.split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}
