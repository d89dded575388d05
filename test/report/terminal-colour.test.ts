/* eslint-disable no-control-regex -- the ANSI codes in these patterns are what is tested */
/** The terminal renderers on both screens: PLAIN gives the bytes printed before colour existed
 * (fixtures/terminal-text-plain.json), a colour screen the same text with SGR codes around the
 * verdicts and the detail, and tables still aligned (codes have no width). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyVerdicts } from '../../src/cli/commands/verify-action';
import { renderFindings, type Finding } from '../../src/doctor/findings';
import { renderCompareText } from '../../src/report/compare/text';
import { renderPercentileTable } from '../../src/report/percentile-table';
import { checkLine, checksTable, phaseFooter, phaseHeader, stepLine, verdictLine } from '../../src/report/scenario/text';
import { PLAIN, type Screen } from '../../src/report/screen';
import type { Phase } from '../../src/scenario/scenario-schema';
import { comparison, everyVerdict, policies } from './terminal-colour.fixtures';

const COLOUR: Screen = { color: true, verbose: false };
const GOLDEN = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'terminal-text-plain.json'), 'utf8')) as Record<string, string>;
const SGR = /\x1b\[\d+m/g;

const FINDINGS: Finding[] = [{ mark: 'ok', text: 'a' }, { mark: 'fail', text: 'b', fix: 'c' }, { mark: 'warn', text: 'd' }];

/** Every renderer, by the name of its golden text. */
const RENDERERS: Record<string, (screen: Screen) => string> = {
  header: (s) => phaseHeader(0, 2, { name: 'baseline', description: 'd' } as Phase, s),
  steps: (s) => everyVerdict().phases.flatMap((p) => p.steps).map((step) => stepLine(step, s)).join(''),
  checks: (s) => everyVerdict().phases.flatMap((p) => p.checks).map((c) => checkLine(c, s)).join(''),
  footers: (s) => everyVerdict().phases.map((p) => phaseFooter(p, s)).join(''),
  verdict: (s) => verdictLine(everyVerdict(), s),
  interrupted: (s) => verdictLine({ ...everyVerdict(), interrupted: true }, s),
  table: (s) => checksTable(everyVerdict(), s),
  compare: (s) => renderCompareText(comparison(), s),
  percentiles: (s) => renderPercentileTable(everyVerdict().phases[0]?.load ?? fail('no load'), s),
  findings: (s) => renderFindings(FINDINGS, s),
  policies: (s) => policyVerdicts(policies(), everyVerdict(), s),
};

function fail(why: string): never {
  throw new Error(why);
}

describe.each(Object.keys(RENDERERS))('%s', (name) => {
  const render = RENDERERS[name] ?? fail(name);

  it('on the PLAIN screen: the text printed before colour, byte for byte', () => {
    expect(render(PLAIN)).toBe(GOLDEN[name]);
    expect(render(PLAIN)).not.toContain('\x1b');
  });

  it('on a colour screen: colour codes, and the same text without them', () => {
    const coloured = render(COLOUR);
    expect(coloured).toMatch(SGR);
    expect(coloured.replace(SGR, '')).toBe(GOLDEN[name]);
  });
});

describe('what is coloured', () => {
  it('verdict words by verdict, padded before the colour so the expressions stay in a column', () => {
    const lines = RENDERERS.checks?.(COLOUR).split('\n') ?? [];
    expect(lines[0]).toBe('  \x1b[32mPASS\x1b[39m         status(200) == 100%  \x1b[2m(expected >= 20%, observed 31.0% (93 of 300 calls))\x1b[22m');
    expect(lines[1]).toMatch(/^ {2}\x1b\[31mFAIL\x1b\[39m {9}status\(503\)/);
    expect(lines[2]).toMatch(/^ {2}\x1b\[35mNO DATA\x1b\[39m {6}delta/);
    expect(lines[3]).toMatch(/^ {2}\x1b\[33mINCONCLUSIVE\x1b\[39m rps/);
  });

  it('a failed step red, an interrupted one yellow, its duration dim', () => {
    const steps = RENDERERS.steps?.(COLOUR) ?? '';
    expect(steps).toContain('status=503:20 \x1b[32mok\x1b[39m \x1b[2m(3 ms)\x1b[22m');
    expect(steps).toContain('kubectl apply -f dr.yaml \x1b[31mFAILED: exit 1\x1b[39m \x1b[2m(40 ms)\x1b[22m');
    expect(steps).toContain('5s \x1b[33minterrupted\x1b[39m \x1b[2m(90 ms)\x1b[22m');
  });

  it("the run's verdict line bold, its verdict coloured; INTERRUPTED yellow", () => {
    expect(RENDERERS.verdict?.(COLOUR)).toBe(`\x1b[1m== colours: \x1b[31mFAIL\x1b[39m (1 passed, 1 failed, 1 without data, 1 inconclusive; 2 phases run in 12.3s)\x1b[22m\n`);
    expect(RENDERERS.interrupted?.(COLOUR)).toContain('\x1b[33mINTERRUPTED\x1b[39m');
    expect(phaseFooter(everyVerdict().phases[1] ?? fail('phase'), COLOUR)).toMatch(/ {2}phase overload: \x1b\[31mFAIL\x1b\[39m\n$/);
  });

  it('a load stopped early or behind its schedule says so in yellow', () => {
    expect(RENDERERS.footers?.(COLOUR)).toContain('causes app 1; \x1b[33mstopped: interrupted; the generator fell behind: 1 of 8 requested calls/s (12%)\x1b[39m\n');
  });

  it('the checks table keeps its columns: each row as wide as the plain one', () => {
    const coloured = (RENDERERS.table?.(COLOUR) ?? '').split('\n');
    const plain = (GOLDEN.table ?? '').split('\n');
    expect(coloured.map((l) => l.replace(SGR, '').length)).toEqual(plain.map((l) => l.length));
    expect(coloured.find((l) => l.includes('status(503)'))).toMatch(/│ \x1b\[31mFAIL\x1b\[39m {9}│$/);
  });

  it('compare: regressions red, improvements green, noise dim, in the table and the totals', () => {
    const text = RENDERERS.compare?.(COLOUR) ?? '';
    expect(text).toMatch(/│ \x1b\[31m\+20ms \(\+100%\)\x1b\[39m │ \x1b\[31mREGRESSION\x1b\[39m {3}│/);
    expect(text).toMatch(/│ \x1b\[32m-5ms \(-50%\)\x1b\[39m {3}│ \x1b\[32mimprovement\x1b\[39m {2}│/);
    expect(text).toMatch(/│ \+1ms \(\+2%\) {4}│ \x1b\[2mwithin noise\x1b\[22m │/);
    expect(text).toContain('== \x1b[31m1 regression\x1b[39m, \x1b[32m1 improvement\x1b[39m, 1 within noise');
  });

  it('doctor: ✓ green, ✗ red, ! yellow', () => {
    expect(RENDERERS.findings?.(COLOUR)).toBe('\x1b[32m✓\x1b[39m a\n\x1b[31m✗\x1b[39m b (fix: c)\n\x1b[33m!\x1b[39m d\n');
  });

  it('verify: a policy that behaves green, one that does not red, the undecided yellow', () => {
    const text = RENDERERS.policies?.(COLOUR) ?? '';
    expect(text).toContain('(DestinationRule good): \x1b[32mbehaves as configured\x1b[39m');
    expect(text).toContain('(DestinationRule bad): \x1b[31mdoes not behave as configured\x1b[39m');
    expect(text).toContain('(DestinationRule skipped): \x1b[33mnot verified\x1b[39m');
  });
});
