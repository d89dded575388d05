/** gRPC over TLS (server cert, -cacert, mutual TLS with -cert/-key, -k) and the server's bounds
 * against hostile clients. */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { encodePing, PING_PATH } from '../../src/grpc/builtin-messages';
import { frameMessage } from '../../src/grpc/grpc-frame';
import { oneGrpcCall } from '../../src/grpc/grpc-one-call';
import { createGrpcTransport } from '../../src/grpc/grpc-transport';
import type { Outcome } from '../../src/model/outcome';
import { startGrpcServer, type RunningGrpcServer } from '../../src/server/grpc-server';
import { cli } from '../helpers/cli';
import { makeMtlsFiles, type MtlsFiles } from '../helpers/self-signed-cert';

let server: RunningGrpcServer | undefined;
let files: MtlsFiles | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

afterAll(() => files?.remove());

describe('gRPC over TLS', () => {
  beforeAll(() => {
    files = makeMtlsFiles();
  });

  test('https:// with -cacert is verified; without it the unknown CA fails; -k skips the check', async () => {
    const f = files as MtlsFiles;
    server = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 100, tls: { cert: readFileSync(f.serverCert), key: readFileSync(f.serverKey) } });
    const target = `127.0.0.1:${server.port}`;
    const verified = await cli('load', '-grpc', '-ping', '-cacert', f.ca, '-n', '3', '-qps', '0', '-c', '1', '-json', '-', target);
    expect(verified.code).toBe(0);
    expect((JSON.parse(verified.stdout) as { RetCodes: unknown }).RetCodes).toEqual({ SERVING: 3 });
    const unknownCa = await cli('curl', '-grpc', '-ping', `https://${target}`);
    expect(unknownCa.code).toBe(1);
    expect(unknownCa.stderr).toMatch(/Unavailable: .*(self-signed|unable to verify|certificate)/i);
    const insecure = await cli('curl', '-grpc', '-ping', '-k', `https://${target}`);
    expect(insecure.code).toBe(0);
  });

  test('mutual TLS: the client certificate from -cert/-key is presented; without it the call fails', async () => {
    const f = files as MtlsFiles;
    server = await startGrpcServer({
      listen: { host: '127.0.0.1', port: 0 },
      healthService: 'ping',
      maxDelayMs: 100,
      tls: { cert: readFileSync(f.serverCert), key: readFileSync(f.serverKey), ca: readFileSync(f.ca) },
    });
    const target = `127.0.0.1:${server.port}`;
    const withCert = await cli('curl', '-grpc', '-cacert', f.ca, '-cert', f.clientCert, '-key', f.clientKey, target);
    expect(withCert.code).toBe(0);
    const without = await cli('curl', '-grpc', '-cacert', f.ca, target);
    expect(without.code).toBe(1);
  });
});

describe('gRPC client against a TLS server without HTTP/2', () => {
  let https1: https.Server | undefined;

  beforeAll(() => {
    files ??= makeMtlsFiles();
  });

  afterEach(async () => {
    if (https1 !== undefined) await new Promise<void>((resolve) => https1?.close(() => resolve()));
    https1 = undefined;
  });

  test('an HTTP/1.1-only TLS server (no ALPN h2): load and one call fail Unavailable as protocol errors naming ALPN', async () => {
    const f = files as MtlsFiles;
    https1 = https.createServer({ cert: readFileSync(f.serverCert), key: readFileSync(f.serverKey) }, (_req, res) => res.end('http/1.1 only'));
    await new Promise<void>((resolve) => https1?.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(https1.address() as AddressInfo).port}`;
    const message = encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 0 });
    const transport = createGrpcTransport({ url, path: PING_PATH, message, metadata: [], timeoutMs: 5000, compression: false, streams: 1, insecure: true });
    try {
      const connection = transport.newConnection();
      const outcome = await new Promise<Outcome>((resolve) => connection.send(resolve));
      expect(outcome.grpcName).toBe('Unavailable');
      expect(outcome.errorKind).toBe('protocol');
      expect(outcome.errorMessage).toMatch(/does not speak HTTP\/2 over TLS \(ALPN chose http\/1.1\)/);
    } finally {
      transport.close();
    }
    const one = await oneGrpcCall({ url, path: PING_PATH, messages: [message], metadata: [], timeoutMs: 5000, compression: false, insecure: true, unary: true });
    expect(one.outcome.grpcName).toBe('Unavailable');
    expect(one.outcome.errorKind).toBe('protocol');
    expect(one.outcome.errorMessage).toMatch(/does not speak HTTP\/2 over TLS \(ALPN chose http\/1.1\)/);
  });
});

describe('the gRPC server against hostile clients', () => {
  async function start(): Promise<string> {
    server = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 200, maxMessageBytes: 1024 });
    return `http://127.0.0.1:${server.port}`;
  }

  function raw(url: string, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<{ headers: http2.IncomingHttpHeaders; rst: number | undefined }> {
    return new Promise((resolve) => {
      const session = http2.connect(url);
      session.on('error', () => undefined);
      const stream = session.request({ ':method': 'POST', ':path': PING_PATH, 'content-type': 'application/grpc', te: 'trailers', ...headers });
      let got: http2.IncomingHttpHeaders = {};
      stream.on('response', (h) => (got = h));
      stream.on('error', () => undefined);
      stream.resume();
      stream.on('close', () => {
        session.destroy();
        resolve({ headers: got, rst: stream.rstCode });
      });
      stream.end(body);
    });
  }

  test('a message over the limit is RESOURCE_EXHAUSTED at its length prefix, without reading it', async () => {
    const url = await start();
    const prefix = Buffer.from([0, 0x7f, 0xff, 0xff, 0xff]);
    const answer = await raw(url, {}, Buffer.concat([prefix, Buffer.alloc(100)]));
    expect(answer.headers['grpc-status']).toBe('8');
  });

  test('a bad compressed flag, a truncated message, two messages, a gzip bomb: an error status each, the server lives on', async () => {
    const url = await start();
    const message = frameMessage(encodePing({ seq: 0, ts: 0, payload: 'x', delayNanos: 0 }));
    expect((await raw(url, {}, Buffer.from([9, 0, 0, 0, 0]))).headers['grpc-status']).toBe('13');
    expect((await raw(url, {}, message.subarray(0, 6))).headers['grpc-status']).toBe('13');
    expect((await raw(url, {}, Buffer.concat([message, message]))).headers['grpc-status']).toBe('13');
    const { gzipSync } = await import('node:zlib');
    const bomb = gzipSync(Buffer.alloc(1 << 20));
    const framed = Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), bomb]);
    framed.writeUInt32BE(bomb.length, 1);
    expect((await raw(url, { 'grpc-encoding': 'gzip' }, framed)).headers['grpc-status']).toMatch(/^(8|13)$/);
    expect((await raw(url, {}, message)).headers[':status']).toBe(200);
  });

  test('endless request messages on a unary call: answered INTERNAL at the second, nothing piles up', async () => {
    const url = await start();
    const session = http2.connect(url);
    session.on('error', () => undefined);
    const status = await new Promise<unknown>((resolve) => {
      const stream = session.request({ ':method': 'POST', ':path': PING_PATH, 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('error', () => undefined);
      stream.on('response', (h) => resolve(h['grpc-status']));
      const one = frameMessage(encodePing({ seq: 0, ts: 0, payload: 'x', delayNanos: 0 }));
      const pump = (): void => {
        while (!stream.destroyed && stream.write(one));
        if (!stream.destroyed) stream.once('drain', pump);
      };
      pump();
    });
    session.destroy();
    expect(status).toBe('13');
  });

  test('a connection that never sends the HTTP/2 preface is closed at the preface timeout', async () => {
    server = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 200, prefaceTimeoutMs: 200 });
    const started = Date.now();
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a non-gRPC request is HTTP 415; a delay asked beyond -max-echo-delay is clamped and marked', async () => {
    const url = await start();
    expect((await raw(url, { 'content-type': 'text/plain' }, Buffer.alloc(0))).headers[':status']).toBe(415);
    const started = Date.now();
    const result = await oneGrpcCall({ url, path: PING_PATH, messages: [encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 60e9 })], metadata: [], timeoutMs: 5000, compression: false, insecure: false, unary: true });
    expect(result.outcome.grpcStatus).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.headers['x-meshload-clamped']).toBe('delay>200ms');
    const chaos = await oneGrpcCall({ url, path: PING_PATH, messages: [encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 0 })], metadata: [['x-meshload-grpc-delay', '1h']], timeoutMs: 5000, compression: false, insecure: false, unary: true });
    expect(chaos.outcome.grpcStatus).toBe(0);
    expect(chaos.headers['x-meshload-clamped']).toBe('delay>200ms');
  });

  test('close() ends a delayed call at once (or it never got in): it is not OK and does not wait the delay', async () => {
    const url = await start();
    const started = Date.now();
    const pending = oneGrpcCall({ url, path: PING_PATH, messages: [encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 150e6 })], metadata: [], timeoutMs: 5000, compression: false, insecure: false, unary: true });
    const closing = server?.close();
    server = undefined;
    const result = await pending;
    await closing;
    expect(result.outcome.grpcStatus).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
