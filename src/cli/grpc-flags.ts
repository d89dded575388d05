/** The gRPC flags of `load` and `curl` (Fortio's cli/fortio_main.go names): commander wiring only;
 * grpc/grpc-load.ts turns the values into the gRPC part of a plan. */
import type { Command } from 'commander';

/** The flags of one gRPC call, for `load` and `curl`. */
export function addGrpcCallFlags(command: Command): Command {
  return command
    .option('--grpc', 'gRPC load: grpc.health.v1 Check by default, -ping for fgrpc.PingServer, -grpc-method for any unary method')
    .option('--ping', 'with -grpc: call fgrpc.PingServer/Ping (Fortio\'s ping server, meshload server -grpc-port)')
    .option('--healthservice <name>', 'with -grpc: the service name the health check asks about', '')
    .option('--grpc-ping-delay <duration>', 'with -ping: ask the server to delay each reply this long', '0s')
    .option('--grpc-method <Service/Method>', 'with -grpc: call this unary method with -payload as JSON, its types found by server reflection or --proto')
    .option('--grpc-compression', 'with -grpc: gzip the request messages')
    .option('--proto <file>', 'with -grpc-method: the .proto defining it, for servers without reflection (repeatable)', collect, [])
    .option('--import-path <dir>', 'with --proto: a directory imports are found in (repeatable)', collect, []);
}

export function addGrpcLoadFlags(command: Command): Command {
  return addGrpcCallFlags(command).option('-s, --streams <n>', 'with -grpc: calls in flight per HTTP/2 connection (-c connections, -c*s calls at once)', '1');
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
