/** Opens an HTTP/2 session of meshload's own to a URL, for callers of the stream API (gRPC):
 * h2c with prior knowledge for http://, TLS with ALPN h2 for https:// (a server that picks
 * anything else fails the session's streams as 'protocol'). The load transport dials itself, to
 * reuse one DNS answer and TLS session across its connections. */
import net from 'node:net';
import tls from 'node:tls';
import { tlsBaseOptions } from '../transport';
import type { TlsClientOptions } from '../../model/load-plan';
import { H2WireSession, type SessionOwner } from './session';

export interface WireConnectOptions {
  /** TLS: do not verify the server certificate. */
  insecure?: boolean;
  tls?: TlsClientOptions;
  /** -unix-socket: dial this path instead of the URL's host and port (TLS SNI stays the host). */
  unixSocket?: string;
}

export function openWireSession(url: URL, owner: SessionOwner, options: WireConnectOptions = {}): H2WireSession {
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') throw new Error(`unsupported URL scheme ${url.protocol}: use http:// or https://`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  // Offering http/1.1 too lets an HTTP/1.1-only server finish the handshake and say so (the
  // session then fails as 'protocol'), rather than fail it with a no_application_protocol alert.
  const target = options.unixSocket !== undefined ? { path: options.unixSocket } : { host, port };
  const socket = secure
    ? tls.connect({ ...tlsBaseOptions(host, options.insecure === true, options.tls), ...target, ALPNProtocols: ['h2', 'http/1.1'] })
    : net.connect(target);
  return new H2WireSession(socket, owner, { tls: secure });
}
