/** Turns an echo request's query string into an EchoPlan: what each request with that query
 * may do, before the per-request random draws. Pure; the server caches plans per query string
 * because a load test repeats the same one. */
import { parseGrpcStatus } from '../grpc/grpc-status';
import { formatDuration, parseDuration } from '../util/duration';
import { suggest } from '../util/suggest';
import { badHeaderName, badHeaderValue, canonicalHeaderKey, printable, SINGLE_VALUE_HEADERS } from './echo-header';
import { EchoParamError, goAtoi, parsePercentFlag, parseWeightedList, type WeightedList } from './weighted-list';

export interface EchoLimits {
  maxDelayMs: number;
  maxPayloadBytes: number;
}

export interface Clamped<T> {
  value: T;
  /** Set when the asked value was over the cap: "delay=5s>1.5s". */
  clampNote?: string;
}

export interface EchoPlan {
  /** The canonical query text (for GET /chaos). */
  query: string;
  delayMs?: WeightedList<Clamped<number>>;
  status?: WeightedList<number>;
  sizeBytes?: WeightedList<Clamped<number>>;
  /** The gRPC port's server-wide statuses (`grpc-status=14:20`, codes 0-16 or names); the HTTP
   * echo ignores them. Without it the gRPC port maps `status` (503 -> UNAVAILABLE). */
  grpcStatus?: WeightedList<number>;
  /** The gRPC port's server-wide delays (`grpc-delay=100ms:50`); without it, `delay` applies. */
  grpcDelayMs?: WeightedList<Clamped<number>>;
  closePercent: number;
  gzipPercent: number;
  /** Flat [name, value, name, value...], ready for writeHead; every one checked sendable. */
  headers: string[];
  /** A `header=Content-Type:...` replaces the content type the server would send. */
  setsContentType: boolean;
  /** Parameters Fortio would ignore, as sent ("delay=abc"), escaped and bounded: the server
   * answers as if they were absent and names them in x-meshload-ignored. */
  ignored: string[];
}

export const EMPTY_PLAN: EchoPlan = Object.freeze({ query: '', closePercent: 0, gzipPercent: 0, headers: [], setsContentType: false, ignored: [] }) as EchoPlan;

/** What a malformed status= becomes (fhttp/http_utils.go:264,277,282,288,295): the client's
 * error, not an injected fault. */
export const BAD_REQUEST: WeightedList<number> = Object.freeze({ values: [400], cumulative: [100] }) as WeightedList<number>;

const KNOWN_PARAMS = new Set(['delay', 'status', 'size', 'close', 'header', 'gzip', 'grpc-status', 'grpc-delay']);

/** Splits "a=1&b=2" into pairs, decoding like Go's url.ParseQuery (`+` is a space). With
 * `skipped`, a pair with broken percent-encoding or a ';' is left out and pushed there raw, as
 * ParseQuery drops it (Fortio's QueryArg ignores the error); without, it throws. */
export function parseQuery(query: string, skipped?: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (query === '') return pairs;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq >= 0 ? part.slice(0, eq) : part;
    const rawValue = eq >= 0 ? part.slice(eq + 1) : '';
    // Go 1.17+ url.ParseQuery drops a pair holding ';' ("invalid semicolon separator").
    if (part.includes(';')) {
      if (skipped === undefined) throw new EchoParamError(rawKey, `';' separates nothing in a query string (Go drops '${printable(part)}'); use '&'`);
      skipped.push(part);
      continue;
    }
    if (skipped === undefined) {
      pairs.push([decode(rawKey), decode(rawValue)]);
      continue;
    }
    try {
      pairs.push([decode(rawKey), decode(rawValue)]);
    } catch {
      skipped.push(part);
    }
  }
  return pairs;
}

/** Go's QueryUnescape works on bytes: `%C3%A9` is two bytes and `%FF` one, valid UTF-8 or not.
 * Returned as a byte string (one char per byte, Node's latin1), the form a header value is
 * written in; other values are read as UTF-8 by `utf8Of`. */
function decode(text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  // Text past one byte per char (a flag value, not a request line) is UTF-8 first.
  if ([...spaced].some((c) => c.charCodeAt(0) > 0xff)) return decode(Buffer.from(spaced, 'utf8').toString('latin1'));
  if (!spaced.includes('%')) return spaced;
  if (/%(?![0-9a-fA-F]{2})/.test(spaced)) throw new EchoParamError(text, 'bad percent-encoding in the query string');
  return spaced.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** A byte string from parseQuery read as UTF-8 text (bad sequences become U+FFFD). */
export function utf8Of(bytes: string): string {
  return /[\x80-\xff]/.test(bytes) ? Buffer.from(bytes, 'latin1').toString('utf8') : bytes;
}

/** One ignored value as reported in x-meshload-ignored: escaped, at most this many characters. */
const IGNORED_NOTE_MAX = 64;

/** On a request, values are read as Fortio's EchoHandler reads them (fortio/fortio
 * fhttp/http_utils.go): a malformed `delay`, `size` or `header` is ignored (Fortio logs a warning
 * and goes on) and listed in `plan.ignored`; a malformed `status` makes the status 400 and the
 * rest of the request is served (generateStatus returns http.StatusBadRequest, http_utils.go:264),
 * listed in `plan.ignored` too. An empty value is no value (QueryArg returns "" for both).
 * Unknown parameters are ignored silently, so cache-busting or tracing parameters do not break a
 * run. `strict` (server-wide defaults, /chaos) throws EchoParamError for anything wrong: there a
 * typo would silently set no fault. */
export function parseEchoParams(query: string, limits: EchoLimits, strict = false): EchoPlan {
  const skipped: string[] | undefined = strict ? undefined : [];
  const pairs = parseQuery(query.startsWith('?') ? query.slice(1) : query, skipped);
  const plan: EchoPlan = { query: '', closePercent: 0, gzipPercent: 0, headers: [], setsContentType: false, ignored: [] };
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const [rawKey, bytes] of pairs) {
    const key = utf8Of(rawKey);
    // header= values keep Go's bytes; every other value is text.
    const value = key === 'header' ? bytes : utf8Of(bytes);
    if (!KNOWN_PARAMS.has(key)) {
      if (!strict) continue;
      const close = suggest(key, [...KNOWN_PARAMS]);
      throw new EchoParamError(key, `unknown parameter${close === undefined ? '' : ` (did you mean ${close}?)`}; use ${[...KNOWN_PARAMS].join(', ')}`);
    }
    // Go's FormValue takes the first value; `header` is the one that repeats.
    if (key !== 'header' && seen.has(key)) continue;
    seen.add(key);
    // generateSize/generateDelay return "none" for "" and EchoHandler skips an empty header=
    // (http_utils.go:320,392; http_server.go:192); status= is 200 (http_server.go:116).
    if (value === '') continue;
    kept.push(`${key}=${value}`);
    try {
      applyParam(plan, key, value, limits, strict);
    } catch (error) {
      if (strict || !(error instanceof EchoParamError)) throw error;
      kept.pop();
      plan.ignored.push(ignoredNote(key, value));
      // Fortio answers a bad status with 400 (generateStatus); every other bad value it skips.
      if (key === 'status') plan.status = BAD_REQUEST;
    }
  }
  for (const part of skipped ?? []) {
    // Reported only for the server's own parameters: the metric's label stays one of KNOWN_PARAMS.
    const key = part.slice(0, Math.max(0, part.indexOf('=')));
    if (KNOWN_PARAMS.has(key)) plan.ignored.push(ignoredNote(key, part.slice(key.length + 1)));
    // A dropped status= is no status= in Go: the first kept one, if any, is used.
  }
  plan.query = kept.join('&');
  return plan;
}

function applyParam(plan: EchoPlan, key: string, value: string, limits: EchoLimits, strict: boolean): void {
  switch (key) {
    case 'delay':
      plan.delayMs = parseWeightedList(key, value, (t) => parseDelay(t, limits.maxDelayMs, strict), '10ms:50,1s:5');
      break;
    case 'status':
      plan.status = parseWeightedList(key, value, strict ? parseFinalStatus : parseStatus, '503:20,429:5');
      break;
    case 'size':
      plan.sizeBytes = parseWeightedList(key, value, (t) => parseSize(t, limits.maxPayloadBytes, strict), '1024:50,65536:10');
      break;
    case 'close':
      // Math.max: a header=Connection:close before it closes as well.
      plan.closePercent = Math.max(plan.closePercent, parsePercentFlag(key, value, strict));
      break;
    case 'gzip':
      plan.gzipPercent = parsePercentFlag(key, value, strict);
      break;
    case 'grpc-status':
      plan.grpcStatus = parseWeightedList(key, value, parseGrpcStatusValue, '14:20,4:5');
      break;
    case 'grpc-delay':
      plan.grpcDelayMs = parseWeightedList(key, value, (t) => parseDelay(t, limits.maxDelayMs, strict, 'grpc-delay'), '100ms:50');
      break;
    case 'header':
      addHeader(plan, value);
      break;
  }
}

function ignoredNote(key: string, value: string): string {
  const note = printable(`${key}=${value}`).replace(/,/g, '\\x2c');
  return note.length <= IGNORED_NOTE_MAX ? note : `${note.slice(0, IGNORED_NOTE_MAX - 3)}...`;
}

/** Go's time.Duration holds at most 2^63-1 ns; ParseDuration refuses more. */
const MAX_GO_DURATION_MS = 9223372036854.775;

/** Go's time.ParseDuration, as Fortio's generateDelay; a negative delay there means no delay. */
function parseDelay(text: string, maxMs: number, strict: boolean, param = 'delay'): Clamped<number> | string {
  // Go's ParseDuration takes no surrounding space (parseDuration would trim it), and "-0" / "+0".
  const ms = text !== text.trim() ? undefined : /^[+-]0$/.test(text) ? 0 : parseDuration(text);
  if (ms === undefined || Math.abs(ms) > MAX_GO_DURATION_MS) return `'${text}' is not a duration like 250ms or 1.5s`;
  if (ms < 0) return strict ? `'${text}' is negative` : { value: 0 };
  // The note becomes a header value: the text as sent may hold a tab, a line break or 'μs'.
  if (ms > maxMs) return { value: maxMs, clampNote: `${param}=${printable(text.trim())}>${formatDuration(maxMs)}` };
  return { value: ms };
}

/** Fortio's generateStatus takes any strconv.Atoi integer (fhttp/http_utils.go:261,279); what
 * Go's WriteHeader does with it (1xx interim, panic outside 100-999) is decided per response. */
function parseStatus(text: string): number | string {
  const code = goAtoi(text);
  return code === undefined ? `'${text}' is not an HTTP status code` : code;
}

/** Server-wide defaults take final codes only: there 150 or 1000 is a typo. */
function parseFinalStatus(text: string): number | string {
  const code = parseStatus(text);
  if (typeof code === 'string') return code;
  return code < 200 || code > 999 ? `${code} is not a final HTTP status (200-999)` : code;
}

/** A gRPC status as the per-call metadata takes it: a code 0-16 or a name (UNAVAILABLE, Unavailable). */
function parseGrpcStatusValue(text: string): number | string {
  const code = text === text.trim() && text !== '' ? parseGrpcStatus(text) : undefined;
  return code === undefined ? `'${text}' is not a gRPC status (0-16 or a name like UNAVAILABLE)` : code;
}

/** Fortio's generateSize: strconv.Atoi, then fnet.ValidatePayloadSize turns a negative size into 0
 * and caps the rest. */
function parseSize(text: string, maxBytes: number, strict: boolean): Clamped<number> | string {
  const bytes = goAtoi(text);
  if (bytes === undefined) return `'${text}' is not a byte count`;
  if (bytes < 0) return strict ? `'${text}' is negative` : { value: 0 };
  if (bytes > maxBytes) return { value: maxBytes, clampNote: `size=${bytes}>${maxBytes}` };
  return { value: bytes };
}

function addHeader(plan: EchoPlan, text: string): void {
  if (text === '') return;
  const colon = text.indexOf(':');
  if (colon <= 0) throw new EchoParamError('header', `'${printable(text)}' must be Name:Value`);
  // Header().Add canonicalizes the name, untrimmed (a name with a space is dropped when Go writes
  // it); the value is trimmed on the wire (fhttp/http_server.go:195-200, textproto.TrimString).
  const name = canonicalHeaderKey(text.slice(0, colon));
  const value = text.slice(colon + 1).trim();
  // Go closes the connection after a response whose handler set Connection: close (net/http
  // hasToken); the server's own close path does that here, on HTTP/1.1 and HTTP/2 alike.
  if (name === 'Connection' && /(^|,)[ \t]*close[ \t]*(,|$)/i.test(value)) {
    plan.closePercent = 100;
    return;
  }
  const why = badHeaderName(name) ?? badHeaderValue(name, value);
  if (why !== undefined) throw new EchoParamError('header', why);
  const lower = name.toLowerCase();
  if (SINGLE_VALUE_HEADERS.has(lower)) {
    for (let i = 0; i < plan.headers.length; i += 2) {
      if ((plan.headers[i] as string).toLowerCase() === lower) {
        throw new EchoParamError('header', `'${name}' is given twice; it takes one value (HTTP/2 sends it once)`);
      }
    }
  }
  if (lower === 'content-type') plan.setsContentType = true;
  plan.headers.push(name, value);
}
