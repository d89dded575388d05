/** Outlier detection as Envoy runs it (test of ./src/verify/outlier-model.ts), and plans that keep
 * an ejection from poisoning other phases (issue 15). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { renderPlan } from '../../src/cli/commands/verify-action';
import { checkExpectation } from '../../src/checks';
import { loadScenario } from '../../src/scenario/load-scenario';
import { readIstioManifests } from '../../src/verify/istio-manifests';
import { VERSION_RULES } from '../../src/verify/istio-version';
import { describeValues, ejectableEndpoints, ejectionLastsMs, endpointsToEjectOne, errorsToEject, OUTLIER_RULES, outlierModel, runProbability } from '../../src/verify/outlier-model';
import { PLAN_RULES, planVerification, type VerifyOptions } from '../../src/verify/plan-verification';

const OPTIONS: VerifyOptions = {
  target: 'http://meshload-server:8080/echo',
  backend: 'meshload',
  maxDelayMs: undefined,
  proxy: 'envoy',
  confidence: 0.999,
  maxRequests: 2000,
  sidecar: { stats: 'http://localhost:15000/stats' },
  ejectAdmin: undefined,
};

function plan(yaml: string, options: Partial<VerifyOptions> = {}): ReturnType<typeof planVerification> {
  return planVerification(readIstioManifests([{ file: 'm.yaml', text: yaml }]), { ...OPTIONS, ...options });
}

function dr(outlier: string): string {
  return `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc}\nspec:\n  host: meshload-server\n  trafficPolicy:\n    outlierDetection: ${outlier}\n`;
}

function vs(route: string): string {
  return `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc}\nspec:\n  hosts: [meshload-server]\n  http:\n  - route:\n    - destination: {host: meshload-server}\n${route}`;
}

/** The model of `outlierDetection: <outlier>` as the manifest reader maps it. */
function modelOf(outlier: string): ReturnType<typeof outlierModel> {
  const od = readIstioManifests([{ file: 'm.yaml', text: dr(outlier) }]).destinationRules[0]?.trafficPolicy?.outlierDetection;
  if (od === undefined) throw new Error(`no outlierDetection in ${outlier}`);
  return outlierModel(od);
}

describe('outlierModel: Envoy defaults and Istio mapping', () => {
  it('a block without thresholds ejects after 5 consecutive 5xx, with every default named', () => {
    const m = modelOf('{}');
    expect([m.consecutive5xx, m.consecutiveGateway, m.intervalMs, m.baseEjectionMs, m.maxEjectionMs, m.maxEjectionPercent, m.minHealthPercent]).toEqual([5, 0, 10_000, 30_000, 300_000, 10, 0]);
    expect(errorsToEject(m)).toBe(5);
    expect(describeValues(m)).toBe(
      'consecutive5xxErrors 5 (default), consecutiveGatewayErrors off (default), interval 10s (default), baseEjectionTime 30s (default), max ejection time 5m (default), maxEjectionPercent 10% (default), minHealthPercent 0 (panic mode off) (default), splitExternalLocalOriginErrors false (timeouts count as 504, connect failures as 503) (default)',
    );
  });

  it('0 turns off only its own detector; the other still ejects', () => {
    expect(errorsToEject(modelOf('{consecutive5xxErrors: 0, consecutiveGatewayErrors: 3}'))).toBe(3);
    expect(errorsToEject(modelOf('{consecutive5xxErrors: 7, consecutiveGatewayErrors: 0}'))).toBe(7);
    expect(errorsToEject(modelOf('{consecutive5xxErrors: 0}'))).toBeUndefined();
    // A gateway threshold under the 5xx one decides first for the 503/504 verify injects.
    expect(errorsToEject(modelOf('{consecutive5xxErrors: 9, consecutiveGatewayErrors: 2}'))).toBe(2);
  });

  it('the deprecated consecutiveErrors is ignored: Envoy default of 5 applies', () => {
    const m = modelOf('{consecutiveErrors: 1}');
    expect(errorsToEject(m)).toBe(5);
    expect(describeValues(m)).toMatch(/consecutiveErrors 1 \(ignored\)/);
    expect(m.rules).toContain('outlier.consecutive-errors-ignored');
  });

  it('maxEjectionPercent is strict: 10% ejects nothing below 10 endpoints; 0 means the default', () => {
    const ten = outlierModel({ consecutive5xxErrors: undefined, consecutiveGatewayErrors: undefined, intervalMs: undefined, baseEjectionTimeMs: undefined, maxEjectionPercent: undefined });
    expect([1, 2, 9, 10, 19, 20].map((n) => ejectableEndpoints(ten, n))).toEqual([0, 0, 0, 1, 1, 2]);
    expect(endpointsToEjectOne(ten)).toBe(10);
    const third = modelOf('{maxEjectionPercent: 34}');
    expect([2, 3].map((n) => ejectableEndpoints(third, n))).toEqual([0, 1]);
    expect(endpointsToEjectOne(third)).toBe(3);
    expect(ejectableEndpoints(modelOf('{maxEjectionPercent: 100}'), 1)).toBe(1);
    expect(modelOf('{maxEjectionPercent: 0}').maxEjectionPercent).toBe(10);
  });

  it('the ejection time grows with each ejection, capped at max(300s, base), plus one sweep', () => {
    const m = modelOf('{baseEjectionTime: 30s, interval: 5s}');
    expect([1, 2, 10, 11, 50].map((n) => ejectionLastsMs(m, n))).toEqual([35_000, 65_000, 305_000, 305_000, 305_000]);
    const long = modelOf('{baseEjectionTime: 10m}');
    expect(long.maxEjectionMs).toBe(600_000);
  });

  it('local-origin errors: timeouts count as 5xx unless split, then on their own threshold', () => {
    expect(errorsToEject(modelOf('{consecutive5xxErrors: 3}'), true)).toBe(3);
    const split = modelOf('{consecutive5xxErrors: 3, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2}');
    expect(errorsToEject(split, true)).toBe(2);
    expect(errorsToEject(modelOf('{splitExternalLocalOriginErrors: true}'), true)).toBe(5);
  });

  it('runProbability is the exact chance of a run of k failures (against enumeration)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 4 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (n, k, p) => {
        let exact = 0;
        for (let mask = 0; mask < 1 << n; mask++) {
          let run = 0;
          let best = 0;
          let prob = 1;
          for (let i = 0; i < n; i++) {
            const fail = (mask >> i) & 1;
            prob *= fail === 1 ? p : 1 - p;
            run = fail === 1 ? run + 1 : 0;
            best = Math.max(best, run);
          }
          if (best >= k) exact += prob;
        }
        expect(runProbability(p, k, n)).toBeCloseTo(exact, 9);
      }),
      { numRuns: 200 },
    );
  });
});

describe('plans that outlier detection cannot poison', () => {
  // The case: one 503 ejects, every endpoint may go, for 3 minutes.
  const POISON = `${dr('{consecutive5xxErrors: 1, maxEjectionPercent: 100, baseEjectionTime: 3m}')}---\n${vs('    timeout: 1s\n    retries: {attempts: 3, retryOn: 5xx}\n')}`;

  it('consecutive5xxErrors 1: retries are not verified (any 503 ejects), the timeout runs one call and the outlier phases wait it out, last', () => {
    const p = plan(POISON, { ejectAdmin: 'http://10.0.0.5:9081' });
    const retries = p.policies.find((x) => x.policy === 'retries');
    expect(retries?.skipped).toMatch(/DestinationRule svc ejects an endpoint after 1 consecutive 5xx .*probability over 0\.1%/);
    expect(p.scenario.phases.map((ph) => ph.name)).toEqual([
      'timeout: upstream faster than 1s',
      'timeout: upstream slower than 1s',
      'outlierDetection: one endpoint fails',
      'outlierDetection: traffic left it',
      'outlierDetection: after the ejection time',
    ]);
    const slow = p.scenario.phases[1];
    // retries 5xx with no perTryTimeout: each try runs to the route timeout, so one try per call.
    expect(slow?.load.requests).toBe(1);
    // The next phase starts after the first ejection's 3m + 10s sweep + margin.
    expect(p.scenario.phases[2]?.steps?.[0]).toEqual({ sleep: '3m15s' });
    // A second ejection of the same endpoint lasts 6m, capped at the 5m maximum.
    expect(p.scenario.phases[4]?.steps).toEqual([{ chaos: { clear: true, admin: 'http://10.0.0.5:9081' } }, { sleep: '5m15s' }]);
    expect(p.scenario.phases[4]?.expect).toEqual(['status(200) == 100%', 'ejections.active == 0']);
  });

  it('the ejection phases run last even when the DestinationRule comes first, and the others stay under the threshold', () => {
    const p = plan(`${dr('{consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 2s, maxEjectionPercent: 50}')}---\n${vs('    timeout: 500ms\n    retries: {attempts: 2, retryOn: gateway-error}\n')}`, { ejectAdmin: 'http://10.0.0.5:9081' });
    const names = p.scenario.phases.map((ph) => ph.name);
    expect(names.slice(-3).every((n) => n.startsWith('outlierDetection:'))).toBe(true);
    expect(names.slice(0, -3).some((n) => n.startsWith('outlierDetection:'))).toBe(false);
    // Four 504s at most before a 200: five in a row would eject.
    expect(p.scenario.phases.find((ph) => /slower than 500ms/.test(ph.name))?.load.requests).toBe(4);
    const retry = p.scenario.phases.find((ph) => /^retries: each try fails/.test(ph.name));
    // A smaller failure share than 50%, so that a run of 5 failed tries stays under 0.1%.
    expect(retry?.name).not.toMatch(/50%/);
    expect(retry?.description).toMatch(/a run of 5 failed tries is this unlikely: \d\.\de-\d/);
    expect(retry?.expect).toContain('cause(no_healthy) == 0');
    expect(p.policies.find((x) => x.policy === 'outlierDetection')?.model).toMatch(/maxEjectionPercent 50% is strict: .*with fewer than 2 endpoints nothing is ejected/);
    // No phase waits: none may eject.
    expect(p.scenario.phases.some((ph) => ph.steps?.some((s) => 'sleep' in s && ph.name !== 'outlierDetection: after the ejection time'))).toBe(false);
  });

  it("a subset's stricter detector holds the phases too; a short ejection time makes the ejection check at best inconclusive", () => {
    const subset = `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc}\nspec:\n  host: meshload-server\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 7, baseEjectionTime: 1s}\n  subsets:\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy:\n      outlierDetection: {consecutive5xxErrors: 3}\n---\n${vs('    timeout: 500ms\n')}`;
    const p = plan(subset, { ejectAdmin: 'http://10.0.0.5:9081' });
    expect(p.scenario.phases.find((ph) => /slower than 500ms/.test(ph.name))?.load.requests).toBe(2);
    const od = p.policies.find((x) => x.policy === 'outlierDetection' && x.skipped === undefined);
    expect(od?.model).toMatch(/^consecutive5xxErrors 7, .*baseEjectionTime 1s/);
    expect(od?.unshown).toEqual(['baseEjectionTime 1s: the "traffic left it" phase may outlast the ejection, and the endpoint\'s 503s come back']);
  });

  it('without thresholds the block still ejects (Envoy default 5), and says what the endpoint count must be', () => {
    const p = plan(dr('{}'), { ejectAdmin: 'http://10.0.0.5:9081' });
    expect(p.policies[0]?.model).toMatch(/^consecutive5xxErrors 5 \(default\).*An endpoint answering 5 5xx in a row/);
    expect(p.scenario.phases[0]?.description).toMatch(/the service needs at least 10 endpoints: maxEjectionPercent 10%/);
    // The 5xx detector ejects (the gateway one is off): its own counter says so.
    expect(p.scenario.phases[0]?.expect).toEqual(['ejections.enforced > 0', 'delta(outlier_detection.ejections_enforced_consecutive_5xx) > 0']);
    const gateway = plan(dr('{consecutiveGatewayErrors: 2}'), { ejectAdmin: 'http://10.0.0.5:9081' });
    expect(gateway.scenario.phases[0]?.expect[1]).toBe('delta(outlier_detection.ejections_enforced_consecutive_gateway_failure) > 0');
    // What meshload run reads back: every check parses, the sleeps and chaos steps too.
    const scenario = loadScenario(renderPlan(gateway, ['m.yaml']), 'plan.yaml', { checkExpression: checkExpectation });
    expect(scenario.phases.map((ph) => ph.expect.length)).toEqual([2, 1, 2]);
    expect(p.rules).toEqual(expect.arrayContaining(['outlier.consecutive-5xx-default', 'outlier.max-ejection-percent', 'outlier.ejection-time']));
  });

  it('both detectors off: not verified, and the reason names them', () => {
    expect(() => plan(dr('{consecutive5xxErrors: 0}'), { ejectAdmin: 'http://10.0.0.5:9081' })).toThrow(/outlierDetection: consecutive5xxErrors is 0 and consecutiveGatewayErrors is off/);
  });

  it('no outlier detection: the retry phase keeps 50% and no ejection check', () => {
    const p = plan(vs('    retries: {attempts: 3, retryOn: 5xx}\n'));
    expect(p.scenario.phases[0]?.name).toBe('retries: each try fails at 50%');
    expect(p.scenario.phases[0]?.expect).not.toContain('cause(no_healthy) == 0');
  });
});

describe('the rules table', () => {
  it('names every rule the model and the version module encode, with a source', () => {
    const table = readFileSync(join(__dirname, '..', '..', 'docs', 'verify-rules.md'), 'utf8');
    for (const id of [...Object.keys(OUTLIER_RULES), ...Object.keys(VERSION_RULES), ...Object.keys(PLAN_RULES)]) {
      const row = table.split('\n').find((line) => line.startsWith(`| \`${id}\` |`));
      expect({ id, row: row !== undefined }).toEqual({ id, row: true });
      // rule | what meshload does | source | versions
      expect(row?.split(/(?<!\\)\|/).filter((c) => c.trim() !== '').length).toBe(4);
    }
  });
});

describe('breakers', () => {
  const pool = (http: string): string =>
    `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc}\nspec:\n  host: meshload-server\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 2}\n      http: ${http}\n`;
  const over = (p: ReturnType<typeof planVerification>): ReturnType<typeof planVerification>['scenario']['phases'][number] | undefined =>
    p.scenario.phases.find((ph) => /^connectionPool: over/.test(ph.name));

  it('keeps the two kinds of overflow apart: a full queue counts as pending, http2MaxRequests as either', () => {
    expect(over(plan(pool('{http1MaxPendingRequests: 1}')))?.expect[0]).toBe('breaker.pending > 0');
    const active = plan(pool('{http1MaxPendingRequests: 5, http2MaxRequests: 3}'));
    expect(over(active)?.expect[0]).toBe('breaker.rejected > 0');
    expect(active.policies[0]?.model).toMatch(/http2MaxRequests rejects \(counted as pending overflow before Envoy 1\.38, as upstream_rq_active_overflow from 1\.38/);
    expect(active.assumptions).toContain('an HTTP/1.1 upstream: on HTTP/2 (h2UpgradePolicy UPGRADE, gRPC) requests multiplex and never queue, so only http2MaxRequests bites.');
  });

  it('N client proxies (shards) let N times the limits in: the breaker phases carry N times the load', () => {
    const one = plan(pool('{http1MaxPendingRequests: 1}'));
    const three = plan(pool('{http1MaxPendingRequests: 1}'), { clientProxies: 3 });
    expect(over(one)?.load.connections).toBe(9);
    expect(over(three)?.load.connections).toBe(27);
    expect(three.scenario.phases[0]?.load.connections).toBe(6);
    expect(three.policies[0]?.model).toMatch(/per client proxy \(3 proxies, one per shard/);
  });
});

describe('the retry breaker', () => {
  const withMaxRetries = (outlier: string): string =>
    `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc}\nspec:\n  host: meshload-server\n  trafficPolicy:\n    connectionPool: {http: {maxRetries: 2}}\n${outlier}---\n${vs('    retries: {attempts: 2, retryOn: 5xx}\n')}`;

  it('maxRetries: the retry phase stays under it, and a phase over it shows upstream_rq_retry_overflow', () => {
    const p = plan(withMaxRetries(''));
    expect(p.scenario.phases[0]?.expect).toContain('retries.overflowed == 0');
    const over = p.scenario.phases.find((ph) => /more retries in flight than maxRetries 2/.test(ph.name));
    expect(over?.load).toEqual({ connections: 9, requests: 90, url: 'http://meshload-server:8080/echo?status=503&delay=50ms' });
    expect(over?.expect).toEqual(['status(503) == 100%', 'retries.overflowed > 0']);
  });

  it('with outlier detection every-try failures would eject: not shown, and the verdict says so', () => {
    const p = plan(withMaxRetries('    outlierDetection: {consecutive5xxErrors: 5}\n'));
    expect(p.scenario.phases.some((ph) => /maxRetries/.test(ph.name))).toBe(false);
    expect(p.policies.find((x) => x.policy === 'retries')?.unshown).toEqual([expect.stringMatching(/^the Istio version: on Istio <= 1\.23/), expect.stringMatching(/^maxRetries 2: showing it takes every try failing, and DestinationRule svc ejects an endpoint after 5 consecutive 5xx/)]);
  });
});

describe("a subset's own outlierDetection", () => {
  const RULE = `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc}\nspec:\n  host: meshload-server\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 7}\n  subsets:\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy:\n      outlierDetection: {consecutive5xxErrors: 3, maxEjectionPercent: 50}\n  - name: v2\n    labels: {version: v2}\n`;
  const route = (destinations: string): string => `---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc}\nspec:\n  hosts: [meshload-server]\n  http:\n  - route:\n${destinations}`;
  const ADMIN = { ejectAdmin: 'http://10.0.0.5:9081' };

  it('all traffic routed to the subset: its ejection is planned, and the rule-level block it replaces is not', () => {
    const p = plan(`${RULE}${route('    - destination: {host: meshload-server, subset: v1}\n')}`, ADMIN);
    const od = p.policies.filter((x) => x.policy === 'outlierDetection');
    expect(od.map((x) => [x.subject, x.skipped === undefined])).toEqual([
      ['DestinationRule svc', false],
      ['DestinationRule svc subset v1', true],
    ]);
    expect(od[0]?.skipped).toMatch(/^the route sends all traffic to subset v1, whose own outlierDetection replaces this one/);
    expect(od[1]?.model).toMatch(/^consecutive5xxErrors 3, .*It applies to the endpoints of subset v1/);
    expect(p.scenario.phases.map((ph) => ph.name)).toEqual(['outlierDetection: one endpoint fails', 'outlierDetection: traffic left it', 'outlierDetection: after the ejection time']);
    expect(p.scenario.phases[0]?.description).toMatch(/^The endpoint behind http:\/\/10\.0\.0\.5:9081 \(one of subset v1\) answers 503 to everything; after 3 in a row/);
    expect(p.rules).toContain('outlier.subset-replaces');
  });

  it('a split or no route: the subset is not verified, with the reason; the rule-level block is', () => {
    const split = plan(`${RULE}${route('    - destination: {host: meshload-server, subset: v1}\n      weight: 50\n    - destination: {host: meshload-server, subset: v2}\n      weight: 50\n')}`, ADMIN);
    const sub = split.policies.find((x) => x.subject === 'DestinationRule svc subset v1' && x.policy === 'outlierDetection');
    expect(sub?.skipped).toMatch(/^no route in the files sends all its traffic to this subset .*: route the load to subset v1 alone/);
    expect(split.policies.find((x) => x.subject === 'DestinationRule svc' && x.policy === 'outlierDetection')?.skipped).toBeUndefined();
    const other = plan(`${RULE}${route('    - destination: {host: meshload-server, subset: v2}\n')}`, ADMIN);
    expect(other.policies.find((x) => x.subject === 'DestinationRule svc subset v1')?.skipped).toMatch(/^the route sends all traffic to subset v2: route the load to subset v1 alone/);
  });
});

describe('the endpoint count of a routed subset', () => {
  it("the rule's detector on traffic routed to a subset without its own: the service's count is not the subset's, so it stays unknown", () => {
    const text = `${dr('{consecutive5xxErrors: 3}')}  subsets:\n  - name: v2\n    labels: {version: v2}\n---\n${vs('').replace('{host: meshload-server}', '{host: meshload-server, subset: v2}')}`;
    const p = plan(text, { ejectAdmin: 'http://10.0.0.5:9081', endpoints: { count: 30, source: '--endpoints' } });
    const od = p.policies.find((x) => x.policy === 'outlierDetection');
    expect(od?.model).toMatch(/It applies to the endpoints of subset v2, where the route sends all traffic; their count is not known/);
    expect(p.scenario.phases.map((ph) => ph.name)).toEqual(['outlierDetection: one endpoint fails', 'outlierDetection: traffic left it', 'outlierDetection: after the ejection time']);
    // 3 in the service: the subset has at most 3, and 10% of them is under one: nothing ejects there either.
    const few = plan(text, { ejectAdmin: 'http://10.0.0.5:9081', endpoints: { count: 3, source: '--endpoints' } });
    expect(few.policies.find((x) => x.policy === 'outlierDetection')?.model).toMatch(/subset v2, where the route sends all traffic: at most the service's 3 \(--endpoints\), of which 10% is under one, so nothing is ejected\./);
    expect(few.scenario.phases.map((ph) => ph.name)).toEqual(['outlierDetection: one endpoint fails, none is ejected']);
  });
});
