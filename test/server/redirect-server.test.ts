/** -redirect-port: every request gets Fortio's 303 to https:// + Host + the request target. */
import http from 'node:http';
import { redirectLocation, startRedirectServer, type RunningRedirectServer } from '../../src/server/redirect-server';

let server: RunningRedirectServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Reply {
  status: number;
  location: string | undefined;
  body: string;
}

function request(port: number, method: string, path: string, host?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, timeout: 5_000, ...(host !== undefined ? { headers: { host } } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(method === 'POST' ? 'a body' : undefined);
  });
}

describe('https redirect server', () => {
  it.each(['GET', 'POST', 'HEAD', 'DELETE'])('answers %s with 303 to https://Host + path and query', async (method) => {
    server = await startRedirectServer({ host: '127.0.0.1', port: 0 });
    const reply = await request(server.address.port, method, '/a/b?c=d&e', 'example.test:8080');
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('https://example.test:8080/a/b?c=d&e');
    expect(reply.body).toBe(method === 'HEAD' ? '' : '<a href="https://example.test:8080/a/b?c=d&amp;e">See Other</a>.\n\n');
  });

  it('uses the Host the client sent (the default one is host:port)', async () => {
    server = await startRedirectServer({ host: '127.0.0.1', port: 0 });
    const reply = await request(server.address.port, 'GET', '/');
    expect(reply.location).toBe(`https://127.0.0.1:${server.address.port}/`);
  });

  it('refuses a Host that would aim the redirect elsewhere, with 400', async () => {
    server = await startRedirectServer({ host: '127.0.0.1', port: 0 });
    const reply = await request(server.address.port, 'GET', '/x', 'evil.test/@good.test');
    expect(reply.status).toBe(400);
    expect(reply.location).toBeUndefined();
  });

  it.each([
    ['h:1', '/p', 'https://h:1/p'],
    ['[::1]:8443', '/', 'https://[::1]:8443/'],
    ['h', 'http://other/abs', 'https://h/'],
    [undefined, '/p', undefined],
    ['a b', '/p', undefined],
  ])('Location for Host %p and target %p is %p', (host, target, location) => {
    expect(redirectLocation(host, target)).toBe(location);
  });
});
