/** The transports' socket reports (SocketWatcher): one per socket or session, never per request;
 * the dial ends when TLS is up (Fortio times its TLS dial, handshake included), and a dial that
 * never ends is reported when the socket is dropped, with the address it tried. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFastH2Transport } from '../../src/transport/h2-fast-transport';
import { createH2Transport } from '../../src/transport/h2-transport';
import { createHttp1Transport } from '../../src/transport/http1-transport';
import type { RequestTemplate, SocketWatcher, Transport } from '../../src/transport/transport';
import { makeMtlsFiles, type MtlsFiles } from '../helpers/self-signed-cert';
import { send, sendMany, template } from '../helpers/transport-harness';

/** h2: node:http2 (kept until it is dropped); h2-wire: meshload's own framing, what -h2 uses. */
type Protocol = 'http1' | 'h2' | 'h2-wire';

class Recorder implements SocketWatcher {
  opened = 0;
  dials: Array<{ ms: number; address: string | undefined }> = [];
  private wake: (() => void) | undefined;
  socketOpened(): void {
    this.opened++;
  }
  socketDialled(ms: number, address: string | undefined): void {
    this.dials.push({ ms, address });
    this.wake?.();
  }
  /** Resolves once a dial was reported; rejects after 5 s. */
  firstDial(): Promise<void> {
    if (this.dials.length > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no dial reported within 5 s')), 5000);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

let files: MtlsFiles;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  files = makeMtlsFiles();
});
afterAll(() => files.remove());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function transport(protocol: Protocol, url: string, overrides: Partial<RequestTemplate> = {}): Transport {
  const base = template(url, { insecure: true, ...overrides });
  const created = protocol === 'h2' ? createH2Transport(base) : protocol === 'h2-wire' ? createFastH2Transport(base) : createHttp1Transport(base);
  cleanups.push(() => created.close());
  return created;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function') (server.closeAllConnections as () => void)();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

async function tlsServer(protocol: Protocol): Promise<number> {
  const options = { key: readFileSync(files.serverKey), cert: readFileSync(files.serverCert) };
  const server = protocol !== 'http1' ? http2.createSecureServer(options, (_req, res) => res.end('ok')) : https.createServer(options, (_req, res) => res.end('ok'));
  return listen(server as unknown as net.Server);
}

describe.each<Protocol>(['http1', 'h2', 'h2-wire'])('socket reports over %s', (protocol) => {
  it('reports one TLS dial, to 127.0.0.1:port, for several keep-alive requests', async () => {
    const port = await tlsServer(protocol);
    const recorder = new Recorder();
    const connection = transport(protocol, `https://127.0.0.1:${port}/`).newConnection(recorder);
    const outcomes = await sendMany(connection, 3);
    expect(outcomes.map((o) => o.status)).toEqual([200, 200, 200]);
    expect(recorder.opened).toBe(1);
    expect(recorder.dials).toHaveLength(1);
    expect(recorder.dials[0]?.address).toBe(`127.0.0.1:${port}`);
    expect(recorder.dials[0]?.ms).toBeGreaterThan(0);
  });

  it('times a dial whose TLS handshake never completes until the socket is dropped', async () => {
    // Accepts TCP and never answers the ClientHello: TCP connects at once, TLS never does.
    const held: net.Socket[] = [];
    const port = await listen(net.createServer((socket) => held.push(socket)));
    cleanups.push(() => held.forEach((s) => s.destroy()));
    const recorder = new Recorder();
    const connection = transport(protocol, `https://127.0.0.1:${port}/`, { timeoutMs: 300 }).newConnection(recorder);
    const outcome = await send(connection);
    expect(outcome.status).toBe(-1);
    expect(outcome.errorKind).toBe('timeout');
    // HTTP/2 reports when the destroyed session closes, after the timeout answer.
    await recorder.firstDial();
    expect(recorder.opened).toBe(1);
    expect(recorder.dials).toHaveLength(1);
    // HTTP/1.1 counts the address it tried (Fortio's fast client); HTTP/2 only peers it reached.
    expect(recorder.dials[0]?.address).toBe(protocol === 'http1' ? `127.0.0.1:${port}` : undefined);
    expect(recorder.dials[0]?.ms).toBeGreaterThanOrEqual(250);
  });

  it('names the -unix-socket path as the address, and dials once per request without keep-alive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshload-watch-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'echo.sock');
    const handler = (_req: unknown, res: { end(body: string): void }): void => res.end('ok');
    const server = protocol === 'http1' ? http.createServer(handler) : http2.createServer(handler);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if ('closeAllConnections' in server) server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const recorder = new Recorder();
    const connection = transport(protocol, 'http://svc.example/', { unixSocket: path, keepAlive: false }).newConnection(recorder);
    const outcomes = await sendMany(connection, 3);
    expect(outcomes.map((o) => o.status)).toEqual([200, 200, 200]);
    expect(recorder.opened).toBe(3);
    expect(recorder.dials.map((d) => d.address)).toEqual([path, path, path]);
  });

  it('reports nothing without a watcher and nothing per request on a kept socket', async () => {
    const port = await tlsServer(protocol);
    const recorder = new Recorder();
    const t = transport(protocol, `https://127.0.0.1:${port}/`);
    const watched = t.newConnection(recorder);
    const unwatched = t.newConnection();
    expect((await sendMany(unwatched, 2)).map((o) => o.status)).toEqual([200, 200]);
    expect(recorder.opened).toBe(0);
    await sendMany(watched, 4);
    expect(recorder.dials).toHaveLength(1);
  });
});

describe.each<Protocol>(['h2', 'h2-wire'])('socket reports over %s with --h2-multiplex', (protocol) => {
  it('one dial for the session that several Connections share, told to the one that opened it', async () => {
    const port = await tlsServer(protocol);
    const t = transport(protocol, `https://127.0.0.1:${port}/`, { h2Multiplex: true });
    const recorders = [new Recorder(), new Recorder(), new Recorder()];
    const connections = recorders.map((r) => t.newConnection(r));
    // The first opens the session; the others then find it open.
    expect((await send(connections[0]!)).status).toBe(200);
    const rest = await Promise.all(connections.slice(1).map((c) => sendMany(c, 2)));
    expect(rest.flat().map((o) => o.status)).toEqual([200, 200, 200, 200]);
    expect(recorders.map((r) => r.opened)).toEqual([1, 0, 0]);
    expect(recorders[0]?.dials.map((d) => d.address)).toEqual([`127.0.0.1:${port}`]);
  });
});
