import { callLogger, FortioLog, formatFortioLine } from '../../src/cli/fortio-log';
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
