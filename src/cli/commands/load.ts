import { Option, type Command } from 'commander';
import { LOAD_DEFAULTS } from '../../model/load-plan';
import { LOG_LEVELS } from '../../util/log-level';
import type { CommandContext } from '../command-context';
import { FORTIO_UNUSED } from '../go-flags';
import { addGrpcLoadFlags } from '../grpc-flags';
import { addLoggerFlags } from '../fortio-log';
import { addRequestFlags } from '../request-flags';
import { addStatsFlags } from '../stats-flags';
import type { LoadFlags } from './load-action';
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerLoad(program: Command, ctx: CommandContext): void {
  const command = program
    .command('load')
    .description('generate load, Fortio-style: paste a fortio load command line')
    .argument('<url>', 'target URL, http:// or https://')
    .option('-c, --connections <n>', 'connections, each with one request in flight', String(LOAD_DEFAULTS.connections))
    .option('--qps <n>', 'total queries per second; 0 for as fast as possible', String(LOAD_DEFAULTS.qps))
    .option('-t, --duration <duration>', 'how long to run; 0 until interrupted', '5s')
    .option('-n, --requests <n>', 'exact number of calls (overrides -t), split across connections')
    .option('--uniform', 'stagger connection start times evenly over one period')
    .option('--jitter', 'add +/-10% noise to each pause')
    .option('--nocatchup', 'skip slots already late instead of sending them in a burst')
    .option('-p, --percentiles <list>', 'percentiles to report', LOAD_DEFAULTS.percentiles.join(','))
    .option('-r, --resolution <seconds>', "bucket width of Fortio's latency histogram (text and -json); 0 or less is 0.001", '0.001')
    .option('--offset <duration>', "where Fortio's latency buckets start: latencies at or below it share the first", '0s');
  addLoggerFlags(addRequestFlags(command))
    .option('--no-keepalive', 'new connection for every request (Go style: -keepalive=false)')
    .option('--h2', 'HTTP/2 (h2c prior knowledge for http://, ALPN for https://); -c connections, as in Fortio')
    .option('--h2-multiplex', 'with --h2: -c streams share one connection per 100 (meshload\'s model, not Fortio\'s)')
    .option('--keep-socket-on-error', 'HTTP/1.1: keep the socket after a non-2xx; Fortio closes it (418 aside), so Sockets used counts each')
    .option('--abort-on <code>', 'stop at the first response with this status; -1 for the first socket error')
    .option('--allow-initial-errors', 'run even when a warm-up request fails')
    .option('--sequential-warmup', 'warm connections up one after another, stopping at the first failure, instead of all at once')
    .option('--no-log-errors', "do not log non-2xx/418 codes as they occur (Go style: -log-errors=false)")
    .option('--access-log-file <path>', 'append one line per call to this file (Fortio\'s access log)')
    .option('--access-log-format <format>', 'json|influx', 'json')
    .option('--runid <n>', 'RunID in the JSON and in the -a file name when not 0', '0')
    .option('--calc-qps', '-qps from -n and -t: n calls spread over t')
    .option('--connection-reuse <min:max>', 'reconnect after a random number of requests in [min, max]')
    .option('--json <path>', 'write the result as Fortio-shaped JSON; - for stdout')
    .option('-a, --save', 'save the JSON result in -data-dir under Fortio\'s file naming')
    .option('--data-dir <dir>', 'directory for -a', '.')
    .option('--labels <text>', 'free text describing the run', '')
    .option('--quiet', 'no start lines and no progress')
    .option('--loglevel <level>', LOG_LEVELS.join('|'), 'Info')
    .option('--open', 'open model: arrivals at -qps whatever the responses')
    .option('--max-inflight <n>', 'open model: most requests in flight at once (default: -c)')
    .option('--workers <n|auto>', 'worker threads; results are merged exactly', '1')
    .option('--secret-header <name>', 'also write this header\'s value as <redacted> (repeatable); Authorization, Cookie, Proxy-Authorization and names containing token, secret, password, api-key or apikey always are', collect, [])
    .option('--allow-uid-1337', "run even as UID 1337, Istio's proxy user, whose traffic the sidecar does not intercept")
    .option('-v, --verbose', 'list every proxy stat, not only what moved')
    .option('--curl', 'send one request and print it as meshload curl does (Fortio: load -curl)')
    .addOption(new Option(`--${FORTIO_UNUSED} <flag>`, 'a Fortio flag accepted without effect').hideHelp().argParser(collect).default([]));
  addStatsFlags(addGrpcLoadFlags(command), true).action(async (urlText: string, flags: LoadFlags) => {
    // The engine, transports and renderers load only when a run starts: `--version` and
    // `--help` stay fast.
    const { loadAction } = await import('./load-action');
    ctx.exitCode = await loadAction(urlText, flags, ctx);
  });
}
