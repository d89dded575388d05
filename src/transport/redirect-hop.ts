/** The request after a redirect, by the rules of Go's http.Client, which Fortio's -L uses
 * (bincommon/commonflags.go SharedHTTPOptions: -L sets FollowRedirects and the std client). */

/** Statuses Go follows (net/http client.go redirectBehavior); 300 and 304 are answers. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Go's default CheckRedirect: the 11th redirect is an error, "stopped after 10 redirects". */
export const MAX_REDIRECTS = 10;

/** Headers Go strips once a redirect leaves the first host for one that is not a subdomain of it
 * (net/http client.go makeHeadersCopier, shouldCopyHeaderOnRedirect). */
const SENSITIVE = new Set(['authorization', 'www-authenticate', 'cookie', 'cookie2', 'proxy-authorization', 'proxy-authenticate']);

export interface Hop {
  url: URL;
  method: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** The next hop for a `status` response with `location`, or a one-line reason not to follow.
 * `first` is the URL of the first request: leaving its host drops the credentials for good. */
export function nextHop(hop: Hop, status: number, location: string, first: URL): Hop | string {
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    return `${status} redirect to a Location that is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${status} redirect to unsupported protocol scheme ${url.protocol}`;
  url.hash = '';
  // 301, 302 and 303 turn anything but GET and HEAD into a GET without a body; 307 and 308
  // resend the same method and body.
  const dropBody = status === 301 || status === 302 || status === 303;
  const method = dropBody && hop.method !== 'GET' && hop.method !== 'HEAD' ? 'GET' : hop.method;
  const body = dropBody ? Buffer.alloc(0) : hop.body;
  const stripSensitive = !sameOrSubdomain(url.hostname, first.hostname);
  // A custom Host survives only a relative Location (Go: `!u.IsAbs()`).
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(location.trim());
  const headers = hop.headers.filter(([name]) => {
    const lower = name.toLowerCase();
    if (stripSensitive && SENSITIVE.has(lower)) return false;
    if (lower === 'host' && absolute) return false;
    return !(dropBody && lower === 'content-length');
  });
  return { url, method, headers, body };
}

/** Go's shouldCopyHeaderOnRedirect: the same host name, or a subdomain of the first one. */
function sameOrSubdomain(host: string, first: string): boolean {
  const a = host.toLowerCase();
  const b = first.toLowerCase();
  return a === b || a.endsWith(`.${b}`);
}
