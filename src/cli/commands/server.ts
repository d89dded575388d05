import { Option, type Command } from 'commander';
import { startEchoServer } from '../../server/echo-server';
import { startGrpcServer, type RunningGrpcServer } from '../../server/grpc-server';
import { startRedirectServer, type RunningRedirectServer } from '../../server/redirect-server';
import { startTcpEchoServer, type RunningTcpEchoServer } from '../../server/tcp-echo-server';
import { readServerTls, type ServerTls } from '../../server/server-tls';
import { EchoParamError } from '../../server/weighted-list';
import { formatDuration, parseDuration } from '../../util/duration';
import { usageError } from '../../util/errors';
import { parseListenAddress, type ListenAddress } from '../../util/listen-address';
import { LOG_LEVELS, logsAt, parseLogLevel } from '../../util/log-level';
import { meshloadVersion } from '../../util/version';
import type { CommandContext } from '../command-context';
import { EXIT } from '../exit-codes';
import { sayNoEffect } from '../fortio-flags';
import { FORTIO_UNUSED } from '../go-flags';

interface ServerFlags {
  httpPort: string;
  adminPort?: string;
  maxEchoDelay: string;
  maxpayloadsizekb: string;
  echoServerDefaultParams: string;
  echoDebugPath: string;
  versionTag?: string;
  loglevel: string;
  grpcPort?: string;
  healthservice?: string;
  redirectPort?: string;
  tcpPort?: string;
  udpPort?: string;
  cert?: string;
  key?: string;
  cacert?: string;
  mtls?: boolean;
  fortioUnused: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Fortio's other servers. Pasted Fortio command lines turn them off with "disabled"; meshload
 * has none of them, so that is the only value it accepts. */
const FORTIO_ONLY_PORTS = ['udp-port'] as const;
const DEFAULT_ADMIN_PORT = '8079';
const MAX_PAYLOAD_KB = 1024 * 1024;
const MAX_ECHO_DELAY_MS = 24 * 3_600_000;

export function registerServer(program: Command, ctx: CommandContext): void {
  const command = program
    .command('server')
    .description('run the Fortio-compatible echo server, with runtime chaos control and metrics on an admin port')
    .option('--http-port <[host:]port>', 'echo port; 0 picks a free one', '8080')
    .option(
      '--admin-port <[host:]port>',
      'admin port for /chaos, /metrics, /healthz (host defaults to 127.0.0.1); "disabled" for none (default: 8079, or 0 when -http-port is 0)',
    )
    .option('--max-echo-delay <duration>', 'cap on delay= (larger values are clamped)', '1.5s')
    .option('--maxpayloadsizekb <kb>', 'cap on size=, in KiB (larger values are clamped)', '256')
    .option(
      '--echo-server-default-params <query>',
      'parameters for requests without a query string, e.g. "status=503:20&delay=10ms:50"',
      '',
    )
    .option('--echo-debug-path <path>', 'where Fortio\'s /debug request dump (and its echo under <path>/echo/) answers; "" turns it off', '/debug')
    .option('--version-tag <tag>', 'add "x-version: <tag>" to every response (tells subsets apart)')
    .option('--loglevel <level>', `${LOG_LEVELS.join('|')}; Verbose logs every request`, 'Info')
    // Fortio binds 8078 and 8081 by default; meshload binds only what is asked for.
    .option('--tcp-port <[host:]port>', 'TCP echo server (bytes back as sent); 0 picks a free one (default: off)')
    .option('--redirect-port <[host:]port>', 'server answering every request with 303 to https://host/path; 0 picks a free one (default: off)')
    // Fortio binds 8079 for gRPC by default; meshload's admin port has it, so gRPC is off unless asked.
    .option('--grpc-port <[host:]port>', 'gRPC server: fgrpc.PingServer, grpc.health.v1, reflection, chaos by metadata; 0 picks a free one (default: off)')
    .option('--healthservice <name>', 'gRPC health: this service is SERVING and <name>_down NOT_SERVING (default: ping)')
    .option('--cert <file>', 'PEM certificate: the echo port speaks TLS (HTTP/1.1 and h2 by ALPN); needs -key')
    .option('--key <file>', 'PEM private key for -cert')
    .option('--cacert <file>', 'PEM CA bundle that client certificates must chain to (with -mtls)')
    .option('--mtls', 'require a client certificate signed by -cacert', false);
  for (const name of FORTIO_ONLY_PORTS) {
    command.addOption(new Option(`--${name} <port>`, 'accepted for Fortio compatibility: only "disabled"').hideHelp());
  }
  command.addOption(new Option(`--${FORTIO_UNUSED} <flag>`, 'a Fortio flag accepted without effect').hideHelp().argParser(collect).default([]));
  command.action(async (flags: ServerFlags) => {
    const config = serverConfig(flags);
    // Fortio's -quiet means -loglevel Warning; here it silences these notes.
    sayNoEffect(flags.fortioUnused, 'server', !logsAt(config.logLevel, 'Info') || flags.fortioUnused.includes('quiet'), (line) => ctx.io.stderr.write(line));
    const log = (line: string): void => {
      ctx.io.stderr.write(`${line}\n`);
    };
    const logsRequests = logsAt(config.logLevel, 'Verbose');
    let running;
    let tcp: RunningTcpEchoServer | undefined;
    let redirect: RunningRedirectServer | undefined;
    let grpc: RunningGrpcServer | undefined;
    try {
      running = await startEchoServer({ ...config, ...(config.tls !== undefined ? { tls: config.tls } : {}), ...(logsRequests ? { accessLog: log } : {}) });
      try {
        if (config.tcp !== null) tcp = await startTcpEchoServer({ listen: config.tcp });
        if (config.redirect !== null) redirect = await startRedirectServer(config.redirect);
        if (config.grpc !== null) {
          grpc = await startGrpcServer({
            listen: config.grpc,
            // fgrpc.PingServer: an empty name is DefaultHealthServiceName, "ping".
            healthService: flags.healthservice === undefined || flags.healthservice === '' ? 'ping' : flags.healthservice,
            maxDelayMs: config.maxDelayMs,
            chaos: running.chaos,
            ...(config.versionTag !== undefined ? { versionTag: config.versionTag } : {}),
            ...(config.tls !== undefined ? { tls: config.tls } : {}),
          });
        }
      } catch (error) {
        await Promise.all([running.close(), tcp?.close(), redirect?.close()]);
        throw error;
      }
    } catch (error) {
      if (error instanceof EchoParamError) {
        throw usageError(`-echo-server-default-params: ${error.message}`, 'fix the parameter, e.g. "status=503:20&delay=10ms:50"');
      }
      throw error;
    }
    // The start line is printed at every -loglevel: it is how users and scripts learn a port picked by 0.
    const admin = running.adminUrl === undefined ? 'admin disabled' : `admin (chaos, metrics) on ${running.adminUrl}`;
    const extras = [
      ...(tcp !== undefined ? [`; TCP echo on ${hostPort(tcp.address)}`] : []),
      ...(redirect !== undefined ? [`; https redirect on ${hostPort(redirect.address)}`] : []),
      ...(grpc !== undefined ? [`; gRPC on ${hostPort(grpc.address)}`] : []),
    ].join('');
    log(`meshload ${meshloadVersion()} echo server listening on ${running.echoUrl}; ${admin}${extras}`);
    if (logsAt(config.logLevel, 'Info') && config.defaultParams !== '') {
      log(`server-wide echo defaults: ${running.chaos.defaultPlan.query}`);
    }
    await abortedOf(ctx.io.signal);
    // close() stops the listeners before its first await, so "stopping" is true when printed.
    const closed = Promise.all([running.close(), tcp?.close(), redirect?.close(), grpc?.close()]);
    if (logsAt(config.logLevel, 'Info')) {
      log(`meshload server: stopping; in-flight requests get up to ${formatDuration(config.maxDelayMs)} plus a grace period`);
    }
    await closed;
    if (logsAt(config.logLevel, 'Info')) log('meshload server: stopped');
    ctx.exitCode = EXIT.OK;
  });
}

interface ServerConfig {
  echo: ListenAddress;
  admin: ListenAddress | null;
  maxDelayMs: number;
  maxPayloadBytes: number;
  defaultParams: string;
  debugPath: string;
  versionTag?: string;
  logLevel: NonNullable<ReturnType<typeof parseLogLevel>>;
  tcp: ListenAddress | null;
  redirect: ListenAddress | null;
  grpc: ListenAddress | null;
  tls?: ServerTls;
}

/** An extra port flag: absent or "disabled" means off. */
function extraPort(text: string | undefined, flag: string): ListenAddress | null {
  if (text === undefined) return null;
  const address = parseListenAddress(text);
  if (address === undefined) throw usageError(`-${flag} '${text}' is not a port`, 'use a port like 8078, host:port, 0 for a free port, or disabled');
  return address;
}

function hostPort(address: { address: string; port: number }): string {
  return address.address.includes(':') ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

/** Validates every flag; the first bad one is reported with its fix. */
function serverConfig(flags: ServerFlags): ServerConfig {
  const echo = parseListenAddress(flags.httpPort);
  if (echo === null || echo === undefined) {
    throw usageError(`-http-port '${flags.httpPort}' is not a port`, 'use a port like 8080, host:port, or 0 for a free port');
  }
  // A fixed default admin port next to a free echo port would collide when two servers start.
  const adminText = flags.adminPort ?? (echo.port === 0 ? '0' : DEFAULT_ADMIN_PORT);
  const admin = parseListenAddress(adminText, '127.0.0.1');
  if (admin === undefined) {
    throw usageError(`-admin-port '${adminText}' is not a port`, 'use a port like 8079, host:port, 0 for a free port, or disabled');
  }
  const maxDelayMs = parseDuration(flags.maxEchoDelay);
  if (maxDelayMs === undefined || maxDelayMs < 0) {
    throw usageError(`-max-echo-delay '${flags.maxEchoDelay}' is not a duration`, 'use a Go duration like 1.5s or 500ms');
  }
  // The drain on SIGTERM waits this long for delayed responses; past a day it is a typo.
  if (maxDelayMs > MAX_ECHO_DELAY_MS) {
    throw usageError(`-max-echo-delay '${flags.maxEchoDelay}' is longer than 24h`, 'use a Go duration like 1.5s or 30s');
  }
  const kb = Number(flags.maxpayloadsizekb);
  if (!/^\d+$/.test(flags.maxpayloadsizekb) || kb > MAX_PAYLOAD_KB) {
    throw usageError(`-maxpayloadsizekb '${flags.maxpayloadsizekb}' is not a size in KiB`, `use a whole number up to ${MAX_PAYLOAD_KB}`);
  }
  const logLevel = parseLogLevel(flags.loglevel);
  if (logLevel === undefined) {
    throw usageError(`-loglevel '${flags.loglevel}' is not a log level`, `use one of ${LOG_LEVELS.join(', ')}`);
  }
  // A ServeMux pattern is a path: Go panics at start on anything else; here it is one line.
  if (flags.echoDebugPath !== '' && !/^\/[\x21-\x7e]*$/.test(flags.echoDebugPath)) {
    throw usageError(`-echo-debug-path '${flags.echoDebugPath.slice(0, 60)}' is not a path`, 'give a path starting with /, like /debug, or "" to turn /debug off');
  }
  if (flags.versionTag !== undefined && !/^[\x21-\x7e]+$/.test(flags.versionTag)) {
    throw usageError(`-version-tag '${flags.versionTag}' is not a valid header value`, 'use printable characters without spaces, like v2');
  }
  for (const name of FORTIO_ONLY_PORTS) {
    const key = name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as keyof ServerFlags;
    const value = flags[key];
    if (value !== undefined && value !== 'disabled') {
      throw usageError(`-${name} ${value}: meshload server has no such server`, `drop the flag or pass -${name} disabled`);
    }
  }
  if ((flags.cert === undefined) !== (flags.key === undefined)) {
    throw usageError('-cert and -key go together', 'give both, or neither for plain HTTP');
  }
  if (flags.mtls === true && (flags.cert === undefined || flags.cacert === undefined)) {
    throw usageError('-mtls needs -cert, -key and -cacert', 'give the server certificate and the CA that signs client certificates');
  }
  const tls = flags.cert !== undefined && flags.key !== undefined ? readServerTls(flags.cert, flags.key, flags.mtls === true ? flags.cacert : undefined) : undefined;
  return {
    echo,
    admin,
    tcp: extraPort(flags.tcpPort, 'tcp-port'),
    redirect: extraPort(flags.redirectPort, 'redirect-port'),
    grpc: extraPort(flags.grpcPort, 'grpc-port'),
    ...(tls !== undefined ? { tls } : {}),
    maxDelayMs,
    maxPayloadBytes: kb * 1024,
    defaultParams: flags.echoServerDefaultParams,
    debugPath: flags.echoDebugPath,
    ...(flags.versionTag !== undefined ? { versionTag: flags.versionTag } : {}),
    logLevel,
  };
}

function abortedOf(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
