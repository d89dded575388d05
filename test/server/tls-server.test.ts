/** -cert/-key: the echo port over TLS (HTTP/1.1 and h2 by ALPN); -mtls with -cacert requires a
 * client certificate that chains to that CA; bad files are exit 2 with one line. Also the start
 * line naming -tcp-port and -redirect-port when given. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { cli, testIo } from '../helpers/cli';
import { haveOpenssl, makeSelfSignedCert, type SelfSignedCert } from '../helpers/self-signed-cert';

if (!haveOpenssl) throw new Error('these tests need the openssl CLI on PATH (apt-get install openssl)');

let serverCert: SelfSignedCert;
/** A self-signed client certificate is its own CA: as -cacert it admits exactly that client. */
let clientCert: SelfSignedCert;
let strangerCert: SelfSignedCert;
let dir: string;
let server: RunningEchoServer | undefined;

beforeAll(() => {
  serverCert = makeSelfSignedCert();
  clientCert = makeSelfSignedCert();
  strangerCert = makeSelfSignedCert();
  dir = mkdtempSync(join(tmpdir(), 'meshload-tls-server-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function start(ca?: Buffer): Promise<RunningEchoServer> {
  return startEchoServer({
    echo: { host: '127.0.0.1', port: 0 },
    admin: null,
    maxDelayMs: 1_000,
    maxPayloadBytes: 1024,
    tls: { cert: serverCert.cert, key: serverCert.key, ...(ca !== undefined ? { ca } : {}) },
  });
}

function get(port: number, path: string, client?: SelfSignedCert): Promise<{ status: number; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    // ALPN offered as a browser does, so the server's choice of http/1.1 is visible.
    const options: https.RequestOptions & ConnectionOptions = {
      host: '127.0.0.1', port, path, method: 'POST', ca: serverCert.cert, ALPNProtocols: ['http/1.1'], agent: false, timeout: 5_000,
      ...(client !== undefined ? { cert: client.cert, key: client.key } : {}),
    };
    const req = https.request(
      options,
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn: (res.socket as TLSSocket).alpnProtocol }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end('hello tls');
  });
}

function h2Get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: serverCert.cert });
    session.on('error', reject);
    const stream = session.request({ ':path': path, ':method': 'POST' });
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => {
      session.close();
      resolve({ status, body });
    });
    stream.on('error', reject);
    stream.end('hello h2');
  });
}

describe('echo server over TLS', () => {
  it('serves HTTP/1.1 echo over TLS with the given certificate', async () => {
    server = await start();
    expect(server.echoUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const reply = await get(server.echoPort, '/echo?status=418');
    expect(reply).toEqual({ status: 418, body: 'hello tls', alpn: 'http/1.1' });
  });

  it('serves h2 when ALPN picks it', async () => {
    server = await start();
    expect(await h2Get(server.echoPort, '/echo?status=202')).toEqual({ status: 202, body: 'hello h2' });
  });

  it('with a CA (-mtls), admits a client certificate it signed and refuses none or another', async () => {
    server = await start(clientCert.cert);
    expect((await get(server.echoPort, '/echo', clientCert)).body).toBe('hello tls');
    await expect(get(server.echoPort, '/echo')).rejects.toThrow();
    await expect(get(server.echoPort, '/echo', strangerCert)).rejects.toThrow();
    // the refusals left the server serving
    expect((await get(server.echoPort, '/echo', clientCert)).status).toBe(200);
  });
});

describe('echo server over TLS, closing', () => {
  it('ends a connection stuck before its handshake within the drain bound', async () => {
    const running = await start();
    const socket = net.connect(running.echoPort, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const started = Date.now();
    await running.close(); // 1 s -max-echo-delay + 2 s grace, well before the 10 s handshake timeout
    await closed;
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});

describe('meshload server TLS and extra-port flags', () => {
  const write = (name: string, data: string | Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, data);
    return path;
  };

  it.each([
    ['a key as -cert', (): string[] => ['-cert', write('k1.pem', serverCert.key), '-key', write('k2.pem', serverCert.key)], /^meshload: -cert\/-key\/-cacert: /],
    ['garbage', (): string[] => ['-cert', write('g.pem', 'not pem at all'), '-key', write('k3.pem', serverCert.key)], /^meshload: -cert '.*' is not PEM/],
    ['a missing file', (): string[] => ['-cert', join(dir, 'absent.pem'), '-key', write('k4.pem', serverCert.key)], /^meshload: -cert '.*' cannot be read: ENOENT/],
    ['a directory', (): string[] => ['-cert', dir, '-key', write('k5.pem', serverCert.key)], /^meshload: -cert '.*' (is not a regular file|cannot be read: EISDIR)/],
    ['-cert without -key', (): string[] => ['-cert', write('c1.pem', serverCert.cert)], /^meshload: -cert and -key go together/],
    ['-mtls without -cacert', (): string[] => ['-cert', write('c2.pem', serverCert.cert), '-key', write('k6.pem', serverCert.key), '-mtls'], /^meshload: -mtls needs/],
    ['a bad -tcp-port', (): string[] => ['-tcp-port', 'nope'], /^meshload: -tcp-port 'nope' is not a port/],
  ])('refuses %s with exit 2 and one line', async (_what, args, message) => {
    const run = await cli('server', '-http-port', '127.0.0.1:0', '-admin-port', 'disabled', ...args());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('names the TCP echo and redirect ports on the start line, and stops them on abort', async () => {
    const controller = new AbortController();
    const { io, stderr } = testIo(controller.signal);
    const exit = runCli(
      ['server', '-http-port', '127.0.0.1:0', '-admin-port', 'disabled', '-tcp-port', '127.0.0.1:0', '-redirect-port', '127.0.0.1:0',
        '-cert', write('c3.pem', serverCert.cert), '-key', write('k7.pem', serverCert.key)],
      io,
    );
    await stderr.waitFor(/listening on https:\/\/127\.0\.0\.1:\d+; admin disabled; TCP echo on 127\.0\.0\.1:\d+; https redirect on 127\.0\.0\.1:\d+\n/);
    controller.abort();
    expect(await exit).toBe(0);
  });

  it('binds no TCP echo or redirect port unless asked, and takes "disabled"', async () => {
    const controller = new AbortController();
    const { io, stderr } = testIo(controller.signal);
    const exit = runCli(['server', '-http-port', '127.0.0.1:0', '-admin-port', 'disabled', '-tcp-port', 'disabled'], io);
    const [line] = await stderr.waitFor(/listening on .*\n/);
    expect(line).not.toMatch(/TCP echo|redirect/);
    controller.abort();
    expect(await exit).toBe(0);
  });
});
