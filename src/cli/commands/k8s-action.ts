/** `meshload k8s`'s implementation, loaded when it runs (see k8s.ts). */
import { followUpCommands, jobManifest } from '../../k8s/job-manifest';
import { jobNotes, parallelismOf, planJob, type JobFlags } from '../../k8s/job-plan';
import { checkExpectation } from '../../scenario/expectation';
import { shardProblems } from '../../scenario/run-scenario';
import { loadScenario, ScenarioError } from '../../scenario/scenario-schema';
import { usageError } from '../../util/errors';
import { meshloadVersion } from '../../util/version';
import type { CommandContext } from '../command-context';
import { EXIT } from '../exit-codes';
import { readScenarioFile } from '../scenario-file';

export function k8sAction(kind: string, file: string, flags: JobFlags, ctx: CommandContext): void {
  if (kind !== 'job') throw usageError(`unknown k8s kind '${kind}'`, 'meshload k8s job SCENARIO --parallelism N');
  const parallelism = parallelismOf(flags.parallelism);
  // Shipped as written, ${VAR} references kept; validated here with this environment's values.
  const text = readScenarioFile(file);
  let scenario;
  try {
    scenario = loadScenario(text, file, { checkExpression: checkExpectation, env: ctx.io.env, unsetHint: 'set it (variables are checked when the manifest is made), or give a default as ${NAME:-value}' });
    const unsplittable = shardProblems(scenario, parallelism);
    if (unsplittable.length > 0) throw new ScenarioError(file, unsplittable);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    ctx.io.stderr.write(`meshload: ${error.report()}\n`);
    ctx.exitCode = EXIT.USAGE;
    return;
  }
  const input = planJob({ file, text: text, scenario, flags, nowMs: Date.now(), version: meshloadVersion(), commandLine: commandLine(file, flags) });
  ctx.io.stdout.write(jobManifest(input));
  // Also on stderr: piped into kubectl apply, the manifest's own comments are not seen.
  for (const note of jobNotes(scenario)) ctx.io.stderr.write(`note: ${note}\n`);
  const commands = followUpCommands(input);
  ctx.io.stderr.write(
    `Job ${input.name}: ${input.parallelism} pods start ${input.scenarioKey} at ${input.startAt}; apply before then (${commands.apply}), then:\n` +
      `  ${commands.wait}\n  ${commands.merge}\n  ${commands.cleanUp}\n`,
  );
}

/** The command line that makes the manifest again, quoted for a POSIX shell. */
function commandLine(file: string, flags: JobFlags): string {
  const args = ['meshload', 'k8s', 'job', file, '--parallelism', flags.parallelism ?? ''];
  const options: Array<[string, string | undefined]> = [
    ['--namespace', flags.namespace],
    ['--image', flags.image],
    ['--name', flags.name],
    ['--start-at', flags.startAt],
    ['--start-delay', flags.startDelay],
  ];
  for (const [flag, value] of options) if (value !== undefined) args.push(flag, value);
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
