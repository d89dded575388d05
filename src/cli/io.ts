/** What a command may touch of the outside world. The process wiring (bin/meshload.js) passes
 * the real streams and a signal aborted by SIGINT/SIGTERM; tests pass buffers and their own. */
export interface TextSink {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  env: Record<string, string | undefined>;
  /** Aborted when the user asks the run to stop (first Ctrl-C or SIGTERM). */
  signal: AbortSignal;
  /** Aborted by a second Ctrl-C or SIGTERM: stop waiting for cleanup, write what is known. */
  hurry?: AbortSignal | undefined;
  /** The process's user id, where the platform has one (the UID 1337 check). */
  uid?: number | undefined;
}
