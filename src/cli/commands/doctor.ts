import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { addStatsFlags, type StatsFlags } from '../stats-flags';

/** `meshload doctor [URL]`: the first command to run inside a client pod. Says, one line each,
 * whether what meshload's measurements rest on holds: a user the sidecar intercepts, the proxy's
 * stats answering, the target's cluster in them, and one request to URL moving its counter. */
export function registerDoctor(program: Command, ctx: CommandContext): void {
  const command = program
    .command('doctor')
    .description("check that meshload can measure through this pod's sidecar: user, proxy stats, the target's cluster, interception")
    .argument('[url]', 'a target to send one GET to: its cluster counter must move (interception)');
  addStatsFlags(command, false).action(async (url: string | undefined, flags: StatsFlags) => {
    const { doctorAction } = await import('./doctor-action');
    await doctorAction(url, flags, ctx);
  });
}
