/** `meshload load -grpc` and `meshload server -grpc-port`, in-process, as a Fortio user types them. */
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main';
import { startGrpcServer, type RunningGrpcServer } from '../../src/server/grpc-server';
import { cli, testIo } from '../helpers/cli';

let server: RunningGrpcServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function grpcServer(): Promise<string> {
  server = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 1500, versionTag: 'v1' });
  return `127.0.0.1:${server.port}`;
}

/** A unix domain socket that relays each connection to the gRPC server's TCP port, counting
 * the connections it accepts; closed and removed after `body`. */
async function withSocketRelay(body: (socketPath: string, accepted: () => number) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshload-grpc-'));
  const socketPath = join(dir, 'grpc.sock');
  let count = 0;
  const open = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    count++;
    const upstream = net.connect((server as RunningGrpcServer).port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(socketPath, resolve));
  try {
    await body(socketPath, () => count);
  } finally {
    for (const socket of open) socket.destroy();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('load -grpc', () => {
  test('-ping: Fortio RunType and RetCodes in the JSON, "Ping SERVING : N" in the text, calls by gRPC status name', async () => {
    const target = await grpcServer();
    const run = await cli('load', '-grpc', '-ping', '-payload', 'hello', '-grpc-ping-delay', '1ms', '-c', '2', '-s', '2', '-qps', '0', '-n', '20', '-json', '-', target);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(json.RunType).toBe('GRPC Ping Delay=1ms PayloadLength=5');
    expect(json.RetCodes).toEqual({ SERVING: 20 });
    expect(json.GrpcStatuses).toEqual({ OK: 20 });
    expect(json.Destination).toBe(target);
    expect(json.Streams).toBe(2);
    expect(json.Ping).toBe(true);
    expect(json.NumThreads).toBe(4);
    expect(run.stderr).toMatch(/^Ping SERVING : 20$/m);
  });

  test('health (the default): NOT_SERVING calls fail and are counted as such', async () => {
    const target = await grpcServer();
    const ok = await cli('load', '-grpc', '-n', '4', '-qps', '0', '-c', '1', '-json', '-', target);
    const okJson = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(okJson.RunType).toBe("GRPC Health for ''");
    expect(okJson.RetCodes).toEqual({ SERVING: 4 });
    const down = await cli('load', '-grpc', '-healthservice', 'ping_down', '-allow-initial-errors', '-n', '4', '-qps', '0', '-c', '1', '-json', '-', target);
    const downJson = JSON.parse(down.stdout) as Record<string, unknown>;
    expect(downJson.RetCodes).toEqual({ NOT_SERVING: 4 });
    expect(down.stderr).toMatch(/^Health NOT_SERVING : 4$/m);
  });

  test('per-call chaos through -H metadata: a breaker-like UNAVAILABLE share is counted by name and never as OK', async () => {
    const target = await grpcServer();
    const run = await cli('load', '-grpc', '-ping', '-H', 'x-meshload-grpc-status: 14:50', '-allow-initial-errors', '-n', '200', '-qps', '0', '-c', '2', '-json', '-', target);
    const json = JSON.parse(run.stdout) as { GrpcStatuses: Record<string, number>; RetCodes: Record<string, number> };
    const unavailable = json.GrpcStatuses.Unavailable ?? 0;
    expect(unavailable).toBeGreaterThan(40);
    expect(unavailable).toBeLessThan(160);
    expect((json.GrpcStatuses.OK ?? 0) + unavailable).toBe(200);
    expect(json.RetCodes.ERROR).toBe(unavailable);
    // grpcrunner.go: each failed call is Fortio's Warning with grpc-go's error text (JSON off a terminal).
    const warnings = run.stderr.split('\n').filter((line) => line.includes('Error making grpc call'));
    expect(warnings.length).toBe(Math.min(unavailable, 100));
    expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({ level: 'warn', msg: 'Error making grpc call: rpc error: code = Unavailable desc = ' });
  });

  test('HTTP client flags the gRPC client does not use are named, not silently ignored', async () => {
    const target = await grpcServer();
    const run = await cli('load', '-grpc', '-ping', '-n', '2', '-c', '1', '-qps', '0', '-L', '-resolve', '10.0.0.9', target);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Ping SERVING : 2$/m);
    for (const flag of ['-resolve', '-L']) expect(run.stderr).toContain(`meshload: ${flag} has no effect with -grpc:`);
    expect(run.stderr).not.toMatch(/Go's client/);
  });

  test('-unix-socket: reflection and every call go over the socket (Fortio\'s grpcrunner Dial), with its warning', async () => {
    await grpcServer();
    await withSocketRelay(async (socketPath, accepted) => {
      // The destination's host does not resolve: only the socket can answer.
      const destination = 'no-such-host.invalid:7070';
      const run = await cli('load', '-grpc', '-grpc-method', 'fgrpc.PingServer/Ping', '-payload', '{"payload":"hi"}', '-unix-socket', socketPath, '-n', '6', '-qps', '0', '-c', '2', '-json', '-', destination);
      expect(run.code).toBe(0);
      const json = JSON.parse(run.stdout) as { GrpcStatuses: unknown; UnixDomainSocket?: unknown };
      expect(json.GrpcStatuses).toEqual({ OK: 6 });
      expect(run.stderr).toContain(`meshload: Using domain socket ${socketPath} instead of ${destination} for grpc connection`);
      expect(run.stderr).not.toContain('has no effect');
      // One connection for the reflection lookup, one per -c.
      expect(accepted()).toBe(3);
      const ping = await cli('curl', '-grpc', '-ping', '-payload', 'hey', '-unix-socket', socketPath, destination);
      expect(ping.code).toBe(0);
      expect(JSON.parse(ping.stdout)).toMatchObject({ payload: 'hey' });
      expect(accepted()).toBe(4);
    });
  });

  test('-unix-socket to a path nobody listens on: counted connection errors, not a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshload-grpc-'));
    try {
      const run = await cli('load', '-grpc', '-ping', '-unix-socket', join(dir, 'absent.sock'), '-allow-initial-errors', '-n', '3', '-qps', '0', '-c', '1', '-json', '-', '127.0.0.1:7070');
      // As Fortio's load: failed calls are results, not a failed command.
      expect(run.code).toBe(0);
      const json = JSON.parse(run.stdout) as { RetCodes: unknown; GrpcStatuses: unknown };
      expect(json.RetCodes).toEqual({ ERROR: 3 });
      expect(json.GrpcStatuses).toEqual({ Unavailable: 3 });
      expect(run.stderr).toContain('Error making grpc call: rpc error: code = Unavailable desc = connect ENOENT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a failed warm-up aborts with the gRPC error, as Fortio's RunGRPCTest returns it", async () => {
    const target = await grpcServer();
    const run = await cli('load', '-grpc', '-ping', '-H', 'x-meshload-grpc-status: 14', '-t', '1s', '-c', '1', target);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^meshload: use -allow-initial-errors to run anyway\nAborting because of rpc error: code = Unavailable desc = $/m);
  });

  test('bad input is one line and exit 2', async () => {
    for (const args of [
      ['load', '-grpc', '-s', '0', '127.0.0.1:1'],
      ['load', '--proto', 'x.proto', '127.0.0.1:1'],
      ['load', '-grpc', 'host:port:bad'],
      ['load', '-grpc', '-grpc-ping-delay', 'soon', '127.0.0.1:1'],
      ['load', '-grpc', '-H', 'grpc-status: 0', '-n', '1', '127.0.0.1:1'],
    ]) {
      const run = await cli(...args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    }
  });
});

describe('load -grpc against an Envoy breaker', () => {
  test('HTTP 200 + grpc-status 14 + x-envoy-overloaded: every call failed, cause breaker, none OK', async () => {
    const envoy = http2.createServer();
    envoy.on('stream', (stream) => {
      stream.on('error', () => undefined);
      stream.resume();
      stream.on('end', () =>
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '14',
            'grpc-message': 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
            'x-envoy-overloaded': 'true',
            server: 'envoy',
          },
          { endStream: true },
        ),
      );
    });
    const sessions = new Set<http2.ServerHttp2Session>();
    envoy.on('session', (session) => sessions.add(session));
    await new Promise<void>((resolve) => envoy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (envoy.address() as AddressInfo).port;
      const run = await cli('load', '-grpc', '-ping', '-allow-initial-errors', '-n', '20', '-qps', '0', '-c', '2', '-json', '-', `127.0.0.1:${port}`);
      const json = JSON.parse(run.stdout) as { RetCodes: unknown; GrpcStatuses: unknown };
      expect(json.RetCodes).toEqual({ ERROR: 20 });
      expect(json.GrpcStatuses).toEqual({ Unavailable: 20 });
      expect(run.stderr).toMatch(/^Cause breaker : 20 \(100\.0 %\)/m);
      expect(run.stderr).toMatch(/^Ping ERROR : 20$/m);
      expect(run.stderr).not.toMatch(/^Code 200/m);
    } finally {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => envoy.close(() => resolve()));
    }
  });
});

describe('server -grpc-port', () => {
  test('serves Ping next to the echo port; PUT /chaos status=503 turns calls UNAVAILABLE', async () => {
    const controller = new AbortController();
    const { io, stderr } = testIo(controller.signal);
    const running = runCli(['server', '-http-port', '0', '-grpc-port', '127.0.0.1:0', '-loglevel', 'Warning'], io);
    const match = await stderr.waitFor(/admin \(chaos, metrics\) on (http:\/\/\S+); gRPC on (\S+)/);
    const admin = match[1] as string;
    const grpc = match[2] as string;
    try {
      const before = await cli('load', '-grpc', '-ping', '-n', '5', '-qps', '0', '-c', '1', '-json', '-', grpc);
      expect((JSON.parse(before.stdout) as { RetCodes: unknown }).RetCodes).toEqual({ SERVING: 5 });
      const put = await fetch(`${admin}/chaos?status=503`, { method: 'PUT' });
      expect(put.status).toBe(200);
      const after = await cli('load', '-grpc', '-ping', '-allow-initial-errors', '-n', '5', '-qps', '0', '-c', '1', '-json', '-', grpc);
      expect((JSON.parse(after.stdout) as { GrpcStatuses: unknown }).GrpcStatuses).toEqual({ Unavailable: 5 });
    } finally {
      controller.abort();
      expect(await running).toBe(0);
    }
  });
});

describe('curl -grpc', () => {
  test('ping: the reply as JSON on stdout, metadata and the status on stderr, exit 0', async () => {
    const target = await grpcServer();
    const run = await cli('curl', '-grpc', '-ping', '-payload', 'hey', target);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ payload: 'hey' });
    expect(run.stderr).toMatch(/^x-version: v1$/m);
    expect(run.stderr).toMatch(/^grpc-status: 0$/m);
  });

  test("health: SERVING is exit 0; NOT_SERVING and a chaos UNAVAILABLE are exit 1 with one line naming the status", async () => {
    const target = await grpcServer();
    const ok = await cli('curl', '-grpc', target);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ status: 'SERVING' });
    const down = await cli('curl', '-grpc', '-healthservice', 'ping_down', target);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/health status NOT_SERVING/);
    const chaos = await cli('curl', '-grpc', '-ping', '-H', 'x-meshload-grpc-status: 14', target);
    expect(chaos.code).toBe(1);
    expect(chaos.stderr).toMatch(/^meshload: gRPC status 14 Unavailable: meshload chaos: grpc-status 14 \[app\]$/m);
  });

  test('-grpc-method through reflection, the reply decoded by its type', async () => {
    const target = await grpcServer();
    const run = await cli('curl', '-grpc', '-grpc-method', 'grpc.health.v1.Health/Check', '-payload', '{"service":"ping_down"}', target);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ status: 'NOT_SERVING' });
  });

  test('a refused port is exit 1 with one line', async () => {
    const target = await grpcServer();
    await server?.close();
    server = undefined;
    const run = await cli('curl', '-grpc', '-ping', target);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^meshload: gRPC status 14 Unavailable: .*ECONNREFUSED/m);
  });
});

describe('gRPC results', () => {
  test("the request message is not kept in meshload's result plan, like an HTTP payload", async () => {
    const { runPlan } = await import('../../src/engine/run-plan');
    server = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 100 });
    const { grpcPlanFromFlags } = await import('../../src/grpc/grpc-load');
    const { grpc, url } = await grpcPlanFromFlags(`127.0.0.1:${server.port}`, { grpc: true, ping: true }, Buffer.from('secret-ish payload'), { headers: [], timeoutMs: 1000, insecure: false }, false);
    const { loadPlan } = await import('../helpers/load-plan');
    const result = await runPlan(loadPlan({ url, connections: 1, qps: 0, requests: 2, grpc }), {});
    expect(result.grpcStatuses).toEqual({ OK: 2 });
    expect(result.plan.grpc?.messageBase64).toBe('');
    expect(JSON.stringify(result)).not.toContain(Buffer.from('secret-ish payload').toString('base64').slice(0, 12));
  });
});
