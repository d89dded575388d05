import type { Command } from 'commander';
import type { CommandContext } from '../command-context';

/** Placeholder registration: the helper that owns this command replaces this file. */
export function registerReport(program: Command, ctx: CommandContext): void {
  void ctx;
  program.command('report').description('(in progress)');
}
