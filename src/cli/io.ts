/** What a command may touch of the outside world. The process wiring (bin/meshload.js) passes
 * the real streams and a signal aborted by SIGINT/SIGTERM; tests pass buffers and their own. */
export interface TextSink {
  /** Bytes only where the output is binary (`curl`'s body); everything else writes text. */
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  env: Record<string, string | undefined>;
  /** Aborted when the user asks the run to stop (first Ctrl-C or SIGTERM). */
  signal: AbortSignal;
  /** The second Ctrl-C or SIGTERM, for a command that can cut its cleanup short and still write
   * what it knows (`run`); for the others it exits at once. */
  hurry?: Hurry | undefined;
  /** The process's user id, where the platform has one (the UID 1337 check). */
  uid?: number | undefined;
}

export interface Hurry {
  /** Aborted by the second signal when `handled`. */
  signal: AbortSignal;
  /** Set by a command that honours `signal`; otherwise the second signal exits (130) at once. */
  handled: boolean;
}
