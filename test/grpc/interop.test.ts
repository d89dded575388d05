/** Interop both ways with an implementation nobody here wrote: @grpc/grpc-js, loaded from
 * Fortio's ping.proto and grpc.health.v1's health.proto. */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import http2 from 'node:http2';
import { join } from 'node:path';
import { encodeHealthRequest, encodePing, HEALTH_CHECK_PATH, PING_PATH } from '../../src/grpc/builtin-messages';
import { frameMessage } from '../../src/grpc/grpc-frame';
import { createGrpcTransport, type GrpcCallTemplate } from '../../src/grpc/grpc-transport';
import { parseGrpcTimeout, startGrpcServer, type RunningGrpcServer } from '../../src/server/grpc-server';
import type { Transport } from '../../src/transport/transport';
import type { Outcome } from '../../src/model/outcome';

const FIXTURES = join(__dirname, '..', 'fixtures', 'grpc');
const definition = protoLoader.loadSync([join(FIXTURES, 'ping.proto'), join(FIXTURES, 'health.proto')], { longs: Number, enums: String, defaults: true });
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- grpc-js' loaded package is untyped by design
const pkg = grpc.loadPackageDefinition(definition) as any;

interface PingMessage {
  seq: number;
  ts: number;
  payload: string;
  delayNanos: number;
}

type PingClient = grpc.Client & { Ping: (message: Partial<PingMessage>, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, reply?: PingMessage) => void) => grpc.ClientUnaryCall };

let transport: Transport | undefined;
let jsServer: grpc.Server | undefined;
let ours: RunningGrpcServer | undefined;
const clients: grpc.Client[] = [];

afterEach(async () => {
  transport?.close();
  transport = undefined;
  for (const c of clients.splice(0)) c.close();
  if (jsServer !== undefined) jsServer.forceShutdown();
  jsServer = undefined;
  await ours?.close();
  ours = undefined;
});

function send(t: Transport): Promise<Outcome> {
  const connection = t.newConnection();
  return new Promise((resolve) => connection.send(resolve));
}

function template(url: string, overrides: Partial<GrpcCallTemplate>): GrpcCallTemplate {
  return { url, path: PING_PATH, message: new Uint8Array(0), metadata: [], timeoutMs: 5000, compression: false, streams: 1, insecure: false, ...overrides };
}

describe('meshload client against a grpc-js server', () => {
  async function startJsServer(status: grpc.status | undefined): Promise<string> {
    jsServer = new grpc.Server();
    jsServer.addService(pkg.fgrpc.PingServer.service, {
      Ping: (call: grpc.ServerUnaryCall<PingMessage, PingMessage>, callback: grpc.sendUnaryData<PingMessage>) => {
        if (status !== undefined) callback({ code: status, details: 'from grpc-js' });
        else callback(null, { ...call.request, ts: 42 });
      },
    });
    jsServer.addService(pkg.grpc.health.v1.Health.service, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(null, { status: call.request.service === 'down' ? 'NOT_SERVING' : 'SERVING' }),
    });
    const port = await new Promise<number>((resolve, reject) => jsServer?.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    return `http://127.0.0.1:${port}`;
  }

  test('ping is OK; a status grpc-js sends is counted by name; gzip requests are accepted', async () => {
    const url = await startJsServer(undefined);
    transport = createGrpcTransport(template(url, { message: encodePing({ seq: 3, ts: 1, payload: 'hello', delayNanos: 0 }), compression: true }));
    const ok = await send(transport);
    expect(ok.grpcStatus).toBe(0);
    expect(ok.grpcName).toBe('OK');
    transport.close();
    jsServer?.forceShutdown();
    const failing = await startJsServer(grpc.status.RESOURCE_EXHAUSTED);
    transport = createGrpcTransport(template(failing, { message: encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 0 }) }));
    const bad = await send(transport);
    expect(bad.grpcStatus).toBe(8);
    expect(bad.grpcName).toBe('ResourceExhausted');
    expect(bad.bodyPrefix).toBe('from grpc-js');
  });

  test('health: SERVING is OK, NOT_SERVING is a failed call counted as NOT_SERVING', async () => {
    const url = await startJsServer(undefined);
    transport = createGrpcTransport(template(url, { path: HEALTH_CHECK_PATH, message: encodeHealthRequest(''), health: true }));
    expect((await send(transport)).grpcName).toBe('OK');
    transport.close();
    transport = createGrpcTransport(template(url, { path: HEALTH_CHECK_PATH, message: encodeHealthRequest('down'), health: true }));
    const down = await send(transport);
    expect(down.grpcStatus).toBe(0);
    expect(down.grpcName).toBe('NOT_SERVING');
    expect(down.status).toBe(503);
  });
});

describe('grpc-js client against the meshload gRPC server', () => {
  async function startOurs(): Promise<string> {
    ours = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 1500, versionTag: 'v2' });
    return `127.0.0.1:${ours.port}`;
  }

  function pingClient(address: string, options: grpc.ClientOptions = {}): PingClient {
    const client = new pkg.fgrpc.PingServer(address, grpc.credentials.createInsecure(), options);
    clients.push(client);
    return client;
  }

  function ping(client: PingClient, message: Partial<PingMessage>, metadata = new grpc.Metadata()): Promise<{ error: grpc.ServiceError | null; reply: PingMessage | undefined; headers: grpc.Metadata | undefined }> {
    return new Promise((resolve) => {
      let headers: grpc.Metadata | undefined;
      const call = client.Ping(message, metadata, (error: grpc.ServiceError | null, reply?: PingMessage) => resolve({ error, reply, headers }));
      call.on('metadata', (m: grpc.Metadata) => (headers = m));
    });
  }

  test("Fortio's Ping echoes the message with a new ts, after delayNanos, with x-version", async () => {
    const client = pingClient(await startOurs());
    const started = Date.now();
    const { error, reply, headers } = await ping(client, { seq: 7, ts: 1, payload: 'hi', delayNanos: 50e6 });
    expect(error).toBeNull();
    expect(reply?.seq).toBe(7);
    expect(reply?.payload).toBe('hi');
    expect(reply?.ts).toBeGreaterThan(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(headers?.get('x-version')).toEqual(['v2']);
  });

  test('health: "" and ping are SERVING, ping_down NOT_SERVING, others NOT_FOUND', async () => {
    const address = await startOurs();
    const client = new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
    clients.push(client);
    const check = (service: string): Promise<[grpc.ServiceError | null, { status: string } | undefined]> => new Promise((resolve) => client.Check({ service }, (e: grpc.ServiceError | null, r?: { status: string }) => resolve([e, r])));
    expect((await check(''))[1]?.status).toBe('SERVING');
    expect((await check('ping'))[1]?.status).toBe('SERVING');
    expect((await check('ping_down'))[1]?.status).toBe('NOT_SERVING');
    expect((await check('other'))[0]?.code).toBe(grpc.status.NOT_FOUND);
  });

  test('chaos per call: x-meshload-grpc-status 14 fails every call with UNAVAILABLE; a bad list is INVALID_ARGUMENT; the attempt count comes back', async () => {
    const client = pingClient(await startOurs());
    const md = new grpc.Metadata();
    md.set('x-meshload-grpc-status', 'UNAVAILABLE');
    md.set('x-envoy-attempt-count', '2');
    const failed = await ping(client, { payload: 'x' }, md);
    expect(failed.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(failed.error?.metadata.get('x-envoy-attempt-count')).toEqual(['2']);
    const bad = new grpc.Metadata();
    bad.set('x-meshload-grpc-status', '99:10');
    expect((await ping(client, {}, bad)).error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const none = new grpc.Metadata();
    none.set('x-meshload-grpc-status', '14:0');
    expect((await ping(client, {}, none)).error).toBeNull();
  });

  test('gzip from grpc-js is read; an unknown method is UNIMPLEMENTED', async () => {
    const address = await startOurs();
    const zipped = pingClient(address, { 'grpc.default_compression_algorithm': 2 });
    expect((await ping(zipped, { payload: 'z'.repeat(1000) })).reply?.payload).toBe('z'.repeat(1000));
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    clients.push(client);
    const code = await new Promise<number>((resolve) =>
      client.makeUnaryRequest('/nope.Service/Method', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e?.code ?? 0)),
    );
    expect(code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe('meshload client against the meshload server', () => {
  test('ping and health round-trip; -s shares connections', async () => {
    ours = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 1500 });
    const url = `http://127.0.0.1:${ours.port}`;
    transport = createGrpcTransport(template(url, { message: encodePing({ seq: 1, ts: 1, payload: 'p', delayNanos: 0 }), streams: 3 }));
    const connections = Array.from({ length: 6 }, () => (transport as Transport).newConnection());
    const outcomes = await Promise.all(connections.map((c) => new Promise<Outcome>((resolve) => c.send(resolve))));
    expect(outcomes.map((o) => o.grpcName)).toEqual(Array(6).fill('OK'));
    expect(connections.reduce((n, c) => n + c.socketsOpened, 0)).toBe(2);
  });
});

describe('deadlines', () => {
  test('grpc-timeout shorter than the asked delay: the meshload server itself answers DEADLINE_EXCEEDED at the deadline', async () => {
    ours = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 1500 });
    const session = http2.connect(`http://127.0.0.1:${ours.port}`);
    const started = Date.now();
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => {
      const stream = session.request({ ':method': 'POST', ':path': PING_PATH, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '100m' });
      stream.on('response', resolve);
      stream.end(frameMessage(encodePing({ seq: 0, ts: 0, payload: '', delayNanos: 1e9 })));
    });
    session.destroy();
    expect(headers['grpc-status']).toBe('4');
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(Date.now() - started).toBeLessThan(900);
  });

  test('grpc-timeout parsing', () => {
    expect(['100m', '2S', '1H', '5u', '123456789m', '10x', undefined].map((v) => parseGrpcTimeout(v))).toEqual([100, 2000, 3_600_000, 0.005, Infinity, Infinity, Infinity]);
  });
});
