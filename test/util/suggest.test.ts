import { editDistance, suggest } from '../../src/util/suggest';

describe('suggest', () => {
  it('finds typos, transpositions and dropped letters', () => {
    expect(suggest('sever', ['server', 'load', 'curl'])).toBe('server');
    expect(suggest('laod', ['server', 'load', 'curl'])).toBe('load');
    expect(suggest('-http-prt', ['-http-port', '-admin-port'])).toBe('-http-port');
  });

  it('offers nothing when nothing is close', () => {
    expect(suggest('kubernetes', ['server', 'load', 'curl'])).toBeUndefined();
  });

  it('computes optimal string alignment distance', () => {
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('abc', 'acb')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});
