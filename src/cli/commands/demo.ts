import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { EXIT } from '../exit-codes';
import type { LoadFlags } from './load';

/** The chaos the demo's embedded server injects: Istio's circuit-breaker task shows 503s. */
const DEMO_CHAOS = 'status=503:20&delay=2ms:50';
/** Istio's circuit-breaker task line, with more calls so the percentages mean something. */
const DEMO_ARGS = { connections: '3', qps: '0', requests: '300' };

/** `meshload demo`: the main job on an embedded default, no cluster needed. Starts the echo
 * server on a free loopback port, injecting 503s, runs a Fortio-style load against it, stops. */
export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('run a short load test against an embedded echo server that injects 503s (no cluster needed)')
    .action(async () => {
      const { startEchoServer } = await import('../../server/echo-server');
      const { loadPlanFromFlags, runLoadCommand } = await import('./load-action');
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
            `meshload demo: meshload load -c ${DEMO_ARGS.connections} -qps ${DEMO_ARGS.qps} -n ${DEMO_ARGS.requests} ${url}\n\n`,
        );
        const flags: LoadFlags = {
          ...DEMO_ARGS,
          duration: '5s',
          percentiles: '50,75,90,99,99.9',
          keepalive: true,
          dataDir: '.',
          labels: 'meshload demo',
          loglevel: 'Info',
          workers: '1',
          secretHeader: [],
          header: [],
          timeout: '3s',
          statsInterval: '1s',
          statsTimeout: '10s',
        };
        ctx.exitCode = await runLoadCommand(loadPlanFromFlags(url, flags), flags, ctx);
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
