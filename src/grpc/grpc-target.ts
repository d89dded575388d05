/** A gRPC destination as Fortio reads it (fgrpc/grpcrunner.go grpcDestination): host, host:port,
 * http://host[:port] or https://host[:port]; without a port 80, 443, or Fortio's 8079. Pure. */
import { isIP } from 'node:net';
import { usageError } from '../util/errors';

/** Fortio's gRPC server port (fnet/network.go DefaultGRPCPort). */
export const DEFAULT_GRPC_PORT = 8079;

export interface GrpcTarget {
  /** http://host:port or https://host:port: what node:http2 connects to. */
  url: URL;
  tls: boolean;
}

/** `forceTls`: -cacert given, which Fortio's Dial takes as TLS too (grpcrunner.go Dial). */
export function parseGrpcTarget(destination: string, forceTls: boolean): GrpcTarget {
  let rest = destination.trim();
  let tls = forceTls;
  let port = DEFAULT_GRPC_PORT;
  if (rest.startsWith('http://')) {
    rest = rest.slice(7);
    port = 80;
  } else if (rest.startsWith('https://')) {
    rest = rest.slice(8);
    port = 443;
    tls = true;
  }
  // Fortio strips one trailing slash; a path is not part of a gRPC destination.
  rest = rest.replace(/\/$/, '');
  if (rest === '' || /[/\s?#@]/.test(rest)) {
    throw usageError(`'${destination.slice(0, 200)}' is not a gRPC destination`, 'use host:port, like localhost:8079 or https://example.com');
  }
  let host = rest;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed !== null) {
    host = `[${bracketed[1]}]`;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(rest) === 6) {
    host = `[${rest}]`;
  } else {
    const colon = /^([^:]+):(\d+)$/.exec(rest);
    if (colon !== null) {
      host = colon[1] as string;
      port = Number(colon[2]);
    } else if (rest.includes(':')) {
      throw usageError(`'${destination.slice(0, 200)}' is not a gRPC destination`, 'use host:port, like localhost:8079');
    }
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usageError(`port ${port} in '${destination.slice(0, 200)}' is out of range`, 'use a port from 1 to 65535');
  let url: URL;
  try {
    url = new URL(`${tls ? 'https' : 'http'}://${host}:${port}`);
  } catch {
    throw usageError(`'${destination.slice(0, 200)}' is not a gRPC destination`, 'use host:port, like localhost:8079');
  }
  return { url, tls };
}
