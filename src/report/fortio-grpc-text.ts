/** The lines Fortio's gRPC runner prints where its HTTP runner prints sockets and codes
 * (fgrpc/grpcrunner.go RunGRPCTest): "Jitter: false", then one "Ping SERVING : 10" per key. */
import type { LoadResult } from '../engine/load-result';

export type GrpcRunKind = 'health' | 'ping' | 'method';

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

export function fortioGrpcLines(result: Pick<LoadResult, 'grpcStatuses'>, kind: GrpcRunKind, jitter: boolean): string[] {
  const which = kind === 'ping' ? 'Ping' : kind === 'method' ? 'Custom gRPC Method' : 'Health';
  return [`Jitter: ${jitter}`, ...Object.entries(fortioGrpcRetCodes(result)).map(([key, n]) => `${which} ${key} : ${n}`)];
}
