/** `meshload k8s`'s implementation, loaded when it runs (see k8s.ts). */
import { dirname } from 'node:path';
import { hideSecretValues, podEnv, secretNote } from '../../k8s/job-env';
import { jobFiles } from '../../k8s/job-files';
import { followUpCommands, jobManifest } from '../../k8s/job-manifest';
import { jobNotes, parallelismOf, planJob, scenarioKey, type JobFlags } from '../../k8s/job-plan';
import { checkExpectation } from '../../checks';
import { shardProblems } from '../../scenario/run-scenario';
import { loadScenario, ScenarioError } from '../../scenario/load-scenario';
import { MeshloadError, usageError } from '../../util/errors';
import { meshloadVersion } from '../../util/version';
import type { CommandContext } from '../command-context';
import { EXIT } from '../exit-codes';
import { readScenarioFile } from '../scenario-file';

export function k8sAction(kind: string, file: string, flags: JobFlags, ctx: CommandContext): void {
  if (kind !== 'job') throw usageError(`unknown k8s kind '${kind}'`, 'meshload k8s job SCENARIO --parallelism N');
  const parallelism = parallelismOf(flags.parallelism);
  // The ConfigMap gets the file as written: a variable's value (a token) must not land in a
  // manifest. The pods fill the variables from their env, which the manifest declares.
  const raw = readScenarioFile(file);
  const env = podEnv(raw, flags, ctx.io.env);
  const hide = (message: string): string => hideSecretValues(message, env, ctx.io.env);
  // Validated here as the pods will read it, with this machine's variables and the --env values;
  // the expanded values stay in memory.
  let scenario;
  try {
    scenario = loadScenario(raw, file, {
      checkExpression: checkExpectation,
      env: { ...ctx.io.env, ...env.plain },
      unsetHint: `set it here to validate the scenario (its value is not written into the manifest: the pods read it from Secret ${env.secretName}), give --env NAME=VALUE, or a default as \${NAME:-value}`,
    });
    const unsplittable = shardProblems(scenario, parallelism);
    if (unsplittable.length > 0) throw new ScenarioError(file, unsplittable);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    ctx.io.stderr.write(`meshload: ${hide(error.report())}\n`);
    ctx.exitCode = EXIT.USAGE;
    return;
  }
  let input;
  let fileNotes: string[] = [];
  try {
    // Every file the steps name goes with the scenario, and their kubectl calls get their rights.
    const steps = jobFiles(scenario, dirname(file), scenarioKey(file), Buffer.byteLength(raw));
    fileNotes = steps.notes;
    // The default Job name comes from the scenario's name, which may hold a variable.
    input = planJob({ file, text: raw, scenario: { ...scenario, name: hide(scenario.name) }, env, steps, flags, nowMs: Date.now(), version: meshloadVersion(), commandLine: commandLine(file, flags) });
  } catch (error) {
    // A statsFile path or a step's word may come from a Secret-held variable.
    if (error instanceof MeshloadError) throw new MeshloadError(error.code, oneLine(hide(error.message)), error.hint === undefined ? undefined : hide(error.hint));
    throw error;
  }
  ctx.io.stdout.write(jobManifest(input));
  // Also on stderr: piped into kubectl apply, the manifest's own comments are not seen.
  for (const note of [...jobNotes(scenario), ...fileNotes]) ctx.io.stderr.write(`note: ${hide(note)}\n`);
  if (input.files.length > 0) ctx.io.stderr.write(`Shipped with the scenario, under /scenario: ${input.files.map((f) => f.path).join(', ')}\n`);
  const commands = followUpCommands(input);
  const note = secretNote(env);
  if (note !== undefined) ctx.io.stderr.write(`${note}\n${commands.secret === undefined ? '' : `  ${commands.secret}\n`}`);
  ctx.io.stderr.write(
    `Job ${input.name}: ${input.parallelism} pods start ${input.scenarioKey} at ${input.startAt}; apply before then (${commands.apply}), then:\n` +
      `  ${commands.wait}\n  ${commands.merge}\n  ${commands.cleanUp}\n`,
  );
}

/** A message quoting a step's words stays one bounded line whatever they hold. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return flat.length > 400 ? `${flat.slice(0, 397)}...` : flat;
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
    ['--secret-name', flags.secretName],
    ['--service-account', flags.serviceAccount],
  ];
  for (const [flag, value] of options) if (value !== undefined) args.push(flag, value);
  for (const entry of flags.env ?? []) args.push('--env', entry);
  if (flags.rbac === false) args.push('--no-rbac');
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
