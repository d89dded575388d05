/** What `header=Name:Value` may add to an echo response: checked where the parameter enters (a
 * request's query, PUT /chaos, -echo-server-default-params), so a response can never be refused
 * by Node's header checks while it is being written (which, in a delayed response's timer,
 * would end the process). */

// RFC 9110 5.6.2 token characters.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Node's own rule for field values (RFC 9110 5.5): visible bytes, space, tab, obs-text.
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/** The framing of a message and hop-by-hop fields are the server's (and the proxy's) to set;
 * HTTP/2 forbids the connection-specific ones outright (RFC 9113 8.2.2). Content-Encoding
 * describes the body, which gzip= decides. */
const SERVER_OWNED: ReadonlyMap<string, string> = new Map([
  ['content-length', 'a framing header the server sets from the body'],
  ['transfer-encoding', 'a framing header the server sets from the body'],
  ['content-encoding', 'set by the server from gzip='],
  ['connection', 'a hop-by-hop header (use close= to close connections)'],
  ['keep-alive', 'a hop-by-hop header'],
  ['proxy-connection', 'a hop-by-hop header'],
  ['upgrade', 'a hop-by-hop header'],
  ['te', 'a hop-by-hop header'],
]);

/** Fields node:http2 refuses to send twice; a second `header=` for one would fail the response. */
export const SINGLE_VALUE_HEADERS: ReadonlySet<string> = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age',
  'authorization', 'content-language', 'content-location', 'content-md5', 'content-range',
  'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match', 'if-modified-since',
  'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'range', 'referer', 'retry-after', 'tk', 'upgrade-insecure-requests',
  'user-agent', 'x-content-type-options',
]);

/** Why `name` cannot be echoed, or undefined when it can. */
export function badHeaderName(name: string): string | undefined {
  if (!TOKEN.test(name)) return `'${printable(name)}' is not a header name (RFC 9110 token characters only)`;
  const owned = SERVER_OWNED.get(name.toLowerCase());
  return owned === undefined ? undefined : `'${name}' cannot be set: ${owned}`;
}

/** Why `value` (already trimmed) cannot be sent, or undefined when it can. */
export function badHeaderValue(name: string, value: string): string | undefined {
  const bad = BAD_VALUE_CHAR.exec(value);
  if (bad === null) return undefined;
  const code = bad[0].charCodeAt(0);
  const hex = code.toString(16).toUpperCase().padStart(2, '0');
  const what =
    code > 0xff ? `character U+${hex.padStart(4, '0')} (header values are bytes)` : code === 0x0a || code === 0x0d ? `a line break (0x${hex})` : `control byte 0x${hex}`;
  return `value of '${name}' holds ${what}; a header value holds visible characters, spaces and tabs only`;
}

/** True when a value received from a peer can be sent back as it is. */
export function isSendableValue(value: string): boolean {
  return !BAD_VALUE_CHAR.test(value);
}

/** `text` with control bytes and non-ASCII shown as escapes, for one-line messages and logs. */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Go's textproto.CanonicalMIMEHeaderKey: "x-forwarded-for" -> "X-Forwarded-For"; a name with a
 * space or other non-token byte is left as it is. */
export function canonicalHeaderKey(name: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return name;
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}
