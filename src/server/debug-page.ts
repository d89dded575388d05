/** The text of GET /debug: the request dumped as Fortio's DebugHandler prints it (fortio/fortio
 * fhttp/http_server.go), so the headers a sidecar added can be read as Fortio users read them.
 * Pure: the server collects the request's facts and the body's head and tail. */
import { canonicalHeaderKey, printable } from './echo-header';

export { canonicalHeaderKey };

/** Fortio's DebugSummary(data, 512): a body up to 515 bytes whole, a longer one as its length
 * and its first and last 256 bytes. */
export const DEBUG_BODY_SUMMARY = 512;
const HALF = DEBUG_BODY_SUMMARY / 2;

export interface DebugRequest {
  version: string;
  uptimeMs: number;
  hostname: string;
  /** Go's RemoteAddr: "127.0.0.1:5000", "[::1]:5000". */
  remoteAddr: string;
  /** Over TLS, fortio.org/log's TLSInfo: the cipher suite's IANA name and the client
   * certificate's subject, Go's pkix.Name form ("CN=client,O=Org"), when one was presented. */
  tls?: { cipher: string; clientSubject?: string };
  method: string;
  /** The request target as received (path and query). */
  url: string;
  /** Go's r.Proto: "HTTP/1.1", "HTTP/2.0". */
  proto: string;
  host: string;
  /** Names as received in any case; pseudo-headers and Host are left out by the caller. */
  headers: ReadonlyArray<readonly [string, string]>;
  body: BodySummary;
}

/** The first and last HALF bytes of a body and its length: bounded, whatever the body's size. */
export class BodySummary {
  length = 0;
  private readonly head = Buffer.alloc(DEBUG_BODY_SUMMARY + 3);
  private tail = Buffer.alloc(0);

  add(chunk: Buffer): void {
    if (this.length < this.head.length) chunk.copy(this.head, this.length, 0, Math.min(chunk.length, this.head.length - this.length));
    this.length += chunk.length;
    const joined = chunk.length >= HALF ? chunk : Buffer.concat([this.tail, chunk]);
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - HALF)));
  }

  /** Fortio's fnet.DebugSummary. */
  render(): string {
    if (this.length <= this.head.length) return goQuote(this.head.subarray(0, this.length));
    return `${this.length}: ${goQuote(this.head.subarray(0, HALF))}...${goQuote(this.tail)}`;
  }
}

/** log.TLSInfo (fortio/log http_logging.go): ` https <suite> "<subject>"`, or nothing. */
function tlsInfo(tls: DebugRequest['tls']): string {
  if (tls === undefined) return '';
  const subject = tls.clientSubject === undefined ? '' : ` "${goQuote(Buffer.from(tls.clientSubject))}"`;
  return ` https ${printable(tls.cipher)}${subject}`;
}

/** Go's pkix.Name.String() from Node's X509Certificate.subject ("C=US\nO=Org\nCN=client", in
 * certificate order): RDNs last first, joined by ','. */
export function goDistinguishedName(nodeSubject: string): string {
  return nodeSubject.split('\n').filter((rdn) => rdn !== '').reverse().join(',');
}

export function renderDebugPage(r: DebugRequest): string {
  const lines: string[] = [];
  // Fortio's first line names Fortio (Φορτίο); this one names meshload in the same shape.
  lines.push(`meshload version ${r.version} echo debug server up for ${goDuration(r.uptimeMs)} on ${printable(r.hostname)} - request from ${r.remoteAddr}${tlsInfo(r.tls)}`);
  lines.push('', `${printable(r.method)} ${printable(r.url)} ${r.proto}`, '', 'headers:', '');
  // Go's net/http moves Host out of the header map; DebugHandler prints it first.
  lines.push(`Host: ${printable(r.host)}`);
  const byName = new Map<string, string[]>();
  for (const [name, value] of r.headers) {
    const key = canonicalHeaderKey(name);
    const values = byName.get(key);
    if (values === undefined) byName.set(key, [value]);
    else values.push(value);
  }
  // sort.Strings over Go's canonical keys; repeated values joined by ',' in arrival order.
  for (const key of [...byName.keys()].sort()) {
    lines.push(`${printable(key)}: ${printable((byName.get(key) as string[]).join(','))}`);
  }
  lines.push('', 'body:', '', r.body.render(), '');
  return lines.join('\n');
}

/** Go's %q without the quotes (Fortio's EscapeBytes): printable UTF-8 kept, the rest escaped. */
export function goQuote(bytes: Buffer): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      out += asciiEscape(b);
      i++;
      continue;
    }
    const len = b >= 0xf0 && b < 0xf5 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
    const text = len === 0 || i + len > bytes.length ? '' : bytes.toString('utf8', i, i + len);
    // A valid sequence decodes to one code point and no replacement character.
    if (text.length > 0 && !text.includes('\ufffd') && [...text].length === 1 && /\P{C}/u.test(text)) {
      out += text;
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}

const NAMED: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 34: '\\"', 92: '\\\\' };

function asciiEscape(b: number): string {
  const named = NAMED[b];
  if (named !== undefined) return named;
  if (b < 0x20 || b === 0x7f) return `\\x${b.toString(16).padStart(2, '0')}`;
  return String.fromCharCode(b);
}

/** Go's time.Duration String() of the uptime rounded to a tenth of a second (Fortio's
 * RoundDuration): "0s", "100ms", "1.5s", "2m3.4s", "1h0m0s". */
export function goDuration(ms: number): string {
  const tenths = Math.round(ms / 100);
  if (tenths === 0) return '0s';
  if (tenths < 10) return `${tenths * 100}ms`;
  const hours = Math.floor(tenths / 36000);
  const minutes = Math.floor((tenths % 36000) / 600);
  const secTenths = tenths % 600;
  const seconds = secTenths % 10 === 0 ? String(secTenths / 10) : (secTenths / 10).toFixed(1);
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
