/** Real public manifests (test/fixtures/istio-corpus, each naming its source and licence): for
 * each, the host chosen, the phases planned and every field's classification match the expected
 * summary next to it, and every leaf of the YAML is accounted for exactly once.
 * `UPDATE_CORPUS=1 npx jest test/verify/istio-corpus.test.ts` rewrites the expectations (keeping
 * each file's `input`), so a planner change shows as a reviewable diff. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshloadError } from '../../src/util/errors';
import { accountVerification, type AccountingInput } from '../../src/verify/field-accounting';
import { selectHost, type HostChoice } from '../../src/verify/host-selection';
import { readIstioManifestsAccounted } from '../../src/verify/istio-manifests';
import { draftVerification, type VerifyOptions } from '../../src/verify/plan-verification';

const CORPUS = join(__dirname, '..', 'fixtures', 'istio-corpus');
const UPDATE = process.env.UPDATE_CORPUS === '1';

interface Input {
  url: string;
  host?: string;
}

interface Summary {
  input: Input;
  host?: string;
  chosenBy?: string;
  error?: string;
  phases: string[];
  policies: string[];
  fields: string[];
}

const files = readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).sort();

function options(url: string): VerifyOptions {
  return { target: url, backend: 'meshload', maxDelayMs: 5000, proxy: 'envoy', confidence: 0.999, maxRequests: 2000, sidecar: { stats: 'http://localhost:15000/stats' }, ejectAdmin: undefined };
}

/** The first VirtualService host, else the first DestinationRule host: what a user would verify. */
function defaultInput(text: string): Input {
  const host = /^\s+hosts:\s*\n\s*-\s*"?([^"\s]+)"?/m.exec(text)?.[1] ?? /^\s+host:\s*(\S+)/m.exec(text)?.[1] ?? 'svc';
  return { url: `http://${host.replace(/^\*\./, 'www.')}:9080/` };
}

function summarise(name: string, input: Input): { summary: Summary; unaccounted: string[]; doubled: string[] } {
  const text = readFileSync(join(CORPUS, name), 'utf8');
  const read = readIstioManifestsAccounted([{ file: name, text }]);
  let choice: HostChoice | undefined;
  let plan: AccountingInput['plan'];
  let error: string | undefined;
  let phases: string[] = [];
  let policies: string[] = [];
  try {
    choice = selectHost(read.policies, { host: input.host, cluster: undefined, url: input.url });
    const draft = draftVerification(choice.policies, options(input.url));
    phases = draft.scenario.phases.map((p) => p.name);
    policies = draft.policies.map((p) => `${p.policy} (${p.subject}): ${p.skipped === undefined ? p.phases.join('; ') : `not verified: ${p.skipped}`}`);
    // With no phases verify exits 2, but each field still gets the planner's own reason.
    plan = { policies: draft.policies, phases };
  } catch (e) {
    if (!(e instanceof MeshloadError)) throw e;
    error = e.oneLine();
    plan = { failed: error };
  }
  const accounting = accountVerification(read, choice, plan);
  const fields = accounting.accounts.map((a) => `#${a.document} ${a.path === '' ? '(document)' : a.path}: ${a.class}: ${a.reason} [${a.rule}]`);
  const summary: Summary = {
    input,
    ...(choice === undefined ? {} : { host: choice.host, chosenBy: choice.by }),
    ...(error === undefined ? {} : { error }),
    phases,
    policies,
    fields,
  };
  return { summary, unaccounted: accounting.unaccounted, doubled: accounting.doubled };
}

describe('the Istio corpus', () => {
  it('holds at least 25 real manifests, each naming its source and licence', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
    for (const f of files) expect(readFileSync(join(CORPUS, f), 'utf8')).toMatch(/^# Source: \S+.*\n# Licence: Apache-2\.0/);
  });

  it.each(files)('%s: every leaf accounted for exactly once, and the plan as expected', (name) => {
    const expectedFile = join(CORPUS, name.replace(/\.yaml$/, '.expected.json'));
    const previous = existsSync(expectedFile) ? (JSON.parse(readFileSync(expectedFile, 'utf8')) as Summary) : undefined;
    const input = previous?.input ?? defaultInput(readFileSync(join(CORPUS, name), 'utf8'));
    const { summary, unaccounted, doubled } = summarise(name, input);
    expect({ unaccounted, doubled }).toEqual({ unaccounted: [], doubled: [] });
    if (UPDATE || previous === undefined) writeFileSync(expectedFile, `${JSON.stringify(summary, null, 2)}\n`);
    if (!UPDATE) expect(summary).toEqual(previous ?? summary);
  });
});
