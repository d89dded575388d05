import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { Agent, Client } from 'undici';
import { startEchoServer, type EchoServerOptions, type RunningEchoServer } from '../../src/server/echo-server';
import { fanOut, fetchReply, keepAliveAgent, metricValue } from '../helpers/http';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

let server: RunningEchoServer | undefined;
let agents: Agent[] = [];

async function start(options: Partial<EchoServerOptions> = {}): Promise<RunningEchoServer> {
  server = await startEchoServer({
    echo: LOOPBACK,
    admin: LOOPBACK,
    maxDelayMs: 1500,
    maxPayloadBytes: 256 * 1024,
    ...options,
  });
  return server;
}

function agent(connections = 16): Agent {
  const created = keepAliveAgent(connections);
  agents.push(created);
  return created;
}

/** Returns the queued values in turn, for draws whose outcome a test needs to know. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

afterEach(async () => {
  await Promise.all(agents.map((a) => a.close()));
  agents = [];
  await server?.close();
  server = undefined;
});

describe('echo port', () => {
  it('answers a plain GET with 200 and an empty body', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBe('0');
    expect(reply.text).toBe('');
  });

  it('echoes a POST body with its content type, on any path', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/anything/at/all`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-test' },
      body: 'hello mesh',
    });
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('hello mesh');
    expect(reply.headers['content-type']).toBe('application/x-test');
    expect(reply.headers['content-length']).toBe('10');
  });

  // EchoHandler echoes Content-Type whenever the request has one (fhttp/http_server.go:147-150).
  it('echoes the content type of a request without a body', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/x`, { headers: { 'content-type': 'application/grpc' } });
    expect(reply.headers['content-type']).toBe('application/grpc');
    expect(reply.text).toBe('');
  });

  it('echoes a chunked body of unknown length', async () => {
    const { echoUrl } = await start();
    const chunks = ['alpha-', 'beta-', 'gamma'];
    const reply = await fetchReply(`${echoUrl}/echo`, { method: 'PUT', body: Readable.from(chunks) });
    expect(reply.text).toBe('alpha-beta-gamma');
  });

  it('sends no body for HEAD', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/?size=100`, { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBe('100');
    expect(reply.body.length).toBe(0);
  });

  it('serves /healthz', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/healthz`);
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('ok\n');
  });
});

describe('status=', () => {
  it('answers with a fixed status', async () => {
    const { echoUrl } = await start();
    expect((await fetchReply(`${echoUrl}/echo?status=503`)).status).toBe(503);
    expect((await fetchReply(`${echoUrl}/echo?status=429`)).status).toBe(429);
  });

  it('draws each weighted entry by its percentage', async () => {
    // Rolls land on 10 (503, first 20%), 22 (429, next 5%) and 50 (past the list: 200).
    const { echoUrl } = await start({ random: sequence(0.1, 0.22, 0.5) });
    const url = `${echoUrl}/echo?status=503:20,429:5`;
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetchReply(url)).status);
    expect(statuses).toEqual([503, 429, 200]);
  });

  it('gives status=503:20 to 20% of 10,000 requests (real randomness)', async () => {
    const { echoUrl } = await start();
    const counts = await fanOut(`${echoUrl}/echo?status=503:20`, 10_000, 32, agent(32));
    const failures = counts.get(503) ?? 0;
    expect((counts.get(200) ?? 0) + failures).toBe(10_000);
    // Binomial(n=10000, p=0.2): mean 2000, sd = sqrt(n p (1-p)) = 40. +/-5 sd (1800..2200) fails
    // a correct server with probability about 6e-7, and still catches a 2-point bias (18%/22%).
    expect(failures).toBeGreaterThanOrEqual(1800);
    expect(failures).toBeLessThanOrEqual(2200);
  });
});

describe('delay=', () => {
  it('delays the response', async () => {
    const { echoUrl } = await start();
    const started = performance.now();
    const reply = await fetchReply(`${echoUrl}/echo?delay=150ms`);
    const took = performance.now() - started;
    expect(reply.status).toBe(200);
    expect(took).toBeGreaterThanOrEqual(145); // timers may fire a hair early on a busy event loop
    expect(reply.headers['x-meshload-clamped']).toBeUndefined();
  });

  it('delays only the weighted share', async () => {
    const { echoUrl } = await start({ random: sequence(0.1, 0.9) });
    // A whole second for the delayed share, so an undelayed answer is told apart even when a
    // shared machine stalls for a few hundred milliseconds.
    const url = `${echoUrl}/echo?delay=1s:50`;
    let started = performance.now();
    await fetchReply(url);
    expect(performance.now() - started).toBeGreaterThanOrEqual(995);
    started = performance.now();
    await fetchReply(url);
    expect(performance.now() - started).toBeLessThan(800);
  });

  it('clamps a delay over -max-echo-delay and reports it in a header', async () => {
    const { echoUrl } = await start({ maxDelayMs: 100 });
    const started = performance.now();
    const reply = await fetchReply(`${echoUrl}/echo?delay=10s`);
    const took = performance.now() - started;
    expect(reply.headers['x-meshload-clamped']).toBe('delay=10s>100ms');
    expect(took).toBeGreaterThanOrEqual(95);
    expect(took).toBeLessThan(5000);
  });
});

describe('size=', () => {
  it('answers with a body of that many bytes', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/echo?size=1024`);
    expect(reply.body.length).toBe(1024);
    expect(reply.headers['content-type']).toBe('application/octet-stream');
    expect(reply.text).toMatch(/^[A-Za-z0-9]+$/);
  });

  it('draws weighted sizes', async () => {
    const { echoUrl } = await start({ random: sequence(0.3, 0.7, 0.99) });
    const url = `${echoUrl}/echo?size=100:50,2000:40`;
    const sizes = [];
    for (let i = 0; i < 3; i++) sizes.push((await fetchReply(url)).body.length);
    expect(sizes).toEqual([100, 2000, 0]);
  });

  it('clamps to -maxpayloadsizekb and reports it', async () => {
    const { echoUrl } = await start({ maxPayloadBytes: 2048 });
    const reply = await fetchReply(`${echoUrl}/echo?size=100000`);
    expect(reply.body.length).toBe(2048);
    expect(reply.headers['x-meshload-clamped']).toBe('size=100000>2048');
  });
});

describe('close=', () => {
  async function connectionsFor(query: string): Promise<number> {
    const { echoUrl, adminUrl } = await start();
    const client = new Client(echoUrl, { pipelining: 1 });
    try {
      for (let i = 0; i < 10; i++) {
        const response = await client.request({ path: `/echo${query}`, method: 'GET' });
        await response.body.dump();
      }
    } finally {
      await client.close();
    }
    const metrics = await fetchReply(`${adminUrl}/metrics`);
    return metricValue(metrics.text, 'meshload_server_connections_total') as number;
  }

  it('keeps one socket for ten requests without it', async () => {
    expect(await connectionsFor('')).toBe(1);
  });

  it('uses one socket per request with close=true', async () => {
    expect(await connectionsFor('?close=true')).toBe(10);
  });

  // A handler-set Connection: close closes the socket in Go (header=, http_server.go:200).
  it('closes for header=Connection:close as for close=true', async () => {
    expect(await connectionsFor('?header=Connection:close')).toBe(10);
  });

  it('says Connection: close', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/echo?close=true`);
    expect(reply.headers.connection).toBe('close');
  });
});

describe('header= and gzip=', () => {
  it('adds every requested header', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/echo?header=X-One:1&header=X-Two:%20two%20`);
    expect(reply.headers['x-one']).toBe('1');
    expect(reply.headers['x-two']).toBe('two');
  });

  // Go writes a header= value's bytes as decoded by url.QueryUnescape (http_server.go:200).
  it('sends a header= value as the bytes percent-encoded in the query', async () => {
    const { echoUrl } = await start();
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect(Number(new URL(echoUrl).port), '127.0.0.1', () => {
        socket.end('GET /echo?header=X-Name:%C3%A9t%C3%A9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
    expect(raw.includes(Buffer.from('X-Name: été\r\n', 'utf8'))).toBe(true);
  });

  // Header().Add canonicalizes the name (http_server.go:200): "x-lower" goes out as "X-Lower".
  it('sends header= names in Go canonical form', async () => {
    const { echoUrl } = await start();
    const reply = await rawRequest(`${echoUrl}/echo?header=x-lower-case:v`);
    expect(reply.headers['x-lower-case']).toBe('v');
    const raw = await new Promise<string[]>((resolve, reject) => {
      http.get(`${echoUrl}/echo?header=x-lower-case:v`, { agent: false }, (res) => {
        res.resume();
        resolve(res.rawHeaders);
      }).on('error', reject);
    });
    expect(raw).toContain('X-Lower-Case');
  });

  it('gzips when asked and accepted', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/echo?size=5000&gzip=true`, { headers: { 'accept-encoding': 'gzip' } });
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(reply.body.length).toBeLessThan(5000);
    expect(gunzipSync(reply.body).length).toBe(5000);
  });

  it('gzips an echoed body', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/echo?gzip=true`, {
      method: 'POST',
      headers: { 'accept-encoding': 'gzip, br' },
      body: 'compress me '.repeat(50),
    });
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(reply.body).toString()).toBe('compress me '.repeat(50));
  });

  // EchoHandler wraps the writer in gzip before knowing the body; an empty body is a gzip stream
  // of nothing (fhttp/http_server.go:121-126, http_utils.go:524-527).
  it('gzips an empty echo as Fortio: a gzip stream of nothing', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/echo?gzip=true`, { headers: { 'accept-encoding': 'gzip' } });
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(reply.body.length).toBeGreaterThan(0);
    expect(gunzipSync(reply.body).length).toBe(0);
  });

  // strings.Contains(r.Header.Get("Accept-Encoding"), "gzip"): exact case (http_server.go:121).
  it('takes Accept-Encoding as Fortio: "gzip" anywhere in it, in lower case', async () => {
    const { echoUrl } = await start();
    const upper = await fetchReply(`${echoUrl}/echo?size=10&gzip=true`, { headers: { 'accept-encoding': 'GZIP' } });
    expect(upper.headers['content-encoding']).toBeUndefined();
    const x = await fetchReply(`${echoUrl}/echo?size=10&gzip=true`, { headers: { 'accept-encoding': 'x-gzip' } });
    expect(x.headers['content-encoding']).toBe('gzip');
  });

  it('does not gzip for a client that does not accept it', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/echo?size=100&gzip=true`);
    expect(reply.headers['content-encoding']).toBeUndefined();
    expect(reply.body.length).toBe(100);
  });
});

/** One HTTP/1.1 request with node:http, which shows interim (1xx) responses. */
async function rawRequest(url: string, headers: Record<string, string> = {}): Promise<{ interim: number[]; status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const interim: number[] = [];
    const req = http.request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ interim, status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('information', (info) => interim.push(info.statusCode));
    req.on('error', reject);
    req.end();
  });
}

describe('bad parameters', () => {
  // generateStatus returns http.StatusBadRequest (fhttp/http_utils.go:264,277,282,288,295) and
  // EchoHandler carries on with it: the body is echoed, size/header/delay apply.
  it.each([
    ['status=abc', 'status=abc'],
    ['status=503:80,429:30', 'status=503:80\\x2c429:30'],
  ])('%s is a 400 that still echoes and applies the rest, the value reported', async (query, note) => {
    const { echoUrl } = await start();
    const echoed = await fetchReply(`${echoUrl}/echo?${query}&header=X-A:1`, { method: 'POST', body: 'kept' });
    expect(echoed.status).toBe(400);
    expect(echoed.text).toBe('kept');
    expect(echoed.headers['x-a']).toBe('1');
    expect(echoed.headers['x-meshload-ignored']).toBe(note);
    const sized = await fetchReply(`${echoUrl}/echo?${query}&size=7`);
    expect([sized.status, sized.body.length]).toEqual([400, 7]);
  });

  // http_server.go:114-120: an empty status= is no status=.
  it('answers status= (empty) with 200, silently', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/echo?status=&delay=&size=`);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-meshload-ignored']).toBeUndefined();
  });

  // Go's WriteHeader sends 1xx (101 aside) as an interim response and the Write after it a 200
  // (net/http server.go; Fortio http_server.go:155,167).
  it('answers status=100 with 100 Continue then 200, and status=150 with 200', async () => {
    const { echoUrl } = await start();
    const hundred = await rawRequest(`${echoUrl}/echo?status=100`);
    expect([hundred.interim, hundred.status]).toEqual([[100], 200]);
    const other = await rawRequest(`${echoUrl}/echo?status=150`);
    expect([other.interim, other.status]).toEqual([[], 200]);
  });

  // Go's WriteHeader panics outside 100-999 (Fortio's client sees the socket drop): a 400 saying so.
  it.each(['status=1000', 'status=0', 'status=-1', 'status=101'])('answers %s with a 400 that says why', async (query) => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/echo?${query}`);
    expect(reply.status).toBe(400);
    expect(reply.text).toMatch(/^meshload echo: status -?\d+ cannot be sent/);
  });

  it('ignores a value Fortio ignores, names it in x-meshload-ignored and counts it in /metrics', async () => {
    const { echoUrl, adminUrl } = await start();
    const query = 'delay=fast&size=1k&header=broken&header=X-Ok:1&status=418';
    for (let i = 0; i < 2; i++) {
      const reply = await fetchReply(`${echoUrl}/echo?${query}`, { method: 'POST', body: 'hello' });
      expect(reply.status).toBe(418);
      expect(reply.text).toBe('hello');
      expect(reply.headers['x-ok']).toBe('1');
      expect(reply.headers['x-meshload-ignored']).toBe('delay=fast, size=1k, header=broken');
    }
    const clean = await fetchReply(`${echoUrl}/echo?status=200:20%25`);
    expect(clean.status).toBe(200);
    expect(clean.headers['x-meshload-ignored']).toBeUndefined();
    const metrics = (await fetchReply(`${adminUrl}/metrics`)).text;
    expect(metricValue(metrics, 'meshload_server_ignored_params_total{param="delay"}')).toBe(2);
    expect(metricValue(metrics, 'meshload_server_ignored_params_total{param="size"}')).toBe(2);
    expect(metricValue(metrics, 'meshload_server_ignored_params_total{param="header"}')).toBe(2);
  });

  it('answers a code up to 999, as Go WriteHeader allows; over h2c a code past 599 is a 400 saying why', async () => {
    const { echoUrl } = await start();
    expect((await fetchReply(`${echoUrl}/echo?status=799`)).status).toBe(799);
    const session = http2.connect(echoUrl);
    session.on('error', () => undefined);
    try {
      const stream = session.request({ ':path': '/echo?status=799' });
      let status = 0;
      let text = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('error', reject);
        stream.end();
      });
      expect(status).toBe(400);
      expect(text).toContain('status 799 cannot be sent over HTTP/2');
    } finally {
      session.destroy();
    }
  });
});

describe('server-wide defaults (-echo-server-default-params)', () => {
  it('apply only to URLs without a query string, as in Fortio', async () => {
    const { echoUrl } = await start({ defaultParams: 'status=418' });
    expect((await fetchReply(`${echoUrl}/`)).status).toBe(418);
    expect((await fetchReply(`${echoUrl}/get`)).status).toBe(418);
    expect((await fetchReply(`${echoUrl}/?trace=1`)).status).toBe(200);
    expect((await fetchReply(`${echoUrl}/?status=503`)).status).toBe(503);
  });

  it('are validated at start', async () => {
    await expect(start({ defaultParams: 'status=503:200' })).rejects.toThrow(/status: weight '200'/);
  });
});

describe('attempt visibility and version tag', () => {
  it('echoes x-envoy-attempt-count back', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/echo`, { headers: { 'x-envoy-attempt-count': '3' } });
    expect(reply.headers['x-envoy-attempt-count']).toBe('3');
    const plain = await fetchReply(`${echoUrl}/echo`);
    expect(plain.headers['x-envoy-attempt-count']).toBeUndefined();
  });

  it('returns request headers as JSON on /headers, like httpbin', async () => {
    const { echoUrl } = await start();
    const reply = await fetchReply(`${echoUrl}/headers`, { headers: { 'X-Trace': 'abc', 'x-envoy-attempt-count': '2' } });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    const parsed = JSON.parse(reply.text) as { headers: Record<string, string> };
    expect(parsed.headers['X-Trace'] ?? parsed.headers['x-trace']).toBe('abc');
    expect(reply.headers['x-envoy-attempt-count']).toBe('2');
  });

  it('tags every response with x-version', async () => {
    const { echoUrl } = await start({ versionTag: 'v2' });
    for (const path of ['/', '/echo?status=503', '/headers', '/healthz', '/echo?status=bad']) {
      expect((await fetchReply(`${echoUrl}${path}`)).headers['x-version']).toBe('v2');
    }
  });
});

describe('admin port', () => {
  it('switches chaos on and off at run time', async () => {
    const { echoUrl, adminUrl } = await start();
    expect(JSON.parse((await fetchReply(`${adminUrl}/chaos`)).text)).toEqual({ params: '', active: false });

    const put = await fetchReply(`${adminUrl}/chaos?status=503&header=X-Chaos:on`, { method: 'PUT' });
    expect(put.status).toBe(200);
    expect(JSON.parse(put.text)).toEqual({ params: 'status=503&header=X-Chaos:on', active: true });
    const during = await fetchReply(`${echoUrl}/echo`);
    expect(during.status).toBe(503);
    expect(during.headers['x-chaos']).toBe('on');

    const del = await fetchReply(`${adminUrl}/chaos`, { method: 'DELETE' });
    expect(JSON.parse(del.text)).toEqual({ params: '', active: false });
    expect((await fetchReply(`${echoUrl}/echo`)).status).toBe(200);
  });

  it('rejects bad chaos and keeps the old defaults', async () => {
    const { echoUrl, adminUrl } = await start({ defaultParams: 'status=429' });
    const bad = await fetchReply(`${adminUrl}/chaos?status=503:150`, { method: 'PUT' });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/^meshload admin: bad parameter status: .*; chaos defaults unchanged\n$/);
    expect((await fetchReply(`${echoUrl}/echo`)).status).toBe(429);
    const typo = await fetchReply(`${adminUrl}/chaos?stauts=503`, { method: 'PUT' });
    expect(typo.status).toBe(400);
    expect(typo.text).toMatch(/stauts: unknown parameter \(did you mean status\?\)/);
    expect((await fetchReply(`${echoUrl}/echo`)).status).toBe(429);
    const empty = await fetchReply(`${adminUrl}/chaos`, { method: 'PUT' });
    expect(empty.status).toBe(400);
    expect(empty.text).toMatch(/needs echo parameters/);
  });

  it.each([
    ['header=X:a%01b', "header: value of 'X' holds control byte 0x01"],
    ['header=Content-Length:abc', "header: 'Content-Length' cannot be set: a framing header"],
    ['header=Transfer-Encoding:chunked', "header: 'Transfer-Encoding' cannot be set"],
    ['header=X%0D%0AY:1', "header: 'X\\x0d\\x0aY' is not a header name"],
  ])('rejects PUT /chaos?%s naming the header, and echoes on unharmed', async (query, why) => {
    const { echoUrl, adminUrl } = await start();
    const bad = await fetchReply(`${adminUrl}/chaos?${query}`, { method: 'PUT' });
    expect(bad.status).toBe(400);
    expect(bad.text.startsWith(`meshload admin: bad parameter ${why}`)).toBe(true);
    expect(bad.text).toMatch(/; chaos defaults unchanged\n$/);
    expect((await fetchReply(`${echoUrl}/`)).status).toBe(200);
  });

  it('answers wrong methods and paths with 405 and 404', async () => {
    const { adminUrl } = await start();
    const patch = await fetchReply(`${adminUrl}/chaos`, { method: 'PATCH' });
    expect(patch.status).toBe(405);
    expect(patch.headers.allow).toContain('PUT');
    const missing = await fetchReply(`${adminUrl}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.text).toMatch(/admin endpoints: /);
  });

  it('counts requests by status, faults by kind, and attempts', async () => {
    const { echoUrl, adminUrl } = await start();
    const dispatcher = agent(4);
    for (let i = 0; i < 5; i++) await fetchReply(`${echoUrl}/echo`, { dispatcher });
    for (let i = 0; i < 3; i++) await fetchReply(`${echoUrl}/echo?status=503`, { dispatcher });
    await fetchReply(`${echoUrl}/echo?delay=1ms`, { dispatcher });
    await fetchReply(`${echoUrl}/echo?close=true`, { dispatcher });
    await fetchReply(`${echoUrl}/echo?status=bogus`, { dispatcher });
    await fetchReply(`${echoUrl}/healthz`, { dispatcher }); // probes are not traffic: not counted
    for (const attempt of ['1', '1', '2', '3', '12']) {
      await fetchReply(`${echoUrl}/echo`, { headers: { 'x-envoy-attempt-count': attempt }, dispatcher });
    }
    const text = (await fetchReply(`${adminUrl}/metrics`)).text;
    expect(metricValue(text, 'meshload_server_requests_total{code="200"}')).toBe(5 + 1 + 1 + 5);
    expect(metricValue(text, 'meshload_server_requests_total{code="503"}')).toBe(3);
    expect(metricValue(text, 'meshload_server_requests_total{code="400"}')).toBe(1);
    expect(metricValue(text, 'meshload_server_faults_injected_total{kind="status"}')).toBe(3);
    expect(metricValue(text, 'meshload_server_faults_injected_total{kind="delay"}')).toBe(1);
    expect(metricValue(text, 'meshload_server_faults_injected_total{kind="close"}')).toBe(1);
    expect(metricValue(text, 'meshload_server_request_attempt_bucket{le="1"}')).toBe(2);
    expect(metricValue(text, 'meshload_server_request_attempt_bucket{le="2"}')).toBe(3);
    expect(metricValue(text, 'meshload_server_request_attempt_bucket{le="3"}')).toBe(4);
    expect(metricValue(text, 'meshload_server_request_attempt_bucket{le="10"}')).toBe(4);
    expect(metricValue(text, 'meshload_server_request_attempt_bucket{le="+Inf"}')).toBe(5);
    expect(metricValue(text, 'meshload_server_request_attempt_sum')).toBe(19);
    expect(metricValue(text, 'meshload_server_request_attempt_count')).toBe(5);
    expect(text).toMatch(/# TYPE meshload_server_requests_total counter/);
  });

  it('can be disabled', async () => {
    const running = await start({ admin: null });
    expect(running.adminUrl).toBeUndefined();
  });
});

describe('shutdown', () => {
  it('finishes in-flight requests, then refuses new connections', async () => {
    const { echoUrl } = await start();
    const inFlight = fetchReply(`${echoUrl}/echo?delay=300ms`);
    // The request is in flight once the server has counted the delay fault it drew.
    while (server?.metrics.totalRequests() === 0) await new Promise((resolve) => setImmediate(resolve));
    const closing = server?.close();
    server = undefined;
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe('close');
    await closing;
    await expect(fetchReply(`${echoUrl}/echo`, { dispatcher: agent(1) })).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
