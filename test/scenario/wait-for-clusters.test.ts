import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStep, type StepContext } from '../../src/scenario/steps';
import { clustersSourceOf, parseClustersPage } from '../../src/stats/clusters-page';

const SHARED = join(__dirname, '..', 'fixtures', 'stats');
const HTTPBIN = 'outbound|8000||httpbin.default.svc.cluster.local';

describe('parseClustersPage', () => {
  it("reads the default-priority thresholds of Envoy's /clusters text, skipping hosts and other priorities", () => {
    const text = readFileSync(join(SHARED, 'envoy-clusters.txt'), 'utf8');
    expect(parseClustersPage(text).get('test_cluster')).toEqual({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 16 });
  });
});

describe('clustersSourceOf', () => {
  it.each([
    [{ kind: 'url', url: 'http://localhost:15000/stats?filter=x' }, { kind: 'url', url: 'http://localhost:15000/clusters' }],
    [{ kind: 'url', url: 'http://localhost:15090/stats/prometheus' }, undefined],
    [{ kind: 'command', command: 'kubectl exec p -c istio-proxy -- pilot-agent request GET stats' }, { kind: 'command', command: 'kubectl exec p -c istio-proxy -- pilot-agent request GET clusters' }],
    [{ kind: 'file', path: 'x' }, undefined],
  ] as const)('%p', (source, expected) => {
    expect(clustersSourceOf(source)).toEqual(expected);
  });
});

describe('waitFor clusters', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshload-clusters-'));
    writeFileSync(join(dir, 'stats'), readFileSync(join(SHARED, 'istio-1.23-sidecar.txt')));
    writeFileSync(
      join(dir, 'clusters'),
      [`${HTTPBIN}::default_priority::max_connections::1`, `${HTTPBIN}::default_priority::max_pending_requests::1`, `${HTTPBIN}::10.0.0.7:8000::rq_total::4`].join('\n') + '\n',
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function context(): StepContext {
    return {
      signal: new AbortController().signal,
      adminUrl: undefined,
      stats: { source: { kind: 'command', command: `cat '${join(dir, 'stats')}'` }, format: undefined, cluster: 'httpbin', timeoutMs: 5000 },
      background: [],
      cwd: dir,
      env: {},
    };
  }

  it('passes once the thresholds reached the proxy', async () => {
    const step = { kind: 'waitFor' as const, clusters: { maxConnections: 1, maxPendingRequests: 1 }, cluster: undefined, timeout: 2000, interval: 50 };
    const result = await runStep(step, context());
    expect(result.error).toBeUndefined();
    expect(result.description).toBe('/clusters shows maxConnections=1 maxPendingRequests=1');
  });

  it('fails at its timeout, saying what the proxy shows', async () => {
    const step = { kind: 'waitFor' as const, clusters: { maxPendingRequests: 5 }, cluster: undefined, timeout: 200, interval: 50 };
    const result = await runStep(step, context());
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/not reached within 200 ms \(last: outbound\|8000\|\|httpbin\.default\.svc\.cluster\.local: \{"maxConnections":1,"maxPendingRequests":1\}\)/);
  });
});
