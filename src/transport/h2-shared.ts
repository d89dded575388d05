/** What both HTTP/2 transports (node:http2's h2-transport.ts and the h2-wire fast one) agree
 * on: the request's header fields, the connection model's numbers and outcome messages. Kept
 * here so the fast transport needs nothing of the old one, which can then be dropped. */
import type { OutgoingHttpHeaders } from 'node:http2';
import { usageError } from '../util/errors';
import { meshloadVersion } from '../util/version';
import type { RequestTemplate } from './transport';

/** Connections per shared session with `h2Multiplex`: Connection i uses session floor(i / 100). */
export const CONNECTIONS_PER_SESSION = 100;
/** Resends of one call (streams the server did not process) before it fails: enough to ride
 * a graceful restart, few enough that a server refusing everything cannot loop us. */
export const MAX_RESENDS = 2;
/** Outcome messages are one line of at most this many characters. */
const MAX_MESSAGE_CHARS = 200;

/** HTTP/1-only headers: forbidden in HTTP/2 (RFC 9113 8.2.2), and node:http2 throws on them. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** A message as one line of at most MAX_MESSAGE_CHARS: errors carry peer-chosen text. */
export function oneLine(message: string): string {
  const line = message.replace(/[\r\n\t\0]+/g, ' ');
  return line.length <= MAX_MESSAGE_CHARS ? line : `${line.slice(0, MAX_MESSAGE_CHARS - 3)}...`;
}

/** The request headers, built once per transport: pseudo-headers from the URL, user headers
 * lower-cased (repeats become arrays) minus HTTP/1-only ones, a user Host as :authority,
 * User-Agent and Content-Length added when absent. */
export function h2RequestHeaders(template: RequestTemplate): OutgoingHttpHeaders {
  const { url, method, body } = template;
  const headers: OutgoingHttpHeaders = {
    ':method': method,
    ':scheme': url.protocol.slice(0, -1),
    // URL.host omits a default port and keeps IPv6 brackets, as :authority wants.
    ':authority': url.host,
    ':path': `${url.pathname || '/'}${url.search}`,
  };
  let hostGiven = false;
  for (const [rawName, value] of template.headers) {
    // The same rule as HTTP/1.1; node:http2 would otherwise destroy the whole session.
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(rawName) || /[\r\n\0]/.test(value)) {
      throw usageError(`bad request header ${JSON.stringify(rawName)}: names are tokens and values cannot hold CR, LF or NUL`);
    }
    const name = rawName.toLowerCase();
    if (name === 'host') {
      if (!hostGiven) headers[':authority'] = value;
      hostGiven = true;
      continue;
    }
    // TE is allowed only as "trailers" in HTTP/2 (RFC 9113 8.2.2).
    if (CONNECTION_HEADERS.has(name) || (name === 'te' && value.trim().toLowerCase() !== 'trailers')) continue;
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [String(existing), value];
  }
  if (headers['user-agent'] === undefined) headers['user-agent'] = `meshload/${meshloadVersion()}`;
  if (body.length > 0 && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
  return headers;
}
