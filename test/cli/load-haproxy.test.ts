/** `load --stats` through a real proxy: HAProxy from Debian in front of meshload's echo server,
 * configured as a breaker (maxconn 1 + a short queue timeout), with retries, or with a server
 * timeout; its Prometheus exporter is the stats source. What the client saw and what the proxy
 * counted must agree. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from '../../src/model/load-result';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { cli } from '../helpers/cli';
import { startHaproxy, type HaproxyOptions, type RunningHaproxy } from '../helpers/haproxy';

let server: RunningEchoServer | undefined;
let haproxy: RunningHaproxy | undefined;
let dir: string | undefined;

async function proxy(options: Omit<HaproxyOptions, 'upstream'>): Promise<RunningHaproxy> {
  server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 2000, maxPayloadBytes: 1024 });
  haproxy = await startHaproxy({ upstream: `127.0.0.1:${server.echoPort}`, ...options });
  return haproxy;
}

async function loadThrough(h: RunningHaproxy, path: string, ...flags: string[]): Promise<{ stderr: string; result: LoadResult }> {
  dir ??= mkdtempSync(join(tmpdir(), 'meshload-haproxy-'));
  const json = join(dir, `r-${Date.now()}.json`);
  const run = await cli('load', '-qps', '0', '-allow-initial-errors', '--stats', h.metricsUrl, '--cluster', h.backend, '--stats-interval', '100ms', '-json', json, ...flags, `${h.url}${path}`);
  expect(run.code).toBe(0);
  return { stderr: run.stderr, result: (JSON.parse(readFileSync(json, 'utf8')) as { Meshload: LoadResult }).Meshload };
}

afterEach(async () => {
  await haproxy?.stop();
  haproxy = undefined;
  await server?.close();
  server = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('load --stats through HAProxy', () => {
  it('-c 3 through a breaker: rejections in the client causes and the proxy delta, and they agree', async () => {
    const h = await proxy({ maxconn: 1, maxqueue: 1, timeouts: { queue: '150ms' } });
    const { stderr, result } = await loadThrough(h, '/echo?delay=300ms', '-c', '3', '-n', '12');
    const rejected = result.causes.breaker ?? 0;
    expect(rejected).toBeGreaterThan(0);
    const sidecar = result.sidecar;
    expect(sidecar?.kind).toBe('haproxy');
    expect(sidecar?.total?.breakerRejections.pending).toBe(rejected);
    expect(sidecar?.agreement.find((a) => a.name === 'breaker')?.agrees).toBe(true);
    expect(sidecar?.agreement.find((a) => a.name === 'requests')?.agrees).toBe(true);
    expect(stderr).toMatch(/^Cause breaker : \d+ \(/m);
    expect(stderr).toMatch(/^agree\(breaker\): client \d+, proxy \d+ \(agree\)/m);
  });

  it('-c 1 through the same breaker: no rejections on either side', async () => {
    const h = await proxy({ maxconn: 1, maxqueue: 1, timeouts: { queue: '150ms' } });
    const { result } = await loadThrough(h, '/echo?delay=20ms', '-c', '1', '-n', '10');
    expect(result.causes.breaker).toBeUndefined();
    expect(result.sidecar?.total?.breakerRejections.pending).toBe(0);
    expect(result.sidecar?.agreement.find((a) => a.name === 'breaker')?.agrees).toBe(true);
  });

  it('retries against status=503:50 show up as retries', async () => {
    const h = await proxy({ retries: 2, retryOn: '503' });
    const { result } = await loadThrough(h, '/echo?status=503:50', '-c', '2', '-n', '40');
    expect(result.sidecar?.total?.retries.attempted).toBeGreaterThan(0);
    // With two retries a call fails only if all three tries drew 503 (12.5%), not 50%.
    expect(result.codes['503'] ?? 0).toBeLessThan(20);
  });

  it('a delay above the server timeout gives 504s classified as proxy timeouts', async () => {
    const h = await proxy({ timeouts: { server: '100ms' } });
    const { result } = await loadThrough(h, '/echo?delay=300ms', '-c', '1', '-n', '3');
    expect(result.codes['504']).toBe(3);
    expect(result.causes.timeout).toBe(3);
    expect(result.sidecar?.total?.timeouts.route).toBe(3);
  });
});
