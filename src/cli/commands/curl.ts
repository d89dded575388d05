import { Option, type Command } from 'commander';
import { LOG_LEVELS } from '../../util/log-level';
import { FORTIO_UNUSED } from '../go-flags';
import type { CommandContext } from '../command-context';
import type { GrpcFlags } from '../../grpc/grpc-load';
import { addLoggerFlags, type LoggerFlags } from '../fortio-log';
import { addGrpcCallFlags } from '../grpc-flags';
import { addRequestFlags, type RequestFlags } from '../request-flags';
import { DEFAULT_MAX_BODY } from './curl-action';

export interface CurlFlags extends RequestFlags, GrpcFlags, LoggerFlags {
  maxBody: string;
  quiet?: boolean;
  loglevel: string;
  logErrors: boolean;
  fortioUnused: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `meshload curl URL`: one request, Fortio-style (status line and headers to stderr, body to
 * stdout, exit 1 unless 200), plus one line on whether the answer crossed an Envoy sidecar. */
export function registerCurl(program: Command, ctx: CommandContext): void {
  const command = program
    .command('curl')
    .description('send one request: headers to stderr, body to stdout, exit 1 unless 200')
    .argument('<url>', 'target URL, http:// or https://');
  addLoggerFlags(addGrpcCallFlags(addRequestFlags(command)))
    .option('--max-body <size>', 'fail once the body exceeds this size (bytes, or like 512KiB, 10MiB)', DEFAULT_MAX_BODY)
    .option('--quiet', 'only the status line, headers and body: no notes')
    .option('--loglevel <level>', `${LOG_LEVELS.join('|')}; above Info, no notes`, 'Info')
    .option('--no-log-errors', 'do not log a non-2xx/418 code at Warning (Go style: -log-errors=false)')
    .addOption(new Option(`--${FORTIO_UNUSED} <flag>`, 'a Fortio flag accepted without effect').hideHelp().argParser(collect).default([]))
    .action(async (urlText: string, flags: CurlFlags) => {
      const { curlCommand } = await import('./curl-action');
      ctx.exitCode = await curlCommand(urlText, flags, 'curl', ctx.io);
    });
}
