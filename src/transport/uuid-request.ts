/** `{uuid}` in the URL or the body, a fresh UUID v4 in every request. Fortio's fast client does
 * it this way (fhttp/http_client.go NewFastClient and StreamFetch): each placeholder becomes a
 * marker of a UUID's length before the request is serialised, and each send replaces the markers
 * in a copy of the request bytes. Lengths stay fixed, so Content-Length is right once for all. */
import { randomUUID } from 'node:crypto';
import type { RequestTemplate } from './transport';

const TOKEN = '{uuid}';
/** WHATWG URLs percent-encode braces in the path: `/{uuid}` is `/%7Buuid%7D` in `pathname`. */
const TOKEN_IN_URL = /\{uuid\}|%7Buuid%7D/gi;
const UUID_LENGTH = 36;

/** The template with every placeholder replaced by `marker` (36 characters), or undefined when
 * it has none: then the request is the same bytes every time. Headers are left alone, as in
 * Fortio (only the URL and the payload are searched). */
export function markUuids(template: RequestTemplate, marker: string): RequestTemplate | undefined {
  const { url, body } = template;
  const inUrl = TOKEN_IN_URL.test(url.pathname + url.search);
  TOKEN_IN_URL.lastIndex = 0;
  const inBody = body.includes(TOKEN);
  if (!inUrl && !inBody) return undefined;
  let markedUrl = url;
  if (inUrl) {
    markedUrl = new URL(url.href);
    markedUrl.pathname = url.pathname.replace(TOKEN_IN_URL, marker);
    markedUrl.search = url.search.replace(TOKEN_IN_URL, marker);
  }
  return { ...template, url: markedUrl, body: inBody ? replaceAll(body, Buffer.from(TOKEN), Buffer.from(marker, 'latin1')) : body };
}

/** Where `marker` sits in the serialised request. */
export function markerOffsets(request: Buffer, marker: string): number[] {
  const offsets: number[] = [];
  for (let at = request.indexOf(marker, 0, 'latin1'); at >= 0; at = request.indexOf(marker, at + UUID_LENGTH, 'latin1')) offsets.push(at);
  return offsets;
}

/** A copy of `request` with a fresh UUID at each offset: one Buffer and one UUID per placeholder. */
export function withFreshUuids(request: Buffer, offsets: readonly number[]): Buffer {
  const copy = Buffer.allocUnsafe(request.length);
  request.copy(copy);
  for (const offset of offsets) copy.write(randomUUID(), offset, UUID_LENGTH, 'latin1');
  return copy;
}

/** `text` with a fresh UUID in place of each `marker` (HTTP/2's :path). */
export function uuidsInText(text: string, marker: string): string {
  const parts = text.split(marker);
  let out = parts[0] ?? '';
  for (let i = 1; i < parts.length; i++) out += randomUUID() + (parts[i] ?? '');
  return out;
}

/** A new marker: a random UUID, which nothing else in a request can contain by chance. */
export function newUuidMarker(): string {
  return randomUUID();
}

function replaceAll(bytes: Buffer, from: Buffer, to: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, start)) {
    parts.push(bytes.subarray(start, at), to);
    start = at + from.length;
  }
  parts.push(bytes.subarray(start));
  return Buffer.concat(parts);
}
