/** How undici connects for meshload (curl, and load -L): the TLS settings of a URL's host, and
 * -unix-socket or -resolve, which Fortio's std client applies to every hop. */
import { lookup as dnsLookup, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { tlsBaseOptions } from './transport';
import type { TlsClientOptions } from '../model/load-plan';

export interface ConnectTarget {
  /** The first URL: its host's -H Host SNI applies to it only. */
  first: URL;
  insecure: boolean;
  tls: TlsClientOptions | undefined;
  resolve: string | undefined;
  unixSocket: string | undefined;
}

/** undici `connect` options for `url`: SNI of that URL's host (the -H Host name only on the
 * first host), and the socket path or the fixed IP. */
export function connectOptions(target: ConnectTarget, url: URL): Record<string, unknown> {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const sameHost = url.hostname === target.first.hostname;
  const tls = sameHost || target.tls === undefined ? target.tls : { ...target.tls, servername: hostname };
  return {
    ...tlsBaseOptions(hostname, target.insecure, tls),
    ...(target.unixSocket !== undefined ? { socketPath: target.unixSocket } : {}),
    ...(target.resolve !== undefined && target.unixSocket === undefined ? { lookup: isIP(target.resolve) !== 0 ? fixedLookup(target.resolve) : renamedLookup(target.resolve) } : {}),
  };
}

/** A resolver that answers every name with `ip` (-resolve). Node asks for all addresses when it
 * may try several families (autoSelectFamily), one otherwise. */
function fixedLookup(ip: string): LookupFunction {
  const family = isIP(ip);
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
    if (options.all === true) callback(null, [{ address: ip, family }]);
    else callback(null, ip, family);
  }) as LookupFunction;
}

/** A resolver that looks `name` up whatever host it is asked for (-resolve with a host name). */
function renamedLookup(name: string): LookupFunction {
  return ((_hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void): void => {
    dnsLookup(name, options, callback as never);
  }) as LookupFunction;
}
