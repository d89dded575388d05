import { expandEnv } from '../../src/scenario/expand-env';

describe('expandEnv', () => {
  it.each([
    ['port: ${PORT}', { PORT: '8080' }, 'port: 8080'],
    ['port: ${PORT:-18080}', {}, 'port: 18080'],
    ['port: ${PORT:-18080}', { PORT: '9' }, 'port: 9'],
    ['port: ${PORT:-18080}', { PORT: '' }, 'port: 18080'],
    ['url: "http://${HOST:-127.0.0.1}:${PORT:-1}/x"', { PORT: '80' }, 'url: "http://127.0.0.1:80/x"'],
    ['no references, $HOME stays', {}, 'no references, $HOME stays'],
  ])('%p', (text, env, expected) => {
    expect(expandEnv(text, env)).toEqual({ text: expected, missing: [] });
  });

  it('lists every unset variable without a default, once', () => {
    expect(expandEnv('${A} ${B:-b} ${C} ${A}', {}).missing).toEqual(['A', 'C']);
  });
});
