import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import type { CompareFlags } from './compare-action';

/** `meshload compare A B`: a baseline and a new result, phase by phase, each change called a
 * regression, an improvement or within noise. */
export function registerCompare(program: Command, ctx: CommandContext): void {
  program
    .command('compare')
    .description('compare two results (run directories, result.json, meshload or Fortio load JSON): regressions beyond tolerance and noise')
    .argument('<a>', 'the baseline: a run directory, result.json, meshload load -json or fortio load -json file')
    .argument('<b>', 'the result to judge against it, of any of those kinds')
    .option('--tolerance <percent>', 'changes smaller than this are never regressions (rates: max(percent of the rate, 1 point))', '10%')
    .option('-o, --output <file>', 'also write the comparison as a self-contained HTML page')
    .option('--json', 'print the comparison as JSON on stdout (the table goes to stderr)')
    .action(async (a: string, b: string, flags: CompareFlags) => {
      const { compareAction } = await import('./compare-action');
      compareAction(a, b, flags, ctx);
    });
}
