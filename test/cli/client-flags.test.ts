/** Fortio's client flags through `meshload load` and `meshload curl`, in-process, against real
 * servers on loopback and on a unix socket: -resolve, -unix-socket, -user, -http1.0, -L and
 * `{uuid}`. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cli';
import { startRawServer, writeForever, type RawScript, type RawServer } from '../helpers/raw-http-server';
import { haveOpenssl, makeMtlsFiles, type MtlsFiles } from '../helpers/self-signed-cert';

interface Seen {
  method: string;
  url: string;
  host: string | undefined;
  authorization: string | undefined;
  body: string;
  httpVersion: string;
}

interface Server {
  url: string;
  port: number;
  seen: Seen[];
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Route = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void;

/** A node:http server recording each request; `route` answers (default: 200 "ok"). */
async function serve(route: Route = (_req, res) => res.end('ok'), path?: string): Promise<Server> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', host: req.headers.host, authorization: req.headers.authorization, body: Buffer.concat(chunks).toString(), httpVersion: req.httpVersion };
      seen.push(entry);
      route(req, res, entry);
    });
  });
  await new Promise<void>((resolve) => (path === undefined ? server.listen(0, '127.0.0.1', resolve) : server.listen(path, resolve)));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = path === undefined ? (server.address() as net.AddressInfo).port : 0;
  return { url: `http://127.0.0.1:${port}`, port, seen };
}

async function raw(script: RawScript): Promise<RawServer> {
  const server = await startRawServer(script);
  cleanups.push(() => server.close());
  return server;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshload-client-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function oneLine(stderr: string): string[] {
  return stderr.trimEnd().split('\n');
}

describe('meshload load', () => {
  it("Fortio's logger flags: -logger-no-color keeps JSON, -logger-json=false writes scli's std-logger lines, -logger-timestamp=false drops ts", async () => {
    const server = await serve((_req, res) => res.writeHead(503).end('busy'));
    const args = ['-n', '2', '-c', '1', '-qps', '0', '-allow-initial-errors', `${server.url}/`];
    const json = await cli('load', '-logger-no-color', '-logger-timestamp=false', ...args);
    expect(json.code).toBe(0);
    const warnings = oneLine(json.stderr).filter((line) => line.includes('Non ok http code'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toBe('{"level":"warn","msg":"Non ok http code","code":503,"status":"HTTP/1.1 503","thread":0,"run":0}');
    const text = await cli('load', '-logger-json=false', ...args);
    const textWarnings = oneLine(text.stderr).filter((line) => line.includes('Non ok http code'));
    expect(textWarnings).toHaveLength(2);
    expect(JSON.parse(textWarnings[0] as string)).toEqual({ ts: expect.any(Number), level: 'warn', msg: '[W]> Non ok http code, code=503, status="HTTP/1.1 503", thread=0, run=0', src: 'std' });
    expect(text.stderr).not.toContain('has no effect');
    expect(text.stderr).toMatch(/^Code 503 : 2 \(100\.0 %\)$/m);
  });

  it('-resolve localhost (a name, as Fortio looks it up) loads a name nobody resolves, over HTTP/1.1, -http1.0, -L and -h2, and curl', async () => {
    const server = await serve();
    for (const extra of [[], ['-http1.0'], ['-L']]) {
      const run = await cli('load', '-qps', '0', '-c', '1', '-n', '3', '-resolve', 'localhost', ...extra, '-json', '-', `http://nobody.example:${server.port}/x`);
      expect({ extra, code: run.code }).toEqual({ extra, code: 0 });
      expect((JSON.parse(run.stdout) as { RetCodes: unknown }).RetCodes).toEqual({ 200: 3 });
    }
    const curl = await cli('curl', '-resolve', 'localhost', `http://nobody.example:${server.port}/x`);
    expect(curl.code).toBe(0);
    // -http1.0 sends no Host unless -H gives one (Fortio's request form).
    expect(new Set(server.seen.map((s) => s.host).filter((host) => host !== undefined))).toEqual(new Set([`nobody.example:${server.port}`]));
    const h2 = http2.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    try {
      const port = (h2.address() as AddressInfo).port;
      const run = await cli('load', '-h2', '-qps', '0', '-c', '2', '-n', '4', '-resolve', 'localhost', '-json', '-', `http://nobody.example:${port}/`);
      expect(run.code).toBe(0);
      expect((JSON.parse(run.stdout) as { RetCodes: unknown }).RetCodes).toEqual({ 200: 4 });
    } finally {
      await new Promise<void>((resolve) => h2.close(() => resolve()));
    }
  });

  it('-resolve 127.0.0.1 loads a name nobody resolves, with the Host header of the URL', async () => {
    const server = await serve();
    const run = await cli('load', '-qps', '0', '-c', '2', '-n', '6', '-resolve', '127.0.0.1', '-json', '-', `http://localhost-ish.example:${server.port}/x`);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as { RetCodes: Record<string, number>; Resolve: string };
    expect(json.RetCodes).toEqual({ 200: 6 });
    expect(json.Resolve).toBe('127.0.0.1');
    expect(new Set(server.seen.map((s) => s.host))).toEqual(new Set([`localhost-ish.example:${server.port}`]));
  });

  it.each([
    [['-resolve', 'not_an_ip'], /-resolve 'not_an_ip' is not an IP address or host name/],
    [['-http1.0', '-h2'], /-http1\.0 and -h2 exclude each other/],
    [['-user', 'nocolon'], /-user has no ':' between user and password/],
  ])('%p exits 2 with one line', async (args, pattern) => {
    const run = await cli('load', '-n', '1', ...args, 'http://127.0.0.1:1/');
    expect(run.code).toBe(2);
    expect(oneLine(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(pattern);
  });

  it('-user sends basic auth and no output holds the password or its base64', async () => {
    const server = await serve();
    const run = await cli('load', '-qps', '0', '-c', '1', '-n', '2', '-user', 'alice:s3cr3t-pw', '-json', '-', `${server.url}/`);
    expect(run.code).toBe(0);
    const encoded = Buffer.from('alice:s3cr3t-pw').toString('base64');
    expect(server.seen.length).toBeGreaterThanOrEqual(2);
    expect(new Set(server.seen.map((s) => s.authorization))).toEqual(new Set([`Basic ${encoded}`]));
    for (const text of [run.stdout, run.stderr]) {
      expect(text).not.toContain('s3cr3t-pw');
      expect(text).not.toContain(encoded);
    }
    expect(run.stdout).toContain('"Authorization",\n');
  });

  it('-unix-socket loads over the socket; a missing socket is counted as -1, not a crash', async () => {
    const dir = tempDir();
    const server = await serve(undefined, join(dir, 'up.sock'));
    const run = await cli('load', '-qps', '0', '-c', '2', '-n', '4', '-unix-socket', join(dir, 'up.sock'), '-json', '-', 'http://svc.example/get');
    expect(run.code).toBe(0);
    const fortio = JSON.parse(run.stdout) as { RetCodes: unknown; IPCountMap: unknown };
    expect(fortio.RetCodes).toEqual({ 200: 4 });
    // Go's UnixAddr.String() is the path, so that is the "IP" Fortio counts for the socket.
    expect(fortio.IPCountMap).toEqual({ [join(dir, 'up.sock')]: 2 });
    expect(server.seen.every((s) => s.host === 'svc.example')).toBe(true);
    const missing = await cli('load', '-qps', '0', '-c', '1', '-n', '3', '-allow-initial-errors', '-unix-socket', join(dir, 'none.sock'), '-json', '-', 'http://svc.example/');
    expect(missing.code).toBe(0);
    expect((JSON.parse(missing.stdout) as { RetCodes: unknown }).RetCodes).toEqual({ '-1': 3 });
  });

  it('-http1.0 sends HTTP/1.0 and a new socket per request', async () => {
    const server = await serve();
    const run = await cli('load', '-qps', '0', '-c', '1', '-n', '3', '-http1.0', '-json', '-', `${server.url}/`);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as { RetCodes: unknown; SocketCount: number; HTTP10: boolean };
    expect(json).toMatchObject({ RetCodes: { 200: 3 }, HTTP10: true });
    // Every request (warm-up included) on its own socket.
    expect(json.SocketCount).toBe(server.seen.length);
    expect(server.seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(server.seen.map((s) => s.httpVersion))).toEqual(new Set(['1.0']));
  });

  it('{uuid} is a fresh UUID in every request', async () => {
    const server = await serve();
    const run = await cli('load', '-qps', '0', '-c', '2', '-n', '10', '-payload', 'id={uuid}', `${server.url}/item/{uuid}`);
    expect(run.code).toBe(0);
    expect(server.seen.length).toBeGreaterThanOrEqual(10);
    const ids = server.seen.map((s) => /^\/item\/([0-9a-f-]{36})$/.exec(s.url)?.[1]);
    expect(ids.every((id) => id !== undefined)).toBe(true);
    expect(new Set(ids).size).toBe(server.seen.length);
    expect(server.seen.every((s) => /^id=[0-9a-f-]{36}$/.test(s.body))).toBe(true);
  });

  describe('-L (Go\'s client, as Fortio switches to it)', () => {
    it('follows each call\'s redirects and counts the final answer, on one socket per connection', async () => {
      const server = await serve((req, res) => {
        if (req.url === '/start') res.writeHead(302, { location: '/elsewhere' }).end();
        else res.end('final');
      });
      const run = await cli('load', '-qps', '0', '-c', '2', '-n', '6', '-L', '-json', '-', `${server.url}/start`);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/meshload: -L: Go's client as in Fortio/);
      const json = JSON.parse(run.stdout) as { RetCodes: unknown; SocketCount: number; FollowRedirects: boolean };
      expect(json).toMatchObject({ RetCodes: { 200: 6 }, FollowRedirects: true, SocketCount: 2 });
      expect(server.seen.filter((s) => s.url === '/start')).toHaveLength(6);
      expect(server.seen.filter((s) => s.url === '/elsewhere')).toHaveLength(6);
      const noKeepAlive = await cli('load', '-qps', '0', '-c', '1', '-n', '3', '-L', '-keepalive=false', '-json', '-', `${server.url}/start`);
      expect(JSON.parse(noKeepAlive.stdout)).toMatchObject({ RetCodes: { 200: 3 }, SocketCount: 6 });
    });

    it('counts a redirect loop as -1 after 10 redirects, and -timeout bounds the whole chain', async () => {
      const server = await serve((req, res) => {
        if (req.url?.startsWith('/slow') === true) return; // never answers
        res.writeHead(307, { location: req.url === '/loop' ? '/loop' : '/slow' }).end();
      });
      const loop = await cli('load', '-qps', '0', '-c', '1', '-n', '2', '-L', '-allow-initial-errors', '-json', '-', `${server.url}/loop`);
      expect(loop.code).toBe(0);
      expect((JSON.parse(loop.stdout) as { RetCodes: unknown }).RetCodes).toEqual({ '-1': 2 });
      expect(server.seen.filter((s) => s.url === '/loop')).toHaveLength(22);
      const started = performance.now();
      const slow = await cli('load', '-qps', '0', '-c', '1', '-n', '1', '-L', '-timeout', '300ms', '-allow-initial-errors', '-json', '-', `${server.url}/to-slow`);
      expect(performance.now() - started).toBeLessThan(5000);
      expect((JSON.parse(slow.stdout) as { RetCodes: unknown }).RetCodes).toEqual({ '-1': 1 });
      expect(slow.stderr).toMatch(/timeout 1/);
    });

    it('keeps -resolve and -user, and drops the credentials when a redirect leaves the host', async () => {
      const other = await serve();
      const server = await serve((_req, res) => res.writeHead(301, { location: `http://localhost:${other.port}/away` }).end());
      const run = await cli('load', '-qps', '0', '-c', '1', '-n', '1', '-L', '-user', 'u:p', '-json', '-', `${server.url}/`);
      expect(run.code).toBe(0);
      expect((JSON.parse(run.stdout) as { RetCodes: unknown }).RetCodes).toEqual({ 200: 1 });
      expect(server.seen[0]?.authorization).toBe('Basic dTpw');
      expect(other.seen.map((s) => s.authorization)).toEqual([undefined]);
      const resolved = await cli('load', '-qps', '0', '-c', '1', '-n', '1', '-L', '-resolve', '127.0.0.1', '-json', '-', `http://localhost-ish.example:${other.port}/r`);
      expect((JSON.parse(resolved.stdout) as { RetCodes: unknown }).RetCodes).toEqual({ 200: 1 });
      expect(other.seen.at(-1)?.host).toBe(`localhost-ish.example:${other.port}`);
    });

    it.each([['-h2'], ['-http1.0']])('with %s is exit 2 in one line', async (flag) => {
      const run = await cli('load', '-n', '1', '-L', flag, 'http://127.0.0.1:1/');
      expect(run.code).toBe(2);
      expect(oneLine(run.stderr)).toEqual([expect.stringMatching(/-L in load is HTTP\/1\.1 only/)]);
    });
  });
});

describe('meshload curl', () => {
  it('-resolve and -unix-socket reach the server with the URL host as Host', async () => {
    const server = await serve();
    const run = await cli('curl', '-resolve', '127.0.0.1', `http://localhost-ish.example:${server.port}/r`);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('ok');
    expect(server.seen[0]?.host).toBe(`localhost-ish.example:${server.port}`);
    const dir = tempDir();
    const uds = await serve(undefined, join(dir, 'c.sock'));
    const overSocket = await cli('curl', '-unix-socket', join(dir, 'c.sock'), 'http://svc.example/u');
    expect(overSocket.code).toBe(0);
    expect(uds.seen.map((s) => [s.host, s.url])).toEqual([['svc.example', '/u']]);
  });

  it('{uuid} in the payload is a fresh UUID, as in the URL', async () => {
    const server = await serve((_req, res, seen) => res.end(seen.body));
    const run = await cli('curl', '-payload', '{"a":"{uuid}","b":"{uuid}"}', `${server.url}/{uuid}`);
    expect(run.code).toBe(0);
    const match = /^\{"a":"([0-9a-f-]{36})","b":"([0-9a-f-]{36})"\}$/.exec(run.stdout);
    expect(match).not.toBeNull();
    expect(match?.[1]).not.toBe(match?.[2]);
    expect(server.seen[0]?.url).toMatch(/^\/[0-9a-f-]{36}$/);
  });

  it('-user sends basic auth', async () => {
    const server = await serve();
    const run = await cli('curl', '-user', 'bob:pw', `${server.url}/`);
    expect(run.code).toBe(0);
    expect(server.seen[0]?.authorization).toBe(`Basic ${Buffer.from('bob:pw').toString('base64')}`);
  });

  describe('-L', () => {
    /** /to/CODE/TARGET redirects with CODE to TARGET (path-encoded); /final answers. */
    const route: Route = (req, res, seen) => {
      const match = /^\/to\/(\d{3})\/(.*)$/.exec(req.url ?? '');
      if (match !== null) {
        res.writeHead(Number(match[1]), { location: decodeURIComponent(match[2] ?? '') }).end('moved');
        return;
      }
      res.end(`final ${seen.method} ${seen.body}`);
    };

    it('without -L prints the 3xx and exits 1', async () => {
      const server = await serve(route);
      const run = await cli('curl', `${server.url}/to/302/%2Ffinal`);
      expect(run.code).toBe(1);
      // Fortio's fast client logs the non-OK code first (http_client.go:1159), then the head.
      expect(run.stderr).toMatch(/^\{"ts":[\d.]+,"level":"warn","msg":"Non ok http code","code":302,"status":"HTTP\/1\.1 302","thread":0,"run":0\}\nHTTP\/1\.1 302 Found/);
      expect(server.seen).toHaveLength(1);
    });

    it.each([
      [301, 'GET', ''],
      [302, 'GET', ''],
      [303, 'GET', ''],
      [307, 'POST', 'data'],
      [308, 'POST', 'data'],
    ])('follows %d: the next request is %s with body %p', async (code, method, body) => {
      const server = await serve(route);
      const run = await cli('curl', '-L', '-payload', 'data', `${server.url}/to/${code}/%2Ffinal`);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`final ${method} ${body}`);
      expect(run.stderr).toMatch(new RegExp(`^meshload: ${code} redirect to ${method} http://127\\.0\\.0\\.1:\\d+/final\nHTTP/1\\.1 200 OK\n`));
      expect(run.stderr).not.toMatch(/HTTP\/1\.1 3/);
      expect(server.seen.map((s) => s.url)).toEqual([`/to/${code}/%2Ffinal`, '/final']);
    });

    it('stops after 10 redirects with one line, exit 1', async () => {
      const server = await serve((req, res) => {
        const n = Number(/n=(\d+)/.exec(req.url ?? '')?.[1] ?? '0');
        res.writeHead(302, { location: `/loop?n=${n + 1}` }).end();
      });
      const run = await cli('curl', '-L', `${server.url}/loop?n=0`);
      expect(run.code).toBe(1);
      expect(oneLine(run.stderr).pop()).toMatch(/^meshload: GET .* failed: stopped after 10 redirects \(-L\)$/);
      expect(server.seen).toHaveLength(11);
    });

    it('drops Authorization when the redirect leaves the host', async () => {
      const other = await serve();
      const server = await serve(route);
      const target = encodeURIComponent(`http://localhost:${other.port}/away`);
      const run = await cli('curl', '-L', '-user', 'u:p', `${server.url}/to/302/${target}`);
      expect(run.code).toBe(0);
      expect(server.seen[0]?.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
      expect(other.seen.map((s) => [s.url, s.authorization])).toEqual([['/away', undefined]]);
    });

    it('refuses a redirect to another scheme with one line', async () => {
      const server = await serve(route);
      const run = await cli('curl', '-L', `${server.url}/to/302/${encodeURIComponent('ftp://example.com/')}`);
      expect(run.code).toBe(1);
      expect(oneLine(run.stderr).pop()).toMatch(/302 redirect to unsupported protocol scheme ftp: \(-L\)$/);
    });
  });
});

describe('meshload curl -http1.0', () => {
  it("sends Fortio's HTTP/1.0 request and reads a close-delimited answer", async () => {
    const server = await raw((socket) => {
      socket.end('HTTP/1.0 200 OK\r\nX-A: b\r\n\r\nbody until close');
    });
    const run = await cli('curl', '-http1.0', `${server.url}/p`);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('body until close');
    expect(run.stderr).toMatch(/^HTTP\/1\.0 200 OK\nX-A: b\n\n/);
    expect(server.requests[0]?.head).toMatch(/^GET \/p HTTP\/1\.0\r\nUser-Agent: meshload\/[^\r]+$/);
  });

  it("stops at Content-Length, against node's server, and over a unix socket", async () => {
    const dir = tempDir();
    const server = await serve(undefined, join(dir, 'ten.sock'));
    const run = await cli('curl', '-http1.0', '-unix-socket', join(dir, 'ten.sock'), '-H', 'Host: svc.example', 'http://ignored.example/x');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('ok');
    expect(server.seen.map((s) => [s.httpVersion, s.host])).toEqual([['1.0', 'svc.example']]);
  });

  it('follows a redirect with -L', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/old') res.writeHead(301, { location: '/new' }).end();
      else res.end('new');
    });
    const run = await cli('curl', '-http1.0', '-L', `${server.url}/old`);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('new');
    expect(server.seen.map((s) => s.url)).toEqual(['/old', '/new']);
  });

  it.each([
    ['an endless head', (socket: net.Socket) => void writeForever(socket, `HTTP/1.0 200 OK\r\nX-Pad: ${'a'.repeat(4000)}\r\n`), /response head over 65536 bytes/],
    ['no status line', (socket: net.Socket) => void socket.end('SSH-2.0-OpenSSH\r\n\r\n'), /not an HTTP\/1\.x status line/],
    ['a chunked answer', (socket: net.Socket) => void socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'), /Transfer-Encoding in an answer to an HTTP\/1\.0 request/],
    ['a short body', (socket: net.Socket) => void socket.end('HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc'), /connection closed after 3 of 10 body bytes/],
    ['silence', () => undefined, /no complete response within 300ms/],
  ])('%s is one line and exit 1', async (_what, script, message) => {
    const server = await raw((socket) => script(socket));
    const run = await cli('curl', '-http1.0', '-timeout', '300ms', `${server.url}/`);
    expect(run.code).toBe(1);
    expect(oneLine(run.stderr).pop()).toMatch(message);
  });
});

describe('-resolve over TLS keeps the URL host as SNI', () => {
  let files: MtlsFiles;
  beforeAll(() => {
    if (!haveOpenssl) throw new Error('these tests need the openssl CLI: install openssl');
    files = makeMtlsFiles();
  });
  afterAll(() => files?.remove());

  it.each([
    ['curl', ['curl']],
    ['curl -http1.0', ['curl', '-http1.0']],
    ['load', ['load', '-n', '2', '-qps', '0', '-c', '1']],
  ])('%s', async (_name, command) => {
    const names: Array<string | false> = [];
    const server = https.createServer({ key: readFileSync(files.serverKey), cert: readFileSync(files.serverCert) }, (_req, res) => res.end('ok'));
    server.on('secureConnection', (socket: TLSSocket) => names.push(socket.servername ?? false));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    const port = (server.address() as net.AddressInfo).port;
    const run = await cli(...command, '-resolve', '127.0.0.1', '-cacert', files.ca, `https://server.test:${port}/`);
    expect(run.code).toBe(0);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names)).toEqual(new Set(['server.test']));
  });
});
