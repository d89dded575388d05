import { callLogger, FortioLog, formatFortioLine, logForm, type LogForm, type LoggerFlags } from '../../src/cli/fortio-log';
import type { ErrorKind, Outcome } from '../../src/model/outcome';
import { PLAIN } from '../../src/report/screen';
import { failure } from '../../src/transport/outcome';
import type { LogLevel } from '../../src/util/log-level';

const COLOUR = { color: true, verbose: false };
/** 2024-07-01T12:34:56.789012Z, with microseconds. */
const AT = Date.UTC(2024, 6, 1, 12, 34, 56, 789) + 0.012;

function answered(status: number): Outcome {
  return { ...failure('other', ''), status, errorKind: undefined, errorMessage: undefined, headerBytes: 100, bodyBytes: 10 };
}

function capture(level: LogLevel = 'Info', max?: number): { log: FortioLog; lines: string[] } {
  const lines: string[] = [];
  const log = new FortioLog({ level, screen: PLAIN, write: (text) => lines.push(text), now: () => AT, ...(max !== undefined ? { max } : {}) });
  return { log, lines };
}

describe('Fortio log lines (fortio.org/log s())', () => {
  it('writes JSON off a colour terminal: ts with microseconds, short level, msg, then the attributes in order', () => {
    expect(formatFortioLine('Warning', 'Non ok http code', [['code', 503], ['status', 'HTTP/1.1 503'], ['thread', 2], ['run', 0]], AT, PLAIN)).toBe(
      '{"ts":1719837296.789012,"level":"warn","msg":"Non ok http code","code":503,"status":"HTTP/1.1 503","thread":2,"run":0}\n',
    );
    expect(formatFortioLine('Error', 'Unable to connect', [['err', 'a "quoted"\nthing']], AT, PLAIN)).toBe(
      '{"ts":1719837296.789012,"level":"err","msg":"Unable to connect","err":"a \\"quoted\\"\\nthing"}\n',
    );
  });

  it('writes the console form on a colour terminal, colours through screen.ts', () => {
    const line = formatFortioLine('Warning', 'Non ok http code', [['code', 503], ['status', 'HTTP/1.1 503']], AT, COLOUR);
    // eslint-disable-next-line no-control-regex
    const plain = line.replace(/\x1b\[\d+m/g, '');
    expect(plain).toMatch(/^\d\d:\d\d:56\.789 \[WRN\]> Non ok http code, code=503, status="HTTP\/1\.1 503"\n$/);
    expect(line).toContain('\x1b[33m'); // yellow, Fortio's warning colour
  });

  it('prints the first lines, counts the rest and closes with one line saying so', () => {
    const { log, lines } = capture('Info', 3);
    expect(log.closingLine()).toBe('');
    for (let i = 0; i < 10; i++) log.log('Warning', 'Non ok http code', [['code', 503]]);
    expect(lines).toHaveLength(3);
    expect(log.suppressed).toBe(7);
    expect(log.closingLine()).toBe('meshload: 7 further log lines suppressed after the first 3 (Fortio prints every one)\n');
  });

  it('-logger-timestamp=false: no "ts" in JSON, no time in the console form (logger.go jsonTimestamp, colorTimestamp)', () => {
    const noTs: LogForm = { mode: 'json', timestamp: false };
    expect(formatFortioLine('Warning', 'Non ok http code', [['code', 503]], AT, PLAIN, '> ', noTs)).toBe('{"level":"warn","msg":"Non ok http code","code":503}\n');
    const colour = formatFortioLine('Warning', 'Non ok http code', [['code', 503]], AT, COLOUR, '> ', { mode: 'color', timestamp: false });
    // eslint-disable-next-line no-control-regex
    expect(colour.replace(/\x1b\[\d+m/g, '')).toBe('[WRN]> Non ok http code, code=503\n');
  });

  it("-logger-json=false: the text line, re-logged by scli's standard-logger interception as JSON at warn, src std", () => {
    // logger.go s(): log.Print("[W]", prefix, msg, ", code=503"); http_logging.go logWriter.Write:
    // s(w.level, false, true, strings.TrimSpace(text), Str("src", "std")).
    const text: LogForm = { mode: 'text', timestamp: true };
    expect(formatFortioLine('Warning', 'Non ok http code', [['code', 503], ['status', 'HTTP/1.1 503']], AT, PLAIN, '> ', text)).toBe(
      '{"ts":1719837296.789012,"level":"warn","msg":"[W]> Non ok http code, code=503, status=\\"HTTP/1.1 503\\"","src":"std"}\n',
    );
    expect(formatFortioLine('Error', 'Error status 503', [], AT, PLAIN, ' ', { mode: 'text', timestamp: false })).toBe('{"level":"warn","msg":"[E] Error status 503","src":"std"}\n');
    // Re-logged at Warning: under -loglevel Error even an Error line is dropped, as in Fortio.
    const lines: string[] = [];
    const quiet = new FortioLog({ level: 'Error', screen: PLAIN, form: text, write: (line) => lines.push(line), now: () => AT });
    quiet.log('Error', 'Unable to connect', []);
    expect(lines).toEqual([]);
  });

  it('drops lines below -loglevel without counting them as suppressed', () => {
    const { log, lines } = capture('Error');
    log.log('Warning', 'Non ok http code', []);
    log.log('Info', 'x', []);
    expect(lines).toEqual([]);
    expect(log.suppressed).toBe(0);
    log.log('Error', 'Unable to connect', []);
    expect(lines).toHaveLength(1);
  });
});

describe("load's per-call lines (fhttp/http_client.go)", () => {
  const options = { logErrors: true, runId: 42, url: 'http://user:secret@svc.local:8080/p?token=abc', method: 'GET', h2: false };

  it('logs each non-OK code at Warning with the status line start; 2xx and 418 are OK', () => {
    const { log, lines } = capture();
    const logger = callLogger(log, options);
    for (const status of [200, 204, 418, 503, 404]) logger.observe(answered(status), 1, 0, 0, 0);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      { ts: 1719837296.789012, level: 'warn', msg: 'Non ok http code', code: 503, status: 'HTTP/1.1 503', thread: 1, run: 42 },
      { ts: 1719837296.789012, level: 'warn', msg: 'Non ok http code', code: 404, status: 'HTTP/1.1 404', thread: 1, run: 42 },
    ]);
  });

  it("logs -h2 codes as Go's client does, without the status line", () => {
    const { log, lines } = capture();
    callLogger(log, { ...options, h2: true }).observe(answered(503), 0, 0, 0, 0);
    expect(JSON.parse(lines[0] as string)).toEqual({ ts: 1719837296.789012, level: 'warn', msg: 'Non ok http code', code: 503, thread: 0, run: 42 });
  });

  it('logs socket errors at Error with the message Fortio uses for each kind, the URL redacted', () => {
    const { log, lines } = capture();
    const logger = callLogger(log, options);
    const kinds: ErrorKind[] = ['refused', 'dns', 'tls', 'timeout', 'reset'];
    for (const kind of kinds) logger.observe(failure(kind, `boom ${kind}`), 3, 0, 0, 0);
    callLogger(log, { ...options, h2: true }).observe(failure('reset', 'boom'), 0, 0, 0, 0);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => [p.level, p.msg])).toEqual([
      ['err', 'Unable to connect'],
      ['err', 'Unable to resolve hostname'],
      ['err', 'Unable to TLS connect'],
      ['err', 'Timeout error (incomplete/invalid response)'],
      ['err', 'Read error'],
      ['err', 'Unable to send request'],
    ]);
    expect(parsed[0]).toMatchObject({ dest: 'svc.local:8080', err: 'boom refused', thread: 3, run: 42 });
    expect(parsed[1]).toMatchObject({ hostname: 'svc.local' });
    expect(parsed[5]).toMatchObject({ method: 'GET', err: 'boom' });
    expect(lines.join('')).not.toMatch(/secret|abc/);
  });

  it('shares one bound between codes and socket errors', () => {
    const { log, lines } = capture('Info', 3);
    const logger = callLogger(log, options);
    for (let i = 0; i < 5; i++) logger.observe(answered(503), 0, i, 0, 0);
    for (let i = 0; i < 5; i++) logger.observe(failure('reset', 'x'), 0, i, 0, 0);
    logger.observe(answered(200), 0, 0, 0, 0);
    expect(lines).toHaveLength(3);
    expect(log.suppressed).toBe(7);
  });

  it('logs the timed call that -abort-on stops the run on at Info, after its own line; not a warm-up', () => {
    const { log, lines } = capture();
    const logger = callLogger(log, { ...options, abortOn: 503 });
    logger.observe(answered(503), 0, -1, 0, 0);
    expect(lines).toHaveLength(1);
    logger.observe(answered(503), 1, 4, 0, 0);
    expect(lines.slice(1).map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      { ts: 1719837296.789012, level: 'warn', msg: 'Non ok http code', code: 503, status: 'HTTP/1.1 503', thread: 1, run: 42 },
      { ts: 1719837296.789012, level: 'info', msg: 'Aborted run because of http code', run: 42, code: 503, size: 110 },
    ]);
    const quiet = capture('Warning');
    callLogger(quiet.log, { ...options, abortOn: 200 }).observe(answered(200), 0, 0, 0, 0);
    expect(quiet.lines).toEqual([]);
  });

  it('-log-errors=false silences the codes but not the socket errors, as in Fortio', () => {
    const { log, lines } = capture();
    const logger = callLogger(log, { ...options, logErrors: false });
    logger.observe(answered(503), 0, 0, 0, 0);
    logger.observe(failure('refused', 'no'), 0, 0, 0, 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"msg":"Unable to connect"');
  });
});

describe('which form Fortio 1.75 logs in (fortio.org/log, cli v1.12.3, scli v1.19.0)', () => {
  const cases: Array<[string, { flags?: LoggerFlags; env?: Record<string, string>; tty: boolean; curl?: boolean }, LogForm['mode']]> = [
    ['load on a pipe: JSON', { tty: false }, 'json'],
    ['load on a terminal: colour', { tty: true }, 'color'],
    ['load on a terminal, NO_COLOR: JSON', { tty: true, env: { NO_COLOR: '1' } }, 'json'],
    ['load on a terminal, NO_COLOR empty: colour', { tty: true, env: { NO_COLOR: '' } }, 'color'],
    ['load on a terminal, -logger-no-color: JSON', { tty: true, flags: { loggerNoColor: true } }, 'json'],
    ['load on a terminal, LOGGER_CONSOLE_COLOR=false: JSON', { tty: true, env: { LOGGER_CONSOLE_COLOR: 'false' } }, 'json'],
    ['load on a pipe, -logger-force-color: colour', { tty: false, flags: { loggerForceColor: true } }, 'color'],
    ['load on a pipe, LOGGER_FORCE_COLOR=true: colour', { tty: false, env: { LOGGER_FORCE_COLOR: 'true' } }, 'color'],
    ['load on a pipe, LOGGER_FORCE_COLOR=maybe: not a Go bool, no setting', { tty: false, env: { LOGGER_FORCE_COLOR: 'maybe' } }, 'json'],
    ['load on a pipe, FORCE_COLOR (not Fortio\'s): JSON', { tty: false, env: { FORCE_COLOR: '1' } }, 'json'],
    ['load on a pipe, -logger-json=false: text', { tty: false, flags: { loggerJson: false } }, 'text'],
    ['load on a pipe, LOGGER_JSON=0: text', { tty: false, env: { LOGGER_JSON: '0' } }, 'text'],
    ['load on a terminal, -logger-no-color -logger-json=false: text', { tty: true, flags: { loggerNoColor: true, loggerJson: false } }, 'text'],
    ['curl on a pipe: JSON', { tty: false, curl: true }, 'json'],
    ['curl on a terminal: colour', { tty: true, curl: true }, 'color'],
    ['curl on a terminal, NO_COLOR: text (client tools drop JSON)', { tty: true, curl: true, env: { NO_COLOR: '1' } }, 'text'],
    // fortio_main.go calls SetDefaultsForClientTools after cli.Main: colour comes back.
    ['curl on a terminal, -logger-no-color: colour still', { tty: true, curl: true, flags: { loggerNoColor: true } }, 'color'],
    ['curl on a terminal, LOGGER_IGNORE_CLI_MODE=true, -logger-no-color: JSON', { tty: true, curl: true, env: { LOGGER_IGNORE_CLI_MODE: 'true' }, flags: { loggerNoColor: true } }, 'json'],
  ];
  it.each(cases)('%s', (_name, { flags = {}, env = {}, tty, curl = false }, mode) => {
    expect(logForm(flags, env, tty, curl).mode).toBe(mode);
  });

  it('timestamps unless -logger-timestamp=false or LOGGER_NO_TIMESTAMP=true', () => {
    expect(logForm({}, {}, false, false).timestamp).toBe(true);
    expect(logForm({ loggerTimestamp: false }, {}, false, false).timestamp).toBe(false);
    expect(logForm({}, { LOGGER_NO_TIMESTAMP: 'true' }, false, false).timestamp).toBe(false);
    expect(logForm({}, { LOGGER_NO_TIMESTAMP: 'nope' }, false, false).timestamp).toBe(true);
  });
});
