import { parseEchoParams, parseQuery } from '../../src/server/echo-params';
import { drawWeighted, EchoParamError, parsePercentFlag, parseWeightedList } from '../../src/server/weighted-list';

const LIMITS = { maxDelayMs: 1500, maxPayloadBytes: 256 * 1024 };
const asNumber = (t: string): number | string => (/^\d+$/.test(t) ? Number(t) : `'${t}' is not a number`);

describe('parseWeightedList', () => {
  it('takes a bare value as 100%', () => {
    expect(parseWeightedList('status', '503', asNumber, 'x')).toEqual({ values: [503], cumulative: [100] });
  });

  it('accumulates weights in order', () => {
    expect(parseWeightedList('status', '503:20,429:5.5', asNumber, 'x')).toEqual({
      values: [503, 429],
      cumulative: [20, 25.5],
    });
  });

  it('accepts weights summing to exactly 100 despite float rounding', () => {
    expect(() => parseWeightedList('status', '500:33.3,501:33.3,502:33.4', asNumber, 'x')).not.toThrow();
  });

  // fhttp/http_utils.go:290-296: the running sum is stats.Round'ed to 4 decimals (stats/stats.go:551)
  // and made a float32 before the > 100 check.
  it('rounds the running sum to 4 decimals as Fortio, so 33.33333 x 2 + 33.33335 is 100', () => {
    const list = parseWeightedList('status', '500:33.33333,501:33.33333,502:33.33335', asNumber, 'x');
    expect(list.cumulative[2]).toBe(100);
    expect(() => parseWeightedList('status', '500:50,501:50.0001', asNumber, 'x')).toThrow(/more than 100/);
  });

  // http_utils.go:285-286: ParseFloat("NaN") passes `p < 0 || p > 100`; the NaN sum never rolls.
  it('takes a NaN weight, as Fortio, and never draws it or any entry after it', () => {
    const list = parseWeightedList('status', '503:NaN,429:100', asNumber, 'x');
    expect(drawWeighted(list, 0)).toBeUndefined();
    expect(drawWeighted(list, 99.9)).toBeUndefined();
  });

  it.each([
    ['503:60,429:50', /weights add up to 110%, more than 100/],
    ['503,429', /'503' in a list needs a weight/],
    ['503:abc', /weight 'abc' must be a percentage/],
    ['503:', /weight '' must be a percentage/],
    ['503:-5', /weight '-5'/],
    ['503:101', /weight '101'/],
    ['503:inf', /weight 'inf'/],
    ['503:1e39', /weight '1e39'/],
    ['x:20', /'x' is not a number/],
  ])('rejects %p', (raw, message) => {
    expect(() => parseWeightedList('status', raw, asNumber, 'x')).toThrow(message);
  });

  it('names the parameter in its error', () => {
    try {
      parseWeightedList('delay', '1s:200', asNumber, 'x');
      throw new Error('expected a throw');
    } catch (error) {
      expect(error).toBeInstanceOf(EchoParamError);
      expect((error as EchoParamError).param).toBe('delay');
      expect((error as Error).message).toMatch(/^delay: /);
    }
  });
});

describe('drawWeighted', () => {
  const list = { values: ['a', 'b'], cumulative: [20, 25] };
  it.each([
    [0, 'a'],
    [19.999, 'a'],
    [20, 'b'],
    [24.999, 'b'],
    [25, undefined],
    [99.999, undefined],
  ])('roll %d picks %p', (roll, expected) => {
    expect(drawWeighted(list, roll)).toBe(expected);
  });

  it('never picks a zero-weight entry', () => {
    expect(drawWeighted({ values: ['zero', 'all'], cumulative: [0, 100] }, 0)).toBe('all');
  });
});

describe('parsePercentFlag', () => {
  it.each([
    ['true', 100],
    ['false', 0],
    ['', 0],
    ['30', 30],
    ['5.3', 5.3],
  ])('%p is %d%%', (raw, percent) => {
    expect(parsePercentFlag('close', raw)).toBe(percent);
  });

  it.each(['yes', '150', '-1'])('rejects %p in strict mode', (raw) => {
    expect(() => parsePercentFlag('close', raw, true)).toThrow(/close: .* must be true, false, or a percentage/);
  });
});

describe('parseQuery', () => {
  it('decodes like Go url.ParseQuery', () => {
    expect(parseQuery('a=1&b=x+y&c=%3A20&&d')).toEqual([
      ['a', '1'],
      ['b', 'x y'],
      ['c', ':20'],
      ['d', ''],
    ]);
  });

  it('rejects broken percent-encoding', () => {
    expect(() => parseQuery('status=%zz')).toThrow(EchoParamError);
  });
});

describe('parseEchoParams', () => {
  it('builds a plan from every parameter', () => {
    const plan = parseEchoParams('delay=10ms:50&status=503:20&size=1024&close=true&gzip=30&header=X-A:1&header=X-B:%202', LIMITS);
    expect(plan.delayMs).toEqual({ values: [{ value: 10 }], cumulative: [50] });
    expect(plan.status).toEqual({ values: [503], cumulative: [20] });
    expect(plan.sizeBytes).toEqual({ values: [{ value: 1024 }], cumulative: [100] });
    expect(plan.closePercent).toBe(100);
    expect(plan.gzipPercent).toBe(30);
    expect(plan.headers).toEqual(['X-A', '1', 'X-B', '2']);
  });

  it('ignores unknown parameters and keeps the first of a repeated one, as Go FormValue', () => {
    const plan = parseEchoParams('cachebust=123&status=503&status=429', LIMITS);
    expect(plan.status?.values).toEqual([503]);
    expect(plan.query).toBe('status=503');
  });

  it('rejects unknown parameters in strict mode (server-wide defaults), with a suggestion', () => {
    expect(() => parseEchoParams('stauts=503', LIMITS, true)).toThrow(
      'stauts: unknown parameter (did you mean status?); use delay, status, size, close, header, gzip',
    );
    expect(parseEchoParams('?status=503', LIMITS, true).query).toBe('status=503');
  });

  it('clamps delays and sizes over the caps and says so', () => {
    const plan = parseEchoParams('delay=5s:10,100ms:10&size=999999', LIMITS);
    expect(plan.delayMs?.values).toEqual([{ value: 1500, clampNote: 'delay=5s>1.5s' }, { value: 100 }]);
    expect(plan.sizeBytes?.values).toEqual([{ value: 262144, clampNote: 'size=999999>262144' }]);
  });

  it.each([
    ['delay=5', /delay: '5' is not a duration/],
    ['delay=-1s', /delay: '-1s' is negative/],
    ['status=abc', /status: 'abc' is not an HTTP status code/],
    ['status=503;x', /';' separates nothing/],
    ['status=150', /status: 150 is not a final HTTP status/],
    ['status=503:80,429:30', /status: weights add up to 110%/],
    ['size=1k', /size: '1k' is not a byte count/],
    ['close=maybe', /close: /],
    ['gzip=200', /gzip: /],
    ['header=NoColon', /header: 'NoColon' must be Name:Value/],
    ['header=Bad%20Name:x', /header: /],
    ['header=X-A:a%0Db', /header: value of 'X-A' holds a line break/],
  ])('rejects %p naming the parameter in strict mode (server-wide defaults, /chaos)', (query, message) => {
    expect(() => parseEchoParams(query, LIMITS, true)).toThrow(message);
  });
});

// What Fortio's EchoHandler does with each value, read from fortio/fortio fhttp/http_utils.go
// (generateStatus, generateDelay, generateSize, generateSingleProbability) and
// fhttp/http_server.go (EchoHandler's header= loop).
describe('parseEchoParams on a request, as Fortio reads the values', () => {
  it.each([
    // removeTrailingPercent: a weight may end in %.
    ['status=503:20%25', { status: { values: [503], cumulative: [20] } }],
    ['delay=10ms:50%25,1s:5', { delayMs: { values: [{ value: 10 }, { value: 1000 }], cumulative: [50, 55] } }],
    ['size=512:20%25', { sizeBytes: { values: [{ value: 512 }], cumulative: [20] } }],
    // strconv.Atoi and Go's WriteHeader: any code up to 999, a sign or leading zero allowed.
    ['status=999', { status: { values: [999], cumulative: [100] } }],
    ['status=%2B0503', { status: { values: [503], cumulative: [100] } }],
    // generateDelay: a negative duration sleeps not at all.
    ['delay=-1s', { delayMs: { values: [{ value: 0 }], cumulative: [100] } }],
    // fnet.ValidatePayloadSize: a negative size is 0.
    ['size=-3', { sizeBytes: { values: [{ value: 0 }], cumulative: [100] } }],
    // generateSingleProbability: text that is not a number is true; past 0..100 is never/always.
    ['close=maybe', { closePercent: 100 }],
    ['close=true:10', { closePercent: 100 }],
    ['gzip=200', { gzipPercent: 100 }],
    ['gzip=-5', { gzipPercent: 0 }],
    // strconv.ParseFloat fails on a space or hex, so the value counts as true; NaN never rolls.
    ['close=%2050', { closePercent: 100 }],
    ['close=0x10', { closePercent: 100 }],
    ['close=NaN', { closePercent: 0 }],
    ['close=inf', { closePercent: 100 }],
    // ParseFloat(s, 32) is out of range past float32 (an error: true), -inf parses (never).
    ['close=-1e39', { closePercent: 100 }],
    ['close=-inf', { closePercent: 0 }],
    // generateStatus: strconv.Atoi, any int (http_utils.go:261); WriteHeader decides per response.
    ['status=150', { status: { values: [150], cumulative: [100] } }],
    ['status=1000:50', { status: { values: [1000], cumulative: [50] } }],
    // Go's ParseDuration takes a signed zero.
    ['delay=-0', { delayMs: { values: [{ value: 0 }], cumulative: [100] } }],
    // EchoHandler's header= loop: Header().Add canonicalizes the name (http_server.go:200).
    ['header=x-my-header:%20v%20', { headers: ['X-My-Header', 'v'] }],
    // Header().Add("Connection", "close") makes Go close after the response (http_server.go:200).
    ['header=connection:close&close=10', { closePercent: 100, headers: [] }],
    ['close=10&header=Connection:%20Close', { closePercent: 100, headers: [] }],
  ])('accepts %p as Fortio does', (query, expected) => {
    const plan = parseEchoParams(query, LIMITS);
    expect(plan).toMatchObject({ ...expected, ignored: [] });
  });

  it.each([
    // generateDelay returns -1 (no delay) on a bad value or bad list; weights over 100 too.
    ['delay=5', 'delay=5', 'delayMs'],
    ['delay=fast', 'delay=fast', 'delayMs'],
    ['delay=1s:60,2s:50', 'delay=1s:60\\x2c2s:50', 'delayMs'],
    ['delay=1s:abc', 'delay=1s:abc', 'delayMs'],
    ['delay=1s:%2050', 'delay=1s: 50', 'delayMs'],
    ['delay=%201s', 'delay= 1s', 'delayMs'],
    // generateSize returns -1 (echo the body) the same way.
    ['size=1k', 'size=1k', 'sizeBytes'],
    ['size=512:80,1024:30', 'size=512:80\\x2c1024:30', 'sizeBytes'],
    // strconv.Atoi and time.ParseDuration refuse what overflows int64.
    ['size=99999999999999999999', 'size=99999999999999999999', 'sizeBytes'],
    ['delay=9999999999h', 'delay=9999999999h', 'delayMs'],
    // A name with a space is kept as given by Header().Add and dropped by Go's header writer.
    ['header=%20X-A:1', 'header= X-A:1', 'headers'],
    // EchoHandler skips a header= without a colon; a name or value Node cannot send is skipped too.
    ['header=NoColon', 'header=NoColon', 'headers'],
    ['header=Bad%20Name:x', 'header=Bad Name:x', 'headers'],
    ['header=X-A:a%0Db', 'header=X-A:a\\x0db', 'headers'],
  ])('ignores %p and reports it', (query, note, field) => {
    const plan = parseEchoParams(`${query}&status=418`, LIMITS);
    expect(plan.ignored).toEqual([note]);
    expect(plan.status?.values).toEqual([418]);
    if (field === 'headers') expect(plan.headers).toEqual([]);
    else expect(plan[field as 'delayMs' | 'sizeBytes']).toBeUndefined();
    expect(plan.query).toBe('status=418');
  });

  it('drops a pair with broken percent-encoding as Go url.ParseQuery does, reporting only its own parameters', () => {
    const plan = parseEchoParams('status=%zz&trace=%zz&delay=10ms', LIMITS);
    expect(plan.status).toBeUndefined();
    expect(plan.delayMs?.values).toEqual([{ value: 10 }]);
    expect(plan.ignored).toEqual(['status=%zz']);
    expect(() => parseEchoParams('status=%zz', LIMITS, true)).toThrow(EchoParamError);
  });

  it('bounds the note of a long ignored value', () => {
    const plan = parseEchoParams(`delay=${'x'.repeat(5000)}`, LIMITS);
    expect(plan.ignored[0]?.length).toBeLessThanOrEqual(64);
    expect(plan.ignored[0]).toMatch(/^delay=x+\.\.\.$/);
  });

  it.each([
    // generateStatus returns http.StatusBadRequest for these (http_utils.go:264,277,282,288,295)
    // and EchoHandler goes on with it as the status: delay, size and headers still apply.
    ['status=abc', 'status=abc'],
    ['status=503:80,429:30', 'status=503:80\\x2c429:30'],
    ['status=503%25', 'status=503%'],
    ['status=503:20,', 'status=503:20\\x2c'],
    ['status=99999999999999999999', 'status=99999999999999999999'],
  ])('makes %p a 400 and reports it, as generateStatus does', (query, note) => {
    const plan = parseEchoParams(`${query}&size=5&header=X-A:1`, LIMITS);
    expect(plan.status).toEqual({ values: [400], cumulative: [100] });
    expect(plan.ignored).toEqual([note]);
    expect(plan.sizeBytes?.values).toEqual([{ value: 5 }]);
    expect(plan.headers).toEqual(['X-A', '1']);
  });

  // QueryArg returns "" for an absent and an empty value alike: generateSize and generateDelay
  // return at once (http_utils.go:320,392), status= is 200 (http_server.go:116), header= is
  // skipped (http_server.go:192). The first value wins even when empty (Go's Values.Get).
  it.each(['status=', 'delay=', 'size=', 'close=', 'gzip=', 'header=', 'status=&status=503'])('treats %p as absent, silently', (query) => {
    const plan = parseEchoParams(query, LIMITS);
    expect(plan).toMatchObject({ ignored: [], headers: [], closePercent: 0, gzipPercent: 0 });
    expect(plan.status ?? plan.delayMs ?? plan.sizeBytes).toBeUndefined();
  });

  // url.QueryUnescape works on bytes: a header= value goes out as the bytes sent (Header().Add,
  // http_server.go:200); other values are read as UTF-8 text.
  it('keeps the bytes of a header= value, valid UTF-8 or not, and reads other values as UTF-8', () => {
    expect(parseEchoParams('header=X-A:%C3%A9%FF', LIMITS).headers).toEqual(['X-A', '\xc3\xa9\xff']);
    expect(parseEchoParams('delay=10%CE%BCs', LIMITS).delayMs?.values).toEqual([{ value: 0.01 }]);
    expect(parseEchoParams('delay=%FF', LIMITS).ignored).toEqual(['delay=\\ufffd']);
  });

  // Go 1.17+ url.ParseQuery drops a pair holding ';' (Fortio's QueryArg ignores the error).
  it('drops a pair holding a semicolon, as url.ParseQuery, and reports it', () => {
    const plan = parseEchoParams('status=503;x&size=4', LIMITS);
    expect(plan.status).toBeUndefined();
    expect(plan.sizeBytes?.values).toEqual([{ value: 4 }]);
    expect(plan.ignored).toEqual(['status=503;x']);
  });
});
