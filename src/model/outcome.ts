/** One call's outcome as a transport reports it, and whether it counts as OK: the words the
 * transports, the engine's recorder and the failure classifier share. */

/** Socket-level failures, counted under code -1. */
export type ErrorKind = 'refused' | 'reset' | 'timeout' | 'dns' | 'closed' | 'tls' | 'protocol' | 'other';

export const ERROR_KINDS: readonly ErrorKind[] = ['refused', 'reset', 'timeout', 'dns', 'closed', 'tls', 'protocol', 'other'];

export interface Outcome {
  /** HTTP status, or -1 for a socket-level error. */
  status: number;
  /** Set exactly when status is -1. */
  errorKind: ErrorKind | undefined;
  /** The underlying error message for -1 (for logs and `curl`). */
  errorMessage: string | undefined;
  /** Status line and header bytes as received. */
  headerBytes: number;
  /** Body bytes as received (decoded chunk sizes for chunked bodies). */
  bodyBytes: number;
  /** `server: envoy` or `x-envoy-upstream-service-time` was present: the response came
   * through an Envoy sidecar (absence is only a hint: meshes can strip these headers). */
  viaEnvoy: boolean;
  /** `x-envoy-overloaded: true`: Envoy's circuit breaker rejected the request. */
  envoyOverloaded: boolean;
  /** For status >= 400: up to 256 bytes of the body, as latin1 text, to classify the cause
   * (Envoy's "upstream request timeout", "no healthy upstream", ...). */
  bodyPrefix: string | undefined;
  /** `x-version` as received (meshload server -version-tag): which subset answered. */
  version: string | undefined;
  /** `x-envoy-attempt-count` as echoed by the upstream (meshload server): the try that produced
   * this response, 1 for the first; 0 when absent. */
  attempt: number;
  /** `x-meshload-clamped` was present: the meshload server capped an asked-for delay or size. */
  clamped?: boolean;
  /** gRPC calls only: the call's gRPC status (0 OK); `status` then holds the HTTP status it
   * stands for (google/rpc/code.proto), never 2xx unless this is 0. */
  grpcStatus?: number;
  /** gRPC calls only: the name the call is counted under: the status's name ("OK",
   * "Unavailable"), or a health check's serving status when not SERVING ("NOT_SERVING"). */
  grpcName?: string;
}

/** Fortio: "OK" is 2xx, and also 418 (its echo server's teapot answer). */
export function isOk(status: number): boolean {
  return (status >= 200 && status < 300) || status === 418;
}

/** Calls that were not OK, from counts by status code as results keep them ("503", "-1"). */
export function notOkCalls(codes: Readonly<Record<string, number>>): number {
  let failed = 0;
  for (const [code, n] of Object.entries(codes)) if (!isOk(Number(code))) failed += n;
  return failed;
}

/** grpc-go's status error text, `rpc error: code = Unavailable desc = ...`, which Fortio logs. */
export function goGrpcError(outcome: Pick<Outcome, 'grpcStatus' | 'grpcName' | 'errorMessage'>): string {
  return `rpc error: code = ${outcome.grpcName ?? `Code(${outcome.grpcStatus ?? -1})`} desc = ${outcome.errorMessage ?? ''}`;
}
