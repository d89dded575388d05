import http2 from 'node:http2';
import https from 'node:https';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { Client } from 'undici';
import { BodySummary, canonicalHeaderKey, goDistinguishedName, goDuration, goQuote, renderDebugPage } from '../../src/server/debug-page';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { meshloadVersion } from '../../src/util/version';
import { fetchReply, metricValue } from '../helpers/http';
import { haveOpenssl, makeSelfSignedCert } from '../helpers/self-signed-cert';

// Expected shapes come from fortio/fortio fhttp/http_server.go DebugHandler and fnet's
// DebugSummary/EscapeBytes (Go's %q without the quotes).
describe('debug page pieces, as Fortio prints them', () => {
  it.each([
    ['x-forwarded-for', 'X-Forwarded-For'],
    ['USER-AGENT', 'User-Agent'],
    ['x-b3-traceid', 'X-B3-Traceid'],
    ['content-md5', 'Content-Md5'],
    ['bad name', 'bad name'],
  ])('canonicalHeaderKey(%p) is %p, as textproto.CanonicalMIMEHeaderKey', (name, key) => {
    expect(canonicalHeaderKey(name)).toBe(key);
  });

  it.each([
    ['hi "there"\n', 'hi \\"there\\"\\n'],
    ['a\\b\tc\x00\x7f', 'a\\\\b\\tc\\x00\\x7f'],
    ['Φορτίο €', 'Φορτίο €'],
  ])('goQuote(%p) escapes as %%q', (text, quoted) => {
    expect(goQuote(Buffer.from(text, 'utf8'))).toBe(quoted);
  });

  it('goQuote escapes bytes that are not UTF-8 one by one', () => {
    expect(goQuote(Buffer.from([0x61, 0xff, 0xe2, 0x82, 0x62]))).toBe('a\\xff\\xe2\\x82b');
  });

  it.each([
    [0, '0s'],
    [40, '0s'],
    [160, '200ms'],
    [1500, '1.5s'],
    [12_000, '12s'],
    [123_400, '2m3.4s'],
    [3_600_000, '1h0m0s'],
  ])('goDuration(%p) is %p (RoundDuration then Duration.String)', (ms, text) => {
    expect(goDuration(ms)).toBe(text);
  });

  it('keeps a body up to 515 bytes whole and a longer one as length, head...tail', () => {
    const small = new BodySummary();
    small.add(Buffer.alloc(515, 'a'));
    expect(small.render()).toBe('a'.repeat(515));
    const big = new BodySummary();
    for (let i = 0; i < 1000; i++) big.add(Buffer.from(i === 0 ? 'H'.repeat(300) : i === 999 ? 'T'.repeat(300) : 'm'.repeat(100)));
    expect(big.render()).toBe(`${300 + 998 * 100 + 300}: ${'H'.repeat(256)}...${'T'.repeat(256)}`);
  });

  it('renders the whole page in DebugHandler order, headers sorted and joined by ","', () => {
    const body = new BodySummary();
    body.add(Buffer.from('hello'));
    const page = renderDebugPage({
      version: '1.2.3',
      uptimeMs: 1500,
      hostname: 'box',
      remoteAddr: '127.0.0.1:4000',
      method: 'POST',
      url: '/debug?x=1',
      proto: 'HTTP/1.1',
      host: 'svc:8080',
      headers: [
        ['x-b', '2'],
        ['X-A', 'a\x01'],
        ['x-b', '3'],
      ],
      body,
    });
    expect(page).toBe(
      'meshload version 1.2.3 echo debug server up for 1.5s on box - request from 127.0.0.1:4000\n\n' +
        'POST /debug?x=1 HTTP/1.1\n\nheaders:\n\nHost: svc:8080\nX-A: a\\x01\nX-B: 2,3\n\nbody:\n\nhello\n',
    );
  });

  // fortio/log http_logging.go TLSInfo: fmt.Sprintf(" https %s%s", CipherSuiteName, " %q" of the
  // client certificate's Subject), appended to the first line (fhttp/http_server.go:378).
  it('names the cipher suite and the client certificate subject over TLS, as log.TLSInfo', () => {
    const base = { version: '1', uptimeMs: 0, hostname: 'h', remoteAddr: '10.0.0.1:5', method: 'GET', url: '/debug', proto: 'HTTP/1.1', host: 'x', headers: [], body: new BodySummary() };
    expect(renderDebugPage({ ...base, tls: { cipher: 'TLS_AES_128_GCM_SHA256' } }).split('\n')[0]).toMatch(/request from 10\.0\.0\.1:5 https TLS_AES_128_GCM_SHA256$/);
    const withCert = renderDebugPage({ ...base, tls: { cipher: 'TLS_AES_128_GCM_SHA256', clientSubject: goDistinguishedName('C=US\nO=Acme "X"\nCN=client') } });
    expect(withCert.split('\n')[0]).toMatch(/ https TLS_AES_128_GCM_SHA256 "CN=client,O=Acme \\"X\\",C=US"$/);
  });
});

describe('GET /debug over TLS', () => {
  let server: RunningEchoServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('shows the TLS info and the client certificate on HTTP/1.1 and h2', async () => {
    if (!haveOpenssl) throw new Error('this test needs the openssl CLI on PATH (apt-get install openssl)');
    const serverCert = makeSelfSignedCert();
    const clientCert = makeSelfSignedCert();
    server = await startEchoServer({
      echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1000, maxPayloadBytes: 1024,
      tls: { cert: serverCert.cert, key: serverCert.key, ca: clientCert.cert },
    });
    const port = new URL(server.echoUrl).port;
    const h1 = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, path: '/debug', ca: serverCert.cert, cert: clientCert.cert, key: clientCert.key, agent: false, timeout: 5000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(h1.split('\n')[0]).toMatch(/ - request from 127\.0\.0\.1:\d+ https TLS_[A-Z0-9_]+ "CN=127\.0\.0\.1"$/);
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: serverCert.cert, cert: clientCert.cert, key: clientCert.key });
    try {
      session.on('error', () => undefined);
      const stream = session.request({ ':path': '/debug' });
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (text += chunk));
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      expect(text.split('\n')[0]).toMatch(/ https TLS_[A-Z0-9_]+ "CN=127\.0\.0\.1"$/);
      expect(text).toContain('GET /debug HTTP/2.0');
    } finally {
      session.destroy();
    }
  });
});

describe('GET /debug on the echo port', () => {
  let server: RunningEchoServer | undefined;
  let session: http2.ClientHttp2Session | undefined;

  afterEach(async () => {
    session?.destroy();
    session = undefined;
    await server?.close();
    server = undefined;
  });

  async function start(debugPath?: string): Promise<string> {
    server = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, maxDelayMs: 1500, maxPayloadBytes: 256 * 1024, ...(debugPath !== undefined ? { debugPath } : {}) });
    return server.echoUrl;
  }

  // cli/fortio_main.go:98 -echo-debug-path; http_server.go:476-479 registers the dump there and
  // the echo under PATH/echo/, neither when it is empty.
  it('-echo-debug-path moves the dump and its echo path; "" turns both off, leaving the echo', async () => {
    const moved = await start('/dbg');
    expect((await fetchReply(`${moved}/dbg`)).text).toMatch(FIRST_LINE);
    const echoed = await fetchReply(`${moved}/debug`, { method: 'POST', body: 'plain echo' });
    expect(echoed.text).toBe('plain echo');
    const root = await fetchReply(`${moved}/dbg/echo?x=1`);
    expect(root.status).toBe(301);
    expect(root.headers.location).toBe('/dbg/echo/?x=1');
    expect((await fetchReply(`${moved}/dbg/echo/`, { method: 'POST', body: 'under debug' })).text).toBe('under debug');
    expect((await fetchReply(`${moved}/debug/echo`, { method: 'POST', body: 'no redirect' })).status).toBe(200);
    await server?.close();
    const off = await start('');
    expect((await fetchReply(`${off}/debug`, { method: 'POST', body: 'echo, not dump' })).text).toBe('echo, not dump');
    expect((await fetchReply(`${off}/debug/echo`)).status).toBe(200);
  });

  const FIRST_LINE = new RegExp(`^meshload version ${meshloadVersion().replace(/\./g, '\\.')} echo debug server up for [0-9.]+m?s on ${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} - request from 127\\.0\\.0\\.1:\\d+\n\n`);

  it('dumps an HTTP/1.1 request with its headers and body', async () => {
    const echoUrl = await start();
    const client = new Client(echoUrl);
    try {
      const response = await client.request({
        method: 'POST',
        path: '/debug?q=1',
        headers: { 'x-request-id': 'abc', 'X-Envoy-Attempt-Count': '1', 'content-type': 'text/plain' },
        body: 'line one\nline "two"',
      });
      const text = await response.body.text();
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/plain; charset=UTF-8');
      expect(text).toMatch(FIRST_LINE);
      const rest = text.replace(FIRST_LINE, '');
      const [requestLine, , headersTitle, , ...after] = rest.split('\n');
      expect([requestLine, headersTitle]).toEqual(['POST /debug?q=1 HTTP/1.1', 'headers:']);
      const headerLines = after.slice(0, after.indexOf(''));
      expect(headerLines[0]).toBe(`Host: ${new URL(echoUrl).host}`);
      expect(headerLines).toEqual(expect.arrayContaining(['X-Request-Id: abc', 'X-Envoy-Attempt-Count: 1', 'Content-Type: text/plain', 'Content-Length: 19']));
      const names = headerLines.slice(1).map((line) => line.slice(0, line.indexOf(':')));
      expect(names).toEqual([...names].sort());
      expect(rest.endsWith('\n\nbody:\n\nline one\\nline \\"two\\"\n')).toBe(true);
    } finally {
      await client.close();
    }
  });

  // Go's server moves Transfer-Encoding and Trailer out of r.Header (net/http transfer.go):
  // Fortio's dump of a chunked request does not list them.
  it("leaves out Transfer-Encoding and Trailer, as Go's r.Header does", async () => {
    const echoUrl = await start();
    const client = new Client(echoUrl);
    try {
      const response = await client.request({ method: 'POST', path: '/debug', headers: { trailer: 'x-t' }, body: Readable.from(['ab', 'cd']) });
      const text = await response.body.text();
      expect(text).not.toMatch(/^Transfer-Encoding:/m);
      expect(text).not.toMatch(/^Trailer:/m);
      expect(text.endsWith('\n\nbody:\n\nabcd\n')).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('dumps an h2c request as HTTP/2.0 with :authority as Host and no pseudo-headers', async () => {
    const echoUrl = await start();
    session = http2.connect(echoUrl);
    session.on('error', () => undefined);
    const stream = session.request({ ':path': '/debug', ':method': 'POST', 'x-b3-sampled': '1', 'x-a': ['1', '2'] });
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.end(Buffer.alloc(2000, 'z'));
    await ended;
    const text = Buffer.concat(chunks).toString('utf8');
    expect(status).toBe(200);
    expect(text).toMatch(FIRST_LINE);
    expect(text).toContain(`\n\nPOST /debug HTTP/2.0\n\nheaders:\n\nHost: ${new URL(echoUrl).host}\nX-A: 1,2\nX-B3-Sampled: 1\n\nbody:\n\n`);
    expect(text).not.toContain(':path');
    expect(text.endsWith(`\n\nbody:\n\n2000: ${'z'.repeat(256)}...${'z'.repeat(256)}\n`)).toBe(true);
  });

  it("applies delay, close and header= as Fortio 1.75's handleCommonArgs, but not status or size", async () => {
    const echoUrl = await start();
    const started = Date.now();
    const reply = await fetchReply(`${echoUrl}/debug?delay=50ms&close=true&header=X-Set:1&header=broken&status=abc&size=5`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-set']).toBe('1');
    expect(reply.headers['connection']).toBe('close');
    expect(reply.headers['x-meshload-ignored']).toBe('header=broken');
    expect(reply.text).toContain(' /debug?delay=50ms&close=true&header=X-Set:1&header=broken&status=abc&size=5 HTTP/1.1\n');
    const typed = await fetchReply(`${echoUrl}/debug?header=Content-Type:text/x-mine`);
    expect(typed.headers['content-type']).toBe('text/x-mine');
  });

  // Serve mounts DebugHandler in Gzip(...) (fhttp/http_server.go:477; http_utils.go:550-561).
  it('gzips the dump for a client that accepts gzip, as Fortio', async () => {
    const echoUrl = await start();
    const reply = await fetchReply(`${echoUrl}/debug`, { headers: { 'accept-encoding': 'gzip' } });
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(reply.body).toString()).toMatch(FIRST_LINE);
    const plain = await fetchReply(`${echoUrl}/debug`);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text).toMatch(FIRST_LINE);
  });

  // http_server.go:429-435 appends os.Environ() for env=dump: meshload will not hand out its
  // environment (tokens, keys), and reports the parameter instead.
  it('does not dump the environment for env=dump, and reports it', async () => {
    const echoUrl = await start();
    const reply = await fetchReply(`${echoUrl}/debug?env=dump`);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-meshload-ignored']).toBe('env=dump');
    expect(reply.text).not.toContain('environment:');
    expect(reply.text).not.toContain(`PATH=${process.env.PATH ?? ''}`);
    const metrics = (await fetchReply(`${server?.adminUrl ?? ''}/metrics`)).text;
    expect(metricValue(metrics, 'meshload_server_ignored_params_total{param="env"}')).toBe(1);
  });

  // Go's ServeMux (Fortio registers "/debug/echo/", http_server.go:478): the subtree root without
  // its slash, and any path with '//', '.' or '..' segments, get a 301 to the clean path.
  it.each([
    ['/debug/echo', '/debug/echo/'],
    ['/debug/echo?status=503', '/debug/echo/?status=503'],
    ['//echo', '/echo'],
    ['/a/./b/../c/', '/a/c/'],
    ['/x/..', '/'],
  ])('redirects %s to %s as Go ServeMux, 301 with its HTML body', async (path, location) => {
    const echoUrl = await start();
    const client = new Client(echoUrl);
    try {
      const response = await client.request({ method: 'GET', path });
      expect(response.statusCode).toBe(301);
      expect(response.headers.location).toBe(location);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(await response.body.text()).toBe(`<a href="${location}">Moved Permanently</a>.\n\n`);
    } finally {
      await client.close();
    }
  });

  it('echoes on /debug/echo/, the echo path Fortio adds behind /debug', async () => {
    const echoUrl = await start();
    const reply = await fetchReply(`${echoUrl}/debug/echo/?status=418`, { method: 'POST', body: 'e' });
    expect([reply.status, reply.text]).toEqual([418, 'e']);
  });

  it('leaves /debug/... and other paths to the echo handler', async () => {
    const echoUrl = await start();
    const reply = await fetchReply(`${echoUrl}/debug/x`, { method: 'POST', body: 'echoed' });
    expect(reply.text).toBe('echoed');
  });
});
