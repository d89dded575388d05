import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import type { RunFlags } from './run-action';

/** `meshload run SCENARIO`: a resilience check as a CI gate. */
export function registerRun(program: Command, ctx: CommandContext): void {
  program
    .command('run')
    .description('run a scenario file: phases of load, steps between them, checks that gate CI')
    .argument('<scenario>', 'scenario YAML file')
    .option('--report-dir <dir>', 'where each run writes its report directory', 'reports')
    .option('--no-report', 'write no report files')
    .option('--baseline <result.json>', "an earlier run's result.json: also fail when a phase's p99 or error rate regressed")
    .option('--tolerance <percent>', 'how much worse than the baseline still passes', '10%')
    .option('--shard <i/n>', 'run part I of N generators side by side (0-based): 1/N of every load; steps that change shared state run on shard 0 only; prints the result as one MESHLOAD-RESULT line on stdout for meshload merge')
    .option('--start-at <time>', 'ISO 8601 time (with zone) to start the first phase at, so shards start together; refused when passed by more than 5s')
    .option('-v, --verbose', 'list every proxy stat of a phase, not only what moved and what its checks read')
    .action(async (file: string, flags: RunFlags) => {
      // Scenario parsing, the engine and the renderers load when a run starts.
      const { runAction } = await import('./run-action');
      await runAction(file, flags, ctx);
    });
}
