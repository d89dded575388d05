/** Fortio's -redirect-port (fhttp.RedirectToHTTPS): every request is answered 303 See Other to
 * "https://" + Host + the request target, as Fortio's RedirectToHTTPSHandler does. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../util/listen-address';
import { closeOnce, listenOn } from './listen-on';

const HEADERS_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Go's http.Redirect answers with 303 for this handler (StatusSeeOther). */
export const REDIRECT_STATUS = 303;

export interface RunningRedirectServer {
  address: AddressInfo;
  close(): Promise<void>;
}

/** The Location for a request, or undefined when Host is missing or not a plain host[:port]. */
export function redirectLocation(host: string | undefined, target: string | undefined): string | undefined {
  // A Host with '/', '@' or spaces would let a client aim the redirect elsewhere.
  if (host === undefined || !/^(?:[A-Za-z0-9.\-_]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host)) return undefined;
  const path = target !== undefined && target.startsWith('/') ? target : '/';
  return `https://${host}${path}`;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

/** As Go's http.Redirect escapes the link in its body. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

export async function startRedirectServer(listen: ListenAddress): Promise<RunningRedirectServer> {
  const server = http.createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: HEADERS_TIMEOUT_MS * 3, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, maxHeaderSize: 16 * 1024 },
    (req, res) => {
      req.on('error', () => undefined);
      res.on('error', () => undefined);
      req.resume(); // a body is not read, only drained (bounded by requestTimeout)
      const location = redirectLocation(req.headers.host, req.url);
      if (location === undefined) {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('missing or invalid Host\n');
        return;
      }
      res.writeHead(REDIRECT_STATUS, { location, 'content-type': 'text/html; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : `<a href="${escapeHtml(location)}">See Other</a>.\n\n`);
    },
  );
  server.on('clientError', (_error, socket) => socket.destroy());
  const address = await listenOn(server, listen, 'redirect', '-redirect-port');
  return {
    address,
    close: closeOnce(server, () => server.closeAllConnections()),
  };
}
