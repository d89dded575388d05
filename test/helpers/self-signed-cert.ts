/** A throwaway self-signed certificate for 127.0.0.1 made by the openssl CLI (the same recipe
 * as the HTTP/1.1 transport tests), for TLS servers in tests. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** openssl is on PATH (TLS tests skip without it). */
export const haveOpenssl = spawnSync('sh', ['-c', 'command -v openssl']).status === 0;

export interface SelfSignedCert {
  key: Buffer;
  cert: Buffer;
}

/** An EC P-256 key and a one-day certificate with CN and subjectAltName IP 127.0.0.1. */
export function makeSelfSignedCert(): SelfSignedCert {
  const dir = mkdtempSync(join(tmpdir(), 'meshload-tls-'));
  try {
    const made = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** PEM files for mutual TLS: a CA, a server certificate for 127.0.0.1 and `server.test`, and a
 * client certificate, both signed by the CA; plus an unrelated CA (to fail verification). */
export interface MtlsFiles {
  dir: string;
  ca: string;
  otherCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Removes the directory. */
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  const made = spawnSync('openssl', args, { encoding: 'utf8', cwd });
  if (made.status !== 0) throw new Error(`openssl ${args[0] ?? ''} failed (install openssl): ${made.stderr}`);
}

export function makeMtlsFiles(): MtlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'meshload-mtls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) openssl(['req', '-x509', ...ec, '-days', '1', '-subj', `/CN=meshload test ${ca}`, '-keyout', `${ca}-key.pem`, '-out', `${ca}.pem`], dir);
  const leaf = (name: string, san: string, usage: string): void => {
    openssl(['req', ...ec, '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
  };
  leaf('server', 'IP:127.0.0.1,DNS:server.test', 'serverAuth');
  leaf('client', 'DNS:client.test', 'clientAuth');
  const at = (file: string): string => join(dir, file);
  return {
    dir,
    ca: at('ca.pem'),
    otherCa: at('other-ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server-key.pem'),
    clientCert: at('client.pem'),
    clientKey: at('client-key.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface OpensslServer {
  port: number;
  stop(): Promise<void>;
}

/** `openssl s_server -www` on 127.0.0.1 that DEMANDS a client certificate signed by `files.ca`;
 * the port is the one it reports (ACCEPT 127.0.0.1:PORT). Fails within 10 s if it never listens. */
export async function startOpensslServer(files: MtlsFiles): Promise<OpensslServer> {
  const child = spawn(
    'openssl',
    ['s_server', '-accept', '127.0.0.1:0', '-Verify', '1', '-CAfile', files.ca, '-cert', files.serverCert, '-key', files.serverKey, '-www'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  let seen = '';
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`openssl s_server did not listen within 10 s: ${seen}`)), 10_000);
      const onData = (chunk: Buffer): void => {
        seen = (seen + chunk.toString('latin1')).slice(-4096);
        const match = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(seen);
        if (match !== null) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`cannot run openssl (install openssl): ${error.message}`));
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`openssl s_server exited: ${seen}`));
      });
    });
    return { port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
