/** Errors meshload reports to users. `code` is stable (tests and scripts match on it); the
 * message is one line naming the problem, the hint names the fix. */

export type ErrorCode =
  | 'E_USAGE' // bad command line: unknown command or flag, bad flag value
  | 'E_LISTEN' // could not bind a port
  | 'E_OUTPUT' // could not write a result file
  | 'E_STATS' // proxy stats could not be read or parsed
  | 'E_INTERNAL';

export class MeshloadError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'MeshloadError';
  }

  /** The single line printed to stderr. */
  oneLine(): string {
    return this.hint === undefined ? this.message : `${this.message} (${this.hint})`;
  }
}

export function usageError(message: string, hint?: string): MeshloadError {
  return new MeshloadError('E_USAGE', message, hint);
}
