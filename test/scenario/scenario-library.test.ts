/** Every scenario shipped in scenarios/ validates with the real check grammar, and every Istio
 * manifest beside them is a well-formed resource: the library cannot rot unnoticed. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { expandEnv } from '../../src/scenario/expand-env';
import { checkExpectation } from '../../src/checks';
import { loadScenario } from '../../src/scenario/load-scenario';

const ROOT = join(__dirname, '..', '..', 'scenarios');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return name.endsWith('.yaml') ? [path] : [];
  });
}

const all = yamlFiles(ROOT);
// Kubernetes manifests the scenarios apply live in `manifests/` folders beside them.
const manifests = all.filter((f) => f.split(sep).includes('manifests'));
const scenarios = all.filter((f) => !manifests.includes(f));

describe('the scenario library', () => {
  it('has the local, example and Istio scenarios', () => {
    const names = scenarios.map((f) => relative(ROOT, f)).sort();
    expect(names).toEqual(
      expect.arrayContaining(['local/quickstart.yaml', 'local/haproxy-breaker.yaml', 'istio/circuit-breaker.yaml', 'istio/retries.yaml', 'istio/timeout.yaml', 'istio/fault-injection.yaml', 'istio/traffic-shift.yaml']),
    );
  });

  it.each(scenarios.map((f) => [relative(ROOT, f), f]))('%s validates', (_, file) => {
    const { text, missing } = expandEnv(readFileSync(file, 'utf8'), {});
    expect(missing).toEqual([]); // every variable has a default
    expect(() => loadScenario(text, file, { checkExpression: checkExpectation })).not.toThrow();
  });

  it.each(manifests.map((f) => [relative(ROOT, f), f]))('%s holds well-formed resources', (_, file) => {
    const text = readFileSync(file, 'utf8');
    // MESH-FACTS: the sidecar never intercepts UID 1337's traffic.
    expect(text).not.toMatch(/runAsUser:\s*1337\b/);
    for (const doc of parseAllDocuments(text)) {
      expect(doc.errors).toEqual([]);
      const resource = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: { name?: string }; spec?: { selector?: { matchLabels?: Record<string, string> }; template?: { metadata?: { labels?: Record<string, string> } } } };
      const expected: Record<string, string> = { DestinationRule: 'networking.istio.io/v1', VirtualService: 'networking.istio.io/v1', Service: 'v1', ServiceAccount: 'v1', Deployment: 'apps/v1' };
      expect(Object.keys(expected)).toContain(resource.kind);
      expect(resource.apiVersion).toBe(expected[resource.kind as string]);
      expect(resource.metadata?.name).toBeTruthy();
      if (resource.kind === 'Deployment') {
        // A Deployment's selector must match its pod labels, or it never owns its pods.
        for (const [key, value] of Object.entries(resource.spec?.selector?.matchLabels ?? {})) expect(resource.spec?.template?.metadata?.labels?.[key]).toBe(value);
      }
    }
  });
});
