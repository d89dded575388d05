import { Command } from 'commander';
import { normalizeGoFlags } from '../../src/cli/go-flags';
import { MeshloadError } from '../../src/util/errors';

function loadLike(): Command {
  return new Command('load')
    .option('-c, --connections <n>', 'connections')
    .option('--qps <n>', 'rate')
    .option('-t, --duration <d>', 'duration')
    .option('-H, --header <h>', 'header')
    .option('--abort-on <code>', 'abort')
    .option('--uniform', 'uniform')
    .option('--no-keepalive', 'disable keep-alive')
    .option('-k, --insecure', 'insecure');
}

describe('normalizeGoFlags', () => {
  it('rewrites the Istio docs line unchanged in meaning', () => {
    const args = ['-c', '3', '-qps', '0', '-t=10s', 'http://httpbin:8000/get'];
    expect(normalizeGoFlags(args, loadLike())).toEqual(['-c', '3', '--qps', '0', '-t', '10s', 'http://httpbin:8000/get']);
  });

  it.each([
    [['--qps', '5'], ['--qps', '5']],
    [['--qps=5'], ['--qps', '5']],
    [['-qps=5'], ['--qps', '5']],
    [['-c=2'], ['-c', '2']],
    [['--c', '2'], ['-c', '2']],
    [['-connections', '2'], ['--connections', '2']],
    [['-abort-on', '-1'], ['--abort-on', '-1']],
    [['-H', 'a: b', '-H', 'c: d'], ['-H', 'a: b', '-H', 'c: d']],
  ])('value flags %p -> %p', (args, expected) => {
    expect(normalizeGoFlags(args, loadLike())).toEqual(expected);
  });

  it.each([
    [['-uniform'], ['--uniform']],
    [['-uniform=true'], ['--uniform']],
    [['-uniform=false'], []],
    [['-keepalive=false'], ['--no-keepalive']],
    [['-keepalive=0'], ['--no-keepalive']],
    [['-keepalive'], []],
    [['-keepalive=true'], []],
    [['--no-keepalive'], ['--no-keepalive']],
    [['-k'], ['-k']],
  ])('boolean flags %p -> %p', (args, expected) => {
    expect(normalizeGoFlags(args, loadLike())).toEqual(expected);
  });

  it('keeps a boolean flag from swallowing the URL after it', () => {
    expect(normalizeGoFlags(['-k', 'https://x/'], loadLike())).toEqual(['-k', 'https://x/']);
  });

  it('maps -h and -help to --help', () => {
    expect(normalizeGoFlags(['-help'], loadLike())).toEqual(['--help']);
    expect(normalizeGoFlags(['-h'], loadLike())).toEqual(['--help']);
  });

  it('passes everything after -- through', () => {
    expect(normalizeGoFlags(['--', '-weird'], loadLike())).toEqual(['--', '-weird']);
  });

  it('rejects an unknown flag with a suggestion', () => {
    let caught: unknown;
    try {
      normalizeGoFlags(['-qsp', '5'], loadLike());
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MeshloadError);
    expect((caught as MeshloadError).code).toBe('E_USAGE');
    expect((caught as MeshloadError).oneLine()).toBe(
      "unknown flag '-qsp' for 'meshload load' (did you mean -qps? see 'meshload load --help')",
    );
  });

  it('rejects a non-boolean value for a boolean flag', () => {
    expect(() => normalizeGoFlags(['-uniform=maybe'], loadLike())).toThrow(/takes true or false/);
  });
});
