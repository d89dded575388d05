import type { Command } from 'commander';
import type { CommandContext } from '../command-context';

export interface RunFlags {
  reportDir: string;
  report: boolean;
  baseline?: string;
  tolerance: string;
}

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
    .action(async (file: string, flags: RunFlags) => {
      // Scenario parsing, the engine and the renderers load when a run starts.
      const { runAction } = await import('./run-action');
      await runAction(file, flags, ctx);
    });
}
