/** Where proxy stats come from: an admin or Prometheus URL, a command's stdout (`kubectl exec ...
 * pilot-agent request GET stats`, how users reach the admin port from outside the pod), or a
 * saved file. Each is streamed through the parser, so a large dump is never held whole; each read
 * is bounded in time (--stats-timeout, for the whole read) and in size (--stats-max-bytes), and
 * parsing gives the event loop back every few milliseconds, so a load run beside it never stalls. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { request } from 'undici';
import { MeshloadError } from '../util/errors';
import { redactUrl } from '../util/redact';
import { DEFAULT_STATS_MAX_BYTES, StatsParseError, type StatSample } from './stat-sample';
import type { StatsFormat } from '../model/sidecar-report';

export { DEFAULT_STATS_MAX_BYTES };
import { detectFormat, StatsParser } from './stats-parser';
import { formatBytes } from '../util/byte-size';

export type StatsSource = { kind: 'url'; url: string } | { kind: 'command'; command: string } | { kind: 'file'; path: string };


export interface ReadStatsOptions {
  /** Forces the format (--stats-format); detected from the content otherwise. */
  format?: StatsFormat | undefined;
  /** The whole read, from connecting or spawning to the last sample. */
  timeoutMs: number;
  /** Bytes read from the source at most (--stats-max-bytes); DEFAULT_STATS_MAX_BYTES if unset. */
  maxBytes?: number | undefined;
  /** Ends the read early (Ctrl-C). */
  signal?: AbortSignal | undefined;
}

/** Characters given to the parser at a time, and how long it may run before yielding. */
const SLICE_CHARS = 64 * 1024;
const YIELD_AFTER_MS = 5;

/** The source named by one of `stats` (URL), `statsCmd` or `statsFile`, as flags and scenario
 * files give it; the first one set wins (callers reject several); undefined for none. */
export function statsSourceOf(given: { stats?: string | undefined; statsCmd?: string | undefined; statsFile?: string | undefined }): StatsSource | undefined {
  if (given.stats !== undefined) return { kind: 'url', url: given.stats };
  if (given.statsCmd !== undefined) return { kind: 'command', command: given.statsCmd };
  if (given.statsFile !== undefined) return { kind: 'file', path: given.statsFile };
  return undefined;
}

/** The source as every output names it: credentials in a URL (or in a URL inside a command)
 * never appear. */
export function describeSource(source: StatsSource): string {
  if (source.kind === 'url') return redactUrl(source.url);
  if (source.kind === 'command') return `command '${redactUrlsIn(source.command)}'`;
  return source.path;
}

/** `scheme://user:pass@` anywhere in a text, as in `curl -s http://admin:pw@localhost:15000/stats`. */
function redactUrlsIn(text: string): string {
  return text.replace(/\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^\s/@]+@/g, '$1<redacted>@');
}

/** Streams one dump from the source into `onSample`. Failures are MeshloadErrors naming the
 * source and the fix. */
export async function readStats(
  source: StatsSource,
  options: ReadStatsOptions,
  onSample: (sample: StatSample) => void,
): Promise<{ format: StatsFormat; lines: number }> {
  const read = new BoundedRead(source, options);
  try {
    const opened = await read.open();
    let parser: StatsParser | undefined;
    let format: StatsFormat | undefined = options.format;
    let head = '';
    for await (const raw of opened.stream as AsyncIterable<Buffer | string>) {
      const chunk = read.decode(raw);
      if (parser === undefined) {
        head += chunk;
        if (format === undefined) {
          // A few KiB decide it; a tiny dump is decided at the end.
          if (head.length < 4096) continue;
          format = detectOrFail(head, source);
        }
        parser = new StatsParser(format, onSample);
        await read.feed(parser, head);
        head = '';
        continue;
      }
      await read.feed(parser, chunk);
    }
    const tail = read.decodeEnd();
    read.checkAborted();
    await opened.done();
    if (parser === undefined) {
      head += tail;
      if (head.trim() === '') throw statsError(`${describeSource(source)} returned no stats`, 'check that the proxy is up and the path is a stats endpoint');
      format ??= detectOrFail(head, source);
      parser = new StatsParser(format, onSample);
      await read.feed(parser, head);
    } else if (tail !== '') {
      await read.feed(parser, tail);
    }
    parser.end();
    return { format: format as StatsFormat, lines: parser.lines };
  } catch (error) {
    throw read.failure(error);
  } finally {
    read.close();
  }
}

/** The whole text of a small admin page (/clusters), from the same kinds of source, within the
 * same bounds. */
export async function readText(source: StatsSource, timeoutMs: number, maxBytes?: number): Promise<string> {
  const read = new BoundedRead(source, { timeoutMs, maxBytes });
  try {
    const opened = await read.open();
    const parts: string[] = [];
    for await (const raw of opened.stream as AsyncIterable<Buffer | string>) parts.push(read.decode(raw));
    parts.push(read.decodeEnd());
    read.checkAborted();
    await opened.done();
    return parts.join('');
  } catch (error) {
    throw read.failure(error);
  } finally {
    read.close();
  }
}

function detectOrFail(head: string, source: StatsSource): StatsFormat {
  const format = detectFormat(head);
  if (format === undefined) {
    throw statsError(`cannot tell the stats format of ${describeSource(source)}`, 'use --stats-format envoy-text, envoy-json or prometheus');
  }
  return format;
}

function statsError(message: string, hint: string): MeshloadError {
  return new MeshloadError('E_STATS', message, hint);
}

interface Opened {
  stream: Readable;
  /** Resolves when the source finished cleanly; rejects with why it did not. */
  done(): Promise<void>;
}

/** One read of a source under a total deadline and a byte cap. Whatever ends it (the last byte,
 * an error, the deadline, the cap), close() releases everything: the socket, the file, and
 * every process of a command's process group. */
class BoundedRead {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly maxBytes: number;
  private readonly decoder = new StringDecoder('utf8');
  private bytes = 0;
  private lastYield = performance.now();
  private why: 'timeout' | 'cap' | 'interrupted' | undefined;
  private child: ChildProcess | undefined;
  private stream: Readable | undefined;
  private readonly onOuterAbort = (): void => this.abort('interrupted');

  constructor(
    private readonly source: StatsSource,
    private readonly options: ReadStatsOptions,
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_STATS_MAX_BYTES;
    this.timer = setTimeout(() => this.abort('timeout'), options.timeoutMs);
    if (options.signal?.aborted === true) this.abort('interrupted');
    options.signal?.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  async open(): Promise<Opened> {
    this.checkAborted();
    const source = this.source;
    if (source.kind === 'file') {
      const stream = createReadStream(source.path);
      this.stream = stream;
      return { stream, done: async () => undefined };
    }
    if (source.kind === 'url') return this.openUrl(source.url);
    return this.openCommand(source.command);
  }

  /** Text of one raw chunk; counts its bytes against the cap. */
  decode(raw: Buffer | string): string {
    this.checkAborted();
    this.bytes += typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
    if (this.bytes > this.maxBytes) {
      this.abort('cap');
      this.checkAborted();
    }
    // undici's body does not always honour setEncoding, so chunks are decoded here;
    // StringDecoder keeps a UTF-8 character split across chunks whole.
    return typeof raw === 'string' ? raw : this.decoder.write(raw);
  }

  decodeEnd(): string {
    return this.decoder.end();
  }

  /** Gives the parser a chunk in slices, yielding to the event loop whenever it has had it for a
   * few milliseconds: one large chunk (a file, a fast local admin port) must not stall the load. */
  async feed(parser: StatsParser, chunk: string): Promise<void> {
    for (let at = 0; at < chunk.length; at += SLICE_CHARS) {
      parser.push(chunk.length <= SLICE_CHARS ? chunk : chunk.slice(at, at + SLICE_CHARS));
      if (performance.now() - this.lastYield >= YIELD_AFTER_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.lastYield = performance.now();
        this.checkAborted();
      }
    }
  }

  checkAborted(): void {
    if (this.why !== undefined) throw this.boundError();
  }

  /** The error to report for what went wrong. */
  failure(error: unknown): unknown {
    if (this.why !== undefined) return this.boundError();
    if (error instanceof StatsParseError) {
      return statsError(`${describeSource(this.source)}: ${error.message}`, 'check the source, or force the format with --stats-format');
    }
    if (error instanceof MeshloadError) return error;
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const message = error instanceof Error ? error.message : String(error);
    if (this.source.kind === 'file') return statsError(`cannot read stats file ${this.source.path}: ${message}`, 'check the path');
    if (this.source.kind === 'url') {
      return statsError(`stats endpoint ${describeSource(this.source)} failed while sending (${code ?? this.scrub(message)})`, 'check the proxy and the URL');
    }
    return statsError(`reading stats from ${describeSource(this.source)} failed: ${this.scrub(message)}`, 'run it by hand to see what it needs');
  }

  close(): void {
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener('abort', this.onOuterAbort);
    this.stream?.destroy();
    this.killGroup();
  }

  private abort(why: 'timeout' | 'cap' | 'interrupted'): void {
    if (this.why !== undefined) return;
    this.why = why;
    this.controller.abort();
    this.stream?.destroy();
    this.killGroup();
  }

  private boundError(): MeshloadError {
    const name = describeSource(this.source);
    switch (this.why) {
      case 'cap':
        return statsError(`${name} sent more than ${formatBytes(this.maxBytes)} of stats (--stats-max-bytes ${formatBytes(this.maxBytes).replace(' ', '')})`, 'raise --stats-max-bytes, or read a smaller page (/stats?filter=cluster.outbound)');
      case 'interrupted':
        return statsError(`reading stats from ${name} was interrupted`, 'run it again');
      default:
        return statsError(`reading stats from ${name} took longer than --stats-timeout ${this.options.timeoutMs} ms`, 'raise --stats-timeout, or check that the source ends its output');
    }
  }

  /** Error texts of URL libraries may quote the URL, credentials included. */
  private scrub(message: string): string {
    if (this.source.kind !== 'url') return redactUrlsIn(message);
    return redactUrlsIn(message.split(this.source.url).join(describeSource(this.source)));
  }

  private async openUrl(url: string): Promise<Opened> {
    const name = describeSource(this.source);
    let response;
    try {
      response = await request(url, { signal: this.controller.signal, headersTimeout: this.options.timeoutMs, bodyTimeout: this.options.timeoutMs });
    } catch (error) {
      this.checkAborted();
      const code = (error as NodeJS.ErrnoException).code;
      throw statsError(`stats endpoint ${name} is unreachable (${code ?? this.scrub((error as Error).message)})`, 'check the URL; from outside the pod use --stats-cmd with kubectl exec');
    }
    this.stream = response.body;
    if (response.statusCode !== 200) {
      // The first line of the body says why; the rest, however long, is not read.
      let first = '';
      for await (const raw of response.body as AsyncIterable<Buffer>) {
        first += this.decode(raw);
        if (first.length >= 200 || first.includes('\n')) break;
      }
      const line = first.split('\n')[0]?.slice(0, 200).trim() ?? '';
      throw statsError(`stats endpoint ${name} answered ${response.statusCode}${line !== '' ? `: ${line}` : ''}`, 'check the path: /stats, /stats?format=json or /stats/prometheus');
    }
    return { stream: response.body, done: async () => undefined };
  }

  /** The command runs in a process group of its own, so the deadline ends everything it started
   * (`kubectl exec` and its children, a `sleep &` that keeps the pipe open), not only `sh`. */
  private openCommand(command: string): Opened {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    if (child.pid !== undefined) LIVE_GROUPS.add(child.pid);
    watchExit();
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    const name = describeSource(this.source);
    const exited = new Promise<void>((resolve, reject) => {
      child.once('error', (error) => reject(statsError(`cannot run stats command ${name}: ${error.message}`, 'check the command')));
      child.once('close', (code, signal) => {
        if (code === 0) {
          resolve();
          return;
        }
        const last = stderr.trim().split('\n').pop() ?? '';
        reject(statsError(`stats ${name} exited with ${code ?? signal}${last !== '' ? `: ${redactUrlsIn(last.slice(0, 300))}` : ''}`, 'run it by hand to see what it needs'));
      });
    });
    exited.catch(() => undefined);
    this.stream = child.stdout;
    return { stream: child.stdout, done: () => exited };
  }

  private killGroup(): void {
    const pid = this.child?.pid;
    if (pid === undefined || !LIVE_GROUPS.has(pid)) return;
    LIVE_GROUPS.delete(pid);
    killGroup(pid);
  }
}

/** Process groups of stats commands still running: killed if meshload exits first, since a
 * detached group does not get the terminal's Ctrl-C. */
const LIVE_GROUPS = new Set<number>();
let exitWatched = false;

function watchExit(): void {
  if (exitWatched) return;
  exitWatched = true;
  process.once('exit', () => {
    for (const pid of LIVE_GROUPS) killGroup(pid);
  });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the whole group has already exited.
  }
}
