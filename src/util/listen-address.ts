/** Fortio-style listen addresses: "8080", ":8080", "127.0.0.1:8080", "[::1]:0", or "disabled". */

export interface ListenAddress {
  /** undefined: all interfaces (Node picks "::" with a dual-stack socket, else 0.0.0.0). */
  host: string | undefined;
  port: number;
}

/** Returns null for "disabled", undefined when the text is not an address. */
export function parseListenAddress(text: string, defaultHost?: string): ListenAddress | null | undefined {
  const value = text.trim();
  if (value === 'disabled') return null;
  let host: string | undefined = defaultHost;
  let portText = value;
  const bracketed = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(value);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2] as string;
  } else if (value.includes(':')) {
    const colon = value.lastIndexOf(':');
    const hostPart = value.slice(0, colon);
    if (hostPart.includes(':')) return undefined; // bare IPv6 needs brackets
    if (hostPart !== '') host = hostPart;
    portText = value.slice(colon + 1);
  }
  if (!/^\d+$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  return { host, port };
}

/** "http://127.0.0.1:8080", bracketing IPv6 hosts. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
