/** Every field accounted for exactly once: the fields the issue found dropped are named with
 * their reason, and the leaf walk catches a field no rule covers or two rules cover. */
import { accountFields, accountVerification, MAX_LEAVES, type AccountingInput } from '../../src/verify/field-accounting';
import { selectHost } from '../../src/verify/host-selection';
import { readIstioManifestsAccounted } from '../../src/verify/istio-manifests';
import { draftVerification, type VerifyOptions } from '../../src/verify/plan-verification';

const OPTIONS: VerifyOptions = { target: 'http://svc:8080/', backend: 'meshload', maxDelayMs: 5000, proxy: 'envoy', confidence: 0.999, maxRequests: 2000, sidecar: {}, ejectAdmin: undefined };

/** `path: class: reason` per account, and the exactly-once check's findings. */
function account(text: string): { fields: string[]; unaccounted: string[]; doubled: string[] } {
  const read = readIstioManifestsAccounted([{ file: 'm.yaml', text }]);
  const choice = selectHost(read.policies, { host: undefined, cluster: undefined, url: OPTIONS.target });
  const draft = draftVerification(choice.policies, OPTIONS);
  const plan: AccountingInput['plan'] = { policies: draft.policies, phases: draft.scenario.phases.map((p) => p.name) };
  const result = accountVerification(read, choice, plan);
  return { fields: result.accounts.map((a) => `${a.path}: ${a.class}: ${a.reason}`), unaccounted: result.unaccounted, doubled: result.doubled };
}

const VS_HEAD = 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc}\nspec:\n  hosts: [svc]\n  http:\n';
const DR_HEAD = 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc}\nspec:\n  host: svc\n';

describe('field accounting: fields the reader used to drop', () => {
  it('perTryTimeout is named when retryOn does not cover 503, with the reason', () => {
    const { fields, unaccounted, doubled } = account(`${VS_HEAD}  - route: [{destination: {host: svc}}]\n    retries: {attempts: 2, perTryTimeout: 1s, retryOn: connect-failure}\n`);
    expect({ unaccounted, doubled }).toEqual({ unaccounted: [], doubled: [] });
    expect(fields).toContainEqual(expect.stringMatching(/^spec\.http\[0\]\.retries\.perTryTimeout: not verified: no phase times tries out: retryOn connect-failure does not retry the 503/));
    expect(fields).toContainEqual(expect.stringMatching(/^spec\.http\[0\]\.retries\.attempts: verified: phases retries: /));
  });

  it('maxRetries and maxRequestsPerConnection are named, loadBalancer too', () => {
    const { fields } = account(`${DR_HEAD}  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n    connectionPool:\n      tcp: {maxConnections: 0}\n      http: {http1MaxPendingRequests: 1, maxRetries: 3, maxRequestsPerConnection: 1}\n`);
    expect(fields).toEqual(
      expect.arrayContaining([
        'spec.trafficPolicy.loadBalancer: not verified: load balancing is not verified (no phase tells the algorithm apart)',
        'spec.trafficPolicy.connectionPool.tcp.maxConnections: not applicable: 0 means unset: no limit',
        expect.stringMatching(/^spec\.trafficPolicy\.connectionPool\.http\.maxRetries: not verified: the retry breaker is not exercised/),
        expect.stringMatching(/^spec\.trafficPolicy\.connectionPool\.http\.maxRequestsPerConnection: not verified: not a breaker/),
      ]),
    );
  });

  it('a skipped match route is labelled by what it carries, and the route after a catch-all is unreachable', () => {
    const text = `${VS_HEAD}  - match: [{headers: {end-user: {exact: jason}}}]\n    fault: {abort: {httpStatus: 500, percentage: {value: 100}}}\n    route: [{destination: {host: svc}}]\n  - route: [{destination: {host: svc}}]\n    timeout: 1s\n  - route: [{destination: {host: svc}}]\n    retries: {attempts: 3, retryOn: 5xx}\n`;
    const { fields, unaccounted, doubled } = account(text);
    expect({ unaccounted, doubled }).toEqual({ unaccounted: [], doubled: [] });
    expect(fields).toContain('spec.http[0]: not verified: a route with match conditions (carries fault): the generated load may not match it');
    expect(fields).toContain('spec.http[2]: not verified: unreachable: http[1] before it has no match conditions and takes all traffic');
    expect(fields).toContainEqual(expect.stringMatching(/^spec\.http\[1\]\.timeout: verified: /));
  });

  it('unknown fields keep their did-you-mean; mirror and corsPolicy say why they are not verified', () => {
    const { fields } = account(`${VS_HEAD}  - route: [{destination: {host: svc}}]\n    timout: 1s\n    mirror: {host: svc}\n    corsPolicy: {allowOrigins: [{exact: x}]}\n`);
    expect(fields).toEqual(
      expect.arrayContaining([
        'spec.http[0].timout: not verified: unknown field (typo?), ignored: did you mean timeout?',
        'spec.http[0].mirror: not verified: mirrored traffic goes to another upstream whose answers the client never sees',
        'spec.http[0].corsPolicy: not verified: CORS applies to browser preflight requests, which the plan does not send',
      ]),
    );
  });

  it('a kubectl List: the wrapper does not apply, each item is accounted for at its own path', () => {
    const item = 'apiVersion: networking.istio.io/v1\n  kind: DestinationRule\n  metadata: {name: svc}\n  spec:\n    host: svc\n    trafficPolicy: {connectionPool: {tcp: {maxConnections: 2}}}\n';
    const text = `apiVersion: v1\nkind: List\nmetadata: {resourceVersion: ""}\nitems:\n- ${item}`;
    const { fields, unaccounted, doubled } = account(text);
    expect({ unaccounted, doubled }).toEqual({ unaccounted: [], doubled: [] });
    expect(fields).toEqual(expect.arrayContaining(['kind: not applicable: the kubectl List around the resources', expect.stringMatching(/^items\[0\]\.spec\.trafficPolicy\.connectionPool\.tcp\.maxConnections: verified: /)]));
  });

  it('with no plan (exit 2), every field still gets an account with the reason', () => {
    const { fields } = account(`${VS_HEAD}  - route: [{destination: {host: svc}}]\n    mirror: {host: svc}\n`);
    expect(fields).toContain('spec.http[0].mirror: not verified: mirrored traffic goes to another upstream whose answers the client never sees');
    expect(fields).toContain('apiVersion: not applicable: the resource type');
  });
});

describe('field accounting: hostile sizes', () => {
  it('thousands of resources of other hosts are accounted for in linear time', () => {
    const others = Array.from({ length: 4000 }, (_, i) => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d${i}}\nspec:\n  host: h${i}\n  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}, loadBalancer: {simple: RANDOM}}\n`);
    const text = [...others, `${VS_HEAD}  - route: [{destination: {host: svc}}]\n    timeout: 1s\n`].join('---\n');
    const read = readIstioManifestsAccounted([{ file: 'big.yaml', text }]);
    const choice = selectHost(read.policies, { host: 'svc', cluster: undefined, url: OPTIONS.target });
    const started = performance.now();
    const result = accountVerification(read, choice, { failed: 'test' });
    // Quadratic matching would take minutes here; linear takes well under a second.
    expect(performance.now() - started).toBeLessThan(5000);
    expect({ unaccounted: result.unaccounted.length, doubled: result.doubled.length }).toEqual({ unaccounted: 0, doubled: 0 });
    expect(result.accounts.filter((a) => a.rule === 'field.other-host')).toHaveLength(4000);
  });
});

describe('field accounting: aliases', () => {
  it('a mapping repeated by aliases is walked at most MAX_LEAVES leaves deep, and says the rest are not listed', () => {
    const big = `{${Array.from({ length: 1000 }, (_, i) => `k${i}: ${i}`).join(', ')}}`;
    const aliases = Array.from({ length: 99 }, (_, i) => `  y${i}: *a\n`).join('');
    const text = `${DR_HEAD}  x: &a ${big}\n${aliases}`;
    const read = readIstioManifestsAccounted([{ file: 'm.yaml', text }]);
    expect(read.leaves[0]?.truncated).toBe(true);
    expect(read.leaves[0]?.paths).toHaveLength(MAX_LEAVES);
    const result = accountVerification(read, selectHost(read.policies, { host: undefined, cluster: undefined, url: OPTIONS.target }), { failed: 'test' });
    expect(result.accounts.map((a) => a.reason)).toContain(`more than ${MAX_LEAVES} fields: the rest are not listed`);
    expect(result.unaccounted).toEqual([]);
  });
});

describe('field accounting: the exactly-once check', () => {
  const base: Omit<AccountingInput, 'records' | 'leaves'> = { chosen: new Set(), otherHost: new Map(), destinationRules: [], virtualServices: [], plan: { failed: 'test' } };
  const rec = (path: string, disposition: 'unverified' | 'read'): AccountingInput['records'][number] => ({ file: 'f', document: 1, prefix: '', path, disposition, message: undefined, origin: undefined, resource: 'X x', value: undefined, empty: false });

  it('a leaf no rule covers is reported and still listed as not read; a leaf two rules cover is reported', () => {
    const result = accountFields({ ...base, records: [rec('kind', 'read'), rec('spec.tls', 'unverified'), rec('spec.tls', 'unverified')], leaves: [{ file: 'f', document: 1, paths: ['kind', 'spec.tls.mode', 'spec.extra'], truncated: false }] });
    expect(result.unaccounted).toEqual(['f#1: spec.extra']);
    expect(result.doubled).toEqual(['f#1: spec.tls.mode']);
    expect(result.accounts.map((a) => `${a.path}: ${a.reason}`)).toContain('spec.extra: not read by meshload');
  });
});
