/** docs/verify-rules.md is the proof table: every rule id the verify code uses has a row naming
 * its source. Ids are found as `rule: 'id'` anywhere in src/verify and as string literals of an
 * area the table already lists (`'field.x'`, `'host.x'`), and in the accounts the corpus yields. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { OUTLIER_RULES } from '../../src/verify/outlier-model';
import { VERSION_RULES } from '../../src/verify/istio-version';
import { PLAN_RULES } from '../../src/verify/plan-verification';
import { join } from 'node:path';
import { accountVerification } from '../../src/verify/field-accounting';
import { selectHost } from '../../src/verify/host-selection';
import { readIstioManifestsAccounted } from '../../src/verify/istio-manifests';

const ROOT = join(__dirname, '..', '..');
// One table: the outlier section was merged in (a second file would let a rule hide from readers).
const TABLES = [join(ROOT, 'docs', 'verify-rules.md')];

/** Ids with a row: `| \`id\` | what | source | versions |`. */
function documented(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const file of TABLES) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\| `([a-z0-9]+\.[a-z0-9.-]+)` \|(.*)\|\s*$/.exec(line);
      if (m?.[1] !== undefined) rows.set(m[1], (m[2] ?? '').split(/(?<!\\)\|/).map((c) => c.trim()));
    }
  }
  return rows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('docs/verify-rules.md', () => {
  const rows = documented();

  it('has rows, each with what meshload does, a source and the Istio versions', () => {
    expect(rows.size).toBeGreaterThan(10);
    for (const [id, cells] of rows) {
      expect({ id, cells: cells.length }).toEqual({ id, cells: 3 });
      for (const cell of cells) expect({ id, cell }).toEqual({ id, cell: expect.stringMatching(/\S/) });
    }
  });

  it('is one file, and each source file it cites is cited at a line (path:LINE)', () => {
    expect(existsSync(join(ROOT, 'docs', 'verify-rules-outlier.md'))).toBe(false);
    const unlined: string[] = [];
    for (const [id, cells] of rows) {
      // `foo.go:12`, `foo.go:12-20`, or a later `:12` naming a line of the file just cited; a file
      // whose line could not be read says so right after its name: `(line not pinned: why)`.
      for (const m of (cells[1] ?? '').matchAll(/[\w/.-]+\.(?:go|cc|proto)\b(?!:\d| \(line not pinned: )/g)) unlined.push(`${id}: ${m[0]}`);
    }
    expect(unlined).toEqual([]);
  });

  it('has a row for every rule of the planner, the outlier model and the version module', () => {
    const ids = [...Object.keys(OUTLIER_RULES), ...Object.keys(VERSION_RULES), ...Object.keys(PLAN_RULES)];
    expect(ids.filter((id) => !rows.has(id))).toEqual([]);
  });

  it('names every rule id used in src/verify', () => {
    const areas = new Set([...rows.keys()].map((id) => id.split('.')[0] ?? ''));
    const used = new Set<string>();
    for (const file of sourceFiles(join(ROOT, 'src', 'verify'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/rule:\s*'([a-z0-9]+\.[a-z0-9.-]+)'/g)) used.add(m[1] ?? '');
      for (const m of text.matchAll(/'([a-z0-9]+)\.([a-z0-9-]+)'/g)) if (areas.has(m[1] ?? '')) used.add(`${m[1] ?? ''}.${m[2] ?? ''}`);
    }
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((id) => !rows.has(id))).toEqual([]);
  });

  it('names every rule the corpus accounts carry', () => {
    const corpus = join(ROOT, 'test', 'fixtures', 'istio-corpus');
    const rules = new Set<string>();
    for (const name of readdirSync(corpus).filter((f) => f.endsWith('.yaml'))) {
      const read = readIstioManifestsAccounted([{ file: name, text: readFileSync(join(corpus, name), 'utf8') }]);
      let choice;
      try {
        choice = selectHost(read.policies, { host: undefined, cluster: undefined, url: 'http://reviews:9080/' });
      } catch {
        choice = undefined;
      }
      for (const a of accountVerification(read, choice, { failed: 'test' }).accounts) rules.add(a.rule);
    }
    expect([...rules].filter((id) => !rows.has(id))).toEqual([]);
  });
});
