/** gRPC status codes: names, the HTTP-to-gRPC mapping for responses that carry no grpc-status,
 * the grpc-message percent-encoding, and Fortio's RetCodes of a run's statuses. Pure. */
import type { LoadResult } from '../model/load-result';

/** Canonical names by code (grpc/grpc doc/statuscodes.md), as grpc-go's codes.Code.String()
 * prints them: Fortio's RetCodes keys for failed calls use these words. */
export const GRPC_STATUS_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
] as const;

export const GRPC_OK = 0;
export const GRPC_CANCELLED = 1;
export const GRPC_UNKNOWN = 2;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_UNIMPLEMENTED = 12;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAVAILABLE = 14;

/** Upper-case names as Envoy's retryOn and the gRPC spec write them (UNAVAILABLE). */
export const GRPC_STATUS_CONSTANTS = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** grpc-go's name of a code ("Unavailable"); out-of-range codes as grpc-go prints them. */
export function grpcStatusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? `Code(${code})`;
}

/** A code from a number or a name in either spelling ("14", "UNAVAILABLE", "Unavailable"). */
export function parseGrpcStatus(text: string): number | undefined {
  const t = text.trim();
  if (/^\d{1,2}$/.test(t)) {
    const n = Number(t);
    return n <= 16 ? n : undefined;
  }
  const upper = t.toUpperCase().replace(/-/g, '_');
  let at = (GRPC_STATUS_CONSTANTS as readonly string[]).indexOf(upper);
  if (at < 0) at = (GRPC_STATUS_NAMES as readonly string[]).findIndex((name) => name.toUpperCase() === upper);
  return at < 0 ? undefined : at;
}

/** The gRPC status of a response without grpc-status, from its HTTP status
 * (grpc/grpc doc/http-grpc-status-mapping.md; Envoy's Grpc::Utility::httpToGrpcStatus agrees). */
export function grpcStatusFromHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GRPC_INTERNAL;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_UNAVAILABLE;
    default:
      return GRPC_UNKNOWN;
  }
}

/** The HTTP status a gRPC status stands for in meshload's code counts (google/rpc/code.proto's
 * mapping), so the engine, which counts HTTP codes, never counts a failed call as 2xx. */
const HTTP_FOR_GRPC = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

export function httpStatusForGrpc(code: number): number {
  return HTTP_FOR_GRPC[code] ?? 500;
}

/** grpc-message is percent-encoded UTF-8 (PROTOCOL-HTTP2.md "Status-Message"); a malformed
 * escape is kept as written, as the spec asks of receivers. */
export function decodeGrpcMessage(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/** Percent-encodes what the spec asks: bytes outside printable ASCII, and '%'. */
export function encodeGrpcMessage(message: string): string {
  if (!/[^\x20-\x24\x26-\x7e]/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Fortio's RetCodes: "SERVING" for every OK call (ping and health alike), health statuses by
 * name, "ERROR" for every failed call (grpcrunner.go Run). */
export function fortioGrpcRetCodes(result: Pick<LoadResult, 'grpcStatuses'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(result.grpcStatuses ?? {})) {
    const key = name === 'OK' ? 'SERVING' : /^[A-Z_]+$/.test(name) ? name : 'ERROR';
    out[key] = (out[key] ?? 0) + n;
  }
  return out;
}
