/** The messages meshload speaks without a .proto: grpc.health.v1 (health.proto) and Fortio's
 * fgrpc.PingMessage (fgrpc/ping.proto, copied in test/fixtures/grpc/), encoded with protobufjs'
 * wire Reader/Writer. Decoders skip unknown fields and throw on malformed input (callers catch). */
import { Reader, Writer } from 'protobufjs/minimal';

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
export const PING_PATH = '/fgrpc.PingServer/Ping';

/** HealthCheckResponse.ServingStatus names by number, as grpc-go prints them (Fortio's RetCodes keys). */
export const HEALTH_STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;
export const HEALTH_SERVING = 1;

export function healthStatusName(status: number): string {
  return HEALTH_STATUS_NAMES[status] ?? String(status);
}

/** HealthCheckRequest { string service = 1; } */
export function encodeHealthRequest(service: string): Uint8Array {
  const w = Writer.create();
  if (service !== '') w.uint32(10).string(service);
  return w.finish();
}

export function decodeHealthRequest(bytes: Uint8Array): string {
  const r = Reader.create(bytes);
  let service = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 10) service = r.string();
    else r.skipType(tag & 7);
  }
  return service;
}

/** HealthCheckResponse { ServingStatus status = 1; } */
export function encodeHealthResponse(status: number): Uint8Array {
  const w = Writer.create();
  if (status !== 0) w.uint32(8).int32(status);
  return w.finish();
}

export function decodeHealthResponse(bytes: Uint8Array): number {
  const r = Reader.create(bytes);
  let status = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 8) status = r.int32();
    else r.skipType(tag & 7);
  }
  return status;
}

/** fgrpc.PingMessage { int64 seq = 1; int64 ts = 2; string payload = 3; int64 delayNanos = 4; } */
export interface PingMessage {
  seq: number;
  ts: number;
  payload: string;
  delayNanos: number;
}

export function encodePing(message: PingMessage): Uint8Array {
  const w = Writer.create();
  if (message.seq !== 0) w.uint32(8).int64(message.seq);
  if (message.ts !== 0) w.uint32(16).int64(message.ts);
  if (message.payload !== '') w.uint32(26).string(message.payload);
  if (message.delayNanos !== 0) w.uint32(32).int64(message.delayNanos);
  return w.finish();
}

/** int64s above 2^53 lose precision; nanosecond timestamps of this century fit. */
export function decodePing(bytes: Uint8Array): PingMessage {
  const r = Reader.create(bytes);
  const out: PingMessage = { seq: 0, ts: 0, payload: '', delayNanos: 0 };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      case 8:
        out.seq = longToNumber(r.int64());
        break;
      case 16:
        out.ts = longToNumber(r.int64());
        break;
      case 26:
        out.payload = r.string();
        break;
      case 32:
        out.delayNanos = longToNumber(r.int64());
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return out;
}

/** protobufjs returns a number or, with the long package, a Long-like object. */
function longToNumber(value: number | { toNumber(): number } | { low: number; high: number }): number {
  if (typeof value === 'number') return value;
  if ('toNumber' in value) return value.toNumber();
  return value.high * 0x1_0000_0000 + (value.low >>> 0);
}
