/** Entry point: argv -> commander -> a sub-command, with every failure turned into one line on
 * stderr and an exit code. The only module that knows about the process. */
import { Command, CommanderError } from 'commander';
import { MeshloadError } from '../util/errors';
import { suggest } from '../util/suggest';
import { meshloadVersion } from '../util/version';
import type { CommandContext } from './command-context';
import { registerCompare } from './commands/compare';
import { registerCurl } from './commands/curl';
import { registerDemo } from './commands/demo';
import { registerDoctor } from './commands/doctor';
import { registerK8s } from './commands/k8s';
import { registerLoad } from './commands/load';
import { registerMerge } from './commands/merge';
import { registerReport } from './commands/report';
import { registerRun } from './commands/run';
import { registerServer } from './commands/server';
import { registerStats } from './commands/stats';
import { registerVerify } from './commands/verify';
import { registerVersion } from './commands/version';
import { EXIT, type ExitCode } from './exit-codes';
import { normalizeGoFlags } from './go-flags';
import type { CliIo, Hurry } from './io';

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('meshload')
    .description(
      'Load testing and chaos harness for service meshes.\n' +
        'Flags may be written Go-style, as in Fortio: -http-port 8080, -t=10s, -keepalive=false.',
    )
    .version(meshloadVersion(), '-V, --version', 'print the version and exit')
    .helpCommand('help [command]', 'show help for a command')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
      outputError: () => undefined, // runCli prints errors itself, on one line
    });
  registerLoad(program, ctx);
  registerRun(program, ctx);
  registerCurl(program, ctx);
  registerServer(program, ctx);
  registerStats(program, ctx);
  registerVerify(program, ctx);
  registerMerge(program, ctx);
  registerReport(program, ctx);
  registerCompare(program, ctx);
  registerDoctor(program, ctx);
  registerK8s(program, ctx);
  registerDemo(program, ctx, runCli);
  registerVersion(program, ctx);
  return program;
}

/** Runs one command line; resolves to the exit code and never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const ctx: CommandContext = { io, exitCode: EXIT.OK };
  const program = buildProgram(ctx);
  if (argv.length === 0) {
    // No command is a usage error: a script that lost its arguments must not pass.
    io.stderr.write(program.helpInformation());
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(prepareArgs(argv, program), { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

/** Picks the sub-command and rewrites its Go-style flags; rejects unknown commands itself so
 * the message can suggest the closest one. */
function prepareArgs(argv: readonly string[], program: Command): string[] {
  const [first, ...rest] = argv;
  if (first === undefined) return ['--help']; // runCli answers an empty command line itself
  if (first.startsWith('-')) {
    if (['-V', '-version', '--version'].includes(first)) return ['--version'];
    if (['-h', '-help', '--help'].includes(first)) return ['--help'];
    throw new MeshloadError('E_USAGE', `unknown flag '${first}' for 'meshload'`, "flags go after the command; see 'meshload --help'");
  }
  if (first === 'help') return [...argv];
  const command = program.commands.find((c) => c.name() === first || c.aliases().includes(first));
  if (command === undefined) {
    const names = program.commands.map((c) => c.name());
    const close = suggest(first, names);
    throw new MeshloadError(
      'E_USAGE',
      `unknown command '${first}'`,
      `${close !== undefined ? `did you mean '${close}'? ` : ''}commands: ${names.join(', ')}`,
    );
  }
  return [first, ...normalizeGoFlags(rest, command)];
}

function reportError(error: unknown, io: CliIo): ExitCode {
  if (error instanceof CommanderError) {
    // Help and version "errors" are how commander says it printed them.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
      return EXIT.OK;
    }
    const text = error.message.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ');
    io.stderr.write(`meshload: ${text} (see 'meshload --help')\n`);
    return EXIT.USAGE;
  }
  if (error instanceof MeshloadError) {
    io.stderr.write(`meshload: ${error.oneLine()}\n`);
    return error.code === 'E_USAGE' ? EXIT.USAGE : EXIT.FAILED;
  }
  // A bug, not bad input (every input error is a MeshloadError): the stack helps the report.
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`meshload: internal error, please report it: ${text}\n`);
  return EXIT.FAILED;
}

/** Wires the real process: streams, environment, and signals. The first SIGINT or SIGTERM asks
 * the command to stop cleanly; the second exits at once, or, for a command that handles it
 * (`run`), stops waiting (cleanup cut short, children killed, the partial report still
 * written) and then exits; a third always exits at once. */
export function runFromProcess(): void {
  const controller = new AbortController();
  const hurry = new AbortController();
  let signals = 0;
  const hurried: Hurry = { signal: hurry.signal, handled: false };
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) controller.abort(signal);
    else if (signals === 2 && hurried.handled) hurry.abort(signal);
    else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that goes away (`meshload load -json - | head`) must not crash the command with a
  // stack: the rest of stdout is dropped and the command finishes its work (a run still runs its
  // always: steps and writes its report files); said at the end unless the command said it.
  let stdoutLost: string | undefined;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    stdoutLost ??= error.code ?? error.message;
  });
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal, hurry: hurried, uid: process.getuid?.() };
  // The handlers stay until the process exits: a signal that lands while it winds down still
  // means "now" (130), never Node's default death by signal.
  void runCli(process.argv.slice(2), io).then((code) => {
    if (stdoutLost !== undefined && code === EXIT.OK) process.stderr.write(`meshload: stdout closed (${stdoutLost}); the rest of the output was dropped\n`);
    process.exitCode = code;
    // Hurried: what was given up (a load, a server closing) may still hold the event loop.
    if (hurry.signal.aborted) process.exit(code);
  });
}
