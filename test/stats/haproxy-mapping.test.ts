/** The HAProxy rows of the resilience view, checked on a real HAProxy 2.6 in front of meshload's
 * echo server: each scenario reads the exporter before and after a bounded burst of requests and
 * compares the view built from the deltas with what the client and the echo server saw. */
import { Agent, request } from 'undici';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { classifyFailure, type FailureCause } from '../../src/model/failure-cause';
import { resilienceView } from '../../src/stats/resilience-view';
import type { ResilienceView } from '../../src/model/sidecar-report';
import { statKey } from '../../src/stats/stat-sample';
import type { Outcome } from '../../src/model/outcome';
import { haproxyBinary, startHaproxy, type HaproxyOptions, type RunningHaproxy } from '../helpers/haproxy';
import { freePort } from '../helpers/nginx';

const REQUEST_TIMEOUT_MS = 5_000;

let echo: RunningEchoServer | undefined;
let haproxy: RunningHaproxy | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  await agent?.close();
  agent = undefined;
  await haproxy?.stop();
  haproxy = undefined;
  await echo?.close();
  echo = undefined;
});

/** mulberry32: the echo server's status draws repeat from run to run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function startEcho(): Promise<RunningEchoServer> {
  echo = await startEchoServer({
    echo: { host: '127.0.0.1', port: 0 },
    admin: null,
    maxDelayMs: 1500,
    maxPayloadBytes: 1024,
    random: seeded(7),
  });
  return echo;
}

async function start(options: Omit<HaproxyOptions, 'upstream'>, upstreamPort?: number): Promise<RunningHaproxy> {
  const port = upstreamPort ?? (await startEcho()).echoPort;
  haproxy = await startHaproxy({ upstream: `127.0.0.1:${port}`, ...options });
  agent = new Agent({ connections: 16, pipelining: 1 });
  return haproxy;
}

interface Reply {
  status: number;
  body: string;
}

async function get(url: string): Promise<Reply> {
  if (agent === undefined) throw new Error('start() first');
  const response = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  return { status: response.statusCode, body: await response.body.text() };
}

/** The outcome a transport would report for this reply (bodyPrefix: first 256 bytes, latin1). */
function causeOf(reply: Reply): FailureCause | undefined {
  const outcome: Outcome = {
    status: reply.status,
    errorKind: undefined,
    errorMessage: undefined,
    headerBytes: 0,
    bodyBytes: reply.body.length,
    viaEnvoy: false,
    envoyOverloaded: false,
    version: undefined,
    attempt: 0,
    bodyPrefix: reply.status >= 400 ? Buffer.from(reply.body, 'utf8').subarray(0, 256).toString('latin1') : undefined,
  };
  return classifyFailure(outcome);
}

const SERIES = /^haproxy_(backend|server)_([a-z0-9_]+)(?:\{([^}]*)\})? (\S+)$/;
const LABEL = /([a-z_]+)="([^"]*)"/g;

/** The backend's samples keyed as src/stats/cluster-stats.ts keys them, which is what the view
 * reads: the backend's own series by metric name (`connection_errors_total`), other labels kept
 * as a sorted selector (`http_responses_total{code="5xx"}`), a server's series as
 * `server.<name>.<metric>`; then statKey. A deliberately small parser: this test must not depend
 * on the real one. */
function backendSamples(text: string, backend: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = SERIES.exec(line);
    if (match === null) continue;
    const [, scope, name, labelText, valueText] = match as unknown as [string, string, string, string | undefined, string];
    const labels = new Map<string, string>();
    for (const label of (labelText ?? '').matchAll(LABEL)) labels.set(label[1] as string, label[2] as string);
    if (labels.get('proxy') !== backend) continue;
    const server = labels.get('server');
    if (scope === 'server' && server === undefined) continue;
    const selector = [...labels.keys()]
      .filter((key) => key !== 'proxy' && key !== 'server')
      .sort()
      .map((key) => `${key}=${JSON.stringify(labels.get(key))}`);
    const stat = `${scope === 'server' ? `server.${server}.` : ''}${name}${selector.length === 0 ? '' : `{${selector.join(',')}}`}`;
    out.set(statKey(stat), Number(valueText));
  }
  return out;
}

async function sample(proxy: RunningHaproxy): Promise<Map<string, number>> {
  const response = await request(proxy.metricsUrl, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  expect(response.statusCode).toBe(200);
  return backendSamples(await response.body.text(), proxy.backend);
}

function deltas(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of after) out.set(key, value - (before.get(key) ?? 0));
  return out;
}

/** Runs `traffic` between two exporter reads and returns the view of the deltas. */
async function viewAround(proxy: RunningHaproxy, traffic: () => Promise<Reply[]>): Promise<{ view: ResilienceView; replies: Reply[]; raw: Map<string, number> }> {
  const before = await sample(proxy);
  const replies = await traffic();
  const raw = deltas(before, await sample(proxy));
  return { view: resilienceView('haproxy', raw), replies, raw };
}

function countStatus(replies: readonly Reply[], status: number): number {
  return replies.filter((reply) => reply.status === status).length;
}

async function sequential(url: string, count: number): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < count; i++) replies.push(await get(url));
  return replies;
}

const describeWithHaproxy = haproxyBinary() === undefined ? describe.skip : describe;

describeWithHaproxy('HAProxy resilience mapping (real HAProxy)', () => {
  it('breaker: maxconn 1 + a queue that times out -> 503 sQ, counted only by the backend econ', async () => {
    const proxy = await start({ maxconn: 1, maxqueue: 1, timeouts: { queue: '200ms' } });
    const { view, replies, raw } = await viewAround(proxy, () =>
      Promise.all(Array.from({ length: 6 }, () => get(`${proxy.url}/?delay=400ms`))),
    );
    const ok = countStatus(replies, 200);
    const rejected = countStatus(replies, 503);
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(rejected).toBeGreaterThanOrEqual(1);
    expect(ok + rejected).toBe(6);
    for (const reply of replies.filter((r) => r.status === 503)) expect(causeOf(reply)).toBe('breaker');
    // The overflow waited in the backend queue, not the server's (maxqueue only steers balancing).
    expect(raw.get('max_queue')).toBeGreaterThanOrEqual(1);
    expect(raw.get('server_s1_max_queue')).toBe(0);
    expect(view.breakerRejections.pending).toBe(rejected);
    expect(view.requestsSent).toBe(ok);
    expect(view.upstream5xx.final).toBe(rejected);
    expect(view.connectFailures).toBe(0);
    expect(view.retries.attempted).toBe(0);
    expect(view.timeouts.route).toBe(0);
    expect(view.breakerRejections.active).toBeUndefined();
    expect(view.breakerOpen.rqPending).toBeUndefined();
  });

  it('retries: retry-on 503 against status=503:50 moves retry_warnings_total', async () => {
    const proxy = await start({ retries: 2, retryOn: '503' });
    const server = echo as RunningEchoServer;
    const attemptsBefore = server.metrics.totalRequests();
    const requests = 20;
    const { view, replies } = await viewAround(proxy, () => sequential(`${proxy.url}/?status=503:50`, requests));
    const attempts = server.metrics.totalRequests() - attemptsBefore;
    const retries = attempts - requests;
    expect(retries).toBeGreaterThan(0);
    const final503 = countStatus(replies, 503);
    // A 503 that survived every retry is the app's own answer, passed through.
    for (const reply of replies.filter((r) => r.status === 503)) expect(causeOf(reply)).toBe('app');
    expect(view.requestsSent).toBe(attempts);
    expect(view.upstream5xx.final).toBe(final503);
    // HAProxy 2.6.12 counts each L7 retry twice in wretr (do_l7_retry and the reconnect both
    // count it); a fixed HAProxy would report the true number.
    expect([retries, 2 * retries]).toContain(view.retries.attempted);
    expect(view.breakerRejections.pending).toBe(0);
    expect(view.connectFailures).toBe(0);
    expect(view.retries.succeeded).toBeUndefined();
    expect(view.upstream5xx.retried).toBeUndefined();
  });

  it('server timeout: timeout server 100ms against delay=300ms -> 504, counted in eresp', async () => {
    const proxy = await start({ timeouts: { server: '100ms' } });
    const { view, replies } = await viewAround(proxy, () => sequential(`${proxy.url}/?delay=300ms`, 3));
    expect(countStatus(replies, 504)).toBe(3);
    for (const reply of replies) expect(causeOf(reply)).toBe('timeout');
    expect(view.timeouts.route).toBe(3);
    expect(view.upstream5xx.final).toBe(3);
    expect(view.requestsSent).toBe(3);
    expect(view.breakerRejections.pending).toBe(0);
    expect(view.connectFailures).toBe(0);
    expect(view.retries.attempted).toBe(0);
    expect(view.timeouts.perTry).toBeUndefined();
  });

  it('connect failure: a closed port -> 503 after retries, counted by the server econ', async () => {
    const closedPort = await freePort();
    const proxy = await start({ retries: 1, timeouts: { connect: '100ms' } }, closedPort);
    const { view, replies } = await viewAround(proxy, () => sequential(`${proxy.url}/`, 2));
    expect(countStatus(replies, 503)).toBe(2);
    // The same page as a queue timeout: the body cannot tell them apart (documented limit).
    for (const reply of replies) expect(causeOf(reply)).toBe('breaker');
    expect(view.connectFailures).toBe(2);
    expect(view.breakerRejections.pending).toBe(0);
    // Connection retries are counted once each; every attempt was a session on the server.
    expect(view.retries.attempted).toBe(2);
    expect(view.requestsSent).toBe(4);
    expect(view.upstream5xx.final).toBe(2);
  });
});
