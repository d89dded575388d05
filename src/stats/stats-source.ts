/** Where proxy stats come from: an admin or Prometheus URL, a command's stdout (`kubectl exec ...
 * pilot-agent request GET stats`, how users reach the admin port from outside the pod), or a
 * saved file. Each is streamed through the parser, so a large dump is never held whole. */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { request } from 'undici';
import { MeshloadError } from '../util/errors';
import { StatsParseError, type StatSample, type StatsFormat } from './stat-sample';
import { detectFormat, StatsParser } from './stats-parser';

export type StatsSource = { kind: 'url'; url: string } | { kind: 'command'; command: string } | { kind: 'file'; path: string };

export interface ReadStatsOptions {
  /** Forces the format (--stats-format); detected from the content otherwise. */
  format?: StatsFormat | undefined;
  timeoutMs: number;
}

/** The source named by one of `stats` (URL), `statsCmd` or `statsFile`, as flags and scenario
 * files give it; the first one set wins (callers reject several); undefined for none. */
export function statsSourceOf(given: { stats?: string | undefined; statsCmd?: string | undefined; statsFile?: string | undefined }): StatsSource | undefined {
  if (given.stats !== undefined) return { kind: 'url', url: given.stats };
  if (given.statsCmd !== undefined) return { kind: 'command', command: given.statsCmd };
  if (given.statsFile !== undefined) return { kind: 'file', path: given.statsFile };
  return undefined;
}

export function describeSource(source: StatsSource): string {
  if (source.kind === 'url') return source.url;
  if (source.kind === 'command') return `command '${source.command}'`;
  return source.path;
}

/** Streams one dump from the source into `onSample`. Failures are MeshloadErrors naming the
 * source and the fix. */
export async function readStats(
  source: StatsSource,
  options: ReadStatsOptions,
  onSample: (sample: StatSample) => void,
): Promise<{ format: StatsFormat; lines: number }> {
  const opened = await open(source, options.timeoutMs);
  let parser: StatsParser | undefined;
  let format: StatsFormat | undefined = options.format;
  let head = '';
  // undici's body does not always honour setEncoding (a Buffer chunk was seen mid-run), so
  // chunks are decoded here; StringDecoder keeps a UTF-8 character split across chunks whole.
  const decoder = new StringDecoder('utf8');
  try {
    for await (const raw of opened.stream as AsyncIterable<string | Buffer>) {
      const chunk = typeof raw === 'string' ? raw : decoder.write(raw);
      if (parser === undefined) {
        head += chunk;
        if (format === undefined) {
          // A few KiB decide it; a tiny dump is decided at the end.
          if (head.length < 4096) continue;
          format = detectOrFail(head, source);
        }
        parser = new StatsParser(format, onSample);
        parser.push(head);
        continue;
      }
      parser.push(chunk);
    }
    const tail = decoder.end();
    if (tail !== '') {
      if (parser === undefined) head += tail;
      else parser.push(tail);
    }
    await opened.done();
    if (parser === undefined) {
      if (head.trim() === '') throw statsError(`${describeSource(source)} returned no stats`, 'check that the proxy is up and the path is a stats endpoint');
      format ??= detectOrFail(head, source);
      parser = new StatsParser(format, onSample);
      parser.push(head);
    }
    parser.end();
    return { format: format as StatsFormat, lines: parser.lines };
  } catch (error) {
    opened.abort();
    if (error instanceof StatsParseError) {
      throw statsError(`${describeSource(source)}: ${error.message}`, 'check the source, or force the format with --stats-format');
    }
    throw error;
  }
}

/** The whole text of a small admin page (/clusters), from the same kinds of source. */
export async function readText(source: StatsSource, timeoutMs: number): Promise<string> {
  const opened = await open(source, timeoutMs);
  let text = '';
  for await (const chunk of opened.stream as AsyncIterable<string>) text += chunk;
  await opened.done();
  return text;
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
  abort(): void;
}

async function open(source: StatsSource, timeoutMs: number): Promise<Opened> {
  if (source.kind === 'file') {
    const stream = createReadStream(source.path, { encoding: 'utf8' });
    const failed = new Promise<never>((_, reject) =>
      stream.once('error', (error) => reject(statsError(`cannot read stats file ${source.path}: ${error.message}`, 'check the path'))),
    );
    failed.catch(() => undefined);
    await Promise.race([new Promise<void>((resolve) => stream.once('readable', () => resolve())), failed]);
    return { stream, done: () => Promise.race([Promise.resolve(), failed]), abort: () => stream.destroy() };
  }
  if (source.kind === 'url') return openUrl(source.url, timeoutMs);
  return openCommand(source.command, timeoutMs);
}

async function openUrl(url: string, timeoutMs: number): Promise<Opened> {
  let response;
  try {
    response = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw statsError(`stats endpoint ${url} is unreachable (${code ?? (error as Error).message})`, 'check the URL; from outside the pod use --stats-cmd with kubectl exec');
  }
  if (response.statusCode !== 200) {
    const body = (await response.body.text()).split('\n')[0]?.slice(0, 200) ?? '';
    throw statsError(`stats endpoint ${url} answered ${response.statusCode}${body !== '' ? `: ${body}` : ''}`, 'check the path: /stats, /stats?format=json or /stats/prometheus');
  }
  return { stream: response.body, done: async () => undefined, abort: () => response.body.destroy() };
}

function openCommand(command: string, timeoutMs: number): Opened {
  const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8');
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (error) => reject(statsError(`cannot run stats command '${command}': ${error.message}`, 'check the command')));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else {
        const why = signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms` : `exited with ${code ?? signal}`;
        const last = stderr.trim().split('\n').pop() ?? '';
        reject(statsError(`stats command '${command}' ${why}${last !== '' ? `: ${last}` : ''}`, 'run it by hand to see what it needs'));
      }
    });
  });
  exited.catch(() => undefined);
  return { stream: child.stdout, done: () => exited, abort: () => child.kill('SIGKILL') };
}
