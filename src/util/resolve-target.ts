/** What -resolve accepts. Fortio's flag says `IP`, but its client hands the value to
 * fnet.Resolve (fhttp/http_client.go:1340-1349, fnet/network.go:311), which looks a name up too:
 * `-resolve istio-ingressgateway.istio-system` works there, so it works here. */
import { isIP } from 'node:net';

/** An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, at most 63
 * characters each and 253 in all, the last not all digits (so `1.2.3` is no name and no IP). */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isHostName(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name === '' || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((label) => LABEL.test(label)) && !/^\d+$/.test(labels[labels.length - 1] as string);
}

/** The address -resolve connects to: an IP (brackets around a v6 one dropped) or a host name,
 * or undefined when `text` is neither. */
export function resolveTarget(text: string): string | undefined {
  const bare = /^\[(.*)\]$/.exec(text)?.[1] ?? text;
  if (isIP(bare) !== 0) return bare;
  return bare === text && isHostName(text) ? text : undefined;
}
