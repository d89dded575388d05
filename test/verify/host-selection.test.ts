/** One service out of many: --host, --cluster or the URL chooses it with Istio's host rules
 * (short names resolve in the rule's namespace, wildcards match suffixes); no choice possible is
 * a one-line usage error naming the candidates. */
import { MeshloadError } from '../../src/util/errors';
import { hostOfCluster, resolveHost, selectHost } from '../../src/verify/host-selection';
import { readIstioManifests } from '../../src/verify/istio-manifests';
import { planVerification, type VerifyOptions } from '../../src/verify/plan-verification';

const PLAN_OPTIONS: VerifyOptions = { target: 'http://bookinfo.example.com/productpage', backend: 'meshload', maxDelayMs: undefined, proxy: 'envoy', confidence: 0.999, maxRequests: 2000, sidecar: {}, ejectAdmin: undefined };

function dr(name: string, host: string, namespace?: string): string {
  return `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: ${name}\n${namespace === undefined ? '' : `  namespace: ${namespace}\n`}spec:\n  host: ${host}\n`;
}

function vs(name: string, hosts: string[], dest: string): string {
  return `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: ${name}\nspec:\n  hosts: [${hosts.map((h) => JSON.stringify(h)).join(', ')}]\n  http:\n  - route: [{destination: {host: ${dest}}}]\n    timeout: 1s\n`;
}

const BOOKINFO = [dr('productpage', 'productpage'), dr('reviews', 'reviews'), dr('ratings', 'ratings'), vs('reviews', ['reviews'], 'reviews')].join('---\n');

function choose(text: string, input: { host?: string; cluster?: string; url: string }): { host: string; by: string; chosen: string[]; others: string[] } {
  const choice = selectHost(readIstioManifests([{ file: 'm.yaml', text }]), { host: input.host, cluster: input.cluster, url: input.url });
  const name = (r: { origin: { kind: string; name: string } }): string => `${r.origin.kind} ${r.origin.name}`;
  return { host: choice.host, by: choice.by, chosen: [...choice.policies.destinationRules, ...choice.policies.virtualServices].map(name), others: choice.others.map(name) };
}

function refusal(text: string, input: { host?: string; cluster?: string; url: string }): string {
  try {
    choose(text, input);
  } catch (error) {
    if (error instanceof MeshloadError) return error.oneLine();
    throw error;
  }
  throw new Error('no usage error');
}

describe('resolveHost', () => {
  it.each([
    ['reviews', 'default', { kind: 'service', name: 'reviews', namespace: 'default' }],
    ['reviews', undefined, { kind: 'service', name: 'reviews', namespace: undefined }],
    // Istio takes a rule's dotted host as written (pilot/pkg/model/config.go ResolveShortnameToFQDN).
    ['reviews.prod', undefined, { kind: 'literal', name: 'reviews.prod' }],
    ['reviews.prod.svc.cluster.local', 'default', { kind: 'service', name: 'reviews', namespace: 'prod' }],
    ['*.my-co.org', undefined, { kind: 'wildcard', suffix: '.my-co.org' }],
    ['*', undefined, { kind: 'wildcard', suffix: '' }],
    ['httpbin.org', undefined, { kind: 'literal', name: 'httpbin.org' }],
  ])('%s in namespace %s', (host, namespace, expected) => {
    expect(resolveHost(host, namespace)).toEqual(expected);
  });

  it('a client reaches a service as name.namespace and name.namespace.svc too', () => {
    expect(resolveHost('reviews.prod', undefined, true)).toEqual({ kind: 'service', name: 'reviews', namespace: 'prod' });
    expect(resolveHost('reviews.prod.svc', undefined, true)).toEqual({ kind: 'service', name: 'reviews', namespace: 'prod' });
  });

  it('reads the host out of an Envoy cluster name', () => {
    expect(hostOfCluster('outbound|9080|v1|reviews.default.svc.cluster.local')).toBe('reviews.default.svc.cluster.local');
    expect(hostOfCluster('svc')).toBe('svc');
  });
});

describe('selectHost', () => {
  it("Bookinfo's rules for every service with a reviews VirtualService: the URL chooses reviews, the rest are other hosts", () => {
    expect(choose(BOOKINFO, { url: 'http://reviews:9080/reviews/1' })).toEqual({
      host: 'reviews',
      by: 'the URL',
      chosen: ['DestinationRule reviews', 'VirtualService reviews'],
      others: ['DestinationRule productpage', 'DestinationRule ratings'],
    });
  });

  it('--host wins over --cluster, which wins over the URL', () => {
    expect(choose(BOOKINFO, { host: 'ratings', cluster: 'outbound|9080||reviews.default.svc.cluster.local', url: 'http://productpage:9080/' })).toMatchObject({ host: 'ratings', by: '--host' });
    expect(choose(BOOKINFO, { cluster: 'outbound|9080|v1|reviews.default.svc.cluster.local', url: 'http://productpage:9080/' })).toMatchObject({ by: '--cluster', chosen: ['DestinationRule reviews', 'VirtualService reviews'] });
  });

  it('an FQDN matches short names written without a namespace, and a rule in its own namespace', () => {
    expect(choose(BOOKINFO, { url: 'http://reviews.default.svc.cluster.local:9080/' }).chosen).toEqual(['DestinationRule reviews', 'VirtualService reviews']);
    const text = [dr('reviews', 'reviews', 'prod'), dr('ratings', 'ratings', 'prod')].join('---\n');
    expect(choose(text, { url: 'http://reviews.prod.svc.cluster.local/' }).chosen).toEqual(['DestinationRule reviews']);
    // A short name resolves in the rule's namespace (prod), not the one the URL names.
    expect(refusal(text, { url: 'http://reviews.default.svc.cluster.local/' })).toMatch(/^the URL names reviews\.default\.svc\.cluster\.local, which no DestinationRule or VirtualService in the files configures \(they configure reviews\.prod, ratings\.prod\)/);
  });

  it('a wildcard VirtualService applies to the hosts under it', () => {
    const text = [vs('my-vtl-svc', ['*.my-co.org'], 'my-svc'), dr('other', 'other')].join('---\n');
    expect(choose(text, { url: 'http://api.my-co.org/' })).toMatchObject({ chosen: ['VirtualService my-vtl-svc'], others: ['DestinationRule other'] });
  });

  it('one service in the files is chosen whatever the URL or --cluster say, but --host must name it', () => {
    expect(choose(dr('httpbin', 'httpbin'), { url: 'http://127.0.0.1:8080/' })).toMatchObject({ host: 'httpbin', by: 'the only host in the files' });
    expect(choose(dr('httpbin', 'httpbin'), { cluster: 'be_httpbin', url: 'http://127.0.0.1:8080/' })).toMatchObject({ host: 'httpbin' });
    expect(refusal(dr('httpbin', 'httpbin'), { host: 'reviews', url: 'http://127.0.0.1:8080/' })).toMatch(/^--host names reviews, which no DestinationRule or VirtualService in the files configures \(they configure httpbin\)/);
  });

  it('no choice possible: one line naming the candidate hosts', () => {
    expect(refusal(BOOKINFO, { url: 'http://127.0.0.1:8080/' })).toBe('the URL names 127.0.0.1, which no DestinationRule or VirtualService in the files configures (they configure productpage, reviews, ratings) (pass --host with one of them)');
    const twoNamespaces = [dr('a', 'reviews', 'team-a'), dr('b', 'reviews', 'team-b')].join('---\n');
    expect(refusal(twoNamespaces, { url: 'http://reviews:9080/' })).toBe('reviews (the URL) matches reviews.team-a, reviews.team-b (name the namespace too, e.g. --host reviews.team-a)');
    expect(choose(twoNamespaces, { host: 'reviews.team-b', url: 'http://reviews:9080/' }).chosen).toEqual(['DestinationRule b']);
  });
});

describe('the DestinationRule of the host a VirtualService routes to', () => {
  // Bookinfo's shape: an edge host routed to productpage, whose DestinationRule sets the policy.
  const EDGE = [
    `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: productpage}\nspec:\n  host: productpage\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 3}\n`,
    dr('reviews', 'reviews'),
    dr('ratings', 'ratings', 'prod'),
    vs('bookinfo', ['bookinfo.example.com'], 'productpage'),
  ].join('---\n');

  it('applies to the routed traffic: chosen with the VirtualService, named with why; the rest stay other hosts', () => {
    const choice = selectHost(readIstioManifests([{ file: 'm.yaml', text: EDGE }]), { host: undefined, cluster: undefined, url: 'http://bookinfo.example.com/productpage' });
    expect(choice.policies.destinationRules.map((d) => d.origin.name)).toEqual(['productpage']);
    expect(choice.others.map((r) => r.origin.name)).toEqual(['reviews', 'ratings']);
    expect(choice.routedTo).toEqual(['DestinationRule productpage (productpage: a destination of VirtualService bookinfo)']);
    // The planner verifies one service (the VirtualService's host) and reads the productpage cluster.
    const plan = planVerification(choice.policies, { ...PLAN_OPTIONS, ejectAdmin: 'http://127.0.0.1:9/admin' });
    expect(plan.scenario.name).toBe('verify bookinfo');
    expect(plan.scenario.sidecar).toMatchObject({ cluster: 'productpage' });
    expect(plan.policies.map((p) => `${p.policy} ${p.subject}`)).toEqual(['timeout VirtualService bookinfo http[0]', 'outlierDetection DestinationRule productpage']);
  });

  it('a destination in another namespace does not pull in a rule of the same name elsewhere', () => {
    const text = [dr('reviews-prod', 'reviews', 'prod'), vs('edge', ['edge.example.com'], 'reviews.dev.svc.cluster.local')].join('---\n');
    expect(choose(text, { url: 'http://edge.example.com/' })).toMatchObject({ chosen: ['VirtualService edge'], others: ['DestinationRule reviews-prod'] });
  });
});
