/** `meshload curl -grpc HOST:PORT`: one gRPC call (health by default, -ping, or -grpc-method),
 * as curl shows an HTTP one: response metadata, trailers and the gRPC status to stderr, the
 * reply message as JSON to stdout; exit 0 only when the status is OK (and a health check says
 * SERVING), else 1 with one line naming the status and its cause. */
import { EXIT, type ExitCode } from '../exit-codes';
import type { CliIo } from '../io';
import { requestFromFlags, type RequestFlags } from '../request-flags';
import { classifyFailure } from '../../model/failure-cause';
import { oneLine } from '../../transport/outcome';
import { grpcMetadata, grpcPlanFromFlags, type GrpcFlags } from '../../grpc/grpc-load';
import { oneGrpcCall } from '../../grpc/grpc-one-call';
import { grpcStatusName } from '../../grpc/grpc-status';
import { decodeHealthResponse, HEALTH_SERVING, healthStatusName } from '../../grpc/builtin-messages';

/** Longest metadata value printed: a hostile server's header must not fill the screen. */
const MAX_VALUE_CHARS = 200;

export async function grpcCurl(destination: string, flags: RequestFlags & GrpcFlags, command: string, io: CliIo, quiet: boolean): Promise<ExitCode> {
  const parts = requestFromFlags(destination, flags, command);
  const { grpc, url, decode } = await grpcPlanFromFlags(destination, flags, parts.payload, { headers: parts.headers, timeoutMs: parts.timeoutMs, insecure: parts.insecure, ...(parts.tls !== undefined ? { tls: parts.tls } : {}), ...(parts.unixSocket !== undefined ? { unixSocket: parts.unixSocket } : {}) }, flags.cacert !== undefined);
  const result = await oneGrpcCall({
    url,
    path: grpc.path,
    messages: [Buffer.from(grpc.messageBase64, 'base64')],
    metadata: grpcMetadata(parts.headers),
    timeoutMs: parts.timeoutMs,
    compression: grpc.compression,
    insecure: parts.insecure,
    ...(parts.tls !== undefined ? { tls: parts.tls } : {}),
    ...(parts.unixSocket !== undefined ? { unixSocket: parts.unixSocket } : {}),
    unary: true,
  });
  const { outcome } = result;
  const lines: string[] = [];
  for (const [name, value] of Object.entries(result.headers)) lines.push(`${name}: ${oneLine(String(value)).slice(0, MAX_VALUE_CHARS)}`);
  for (const [name, value] of Object.entries(result.trailers)) lines.push(`${name}: ${oneLine(String(value)).slice(0, MAX_VALUE_CHARS)}`);
  if (lines.length > 0) io.stderr.write(`${lines.join('\n')}\n\n`);
  const code = outcome.grpcStatus ?? 2;
  const failed = code !== 0;
  const reply = result.messages[0];
  if (!failed && reply !== undefined) {
    try {
      io.stdout.write(`${JSON.stringify(decode(reply))}\n`);
    } catch (error) {
      io.stderr.write(`meshload: the reply does not decode as the method's response type: ${oneLine((error as Error).message)}\n`);
      return EXIT.FAILED;
    }
    if (grpc.kind === 'health') {
      const serving = decodeHealthResponse(reply);
      if (serving !== HEALTH_SERVING) {
        io.stderr.write(`meshload: health status ${healthStatusName(serving)}\n`);
        return EXIT.FAILED;
      }
    }
  }
  if (failed) {
    const cause = classifyFailure(outcome);
    const detail = outcome.bodyPrefix ?? outcome.errorMessage;
    io.stderr.write(`meshload: gRPC status ${code} ${grpcStatusName(code)}${detail !== undefined ? `: ${oneLine(detail)}` : ''}${cause !== undefined ? ` [${cause}]` : ''}\n`);
  } else if (!quiet) {
    io.stderr.write(`meshload: gRPC status 0 OK${outcome.viaEnvoy ? ', through an Envoy sidecar' : ''}\n`);
  }
  return failed ? EXIT.FAILED : EXIT.OK;
}
