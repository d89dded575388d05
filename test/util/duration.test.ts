import { formatDuration, parseDuration } from '../../src/util/duration';

describe('parseDuration (Go syntax)', () => {
  it.each([
    ['0', 0],
    ['10ms', 10],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['100ns', 0.0001],
    ['2h', 7_200_000],
    ['.5s', 500],
    ['-1s', -1000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '5', '1.5', 's', '10 ms', '1x', '1s2', 'ms10'])('rejects %p', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [0.25, '250us'],
    [10, '10ms'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
  ])('%d ms prints as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 12.5, 999, 1000, 61_000, 3_723_000]) {
      expect(parseDuration(formatDuration(ms))).toBeCloseTo(ms, 6);
    }
  });
});
