/** Runs Debian's HAProxy (2.6, built with the Prometheus exporter) for tests: a generated config
 * in a temp dir, one frontend on a free 127.0.0.1 port in front of one backend, and a second
 * frontend serving `/metrics` from the exporter. It runs in the foreground in master-worker mode
 * (`-W -db`) because only then does it announce readiness: the master's "Loading success." is
 * printed after the listeners are bound, so tests wait on that line instead of polling a port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort, stopChild } from './server-process';

const CANDIDATES = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/local/bin/haproxy'];
const START_TIMEOUT_MS = 10_000;
/** stderr kept for failure messages (request logs included); older output is dropped. */
const MAX_OUTPUT_CHARS = 64 * 1024;

/** The HAProxy binary, or undefined when it is not installed. */
export function haproxyBinary(): string | undefined {
  return findBinary(CANDIDATES);
}

export interface HaproxyOptions {
  /** `host:port` of the one server, e.g. `127.0.0.1:8080`. */
  upstream: string;
  /** Server `maxconn`: requests over it wait in a queue (HAProxy's breaker). */
  maxconn?: number;
  /** Server `maxqueue`: with load balancing, overflow goes to the backend's unbounded queue. */
  maxqueue?: number;
  /** Backend `retries` (HAProxy's default is 3, connection failures only). */
  retries?: number;
  /** Backend `retry-on`, e.g. `503` or `all-retryable-errors`. */
  retryOn?: string;
  /** `option redispatch`. */
  redispatch?: boolean;
  /** Durations in HAProxy syntax (`100ms`, `2s`); connect 1s, client and server 5s by default,
   * queue unset (HAProxy then uses the connect timeout). */
  timeouts?: { connect?: string; client?: string; server?: string; queue?: string };
}

export interface RunningHaproxy {
  /** The frontend in front of the backend. */
  url: string;
  /** The Prometheus exporter: `${metricsUrl}` answers GET with the text format. */
  metricsUrl: string;
  /** The backend's name, the `proxy` label of its metrics. */
  backend: string;
  dir: string;
  /** stderr so far: alerts and one log line per request. */
  output(): string;
  /** Stops HAProxy (SIGTERM to the master, SIGKILL if it lingers) and removes the temp dir;
   * safe to call twice. */
  stop(): Promise<void>;
}

const BACKEND = 'be';

/** The exporter's frontend: GET /metrics on 127.0.0.1:metricsPort. */
export function metricsFrontend(metricsPort: number): string[] {
  return [
    'frontend metrics',
    `  bind 127.0.0.1:${metricsPort}`,
    '  http-request use-service prometheus-exporter if { path /metrics }',
    '  http-request return status 404',
  ];
}

export function haproxyConfig(options: HaproxyOptions, port: number, metricsPort: number): string {
  const timeouts = { connect: '1s', client: '5s', server: '5s', ...options.timeouts };
  const server = [`server s1 ${options.upstream}`];
  if (options.maxconn !== undefined) server.push(`maxconn ${options.maxconn}`);
  if (options.maxqueue !== undefined) server.push(`maxqueue ${options.maxqueue}`);
  const backend = [`backend ${BACKEND}`];
  if (options.retries !== undefined) backend.push(`  retries ${options.retries}`);
  if (options.retryOn !== undefined) backend.push(`  retry-on ${options.retryOn}`);
  if (options.redispatch === true) backend.push('  option redispatch');
  if (timeouts.queue !== undefined) backend.push(`  timeout queue ${timeouts.queue}`);
  backend.push(`  ${server.join(' ')}`);
  return [
    'global',
    // One thread keeps queue order, and so the tests' expectations, deterministic.
    '  nbthread 1',
    '  log stderr format raw local0 info',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    `  timeout connect ${timeouts.connect}`,
    `  timeout client ${timeouts.client}`,
    `  timeout server ${timeouts.server}`,
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    `  default_backend ${BACKEND}`,
    ...metricsFrontend(metricsPort),
    ...backend,
    '',
  ].join('\n');
}

export function startHaproxy(options: HaproxyOptions): Promise<RunningHaproxy> {
  return startHaproxyWith((port, metricsPort) => haproxyConfig(options, port, metricsPort), BACKEND);
}

/** Starts HAProxy on a config made for two free ports: the frontend's and the exporter's. */
export async function startHaproxyWith(config: (port: number, metricsPort: number) => string, backend: string): Promise<RunningHaproxy> {
  const binary = haproxyBinary();
  if (binary === undefined) throw new Error('haproxy is not installed (apt-get install -y haproxy)');
  const dir = mkdtempSync(join(tmpdir(), 'meshload-haproxy-'));
  const port = await freePort();
  const metricsPort = await freePort();
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(conf, config(port, metricsPort));
  const child = spawn(binary, ['-W', '-db', '-f', conf], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  // Drained for the whole run so HAProxy never blocks on a full pipe.
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > MAX_OUTPUT_CHARS) output = output.slice(-MAX_OUTPUT_CHARS);
  });
  const stop = async (): Promise<void> => {
    await stopChild(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForReady(child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    backend,
    dir,
    output: () => output,
    stop,
  };
}

function waitForReady(child: ChildProcess, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onData = (): void => {
      const text = output();
      if (/Loading success\./.test(text)) finish();
      else if (/\[ALERT\]/.test(text)) finish(new Error(`haproxy failed to start: ${text}`));
    };
    const onExit = (code: number | null): void => finish(new Error(`haproxy exited (${code}) before it was ready: ${output()}`));
    const timer = setTimeout(() => finish(new Error(`haproxy not ready within ${START_TIMEOUT_MS}ms: ${output()}`)), START_TIMEOUT_MS);
    // Registered after the collector above, so output() already holds the chunk.
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

