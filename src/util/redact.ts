/** Which values meshload never writes in clear: secret headers and credentials in URLs. One
 * definition for every output (text, JSON, result.json, fortio.json, HTML, JUnit, Markdown). */

export const REDACTED = '<redacted>';

/** Always secret, whatever --secret-header says. */
export const ALWAYS_SECRET_HEADERS: readonly string[] = ['authorization', 'cookie', 'proxy-authorization'];

/** A header whose name contains one of these is a secret too (X-Api-Key, X-Auth-Token, ...). */
const SECRET_NAME_PARTS = ['token', 'secret', 'password', 'api-key', 'apikey'];

/** `extra`: names from --secret-header or a scenario's `secretHeaders:` (any case). */
export function isSecretHeader(name: string, extra: readonly string[] = []): boolean {
  const lower = name.toLowerCase();
  if (ALWAYS_SECRET_HEADERS.includes(lower) || extra.some((e) => e.toLowerCase() === lower)) return true;
  return SECRET_NAME_PARTS.some((part) => lower.includes(part));
}

/** Headers as given, with secret values replaced. */
export function redactHeaders(headers: ReadonlyArray<readonly [string, string]>, extra: readonly string[] = []): Array<[string, string]> {
  return headers.map(([name, value]) => [name, isSecretHeader(name, extra) ? REDACTED : value]);
}

/** A query parameter is named like a secret header, `_` read as `-` (`api_key`, `access_token`). */
function isSecretParam(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    // a malformed escape: judge the name as written
  }
  return isSecretHeader(decoded.replace(/_/g, '-'));
}

/** A query string (without `?`) with the values of secret-named parameters replaced. It is
 * rewritten as written, one pair at a time: URLSearchParams would re-encode the rest. */
function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && eq < pair.length - 1 && isSecretParam(name) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
}

/** A request target (`/path?api_key=k`) as a server logs it: secret query values replaced. */
export function redactRequestTarget(target: string): string {
  const at = target.indexOf('?');
  return at < 0 ? target : `${target.slice(0, at + 1)}${redactQuery(target.slice(at + 1))}`;
}

/** A URL's user and password replaced (`http://<redacted>@host/`), and the values of query
 * parameters named like secrets (`?api_key=<redacted>`); text that is not a URL is returned as
 * is, and so is a URL without either. */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  const hasUser = url.username !== '' || url.password !== '';
  const query = url.search.length > 1 ? url.search.slice(1) : '';
  const redactedQuery = redactQuery(query);
  if (!hasUser && redactedQuery === query) return text;
  url.username = '';
  url.password = '';
  // Set as a string after the URL is serialised: `<` and `>` would be percent-encoded by URL.
  const hash = url.hash;
  url.hash = '';
  url.search = '';
  const bare = url.toString();
  const head = hasUser ? bare.replace('//', `//${REDACTED}@`) : bare;
  return `${head}${query === '' ? '' : `?${redactedQuery}`}${hash}`;
}

/** Every URL in free text (an error message, a step's description) through redactUrl. */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>`]+/gi, (url) => redactUrl(url));
}

/** `text` without the credentials and secret query values of `urlText`, wherever they appear
 * in it: labels made from a URL that lost its scheme (`user:pass@host/?token=t , box`) are not
 * URLs any more. Only `user:pass@` and `name=value` are replaced, never a bare short value. */
export function redactCredentialsOf(text: string, urlText: string): string {
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    return text;
  }
  const replacements: Array<[string, string]> = [];
  if (url.username !== '' || url.password !== '') {
    for (const user of forms(url.username)) {
      for (const password of url.password === '' ? [''] : forms(url.password)) {
        replacements.push([`${user}${password === '' ? '' : `:${password}`}@`, `${REDACTED}@`]);
      }
    }
  }
  const query = url.search.length > 1 ? url.search.slice(1) : '';
  for (const pair of query === '' ? [] : query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || eq === pair.length - 1 || !isSecretParam(pair.slice(0, eq))) continue;
    for (const name of forms(pair.slice(0, eq))) for (const value of forms(pair.slice(eq + 1))) replacements.push([`${name}=${value}`, `${name}=${REDACTED}`]);
  }
  let out = text;
  for (const [from, to] of replacements) out = out.split(from).join(to);
  return out;
}

/** A URL part as written and decoded. */
function forms(value: string): string[] {
  let decoded = value;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    // a malformed escape: the encoded form is all there is
  }
  return [...new Set([value, decoded])];
}
