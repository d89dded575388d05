import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshloadError } from '../../src/util/errors';
import { ManifestError, readIstioManifests } from '../../src/verify/istio-manifests';
import { formatNote, type IstioPolicies } from '../../src/verify/istio-policy';

const MANIFESTS = join(__dirname, '..', '..', 'scenarios', 'istio', 'manifests');

function manifest(name: string): { file: string; text: string } {
  return { file: name, text: readFileSync(join(MANIFESTS, name), 'utf8') };
}

function read(text: string, file = 'x.yaml'): IstioPolicies {
  return readIstioManifests([{ file, text }]);
}

function problemsOf(files: Array<{ file: string; text: string }> | string): string[] {
  try {
    readIstioManifests(typeof files === 'string' ? [{ file: 'x.yaml', text: files }] : files);
  } catch (error) {
    if (error instanceof ManifestError) return error.problems;
    throw error;
  }
  throw new Error('expected a ManifestError');
}

function notesOf(policies: IstioPolicies): string[] {
  return policies.notes.map(formatNote);
}

const DR_HEAD = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: httpbin
spec:
  host: httpbin
`;

const VS_HEAD = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
spec:
  hosts: [web]
  http:
`;

describe('readIstioManifests: the repository manifests', () => {
  it('reads the circuit breaker of Istio\'s task', () => {
    const policies = readIstioManifests([manifest('httpbin-circuit-breaker.yaml')]);
    expect(policies.virtualServices).toEqual([]);
    expect(policies.notes).toEqual([]);
    expect(policies.destinationRules).toEqual([
      {
        origin: { file: 'httpbin-circuit-breaker.yaml', kind: 'DestinationRule', name: 'meshload-breaker-httpbin', namespace: undefined },
        host: 'httpbin',
        trafficPolicy: {
          connectionPool: {
            maxConnections: 1,
            http1MaxPendingRequests: 1,
            http2MaxRequests: undefined,
            maxRetries: undefined,
            maxRequestsPerConnection: 1,
          },
          outlierDetection: undefined,
        },
        subsets: [],
      },
    ]);
  });

  it('reads retries on 5xx', () => {
    const [service] = readIstioManifests([manifest('meshload-server-retries.yaml')]).virtualServices;
    expect(service?.hosts).toEqual(['meshload-server']);
    expect(service?.http).toEqual([
      {
        name: 'http[0]',
        index: 0,
        hasMatch: false,
        destinations: [{ host: 'meshload-server', subset: undefined, port: undefined, weight: undefined }],
        timeoutMs: undefined,
        retries: { attempts: 3, perTryTimeoutMs: 2000, retryOn: ['5xx'] },
        faultDelay: undefined,
        faultAbort: undefined,
      },
    ]);
  });

  it('reads the 80/20 traffic shift and its subsets', () => {
    const policies = readIstioManifests([manifest('meshload-server-traffic-shift.yaml')]);
    expect(policies.notes).toEqual([]);
    expect(policies.destinationRules[0]?.subsets).toEqual([
      { name: 'v1', labels: { version: 'v1' }, trafficPolicy: undefined },
      { name: 'v2', labels: { version: 'v2' }, trafficPolicy: undefined },
    ]);
    expect(policies.virtualServices[0]?.http[0]?.destinations).toEqual([
      { host: 'meshload-server', subset: 'v1', port: undefined, weight: 80 },
      { host: 'meshload-server', subset: 'v2', port: undefined, weight: 20 },
    ]);
  });

  it('reads the timeout and the fault', () => {
    const policies = readIstioManifests([manifest('meshload-server-timeout.yaml'), manifest('meshload-server-fault.yaml')]);
    expect(policies.virtualServices.map((vs) => vs.origin.file)).toEqual(['meshload-server-timeout.yaml', 'meshload-server-fault.yaml']);
    expect(policies.virtualServices[0]?.http[0]?.timeoutMs).toBe(500);
    expect(policies.virtualServices[1]?.http[0]?.faultAbort).toEqual({ httpStatus: 500, percent: 50 });
    expect(policies.virtualServices[1]?.http[0]?.faultDelay).toBeUndefined();
  });

  it('skips the Kubernetes workloads with a note each', () => {
    const policies = readIstioManifests([manifest('httpbin.yaml'), manifest('meshload-server.yaml')]);
    expect(policies.destinationRules).toEqual([]);
    expect(policies.virtualServices).toEqual([]);
    expect(notesOf(policies)).toEqual([
      'httpbin.yaml: ServiceAccount httpbin: not a DestinationRule or VirtualService, skipped',
      'httpbin.yaml: Service httpbin: not a DestinationRule or VirtualService, skipped',
      'httpbin.yaml: Deployment httpbin: not a DestinationRule or VirtualService, skipped',
      'meshload-server.yaml: ServiceAccount meshload-server: not a DestinationRule or VirtualService, skipped',
      'meshload-server.yaml: Service meshload-server: not a DestinationRule or VirtualService, skipped',
      'meshload-server.yaml: Deployment meshload-server-v1: not a DestinationRule or VirtualService, skipped',
      'meshload-server.yaml: Deployment meshload-server-v2: not a DestinationRule or VirtualService, skipped',
      'meshload-server.yaml: Deployment meshload-server-v3: not a DestinationRule or VirtualService, skipped',
    ]);
  });

  it('reads every manifest of the directory together without problems', () => {
    const files = ['httpbin.yaml', 'httpbin-circuit-breaker.yaml', 'meshload-server.yaml', 'meshload-server-traffic-shift.yaml'].map(manifest);
    const policies = readIstioManifests(files);
    expect(policies.destinationRules.map((dr) => dr.host)).toEqual(['httpbin', 'meshload-server']);
    expect(policies.notes.every((n) => n.message.endsWith('skipped'))).toBe(true);
  });
});

describe('readIstioManifests: input forms', () => {
  it('reads kubectl get -o yaml output (kind: List) and ignores its noise', () => {
    const text = `apiVersion: v1
items:
- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"annotations":{},"name":"httpbin","namespace":"default"},"spec":{"host":"httpbin","trafficPolicy":{"connectionPool":{"tcp":{"maxConnections":1}}}}}
    creationTimestamp: "2025-03-01T10:00:00Z"
    generation: 1
    name: httpbin
    namespace: default
    resourceVersion: "12345"
    uid: 0b8a1c52-2f1e-4a55-9d0e-9d3c2d1f0e11
  spec:
    host: httpbin
    trafficPolicy:
      connectionPool:
        tcp:
          maxConnections: 1
  status: {}
- apiVersion: networking.istio.io/v1
  kind: VirtualService
  metadata:
    creationTimestamp: "2025-03-01T10:00:00Z"
    generation: 2
    labels:
      team: payments
    name: httpbin
    namespace: default
    resourceVersion: "12346"
    uid: 3c1d2e4f-0000-4a55-9d0e-9d3c2d1f0e12
  spec:
    hosts:
    - httpbin.default.svc.cluster.local
    http:
    - name: primary
      route:
      - destination:
          host: httpbin.default.svc.cluster.local
          port:
            number: 8000
      timeout: 3s
  status:
    observedGeneration: 2
kind: List
metadata:
  resourceVersion: ""
`;
    const policies = read(text, 'cluster.yaml');
    expect(policies.notes).toEqual([]);
    expect(policies.destinationRules[0]?.origin).toEqual({ file: 'cluster.yaml', kind: 'DestinationRule', name: 'httpbin', namespace: 'default' });
    expect(policies.destinationRules[0]?.trafficPolicy?.connectionPool?.maxConnections).toBe(1);
    const [vs] = policies.virtualServices;
    expect(vs?.origin.namespace).toBe('default');
    expect(vs?.hosts).toEqual(['httpbin.default.svc.cluster.local']);
    expect(vs?.http[0]).toMatchObject({ name: 'primary', timeoutMs: 3000, destinations: [{ host: 'httpbin.default.svc.cluster.local', port: 8000, subset: undefined, weight: undefined }] });
  });

  it('names the list item in problems of a kind: List', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata: {namespace: default}
  spec: {host: httpbin}
`;
    expect(problemsOf(text)).toEqual(['x.yaml:6: DestinationRule in document 1 items[0]: metadata.name: missing - give the resource a name: metadata: {name: httpbin}']);
  });

  it.each(['v1alpha3', 'v1beta1', 'v1'])('accepts networking.istio.io/%s', (version) => {
    const text = DR_HEAD.replace('/v1', `/${version}`) + '  trafficPolicy:\n    connectionPool:\n      http: {http2MaxRequests: 100}\n';
    expect(read(text).destinationRules[0]?.trafficPolicy?.connectionPool?.http2MaxRequests).toBe(100);
  });

  it('rejects an unknown networking.istio.io version', () => {
    expect(problemsOf(DR_HEAD.replace('/v1', '/v2'))).toEqual([
      'x.yaml:1: DestinationRule httpbin: apiVersion: DestinationRule version "v2" is not one meshload knows - use networking.istio.io/v1 (or v1beta1, v1alpha3)',
    ]);
  });

  it('skips other API groups and other Istio kinds with a note', () => {
    const text = `apiVersion: example.com/v1
kind: DestinationRule
metadata: {name: lookalike}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: istio-system}
spec: {selector: {istio: ingressgateway}}
`;
    expect(notesOf(read(text))).toEqual([
      'x.yaml: DestinationRule lookalike: apiVersion example.com/v1 is not networking.istio.io, skipped',
      'x.yaml: Gateway ingress: not a DestinationRule or VirtualService, skipped',
    ]);
  });

  it('skips empty documents silently', () => {
    const text = `---\n# only a comment\n---\n${DR_HEAD}---\n---\n`;
    const policies = read(text);
    expect(policies.destinationRules).toHaveLength(1);
    expect(policies.notes).toEqual([]);
    expect(read('')).toEqual({ destinationRules: [], virtualServices: [], notes: [] });
  });
});

describe('readIstioManifests: mapping', () => {
  it('reads outlier detection and keeps consecutive5xxErrors: 0', () => {
    const text = `${DR_HEAD}  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 0
      consecutiveGatewayErrors: 3
      interval: 10s
      baseEjectionTime: 30s
      maxEjectionPercent: 50
`;
    expect(read(text).destinationRules[0]?.trafficPolicy?.outlierDetection).toEqual({
      consecutive5xxErrors: 0,
      consecutiveGatewayErrors: 3,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionPercent: 50,
    });
  });

  it('treats 0 connection pool limits as unset', () => {
    const text = `${DR_HEAD}  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 0}
      http: {http1MaxPendingRequests: 0, maxRetries: 2, maxRequestsPerConnection: 0}
`;
    expect(read(text).destinationRules[0]?.trafficPolicy?.connectionPool).toEqual({
      maxConnections: undefined,
      http1MaxPendingRequests: undefined,
      http2MaxRequests: undefined,
      maxRetries: 2,
      maxRequestsPerConnection: undefined,
    });
  });

  it('keeps the deprecated consecutiveErrors apart, with a note: current Istio ignores it', () => {
    const text = `${DR_HEAD}  trafficPolicy:\n    outlierDetection: {consecutiveErrors: 7, minHealthPercent: 50, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2}\n`;
    const policies = read(text);
    const od = policies.destinationRules[0]?.trafficPolicy?.outlierDetection;
    expect(od?.consecutiveGatewayErrors).toBeUndefined();
    expect(od?.consecutive5xxErrors).toBeUndefined();
    expect(od?.consecutiveErrors).toBe(7);
    expect([od?.minHealthPercent, od?.splitExternalLocalOriginErrors, od?.consecutiveLocalOriginFailures]).toEqual([50, true, 2]);
    expect(policies.notes).toEqual([
      expect.objectContaining({ path: 'spec.trafficPolicy.outlierDetection.consecutiveErrors', message: expect.stringContaining('deprecated and ignored by current Istio') }),
    ]);
  });

  it('reads subset traffic policies', () => {
    const text = `${DR_HEAD}  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      connectionPool:
        http: {http1MaxPendingRequests: 5}
`;
    expect(read(text).destinationRules[0]?.subsets[0]?.trafficPolicy?.connectionPool?.http1MaxPendingRequests).toBe(5);
  });

  it('reads matches, names, retries and faults of each route', () => {
    const text = `${VS_HEAD}  - name: canary
    match:
    - headers: {x-canary: {exact: "1"}}
    route:
    - destination: {host: web}
    fault:
      delay:
        fixedDelay: 100ms
        percentage: {value: 12.5}
    retries:
      attempts: 0
  - route:
    - destination: {host: web}
    retries:
      attempts: 2
      retryOn: " connect-failure , 503,reset "
    fault:
      abort: {httpStatus: 503}
`;
    const [canary, rest] = read(text).virtualServices[0]?.http ?? [];
    expect(canary).toMatchObject({ name: 'canary', index: 0, hasMatch: true, retries: { attempts: 0, perTryTimeoutMs: undefined, retryOn: undefined } });
    expect(canary?.faultDelay).toEqual({ fixedDelayMs: 100, percent: 12.5 });
    expect(rest).toMatchObject({ name: 'http[1]', index: 1, hasMatch: false, retries: { attempts: 2, retryOn: ['connect-failure', '503', 'reset'] } });
    // Without percentage nothing is injected: undefined, not a default.
    expect(rest?.faultAbort).toEqual({ httpStatus: 503, percent: undefined });
  });

  it('reads the deprecated integer percent with a note', () => {
    const text = `${VS_HEAD}  - route:\n    - destination: {host: web}\n    fault:\n      delay: {fixedDelay: 2s, percent: 30}\n`;
    const policies = read(text);
    expect(policies.virtualServices[0]?.http[0]?.faultDelay).toEqual({ fixedDelayMs: 2000, percent: 30 });
    expect(notesOf(policies)).toEqual(['x.yaml: VirtualService web: spec.http[0].fault.delay.percent: deprecated: write percentage: {value: N} instead']);
  });

  it('notes unsupported fault kinds and leaves that part undefined', () => {
    const text = `${VS_HEAD}  - route:
    - destination: {host: web}
    fault:
      delay: {exponentialDelay: 1s, percentage: {value: 10}}
      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 10}}
`;
    const policies = read(text);
    expect(policies.virtualServices[0]?.http[0]?.faultDelay).toBeUndefined();
    expect(policies.virtualServices[0]?.http[0]?.faultAbort).toBeUndefined();
    // grpcStatus is read (planned against a gRPC target, src/verify/grpc-plan.ts), not an HTTP abort.
    expect(policies.virtualServices[0]?.http[0]?.faultAbortGrpc).toEqual({ grpcStatus: 14, name: 'UNAVAILABLE', percent: 10 });
    expect(policies.notes.map((n) => `${n.path}: ${n.message.split(' (')[0] ?? ''}`)).toEqual(['spec.http[0].fault.delay.exponentialDelay: unsupported by meshload']);
  });

  it('refuses a grpcStatus Istio would refuse (exact upper-case names), with a did-you-mean', () => {
    const text = `${VS_HEAD}  - route:\n    - destination: {host: web}\n    fault:\n      abort: {grpcStatus: Unavailable, percentage: {value: 10}}\n`;
    expect(() => read(text)).toThrow(/spec\.http\[0\]\.fault\.abort\.grpcStatus: "Unavailable" is not a gRPC status Istio accepts - did you mean UNAVAILABLE\?/);
  });

  it('notes known Istio fields meshload does not verify, at every level', () => {
    const text = `${DR_HEAD}  exportTo: ["."]
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings: []
    connectionPool:
      tcp: {maxConnections: 10, connectTimeout: 1s, tcpKeepalive: {time: 7200s}}
      http: {idleTimeout: 1h, h2UpgradePolicy: UPGRADE}
    outlierDetection:
      minHealthPercent: 50
      splitExternalLocalOriginErrors: true
      consecutiveLocalOriginFailures: 3
---
${VS_HEAD}  - route:
    - destination: {host: web}
      headers: {request: {set: {x-a: b}}}
    mirror: {host: shadow}
    headers: {request: {set: {x-b: c}}}
    corsPolicy: {allowOrigins: [{exact: "*"}]}
    rewrite: {uri: /}
  tcp: []
  gateways: [mesh]
`;
    const policies = read(text);
    expect(policies.destinationRules[0]?.trafficPolicy?.connectionPool?.maxConnections).toBe(10);
    expect(policies.notes.map((n) => n.path)).toEqual([
      'spec.exportTo',
      'spec.trafficPolicy.loadBalancer',
      'spec.trafficPolicy.tls',
      'spec.trafficPolicy.portLevelSettings',
      'spec.trafficPolicy.connectionPool.tcp.connectTimeout',
      'spec.trafficPolicy.connectionPool.tcp.tcpKeepalive',
      'spec.trafficPolicy.connectionPool.http.idleTimeout',
      'spec.trafficPolicy.connectionPool.http.h2UpgradePolicy',
      'spec.http[0].route[0].headers',
      'spec.http[0].mirror',
      'spec.http[0].headers',
      'spec.http[0].corsPolicy',
      'spec.http[0].rewrite',
      'spec.tcp',
      'spec.gateways',
    ]);
    expect(new Set(policies.notes.map((n) => n.message))).toEqual(new Set(['not verified by meshload']));
  });

  it('notes unknown fields with a did-you-mean suggestion', () => {
    const text = `${DR_HEAD}  trafficPolicy:
    connectionPool:
      tcp: {maxConection: 1}
      http: {http1MaxPendingRequest: 1, frobnicate: true}
---
${VS_HEAD}  - route:
    - destination: {host: web}
    retrys: {attempts: 3}
specs: {}
`;
    const policies = read(text);
    expect(policies.destinationRules[0]?.trafficPolicy?.connectionPool?.maxConnections).toBeUndefined();
    expect(notesOf(policies)).toEqual([
      'x.yaml: DestinationRule httpbin: spec.trafficPolicy.connectionPool.tcp.maxConection: unknown field (typo?), ignored: did you mean maxConnections?',
      'x.yaml: DestinationRule httpbin: spec.trafficPolicy.connectionPool.http.http1MaxPendingRequest: unknown field (typo?), ignored: did you mean http1MaxPendingRequests?',
      'x.yaml: DestinationRule httpbin: spec.trafficPolicy.connectionPool.http.frobnicate: unknown field (typo?), ignored',
      'x.yaml: VirtualService web: spec.http[0].retrys: unknown field (typo?), ignored: did you mean retries?',
      'x.yaml: VirtualService web: specs: unknown field (typo?), ignored: did you mean spec?',
    ]);
  });

  it('notes a subset that no DestinationRule for the host defines', () => {
    const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews.default.svc.cluster.local
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`;
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v2}
      weight: 50
    - destination: {host: reviews, subset: v3}
      weight: 50
  - route:
    - destination: {host: ratings, subset: v1}
`;
    const policies = readIstioManifests([{ file: 'dr.yaml', text: dr }, { file: 'vs.yaml', text: vs }]);
    expect(policies.notes.map((n) => [n.origin.file, n.path, n.message.split(';')[0]])).toEqual([
      ['vs.yaml', 'spec.http[0].route[1].destination.subset', 'subset v3: the DestinationRule for reviews does not define it'],
      ['vs.yaml', 'spec.http[1].route[0].destination.subset', 'subset v1: no DestinationRule for ratings is in the files given'],
    ]);
    expect(policies.notes[0]?.message).toContain('503');
  });

  it('fills weight 0 for unweighted destinations of a split and notes an idle single weight', () => {
    const split = `${VS_HEAD}  - route:\n    - destination: {host: web}\n      weight: 100\n    - destination: {host: web2}\n`;
    expect(read(split).virtualServices[0]?.http[0]?.destinations.map((d) => d.weight)).toEqual([100, 0]);
    const single = `${VS_HEAD}  - route:\n    - destination: {host: web}\n      weight: 40\n`;
    const policies = read(single);
    expect(policies.virtualServices[0]?.http[0]?.destinations[0]?.weight).toBe(40);
    expect(policies.notes[0]?.message).toContain('single destination receives all traffic');
  });
});

describe('readIstioManifests: problems', () => {
  const route = (extra: string): string => `${VS_HEAD}  - route:\n    - destination: {host: web}\n${extra}`;
  const pool = (http: string): string => `${DR_HEAD}  trafficPolicy:\n    connectionPool:\n      http:\n        ${http}\n`;

  it.each<[string, string, string]>([
    ['a YAML syntax error', 'apiVersion: v1\nkind: [Service\nmetadata: {}\n', 'x.yaml:3: document 1: YAML syntax: Flow sequence'],
    ['a duplicate key', 'apiVersion: v1\nkind: Service\nkind: Pod\n', 'remove one of the duplicate keys'],
    ['a document that is not a mapping', '- a\n- b\n', 'x.yaml:1: document 1: expected a Kubernetes resource (a mapping with apiVersion and kind), got a list'],
    ['a document without kind', 'replicas: 3\n', 'x.yaml:1: document 1: not a Kubernetes resource: apiVersion and kind missing'],
    ['a missing metadata.name', 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  namespace: x\nspec: {hosts: [a]}\n', 'x.yaml:3: VirtualService in document 1: metadata.name: missing'],
    ['a DestinationRule without host', 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  subsets: []\n', 'x.yaml:4: DestinationRule d: spec.host: missing'],
    ['a VirtualService without hosts', 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  http: []\n', 'x.yaml:4: VirtualService v: spec.hosts: missing'],
    ['hosts written as a string', 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: web\n', 'x.yaml:5: VirtualService v: spec.hosts: expected a list, got string "web"'],
    ['a quoted number', pool('http1MaxPendingRequests: "1"'), 'x.yaml:10: DestinationRule httpbin: spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests: expected an integer, got string "1" - remove the quotes: 1'],
    ['a fractional number', pool('maxRetries: 1.5'), 'maxRetries: expected an integer, got 1.5'],
    ['a negative number', pool('http2MaxRequests: -1'), 'x.yaml:10: DestinationRule httpbin: spec.trafficPolicy.connectionPool.http.http2MaxRequests: must not be negative, got -1'],
    ['maxEjectionPercent over 100', `${DR_HEAD}  trafficPolicy:\n    outlierDetection: {maxEjectionPercent: 101}\n`, 'maxEjectionPercent: must be in 0..100, got 101'],
    ['a bad duration', `${DR_HEAD}  trafficPolicy:\n    outlierDetection: {interval: 10 seconds}\n`, 'spec.trafficPolicy.outlierDetection.interval: expected a duration, got string "10 seconds" - write a duration like 1s, 0.5s, 100ms or 1m'],
    ['a duration without unit', route('    timeout: 5\n'), 'x.yaml:10: VirtualService web: spec.http[0].timeout: expected a duration, got 5 - add a unit: 5s or 5ms'],
    ['a negative duration', route('    timeout: -1s\n'), 'spec.http[0].timeout: must be at least 0s, got -1s'],
    ['a percentage over 100', route('    fault:\n      abort: {httpStatus: 503, percentage: {value: 150}}\n'), 'x.yaml:11: VirtualService web: spec.http[0].fault.abort.percentage.value: must be in 0..100, got 150'],
    ['a percentage below 0', route('    fault:\n      delay: {fixedDelay: 1s, percentage: {value: -5}}\n'), 'spec.http[0].fault.delay.percentage.value: must be in 0..100, got -5'],
    ['an httpStatus outside 200..599', route('    fault:\n      abort: {httpStatus: 700}\n'), 'spec.http[0].fault.abort.httpStatus: must be in 200..599, got 700'],
    ['an abort without httpStatus', route('    fault:\n      abort: {percentage: {value: 1}}\n'), 'spec.http[0].fault.abort.httpStatus: missing'],
    ['a delay without fixedDelay', route('    fault:\n      delay: {percentage: {value: 1}}\n'), 'spec.http[0].fault.delay.fixedDelay: missing'],
    ['an empty fault', route('    fault: {}\n'), 'spec.http[0].fault: has neither delay nor abort'],
    ['negative retry attempts', route('    retries: {attempts: -1}\n'), 'x.yaml:10: VirtualService web: spec.http[0].retries.attempts: must not be negative, got -1'],
    ['retries without attempts', route('    retries:\n      perTryTimeout: 1s\n'), 'x.yaml:10: VirtualService web: spec.http[0].retries.attempts: missing'],
    ['attempts 0 with retryOn', route('    retries: {attempts: 0, retryOn: 5xx}\n'), 'spec.http[0].retries.attempts: is 0 (retries disabled) but perTryTimeout or retryOn is set'],
    ['a mistyped retryOn', route('    retries: {attempts: 2, retryOn: "5xx,gateway-eror"}\n'), 'spec.http[0].retries.retryOn: "gateway-eror" is not a retry condition Istio accepts - did you mean gateway-error?'],
    ['a fractional weight', `${VS_HEAD}  - route:\n    - destination: {host: a}\n      weight: 50.5\n    - destination: {host: b}\n      weight: 49.5\n`, 'spec.http[0].route[0].weight: expected an integer, got 50.5'],
    ['weights all 0', `${VS_HEAD}  - route:\n    - destination: {host: a}\n      weight: 0\n    - destination: {host: b}\n      weight: 0\n`, 'x.yaml:8: VirtualService web: spec.http[0].route: every weight is 0'],
    ['a route without destination', `${VS_HEAD}  - route:\n    - weight: 100\n`, 'spec.http[0].route[0].destination: missing'],
    ['a duplicate subset name', `${DR_HEAD}  subsets:\n  - name: v1\n  - name: v1\n`, 'x.yaml:9: DestinationRule httpbin: spec.subsets[1].name: subset v1 is defined twice - give each subset a unique name'],
    ['a label value that is not a string', `${DR_HEAD}  subsets:\n  - name: v1\n    labels: {version: 1}\n`, 'spec.subsets[0].labels.version: label values are strings, got 1'],
  ])('reports %s', (_name, text, expected) => {
    const problems = problemsOf(text);
    expect(problems.some((p) => p.includes(expected))).toBe(true);
    for (const p of problems) expect(p).toMatch(/^x\.yaml:\d+: .+ - .+$/);
  });

  it('collects the problems of all files into one ManifestError', () => {
    const a = `${DR_HEAD}  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: -3}\n`;
    const b = `---\n${VS_HEAD}  - route:\n    - destination: {host: web}\n    timeout: soon\n    retries: {attempts: "3"}\n`;
    let caught: unknown;
    try {
      readIstioManifests([{ file: 'dr.yaml', text: a }, { file: 'vs.yaml', text: b }]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ManifestError);
    expect(caught).toBeInstanceOf(MeshloadError);
    const error = caught as ManifestError;
    expect(error.code).toBe('E_USAGE');
    expect(error.problems).toEqual([
      'dr.yaml:9: DestinationRule httpbin: spec.trafficPolicy.connectionPool.tcp.maxConnections: must not be negative, got -3 - use a number in 0..2147483647',
      'vs.yaml:11: VirtualService web: spec.http[0].timeout: expected a duration, got string "soon" - write a duration like 1s, 0.5s, 100ms or 1m',
      'vs.yaml:12: VirtualService web: spec.http[0].retries.attempts: expected an integer, got string "3" - remove the quotes: 3',
    ]);
    expect(error.message).toBe(`${error.problems[0] ?? ''} (and 2 more)`);
  });

  it('reports YAML syntax errors of one document and still reads the others', () => {
    const text = `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec: {}\n---\napiVersion: v1\nkind: a: b\n---\nkey: [x\n---\nkind: Service\n`;
    const problems = problemsOf(text);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^x\.yaml:4: DestinationRule d: spec\.host: missing/);
    expect(problems[1]).toMatch(/^x\.yaml:7: document 2: YAML syntax: Nested mappings/);
    expect(problems[2]).toMatch(/^x\.yaml:\d+: document 3: YAML syntax: Flow sequence/);
    expect(problems[3]).toMatch(/^x\.yaml:11: document 4: not a Kubernetes resource: apiVersion missing/);
  });

  it('uses a one-problem message without a count', () => {
    expect(() => read('- just a list\n')).toThrow(/^x\.yaml:1: document 1: expected a Kubernetes resource.*---$/);
  });
});
