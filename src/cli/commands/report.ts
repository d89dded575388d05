import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import type { ReportFlags } from './report-action';

/** `meshload report PATH`: report.html from any result; `--serve PORT`: browse a reports folder. */
export function registerReport(program: Command, ctx: CommandContext): void {
  program
    .command('report')
    .description('write report.html for a result (run directory, result.json, meshload or Fortio load JSON), or --serve a reports folder')
    .argument('[path]', 'the result to render; with --serve, the reports folder (default: reports)')
    .option('--serve <port>', 'serve a browsable index of the folder on this port (0: a free one) until Ctrl-C')
    .option('--host <host>', 'address to serve on (default 127.0.0.1; 0.0.0.0 to share)')
    .option('-o, --output <file>', 'where to write the page (default: report.html beside result.json, else the input with .html)')
    .option('--open <what>', "'browser' opens the page (or the served index) with $BROWSER or the system opener; 'none' does not", 'none')
    .action(async (path: string | undefined, flags: ReportFlags) => {
      const { reportAction } = await import('./report-action');
      await reportAction(path, flags, ctx);
    });
}
