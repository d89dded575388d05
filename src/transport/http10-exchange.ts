/** One HTTP/1.0 exchange on its own socket, for `curl -http1.0` (undici speaks HTTP/1.1 only).
 * The request is the load path's (serialiseRequest); the response head is bounded, the body
 * runs to Content-Length or to the close, as HTTP/1.0 delimits it (RFC 9112 6.3). */
import net from 'node:net';
import tls from 'node:tls';
import { serialiseRequest } from './http1-transport';
import { tlsBaseOptions, type RequestTemplate } from './transport';

/** A response head larger than this is no HTTP server's. */
export const MAX_HEAD_BYTES = 64 * 1024;

export interface Http10Response {
  statusCode: number;
  statusMessage: string;
  /** `HTTP/1.0` or `HTTP/1.1`, as the server wrote it. */
  version: string;
  /** Names and values in turn, as received. */
  rawHeaders: Buffer[];
  /** Lower-case names; repeats joined with ", " (set-cookie kept apart). */
  headers: Record<string, string | string[]>;
  body: AsyncIterable<Buffer>;
  /** Destroys the socket; safe to call more than once. */
  close(): void;
}

const STATUS_LINE = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/;

/** Sends `template` as HTTP/1.0 and resolves once the response head is in. Aborting `signal`
 * destroys the socket: the promise or the body iteration then rejects. */
export async function http10Exchange(template: RequestTemplate, signal: AbortSignal): Promise<Http10Response> {
  const { url } = template;
  const secure = url.protocol === 'https:';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const target = template.unixSocket !== undefined ? { path: template.unixSocket } : { host: template.resolve ?? hostname, port: url.port === '' ? (secure ? 443 : 80) : Number(url.port) };
  const socket: net.Socket = secure ? tls.connect({ ...tlsBaseOptions(hostname, template.insecure, template.tls), ...target, ALPNProtocols: ['http/1.1'] }) : net.connect(target);
  // The iterator below reports socket errors; this keeps a late one from being unhandled.
  socket.on('error', () => undefined);
  const close = (): void => {
    socket.destroy();
    signal.removeEventListener('abort', close);
  };
  if (signal.aborted) close();
  else signal.addEventListener('abort', close, { once: true });
  try {
    socket.write(serialiseRequest({ ...template, http10: true }));
    const chunks = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let pending = Buffer.alloc(0);
    let end = -1;
    while ((end = pending.indexOf('\r\n\r\n')) < 0) {
      if (pending.length > MAX_HEAD_BYTES) throw new Error(`response head over ${MAX_HEAD_BYTES} bytes`);
      const next = await chunks.next();
      if (next.done === true) throw new Error(pending.length === 0 ? 'connection closed before any response byte' : 'connection closed inside the response head');
      pending = Buffer.concat([pending, next.value]);
    }
    if (end > MAX_HEAD_BYTES) throw new Error(`response head over ${MAX_HEAD_BYTES} bytes`);
    const lines = pending.toString('latin1', 0, end).split('\r\n');
    const status = STATUS_LINE.exec(lines[0] ?? '');
    if (status === null) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
    const rawHeaders: Buffer[] = [];
    const headers: Record<string, string | string[]> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`malformed response header line: ${JSON.stringify(line.slice(0, 60))}`);
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      rawHeaders.push(Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1'));
      const lower = name.toLowerCase();
      const before = headers[lower];
      if (lower === 'set-cookie') headers[lower] = [...(Array.isArray(before) ? before : before === undefined ? [] : [before]), value];
      else headers[lower] = before === undefined ? value : `${String(before)}, ${value}`;
    }
    // RFC 9112 6.1: no Transfer-Encoding in an answer to an HTTP/1.0 request; its framing
    // would reach stdout as body bytes.
    if (headers['transfer-encoding'] !== undefined) throw new Error('Transfer-Encoding in an answer to an HTTP/1.0 request');
    const statusCode = Number(status[2]);
    const bodiless = template.method === 'HEAD' || statusCode === 204 || statusCode === 304 || (statusCode >= 100 && statusCode < 200);
    const lengthText = headers['content-length'];
    const declared = typeof lengthText === 'string' && /^\d+$/.test(lengthText) ? Number(lengthText) : undefined;
    return {
      statusCode,
      statusMessage: status[3] ?? '',
      version: status[1] ?? 'HTTP/1.0',
      rawHeaders,
      headers,
      body: readBody(chunks, pending.subarray(end + 4), bodiless ? 0 : declared, close),
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}

/** The body: `first`, then socket reads, up to `length` bytes or to the close without one. */
async function* readBody(chunks: AsyncIterator<Buffer>, first: Buffer, length: number | undefined, close: () => void): AsyncGenerator<Buffer> {
  try {
    let left = length ?? Infinity;
    if (first.length > 0 && left > 0) {
      const piece = first.subarray(0, Math.min(first.length, left));
      left -= piece.length;
      yield piece;
    }
    while (left > 0) {
      const next = await chunks.next();
      if (next.done === true) {
        if (length !== undefined) throw new Error(`connection closed after ${length - left} of ${length} body bytes`);
        return;
      }
      const piece = next.value.subarray(0, Math.min(next.value.length, left));
      left -= piece.length;
      yield piece;
    }
  } finally {
    close();
  }
}
