/** Outcomes shared by the transports: socket errors as code -1 with their kind. */
import type { ErrorKind, Outcome } from '../model/outcome';

const TLS_CERT_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_REJECTED',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
]);

/** Maps a Node socket, DNS or TLS error to the kind counted under -1. */
export function errorKindOf(error: NodeJS.ErrnoException): ErrorKind {
  const code = error.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return 'dns';
    case 'ETIMEDOUT':
      return 'timeout';
  }
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || TLS_CERT_CODES.has(code)) return 'tls';
  return 'other';
}

/** Longest error message kept: samples of it go into results and one-line outputs. */
export const MAX_ERROR_MESSAGE = 200;

/** A socket-level failure: code -1 with its kind. */
export function failure(kind: ErrorKind, message: string): Outcome {
  return {
    status: -1,
    errorKind: kind,
    errorMessage: oneLine(message),
    headerBytes: 0,
    bodyBytes: 0,
    viaEnvoy: false,
    envoyOverloaded: false,
    bodyPrefix: undefined,
    version: undefined,
    attempt: 0,
    clamped: false,
  };
}

/** A message as one bounded line: control bytes (C0, DEL, C1) escaped as \xNN, cut at
 * MAX_ERROR_MESSAGE characters. Messages can quote a hostile peer or a hostile host name. */
export function oneLine(message: string): string {
  // eslint-disable-next-line no-control-regex
  const escaped = /[\x00-\x1f\x7f-\x9f]/.test(message) ? message.replace(/[\x00-\x1f\x7f-\x9f]/g, escapeControl) : message;
  return escaped.length <= MAX_ERROR_MESSAGE ? escaped : `${escaped.slice(0, MAX_ERROR_MESSAGE - 3)}...`;
}

function escapeControl(c: string): string {
  const code = c.charCodeAt(0);
  return `\\x${code < 16 ? '0' : ''}${code.toString(16)}`;
}

/** The contract's misuse cases, answered as outcomes (asynchronously, never thrown): a second
 * send while one is in flight, or a send after close. Returns true when it answered. */
export function refusedSend(busy: boolean, closed: boolean, done: (outcome: Outcome) => void): boolean {
  if (!busy && !closed) return false;
  process.nextTick(done, failure('other', busy ? 'send while a request is in flight on this connection' : 'connection closed'));
  return true;
}
