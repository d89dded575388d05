import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import type { MergeFlags } from './merge-action';

/** `meshload merge A.json B.json ... -o merged.json`: one result from generators that ran side by
 * side, merged exactly, with the scenario's checks evaluated again on the whole.
 * `--from-logs FILE` (or `-`, stdin) reads the MESHLOAD-RESULT lines sharded runs print, as
 * `kubectl logs` of a `meshload k8s job` returns them. */
export function registerMerge(program: Command, ctx: CommandContext): void {
  program
    .command('merge')
    .description('merge results of generators that ran side by side (exact histograms and counters); re-evaluates a scenario\'s checks')
    .argument('[files...]', 'meshload load -json files, or result.json files of meshload run (all of one kind); - reads logs from stdin, as --from-logs -')
    .option('-o, --output <file>', 'write the merged JSON here (default: stdout)')
    .option('-v, --verbose', 'every proxy stat in the sidecar blocks, not only what moved')
    .option(
      '--from-logs <file>',
      "logs holding the MESHLOAD-RESULT lines of sharded runs ('kubectl logs -l job-name=NAME -c meshload --tail=-1'); - for stdin; repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .action(async (files: string[], flags: MergeFlags) => {
      const { mergeAction } = await import('./merge-action');
      await mergeAction(files, flags, ctx);
    });
}
