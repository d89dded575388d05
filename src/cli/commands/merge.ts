import type { Command } from 'commander';
import type { CommandContext } from '../command-context';

export interface MergeFlags {
  output?: string;
}

/** `meshload merge A.json B.json ... -o merged.json`: one result from generators that ran side by
 * side, merged exactly, with the scenario's checks evaluated again on the whole. */
export function registerMerge(program: Command, ctx: CommandContext): void {
  program
    .command('merge')
    .description('merge results of generators that ran side by side (exact histograms and counters); re-evaluates a scenario\'s checks')
    .argument('<files...>', 'meshload load -json files, or result.json files of meshload run (all of one kind)')
    .option('-o, --output <file>', 'write the merged JSON here (default: stdout)')
    .action(async (files: string[], flags: MergeFlags) => {
      const { mergeAction } = await import('./merge-action');
      mergeAction(files, flags, ctx);
    });
}
