import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { addStatsFlags } from '../stats-flags';
import type { StatsCommandFlags } from './stats-action';

/** `meshload stats SOURCE`: the resilience view of a proxy's counters as they stand (since the
 * proxy started); `--diff BEFORE AFTER`: between two dumps (files or URLs). */
export function registerStats(program: Command, ctx: CommandContext): void {
  const command = program
    .command('stats')
    .description("show what a proxy's stats say: breaker rejections, retries, timeouts, ejections, per cluster")
    .argument('[sources...]', 'a stats URL or a saved dump; with --diff, two of them (before, after)')
    .option('--diff', 'show the change between two dumps: BEFORE AFTER')
    .option('--json', 'print JSON: per matched cluster, counter deltas by raw stat name and the resilience view')
    .option('--watch', 'refresh every --stats-interval with the change since the watch started, until Ctrl-C')
    .option('-v, --verbose', 'list every stat of each cluster, not only what moved (or, for one dump, what is not 0)');
  addStatsFlags(command, true).action(async (sources: string[], flags: StatsCommandFlags) => {
    const { statsAction } = await import('./stats-action');
    await statsAction(sources, flags, ctx);
  });
}
