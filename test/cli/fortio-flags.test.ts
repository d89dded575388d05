/** Fortio's flag table: the docs say what the table says, and load, curl and server accept
 * every flag in it in each of Fortio's syntaxes, without exit 2. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { FORTIO_FLAGS, noEffectLine, parseRunDuration, renderFortioFlagsMarkdown, type FortioFlag } from '../../src/cli/fortio-flags';
import { FORTIO_UNUSED, normalizeGoFlags } from '../../src/cli/go-flags';
import { buildProgram, runCli } from '../../src/cli/main';
import { MeshloadError } from '../../src/util/errors';
import { testIo } from '../helpers/cli';

/** Every flag `fortio help` lists (Fortio 1.75.2's usage, as its README carries it): what the
 * binary defines, fortio.org/cli's and scli's logger flags included. */
const FORTIO_USAGE_NAMES = readFileSync(join(__dirname, '..', 'fixtures', 'fortio', 'usage-1.75.2.txt'), 'utf8')
  .split('\n')
  .flatMap((line) => /^ {2}-([A-Za-z0-9.-]+)/.exec(line)?.[1] ?? []);

/** Names read from fortio/fortio's bincommon/commonflags.go and cli/fortio_main.go (flag.X,
 * dflag.Flag, flag.Func) plus fortio.org/cli and scli: the table must hold exactly these. */
const FORTIO_SOURCE_NAMES = [
  'compression', 'keepalive', 'halfclose', 'timeout', 'stdclient', 'http1.0', 'h2', 'k', 'https-insecure', 'resolve', 'L', 'user',
  'content-type', 'payload-size', 'payload', 'payload-file', 'stream', 'unix-socket', 'cert', 'key', 'cacert', 'mtls', 'log-errors',
  'runid', 'sequential-warmup', 'curl-stdout-headers', 'connection-reuse', 'no-reresolve', 'X', 'H', 'httpbufferkb', 'httpccch',
  'resolve-ip-type', 'dns-method', 'echo-server-default-params', 'proxy-all-headers', 'server-idle-timeout', 'max-echo-delay',
  'qps', 'c', 't', 'p', 'r', 'offset', 'gomaxprocs', 'profile', 'grpc', 'grpc-compression', 'http-port', 'tcp-port', 'udp-port',
  'udp-async', 'grpc-port', 'echo-debug-path', 'json', 'ui-path', 'curl', 'labels', 'static-dir', 'data-dir', 'allow-initial-errors',
  'abort-on', 'a', 'redirect-port', 'n', 'sync', 'sync-interval', 'base-url', 'maxpayloadsizekb', 'health', 'ping', 'healthservice',
  'grpc-ping-delay', 's', 'grpc-method', 'grpc-max-streams', 'jitter', 'uniform', 'nocatchup', 'nc-dont-stop-on-eof',
  'multi-mirror-origin', 'multi-serial-mode', 'udp-timeout', 'access-log-file', 'access-log-format', 'calc-qps', 'pprof', 'P', 'M',
  'init', 'quiet', 'loglevel', 'config-dir', 'config-port', 'logger-force-color', 'logger-no-color', 'logger-json', 'logger-timestamp',
  'logger-file-line', 'logger-goroutine',
];

/** A value Fortio itself would accept for this flag; the server's Fortio-only ports take only "disabled". */
function sample(flag: FortioFlag): string {
  if (flag.name.endsWith('-port')) return flag.name === 'http-port' ? '0' : 'disabled';
  if (flag.name === 'loglevel') return 'Warning';
  if (flag.name === 'H') return 'X-A: b';
  if (flag.name === 'connection-reuse') return '1:5';
  if (flag.name === 'echo-server-default-params') return 'status=200';
  if (flag.name === 'abort-on') return '503';
  switch (flag.type) {
    case 'bool': return 'true';
    case 'int': return '1';
    case 'float': return '0.001';
    case 'duration': return '1s';
    default: return 'x';
  }
}

function commandOf(name: string): Command {
  const command = buildProgram({ io: testIo().io, exitCode: 0 }).commands.find((c) => c.name() === name);
  if (command === undefined) throw new Error(`no command ${name}`);
  return command;
}

describe("Fortio's flag table", () => {
  it('holds exactly the flags of Fortio\'s source, once each', () => {
    const names = FORTIO_FLAGS.map((flag) => flag.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...FORTIO_SOURCE_NAMES].sort());
  });

  it('holds exactly the flags `fortio help` lists', () => {
    expect(FORTIO_USAGE_NAMES).toHaveLength(100);
    expect(FORTIO_FLAGS.map((flag) => flag.name).sort()).toEqual([...FORTIO_USAGE_NAMES].sort());
  });

  it("has the defaults `fortio help` prints (Go's flag package prints none for a zero value)", () => {
    const usage = readFileSync(join(__dirname, '..', 'fixtures', 'fortio', 'usage-1.75.2.txt'), 'utf8');
    for (const block of usage.split(/\n(?= {2}-)/).filter((b) => b.startsWith('  -'))) {
      const name = (/^ {2}-([A-Za-z0-9.-]+)/.exec(block) as RegExpExecArray)[1];
      const printed = /\(default (.*)\)\s*$/s.exec(block.replace(/\n/g, ' '))?.[1];
      const ours = (FORTIO_FLAGS.find((flag) => flag.name === name) as FortioFlag).default.replace(/^["`]|["`]$/g, '');
      if (printed === undefined) expect({ name, ours }).toEqual({ name, ours: expect.stringMatching(/^(false|0|0s|)$/) });
      else expect({ name, ours }).toEqual({ name, ours: printed.replace(/^"|"$/g, '') });
    }
  });

  it('is what docs/fortio-flags.md says (regenerate with renderFortioFlagsMarkdown)', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'fortio-flags.md'), 'utf8');
    expect(doc).toBe(renderFortioFlagsMarkdown());
    for (const flag of FORTIO_FLAGS) expect(doc).toContain(`| \`-${flag.name}\` |`);
  });

  describe.each(['load', 'curl', 'server'])('meshload %s', (name) => {
    it.each(FORTIO_FLAGS.map((flag) => [flag.name, flag] as const))('accepts -%s in every Go form', (_flag, flag) => {
      const command = commandOf(name);
      const value = sample(flag);
      const forms = flag.type === 'bool' ? [[`-${flag.name}`], [`-${flag.name}=${value}`], [`--${flag.name}`]] : [[`-${flag.name}`, value], [`-${flag.name}=${value}`], [`--${flag.name}`, value]];
      for (const form of forms) {
        const out = normalizeGoFlags([...form, 'http://127.0.0.1:1/'], command);
        expect(out[out.length - 1]).toBe('http://127.0.0.1:1/');
      }
    });
  });

  it("accepts meshload's own load flags on curl and server, without effect", () => {
    for (const name of ['curl', 'server']) {
      const out = normalizeGoFlags(['-workers', '2', '-open', '-max-inflight=4', '-keepalive=false', 'u'], commandOf(name));
      expect(out.filter((token) => token !== `--${FORTIO_UNUSED}`)).toEqual(['workers', 'open', 'max-inflight', 'keepalive', 'u']);
    }
    expect(noEffectLine('workers', 'curl')).toBe('meshload: -workers has no effect here: only meshload load uses it');
  });

  it('refuses a malformed value for a flag it ignores, as Fortio does', () => {
    const load = commandOf('load');
    expect(() => normalizeGoFlags(['-r', 'abc', 'u'], commandOf('curl'))).toThrow(MeshloadError);
    expect(() => normalizeGoFlags(['-httpbufferkb=lots', 'u'], load)).toThrow(/takes a whole number, not 'lots'/);
    expect(() => normalizeGoFlags(['-stdclient=maybe', 'u'], load)).toThrow(/takes true or false/);
    expect(() => normalizeGoFlags(['-bogus', 'u'], load)).toThrow(/unknown flag '-bogus'/);
  });

  it('passes an ignored flag on to the command, and names it in one line', () => {
    expect(normalizeGoFlags(['-stdclient', '-gomaxprocs=2', 'u'], commandOf('load'))).toEqual([`--${FORTIO_UNUSED}`, 'stdclient', `--${FORTIO_UNUSED}`, 'gomaxprocs', 'u']);
    // -r and -offset act on load's Fortio histograms, so load takes them as its own options.
    expect(normalizeGoFlags(['-r=0.0001', '-offset', '-2ms', 'u'], commandOf('load'))).toEqual(['-r', '0.0001', '--offset', '-2ms', 'u']);
    expect(noEffectLine('stdclient', 'load')).toMatch(/^meshload: -stdclient has no effect here: /);
    expect(noEffectLine('c', 'curl')).toBe('meshload: -c has no effect here: only meshload load uses it');
  });

  it.each([
    ['5s', 5000],
    ['1d', 86_400_000],
    ['1d2h', 93_600_000],
    ['1w', 604_800_000],
    ['1.5h', 5_400_000],
    ['0', 0],
  ])('-t %s is %d ms (Go durations plus fortio.org/duration\'s d and w)', (text, ms) => {
    expect(parseRunDuration(text)).toBe(ms);
  });

  it.each(['', '1x', 'd', '5'])('-t %j is not a duration', (text) => {
    expect(parseRunDuration(text)).toBeUndefined();
  });
});

describe('meshload server with Fortio client flags', () => {
  it.each([
    [[] as string[], true],
    [['-quiet'], false],
    [['-loglevel', 'Warning'], false],
  ])('runs with -c 3 -stdclient %p, naming them once at Info (%p)', async (extra, says) => {
    const controller = new AbortController();
    const { io, stderr } = testIo(controller.signal);
    const exit = runCli(['server', '-http-port', '127.0.0.1:0', '-admin-port', 'disabled', '-c', '3', '-stdclient', ...extra], io);
    await stderr.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
    controller.abort();
    expect(await exit).toBe(0);
    expect(/^meshload: -stdclient has no effect here: /m.test(stderr.text)).toBe(says);
    expect(/^meshload: -c has no effect here: only meshload load uses it$/m.test(stderr.text)).toBe(says);
  });
});
