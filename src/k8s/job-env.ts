/** The environment of `meshload k8s job`'s pods: the scenario ships with its `${VAR}` references
 * as written, and each variable it references is filled in the pod, from a Kubernetes Secret by
 * default, or from a plain value the user declared not secret (`--env NAME=VALUE`). So no value
 * of the machine that made the manifest is ever written into it unless asked for by name. */
import { usageError } from '../util/errors';

/** The Secret the pods read variables from when --secret-name does not name another. */
export const DEFAULT_SECRET_NAME = 'meshload-secrets';

/** Set by Kubernetes in every container of an Indexed Job: never looked up in the Secret. */
const SET_BY_KUBERNETES = new Set(['JOB_COMPLETION_INDEX']);

/** `${NAME}` and `${NAME:-default}`, as the scenario reader fills them. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A Secret's name: a DNS subdomain. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export type PodEnvVar =
  | { name: string; value: string }
  /** `optional`: the scenario gives a default, so the pod may start without the key. */
  | { name: string; secretKey: string; optional: boolean };

export interface PodEnv {
  secretName: string;
  vars: PodEnvVar[];
  /** The plain values, for validating the scenario here as the pods will read it. */
  plain: Record<string, string>;
}

/** Every variable the text references, in order of first use; `hasDefault` if any use has one. */
export function referencedVariables(text: string): Array<{ name: string; hasDefault: boolean }> {
  const seen = new Map<string, boolean>();
  for (const match of text.matchAll(REFERENCE)) {
    const name = match[1] as string;
    seen.set(name, (seen.get(name) ?? true) && match[2] !== undefined);
  }
  return [...seen].map(([name, hasDefault]) => ({ name, hasDefault }));
}

/** `--env NAME=VALUE` (or `--env NAME`, the value from `localEnv`) are plain; every other
 * referenced variable comes from the Secret. */
export function podEnv(text: string, flags: { env?: string[]; secretName?: string }, localEnv: Record<string, string | undefined>): PodEnv {
  const secretName = flags.secretName ?? DEFAULT_SECRET_NAME;
  if (!DNS_SUBDOMAIN.test(secretName) || secretName.length > 253) {
    throw usageError(`--secret-name '${secretName}' is not a Secret name`, "use lower-case letters, digits, '-' and '.', at most 253 characters");
  }
  const plain: Record<string, string> = {};
  for (const entry of flags.env ?? []) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    // The value is never quoted back: --env is for plain values, but a pasted secret is possible.
    if (!ENV_NAME.test(name)) throw usageError(`--env '${name.slice(0, 40)}' does not start with a variable name`, 'write --env NAME=VALUE, or --env NAME to take the value from here');
    if (name in plain) throw usageError(`--env ${name} given twice`, 'give each variable once');
    const value = eq < 0 ? localEnv[name] : entry.slice(eq + 1);
    if (value === undefined) throw usageError(`--env ${name}: ${name} is not set here`, `set it, or give --env ${name}=VALUE`);
    plain[name] = value;
  }
  const vars: PodEnvVar[] = Object.entries(plain).map(([name, value]) => ({ name, value }));
  for (const { name, hasDefault } of referencedVariables(text)) {
    if (name in plain || SET_BY_KUBERNETES.has(name)) continue;
    vars.push({ name, secretKey: name, optional: hasDefault });
  }
  return { secretName, vars, plain };
}

/** The keys the pods read from the Secret: `required` ones the pods cannot start without,
 * `optional` ones the scenario has a default for. */
export function secretKeys(env: PodEnv): { required: string[]; optional: string[] } {
  const keys = { required: [] as string[], optional: [] as string[] };
  for (const v of env.vars) if ('secretKey' in v) (v.optional ? keys.optional : keys.required).push(v.secretKey);
  return keys;
}

/** What the pods read from the Secret, for the manifest's head and stderr; undefined for nothing. */
export function secretNote(env: PodEnv): string | undefined {
  const { required, optional } = secretKeys(env);
  if (required.length === 0) {
    return optional.length === 0 ? undefined : `The pods read ${optional.join(', ')} from Secret ${env.secretName} if it holds them (the scenario has defaults for them).`;
  }
  const maybe = optional.length === 0 ? '' : ` (and ${optional.join(', ')} if it holds them: the scenario has defaults for those)`;
  return `The pods read ${required.join(', ')} from Secret ${env.secretName}${maybe}; create it first, with your shell's values:`;
}

/** Shorter values are left as they are: hiding them would garble every number in a message, and
 * a secret is longer. */
const MIN_HIDDEN_LENGTH = 4;

/** `text` with each value the pods read from the Secret, as set here, put back as `${NAME}`: for
 * messages made from the expanded copy (a validation error quotes a value, a note a `run:`
 * command), which go to stderr and CI logs. Longest values first, so none hides part of another. */
export function hideSecretValues(text: string, env: PodEnv, localEnv: Record<string, string | undefined>): string {
  const hidden = env.vars
    .flatMap((v) => {
      const value = 'secretKey' in v ? localEnv[v.name] : undefined;
      return value !== undefined && value.length >= MIN_HIDDEN_LENGTH ? [[value, `\${${v.name}}`] as const] : [];
    })
    .sort((a, b) => b[0].length - a[0].length);
  let out = text;
  for (const [value, reference] of hidden) out = out.split(value).join(reference);
  return out;
}
