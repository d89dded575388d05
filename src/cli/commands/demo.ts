import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { EXIT, type ExitCode } from '../exit-codes';
import type { CliIo } from '../io';

/** The chaos the demo's embedded server injects: Istio's circuit-breaker task shows 503s. */
const DEMO_CHAOS = 'status=503:20&delay=2ms:50';
/** Istio's circuit-breaker task line, with more calls so the percentages mean something. */
const DEMO_LOAD = ['-c', '3', '-qps', '0', '-n', '300'];

/** Runs one meshload command line: main.ts's runCli, handed in so this module never imports main. */
export type RunCommandLine = (argv: readonly string[], io: CliIo) => Promise<ExitCode>;

/** `meshload demo`: the main job on an embedded default, no cluster needed. Starts the echo
 * server on a free loopback port, injecting 503s, runs a Fortio-style load against it, stops. */
export function registerDemo(program: Command, ctx: CommandContext, runCli: RunCommandLine): void {
  program
    .command('demo')
    .description('run a short load test against an embedded echo server that injects 503s (no cluster needed)')
    .action(async () => {
      const { startEchoServer } = await import('../../server/echo-server');
      const server = await startEchoServer({
        echo: { host: '127.0.0.1', port: 0 },
        admin: null,
        maxDelayMs: 1500,
        maxPayloadBytes: 256 * 1024,
        defaultParams: DEMO_CHAOS,
      });
      try {
        const url = `${server.echoUrl}/get`;
        ctx.io.stderr.write(
          `meshload demo: embedded echo server on ${server.echoUrl} answering "${DEMO_CHAOS}"\n` +
            `meshload demo: meshload load ${DEMO_LOAD.join(' ')} ${url}\n\n`,
        );
        // The real `meshload load` command line, so the demo shows exactly what a user would run.
        ctx.exitCode = await runCli(['load', ...DEMO_LOAD, '-labels', 'meshload demo', url], ctx.io);
        if (ctx.exitCode === EXIT.OK) {
          ctx.io.stderr.write(
            `\nmeshload demo: about 20% of calls got 503, as injected. Point 'meshload load' at your service the same way:\n` +
              `  meshload load -c 3 -qps 0 -n 30 http://httpbin:8000/get\n`,
          );
        }
      } finally {
        await server.close();
      }
    });
}
