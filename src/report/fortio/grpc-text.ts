/** The lines Fortio's gRPC runner prints where its HTTP runner prints sockets and codes
 * (fgrpc/grpcrunner.go RunGRPCTest): "Jitter: false", then one "Ping SERVING : 10" per key. */
import { fortioGrpcRetCodes } from '../../grpc/grpc-status';
import type { LoadResult } from '../../model/load-result';

export type GrpcRunKind = 'health' | 'ping' | 'method';

export function fortioGrpcLines(result: Pick<LoadResult, 'grpcStatuses'>, kind: GrpcRunKind, jitter: boolean): string[] {
  const which = kind === 'ping' ? 'Ping' : kind === 'method' ? 'Custom gRPC Method' : 'Health';
  return [`Jitter: ${jitter}`, ...Object.entries(fortioGrpcRetCodes(result)).map(([key, n]) => `${which} ${key} : ${n}`)];
}
