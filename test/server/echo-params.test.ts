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

  it.each([
    ['503:60,429:50', /weights add up to 110%, more than 100/],
    ['503,429', /'503' in a list needs a weight/],
    ['503:abc', /weight 'abc' must be a percentage/],
    ['503:', /weight '' must be a percentage/],
    ['503:-5', /weight '-5'/],
    ['503:101', /weight '101'/],
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

  it.each(['yes', '150', '-1'])('rejects %p', (raw) => {
    expect(() => parsePercentFlag('close', raw)).toThrow(/close: .* must be true, false, or a percentage/);
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
    ['status=150', /status: 150 is not a final HTTP status/],
    ['status=503:80,429:30', /status: weights add up to 110%/],
    ['size=1k', /size: '1k' is not a byte count/],
    ['close=maybe', /close: /],
    ['gzip=200', /gzip: /],
    ['header=NoColon', /header: 'NoColon' must be Name:Value/],
    ['header=Bad%20Name:x', /header: /],
    ['header=X-A:a%0Db', /header: value of 'X-A' holds a line break/],
  ])('rejects %p naming the parameter', (query, message) => {
    expect(() => parseEchoParams(query, LIMITS)).toThrow(message);
  });
});
