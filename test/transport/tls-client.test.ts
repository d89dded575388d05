/** Client certificates, custom CAs and SNI on both transports, against servers that demand a
 * client certificate: node:https, node:http2 and a real `openssl s_server`. */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import { createFastH2Transport } from '../../src/transport/h2-fast-transport';
import { createH2Transport } from '../../src/transport/h2-transport';
import { createHttp1Transport } from '../../src/transport/http1-transport';
import type { RequestTemplate, Transport } from '../../src/transport/transport';
import type { TlsClientOptions } from '../../src/model/load-plan';
import { makeMtlsFiles, startOpensslServer, type MtlsFiles } from '../helpers/self-signed-cert';
import { send, template } from '../helpers/transport-harness';

let files: MtlsFiles;
let pem: { ca: string; otherCa: string; cert: string; key: string };
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  files = makeMtlsFiles();
  const read = (file: string): string => readFileSync(file, 'utf8');
  pem = { ca: read(files.ca), otherCa: read(files.otherCa), cert: read(files.clientCert), key: read(files.clientKey) };
});

afterAll(() => files.remove());

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What the server saw of each handshake that reached a request. */
interface Seen {
  servername: string | false | null | undefined;
  clientCn: string | undefined;
}

/** h2: node:http2 (kept until it is dropped); h2-wire: meshload's own framing, what -h2 uses. */
type Protocol = 'http1' | 'h2' | 'h2-wire';

async function mtlsServer(protocol: Protocol): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const options = {
    key: readFileSync(files.serverKey),
    cert: readFileSync(files.serverCert),
    ca: readFileSync(files.ca),
    requestCert: true,
    rejectUnauthorized: true,
  };
  const onRequest = (socket: tls.TLSSocket, end: () => void): void => {
    const peer = socket.getPeerCertificate();
    seen.push({ servername: socket.servername, clientCn: typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined });
    end();
  };
  const server =
    protocol !== 'http1'
      ? http2.createSecureServer(options, (req, res) => onRequest(req.socket as tls.TLSSocket, () => res.end('ok')))
      : https.createServer(options, (req, res) => onRequest(req.socket as tls.TLSSocket, () => res.end('ok')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}/`, seen };
}

function transport(protocol: Protocol, url: string, tlsOptions: TlsClientOptions | undefined, overrides: Partial<RequestTemplate> = {}): Transport {
  const base = template(url, { ...(tlsOptions !== undefined ? { tls: tlsOptions } : {}), ...overrides });
  const created = protocol === 'h2' ? createH2Transport(base) : protocol === 'h2-wire' ? createFastH2Transport(base) : createHttp1Transport(base);
  cleanups.push(() => created.close());
  return created;
}

describe.each<Protocol>(['http1', 'h2', 'h2-wire'])('TLS client options over %s', (protocol) => {
  it('presents -cert/-key to a server that demands one, verified with -cacert', async () => {
    const server = await mtlsServer(protocol);
    const outcome = await send(transport(protocol, server.url, { cert: pem.cert, key: pem.key, ca: pem.ca }).newConnection());
    expect(outcome.status).toBe(200);
    expect(server.seen).toEqual([{ servername: false, clientCn: 'client' }]);
  });

  it('without a client certificate the server refuses: a counted socket error', async () => {
    const server = await mtlsServer(protocol);
    const outcome = await send(transport(protocol, server.url, { ca: pem.ca }).newConnection());
    expect(outcome.status).toBe(-1);
    expect(server.seen).toEqual([]);
  });

  it('a -cacert that did not sign the server certificate fails verification (kind tls)', async () => {
    const server = await mtlsServer(protocol);
    const outcome = await send(transport(protocol, server.url, { cert: pem.cert, key: pem.key, ca: pem.otherCa }).newConnection());
    expect(outcome.status).toBe(-1);
    expect(outcome.errorKind).toBe('tls');
    expect(server.seen).toEqual([]);
  });

  it('-k skips that verification but still presents the client certificate', async () => {
    const server = await mtlsServer(protocol);
    const outcome = await send(transport(protocol, server.url, { cert: pem.cert, key: pem.key, ca: pem.otherCa }, { insecure: true }).newConnection());
    expect(outcome.status).toBe(200);
    expect(server.seen[0]?.clientCn).toBe('client');
  });

  it('sends the servername as SNI and checks the certificate against it', async () => {
    const server = await mtlsServer(protocol);
    const outcome = await send(transport(protocol, server.url, { cert: pem.cert, key: pem.key, ca: pem.ca, servername: 'server.test' }).newConnection());
    expect(outcome.status).toBe(200);
    expect(server.seen[0]?.servername).toBe('server.test');
    // A name the certificate does not hold fails verification.
    const wrong = await send(transport(protocol, server.url, { cert: pem.cert, key: pem.key, ca: pem.ca, servername: 'other.test' }).newConnection());
    expect(wrong.status).toBe(-1);
    expect(wrong.errorKind).toBe('tls');
  });
});

describe('TLS client options against openssl s_server -Verify 1', () => {
  it('gets 200 with the client certificate and fails without it', async () => {
    const server = await startOpensslServer(files);
    cleanups.push(() => server.stop());
    const url = `https://127.0.0.1:${server.port}/`;
    const ok = await send(transport('http1', url, { cert: pem.cert, key: pem.key, ca: pem.ca }, { keepAlive: false }).newConnection());
    expect(ok.status).toBe(200);
    const refused = await send(transport('http1', url, { ca: pem.ca }, { keepAlive: false }).newConnection());
    expect(refused.status).toBe(-1);
  });
});
