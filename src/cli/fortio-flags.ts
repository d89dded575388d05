/** Every flag Fortio defines, as data, so a pasted Fortio command line never fails on a flag
 * Fortio has. Taken from fortio/fortio at 45e1871 (after v1.75.2): bincommon/commonflags.go,
 * cli/fortio_main.go, and fortio.org/cli v1.12.3 (-quiet, -loglevel, -logger-*-color) /
 * fortio.org/scli v1.19.0 (-config-*, -logger-json, -logger-timestamp, -logger-file-line,
 * -logger-goroutine), the versions Fortio's go.mod pins.
 * docs/fortio-flags.md is rendered from this table and checked against it by a test. */

import { parseDuration } from '../util/duration';

export type FortioFlagType = 'bool' | 'string' | 'duration' | 'int' | 'float';
export type MeshloadCommand = 'load' | 'curl' | 'server';

export interface FortioFlag {
  name: string;
  type: FortioFlagType;
  /** Fortio's default, as Fortio prints it. */
  default: string;
  source: 'bincommon/commonflags.go' | 'cli/fortio_main.go' | 'fortio.org/cli' | 'fortio.org/scli';
  /** The meshload commands that act on it; everywhere else it is accepted and has no effect. */
  usedBy: readonly MeshloadCommand[];
  /** What meshload does with it (where used) or why it has no effect (where not). */
  meshload: string;
  /** The meshload option that carries it, when its name differs from Fortio's. */
  alias?: string;
}

const C = 'bincommon/commonflags.go';
const M = 'cli/fortio_main.go';
const LC: readonly MeshloadCommand[] = ['load', 'curl'];
const L: readonly MeshloadCommand[] = ['load'];
const S: readonly MeshloadCommand[] = ['server'];
const LCS: readonly MeshloadCommand[] = ['load', 'curl', 'server'];
const NONE: readonly MeshloadCommand[] = [];

function f(name: string, type: FortioFlagType, dflt: string, source: FortioFlag['source'], usedBy: readonly MeshloadCommand[], meshload: string, alias?: string): FortioFlag {
  return alias === undefined ? { name, type, default: dflt, source, usedBy, meshload } : { name, type, default: dflt, source, usedBy, meshload, alias };
}

export const FORTIO_FLAGS: readonly FortioFlag[] = [
  // bincommon/commonflags.go: the HTTP client flags shared by fortio and fcurl.
  f('compression', 'bool', 'false', C, NONE, 'meshload sends no Accept-Encoding unless -H adds one'),
  f('keepalive', 'bool', 'true', C, L, 'same meaning; -keepalive=false opens a connection per request'),
  f('halfclose', 'bool', 'false', C, NONE, 'meshload never half-closes a connection'),
  f('timeout', 'duration', '3s', C, LC, 'per-request timeout (curl: the whole exchange)'),
  f('stdclient', 'bool', 'false', C, NONE, "meshload's own HTTP/1.1 client is the fast one; -L and -http1.0 pick their own clients, -h2 picks HTTP/2"),
  f('http1.0', 'bool', 'false', C, LC, "HTTP/1.0 requests as Fortio's fast client writes them: no Host unless -H Host, a new connection per request; responses are parsed (Fortio counts every 1.0 answer as 200), bodies end at Content-Length or the close"),
  f('h2', 'bool', 'false', C, L, 'HTTP/2 (h2c prior knowledge for http://, ALPN for https://)'),
  f('k', 'bool', 'false', C, LC, 'do not verify TLS certificates', 'insecure'),
  f('https-insecure', 'bool', 'false', C, LC, 'long form of -k', 'insecure'),
  f('resolve', 'string', '', C, LC, "connect to this IP (or host name, looked up as Fortio's fnet.Resolve does) instead of resolving the URL's host; Host and TLS SNI stay the URL's"),
  f('L', 'bool', 'false', C, LC, 'follow 301, 302, 303, 307 and 308, at most 10, by Go\'s rules (301-303 turn into a bodiless GET). load: as Fortio, a client like Go\'s (keep-alive whatever the status), slower: not for load tests; not with -h2 or -http1.0', 'follow-redirects'),
  f('user', 'string', '', C, LC, 'user:password: a basic Authorization header (replaces -H Authorization), redacted in every output'),
  f('content-type', 'string', '', C, LC, 'Content-Type of the body (switches to POST, as -H Content-Type does); wins over -H Content-Type'),
  f('payload-size', 'int', '0', C, LC, 'body of this many random bytes, at most 256 KiB (switches to POST); wins over -payload, loses to -payload-file'),
  f('payload', 'string', '', C, LC, 'request body (switches to POST when not empty); a body without -content-type is application/octet-stream'),
  f('payload-file', 'string', '', C, LC, 'request body from a file (switches to POST); wins over -payload-size and -payload'),
  f('stream', 'bool', 'false', C, NONE, 'meshload does not stream a body from stdin'),
  f('unix-socket', 'string', '', C, LC, 'connect over this unix domain socket instead of TCP (Host stays the URL\'s), with -grpc too; a missing socket is a counted connection error'),
  f('cert', 'string', '', C, LCS, 'load and curl: client certificate (PEM) presented to the server, with -key. server: the echo port speaks TLS (HTTP/1.1 and h2 by ALPN)'),
  f('key', 'string', '', C, LCS, 'private key (PEM) of -cert, for the client (load, curl) or the echo port (server)'),
  f('cacert', 'string', '', C, LCS, 'load and curl: CA bundle (PEM) that verifies the server instead of the system CAs. server: with -mtls, the CA client certificates must chain to'),
  f('mtls', 'bool', 'false', C, S, 'server: require a client certificate signed by -cacert (load and curl send -cert whenever it is given)'),
  f('log-errors', 'bool', 'true', C, LC, 'log each non-2xx/418 code as it comes (Warning "Non ok http code", in Fortio\'s JSON or console form); load: after 100 lines, only a count'),
  f('runid', 'int', '0', C, L, 'RunID in the JSON, and in its ID and the -a file name when not 0'),
  f('sequential-warmup', 'bool', 'false', C, L, 'warm connections up one after another, stopping at the first failure'),
  f('curl-stdout-headers', 'bool', 'false', C, NONE, 'curl headers always go to stderr'),
  f('connection-reuse', 'string', '', C, L, 'reconnect after a random number of requests in [min, max]'),
  f('no-reresolve', 'bool', 'false', C, NONE, 'the system resolver decides on each new connection'),
  f('X', 'string', '', C, LC, 'HTTP method', 'method'),
  f('H', 'string', '', C, LC, 'request header, repeatable', 'header'),
  f('httpbufferkb', 'int', '128', C, NONE, 'meshload reads whole responses, with no fixed buffer'),
  f('httpccch', 'bool', 'false', C, NONE, 'meshload always honours Connection: close'),
  f('resolve-ip-type', 'string', 'ip4', C, NONE, 'the system resolver picks the address family'),
  f('dns-method', 'string', 'cached-rr', C, NONE, 'the system resolver picks the address'),
  f('echo-server-default-params', 'string', '', C, S, 'echo parameters for requests that have none'),
  f('proxy-all-headers', 'bool', 'true', C, NONE, 'meshload has no fetch/proxy mode'),
  f('server-idle-timeout', 'duration', '30s', C, NONE, "not implemented: Node's keep-alive timeout applies"),
  f('max-echo-delay', 'duration', '1.5s', C, S, 'cap on delay= (larger values are clamped)'),
  // cli/fortio_main.go: the fortio binary's own flags.
  f('qps', 'float', '8', M, L, 'total queries per second; 0 or less for max speed'),
  f('c', 'int', '4', M, L, 'connections, each with one request in flight'),
  f('t', 'duration', '5s', M, L, 'how long to run; 0 until interrupted; d (days) and w (weeks) as in fortio.org/duration', 'duration'),
  f('p', 'string', '50,75,90,99,99.9', M, L, 'percentiles to report'),
  f('r', 'float', '0.001', M, L, "bucket width, in seconds, of the Fortio-shaped latency and connection time histograms (text and -json); 0 or less is 0.001, as in Fortio. meshload's own percentiles (HDR, 3 digits) do not depend on it", 'resolution'),
  f('offset', 'duration', '0s', M, L, 'where those latency and connection time buckets start: values at or below it share the first bucket (JSON Offset, in ns)'),
  f('gomaxprocs', 'int', '0', M, NONE, 'a Go runtime setting; meshload scales with -workers'),
  f('profile', 'string', '', M, NONE, "a Go profiler; use node's --cpu-prof"),
  f('grpc', 'bool', 'false', M, LC, 'gRPC (load: many calls, curl: one): grpc.health.v1 Check, or fgrpc Ping with -ping; host:port, http:// (h2c) or https:// (TLS) destination'),
  f('grpc-compression', 'bool', 'false', M, LC, 'with -grpc: gzip the request messages (grpc-encoding: gzip)'),
  f('http-port', 'string', '8080', M, S, 'echo port; 0 picks a free one'),
  f('tcp-port', 'string', '8078', M, S, 'TCP echo server ([host:]port, 0 for a free one); off unless given, "disabled" accepted'),
  f('udp-port', 'string', '8078', M, NONE, 'meshload has no UDP echo server'),
  f('udp-async', 'bool', 'false', M, NONE, 'meshload has no UDP echo server'),
  f('grpc-port', 'string', '8079', M, S, 'gRPC server: fgrpc.PingServer, grpc.health.v1, reflection, chaos; off unless given (8079 is the admin port), "disabled" accepted'),
  f('echo-debug-path', 'string', '/debug', M, S, 'where the /debug request dump and its echo path (PATH/echo/) answer; "" turns both off'),
  f('json', 'string', '', M, L, 'write the result as Fortio-shaped JSON; - for stdout'),
  f('ui-path', 'string', '/fortio/', M, NONE, 'meshload has no web UI'),
  f('curl', 'bool', 'false', M, L, 'one request, as meshload curl'),
  f('labels', 'string', '', M, L, 'free text describing the run'),
  f('static-dir', 'string', '', M, NONE, 'deprecated and unused in Fortio too'),
  f('data-dir', 'string', '.', M, L, 'directory for -a'),
  f('allow-initial-errors', 'bool', 'false', M, L, 'run even when a warm-up request fails'),
  f('abort-on', 'int', '0', M, L, 'stop at the first response with this status; -1 for socket errors'),
  f('a', 'bool', 'false', M, L, "save the JSON in -data-dir under Fortio's file naming", 'save'),
  f('redirect-port', 'string', '8081', M, S, '303 redirect of every request to https://Host + path; off unless given, "disabled" accepted'),
  f('n', 'int', '0', M, L, 'exact number of calls (overrides -t)', 'requests'),
  f('sync', 'string', '', M, NONE, 'meshload has no result store to sync'),
  f('sync-interval', 'duration', '0s', M, NONE, 'meshload has no result store to sync'),
  f('base-url', 'string', '', M, NONE, 'meshload has no result store'),
  f('maxpayloadsizekb', 'int', '256', M, S, 'cap on size=, in KiB'),
  f('health', 'bool', 'false', M, NONE, "Fortio's grpcping client mode; meshload has no grpcping: use curl -grpc"),
  f('ping', 'bool', 'false', M, LC, 'with -grpc: call fgrpc.PingServer/Ping instead of the health check'),
  f('healthservice', 'string', '', M, LCS, 'load and curl: the service the health check asks about. server: the service reported SERVING (default ping; name_down NOT_SERVING)'),
  f('grpc-ping-delay', 'duration', '0s', M, LC, 'with -ping: the delay each Ping asks the server for'),
  f('s', 'int', '1', M, L, 'with -grpc: calls in flight per HTTP/2 connection (-c*s calls at once)'),
  f('grpc-method', 'string', '', M, LC, 'with -grpc: unary Service/Method with -payload as JSON, through server reflection (v1, v1alpha) or --proto FILE'),
  f('grpc-max-streams', 'int', '0', M, NONE, 'meshload server -grpc-port allows 1000 streams per connection'),
  f('jitter', 'bool', 'false', M, L, '+/-10% noise on each pause'),
  f('uniform', 'bool', 'false', M, L, 'stagger connection start times'),
  f('nocatchup', 'bool', 'false', M, L, 'skip late slots instead of bursting'),
  f('nc-dont-stop-on-eof', 'bool', 'false', M, NONE, 'meshload has no nc mode'),
  f('multi-mirror-origin', 'bool', 'true', M, NONE, 'meshload has no multi-proxy (-M)'),
  f('multi-serial-mode', 'bool', 'false', M, NONE, 'meshload has no multi-proxy (-M)'),
  f('udp-timeout', 'duration', '750ms', M, NONE, 'meshload has no UDP load'),
  f('access-log-file', 'string', '', M, L, "append one line per call in Fortio's json or influx form; lines the disk cannot take are dropped and counted; not with -workers"),
  f('access-log-format', 'string', 'json', M, L, 'json|influx'),
  f('calc-qps', 'bool', 'false', M, L, '-qps = -n / -t: n calls spread over t; needs both'),
  f('pprof', 'bool', 'false', M, NONE, 'meshload has no web UI'),
  f('P', 'string', '', M, NONE, 'meshload has no TCP proxy'),
  f('M', 'string', '', M, NONE, 'meshload has no multi-proxy'),
  f('init', 'string', '', M, NONE, 'meshload has no script mode'),
  // fortio.org/cli and fortio.org/scli: logging and dynamic-flag plumbing.
  f('quiet', 'bool', 'false', 'fortio.org/cli', LC, 'no start lines, progress, notes or Info/Warning log lines (load); only headers, body and the "Error status" line (curl)'),
  f('loglevel', 'string', 'Info', 'fortio.org/cli', ['load', 'curl', 'server'], 'Debug|Verbose|Info|Warning|Error|Critical|Fatal'),
  f('logger-force-color', 'bool', 'false', 'fortio.org/cli', LC, 'log lines in colour text even when stderr is not a terminal (also LOGGER_FORCE_COLOR=true)'),
  f('logger-no-color', 'bool', 'false', 'fortio.org/cli', LC, 'load: JSON log lines even on a terminal (also NO_COLOR, LOGGER_CONSOLE_COLOR=false); curl on a terminal keeps colour, as Fortio\'s SetDefaultsForClientTools resets it'),
  f('logger-json', 'bool', 'true', 'fortio.org/scli', LC, '=false: text log lines, which Fortio 1.75 re-logs through its standard-logger interception as JSON at warn with "src":"std"; meshload writes them the same way (also LOGGER_JSON=false)'),
  f('logger-timestamp', 'bool', 'true', 'fortio.org/scli', LC, '=false: no "ts" in JSON log lines and no time in colour ones (also LOGGER_NO_TIMESTAMP=true)'),
  f('logger-file-line', 'bool', 'true', 'fortio.org/scli', NONE, "meshload's log lines never carry the caller's file and line: always Fortio's -logger-file-line=false form"),
  f('logger-goroutine', 'bool', 'true', 'fortio.org/scli', NONE, "meshload's log lines never carry a goroutine id: always Fortio's -logger-goroutine=false form"),
  f('config-dir', 'string', '', 'fortio.org/scli', NONE, 'meshload has no dynamic flags'),
  f('config-port', 'string', '', 'fortio.org/scli', NONE, 'meshload has no dynamic flags'),
];

const BY_NAME = new Map(FORTIO_FLAGS.map((flag) => [flag.name, flag]));

export function fortioFlag(name: string): FortioFlag | undefined {
  return BY_NAME.get(name);
}

/** The Info line for a Fortio flag a command accepts and ignores. */
export function noEffectLine(name: string, command: string): string {
  const flag = BY_NAME.get(name);
  const why = flag === undefined ? 'only meshload load uses it' : flag.usedBy.length > 0 && !flag.usedBy.includes(command as MeshloadCommand) ? `only meshload ${flag.usedBy.join(' and ')} ${flag.usedBy.length > 1 ? 'use' : 'uses'} it` : flag.meshload;
  return `meshload: -${name} has no effect here: ${why}`;
}

/** docs/fortio-flags.md, rendered from the table (a test keeps the file equal to this). */
export function renderFortioFlagsMarkdown(): string {
  const lines = [
    '# Fortio flags in meshload',
    '',
    'Every flag of Fortio (fortio/fortio at 45e1871, after v1.75.2), from `bincommon/commonflags.go`,',
    '`cli/fortio_main.go`, and the `fortio.org/cli` / `fortio.org/scli` packages they use. `load`, `curl`',
    'and `server` accept every one of them with Fortio\'s syntax (`-flag`, `-flag=value`, `-flag value`).',
    'Where a command does not act on a flag it says so once at Info on stderr',
    '(`meshload: -stdclient has no effect here: ...`), silent under `-quiet` or `-loglevel Warning`.',
    '',
    'Generated from src/cli/fortio-flags.ts; test/cli/fortio-flags.test.ts keeps the two equal.',
    '',
    '| Flag | Type | Fortio default | Defined in | meshload uses it in | What meshload does |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const flag of FORTIO_FLAGS) {
    const used = flag.usedBy.length === 0 ? '(accepted, no effect)' : flag.usedBy.join(', ');
    const dflt = flag.default === '' ? '""' : `\`${flag.default}\``;
    lines.push(`| \`-${flag.name}\` | ${flag.type} | ${dflt} | ${flag.source} | ${used} | ${flag.meshload.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n') + '\n';
}

/** Says once per flag, at Info, which accepted Fortio flags do nothing in this command. */
/** The Info line for a Fortio gRPC flag given without -grpc. */
export function grpcOnlyLine(name: string): string {
  return `meshload: -${name} has no effect here: only with -grpc (Fortio's HTTP load ignores it too)`;
}

export function sayNoEffect(names: readonly string[], command: string, silent: boolean, write: (line: string) => void): void {
  if (silent) return;
  for (const name of new Set(names)) write(`${noEffectLine(name, command)}\n`);
}

const DAY_PART = /(\d+(?:\.\d*)?|\.\d+)([dw])/g;

/** Fortio's -t (fortio.org/duration): Go's durations plus d (24h) and w (7d), as in `1d2h`. */
export function parseRunDuration(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  let extraMs = 0;
  const rest = text.trim().replace(DAY_PART, (_, n: string, unit: string) => {
    extraMs += Number(n) * (unit === 'd' ? 86_400_000 : 604_800_000);
    return '';
  });
  if (rest === '' || rest === '+') return extraMs;
  if (rest === '-') return -extraMs;
  const goPart = parseDuration(rest);
  if (goPart === undefined) return undefined;
  return goPart < 0 || rest.startsWith('-') ? goPart - extraMs : goPart + extraMs;
}
