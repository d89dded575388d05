/** A scenario file's text with `${VAR}` filled from the environment, as `run` and `k8s job` read
 * it; a file that cannot be read, or uses unset variables without defaults, is a usage error. */
import { readFileSync } from 'node:fs';
import { expandEnv } from '../scenario/expand-env';
import { usageError } from '../util/errors';

export function readScenarioFile(file: string, env: Record<string, string | undefined>, unsetHint = 'set them, or give defaults as ${NAME:-value}'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read scenario ${file}: ${(error as Error).message}`, 'check the path');
  }
  const expanded = expandEnv(text, env);
  if (expanded.missing.length > 0) throw usageError(`${file} uses unset variables: ${expanded.missing.join(', ')}`, unsetHint);
  return expanded.text;
}
