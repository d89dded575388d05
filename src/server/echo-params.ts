/** Turns an echo request's query string into an EchoPlan: what each request with that query
 * may do, before the per-request random draws. Pure; the server caches plans per query string
 * because a load test repeats the same one. */
import { formatDuration, parseDuration } from '../util/duration';
import { suggest } from '../util/suggest';
import { badHeaderName, badHeaderValue, printable, SINGLE_VALUE_HEADERS } from './echo-header';
import { EchoParamError, parsePercentFlag, parseWeightedList, type WeightedList } from './weighted-list';

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
  closePercent: number;
  gzipPercent: number;
  /** Flat [name, value, name, value...], ready for writeHead; every one checked sendable. */
  headers: string[];
  /** A `header=Content-Type:...` replaces the content type the server would send. */
  setsContentType: boolean;
}

export const EMPTY_PLAN: EchoPlan = Object.freeze({ query: '', closePercent: 0, gzipPercent: 0, headers: [], setsContentType: false }) as EchoPlan;

const KNOWN_PARAMS = new Set(['delay', 'status', 'size', 'close', 'header', 'gzip']);

/** Splits "a=1&b=2" into pairs, decoding like Go's url.ParseQuery (`+` is a space). */
export function parseQuery(query: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (query === '') return pairs;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq >= 0 ? part.slice(0, eq) : part;
    const rawValue = eq >= 0 ? part.slice(eq + 1) : '';
    pairs.push([decode(rawKey), decode(rawValue)]);
  }
  return pairs;
}

function decode(text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw new EchoParamError(text, 'bad percent-encoding in the query string');
  }
}

/** Throws EchoParamError naming the first bad parameter. On a request, unknown parameters are
 * ignored, as in Fortio, so cache-busting or tracing parameters do not break a run. `strict`
 * (server-wide defaults, /chaos) rejects them: there a typo would silently set no fault. */
export function parseEchoParams(query: string, limits: EchoLimits, strict = false): EchoPlan {
  const pairs = parseQuery(query.startsWith('?') ? query.slice(1) : query);
  const plan: EchoPlan = { query: '', closePercent: 0, gzipPercent: 0, headers: [], setsContentType: false };
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const [key, value] of pairs) {
    if (!KNOWN_PARAMS.has(key)) {
      if (!strict) continue;
      const close = suggest(key, [...KNOWN_PARAMS]);
      throw new EchoParamError(key, `unknown parameter${close === undefined ? '' : ` (did you mean ${close}?)`}; use ${[...KNOWN_PARAMS].join(', ')}`);
    }
    // Go's FormValue takes the first value; `header` is the one that repeats.
    if (key !== 'header' && seen.has(key)) continue;
    seen.add(key);
    kept.push(`${key}=${value}`);
    switch (key) {
      case 'delay':
        plan.delayMs = parseWeightedList(key, value, (t) => parseDelay(t, limits.maxDelayMs), '10ms:50,1s:5');
        break;
      case 'status':
        plan.status = parseWeightedList(key, value, parseStatus, '503:20,429:5');
        break;
      case 'size':
        plan.sizeBytes = parseWeightedList(key, value, (t) => parseSize(t, limits.maxPayloadBytes), '1024:50,65536:10');
        break;
      case 'close':
        plan.closePercent = parsePercentFlag(key, value);
        break;
      case 'gzip':
        plan.gzipPercent = parsePercentFlag(key, value);
        break;
      case 'header':
        addHeader(plan, value);
        break;
    }
  }
  plan.query = kept.join('&');
  return plan;
}

function parseDelay(text: string, maxMs: number): Clamped<number> | string {
  const ms = parseDuration(text);
  if (ms === undefined) return `'${text}' is not a duration like 250ms or 1.5s`;
  if (ms < 0) return `'${text}' is negative`;
  // The note becomes a header value: the text as sent may hold a tab, a line break or 'μs'.
  if (ms > maxMs) return { value: maxMs, clampNote: `delay=${printable(text.trim())}>${formatDuration(maxMs)}` };
  return { value: ms };
}

function parseStatus(text: string): number | string {
  if (!/^\d{3}$/.test(text)) return `'${text}' is not an HTTP status code`;
  const code = Number(text);
  // 1xx are interim responses, not something a handler can answer with.
  if (code < 200 || code > 599) return `${code} is not a final HTTP status (200-599)`;
  return code;
}

function parseSize(text: string, maxBytes: number): Clamped<number> | string {
  if (!/^\d+$/.test(text)) return `'${text}' is not a byte count`;
  const bytes = Number(text);
  if (bytes > maxBytes) return { value: maxBytes, clampNote: `size=${bytes}>${maxBytes}` };
  return { value: bytes };
}

function addHeader(plan: EchoPlan, text: string): void {
  if (text === '') return;
  const colon = text.indexOf(':');
  if (colon <= 0) throw new EchoParamError('header', `'${printable(text)}' must be Name:Value`);
  const name = text.slice(0, colon).trim();
  const value = text.slice(colon + 1).trim();
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
