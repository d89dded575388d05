/** The h2-wire transport and its stream API against HTTP/2 peers nobody here wrote: nghttp2's
 * nghttpd (large bodies through small and large windows, a stream limit, no HPACK table),
 * nginx h2c (many headers, many requests on one session: any HPACK desync would be a
 * COMPRESSION_ERROR), and a node:http2 server speaking to the stream API (body in parts,
 * trailers). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErrorKind, Outcome } from '../../src/model/outcome';
import { createFastH2Transport } from '../../src/transport/h2-fast-transport';
import { openWireSession } from '../../src/transport/h2-wire/connect';
import { H2Stream, H2WireSession, type StreamEnd, type StreamHandler } from '../../src/transport/h2-wire/session';
import type { RequestTemplate, SocketWatcher, Transport } from '../../src/transport/transport';
import { startH2Server } from '../helpers/h2-server';
import { nginxBinary, startNginx } from '../helpers/nginx';
import { makeSelfSignedCert } from '../helpers/self-signed-cert';
import { findBinary, freePort, stopChild } from '../helpers/server-process';
import { send, sendMany, template } from '../helpers/transport-harness';

const NGHTTPD = findBinary(['/usr/sbin/nghttpd', '/usr/bin/nghttpd', '/usr/local/bin/nghttpd']);
const BIG_FILE_BYTES = 5 * 1024 * 1024 + 17;

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function transport(url: string, overrides: Partial<RequestTemplate> = {}): Transport {
  const created = createFastH2Transport(template(url, { timeoutMs: 10_000, ...overrides }));
  cleanups.push(() => created.close());
  return created;
}

/** nghttpd (cleartext) serving a temp dir holding `big` (BIG_FILE_BYTES) and `small`. */
async function startNghttpd(args: string[] = []): Promise<string> {
  if (NGHTTPD === undefined) throw new Error('nghttpd is not installed (apt-get install -y nghttp2-server)');
  const dir = mkdtempSync(join(tmpdir(), 'meshload-nghttpd-'));
  writeFileSync(join(dir, 'big'), Buffer.alloc(BIG_FILE_BYTES, 'b'));
  writeFileSync(join(dir, 'small'), 'small\n');
  const port = await freePort();
  const child: ChildProcess = spawn(NGHTTPD, ['--no-tls', ...args, '-d', dir, String(port)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    await stopChild(child, exited);
    rmSync(dir, { recursive: true, force: true });
  });
  await untilListening(port, child);
  return `http://127.0.0.1:${port}`;
}

/** nghttpd says nothing when it listens (its stdout is block-buffered in a pipe): try to
 * connect, a bounded number of times. */
async function untilListening(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 250; attempt++) {
    if (child.exitCode !== null) throw new Error(`nghttpd exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nghttpd not listening on ${port} within 5s`);
}

function ok(bodyBytes: number): Partial<Outcome> {
  return { status: 200, errorKind: undefined, bodyBytes };
}

describe('against nghttpd (nghttp2)', () => {
  it('reads 5 MiB bodies through our 1 MiB stream windows, 4 sessions and 4 streams on one session at once', async () => {
    const url = await startNghttpd();
    const own = transport(`${url}/big`);
    const shared = transport(`${url}/big`, { h2Multiplex: true });
    const connections = [...Array.from({ length: 4 }, () => own.newConnection()), ...Array.from({ length: 4 }, () => shared.newConnection())];
    const outcomes = (await Promise.all(connections.map((c) => sendMany(c, 2)))).flat();
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(BIG_FILE_BYTES));
    expect(connections.reduce((sum, c) => sum + c.socketsOpened, 0)).toBe(5);
  });

  it('sends a 300 KiB body through 1 KiB stream and 4 KiB connection windows (--echo-upload): flow control kept both ways', async () => {
    const url = await startNghttpd(['--echo-upload', '-w', '10', '-W', '12']);
    const body = Buffer.alloc(300 * 1024, 'p');
    const t = transport(`${url}/small`, { method: 'POST', body, h2Multiplex: true });
    const connections = Array.from({ length: 3 }, () => t.newConnection());
    const outcomes = (await Promise.all(connections.map((c) => sendMany(c, 2)))).flat();
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(body.length));
  });

  it('keeps to its SETTINGS_MAX_CONCURRENT_STREAMS of 2: 8 Connections on one session wait their turn, none refused', async () => {
    const url = await startNghttpd(['-m', '2']);
    const t = transport(`${url}/small`, { h2Multiplex: true });
    const connections = Array.from({ length: 8 }, () => t.newConnection());
    // The first requests may leave before nghttpd's SETTINGS arrive: those it may refuse, and
    // they are resent. After that every stream waits for a slot.
    await Promise.all(connections.map((c) => send(c)));
    const before = connections.reduce((sum, c) => sum + c.resends, 0);
    const outcomes = (await Promise.all(connections.map((c) => sendMany(c, 5)))).flat();
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(6));
    expect(connections.reduce((sum, c) => sum + c.resends, 0)).toBe(before);
  });

  it('honours a header table size of 0 (nghttpd -c 0): no indexing, blocks still reused', async () => {
    const url = await startNghttpd(['-c', '0']);
    const t = transport(`${url}/small`, { headers: [['x-one', 'a'.repeat(100)], ['x-two', 'b']] });
    const outcomes = await sendMany(t.newConnection(), 20);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(6));
  });

  it("tells each Connection's watcher of its socket once: Go's address and the dial time", async () => {
    const url = await startNghttpd();
    const seen: Array<{ ms: number; address: string | undefined }> = [];
    let opened = 0;
    const watcher: SocketWatcher = { socketOpened: () => opened++, socketDialled: (ms, address) => seen.push({ ms, address }) };
    const t = transport(`${url}/small`);
    const connections = [t.newConnection(watcher), t.newConnection(watcher)];
    await Promise.all(connections.map((c) => sendMany(c, 3)));
    expect(opened).toBe(2);
    expect(seen).toHaveLength(2);
    for (const dial of seen) {
      expect(dial.address).toBe(`127.0.0.1:${new URL(url).port}`);
      expect(dial.ms).toBeGreaterThanOrEqual(0);
    }
  });
});

const describeNginx = nginxBinary() === undefined ? describe.skip : describe;

describeNginx('against nginx h2c', () => {
  it('200 requests with 20 user headers (a secret among them) on one session: the reused HPACK blocks stay in step', async () => {
    const h2Port = await freePort();
    const nginx = await startNginx({ server: `listen 127.0.0.1:${h2Port} http2;\n    location = /h { return 200 "$http_x_h19 $http_authorization"; }` });
    cleanups.push(() => nginx.stop());
    const headers: Array<[string, string]> = Array.from({ length: 20 }, (_, i) => [`X-H${i}`, `value-${i}-${'v'.repeat(i * 5)}`]);
    headers.push(['Authorization', 'Bearer secret']);
    const t = transport(`http://127.0.0.1:${h2Port}/h`, { headers, h2Multiplex: true });
    const connections = Array.from({ length: 10 }, () => t.newConnection());
    const outcomes = (await Promise.all(connections.map((c) => sendMany(c, 20)))).flat();
    const expected = `value-19-${'v'.repeat(95)} Bearer secret`.length;
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(expected));
    expect(connections.reduce((sum, c) => sum + c.socketsOpened, 0)).toBe(1);
  });
});

/** A StreamHandler recording what the stream API delivers. */
class Recorder implements StreamHandler {
  blocks: Array<Array<[string, string]>> = [[]];
  data: Buffer[] = [];
  ended = false;
  failed: { end: StreamEnd; code: number; kind: ErrorKind; message: string } | undefined;
  private wake: (() => void) | undefined;

  onField(name: string, value: string): void {
    (this.blocks.at(-1) as Array<[string, string]>).push([name, value]);
  }

  onHeaders(_stream: H2Stream, endStream: boolean): void {
    this.blocks.push([]);
    if (endStream) this.end();
  }

  onData(_stream: H2Stream, data: Buffer, start: number, end: number, endStream: boolean): void {
    this.data.push(Buffer.from(data.subarray(start, end)));
    if (endStream) this.end();
  }

  onFailed(_stream: H2Stream, end: StreamEnd, code: number, kind: ErrorKind, message: string): void {
    this.failed = { end, code, kind, message };
    this.end();
  }

  done(): Promise<void> {
    return this.ended ? Promise.resolve() : new Promise((resolve) => (this.wake = resolve));
  }

  private end(): void {
    this.ended = true;
    this.wake?.();
  }
}

describe('the stream API (for gRPC and other streaming callers)', () => {
  it('opens a stream with headers, writes the body in parts, receives headers, data and trailers', async () => {
    const server = await startH2Server((stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'fine' }));
        stream.write(Buffer.concat(chunks));
        stream.end('!');
      });
    });
    cleanups.push(() => server.close());
    const owner = { onSessionRetired: (): void => undefined, onSessionClosed: (): void => undefined };
    const session = new H2WireSession(net.connect(server.port, '127.0.0.1'), owner, { tls: false });
    cleanups.push(() => session.destroy());
    const recorder = new Recorder();
    const stream = new H2Stream(recorder);
    const fields: Array<[string, string]> = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/pkg.Service/Method'],
      [':authority', `127.0.0.1:${server.port}`],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ];
    session.request(stream, fields, Buffer.from('first,'), false);
    session.write(stream, Buffer.from('second'), true);
    await recorder.done();
    expect(recorder.failed).toBeUndefined();
    expect(recorder.blocks[0]).toEqual(expect.arrayContaining([[':status', '200'], ['content-type', 'application/grpc']]));
    expect(recorder.blocks[1]).toEqual([
      ['grpc-status', '0'],
      ['grpc-message', 'fine'],
    ]);
    expect(Buffer.concat(recorder.data).toString()).toBe('first,second!');
    expect(server.requests[0]).toMatchObject({ ':path': '/pkg.Service/Method', te: 'trailers' });
  });

  it('openWireSession speaks h2 over TLS (ALPN), and a GET ends on its HEADERS', async () => {
    const server = await startH2Server((stream) => {
      stream.respond({ ':status': 204 });
      stream.end();
    }, makeSelfSignedCert());
    cleanups.push(() => server.close());
    const url = new URL(server.url);
    const owner = { onSessionRetired: (): void => undefined, onSessionClosed: (): void => undefined };
    const strict = openWireSession(url, owner);
    cleanups.push(() => strict.destroy());
    const refused = new Recorder();
    strict.request(new H2Stream(refused), [[':method', 'GET'], [':scheme', 'https'], [':path', '/'], [':authority', url.host]], undefined, true);
    await refused.done();
    expect(refused.failed).toMatchObject({ end: 'error', kind: 'tls' });
    const session = openWireSession(url, owner, { insecure: true });
    cleanups.push(() => session.destroy());
    const recorder = new Recorder();
    session.request(new H2Stream(recorder), [[':method', 'GET'], [':scheme', 'https'], [':path', '/'], [':authority', url.host]], undefined, true);
    await recorder.done();
    expect(recorder.failed).toBeUndefined();
    expect(recorder.blocks[0]).toContainEqual([':status', '204']);
  });

  it('tells a stream the session failed under it, once', async () => {
    const server = await startH2Server((stream) => stream.session?.destroy());
    cleanups.push(() => server.close());
    const owner = { onSessionRetired: (): void => undefined, onSessionClosed: (): void => undefined };
    const session = new H2WireSession(net.connect(server.port, '127.0.0.1'), owner, { tls: false });
    cleanups.push(() => session.destroy());
    const recorder = new Recorder();
    session.request(new H2Stream(recorder), [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'x']], undefined, true);
    await recorder.done();
    expect(recorder.failed).toMatchObject({ end: 'closed', kind: 'closed' });
    // A request on the dead session is answered too, once, asynchronously.
    const late = new Recorder();
    session.request(new H2Stream(late), [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'x']], undefined, true);
    expect(late.ended).toBe(false);
    await late.done();
    expect(late.failed).toMatchObject({ end: 'error', kind: 'closed', message: 'the session is closed: open a new one' });
  });
});

describe('request headers above the frame size', () => {
  it('go out as HEADERS + CONTINUATION, which node:http2 reassembles', async () => {
    const big = 'h'.repeat(40_000);
    const server = await startH2Server((stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(String(String(headers['x-big']).length));
    });
    cleanups.push(() => server.close());
    const t = transport(server.url, { headers: [['x-big', big]] });
    const outcomes = await sendMany(t.newConnection(), 3);
    for (const outcome of outcomes) expect(outcome).toMatchObject(ok(5));
    expect(server.requests.map((r) => String(r['x-big']).length)).toEqual([40_000, 40_000, 40_000]);
  });
});
