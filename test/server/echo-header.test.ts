/** What header= and the other echo parameters can put into a response: never anything Node's
 * own header checks refuse (which would fail the response while it is written). */
import http from 'node:http';
import fc from 'fast-check';
import { classifyFirstBytes } from '../../src/server/connection-router';
import { badHeaderName, badHeaderValue, printable } from '../../src/server/echo-header';
import { parseEchoParams, type EchoPlan } from '../../src/server/echo-params';
import { EchoParamError } from '../../src/server/weighted-list';

const LIMITS = { maxDelayMs: 1500, maxPayloadBytes: 1024 };
const FORBIDDEN = ['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'proxy-connection', 'content-encoding'];

/** Every header a response for `plan` may carry from the plan: header= pairs and clamp notes. */
function headersOf(plan: EchoPlan): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < plan.headers.length; i += 2) out.push([plan.headers[i] as string, plan.headers[i + 1] as string]);
  for (const entry of [...(plan.delayMs?.values ?? []), ...(plan.sizeBytes?.values ?? [])]) {
    if (entry.clampNote !== undefined) out.push(['x-meshload-clamped', entry.clampNote]);
  }
  if (plan.ignored.length > 0) out.push(['x-meshload-ignored', plan.ignored.join(', ')]);
  return out;
}

function sendable(name: string, value: string): boolean {
  try {
    http.validateHeaderName(name);
    http.validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

describe('echo header rules', () => {
  it.each([
    ['X-Ok', undefined],
    ['x!#$%&\'*+.^_`|~09', undefined],
    ['Bad Name', /not a header name/],
    ['', /not a header name/],
    [':path', /not a header name/],
    ['X\u0001', /'X\\x01' is not a header name/],
    ...FORBIDDEN.map((n) => [n.toUpperCase(), /cannot be set/] as [string, RegExp]),
  ])('name %j', (name, expected) => {
    const why = badHeaderName(name);
    if (expected === undefined) expect(why).toBeUndefined();
    else expect(why).toMatch(expected);
  });

  it.each([
    ['plain value', undefined],
    ['tab\tinside', undefined],
    ['caf\u00e9', undefined],
    ['a\u0001b', /control byte 0x01/],
    ['a\u007fb', /control byte 0x7F/],
    ['a\rb', /a line break \(0x0D\)/],
    ['a\nb', /a line break \(0x0A\)/],
    ['nul\u0000', /control byte 0x00/],
    ['\u20ac', /character U\+20AC/],
  ])('value %j', (value, expected) => {
    const why = badHeaderValue('X', value);
    if (expected === undefined) expect(why).toBeUndefined();
    else expect(why).toMatch(expected);
  });

  it('shows control bytes and non-ASCII as escapes in messages', () => {
    expect(printable('a\r\n\u001b[31m\u20acb')).toBe('a\\x0d\\x0a\\x1b[31m\\u20acb');
    expect(new EchoParamError('header', 'x\ny').message).toBe('header: x\\x0ay');
  });

  it('accepts only what Node can send, for any header= text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), (name, value) => {
        let plan: EchoPlan;
        try {
          plan = parseEchoParams(`header=${encodeURIComponent(`${name}:${value}`)}`, LIMITS);
        } catch (error) {
          expect(error).toBeInstanceOf(EchoParamError);
          expect((error as Error).message).toMatch(/^header: [\x20-\x7e]*$/);
          return;
        }
        for (const [n, v] of headersOf(plan)) {
          expect(sendable(n, v)).toBe(true);
          expect(FORBIDDEN).not.toContain(n.toLowerCase());
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never puts an unsendable clamp note into a response, for any delay= or size=', () => {
    const entry = fc.oneof(fc.string({ unit: 'binary', maxLength: 16 }), fc.stringMatching(/^\s?\d{1,8}(\.\d)?(ns|us|µs|μs|ms|s|m|h)\s?$/));
    fc.assert(
      fc.property(entry, fc.constantFrom('delay', 'size'), (text, param) => {
        let plan: EchoPlan;
        try {
          plan = parseEchoParams(`${param}=${encodeURIComponent(text)}`, LIMITS);
        } catch (error) {
          expect(error).toBeInstanceOf(EchoParamError);
          return;
        }
        for (const [n, v] of headersOf(plan)) expect(sendable(n, v)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(headersOf(parseEchoParams('delay=2000000%CE%BCs', LIMITS))).toEqual([['x-meshload-clamped', 'delay=2000000\\u03bcs>1.5s']]);
    // Go's ParseDuration refuses the line break, so Fortio ignores the value: named, escaped.
    expect(headersOf(parseEchoParams('delay=%0A2000000%CE%BCs', LIMITS))).toEqual([['x-meshload-ignored', 'delay=\\x0a2000000\\u03bcs']]);
  });
});

describe('protocol sniffing', () => {
  const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
  it.each([
    ['', 'more'],
    ['P', 'more'],
    [preface.slice(0, 23), 'more'],
    [preface, 'h2'],
    [preface + '\u0000\u0000', 'h2'],
    ['POST / HTTP/1.1\r\n', 'http1'],
    ['PRI * HTTP/2.0\r\n\r\nXX', 'http1'],
    ['GET / HTTP/1.1\r\n', 'http1'],
    ['\u0016\u0003\u0001', 'http1'],
  ])('%j is %s', (bytes, expected) => {
    expect(classifyFirstBytes(Buffer.from(bytes, 'latin1'))).toBe(expected);
  });
});
