/** -access-log-file: one line per timed call in Fortio's formats (periodic/periodic.go
 * fileAccessLogger.Report). Writes go through a stream so the load loop never waits for the
 * disk; a disk slower than the calls fills at most MAX_BUFFERED_BYTES, after which lines are
 * dropped and counted, and a failed write is reported with the lines it lost. */
import { closeSync, constants, createWriteStream, fstatSync, openSync, type WriteStream } from 'node:fs';
import { isOk, type Outcome } from '../model/outcome';
import type { CallObserver } from './run-options';

export const ACCESS_LOG_FORMATS = ['json', 'influx'] as const;
export type AccessLogFormat = (typeof ACCESS_LOG_FORMATS)[number];

/** Lines waiting for the disk beyond this are dropped: a few seconds of a fast run's lines. */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** How long closing waits for buffered lines to reach the disk before giving up on them. */
export const CLOSE_TIMEOUT_MS = 10_000;

/** Fortio's -access-log-format: json or influx, any case (NewFileAccessLogger); undefined else. */
export function parseAccessLogFormat(text: string): AccessLogFormat | undefined {
  return ACCESS_LOG_FORMATS.find((f) => f === text.toLowerCase());
}

export interface AccessLogSummary {
  /** Lines the disk took. */
  written: number;
  /** Lines not written because the disk was behind by MAX_BUFFERED_BYTES. */
  dropped: number;
  /** Lines that never reached the file because of `error`: handed to the stream and failed, or
   * not handed to it once it had failed (or a close that timed out). */
  lost: number;
  /** The write error, if one happened. */
  error: string | undefined;
}

export class AccessLog implements CallObserver {
  /** periodic.go fileAccessLogger.info: "mode json to PATH". */
  readonly info: string;
  private readonly stream: WriteStream;
  private accepted = 0;
  private written = 0;
  private dropped = 0;
  private afterError = 0;
  private error: string | undefined;
  /** One callback for every write: a line costs no closure. */
  private readonly onWritten: (error?: Error | null) => void;

  /** Opens `path` to append, as Fortio (O_APPEND|O_CREATE|O_WRONLY, 0644), before the run, so a
   * bad path fails first. Non-blocking: a FIFO nobody reads fails here instead of hanging. */
  constructor(
    readonly path: string,
    readonly format: AccessLogFormat,
    /** Bytes waiting for the disk beyond which lines are dropped. */
    private readonly maxBufferedBytes: number = MAX_BUFFERED_BYTES,
  ) {
    const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o644);
    try {
      if (fstatSync(fd).isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), { code: 'EISDIR' });
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.stream = createWriteStream('', { fd, autoClose: true });
    this.info = `mode ${format} to ${path}`;
    this.onWritten = (error) => {
      if (error === undefined || error === null) this.written++;
    };
    this.stream.on('error', (error: Error) => {
      this.error ??= error.message;
    });
  }

  observe(outcome: Outcome, thread: number, iter: number, sentMs: number, endMs: number): void {
    if (iter < 0) return; // Fortio logs from its run loop only: no warm-up calls
    if (this.error !== undefined) {
      this.afterError++;
      return;
    }
    if (this.stream.writableLength >= this.maxBufferedBytes) {
      this.dropped++;
      return;
    }
    this.accepted++;
    this.stream.write(accessLogLine(this.format, outcome.status, thread, iter, performance.timeOrigin + sentMs, endMs - sentMs), this.onWritten);
  }

  /** Flushes and closes, waiting at most CLOSE_TIMEOUT_MS; never throws. */
  close(timeoutMs = CLOSE_TIMEOUT_MS): Promise<AccessLogSummary> {
    return new Promise<AccessLogSummary>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve({ written: this.written, dropped: this.dropped, lost: this.accepted - this.written + this.afterError, error: this.error });
      };
      const timer = setTimeout(() => {
        this.error ??= `the disk took more than ${timeoutMs / 1000}s to take the last lines`;
        this.stream.destroy();
        done();
      }, timeoutMs);
      // A write error has destroyed the stream already: its close may be past.
      if (this.stream.closed) return done();
      this.stream.once('close', done);
      this.stream.end();
    });
  }
}

/** One line (periodic.go:753-758). Latency in seconds (%f) from the actual send, the send time
 * in Unix nanoseconds (here to the microsecond), ok as codeIsOK, details the status code. */
export function accessLogLine(format: AccessLogFormat, status: number, thread: number, iter: number, sentEpochMs: number, latencyMs: number): string {
  const latency = (latencyMs / 1000).toFixed(6);
  // Microseconds since the epoch fit a double exactly; nanoseconds would not.
  const timestamp = `${Math.round(sentEpochMs * 1000)}000`;
  const ok = isOk(status) ? 'true' : 'false';
  if (format === 'influx') return `latency,thread=${thread},ok=${ok} value=${latency},details="${status}" ${timestamp}\n`;
  return `{"latency":${latency},"timestamp":${timestamp},"thread":${thread},"iter":${iter},"ok":${ok},"details":"${status}"}\n`;
}
