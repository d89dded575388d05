/** `load -grpc`: Fortio's gRPC load flags (cli/fortio_main.go) -> the gRPC part of a LoadPlan,
 * the call template the transport runs, and Fortio's gRPC output (fgrpc/grpcrunner.go
 * RunGRPCTest: RunType, RetCodes keyed SERVING / ERROR, "Ping SERVING : N" lines). */
import type { GrpcLoadPlan, LoadPlan, TlsClientOptions } from '../model/load-plan';
import type { LoadResult } from '../model/load-result';
import { formatDuration, parseDuration } from '../util/duration';
import { usageError } from '../util/errors';
import { decodeHealthResponse, decodePing, encodeHealthRequest, encodePing, HEALTH_CHECK_PATH, healthStatusName, PING_PATH } from './builtin-messages';
import { grpcRequestHeaders, type GrpcCallTemplate } from './grpc-transport';
import { requestFromJson, resolveByReflection, resolveFromProtos } from './method-resolver';
import { parseGrpcTarget } from './grpc-target';
import { fortioGrpcRetCodes } from './grpc-status';

/** The gRPC flags as commander hands them (cli/grpc-flags.ts declares them). */
export interface GrpcFlags {
  grpc?: boolean;
  ping?: boolean;
  healthservice?: string;
  grpcPingDelay?: string;
  streams?: string;
  grpcMethod?: string;
  grpcCompression?: boolean;
  proto?: string[];
  importPath?: string[];
}

/** How -grpc-method reaches the server for reflection: the run's target, metadata and TLS. */
export interface GrpcResolveContext {
  headers: ReadonlyArray<[string, string]>;
  timeoutMs: number;
  insecure: boolean;
  tls?: TlsClientOptions;
  /** -unix-socket: reflection dials it too. */
  unixSocket?: string;
}

/** True when the flags ask for gRPC: -grpc. meshload's own --proto without it is refused;
 * Fortio's gRPC flags without it are ignored, as Fortio's HTTP load ignores them
 * (grpcFlagsWithoutGrpc names them). */
export function isGrpcLoad(flags: GrpcFlags): boolean {
  if (flags.grpc === true) return true;
  if ((flags.proto ?? []).length > 0) throw usageError('--proto applies only to gRPC load', 'add -grpc');
  return false;
}

/** Fortio's gRPC flags given without -grpc: Fortio accepts every flag with every command and its
 * HTTP load never reads these, so they have no effect; the caller says so once at Info. */
export function grpcFlagsWithoutGrpc(flags: GrpcFlags): string[] {
  if (flags.grpc === true) return [];
  return [
    flags.ping === true ? 'ping' : undefined,
    flags.grpcMethod !== undefined ? 'grpc-method' : undefined,
    flags.grpcCompression === true ? 'grpc-compression' : undefined,
    flags.streams !== undefined && flags.streams !== '1' ? 's' : undefined,
    flags.healthservice !== undefined && flags.healthservice !== '' ? 'healthservice' : undefined,
    flags.grpcPingDelay !== undefined && flags.grpcPingDelay !== '0s' ? 'grpc-ping-delay' : undefined,
  ].filter((f) => f !== undefined);
}

/** The gRPC plan from the flags, the payload (-payload: Ping's payload text) and -cacert. */
export async function grpcPlanFromFlags(destination: string, flags: GrpcFlags, payload: Buffer, context: GrpcResolveContext, cacertGiven: boolean): Promise<{ grpc: GrpcLoadPlan; url: string; decode: (reply: Uint8Array) => unknown }> {
  const target = parseGrpcTarget(destination, cacertGiven);
  const metadata = grpcMetadata(context.headers);
  // Bad or reserved metadata is a usage error now, not a failure of every call later.
  grpcRequestHeaders({ path: '/', metadata, compression: false }, target.url);
  const streamsText = flags.streams ?? '1';
  if (!/^\d{1,6}$/.test(streamsText.trim()) || Number(streamsText) < 1) throw usageError(`-s '${streamsText}' is not a whole number of at least 1`, 'give -s a number of streams per connection, like 4');
  const streams = Number(streamsText);
  const delayMs = parseDuration(flags.grpcPingDelay ?? '0s');
  if (delayMs === undefined || delayMs < 0) throw usageError(`-grpc-ping-delay '${flags.grpcPingDelay ?? ''}' is not a duration`, 'use a duration like 10ms');
  const protos = flags.proto ?? [];
  if (protos.length === 0 && (flags.importPath ?? []).length > 0) throw usageError('--import-path only applies with --proto', 'add --proto FILE');
  if (protos.length > 0 && flags.grpcMethod === undefined) throw usageError('--proto only applies with -grpc-method', 'add -grpc-method Service/Method');
  const text = payload.toString('utf8');
  const suffix = text.length > 0 ? ` PayloadLength=${Buffer.byteLength(text)}` : '';
  let grpc: GrpcLoadPlan;
  let decode: (reply: Uint8Array) => unknown;
  if (flags.grpcMethod !== undefined) {
    if (flags.ping === true) throw usageError('-ping and -grpc-method exclude each other', 'give one');
    const resolved =
      protos.length > 0
        ? resolveFromProtos(protos, flags.importPath ?? [], flags.grpcMethod)
        : await resolveByReflection(
            {
              url: target.url.href,
              metadata,
              timeoutMs: context.timeoutMs > 0 ? context.timeoutMs : 10_000,
              insecure: context.insecure,
              ...(context.tls !== undefined ? { tls: context.tls } : {}),
              ...(context.unixSocket !== undefined ? { unixSocket: context.unixSocket } : {}),
            },
            flags.grpcMethod,
          );
    grpc = {
      kind: 'method',
      path: resolved.path,
      messageBase64: Buffer.from(requestFromJson(resolved, text)).toString('base64'),
      streams,
      compression: flags.grpcCompression === true,
      runType: `Custom GRPC Method ${flags.grpcMethod} and Payload ${text}${suffix}`,
      destination,
    };
    decode = (reply) => resolved.responseType.toObject(resolved.responseType.decode(reply), { longs: String, enums: String, defaults: true });
  } else if (flags.ping === true) {
    // grpcrunner.go: Seq is the thread number and Ts the start; one message for all calls here.
    const message = encodePing({ seq: 0, ts: Date.now() * 1e6, payload: text, delayNanos: Math.round(delayMs * 1e6) });
    grpc = {
      kind: 'ping',
      path: PING_PATH,
      messageBase64: Buffer.from(message).toString('base64'),
      streams,
      compression: flags.grpcCompression === true,
      runType: `GRPC Ping${delayMs > 0 ? ` Delay=${formatDuration(delayMs)}` : ''}${suffix}`,
      destination,
    };
    decode = decodePing;
  } else {
    const service = flags.healthservice ?? '';
    grpc = {
      kind: 'health',
      path: HEALTH_CHECK_PATH,
      messageBase64: Buffer.from(encodeHealthRequest(service)).toString('base64'),
      streams,
      compression: flags.grpcCompression === true,
      runType: `GRPC Health for '${service}'${suffix}`,
      destination,
    };
    decode = (reply) => ({ status: healthStatusName(decodeHealthResponse(reply)) });
  }
  return { grpc, url: target.url.href, decode };
}

/** Fortio's httpHeader2grpcMetadata: -H as metadata, minus content-length and content-type. */
export function grpcMetadata(headers: ReadonlyArray<[string, string]>): Array<[string, string]> {
  return headers.filter(([name]) => !/^content-(length|type)$/i.test(name)).map(([name, value]) => [name.toLowerCase(), value]);
}

/** What the transport sends for a plan with `grpc`. */
export function grpcTemplateFor(plan: LoadPlan, grpc: GrpcLoadPlan): GrpcCallTemplate {
  return {
    url: plan.url,
    path: grpc.path,
    message: Buffer.from(grpc.messageBase64, 'base64'),
    metadata: grpcMetadata(plan.headers),
    timeoutMs: plan.timeoutMs,
    compression: grpc.compression,
    streams: grpc.streams,
    insecure: plan.insecure,
    ...(plan.tls !== undefined ? { tls: plan.tls } : {}),
    ...(plan.unixSocket !== undefined ? { unixSocket: plan.unixSocket } : {}),
    health: grpc.kind === 'health',
  };
}

/** RunnerResults' fields of Fortio's JSON (periodic.go), then GRPCRunnerResults' own. */
const RUNNER_KEYS = [
  'RunType',
  'Labels',
  'StartTime',
  'RequestedQPS',
  'RequestedDuration',
  'ActualQPS',
  'ActualDuration',
  'NumThreads',
  'Version',
  'DurationHistogram',
  'ErrorsDurationHistogram',
  'Exactly',
  'Jitter',
  'Uniform',
  'NoCatchUp',
  'RunID',
  'AccessLoggerInfo',
  'ID',
] as const;

/** Fortio's gRPC JSON from the HTTP-shaped one: RunType, RetCodes, Destination, Streams, Ping. */
export function toFortioGrpcJson(httpJson: Readonly<Record<string, unknown>>, result: Pick<LoadResult, 'grpcStatuses'>, grpc: GrpcLoadPlan, headers: ReadonlyArray<[string, string]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of RUNNER_KEYS) if (key in httpJson) out[key] = httpJson[key];
  out.RunType = grpc.runType;
  out.RetCodes = fortioGrpcRetCodes(result);
  out.Destination = grpc.destination;
  out.Streams = grpc.streams;
  out.Ping = grpc.kind === 'ping';
  const metadata: Record<string, string[]> = {};
  for (const [name, value] of grpcMetadata(headers)) (metadata[name] ??= []).push(value);
  out.Metadata = Object.keys(metadata).length > 0 ? metadata : null;
  // meshload's own counts by gRPC status name, beside Fortio's.
  out.GrpcStatuses = result.grpcStatuses ?? {};
  return out;
}
