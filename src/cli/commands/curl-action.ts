/** `meshload curl`: one request whose every failure is one line and exit 1. `-timeout` bounds
 * the whole exchange (connect to last body byte), the body is capped (`--max-body`) and goes to
 * stdout byte for byte, as Buffers. */
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { oneLine } from '../../transport/outcome';
import { MAX_REDIRECTS, nextHop, REDIRECT_STATUSES, type Hop } from '../../transport/redirect-hop';
import { http10Exchange, type Http10Response } from '../../transport/http10-exchange';
import type { RequestTemplate } from '../../transport/transport';
import { connectOptions } from '../../transport/undici-connect';
import { parseByteSize } from '../../util/byte-size';
import { usageError } from '../../util/errors';
import { redactUrl } from '../../util/redact';
import { EXIT, type ExitCode } from '../exit-codes';
import type { CliIo } from '../io';
import { LOG_LEVELS, logsAt, parseLogLevel } from '../../util/log-level';
import { grpcOnlyLine, sayNoEffect } from '../fortio-flags';
import { grpcFlagsWithoutGrpc, isGrpcLoad, type GrpcFlags } from '../../grpc/grpc-load';
import { requestFromFlags, type RequestFlags, type RequestParts } from '../request-flags';
import { isOk } from '../../model/outcome';
import { screenFor } from '../../report/screen';
import { FortioLog, logForm, type LoggerFlags } from '../fortio-log';
import { hasFortioScheme, shownUrl } from '../../model/load-plan';

export const DEFAULT_MAX_BODY = '64MiB';

/** `10MiB`, `512KiB`, `1GB`, `1048576` (bytes) -> bytes; a usage error naming `flag` otherwise. */
export function parseMaxBody(text: string, flag: string): number {
  const bytes = parseByteSize(text);
  if (bytes === undefined) throw usageError(`${flag} '${text}' is not a size`, 'use bytes or a size like 512KiB, 10MiB, 1GiB');
  return bytes;
}

/** Why the exchange stopped early, when meshload stopped it. */
type Stop = 'timeout' | 'interrupted' | 'stdout' | undefined;

/** A stream that reports failed writes as 'error' events (process.stdout on a closed pipe). */
interface ErrorEmitter {
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

function emitsErrors(sink: object): sink is ErrorEmitter {
  return typeof (sink as { on?: unknown }).on === 'function';
}

class BodyCapReached extends Error {}

/** A redirect -L would not follow (too many, or a Location that is no http(s) URL). */
class RedirectRefused extends Error {}

/** What `curl` and `load -curl` share: the request flags, -max-body and the talk flags. */
export interface CurlCommandFlags extends RequestFlags, GrpcFlags, LoggerFlags {
  maxBody: string;
  quiet?: boolean;
  loglevel: string;
  fortioUnused: readonly string[];
  /** -log-errors (`load -curl`): the Warning for a non-OK code; true when absent (Fortio's default). */
  logErrors?: boolean;
}

/** What curl logs, as Fortio's curl (bincommon.FetchURL and its client) logs it. */
export interface CurlLog {
  log: FortioLog;
  logErrors: boolean;
  /** Fortio's fast client (no -L, no -stdclient): its "Non ok http code" comes as the status
   * line is read, with the status, before the headers are written; Go's client's after the body. */
  fastClient: boolean;
}

/** `meshload curl URL` and `meshload load -curl URL` (Fortio's `load -curl` is its curl). */
export async function curlCommand(urlText: string, flags: CurlCommandFlags, command: string, io: CliIo): Promise<ExitCode> {
  const level = parseLogLevel(flags.loglevel);
  if (level === undefined) throw usageError(`-loglevel '${flags.loglevel}' is not a log level`, `use one of ${LOG_LEVELS.join(', ')}`);
  // Fortio replaces each {uuid} in the URL and the payload with a fresh UUID per request
  // (fhttp/http_client.go NewFastClient); curl sends one request.
  const parsed = requestFromFlags(urlText.replace(/\{uuid\}/g, () => randomUUID()), flags, command);
  const parts = parsed.payload.includes('{uuid}') ? { ...parsed, payload: Buffer.from(parsed.payload.toString('latin1').replace(/\{uuid\}/g, () => randomUUID()), 'latin1') } : parsed;
  const quiet = flags.quiet === true || !logsAt(level, 'Info');
  sayNoEffect(flags.fortioUnused, command, quiet, (line) => io.stderr.write(line));
  if (!quiet) for (const name of grpcFlagsWithoutGrpc(flags)) io.stderr.write(`${grpcOnlyLine(name)}\n`);
  if (!quiet) for (const note of parts.notes) io.stderr.write(`meshload: ${note}\n`);
  if (isGrpcLoad(flags)) {
    const { grpcCurl } = await import('./curl-grpc-action');
    return grpcCurl(urlText, flags, command, io, quiet);
  }
  // fortio.org/cli: -quiet is -loglevel Error. `curl` on a terminal is a client tool
  // (SetDefaultsForClientTools: LogPrefix " ", text); `load -curl` keeps load's server-mode form.
  const logLevel = flags.quiet === true && !logsAt('Error', level) ? 'Error' : level;
  const form = logForm(flags, io.env, io.stderr.isTTY === true, command === 'curl');
  const log = new FortioLog({ level: logLevel, screen: screenFor(io.stderr, io.env), form, write: (text) => io.stderr.write(text) });
  const fastClient = !parts.followRedirects && !flags.fortioUnused.includes('stdclient');
  // fhttp.NewClient -> HTTPOptions.Init -> URLSchemeCheck, before the request.
  const typed = urlText.trimStart();
  if (!hasFortioScheme(typed)) log.logRun('Warning', `Assuming http:// on missing scheme for '${shownUrl({ url: parts.url.href, typedUrl: typed })}'`, []);
  return runCurl(parts, flags.maxBody, io, quiet, { log, logErrors: flags.logErrors ?? true, fastClient });
}

/** The status line and headers as they came off the wire: undici's response lower-cases
 * header names and drops the reason phrase, and Istio's tests grep `HTTP/1.1 200 OK`. */
interface WireHead {
  statusMessage?: string | undefined;
  rawHeaders?: Buffer[] | undefined;
  /** The server's HTTP version when meshload read the head itself (-http1.0). */
  version?: string | undefined;
}

/** What the curl loop needs of a response, from undici or from the HTTP/1.0 exchange. */
interface CurlResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer>;
  /** Reads a redirect's body away (undici) or drops its socket (HTTP/1.0). */
  discard(): Promise<void>;
}

function captureHead(head: WireHead): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) =>
    dispatch(
      options,
      new Proxy(handler, {
        get(target, property, receiver): unknown {
          const value: unknown = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          if (property !== 'onResponseStart') return value.bind(target);
          return (controller: { rawHeaders?: Buffer[] }, statusCode: number, headers: unknown, statusMessage?: string): unknown => {
            head.statusMessage = statusMessage;
            head.rawHeaders = controller.rawHeaders;
            return value.call(target, controller, statusCode, headers, statusMessage);
          };
        },
      }),
    );
}

export async function runCurl(parts: RequestParts, maxBodyText: string, io: CliIo, quiet = false, curlLog?: CurlLog): Promise<ExitCode> {
  const maxBody = parseMaxBody(maxBodyText, '-max-body');
  const { Agent, request } = await import('undici'); // loaded when used: --version stays fast
  const what = `${parts.method} ${redactUrl(parts.url.href)}`;
  // One timer for the whole exchange: undici's headers/body timeouts are idle timeouts on a
  // coarse (~1 s) clock, so `-timeout 100ms` let a 900 ms answer through.
  const controller = new AbortController();
  let stop: Stop;
  const timer =
    parts.timeoutMs > 0
      ? setTimeout(() => {
          stop = 'timeout';
          controller.abort();
        }, parts.timeoutMs)
      : undefined;
  const onInterrupt = (): void => {
    stop ??= 'interrupted';
    controller.abort();
  };
  if (io.signal.aborted) onInterrupt();
  else io.signal.addEventListener('abort', onInterrupt, { once: true });
  // `curl ... | head` closes stdout: Node reports EPIPE as an 'error' event, fatal unless
  // listened to. The listener stays: a late event after the exchange must not crash either.
  let stdoutError: unknown;
  if (emitsErrors(io.stdout)) {
    io.stdout.on('error', (error) => {
      if (stdoutError !== undefined) return;
      stdoutError = error;
      stop ??= 'stdout';
      controller.abort();
    });
  }
  let agent: InstanceType<typeof Agent> | undefined;
  let http10: Http10Response | undefined;
  const head: WireHead = {};
  let written = 0;
  let hop: Hop = { url: parts.url, method: parts.method, headers: parts.headers, body: parts.payload };
  try {
    let response: CurlResponse;
    for (let redirects = 0; ; redirects++) {
      if (parts.http10) {
        http10?.close();
        const exchange = await http10Exchange(hopTemplate(parts, hop), controller.signal);
        http10 = exchange;
        Object.assign(head, { statusMessage: exchange.statusMessage, rawHeaders: exchange.rawHeaders, version: exchange.version });
        response = { statusCode: exchange.statusCode, headers: exchange.headers, body: exchange.body, discard: async () => exchange.close() };
      } else {
        // One agent per hop: a redirect to another host needs that host's SNI.
        await agent?.destroy().catch(() => undefined);
        const hopAgent = new Agent({ connect: connectOptions({ first: parts.url, insecure: parts.insecure, tls: parts.tls, resolve: parts.resolve, unixSocket: parts.unixSocket }, hop.url) });
        agent = hopAgent;
        const answer = await request(hop.url, {
          method: hop.method as 'GET',
          headers: Object.fromEntries(hop.headers),
          ...(hop.body.length > 0 || hop.method === 'POST' ? { body: hop.body } : {}),
          signal: controller.signal,
          dispatcher: hopAgent.compose(captureHead(head)),
        } as Parameters<typeof request>[1]);
        response = { statusCode: answer.statusCode, headers: answer.headers, body: answer.body as AsyncIterable<Buffer>, discard: async () => void (await answer.body.dump()) };
      }
      const location = response.headers.location;
      if (!parts.followRedirects || !REDIRECT_STATUSES.has(response.statusCode) || typeof location !== 'string') break;
      // Go's client reads the redirect's body away before the next hop; none of it is shown.
      await response.discard();
      if (redirects === MAX_REDIRECTS) throw new RedirectRefused(`stopped after ${MAX_REDIRECTS} redirects (-L)`);
      const next = nextHop(hop, response.statusCode, location, parts.url);
      if (typeof next === 'string') throw new RedirectRefused(`${next} (-L)`);
      if (!quiet) io.stderr.write(`meshload: ${response.statusCode} redirect to ${next.method} ${redactUrl(next.url.href)}\n`);
      hop = next;
    }
    const status = response.statusCode;
    // http_client.go:1159, fast client: status is the status line's first 12 bytes.
    const notOk = curlLog !== undefined && curlLog.logErrors && !isOk(status);
    if (notOk && curlLog.fastClient) curlLog.log.log('Warning', 'Non ok http code', [['code', status], ['status', `${head.version ?? 'HTTP/1.1'} ${status}`], ['thread', 0], ['run', 0]]);
    const reasonPhrase = head.statusMessage !== undefined && head.statusMessage !== '' ? ` ${printable(head.statusMessage)}` : '';
    const lines = [`${head.version ?? 'HTTP/1.1'} ${response.statusCode}${reasonPhrase}`];
    const raw = head.rawHeaders;
    if (raw !== undefined) {
      for (let i = 0; i + 1 < raw.length; i += 2) lines.push(`${printable(latin1(raw[i]))}: ${printable(latin1(raw[i + 1]))}`);
    } else {
      for (const [name, value] of Object.entries(response.headers)) {
        for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${printable(v)}`);
      }
    }
    io.stderr.write(lines.join('\n') + '\n\n');
    // A HEAD answer, a 204 or a 304 declares a length it does not send.
    const bodiless = hop.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304;
    const declared = bodiless ? 0 : Number(response.headers['content-length']);
    if (declared > maxBody) throw new BodyCapReached(`body of ${declared} bytes (Content-Length) exceeds -max-body ${maxBodyText}`);
    for await (const chunk of response.body) {
      if (written + chunk.length > maxBody) {
        io.stdout.write(chunk.subarray(0, maxBody - written));
        written = maxBody;
        throw new BodyCapReached(`body exceeds -max-body ${maxBodyText}; stopped after ${maxBody} bytes`);
      }
      written += chunk.length;
      io.stdout.write(chunk);
    }
    // http_client.go:567, Go's client: after the body.
    if (notOk && !curlLog.fastClient) curlLog.log.log('Warning', 'Non ok http code', [['code', status], ['thread', 0], ['run', 0]]);
    if (!quiet) io.stderr.write(`${sidecarEvidence(response.headers)}\n`);
    // bincommon.FetchURL: anything but 200 is "Error status %d" at Error, and exit 1.
    if (response.statusCode !== 200) curlLog?.log.log('Error', `Error status ${response.statusCode}`, []);
    return response.statusCode === 200 ? EXIT.OK : EXIT.FAILED;
  } catch (error) {
    const cause = stop === 'stdout' ? stdoutError : error;
    // One line stands for Fortio's client error and its "Error status -1": every failure is one.
    io.stderr.write(`meshload: ${what} failed: ${reason(cause, stop, parts.timeoutMs, written)}\n`);
    return stop === 'interrupted' ? EXIT.INTERRUPTED : EXIT.FAILED;
  } finally {
    clearTimeout(timer);
    io.signal.removeEventListener('abort', onInterrupt);
    // destroy, not close: an endless body or a silent server must not be waited for.
    await agent?.destroy().catch(() => undefined);
    http10?.close();
  }
}

/** A hop as the HTTP/1.0 exchange takes it: the hop's request with the connect options. */
function hopTemplate(parts: RequestParts, hop: Hop): RequestTemplate {
  const sameHost = hop.url.hostname === parts.url.hostname;
  const tls = sameHost || parts.tls === undefined ? parts.tls : { ...parts.tls, servername: hop.url.hostname.replace(/^\[|\]$/g, '') };
  return {
    url: hop.url,
    method: hop.method,
    headers: hop.headers,
    body: hop.body,
    timeoutMs: 0,
    keepAlive: false,
    insecure: parts.insecure,
    ...(tls !== undefined ? { tls } : {}),
    ...(parts.resolve !== undefined ? { resolve: parts.resolve } : {}),
    ...(parts.unixSocket !== undefined ? { unixSocket: parts.unixSocket } : {}),
    http10: true,
  };
}

/** The one-line reason, with the error's code and its cause's (undici wraps socket errors). */
function reason(error: unknown, stop: Stop, timeoutMs: number, written: number): string {
  if (stop === 'timeout') return `no complete response within ${timeoutMs}ms (-timeout)${written > 0 ? ` after ${written} body bytes` : ''}`;
  if (stop === 'interrupted') return 'interrupted';
  if (stop === 'stdout') return oneLine(`cannot write the body to stdout: ${asError(error)?.message ?? String(error)}`);
  if (error instanceof BodyCapReached || error instanceof RedirectRefused) return error.message;
  const top = asError(error);
  if (top === undefined) return oneLine(String(error));
  const codes: string[] = [];
  for (let e: ErrorLike | undefined = top; e !== undefined && codes.length < 3; e = asError(e.cause)) {
    if (typeof e.code === 'string' && !codes.includes(e.code)) codes.push(e.code);
  }
  const cause = asError(top.cause);
  const causeText = cause !== undefined && cause.message !== top.message ? `: ${cause.message}` : '';
  const mid = written > 0 ? ` after ${written} body bytes` : '';
  return oneLine(`${top.message}${causeText}${codes.length > 0 ? ` (${codes.join(', ')})` : ''}${mid}`);
}

interface ErrorLike {
  message: string;
  code?: unknown;
  cause?: unknown;
}

/** Duck-typed: errors from another realm (Node internals under a test VM) fail instanceof. */
function asError(value: unknown): ErrorLike | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = (value as { message?: unknown }).message;
  return typeof message === 'string' ? (value as ErrorLike) : undefined;
}

/** Header bytes as HTTP defines them (ISO-8859-1), as undici decodes its own header values. */
function latin1(value: Buffer | undefined): string {
  return Buffer.isBuffer(value) ? value.toString('latin1') : String(value);
}

/** A header value for the terminal: control bytes escaped, never interpreted. */
function printable(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** What the response headers say about an Envoy sidecar on the way (MESH-FACTS: `server:
 * envoy` from the client sidecar, `istio-envoy` from an inbound one, and
 * x-envoy-upstream-service-time on answers that came from upstream). */
export function sidecarEvidence(headers: Record<string, string | string[] | undefined>): string {
  const server = String(headers.server ?? '');
  const upstreamTime = headers['x-envoy-upstream-service-time'];
  const signs: string[] = [];
  if (/^(istio-)?envoy$/i.test(server)) signs.push(`server: ${server}`);
  if (upstreamTime !== undefined) signs.push(`x-envoy-upstream-service-time: ${printable(String(upstreamTime))}`);
  if (signs.length > 0) return `meshload: the response crossed an Envoy sidecar (${signs.join(', ')})`;
  return 'meshload: no sign of an Envoy sidecar (no server: envoy, no x-envoy-upstream-service-time); a mesh can strip these headers, so this is a hint, not proof';
}
