/** Fortio's client options on both transports: -resolve, -unix-socket, -http1.0 and `{uuid}`
 * placeholders, against real servers on loopback and on a unix socket in a temp dir. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFastH2Transport } from '../../src/transport/h2-fast-transport';
import { createH2Transport } from '../../src/transport/h2-transport';
import { createHttp1Transport, serialiseRequest } from '../../src/transport/http1-transport';
import { createRedirectTransport } from '../../src/transport/redirect-transport';
import type { RequestTemplate, Transport } from '../../src/transport/transport';
import { meshloadVersion } from '../../src/util/version';
import { startRawServer, type RawScript, type RawServer } from '../helpers/raw-http-server';
import { haveOpenssl, makeMtlsFiles, type MtlsFiles } from '../helpers/self-signed-cert';
import { send, sendMany, template } from '../helpers/transport-harness';

const UA = `meshload/${meshloadVersion()}`;
const UUID_V4 = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g;
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function http1(url: string, overrides: Partial<RequestTemplate> = {}): Transport {
  const created = createHttp1Transport(template(url, overrides));
  cleanups.push(() => created.close());
  return created;
}

function h2(url: string, overrides: Partial<RequestTemplate> = {}): Transport {
  const created = createH2Transport(template(url, overrides));
  cleanups.push(() => created.close());
  return created;
}

/** meshload's own framing (h2-wire): what -h2 uses for load. */
function h2wire(url: string, overrides: Partial<RequestTemplate> = {}): Transport {
  const created = createFastH2Transport(template(url, overrides));
  cleanups.push(() => created.close());
  return created;
}

type Protocol = 'http1' | 'h2' | 'h2-wire';
const PROTOCOLS: Protocol[] = ['http1', 'h2', 'h2-wire'];

function maker(protocol: Protocol): (url: string, overrides?: Partial<RequestTemplate>) => Transport {
  return protocol === 'h2' ? h2 : protocol === 'h2-wire' ? h2wire : http1;
}

async function raw(script: RawScript): Promise<RawServer> {
  const server = await startRawServer(script);
  cleanups.push(() => server.close());
  return server;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshload-uds-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Listens on `server` (TCP loopback port 0, or a unix socket path) and closes it afterwards. */
async function listen(server: net.Server, path?: string): Promise<number> {
  await new Promise<void>((resolve) => (path === undefined ? server.listen(0, '127.0.0.1', resolve) : server.listen(path, resolve)));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        (server as http.Server).closeAllConnections?.();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

const answer = (socket: net.Socket): void => {
  socket.write(OK);
};

describe('-resolve', () => {
  it('connects to the IP while Host stays the URL host (HTTP/1.1)', async () => {
    const server = await raw(answer);
    const outcome = await send(http1(`http://localhost-ish.example:${server.port}/x`, { resolve: '127.0.0.1' }).newConnection());
    expect(outcome.status).toBe(200);
    expect(server.requests[0]?.head).toContain(`\r\nHost: localhost-ish.example:${server.port}\r\n`);
  });

  it.each(['h2', 'h2-wire'] as const)('%s: connects to the IP while :authority stays the URL host', async (protocol) => {
    const authorities: string[] = [];
    const server = http2.createServer((req, res) => {
      authorities.push(req.headers[':authority'] ?? '');
      res.end('ok');
    });
    const port = await listen(server);
    const outcome = await send(maker(protocol)(`http://localhost-ish.example:${port}/x`, { resolve: '127.0.0.1' }).newConnection());
    expect(outcome.status).toBe(200);
    expect(authorities).toEqual([`localhost-ish.example:${port}`]);
  });

  describe('over TLS', () => {
    let files: MtlsFiles;
    beforeAll(() => {
      if (!haveOpenssl) throw new Error('these tests need the openssl CLI: install openssl');
      files = makeMtlsFiles();
    });
    afterAll(() => files?.remove());

    it.each(PROTOCOLS)('%s: sends the URL host as SNI and checks the certificate against it', async (protocol) => {
      const seen: Array<string | false> = [];
      const options = { key: readFileSync(files.serverKey), cert: readFileSync(files.serverCert), allowHTTP1: true };
      const onSecure = (socket: tls.TLSSocket): void => {
        seen.push(socket.servername ?? false);
      };
      const server = protocol !== 'http1' ? http2.createSecureServer(options, (_req, res) => res.end('ok')) : https.createServer(options, (_req, res) => res.end('ok'));
      server.on('secureConnection', onSecure);
      const port = await listen(server);
      const overrides = { resolve: '127.0.0.1', tls: { ca: readFileSync(files.ca, 'utf8') } };
      const make = maker(protocol);
      const outcome = await send(make(`https://server.test:${port}/`, overrides).newConnection());
      expect(outcome).toMatchObject({ status: 200, errorKind: undefined });
      expect(seen).toEqual(['server.test']);
    });
  });
});

describe('-unix-socket', () => {
  it.each(PROTOCOLS)('%s: sends over the socket with the URL host as Host', async (protocol) => {
    const path = join(tempDir(), 'echo.sock');
    const hosts: string[] = [];
    const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
      hosts.push(String(req.headers[':authority'] ?? req.headers.host));
      res.end('hello');
    };
    const server = protocol !== 'http1' ? http2.createServer(handler) : http.createServer(handler);
    await listen(server, path);
    const make = maker(protocol);
    const outcomes = await sendMany(make('http://svc.example/get', { unixSocket: path }).newConnection(), 2);
    expect(outcomes.map((o) => [o.status, o.bodyBytes])).toEqual([[200, 5], [200, 5]]);
    expect(hosts).toEqual(['svc.example', 'svc.example']);
  });

  it.each(PROTOCOLS)('%s: a missing socket is a counted connection error, not a crash', async (protocol) => {
    const path = join(tempDir(), 'absent.sock');
    const make = maker(protocol);
    const outcome = await send(make('http://svc.example/', { unixSocket: path }).newConnection());
    expect(outcome.status).toBe(-1);
    expect(outcome.errorMessage).toMatch(/ENOENT/);
  });
});

describe('-http1.0', () => {
  it("writes Fortio's HTTP/1.0 request: no Host and no Connection header", () => {
    const bytes = serialiseRequest(template('http://example.com/a?b=1', { http10: true, keepAlive: true }));
    expect(bytes.toString('latin1')).toBe(`GET /a?b=1 HTTP/1.0\r\nUser-Agent: ${UA}\r\n\r\n`);
  });

  it('sends Host when -H Host gives one', () => {
    const bytes = serialiseRequest(template('http://example.com/', { http10: true, headers: [['Host', 'vhost.test']] }));
    expect(bytes.toString('latin1')).toBe(`GET / HTTP/1.0\r\nUser-Agent: ${UA}\r\nHost: vhost.test\r\n\r\n`);
  });

  it('reads a close-delimited HTTP/1.0 response and opens a new socket for each request', async () => {
    const server = await raw((socket) => {
      socket.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello, 1.0');
    });
    const connection = http1(server.url, { http10: true }).newConnection();
    const outcomes = await sendMany(connection, 3);
    expect(outcomes.map((o) => [o.status, o.bodyBytes])).toEqual([[200, 10], [200, 10], [200, 10]]);
    expect(server.accepted).toBe(3);
    expect(connection.socketsOpened).toBe(3);
    expect(server.requests[0]?.head.split('\r\n')[0]).toBe('GET / HTTP/1.0');
  });

  it("does not keep the socket even when the server offers keep-alive (Fortio's fast client)", async () => {
    const server = await raw((socket) => {
      socket.write('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok');
    });
    const connection = http1(server.url, { http10: true }).newConnection();
    const outcomes = await sendMany(connection, 2);
    expect(outcomes.map((o) => o.status)).toEqual([200, 200]);
    expect(connection.socketsOpened).toBe(2);
  });

  it("works against node's HTTP server", async () => {
    const server = http.createServer((req, res) => res.end(`${req.httpVersion}`));
    const port = await listen(server);
    const outcome = await send(http1(`http://127.0.0.1:${port}/`, { http10: true }).newConnection());
    expect(outcome).toMatchObject({ status: 200, bodyBytes: 3 });
  });
});

describe('{uuid}', () => {
  it.each(PROTOCOLS)('%s: is a fresh UUID v4 in the path, query and body of every request', async (protocol) => {
    const seen: Array<{ path: string; body: string; length: string | undefined }> = [];
    const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString(), length: req.headers['content-length'] });
        res.end('ok');
      });
    };
    const server = protocol !== 'http1' ? http2.createServer(handler) : http.createServer(handler);
    const port = await listen(server);
    const make = maker(protocol);
    const body = Buffer.from('{"id":"{uuid}","again":"{uuid}"}');
    const connection = make(`http://127.0.0.1:${port}/items/{uuid}?trace={uuid}`, { method: 'POST', body }).newConnection();
    const outcomes = await sendMany(connection, 3);
    expect(outcomes.map((o) => o.status)).toEqual([200, 200, 200]);
    const all = new Set<string>();
    for (const request of seen) {
      expect(request.path).toMatch(/^\/items\/[0-9a-f-]{36}\?trace=[0-9a-f-]{36}$/);
      expect(request.body).toMatch(/^\{"id":"[0-9a-f-]{36}","again":"[0-9a-f-]{36}"\}$/);
      expect(request.length).toBe(String(body.length + 2 * 30));
      const ids = [...`${request.path}${request.body}`.matchAll(UUID_V4)].map((m) => m[0]);
      expect(ids).toHaveLength(4);
      for (const id of ids) all.add(id);
    }
    // Every placeholder of every request got its own UUID.
    expect(all.size).toBe(12);
  });

  it.each(['h2', 'h2-wire'] as const)("%s: the server's HPACK table does not grow with each request's :path", async (protocol) => {
    // node:http2 tells the size of the table it decodes our headers with.
    const sizes: number[] = [];
    const server = http2.createServer((req, res) => {
      sizes.push(req.stream.session?.state.inflateDynamicTableSize ?? -1);
      res.end('ok');
    });
    const port = await listen(server);
    const connection = maker(protocol)(`http://127.0.0.1:${port}/items/{uuid}`, { headers: [['X-Constant', 'the same each time']] }).newConnection();
    const outcomes = await sendMany(connection, 20);
    expect(outcomes.every((o) => o.status === 200)).toBe(true);
    expect(sizes).toHaveLength(20);
    // The first request indexes the constant fields; no later one adds its UUID path.
    expect(sizes[0]).toBeGreaterThan(0);
    expect(new Set(sizes.slice(1))).toEqual(new Set([sizes[0]]));
  });

  it('leaves {uuid} in headers alone, as Fortio does', async () => {
    const server = await raw(answer);
    await send(http1(`${server.url}/`, { headers: [['X-Id', '{uuid}']] }).newConnection());
    expect(server.requests[0]?.head.split('\r\n')).toContain('X-Id: {uuid}');
  });

  it('resends the same UUIDs when a stale keep-alive socket forces a resend', async () => {
    const server = await raw((socket, request) => {
      if (request.socketIndex === 0 && request.indexOnSocket === 1) {
        socket.destroy();
        return;
      }
      socket.write(OK);
    });
    const connection = http1(`${server.url}/{uuid}`).newConnection();
    const outcomes = await sendMany(connection, 2);
    expect(outcomes.map((o) => o.status)).toEqual([200, 200]);
    expect(connection.resends).toBe(1);
    const lines = server.requests.map((r) => r.head.split('\r\n')[0]);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe(lines[2]);
    expect(lines[0]).not.toBe(lines[1]);
  });
});

describe('-L in load (Go\'s client on undici)', () => {
  function follow(url: string, overrides: Partial<RequestTemplate> = {}): Transport {
    const created = createRedirectTransport(template(url, overrides));
    cleanups.push(() => created.close());
    return created;
  }

  it('answers socket failures as -1 with their kind: refused, timeout, closed by meshload', async () => {
    const free = await raw(() => undefined);
    const port = free.port;
    await free.close();
    expect(await send(follow(`http://127.0.0.1:${port}/`).newConnection())).toMatchObject({ status: -1, errorKind: 'refused' });
    const silent = await raw(() => undefined);
    expect(await send(follow(`${silent.url}/`, { timeoutMs: 200 }).newConnection())).toMatchObject({ status: -1, errorKind: 'timeout' });
    const connection = follow(`${silent.url}/`, { timeoutMs: 0 }).newConnection();
    const pending = send(connection);
    await silent.whenRequests(2);
    connection.close();
    expect(await pending).toMatchObject({ status: -1, errorKind: 'closed' });
  });

  it("reads Envoy's signs and an error body's first bytes from the final answer", async () => {
    const server = await raw((socket, request) => {
      if (request.head.startsWith('GET /a ')) socket.write('HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n');
      else socket.write('HTTP/1.1 503 Service Unavailable\r\nserver: envoy\r\nx-envoy-overloaded: true\r\nContent-Length: 19\r\n\r\nno healthy upstream');
    });
    const outcome = await send(follow(`${server.url}/a`).newConnection());
    expect(outcome).toMatchObject({ status: 503, viaEnvoy: true, envoyOverloaded: true, bodyPrefix: 'no healthy upstream', bodyBytes: 19 });
    expect(outcome.headerBytes).toBeGreaterThan(40);
  });
});
