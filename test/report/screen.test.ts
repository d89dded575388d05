import { paint, PLAIN, screenFor, verdictStyle } from '../../src/report/screen';

describe('screenFor', () => {
  it.each([
    ['a terminal', true, {}, true],
    ['a pipe', false, {}, false],
    ['NO_COLOR on a terminal', true, { NO_COLOR: '1' }, false],
    ['an empty NO_COLOR', true, { NO_COLOR: '' }, true],
    ['FORCE_COLOR on a pipe', false, { FORCE_COLOR: '1' }, true],
    ['FORCE_COLOR beats NO_COLOR', false, { FORCE_COLOR: '1', NO_COLOR: '1' }, true],
    ['FORCE_COLOR=0 on a terminal', true, { FORCE_COLOR: '0' }, false],
    ['TERM=dumb', true, { TERM: 'dumb' }, false],
  ] as const)('%s: colour %s', (_, isTTY, env, color) => {
    expect(screenFor({ isTTY }, env).color).toBe(color);
  });
});

describe('paint', () => {
  it('wraps in SGR codes only with colour', () => {
    expect(paint(PLAIN, 'red', 'FAIL')).toBe('FAIL');
    expect(paint({ color: true, verbose: false }, 'red', 'FAIL')).toBe('\x1b[31mFAIL\x1b[39m');
    expect(paint({ color: true, verbose: false }, 'dim', 'x')).toBe('\x1b[2mx\x1b[22m');
  });

  it('names the colour of each verdict', () => {
    expect(['pass', 'FAIL', 'inconclusive', 'no_data', 'other'].map(verdictStyle)).toEqual(['green', 'red', 'yellow', 'magenta', undefined]);
  });
});
