/** What `meshload k8s job` was asked for, checked and with defaults filled: the Job manifest's
 * input. Pure: the scenario is already loaded, the clock is an argument. */
import { basename } from 'node:path';
import type { Scenario } from '../scenario/scenario-schema';
import { parseDuration } from '../util/duration';
import { usageError } from '../util/errors';
import { defaultImage } from './image';
import type { PodEnv } from './job-env';
import type { JobFiles } from './job-files';
import type { JobManifestInput } from './job-manifest';
import { roleRules } from './job-rbac';
import { parseInstant } from './sharding';

export interface JobFlags {
  parallelism?: string;
  namespace?: string;
  image?: string;
  name?: string;
  startAt?: string;
  startDelay?: string;
  /** --env NAME=VALUE or --env NAME: plain values; every other variable comes from the Secret. */
  env?: string[];
  secretName?: string;
  /** --service-account NAME: the pods run as it (default meshload). */
  serviceAccount?: string;
  /** false with --no-rbac: print no ServiceAccount, Role or RoleBinding. */
  rbac?: boolean;
}

/** The ServiceAccount the pods run as when --service-account names no other. */
export const DEFAULT_SERVICE_ACCOUNT = 'meshload';
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Time for the pods to be scheduled, pull the image and start their sidecars before they start
 * together; a pod that misses the start by more than 5s refuses to run. */
export const DEFAULT_START_DELAY_MS = 60_000;
/** Kubernetes' limit on an Indexed Job's completions. */
const MAX_COMPLETIONS = 100_000;
/** `kubectl wait` gets this beyond what the scenario's durations add up to: image pulls, phases
 * counted in calls rather than time, steps' own timeouts. */
const WAIT_MARGIN_S = 600;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `text` is the scenario file as written (its variables unexpanded), `scenario` what it reads
 * as with this machine's variables; `env` says how the pods get them. */
export function planJob(input: { file: string; text: string; scenario: Scenario; env: PodEnv; steps: JobFiles; flags: JobFlags; nowMs: number; version: string; commandLine: string }): JobManifestInput {
  const { flags, nowMs } = input;
  const parallelism = parallelismOf(flags.parallelism);
  // An Indexed Job's pods are named `<job>-<index>-<random>` and get the hostname `<job>-<index>`,
  // a DNS label of at most 63 characters.
  const room = 63 - 1 - String(parallelism - 1).length;
  const name = flags.name ?? defaultName(input.scenario.name, room);
  if (!DNS_LABEL.test(name) || name.length > room) {
    throw usageError(`--name '${name}' is not a Job name for ${parallelism} pods`, `use lower-case letters, digits and '-', at most ${room} characters, starting and ending with a letter or digit`);
  }
  const namespace = flags.namespace;
  if (namespace !== undefined && (!DNS_LABEL.test(namespace) || namespace.length > 63)) {
    throw usageError(`--namespace '${namespace}' is not a namespace name`, "use lower-case letters, digits and '-', at most 63 characters");
  }
  const serviceAccount = flags.serviceAccount ?? DEFAULT_SERVICE_ACCOUNT;
  if (!DNS_SUBDOMAIN.test(serviceAccount) || serviceAccount.length > 253) {
    throw usageError(`--service-account '${serviceAccount}' is not a ServiceAccount name`, "use lower-case letters, digits, '-' and '.', at most 253 characters");
  }
  const rbac = flags.rbac === false ? undefined : roleRules(input.steps.kubectl, input.steps.files, namespace);
  if (rbac !== undefined && rbac.length > 0 && namespace === undefined) {
    // A RoleBinding must name its ServiceAccount's namespace, and kubectl does not fill it in.
    throw usageError("the steps call kubectl, and the RoleBinding granting their rights must name the Job's namespace", 'give -n NAMESPACE, or --no-rbac if you grant the rights yourself');
  }
  const image = flags.image ?? defaultImage(input.version);
  if (image === '' || /\s/.test(image)) throw usageError(`--image '${image}' is not an image reference`, 'e.g. --image registry.example.com/meshload:0.1.0');
  const startMs = startOf(flags, nowMs);
  return {
    name,
    namespace,
    image,
    parallelism,
    scenarioKey: scenarioKey(input.file),
    scenarioText: input.text,
    env: input.env,
    files: input.steps.files,
    serviceAccount,
    rbac,
    // With --no-rbac the user's ServiceAccount decides whether the pods get a token.
    usesApi: rbac === undefined || input.steps.kubectl.length > 0,
    startAt: isoSeconds(startMs),
    generatedAt: isoSeconds(nowMs),
    waitTimeoutSeconds: Math.ceil((startMs - nowMs) / 1000 + estimatedMs(input.scenario) / 1000) + WAIT_MARGIN_S,
    commandLine: input.commandLine,
  };
}

export function parallelismOf(text: string | undefined): number {
  if (text === undefined) throw usageError('--parallelism is required', 'give the number of pods, e.g. --parallelism 3: each runs 1/N of every load');
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw usageError(`--parallelism '${text}' is not a whole number of pods`, 'use an integer of 1 or more');
  if (n > MAX_COMPLETIONS) throw usageError(`--parallelism ${n} is more than an Indexed Job allows (${MAX_COMPLETIONS})`, 'use fewer pods');
  return n;
}

function startOf(flags: JobFlags, nowMs: number): number {
  if (flags.startAt !== undefined && flags.startDelay !== undefined) throw usageError('--start-at and --start-delay exclude each other', 'give one: a time, or a delay from now');
  if (flags.startAt !== undefined) {
    const at = parseInstant(flags.startAt, '--start-at');
    if (at <= nowMs) throw usageError(`--start-at ${flags.startAt} is not in the future`, 'give a later time, or --start-delay 2m');
    return at;
  }
  const delay = flags.startDelay === undefined ? DEFAULT_START_DELAY_MS : parseDuration(flags.startDelay);
  if (delay === undefined || delay <= 0) throw usageError(`--start-delay '${flags.startDelay ?? ''}' is not a positive duration`, 'use a Go duration like 60s or 2m');
  // Whole seconds: the time is read by people in the manifest.
  return Math.ceil((nowMs + delay) / 1000) * 1000;
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** `meshload-<scenario name>` as a DNS label that fits. */
export function defaultName(scenarioName: string, room: number): string {
  const slug = `meshload-${scenarioName.toLowerCase()}`.replace(/[^a-z0-9]+/g, '-').slice(0, room).replace(/^-+|-+$/g, '');
  return slug === '' ? 'meshload' : slug;
}

/** The scenario's file name as a ConfigMap key (letters, digits, '-', '_', '.'). */
export function scenarioKey(file: string): string {
  const key = basename(file).replace(/[^-._a-zA-Z0-9]/g, '-');
  return key === '' || key === '.' || key === '..' ? 'scenario.yaml' : key;
}

/** Timed loads and sleeps: what the scenario's own durations add up to. */
export function estimatedMs(scenario: Scenario): number {
  let total = 0;
  for (const phase of scenario.phases) {
    for (const step of phase.steps) if (step.kind === 'sleep') total += step.duration;
    if (phase.load !== undefined && phase.load.requests === undefined) total += phase.load.duration;
  }
  return total;
}

/** What the Job cannot check for a scenario's steps: a `run:` step runs in shard 0's pod, in
 * /scenario with the files the steps name, and needs its command in the image. */
export function jobNotes(scenario: Scenario): string[] {
  const notes: string[] = [];
  const note = (path: string, step: Scenario['always'][number]): void => {
    if (step.kind !== 'run') return;
    const line = step.command.trim().split('\n')[0] ?? '';
    const shown = line.length > 80 || step.command.trim().includes('\n') ? `${line.slice(0, 77)}...` : line;
    notes.push(`${path}: '${shown}' runs in shard 0's pod, in /scenario beside the files the steps name: the image needs the command`);
  };
  scenario.phases.forEach((phase, i) => phase.steps.forEach((step, j) => note(`phases[${i}].steps[${j}]`, step)));
  scenario.always.forEach((step, j) => note(`always[${j}]`, step));
  return notes;
}
