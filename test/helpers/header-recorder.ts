/** meshload's echo server behind a recording hop: every request's headers are kept (to prove
 * what reached the server), then the request goes on to the echo server unchanged. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEchoServer, type RunningEchoServer } from '../../src/server/echo-server';

export interface HeaderRecorder {
  url: string;
  /** The headers of every request received, in order (names lower case, as Node gives them). */
  received: http.IncomingHttpHeaders[];
  /** Every value received for this header name, across requests. */
  valuesOf(name: string): string[];
  close(): Promise<void>;
}

export async function startHeaderRecorder(): Promise<HeaderRecorder> {
  const echo: RunningEchoServer = await startEchoServer({ echo: { host: '127.0.0.1', port: 0 }, admin: null, maxDelayMs: 1000, maxPayloadBytes: 64 * 1024 });
  const agent = new http.Agent({ keepAlive: true });
  const received: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    received.push(req.headers);
    const upstream = http.request({ host: '127.0.0.1', port: echo.echoPort, path: req.url, method: req.method, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    valuesOf: (name) => received.flatMap((h) => {
      const value = h[name.toLowerCase()];
      return value === undefined ? [] : Array.isArray(value) ? value : [value];
    }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
      await echo.close();
    },
  };
}
