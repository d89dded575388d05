import http2 from 'node:http2';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { fetchReply, metricValue } from '../helpers/http';
import { h2Request } from '../helpers/hostile-client';

let server: RunningEchoServer | undefined;
let sessions: http2.ClientHttp2Session[] = [];

async function start(): Promise<RunningEchoServer> {
  server = await startEchoServer({
    echo: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    maxDelayMs: 1500,
    maxPayloadBytes: 256 * 1024,
    versionTag: 'v2',
  });
  return server;
}

function connect(url: string): http2.ClientHttp2Session {
  const session = http2.connect(url);
  session.on('error', () => undefined);
  sessions.push(session);
  return session;
}


afterEach(async () => {
  for (const session of sessions) session.destroy();
  sessions = [];
  await server?.close();
  server = undefined;
});

describe('echo server over h2c (HTTP/2 with prior knowledge)', () => {
  it('answers echo parameters, bodies and meshload headers on the same port as HTTP/1.1', async () => {
    const { echoUrl } = await start();
    const session = connect(echoUrl);
    const failed = await h2Request(session, '/echo?status=503&header=X-A:1', { 'x-envoy-attempt-count': '2' });
    expect(failed.status).toBe(503);
    expect(failed.headers['x-a']).toBe('1');
    expect(failed.headers['x-version']).toBe('v2');
    expect(failed.headers['x-envoy-attempt-count']).toBe('2');
    const echoed = await h2Request(session, '/echo', { 'content-type': 'text/x-test' }, 'over h2');
    expect(echoed.body).toBe('over h2');
    expect(echoed.headers['content-type']).toBe('text/x-test');
    const sized = await h2Request(session, '/?size=3000');
    expect(sized.body.length).toBe(3000);
    expect((await fetchReply(`${echoUrl}/echo?status=201`)).status).toBe(201); // HTTP/1.1 still works
  });

  it('multiplexes concurrent streams on one connection', async () => {
    const { echoUrl, adminUrl } = await start();
    const session = connect(echoUrl);
    const replies = await Promise.all(Array.from({ length: 50 }, () => h2Request(session, '/echo?delay=20ms')));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const metrics = (await fetchReply(`${adminUrl as string}/metrics`)).text;
    expect(metricValue(metrics, 'meshload_server_connections_total')).toBe(1);
    expect(metricValue(metrics, 'meshload_server_requests_total{code="200"}')).toBe(50);
  });

  it('shows headers without pseudo-headers on /headers', async () => {
    const { echoUrl } = await start();
    const reply = await h2Request(connect(echoUrl), '/headers', { 'x-trace': 'abc' });
    const parsed = JSON.parse(reply.body) as { headers: Record<string, string> };
    expect(parsed.headers['x-trace']).toBe('abc');
    expect(Object.keys(parsed.headers).some((name) => name.startsWith(':'))).toBe(false);
  });

  it('ends the session after a close=true response (GOAWAY, not a Connection header)', async () => {
    const { echoUrl } = await start();
    const session = connect(echoUrl);
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    const reply = await h2Request(session, '/echo?close=true');
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBeUndefined();
    await goaway;
  });

  it('drains in-flight streams on shutdown', async () => {
    const running = await start();
    const session = connect(running.echoUrl);
    const inFlight = h2Request(session, '/echo?delay=300ms');
    while (running.metrics.totalRequests() === 0) await new Promise((resolve) => setImmediate(resolve));
    const closing = running.close();
    server = undefined;
    expect((await inFlight).status).toBe(200);
    await closing;
  });
});
