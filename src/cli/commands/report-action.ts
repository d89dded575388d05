/** `meshload report`'s implementation, loaded when it runs (see report.ts). */
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderReportHtml } from '../../report/html/render-report';
import { readResult, type ReadResult } from '../../report/read-result';
import { startReportServer } from '../../report/report-index';
import { phaseFooter, verdictLine } from '../../report/scenario/text';
import { screenFor } from '../../report/screen';
import { MeshloadError, usageError } from '../../util/errors';
import type { CommandContext } from '../command-context';
import { EXIT } from '../exit-codes';

export interface ReportFlags {
  serve?: string;
  host?: string;
  output?: string;
  open: string;
}

const OPEN_MODES = ['none', 'browser'] as const;

export async function reportAction(path: string | undefined, flags: ReportFlags, ctx: CommandContext): Promise<void> {
  if (!(OPEN_MODES as readonly string[]).includes(flags.open)) throw usageError(`--open '${flags.open}' is not one of ${OPEN_MODES.join(', ')}`, "use --open browser to open the page, or leave it out");
  if (flags.serve !== undefined) {
    await serve(path ?? 'reports', flags, ctx);
    return;
  }
  if (flags.host !== undefined) throw usageError('--host applies only with --serve', 'add --serve PORT, or drop --host');
  if (path === undefined) throw usageError('report needs a result to render', 'give a run directory, result.json, or a load JSON file; or --serve PORT to browse a reports folder');
  const read = readResult(path);
  const out = flags.output ?? defaultOutput(read);
  const html = renderReportHtml(read.result, { source: read.note === undefined ? path : `${path} (${read.note})` });
  try {
    writeFileSync(out, html);
  } catch (error) {
    throw new MeshloadError('E_OUTPUT', `cannot write ${out}: ${(error as Error).message}`, 'check the path and permissions, or choose another with -o');
  }
  const stderr = ctx.io.stderr;
  const screen = screenFor(stderr, ctx.io.env);
  if (read.note !== undefined) stderr.write(`note: ${read.note}\n`);
  for (const phase of read.result.phases) {
    stderr.write(`== ${phase.name}\n`);
    stderr.write(phaseFooter(phase, screen));
  }
  stderr.write(verdictLine(read.result, screen));
  // The path on stdout, alone: `xdg-open "$(meshload report reports/x)"` works.
  ctx.io.stdout.write(`${out}\n`);
  if (flags.open === 'browser') openInBrowser(out, ctx);
  ctx.exitCode = EXIT.OK;
}

/** report.html beside result.json for a run; `x.json` -> `x.html` for a load file. */
function defaultOutput(read: ReadResult): string {
  if (read.kind === 'run-dir' || read.kind === 'scenario') return join(dirname(read.file), 'report.html');
  return read.file.replace(/(\.json)?$/i, '.html');
}

async function serve(root: string, flags: ReportFlags, ctx: CommandContext): Promise<void> {
  if (flags.output !== undefined) throw usageError('-o does not apply with --serve: pages are rendered on request', 'drop -o, or drop --serve to write one page');
  const portText = flags.serve ?? '';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw usageError(`--serve '${portText}' is not a port`, 'use a port from 0 to 65535 (0: a free one)');
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch (error) {
    throw usageError(`cannot read ${root}: ${(error as Error).message}`, "give the folder meshload run writes its reports into (--report-dir, default 'reports')");
  }
  if (!isDir) throw usageError(`${root} is not a folder`, 'serve the folder that holds run directories; to render one file, drop --serve');
  if (existsSync(join(root, 'result.json'))) {
    throw usageError(`${root} is one run, not a reports folder`, `serve the folder that holds it (${dirname(root)}), or drop --serve to write its report.html`);
  }
  const host = flags.host ?? '127.0.0.1';
  const label = root.endsWith('/') ? root : `${root}/`;
  const server = await startReportServer({ root, host, port, rootLabel: label, onError: (line) => ctx.io.stderr.write(`meshload report: ${line}\n`) });
  ctx.io.stderr.write(`serving ${label} on ${server.url}\n`);
  if (flags.open === 'browser') openInBrowser(server.url, ctx);
  const signal = ctx.io.signal;
  if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await server.close();
  ctx.io.stderr.write('stopped\n');
  ctx.exitCode = EXIT.OK;
}

/** $BROWSER (as Python's webbrowser and xdg-utils read it), else the platform's opener. A missing
 * opener is said, never fatal: the page is written or served either way. */
function openInBrowser(target: string, ctx: CommandContext): void {
  const browser = ctx.io.env.BROWSER;
  const [command, args] =
    browser !== undefined && browser !== ''
      ? [browser, [target]]
      : process.platform === 'darwin'
        ? ['open', [target]]
        : process.platform === 'win32'
          ? ['cmd', ['/c', 'start', '', target]]
          : ['xdg-open', [target]];
  const say = (error: Error): void => {
    ctx.io.stderr.write(`meshload: could not open a browser with ${command}: ${error.message} (open ${target} yourself, or set BROWSER)\n`);
  };
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', say);
    child.unref();
  } catch (error) {
    say(error as Error);
  }
}
