/** Properties of the HTTP/1.1 response parser over generated input (fast-check): however the
 * bytes are split, the parse is the same; valid responses parse to what was generated; random
 * or mutated bytes never throw and always end in responses or one bounded protocol error. */
import fc from 'fast-check';
import { BODY_PREFIX_BYTES, type ParsedResponse } from '../../src/transport/http1-response-parser';
import { parseAll, type Parsed } from '../helpers/parse-all';


/** Cuts `bytes` at the given points (any order, repeats and out-of-range points allowed). */
function split(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const splitPoints = fc.array(fc.nat({ max: 5000 }), { maxLength: 12 });

function textOf(chars: string, minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom(...chars), { minLength, maxLength }).map((a) => a.join(''));
}

const TOKEN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&\'*+.^_`|~';
const VALUE = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,;:/="()\t';
// Framing and reuse headers are generated on purpose below, not at random.
const RESERVED = /^(content-length|transfer-encoding|connection|server|x-version|x-envoy-.*)$/i;

const header = fc.tuple(textOf(TOKEN, 1, 20), textOf(VALUE, 0, 40)).filter(([name]) => !RESERVED.test(name));

interface Generated {
  bytes: Buffer;
  /** What the parse must give, response by response. */
  expected: Array<Pick<ParsedResponse, 'status' | 'headerBytes' | 'bodyBytes' | 'shouldClose' | 'bodyPrefix' | 'version' | 'viaEnvoy'>>;
}

const framing = fc.constantFrom('length', 'chunked', 'close');

/** One final response, after 0-2 interim ones; `close`-framed ones end the connection. */
const oneResponse = fc
  .record({
    interim: fc.array(fc.constantFrom(100, 102, 103), { maxLength: 2 }),
    status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
    reason: textOf('abcdefghij OK', 0, 12),
    headers: fc.array(header, { maxLength: 5 }),
    envoy: fc.boolean(),
    version: fc.option(textOf('v0123456789', 1, 8), { nil: undefined }),
    framing,
    body: fc.uint8Array({ maxLength: 400 }),
    chunkSizes: fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 6 }),
    chunkExtension: fc.boolean(),
    trailers: fc.array(header, { maxLength: 2 }),
    lfOnly: fc.boolean(),
  })
  .map((r) => {
    const eol = r.lfOnly ? '\n' : '\r\n';
    let interim = '';
    for (const status of r.interim) interim += `HTTP/1.1 ${status} Interim${eol}${eol}`;
    let head = `HTTP/1.1 ${r.status}${r.reason === '' ? '' : ` ${r.reason}`}${eol}`;
    for (const [name, value] of r.headers) head += `${name}: ${value}${eol}`;
    if (r.envoy) head += `server: envoy${eol}`;
    if (r.version !== undefined) head += `x-version: ${r.version}${eol}`;
    let body: Buffer;
    if (r.framing === 'length') {
      head += `Content-Length: ${r.body.length}${eol}`;
      body = Buffer.from(r.body);
    } else if (r.framing === 'chunked') {
      head += `Transfer-Encoding: chunked${eol}`;
      const parts: Buffer[] = [];
      let at = 0;
      for (let i = 0; at < r.body.length; i++) {
        const size = Math.min(r.chunkSizes[i % r.chunkSizes.length] as number, r.body.length - at);
        parts.push(Buffer.from(`${size.toString(16)}${r.chunkExtension ? ';ext="1"' : ''}${eol}`), Buffer.from(r.body.subarray(at, at + size)), Buffer.from(eol));
        at += size;
      }
      let trailer = '';
      for (const [name, value] of r.trailers) trailer += `${name}: ${value}${eol}`;
      parts.push(Buffer.from(`0${eol}${trailer}${eol}`));
      body = Buffer.concat(parts);
    } else {
      body = Buffer.from(r.body);
    }
    head += eol;
    const version = r.version?.trim();
    return {
      bytes: Buffer.concat([Buffer.from(interim + head, 'latin1'), body]),
      close: r.framing === 'close',
      expected: {
        status: r.status,
        headerBytes: head.length,
        bodyBytes: r.body.length,
        shouldClose: r.framing === 'close',
        bodyPrefix: r.status >= 400 ? Buffer.from(r.body.subarray(0, BODY_PREFIX_BYTES)).toString('latin1') : undefined,
        version: version === '' ? undefined : version,
        viaEnvoy: r.envoy,
      },
    };
  });

/** 1-4 responses on one connection; a close-delimited one is always the last. */
const connectionBytes: fc.Arbitrary<Generated> = fc.array(oneResponse, { minLength: 1, maxLength: 4 }).map((responses) => {
  const last = responses.findIndex((r) => r.close);
  const kept = last < 0 ? responses : responses.slice(0, last + 1);
  return { bytes: Buffer.concat(kept.map((r) => r.bytes)), expected: kept.map((r) => r.expected) };
});

/** Byte-level damage: set, insert or delete at random positions. */
const mutation = fc.record({ at: fc.nat(), op: fc.constantFrom('set', 'insert', 'delete'), byte: fc.integer({ min: 0, max: 255 }) });

function mutate(bytes: Buffer, mutations: Array<{ at: number; op: string; byte: number }>): Buffer {
  const out = [...bytes];
  for (const { at, op, byte } of mutations) {
    const i = at % (out.length + 1);
    if (op === 'insert') out.splice(i, 0, byte);
    else if (i < out.length) {
      if (op === 'set') out[i] = byte;
      else out.splice(i, 1);
    }
  }
  return Buffer.from(out);
}

/** The property every input must meet: no throw (parseAll would), a result for any byte
 * consumed, and an error (if any) that is last, one line, bounded and free of control bytes. */
function expectWellEnded(input: Uint8Array, parsed: Parsed[]): void {
  if (input.length > 0) expect(parsed.length).toBeGreaterThan(0);
  parsed.forEach((p, i) => {
    if ('error' in p) {
      expect(i).toBe(parsed.length - 1);
      expect(p.error.length).toBeLessThanOrEqual(200);
      // eslint-disable-next-line no-control-regex
      expect(p.error).not.toMatch(/[\x00-\x1f\x7f-\xff]/);
    } else {
      expect(p.status).toBeGreaterThanOrEqual(200);
      expect(p.bodyBytes).toBeGreaterThanOrEqual(0);
    }
  });
}

const RUNS = { numRuns: 300 };

describe('Http1ResponseParser properties', () => {
  it('parses generated responses to what was generated', () => {
    fc.assert(
      fc.property(connectionBytes, ({ bytes, expected }) => {
        const parsed = parseAll([bytes]);
        expect(parsed).toEqual(expected.map((e) => expect.objectContaining(e) as unknown));
      }),
      RUNS,
    );
  });

  it('gives the same parse however valid responses are split', () => {
    fc.assert(
      fc.property(connectionBytes, splitPoints, ({ bytes }, points) => {
        expect(parseAll(split(bytes, points))).toEqual(parseAll([bytes]));
      }),
      RUNS,
    );
  });

  it('gives the same parse byte by byte', () => {
    fc.assert(
      fc.property(connectionBytes, ({ bytes }) => {
        expect(parseAll(split(bytes, Array.from({ length: bytes.length }, (_, i) => i)))).toEqual(parseAll([bytes]));
      }),
      { numRuns: 50 },
    );
  });

  it('never throws on random bytes, however split, and ends in responses or one protocol error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), splitPoints, fc.boolean(), (bytes, points, head) => {
        const whole = parseAll([bytes], head);
        expectWellEnded(bytes, whole);
        expect(parseAll(split(bytes, points), head)).toEqual(whole);
      }),
      RUNS,
    );
  });

  it('never throws on random text that looks like HTTP', () => {
    const piece = fc.constantFrom('HTTP/1.1 ', 'HTTP/1.0 ', '200', '100', ' OK', '\r\n', '\n', ': ', 'Content-Length', 'Transfer-Encoding', 'chunked', '0', '5', 'ff', ';', 'hello', '\r\n\r\n');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), splitPoints, (pieces, points) => {
        const bytes = Buffer.from(pieces.join(''), 'latin1');
        const whole = parseAll([bytes]);
        expectWellEnded(bytes, whole);
        expect(parseAll(split(bytes, points))).toEqual(whole);
      }),
      RUNS,
    );
  });

  it('never throws on mutated valid responses, however split, and ends in responses or one protocol error', () => {
    fc.assert(
      fc.property(connectionBytes, fc.array(mutation, { minLength: 1, maxLength: 4 }), splitPoints, ({ bytes }, mutations, points) => {
        const damaged = mutate(bytes, mutations);
        const whole = parseAll([damaged]);
        expectWellEnded(damaged, whole);
        expect(parseAll(split(damaged, points))).toEqual(whole);
      }),
      RUNS,
    );
  });
});
