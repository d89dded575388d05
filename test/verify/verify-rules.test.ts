/** docs/verify-rules.md is the proof table: every rule id the verify code uses has a row naming
 * its source. Ids are found as `rule: 'id'` anywhere in src/verify and as string literals of an
 * area the table already lists (`'field.x'`, `'host.x'`), and in the accounts the corpus yields. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { accountVerification } from '../../src/verify/field-accounting';
import { selectHost } from '../../src/verify/host-selection';
import { readIstioManifestsAccounted } from '../../src/verify/istio-manifests';

const ROOT = join(__dirname, '..', '..');
const TABLES = ['docs/verify-rules.md', 'docs/verify-rules-outlier.md'].map((f) => join(ROOT, f)).filter((f) => existsSync(f));

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
