/** Which values meshload never writes in clear: secret headers and credentials in URLs. One
 * definition for every output (text, JSON, result.json, fortio.json, HTML, JUnit, Markdown). */

export const REDACTED = '<redacted>';

/** Always secret, whatever --secret-header says. */
export const ALWAYS_SECRET_HEADERS: readonly string[] = ['authorization', 'cookie', 'proxy-authorization'];

/** A header whose name contains one of these is a secret too (X-Api-Key, X-Auth-Token, ...). */
const SECRET_NAME_PARTS = ['token', 'secret', 'password', 'api-key', 'apikey'];

/** `extra`: names from --secret-header or a scenario's `secretHeaders:`, lower case. */
export function isSecretHeader(name: string, extra: readonly string[] = []): boolean {
  const lower = name.toLowerCase();
  if (ALWAYS_SECRET_HEADERS.includes(lower) || extra.includes(lower)) return true;
  return SECRET_NAME_PARTS.some((part) => lower.includes(part));
}

/** Headers as given, with secret values replaced. */
export function redactHeaders(headers: ReadonlyArray<readonly [string, string]>, extra: readonly string[] = []): Array<[string, string]> {
  return headers.map(([name, value]) => [name, isSecretHeader(name, extra) ? REDACTED : value]);
}

/** A URL's user and password replaced (`http://<redacted>@host/`); text that is not a URL is
 * returned as is, and so is a URL without credentials. */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  if (url.username === '' && url.password === '') return text;
  url.username = '';
  url.password = '';
  return url.toString().replace('//', `//${REDACTED}@`);
}
