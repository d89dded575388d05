/** The server side of gRPC server reflection (grpc/grpc-proto reflection/v1 and v1alpha
 * reflection.proto, same field numbers): list_services, file_containing_symbol and
 * file_by_filename over the services meshload's gRPC server offers. The file descriptors are
 * written out here as FileDescriptorProto objects (names fully qualified, as protoc writes
 * them) and encoded once with protobufjs' descriptor types. */
import { Reader, Writer } from 'protobufjs/minimal';
import { FileDescriptorProto } from 'protobufjs/ext/descriptor';

export const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'] as const;
export const REFLECTION_PATHS: ReadonlySet<string> = new Set(REFLECTION_SERVICES.map((s) => `/${s}/ServerReflectionInfo`));

const OPTIONAL = 1;
const TYPE_INT64 = 3;
const TYPE_STRING = 9;
const TYPE_ENUM = 14;

/** fgrpc/ping.proto (Fortio, Apache-2.0; copied in test/fixtures/grpc/ping.proto). */
const PING_FILE = {
  name: 'ping.proto',
  package: 'fgrpc',
  syntax: 'proto3',
  messageType: [
    {
      name: 'PingMessage',
      field: [
        { name: 'seq', number: 1, label: OPTIONAL, type: TYPE_INT64, jsonName: 'seq' },
        { name: 'ts', number: 2, label: OPTIONAL, type: TYPE_INT64, jsonName: 'ts' },
        { name: 'payload', number: 3, label: OPTIONAL, type: TYPE_STRING, jsonName: 'payload' },
        { name: 'delayNanos', number: 4, label: OPTIONAL, type: TYPE_INT64, jsonName: 'delayNanos' },
      ],
    },
  ],
  service: [{ name: 'PingServer', method: [{ name: 'Ping', inputType: '.fgrpc.PingMessage', outputType: '.fgrpc.PingMessage' }] }],
};

/** grpc/health/v1/health.proto (grpc-proto, Apache-2.0): Check only (Watch is not served). */
const HEALTH_FILE = {
  name: 'grpc/health/v1/health.proto',
  package: 'grpc.health.v1',
  syntax: 'proto3',
  messageType: [
    { name: 'HealthCheckRequest', field: [{ name: 'service', number: 1, label: OPTIONAL, type: TYPE_STRING, jsonName: 'service' }] },
    {
      name: 'HealthCheckResponse',
      field: [{ name: 'status', number: 1, label: OPTIONAL, type: TYPE_ENUM, typeName: '.grpc.health.v1.HealthCheckResponse.ServingStatus', jsonName: 'status' }],
      enumType: [
        {
          name: 'ServingStatus',
          value: [
            { name: 'UNKNOWN', number: 0 },
            { name: 'SERVING', number: 1 },
            { name: 'NOT_SERVING', number: 2 },
            { name: 'SERVICE_UNKNOWN', number: 3 },
          ],
        },
      ],
    },
  ],
  service: [
    {
      name: 'Health',
      method: [
        { name: 'Check', inputType: '.grpc.health.v1.HealthCheckRequest', outputType: '.grpc.health.v1.HealthCheckResponse' },
        { name: 'Watch', inputType: '.grpc.health.v1.HealthCheckRequest', outputType: '.grpc.health.v1.HealthCheckResponse', serverStreaming: true },
      ],
    },
  ],
};


interface KnownFile {
  name: string;
  bytes: Uint8Array;
  /** Fully qualified names this file defines (services, methods, messages, enums). */
  symbols: Set<string>;
}

function known(file: typeof PING_FILE | typeof HEALTH_FILE): KnownFile {
  const symbols = new Set<string>();
  const pkg = file.package;
  for (const m of file.messageType) {
    symbols.add(`${pkg}.${m.name}`);
    for (const e of (m as { enumType?: Array<{ name: string }> }).enumType ?? []) symbols.add(`${pkg}.${m.name}.${e.name}`);
  }
  for (const s of file.service) {
    symbols.add(`${pkg}.${s.name}`);
    for (const method of s.method) symbols.add(`${pkg}.${s.name}.${method.name}`);
  }
  return { name: file.name, bytes: FileDescriptorProto.encode(FileDescriptorProto.fromObject(file)).finish(), symbols };
}

let files: KnownFile[] | undefined;
function knownFiles(): KnownFile[] {
  files ??= [known(PING_FILE), known(HEALTH_FILE)];
  return files;
}

/** The service names list_services answers (grpc-go lists reflection itself too). */
export const SERVED_SERVICES = ['fgrpc.PingServer', 'grpc.health.v1.Health', ...REFLECTION_SERVICES];

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;
const INVALID_ARGUMENT = 3;

/** One reflection stream; stateless today, a class so a host check can live here later. */
export class ReflectionSession {
  /** The ServerReflectionResponse for one ServerReflectionRequest. */
  answer(request: Uint8Array): Uint8Array {
    const w = Writer.create();
    let host = '';
    let kind = 0;
    let arg = '';
    try {
      const r = Reader.create(request);
      while (r.pos < r.len) {
        const tag = r.uint32();
        const field = tag >>> 3;
        if (field === 1 && (tag & 7) === 2) host = r.string();
        else if ((field === 3 || field === 4 || field === 7) && (tag & 7) === 2) {
          kind = field;
          arg = r.string();
        } else if (field === 5 || field === 6) {
          kind = field;
          r.skipType(tag & 7);
        } else r.skipType(tag & 7);
      }
    } catch {
      kind = -1;
    }
    w.uint32(10).string(host);
    w.uint32(18).bytes(request);
    switch (kind) {
      case 7: {
        // list_services_response = 6 { repeated ServiceResponse service = 1 { string name = 1 } }
        const list = Writer.create();
        for (const name of SERVED_SERVICES) list.uint32(10).fork().uint32(10).string(name).ldelim();
        w.uint32(50).bytes(list.finish());
        break;
      }
      case 3:
      case 4: {
        const file = knownFiles().find((f) => (kind === 3 ? f.name === arg : f.symbols.has(arg.replace(/^\./, ''))));
        if (file === undefined) return errorResponse(w, NOT_FOUND, `${kind === 3 ? 'file' : 'symbol'} not found: ${arg.slice(0, 200)}`);
        // file_descriptor_response = 4 { repeated bytes file_descriptor_proto = 1 }; neither file imports another.
        const fd = Writer.create();
        fd.uint32(10).bytes(file.bytes);
        w.uint32(34).bytes(fd.finish());
        break;
      }
      case -1:
        return errorResponse(w, INVALID_ARGUMENT, 'malformed ServerReflectionRequest');
      default:
        return errorResponse(w, UNIMPLEMENTED, 'meshload answers list_services, file_containing_symbol and file_by_filename');
    }
    return w.finish();
  }
}

/** error_response = 7 { int32 error_code = 1; string error_message = 2 } */
function errorResponse(w: Writer, code: number, message: string): Uint8Array {
  const e = Writer.create();
  e.uint32(8).int32(code).uint32(18).string(message);
  w.uint32(58).bytes(e.finish());
  return w.finish();
}
