import type { ExitCode } from './exit-codes';
import type { CliIo } from './io';

/** Shared by the sub-commands of one invocation: commander actions cannot return a value, so a
 * command records its exit code here. */
export interface CommandContext {
  io: CliIo;
  exitCode: ExitCode;
}
