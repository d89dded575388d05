import { gzipSync } from 'node:zlib';
import { frameMessage, MessageReader } from '../../src/grpc/grpc-frame';
import { GrpcReply } from '../../src/grpc/grpc-reply';
import { decodeGrpcMessage, encodeGrpcMessage, grpcStatusFromHttp, grpcStatusName, parseGrpcStatus } from '../../src/grpc/grpc-status';
import { classifyFailure } from '../../src/model/failure-cause';

const GRPC = { ':status': 200, 'content-type': 'application/grpc' };

function reply(headers: Record<string, string | number>, data: Buffer[] = [], trailers?: Record<string, string>, unary = true) {
  const r = new GrpcReply(unary, 1024);
  // Headers with grpc-status and nothing after them are a trailers-only response.
  r.onHeaders(headers, 10, data.length === 0 && trailers === undefined);
  for (const chunk of data) r.onData(chunk);
  if (trailers !== undefined) r.onTrailers(trailers, 5);
  return r.outcome();
}

describe('gRPC status truth', () => {
  test('OK only with grpc-status 0 in the trailers and one message', () => {
    const ok = reply(GRPC, [frameMessage(Buffer.from('hi'))], { 'grpc-status': '0' });
    expect(ok.grpcStatus).toBe(0);
    expect(ok.status).toBe(200);
    expect(classifyFailure(ok)).toBeUndefined();
  });

  test("Envoy's breaker rejection: HTTP 200, trailers-only grpc-status 14, x-envoy-overloaded is a breaker failure", () => {
    const o = reply({ ...GRPC, 'grpc-status': '14', 'grpc-message': 'upstream connect error or disconnect/reset before headers. reset reason: overflow', 'x-envoy-overloaded': 'true', server: 'envoy' });
    expect(o.grpcStatus).toBe(14);
    expect(o.status).toBe(503);
    expect(o.envoyOverloaded).toBe(true);
    expect(o.viaEnvoy).toBe(true);
    expect(classifyFailure(o)).toBe('breaker');
  });

  test('overflow message without the header is still the breaker; other Envoy texts give their causes', () => {
    const base = { ...GRPC, 'grpc-status': '14' };
    expect(classifyFailure(reply({ ...base, 'grpc-message': 'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: overflow' }))).toBe('breaker');
    expect(classifyFailure(reply({ ...base, 'grpc-message': 'no healthy upstream' }))).toBe('no_healthy');
    expect(classifyFailure(reply({ ...base, 'grpc-message': 'upstream connect error or disconnect/reset before headers. reset reason: connection failure' }))).toBe('reset');
    expect(classifyFailure(reply({ ...GRPC, 'grpc-status': '4', 'grpc-message': 'upstream request timeout' }))).toBe('timeout');
    expect(classifyFailure(reply({ ...GRPC, 'grpc-status': '13', 'grpc-message': 'fault filter abort' }))).toBe('fault');
  });

  test("the server's DEADLINE_EXCEEDED is a timeout cause, not the client's own", () => {
    const o = reply(GRPC, [], { 'grpc-status': '4' });
    expect(o.status).toBe(504);
    expect(classifyFailure(o)).toBe('timeout');
    expect(classifyFailure({ ...o, status: -1, errorKind: 'timeout' })).toBe('client_timeout');
  });

  test('HTTP 200 without grpc-status is Internal, never OK', () => {
    const o = reply(GRPC, [frameMessage(Buffer.from('x'))]);
    expect(o.grpcStatus).toBe(13);
    expect(o.status).toBe(500);
    expect(classifyFailure(o)).toBe('app');
  });

  test('HTTP 200 with a non-gRPC content-type is Unknown even with grpc-status 0', () => {
    expect(reply({ ':status': 200, 'content-type': 'text/html' }, [], { 'grpc-status': '0' }).grpcStatus).toBe(2);
  });

  test('non-200 maps per http-grpc-status-mapping.md and keeps the body text for causes', () => {
    const o = reply({ ':status': 503, 'content-type': 'text/plain' }, [Buffer.from('no healthy upstream')]);
    expect(o.grpcStatus).toBe(14);
    expect(classifyFailure(o)).toBe('no_healthy');
    expect([400, 401, 403, 404, 429, 502, 503, 504, 500, 302].map(grpcStatusFromHttp)).toEqual([13, 16, 7, 12, 14, 14, 14, 14, 2, 2]);
    // A 200 grpc-status next to an HTTP 503 does not make it OK.
    expect(reply({ ':status': 503, 'grpc-status': '0' }).grpcStatus).toBe(14);
  });

  test('truncated, oversized, badly flagged and missing messages are Internal', () => {
    const whole = frameMessage(Buffer.from('hello'));
    expect(reply(GRPC, [whole.subarray(0, 7)], { 'grpc-status': '0' }).grpcStatus).toBe(13);
    const big = Buffer.alloc(5);
    big.writeUInt32BE(0xffffffff, 1);
    const over = reply(GRPC, [big], { 'grpc-status': '0' });
    expect(over.grpcStatus).toBe(13);
    expect(over.bodyPrefix).toMatch(/over the 1024-byte limit/);
    expect(reply(GRPC, [Buffer.from([7, 0, 0, 0, 0])], { 'grpc-status': '0' }).bodyPrefix).toMatch(/compressed flag 7/);
    expect(reply(GRPC, [], { 'grpc-status': '0' }).bodyPrefix).toMatch(/got 0 response messages/);
    expect(reply(GRPC, [whole, whole], { 'grpc-status': '0' }).grpcStatus).toBe(13);
    // A streaming reply may carry any number.
    expect(reply(GRPC, [whole, whole], { 'grpc-status': '0' }, false).grpcStatus).toBe(0);
  });

  test('grpc-status in headers that did not end the stream does not count: no trailers is Internal', () => {
    expect(reply({ ...GRPC, 'grpc-status': '0' }, [frameMessage(Buffer.from('x'))]).grpcStatus).toBe(13);
  });

  test('grpc-status that is not a number is Unknown; grpc-message is percent-decoded and one line', () => {
    expect(reply(GRPC, [], { 'grpc-status': 'ok' }).grpcStatus).toBe(2);
    const o = reply(GRPC, [], { 'grpc-status': '9', 'grpc-message': 'caf%C3%A9%0Aline2%zz' });
    expect(o.bodyPrefix).toBe('café\\x0aline2%zz');
    expect(decodeGrpcMessage(encodeGrpcMessage('50% off\n'))).toBe('50% off\n');
  });

  test('a reset maps as grpc-go does', () => {
    const r = new GrpcReply(true);
    expect(r.resetOutcome(7, 'reset', 'refused').grpcStatus).toBe(14);
    expect(r.resetOutcome(8, 'reset', 'cancel').grpcStatus).toBe(1);
    expect(r.resetOutcome(2, 'reset', 'internal').grpcStatus).toBe(13);
    expect(r.resetOutcome(2, 'reset', 'internal').status).toBe(-1);
  });

  test('status names and parsing', () => {
    expect(grpcStatusName(14)).toBe('Unavailable');
    expect(grpcStatusName(99)).toBe('Code(99)');
    expect(['14', 'UNAVAILABLE', 'unavailable', 'Unavailable', 'deadline-exceeded', '17', 'nope'].map(parseGrpcStatus)).toEqual([14, 14, 14, 14, 4, undefined, undefined]);
  });
});

describe('MessageReader', () => {
  test('reads messages split at every byte', () => {
    const framed = Buffer.concat([frameMessage(Buffer.from('abc')), frameMessage(Buffer.alloc(0)), frameMessage(Buffer.from('de'))]);
    const reader = new MessageReader(100, true, undefined);
    for (let i = 0; i < framed.length; i++) reader.push(framed.subarray(i, i + 1));
    expect(reader.error).toBeUndefined();
    expect(reader.kept.map((b) => b.toString())).toEqual(['abc', '', 'de']);
    expect(reader.atBoundary()).toBe(true);
  });

  test('gzip messages decode; a gzip bomb is bounded; compressed without grpc-encoding is an error', () => {
    const zipped = frameMessage(Buffer.from('payload'), true);
    const ok = new MessageReader(100, true, 'gzip');
    ok.push(zipped);
    expect(ok.kept[0]?.toString()).toBe('payload');
    const bomb = gzipSync(Buffer.alloc(1 << 20));
    const framed = Buffer.alloc(5 + bomb.length);
    framed[0] = 1;
    framed.writeUInt32BE(bomb.length, 1);
    bomb.copy(framed, 5);
    const bounded = new MessageReader(64 * 1024, false, 'gzip');
    bounded.push(framed);
    expect(bounded.error).toMatch(/does not decompress within 65536 bytes/);
    const plain = new MessageReader(100, false, undefined);
    plain.push(zipped);
    expect(plain.error).toMatch(/meshload reads only gzip/);
  });
});
