import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { addRequestFlags, requestFromFlags, type RequestFlags } from '../request-flags';
import { DEFAULT_MAX_BODY } from './curl-action';

interface CurlFlags extends RequestFlags {
  maxBody: string;
}

/** `meshload curl URL`: one request, Fortio-style (status line and headers to stderr, body to
 * stdout, exit 1 unless 200), plus one line on whether the answer crossed an Envoy sidecar. */
export function registerCurl(program: Command, ctx: CommandContext): void {
  const command = program
    .command('curl')
    .description('send one request: headers to stderr, body to stdout, exit 1 unless 200')
    .argument('<url>', 'target URL, http:// or https://');
  addRequestFlags(command)
    .option('--max-body <size>', 'fail once the body exceeds this size (bytes, or like 512KiB, 10MiB)', DEFAULT_MAX_BODY)
    .action(async (urlText: string, flags: CurlFlags) => {
      const parts = requestFromFlags(urlText, flags, 'curl');
      const { runCurl } = await import('./curl-action');
      ctx.exitCode = await runCurl(parts, flags.maxBody, ctx.io);
    });
}
