/** -grpc-method: the method's types through server reflection (meshload's server) or --proto
 * files (a grpc-js server without reflection), the -payload JSON checked against them. */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { startGrpcServer, type RunningGrpcServer } from '../../src/server/grpc-server';
import { cli } from '../helpers/cli';

const GREETER = join(__dirname, '..', 'fixtures', 'grpc', 'greeter');

let ours: RunningGrpcServer | undefined;
let jsServer: grpc.Server | undefined;
const seen: unknown[] = [];

afterEach(async () => {
  await ours?.close();
  ours = undefined;
  jsServer?.forceShutdown();
  jsServer = undefined;
  seen.length = 0;
});

async function greeter(): Promise<string> {
  const definition = protoLoader.loadSync('greeter.proto', { includeDirs: [GREETER], keepCase: true, defaults: true });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- grpc-js' loaded package is untyped by design
  const pkg = grpc.loadPackageDefinition(definition) as any;
  jsServer = new grpc.Server();
  jsServer.addService(pkg.demo.v1.Greeter.service, {
    SayHello: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      seen.push(call.request);
      callback(null, { message: 'hi' });
    },
    Chat: () => undefined,
  });
  const port = await new Promise<number>((resolve, reject) => jsServer?.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return `127.0.0.1:${port}`;
}

describe('-grpc-method', () => {
  test("through meshload's server reflection: Fortio's Ping by name, with a JSON payload", async () => {
    ours = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 1000 });
    const run = await cli('load', '-grpc', '-grpc-method', 'fgrpc.PingServer/Ping', '-payload', '{"payload":"abc","seq":3}', '-n', '6', '-qps', '0', '-c', '2', '-json', '-', `127.0.0.1:${ours.port}`);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(json.RunType).toBe('Custom GRPC Method fgrpc.PingServer/Ping and Payload {"payload":"abc","seq":3} PayloadLength=25');
    expect(json.RetCodes).toEqual({ SERVING: 6 });
    expect(run.stderr).toMatch(/^Custom gRPC Method SERVING : 6$/m);
  });

  test('with --proto and --import-path against a grpc-js server without reflection; the message arrives as sent', async () => {
    const target = await greeter();
    const run = await cli(
      'load', '-grpc', '-grpc-method', 'demo.v1.Greeter/SayHello', '-payload', '{"name":{"firstName":"Ada","titles":["Dr"]},"times":2}',
      '--proto', join(GREETER, 'greeter.proto'), '--import-path', GREETER, '-n', '3', '-qps', '0', '-c', '1', '-json', '-', target,
    );
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { GrpcStatuses: unknown }).GrpcStatuses).toEqual({ OK: 3 });
    expect(seen[0]).toEqual({ name: { first_name: 'Ada', titles: ['Dr'] }, times: 2 });
  });

  test('without reflection and without --proto, a wrong field, a streaming method, an unknown method: one line, exit 2', async () => {
    const target = await greeter();
    const proto = ['--proto', join(GREETER, 'greeter.proto'), '--import-path', GREETER];
    const cases: Array<[string[], RegExp]> = [
      [['-grpc-method', 'demo.v1.Greeter/SayHello'], /does not offer reflection.*--proto/],
      [['-grpc-method', 'demo.v1.Greeter/SayHello', '-payload', '{"nmae":1}', ...proto], /has no field nmae/],
      [['-grpc-method', 'demo.v1.Greeter/Chat', ...proto], /streaming method/],
      [['-grpc-method', 'demo.v1.Greeter/Nope', ...proto], /has no method Nope/],
      [['-grpc-method', 'nope', ...proto], /is not Service\/Method/],
      [['-grpc-method', 'demo.v1.Greeter/SayHello', '--proto', '/nonexistent.proto'], /--proto/],
      [['-grpc-method', 'demo.v1.Greeter/SayHello', '--proto', '/dev/zero'], /--proto: \/dev\/zero is not a regular file/],
    ];
    for (const [args, pattern] of cases) {
      const run = await cli('load', '-grpc', ...args, '-n', '1', target);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(pattern);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(seen).toHaveLength(0);
  });
});
