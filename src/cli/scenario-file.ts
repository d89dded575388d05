/** A scenario file's text as `run` and `k8s job` read it: bounded, as it is on disk. `${VAR}`
 * references stay in it: loadScenario fills them in the parsed values (see expand-env.ts). */
import { readInputFile } from '../util/read-input-file';

/** Far beyond any scenario; a bound so a wrong path (a log, an image) is refused at once. */
export const SCENARIO_SIZE_LIMIT = 4 * 1024 * 1024;

export function readScenarioFile(file: string): string {
  return readInputFile(file, SCENARIO_SIZE_LIMIT, 'scenario', 'give a scenario YAML file');
}
