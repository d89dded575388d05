/** -grpc-method Service/Method: finds the method's types through server reflection (v1, then
 * v1alpha, as grpc-go's grpcreflect.NewClientAuto does) or from .proto files (--proto,
 * --import-path), and turns the -payload JSON into the request message. Every failure is a
 * usage error naming its fix. */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import protobuf from 'protobufjs';
import { FileDescriptorProto } from 'protobufjs/ext/descriptor';
import { Reader, Writer } from 'protobufjs/minimal';
import type { TlsClientOptions } from '../model/load-plan';
import { MeshloadError, usageError } from '../util/errors';
import { oneGrpcCall } from './grpc-one-call';
import { GRPC_UNIMPLEMENTED, grpcStatusName } from './grpc-status';

export interface ResolvedMethod {
  /** "/package.Service/Method". */
  path: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
}

export interface ReflectionTarget {
  url: string;
  metadata: Array<[string, string]>;
  timeoutMs: number;
  insecure: boolean;
  tls?: TlsClientOptions;
  unixSocket?: string;
}

/** Largest .proto file read: service definitions are kilobytes. */
const MAX_PROTO_BYTES = 4 * 1024 * 1024;
/** Most descriptor files one resolution fetches (a method's file and its imports). */
const MAX_FILES = 64;
const REFLECTION_VERSIONS = ['grpc.reflection.v1', 'grpc.reflection.v1alpha'] as const;

/** "pkg.Service/Method", with or without a leading slash (Fortio's parseFullMethod). */
export function parseMethodName(text: string): { service: string; method: string } {
  const parts = text.replace(/^\//, '').split('/');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '' || !/^[\w.]+$/.test(parts[0] as string) || !/^\w+$/.test(parts[1] as string)) {
    throw usageError(`-grpc-method '${text.slice(0, 200)}' is not Service/Method`, 'give the fully qualified service and the method, like helloworld.Greeter/SayHello');
  }
  return { service: parts[0] as string, method: parts[1] as string };
}

/** From .proto files; imports resolve against the import paths, then the file's directory. */
export function resolveFromProtos(files: readonly string[], importPaths: readonly string[], methodText: string): ResolvedMethod {
  const { service, method } = parseMethodName(methodText);
  const root = new protobuf.Root();
  const find = (origin: string, target: string): string => {
    if (isAbsolute(target)) return target;
    for (const dir of importPaths) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return origin === '' ? resolvePath(target) : join(origin.replace(/[^/]*$/, ''), target);
  };
  // protobufjs reads each file whole: only regular files of a sane size (not /dev/zero, a FIFO).
  root.resolvePath = (origin: string, target: string): string => {
    const path = find(origin, target);
    let stats;
    try {
      stats = statSync(path);
    } catch {
      return path; // protobufjs reports the missing file, or skips google/protobuf built-ins
    }
    if (!stats.isFile()) throw usageError(`--proto: ${path.slice(0, 200)} is not a regular file`, 'give .proto files');
    if (stats.size > MAX_PROTO_BYTES) throw usageError(`--proto: ${path.slice(0, 200)} is larger than ${MAX_PROTO_BYTES / 1024 / 1024} MiB`, 'give .proto files');
    return path;
  };
  try {
    root.loadSync(files.map((f) => resolvePath(f)), { keepCase: true });
    root.resolveAll();
  } catch (error) {
    if (error instanceof MeshloadError) throw error;
    throw usageError(`--proto: ${(error as Error).message.split('\n')[0]?.slice(0, 300) ?? 'cannot load'}`, 'check the file and give the directories of its imports with --import-path');
  }
  return findMethod(root, service, method, '--proto files');
}

/** Through server reflection on the target. */
export async function resolveByReflection(target: ReflectionTarget, methodText: string): Promise<ResolvedMethod> {
  const { service, method } = parseMethodName(methodText);
  let lastError = '';
  for (const version of REFLECTION_VERSIONS) {
    const files = new Map<string, Uint8Array>();
    const first = await reflect(target, version, { symbol: service });
    if (first.unimplemented) {
      lastError = first.error;
      continue;
    }
    if (first.error !== '') throw usageError(`server reflection cannot resolve ${service}: ${first.error}`, 'check the service name, or give --proto files');
    for (const file of first.files) addFile(files, file);
    // Fetch imports the server did not send along, a bounded number of times.
    for (let round = 0; round < MAX_FILES; round++) {
      const missing = missingDependencies(files);
      if (missing === undefined) break;
      const more = await reflect(target, version, { filename: missing });
      if (more.error !== '' || more.files.length === 0) throw usageError(`server reflection cannot send ${missing}: ${more.error || 'no file'}`, 'give --proto files instead');
      for (const file of more.files) addFile(files, file);
      if (files.size > MAX_FILES) throw usageError(`server reflection sent over ${MAX_FILES} files for ${service}`, 'give --proto files instead');
    }
    let root: protobuf.Root;
    try {
      // FileDescriptorSet { repeated FileDescriptorProto file = 1 }, as bytes.
      const set = Writer.create();
      for (const bytes of files.values()) set.uint32(10).bytes(bytes);
      root = protobuf.Root.fromDescriptor(set.finish());
      root.resolveAll();
    } catch (error) {
      throw usageError(`the server's reflection descriptors do not load: ${(error as Error).message.slice(0, 200)}`, 'give --proto files instead');
    }
    return findMethod(root, service, method, 'server reflection');
  }
  throw usageError(`the server does not offer reflection (${lastError})`, 'give the service definition with --proto FILE (and --import-path DIR)');
}

/** The request message from -payload's JSON (empty or {} for the default message). */
export function requestFromJson(resolved: ResolvedMethod, json: string): Uint8Array {
  const type = resolved.requestType;
  if (json.trim() === '' || json.trim() === '{}') return type.encode(type.create({})).finish();
  let object: unknown;
  try {
    object = JSON.parse(json);
  } catch (error) {
    throw usageError(`-payload is not JSON: ${(error as Error).message.slice(0, 120)}`, `give the ${type.fullName.replace(/^\./, '')} message as JSON, like '{"name": "x"}'`);
  }
  if (typeof object !== 'object' || object === null || Array.isArray(object)) throw usageError('-payload must be a JSON object', `give the ${type.fullName.replace(/^\./, '')} message as JSON`);
  let message: protobuf.Message;
  try {
    message = type.fromObject(protoObject(type, object as Record<string, unknown>, ''));
  } catch (error) {
    if (error instanceof MeshloadError) throw error;
    throw usageError(`-payload does not fit ${type.fullName.replace(/^\./, '')}: ${(error as Error).message.slice(0, 200)}`);
  }
  return type.encode(message).finish();
}

function camel(name: string): string {
  return name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
}

/** The JSON object with proto3 JSON's lowerCamel names mapped to field names, at every depth;
 * a key that is no field is a usage error (protobufjs' fromObject would drop it silently). */
function protoObject(type: protobuf.Type, object: Record<string, unknown>, at: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = Object.values(type.fields);
  for (const [key, value] of Object.entries(object)) {
    const field = type.fields[key] ?? fields.find((f) => camel(f.name) === key);
    if (field === undefined) {
      throw usageError(`-payload: ${type.fullName.replace(/^\./, '')} has no field ${at}${key.slice(0, 60)}`, `fields: ${Object.keys(type.fields).join(', ').slice(0, 200)}`);
    }
    field.resolve();
    const nested = field.resolvedType instanceof protobuf.Type && !field.map ? field.resolvedType : undefined;
    if (nested !== undefined && Array.isArray(value)) {
      out[field.name] = value.map((v) => (isObject(v) ? protoObject(nested, v, `${at}${key}[].`) : v));
    } else if (nested !== undefined && isObject(value)) {
      out[field.name] = protoObject(nested, value, `${at}${key}.`);
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function findMethod(root: protobuf.Root, service: string, method: string, source: string): ResolvedMethod {
  let svc: protobuf.Service;
  try {
    svc = root.lookupService(service);
  } catch {
    throw usageError(`service ${service} is not in the ${source}`, 'give the fully qualified name, package included');
  }
  const m = svc.methods[method];
  if (m === undefined) throw usageError(`service ${service} has no method ${method}`, `methods: ${Object.keys(svc.methods).join(', ')}`);
  if (m.requestStream === true || m.responseStream === true) throw usageError(`${service}/${method} is a streaming method`, 'meshload calls unary methods only');
  m.resolve();
  if (m.resolvedRequestType === null || m.resolvedResponseType === null) throw usageError(`${service}/${method}: its message types do not resolve`);
  return { path: `/${service}/${method}`, requestType: m.resolvedRequestType, responseType: m.resolvedResponseType };
}

function addFile(files: Map<string, Uint8Array>, bytes: Uint8Array): void {
  const name = FileDescriptorProto.decode(bytes).name ?? `#${files.size}`;
  if (!files.has(name)) files.set(name, bytes);
}

function missingDependencies(files: Map<string, Uint8Array>): string | undefined {
  for (const bytes of files.values()) {
    for (const dep of FileDescriptorProto.decode(bytes).dependency ?? []) if (!files.has(dep)) return dep;
  }
  return undefined;
}

interface ReflectAnswer {
  files: Uint8Array[];
  error: string;
  unimplemented: boolean;
}

/** One ServerReflectionRequest (file_containing_symbol = 4 or file_by_filename = 3). */
async function reflect(target: ReflectionTarget, version: string, ask: { symbol: string } | { filename: string }): Promise<ReflectAnswer> {
  const w = Writer.create();
  if ('symbol' in ask) w.uint32(34).string(ask.symbol);
  else w.uint32(26).string(ask.filename);
  const result = await oneGrpcCall({
    url: target.url,
    path: `/${version}.ServerReflection/ServerReflectionInfo`,
    messages: [w.finish()],
    metadata: target.metadata,
    timeoutMs: target.timeoutMs,
    compression: false,
    insecure: target.insecure,
    ...(target.tls !== undefined ? { tls: target.tls } : {}),
    ...(target.unixSocket !== undefined ? { unixSocket: target.unixSocket } : {}),
    unary: false,
  });
  const outcome = result.outcome;
  if (outcome.grpcStatus !== 0) {
    const text = `${version}: ${grpcStatusName(outcome.grpcStatus ?? 2)}${outcome.bodyPrefix !== undefined ? ` ${outcome.bodyPrefix}` : outcome.errorMessage !== undefined ? ` ${outcome.errorMessage}` : ''}`;
    return { files: [], error: text, unimplemented: outcome.grpcStatus === GRPC_UNIMPLEMENTED };
  }
  const files: Uint8Array[] = [];
  let error = '';
  for (const message of result.messages) {
    const r = Reader.create(message);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 34) {
        // file_descriptor_response { repeated bytes file_descriptor_proto = 1 }
        const inner = Reader.create(r.bytes());
        while (inner.pos < inner.len) {
          const t = inner.uint32();
          if (t === 10) files.push(inner.bytes());
          else inner.skipType(t & 7);
        }
      } else if (tag === 58) {
        // error_response { int32 error_code = 1; string error_message = 2 }
        const inner = Reader.create(r.bytes());
        let code = 0;
        let text = '';
        while (inner.pos < inner.len) {
          const t = inner.uint32();
          if (t === 8) code = inner.int32();
          else if (t === 18) text = inner.string();
          else inner.skipType(t & 7);
        }
        error = `${grpcStatusName(code)}: ${text.slice(0, 200)}`;
      } else r.skipType(tag & 7);
    }
  }
  return { files, error, unimplemented: false };
}
