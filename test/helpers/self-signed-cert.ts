/** A throwaway self-signed certificate for 127.0.0.1 made by the openssl CLI (the same recipe
 * as the HTTP/1.1 transport tests), for TLS servers in tests. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
