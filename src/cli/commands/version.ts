import type { Command } from 'commander';
import { meshloadVersion } from '../../util/version';
import type { CommandContext } from '../command-context';

/** `meshload version`, as `fortio version`. */
export function registerVersion(program: Command, ctx: CommandContext): void {
  program
    .command('version')
    .description('print the version and exit')
    .action(() => {
      ctx.io.stdout.write(`${meshloadVersion()}\n`);
    });
}
