/** Reads -cert, -key and -cacert for the echo port, failing with one usage line when a file is
 * unreadable, too large or not PEM that Node's TLS accepts. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { MeshloadError, usageError } from '../util/errors';

export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** A certificate chain or key is a few KiB; a CA bundle a few hundred. */
const MAX_PEM_BYTES = 1024 * 1024;

function readPem(path: string, flag: string): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (!fstatSync(fd).isFile()) throw usageError(`-${flag} '${path}' is not a regular file`, 'give a PEM file');
    const buffer = Buffer.alloc(MAX_PEM_BYTES + 1);
    let length = 0;
    for (let n = 1; n > 0 && length <= MAX_PEM_BYTES; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_PEM_BYTES) throw usageError(`-${flag} '${path}' is larger than 1 MiB`, 'give a PEM file');
    const pem = buffer.subarray(0, length);
    if (!pem.includes('-----BEGIN ')) throw usageError(`-${flag} '${path}' is not PEM`, 'give a PEM file (-----BEGIN ...)');
    return pem;
  } catch (error) {
    // Duck-typed: fs errors may come from another realm (jest's vm), where instanceof Error fails.
    if (!(error instanceof MeshloadError) && typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
      throw usageError(`-${flag} '${path}' cannot be read: ${error.code}`, 'check the path and its permissions');
    }
    throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function readServerTls(certPath: string, keyPath: string, caPath?: string): ServerTls {
  const tls: ServerTls = { cert: readPem(certPath, 'cert'), key: readPem(keyPath, 'key') };
  if (caPath !== undefined) tls.ca = readPem(caPath, 'cacert');
  try {
    createSecureContext(tls); // parses all three now, so a bad file fails at start, not per handshake
  } catch (error) {
    const message = typeof error === 'object' && error !== null && 'message' in error ? String(error.message) : 'invalid';
    const reason = message.split('\n')[0] ?? 'invalid';
    throw usageError(`-cert/-key/-cacert: ${reason}`, 'give a PEM certificate and its matching private key');
  }
  return tls;
}
