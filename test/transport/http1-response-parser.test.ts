import { Http1ResponseParser, MAX_HEADER_BYTES, type ParsedResponse } from '../../src/transport/http1-response-parser';
import { parseAll, type Parsed } from '../helpers/parse-all';


function byteByByte(input: Buffer): Buffer[] {
  return Array.from({ length: input.length }, (_, i) => input.subarray(i, i + 1));
}

const OVERFLOW_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: overflow';

/** headerBytes -1: the size of the input's last header section (see headBytes). */
function response(overrides: Partial<ParsedResponse> & { status: number }): ParsedResponse {
  return { headerBytes: -1, bodyBytes: 0, shouldClose: false, viaEnvoy: false, envoyOverloaded: false, bodyPrefix: undefined, version: undefined, attempt: 0, ...overrides };
}

/** Bytes of the last header section in `input` (the final response after any 1xx), counted
 * independently of the parser: from the last status line to its first empty line. */
function headBytes(input: string): number {
  const start = input.lastIndexOf('HTTP/1.');
  const crlf = input.indexOf('\r\n\r\n', start);
  const lf = input.indexOf('\n\n', start);
  return crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 - start : lf + 2 - start;
}

interface Sample {
  name: string;
  input: string;
  head?: boolean;
  expected: Parsed[];
}

const CL_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n';
const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Envoy-Upstream-Service-Time: 3\r\n\r\n';
const CHUNKED_BODY = 'A;name=value\r\n0123456789\r\n1a ; ext="q" \r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: yes\r\nOther: 1\r\n\r\n';
const ENVOY_503_HEAD =
  'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 81\r\ncontent-type: text/plain\r\nx-envoy-overloaded: true\r\n' +
  'date: Tue, 25 Nov 2025 10:00:00 GMT\r\nserver: envoy\r\n\r\n';
const PIPE_1 = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n';
const PIPE_2 = 'HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\n';
const LONG_500_HEAD = 'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 300\r\n\r\n';
const TAGGED_HEAD = 'HTTP/1.1 200 OK\r\nx-version: v1\r\nx-envoy-attempt-count: 2\r\nContent-Length: 1\r\n\r\n';
/** Keep-alive responses whose attempt count is unusable, then one with the largest usable one. */
const BAD_ATTEMPTS = ['2x', '1234567', '-1', '', '1 2', '+1', '0x1', '999999'].map(
  (value, i, all) => `HTTP/1.1 200 OK\r\nx-envoy-attempt-count: ${value}\r\n${i === all.length - 1 ? 'Connection: close\r\n' : ''}Content-Length: 0\r\n\r\n`,
);

const samples: Sample[] = [
  {
    name: 'content-length',
    input: CL_HEAD + 'hello',
    expected: [response({ status: 200, headerBytes: CL_HEAD.length, bodyBytes: 5 })],
  },
  {
    name: 'chunked with extensions, uppercase hex and trailers',
    input: CHUNKED_HEAD + CHUNKED_BODY,
    expected: [response({ status: 200, headerBytes: CHUNKED_HEAD.length, bodyBytes: 36, viaEnvoy: true })],
  },
  {
    name: 'chunked, last of several codings, with a 4xx body prefix',
    input: 'HTTP/1.1 429 Too Many\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
    expected: [response({ status: 429, bodyBytes: 5, bodyPrefix: 'abcde' })],
  },
  {
    name: 'close-delimited (HTTP/1.1 without length)',
    input: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end',
    expected: [response({ status: 200, bodyBytes: 13, shouldClose: true })],
  },
  {
    name: 'close-delimited HTTP/1.0',
    input: 'HTTP/1.0 502 Bad Gateway\r\nServer: Envoy\r\n\r\nno upstream',
    expected: [response({ status: 502, bodyBytes: 11, shouldClose: true, viaEnvoy: true, bodyPrefix: 'no upstream' })],
  },
  {
    name: 'HTTP/1.0 with keep-alive and a length keeps the connection',
    input: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok',
    expected: [response({ status: 200, bodyBytes: 2 })],
  },
  {
    name: 'HTTP/1.0 without keep-alive closes after a length-delimited body',
    input: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
    expected: [response({ status: 200, bodyBytes: 2, shouldClose: true })],
  },
  {
    name: 'Connection: close among other tokens',
    input: 'HTTP/1.1 200 OK\r\nconnection: upgrade ,  CLOSE\r\ncontent-length: 0\r\n\r\n',
    expected: [response({ status: 200, shouldClose: true })],
  },
  {
    name: '100 Continue then 200',
    input: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    expected: [response({ status: 200, bodyBytes: 2 })],
  },
  {
    name: '103 Early Hints with headers, then 200',
    input: 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nServer: envoy\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    expected: [response({ status: 200 })],
  },
  {
    name: '204 has no body whatever its headers say',
    input: 'HTTP/1.1 204 No Content\r\nServer: envoy\r\n\r\n',
    expected: [response({ status: 204, viaEnvoy: true })],
  },
  {
    name: '304 has no body',
    input: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n',
    expected: [response({ status: 304 })],
  },
  {
    name: 'HEAD: no body even with a length',
    input: 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n',
    head: true,
    expected: [response({ status: 200 })],
  },
  {
    name: 'HEAD: no body with chunked either',
    input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
    head: true,
    expected: [response({ status: 200 })],
  },
  {
    name: 'two pipelined responses, in order',
    input: PIPE_1 + 'abc' + PIPE_2 + 'not found',
    expected: [
      response({ status: 200, headerBytes: PIPE_1.length, bodyBytes: 3 }),
      response({ status: 404, headerBytes: PIPE_2.length, bodyBytes: 9, shouldClose: true, bodyPrefix: 'not found' }),
    ],
  },
  {
    name: 'Envoy 503 overflow (circuit breaker)',
    input: ENVOY_503_HEAD + OVERFLOW_BODY,
    expected: [
      response({
        status: 503,
        headerBytes: ENVOY_503_HEAD.length,
        bodyBytes: 81,
        viaEnvoy: true,
        envoyOverloaded: true,
        bodyPrefix: OVERFLOW_BODY,
      }),
    ],
  },
  {
    name: 'error body prefix stops at 256 bytes',
    input: LONG_500_HEAD + 'x'.repeat(250) + 'y'.repeat(50),
    expected: [
      response({ status: 500, headerBytes: LONG_500_HEAD.length, bodyBytes: 300, bodyPrefix: 'x'.repeat(250) + 'y'.repeat(6) }),
    ],
  },
  {
    name: 'evidence values: server must be exactly envoy, overloaded exactly true',
    input: 'HTTP/1.1 503 x\r\nServer: envoy-ish\r\nX-Envoy-Overloaded: false\r\nContent-Length: 0\r\n\r\n',
    expected: [response({ status: 503, bodyPrefix: '' })],
  },
  {
    name: 'bare LF line endings, folded header, no reason phrase',
    input: 'HTTP/1.1 200\nX-Long: a\n  continued\nContent-Length: 1\n\n!',
    expected: [response({ status: 200, bodyBytes: 1 })],
  },
  {
    name: 'x-version and x-envoy-attempt-count, any case, whitespace trimmed',
    input: 'HTTP/1.1 200 OK\r\nX-Version: \t v2-canary \t\r\nX-ENVOY-ATTEMPT-COUNT:3 \r\nContent-Length: 2\r\n\r\nok',
    expected: [response({ status: 200, bodyBytes: 2, version: 'v2-canary', attempt: 3 })],
  },
  {
    name: 'x-version on an error response, next to the Envoy evidence',
    input: 'HTTP/1.1 503 x\r\nserver: envoy\r\nx-envoy-attempt-count: 2\r\nx-version: v1\r\ncontent-length: 4\r\n\r\nfail',
    expected: [response({ status: 503, bodyBytes: 4, viaEnvoy: true, bodyPrefix: 'fail', version: 'v1', attempt: 2 })],
  },
  {
    name: 'x-version with control bytes keeps them escaped',
    input: 'HTTP/1.1 200 OK\r\nx-version: v1\x1b[2J\x85\xe9\r\nContent-Length: 0\r\n\r\n',
    expected: [response({ status: 200, version: 'v1\\x1b[2J\\x85\xe9' })],
  },
  {
    name: 'x-version over 64 bytes keeps the first 64',
    input: `HTTP/1.1 200 OK\r\nx-version: ${'0123456789'.repeat(10)}\r\nContent-Length: 0\r\n\r\n`,
    expected: [response({ status: 200, version: '0123456789'.repeat(6) + '0123' })],
  },
  {
    name: 'x-version of exactly 64 bytes is kept whole',
    input: `HTTP/1.1 200 OK\r\nx-version: ${'v'.repeat(64)}\r\nContent-Length: 0\r\n\r\n`,
    expected: [response({ status: 200, version: 'v'.repeat(64) })],
  },
  {
    name: 'an empty x-version is no version',
    input: 'HTTP/1.1 200 OK\r\nx-version:   \r\nContent-Length: 0\r\n\r\n',
    expected: [response({ status: 200 })],
  },
  {
    name: 'x-envoy-attempt-count that is not a decimal of up to 6 digits reads 0',
    input: BAD_ATTEMPTS.join(''),
    expected: BAD_ATTEMPTS.map((head, i) =>
      response({ status: 200, headerBytes: head.length, shouldClose: i === BAD_ATTEMPTS.length - 1, attempt: i === BAD_ATTEMPTS.length - 1 ? 999999 : 0 }),
    ),
  },
  {
    name: 'headers that only look alike are not read',
    input: 'HTTP/1.1 200 OK\r\nx-versions: v1\r\nx-version-: v2\r\nx-envoy-attempt-counts: 2\r\nversion: v3\r\nContent-Length: 0\r\n\r\n',
    expected: [response({ status: 200 })],
  },
  {
    name: 'x-version and attempt count reset between keep-alive responses',
    input: TAGGED_HEAD + 'a' + PIPE_1 + 'abc',
    expected: [response({ status: 200, headerBytes: TAGGED_HEAD.length, bodyBytes: 1, version: 'v1', attempt: 2 }), response({ status: 200, headerBytes: PIPE_1.length, bodyBytes: 3 })],
  },
  {
    name: 'x-version and attempt count of a 1xx interim response are forgotten',
    input: 'HTTP/1.1 103 Early Hints\r\nx-version: v9\r\nx-envoy-attempt-count: 4\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    expected: [response({ status: 200 })],
  },
  {
    name: 'x-version and attempt count of the final response after a 1xx are read',
    input: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nx-version: v2\r\nx-envoy-attempt-count: 3\r\nContent-Length: 0\r\n\r\n',
    expected: [response({ status: 200, version: 'v2', attempt: 3 })],
  },
  {
    name: 'x-version in chunked trailers is not the response\'s',
    input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nx-version: v7\r\nx-envoy-attempt-count: 5\r\n\r\n',
    expected: [response({ status: 200, bodyBytes: 1 })],
  },
];

describe('Http1ResponseParser', () => {
  it('computes the header sizes the table expects', () => {
    // Guards the hand-counted sizes above against typos in the table itself.
    expect(Buffer.byteLength(OVERFLOW_BODY)).toBe(81);
    expect(headBytes('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nA: b\r\n\r\nbody')).toBe(25);
    expect(headBytes('HTTP/1.1 200\nA: b\n\nbody')).toBe(19);
  });

  describe.each(samples)('$name', ({ input, head, expected: table }) => {
    const bytes = Buffer.from(input, 'latin1');
    const expected = table.map((r) => ('status' in r && r.headerBytes === -1 ? { ...r, headerBytes: headBytes(input) } : r));

    it('parses it whole', () => {
      expect(parseAll([bytes], head)).toEqual(expected);
    });

    it('parses it byte by byte', () => {
      expect(parseAll(byteByByte(bytes), head)).toEqual(expected);
    });

    it('parses it split into two chunks at every position', () => {
      for (let split = 1; split < bytes.length; split++) {
        const got = parseAll([bytes.subarray(0, split), bytes.subarray(split)], head);
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          expect({ split, got }).toEqual({ split, got: expected });
        }
      }
    });
  });

  const malformed: Array<{ name: string; input: string; error: RegExp }> = [
    { name: 'HTTP/2 status line', input: 'HTTP/2 200 OK\r\n\r\n', error: /status line/ },
    { name: 'not HTTP', input: 'SSH-2.0-OpenSSH_9.2\r\n\r\n', error: /status line/ },
    { name: 'two-digit status', input: 'HTTP/1.1 20 OK\r\n\r\n', error: /status line/ },
    { name: 'status below 100', input: 'HTTP/1.1 099 x\r\n\r\n', error: /invalid status line "HTTP\/1\.1 099 x"/ },
    { name: 'leading empty line', input: '\r\nHTTP/1.1 200 OK\r\n\r\n', error: /status line/ },
    { name: 'header without colon', input: 'HTTP/1.1 200 OK\r\nNoColon\r\n\r\n', error: /header line/ },
    { name: 'empty header name', input: 'HTTP/1.1 200 OK\r\n: x\r\n\r\n', error: /header line/ },
    { name: 'bad Content-Length', input: 'HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n', error: /Content-Length/ },
    { name: 'negative Content-Length', input: 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', error: /Content-Length/ },
    { name: 'empty Content-Length', input: 'HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n', error: /Content-Length/ },
    {
      name: 'conflicting Content-Length',
      input: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      error: /conflicting/,
    },
    {
      name: 'Content-Length beyond 2^53',
      input: 'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n',
      error: /Content-Length/,
    },
    { name: 'bad chunk size', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', error: /chunk size/ },
    { name: 'missing chunk size', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;ext\r\n', error: /chunk size/ },
    {
      name: 'chunk size too large',
      input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n',
      error: /too large/,
    },
    {
      name: 'chunk data without CRLF',
      input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n',
      error: /CRLF/,
    },
    { name: 'switching protocols', input: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', error: /101/ },
    { name: 'truncated length body', input: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', error: /closed before/ },
    { name: 'truncated head', input: 'HTTP/1.1 200 OK\r\nContent-Le', error: /closed before/ },
    { name: 'truncated chunked body', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', error: /closed before/ },
    { name: 'binary garbage', input: '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n', error: /status line/ },
  ];

  describe.each(malformed)('malformed: $name', ({ input, error }) => {
    const bytes = Buffer.from(input, 'latin1');
    it('gives a protocol error however it is split', () => {
      const whole = parseAll([bytes]);
      expect(whole).toHaveLength(1);
      expect(whole[0]).toEqual({ error: expect.stringMatching(error) });
      expect(parseAll(byteByByte(bytes))).toEqual(whole);
      for (let split = 1; split < bytes.length; split++) {
        expect(parseAll([bytes.subarray(0, split), bytes.subarray(split)])).toEqual(whole);
      }
    });
  });

  it('rejects a header section over the limit, without unbounded buffering', () => {
    const line = `X-Filler: ${'f'.repeat(1000)}\r\n`;
    const huge = Buffer.from('HTTP/1.1 200 OK\r\n' + line.repeat(Math.ceil(MAX_HEADER_BYTES / line.length) + 1) + '\r\n');
    expect(parseAll([huge])).toEqual([{ error: expect.stringMatching(/^response headers exceed 64 KiB$/) }]);
    const oneLine = Buffer.from('HTTP/1.1 200 OK\r\nX-Huge: ' + 'h'.repeat(MAX_HEADER_BYTES + 10));
    const chunks = [];
    for (let i = 0; i < oneLine.length; i += 1000) chunks.push(oneLine.subarray(i, i + 1000));
    expect(parseAll(chunks)).toEqual([{ error: expect.stringMatching(/^response headers exceed 64 KiB$/) }]);
  });

  it('stays in error once failed, and starts afresh after reset', () => {
    const parser = new Http1ResponseParser();
    const bad = Buffer.from('nonsense\r\n');
    expect(parser.execute(bad)).toBeLessThanOrEqual(bad.length);
    expect(parser.error).toMatch(/status line/);
    expect(parser.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'))).toBe(0);
    parser.reset();
    const good = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(parser.execute(good)).toBe(good.length);
    expect(parser.complete).toBe(true);
    expect(parser.idle).toBe(true);
  });

  it('reads x-version and x-envoy-attempt-count split across chunks mid-name and mid-value', () => {
    const head = 'HTTP/1.1 200 OK\r\nX-Version: canary-v2\r\nX-Envoy-Attempt-Count: 12\r\nContent-Length: 0\r\n\r\n';
    const cuts = [head.indexOf('Vers') + 2, head.indexOf('canary') + 3, head.indexOf('Attempt') + 4, head.indexOf(': 12') + 3];
    const chunks: Buffer[] = [];
    let from = 0;
    for (const cut of [...cuts, head.length]) {
      chunks.push(Buffer.from(head.slice(from, cut), 'latin1'));
      from = cut;
    }
    expect(chunks).toHaveLength(5);
    expect(parseAll(chunks)).toEqual([response({ status: 200, headerBytes: head.length, version: 'canary-v2', attempt: 12 })]);
  });

  it('forgets x-version and the attempt count after reset (a new socket)', () => {
    const parser = new Http1ResponseParser();
    const tagged = Buffer.from('HTTP/1.1 200 OK\r\nx-version: v2\r\nx-envoy-attempt-count: 3\r\nContent-Length: 5\r\n\r\nab');
    parser.execute(tagged);
    expect(parser.complete).toBe(false);
    parser.reset();
    const plain = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(parser.execute(plain)).toBe(plain.length);
    expect(parser.response()).toMatchObject({ status: 200, version: undefined, attempt: 0 });
  });

  it('never throws and always makes progress on random bytes', () => {
    // Deterministic xorshift: a failure is reproducible.
    let seed = 0x9e3779b9;
    const next = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    const alphabet = Buffer.from('HTTP/1.1 200 OK\r\n:;0123456789abcdefABCDEF chunked close Content-Length Transfer-Encoding\x00\xff');
    for (let round = 0; round < 300; round++) {
      const prefix = round % 2 === 0 ? 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' : 'HTTP/1.1 200 OK\r\n';
      const noise = Buffer.from(Array.from({ length: 1 + Math.floor(next() * 200) }, () => alphabet[Math.floor(next() * alphabet.length)] as number));
      const input = Buffer.concat([Buffer.from(prefix), noise]);
      const cut = 1 + Math.floor(next() * (input.length - 1));
      expect(() => parseAll([input.subarray(0, cut), input.subarray(cut)])).not.toThrow();
    }
  });
});
