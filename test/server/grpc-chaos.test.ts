/** Server-wide gRPC chaos (issue 16): PUT /chaos grpc-status= and grpc-delay= on the echo
 * server's admin port change what the gRPC port answers, validated as the HTTP lists are. */
import { encodePing, PING_PATH } from '../../src/grpc/builtin-messages';
import { oneGrpcCall } from '../../src/grpc/grpc-one-call';
import { parseEchoParams } from '../../src/server/echo-params';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';
import { startGrpcServer, type RunningGrpcServer } from '../../src/server/grpc-server';
import { EchoParamError } from '../../src/server/weighted-list';

const LIMITS = { maxDelayMs: 1500, maxPayloadBytes: 1024 };

describe('grpc-status= and grpc-delay= echo parameters', () => {
  it('read codes and names in either spelling, with Fortio weights', () => {
    const plan = parseEchoParams('grpc-status=14:20,DEADLINE_EXCEEDED:5,resource-exhausted:1&grpc-delay=100ms:50', LIMITS, true);
    expect(plan.grpcStatus).toEqual({ values: [14, 4, 8], cumulative: [20, 25, 26] });
    expect(plan.grpcDelayMs).toEqual({ values: [{ value: 100 }], cumulative: [50] });
    expect(plan.query).toBe('grpc-status=14:20,DEADLINE_EXCEEDED:5,resource-exhausted:1&grpc-delay=100ms:50');
    expect(parseEchoParams('grpc-delay=5s', LIMITS, true).grpcDelayMs?.values).toEqual([{ value: 1500, clampNote: 'grpc-delay=5s>1.5s' }]);
  });

  it.each([
    ['grpc-status=17', "grpc-status: '17' is not a gRPC status (0-16 or a name like UNAVAILABLE)"],
    ['grpc-status=UNAVAILBLE:20', "grpc-status: 'UNAVAILBLE' is not a gRPC status (0-16 or a name like UNAVAILABLE)"],
    ['grpc-status=14:80,4:30', 'grpc-status: weights add up to 110%, more than 100'],
    ['grpc-delay=soon', "grpc-delay: 'soon' is not a duration like 250ms or 1.5s"],
    ['grpc-statu=14', 'grpc-statu: unknown parameter (did you mean grpc-status?)'],
  ])('strict mode refuses %p in one line', (query, message) => {
    let caught: unknown;
    try {
      parseEchoParams(query, LIMITS, true);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EchoParamError);
    expect((caught as Error).message).toContain(message);
    expect((caught as Error).message).not.toContain('\n');
  });
});

describe('PUT /chaos and the gRPC port', () => {
  let echo: RunningEchoServer | undefined;
  let grpc: RunningGrpcServer | undefined;
  afterEach(async () => {
    await Promise.all([echo?.close(), grpc?.close()]);
    echo = undefined;
    grpc = undefined;
  });

  async function start(): Promise<{ admin: string; call: () => Promise<{ status: number | undefined; clamped: unknown; ms: number }> }> {
    echo = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, maxDelayMs: 300, maxPayloadBytes: 1024 });
    grpc = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, healthService: 'ping', maxDelayMs: 300, chaos: echo.chaos });
    const url = `http://127.0.0.1:${grpc.port}`;
    const message = encodePing({ seq: 1, ts: 0, payload: 'x', delayNanos: 0 });
    const call = async (): Promise<{ status: number | undefined; clamped: unknown; ms: number }> => {
      const started = Date.now();
      const result = await oneGrpcCall({ url, path: PING_PATH, messages: [message], metadata: [], timeoutMs: 5000, compression: false, insecure: false, unary: true });
      return { status: result.outcome.grpcStatus, clamped: result.headers['x-meshload-clamped'], ms: Date.now() - started };
    };
    return { admin: echo.adminUrl as string, call };
  }

  it('grpc-status= sets the status of every call, over status= (which the HTTP echo keeps)', async () => {
    const { admin, call } = await start();
    expect((await call()).status).toBe(0);
    const put = await fetch(`${admin}/chaos?grpc-status=UNAVAILABLE&status=200`, { method: 'PUT' });
    expect(put.status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await call()).status).toBe(14);
    await fetch(`${admin}/chaos?grpc-status=OK&status=503`, { method: 'PUT' });
    expect((await call()).status).toBe(0);
    // Without grpc-status=, status= still maps: 503 -> UNAVAILABLE.
    await fetch(`${admin}/chaos?status=503`, { method: 'PUT' });
    expect((await call()).status).toBe(14);
    expect((await fetch(`${admin}/chaos`, { method: 'DELETE' })).status).toBeLessThan(300);
    expect((await call()).status).toBe(0);
  });

  it('grpc-delay= delays calls, capped at the max delay and said so', async () => {
    const { admin, call } = await start();
    await fetch(`${admin}/chaos?grpc-delay=2s`, { method: 'PUT' });
    const slow = await call();
    expect(slow.status).toBe(0);
    expect(slow.ms).toBeGreaterThanOrEqual(250);
    expect(slow.ms).toBeLessThan(3000);
    expect(slow.clamped).toBe('grpc-delay=2s>300ms');
  });

  it('a bad list is a 400 with one line and keeps the faults set before', async () => {
    const { admin, call } = await start();
    await fetch(`${admin}/chaos?grpc-status=4`, { method: 'PUT' });
    const bad = await fetch(`${admin}/chaos?grpc-status=99:20`, { method: 'PUT' });
    expect(bad.status).toBe(400);
    const body = (await bad.text()).trimEnd();
    expect(body).toMatch(/grpc-status: '99' is not a gRPC status/);
    expect(body).not.toContain('\n');
    expect((await call()).status).toBe(4);
  });
});
