/** meshload's gRPC server (`server -grpc-port`): Fortio's fgrpc.PingServer (pingsrv.go: Ping
 * echoes the message with a new ts after delayNanos), grpc.health.v1.Health/Check (the
 * -healthservice name SERVING, name+"_down" NOT_SERVING, "" SERVING, others NOT_FOUND, as
 * grpc-go's health server) and server reflection (v1 and v1alpha), on node:http2.
 *
 * Chaos as the echo server's: per call, metadata `x-meshload-grpc-status: 14:20,4:5` (weighted
 * gRPC statuses, Fortio's list syntax) and `x-meshload-grpc-delay: 100ms:50`; server-wide, the
 * admin port's PUT /chaos `grpc-status=14:20` and `grpc-delay=` lists, or failing those its
 * `status=` and `delay=` (HTTP statuses mapped to gRPC per http-grpc-status-mapping.md: 503 ->
 * UNAVAILABLE). Every reply carries x-version (-version-tag)
 * and the x-envoy-attempt-count the call came with, as response metadata.
 *
 * Hostile clients are bounded as on the HTTP ports: request messages up to maxMessageBytes,
 * at most 1000 streams per connection, headers within 64 KiB, a stream that sends nothing for
 * 60 s is reset, delays capped at -max-echo-delay, and close() ends everything. */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { decodeHealthRequest, decodePing, encodeHealthResponse, encodePing, HEALTH_CHECK_PATH, PING_PATH } from '../grpc/builtin-messages';
import { DEFAULT_MAX_MESSAGE_BYTES, frameMessage, MessageReader } from '../grpc/grpc-frame';
import { GRPC_DEADLINE_EXCEEDED, GRPC_INTERNAL, GRPC_UNIMPLEMENTED, encodeGrpcMessage, grpcStatusFromHttp, parseGrpcStatus } from '../grpc/grpc-status';
import { ReflectionSession, REFLECTION_PATHS } from '../grpc/reflection-service';
import { parseDuration } from '../util/duration';
import type { ListenAddress } from '../util/listen-address';
import type { ChaosState } from './chaos-state';
import { listenOn } from './listen-on';
import type { ServerTls } from './server-tls';
import { drawWeighted, EchoParamError, parseWeightedList, type WeightedList } from './weighted-list';

export interface GrpcServerOptions {
  listen: ListenAddress;
  /** Fortio's -healthservice: this name is SERVING, name + "_down" NOT_SERVING (default "ping"). */
  healthService: string;
  /** -max-echo-delay: longer delays asked for are clamped (x-meshload-clamped). */
  maxDelayMs: number;
  versionTag?: string;
  /** The echo server's chaos state: its server-wide status= and delay= apply here too. */
  chaos?: ChaosState;
  tls?: ServerTls;
  maxMessageBytes?: number;
  /** Uniform in [0, 1): tests pass a fixed one. */
  random?: () => number;
  /** A connection must send its HTTP/2 preface and SETTINGS within this (default 10 s, as the
   * echo port's headers timeout). */
  prefaceTimeoutMs?: number;
}

export interface RunningGrpcServer {
  port: number;
  address: AddressInfo;
  close(): Promise<void>;
}

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const HEALTH_SERVING = 1;
const HEALTH_NOT_SERVING = 2;
const IDLE_STREAM_MS = 60_000;
/** A connection without any frame for this long is closed (the echo port's keep-alive). */
const IDLE_SESSION_MS = 3_600_000;
const PREFACE_TIMEOUT_MS = 10_000;
const MAX_STREAMS = 1000;
const MAX_HEADER_BYTES = 64 * 1024;
/** Parsed per-call chaos lists, by header value: a load test repeats one; a scan is bounded. */
const CHAOS_CACHE_LIMIT = 256;

type Handler = (call: GrpcServerCall) => void;

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new GrpcServer(options);
  return server.start();
}

/** One call: its headers, the request messages read so far, and how to answer. */
class GrpcServerCall {
  /** Response metadata every answer carries (x-version, x-envoy-attempt-count). */
  readonly meta: Record<string, string> = {};
  answered = false;
  timer: NodeJS.Timeout | undefined;
  /** The client's grpc-timeout in ms; Infinity without one. */
  deadlineMs = Infinity;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    readonly headers: http2.IncomingHttpHeaders,
    readonly reader: MessageReader,
  ) {}

  /** A unary reply with grpc-status 0. */
  reply(message: Uint8Array): void {
    if (this.answered || this.stream.destroyed) return;
    this.answered = true;
    const stream = this.stream;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': 'identity,gzip', ...this.meta }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(frameMessage(message));
  }

  /** A trailers-only answer: HTTP 200 with grpc-status in the headers, as Envoy answers too. */
  fail(code: number, message: string): void {
    if (this.answered || this.stream.destroyed) return;
    this.answered = true;
    this.stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message.slice(0, 512)), ...this.meta },
      { endStream: true },
    );
  }
}

class GrpcServer {
  private readonly h2: http2.Http2Server | http2.Http2SecureServer;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly handlers = new Map<string, Handler>();
  private readonly statusLists = new Map<string, WeightedList<number> | string>();
  private readonly delayLists = new Map<string, WeightedList<number> | string>();
  private readonly random: () => number;
  private readonly maxMessageBytes: number;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: GrpcServerOptions) {
    this.random = options.random ?? Math.random;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const settings = { maxConcurrentStreams: MAX_STREAMS, maxHeaderListSize: MAX_HEADER_BYTES };
    this.h2 =
      options.tls === undefined
        ? http2.createServer({ settings, maxSessionInvalidFrames: 100 })
        : http2.createSecureServer({
            settings,
            maxSessionInvalidFrames: 100,
            cert: options.tls.cert,
            key: options.tls.key,
            ...(options.tls.ca !== undefined ? { ca: options.tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
          });
    // Replies are small frames (headers, message, trailers): no Nagle delay between them.
    this.h2.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: import('node:net').Socket) => socket.setNoDelay(true));
    const prefaceMs = options.prefaceTimeoutMs ?? PREFACE_TIMEOUT_MS;
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      // A peer that never speaks HTTP/2 holds a descriptor for nothing; a client that did may
      // idle between loads (Fortio warms up, then waits), up to the echo port's keep-alive.
      session.setTimeout(prefaceMs, () => session.destroy());
      session.once('remoteSettings', () => session.setTimeout(IDLE_SESSION_MS, () => session.destroy()));
      session.on('error', () => undefined);
      session.on('close', () => this.sessions.delete(session));
    });
    this.h2.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.handlers.set(PING_PATH, (call) => this.ping(call));
    this.handlers.set(HEALTH_CHECK_PATH, (call) => this.health(call));
  }

  async start(): Promise<RunningGrpcServer> {
    const address = await listenOn(this.h2, this.options.listen, 'gRPC', '-grpc-port');
    return { port: address.port, address, close: () => this.close() };
  }

  private close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.h2.close(() => resolve());
      for (const timer of this.timers) clearTimeout(timer);
      this.timers.clear();
      for (const session of this.sessions) session.destroy();
    });
    return this.closed;
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const path = headers[':path'] ?? '';
    const type = headers['content-type'] ?? '';
    if (headers[':method'] !== 'POST' || !/^application\/grpc([+;]|$)/.test(type)) {
      // grpc-go answers a non-gRPC request with HTTP 415: no grpc-status, no body.
      stream.respond({ ':status': headers[':method'] !== 'POST' ? 405 : 415 }, { endStream: true });
      return;
    }
    const encoding = headers['grpc-encoding'];
    const call = new GrpcServerCall(stream, headers, new MessageReader(this.maxMessageBytes, true, encoding === undefined || encoding === 'identity' ? undefined : String(encoding)));
    if (this.options.versionTag !== undefined) call.meta['x-version'] = this.options.versionTag;
    const attempt = headers['x-envoy-attempt-count'];
    if (typeof attempt === 'string' && /^\d{1,6}$/.test(attempt)) call.meta['x-envoy-attempt-count'] = attempt;
    call.deadlineMs = parseGrpcTimeout(headers['grpc-timeout']);
    stream.setTimeout(IDLE_STREAM_MS, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('close', () => {
      if (call.timer !== undefined) {
        clearTimeout(call.timer);
        this.timers.delete(call.timer);
      }
    });
    if (REFLECTION_PATHS.has(path)) {
      this.reflect(call);
      return;
    }
    const handler = this.handlers.get(path);
    if (handler === undefined) {
      drain(stream);
      call.fail(GRPC_UNIMPLEMENTED, `unknown method ${path.slice(0, 200)}`);
      return;
    }
    stream.on('data', (chunk: Buffer) => {
      if (call.answered) return;
      call.reader.push(chunk);
      if (call.reader.error !== undefined) {
        const oversized = call.reader.error.includes('over the');
        call.fail(oversized ? RESOURCE_EXHAUSTED : GRPC_INTERNAL, call.reader.error);
        stream.close(http2.constants.NGHTTP2_NO_ERROR);
      } else if (call.reader.messages > 1) {
        // A unary call's second message: answered now, so endless messages cannot pile up.
        call.fail(GRPC_INTERNAL, 'a unary call needs exactly one request message, got more');
        stream.close(http2.constants.NGHTTP2_NO_ERROR);
      }
    });
    stream.on('end', () => {
      if (call.answered) return;
      if (!call.reader.atBoundary() || call.reader.kept.length !== 1) {
        call.fail(GRPC_INTERNAL, `a unary call needs exactly one request message, got ${call.reader.kept.length}${call.reader.atBoundary() ? '' : ' and a truncated one'}`);
        return;
      }
      this.withChaos(call, handler);
    });
  }

  /** Applies the chaos a call asks for (or the server-wide defaults), then runs `handler`. */
  private withChaos(call: GrpcServerCall, handler: Handler): void {
    let status: number | undefined;
    let delayMs = 0;
    const statusHeader = call.headers['x-meshload-grpc-status'];
    const delayHeader = call.headers['x-meshload-grpc-delay'];
    if (typeof statusHeader === 'string' || typeof delayHeader === 'string') {
      if (typeof statusHeader === 'string') {
        const list = this.cachedList(this.statusLists, 'x-meshload-grpc-status', statusHeader, parseStatusValue, '14:20');
        if (typeof list === 'string') return call.fail(INVALID_ARGUMENT, list);
        status = drawWeighted(list, this.random() * 100);
      }
      if (typeof delayHeader === 'string') {
        const list = this.cachedList(this.delayLists, 'x-meshload-grpc-delay', delayHeader, parseDelayValue, '100ms:50');
        if (typeof list === 'string') return call.fail(INVALID_ARGUMENT, list);
        delayMs = drawWeighted(list, this.random() * 100) ?? 0;
      }
    } else if (this.options.chaos !== undefined) {
      // Server-wide: /chaos grpc-status= and grpc-delay= when set, else status= (mapped per
      // http-grpc-status-mapping.md) and delay=, as the HTTP echo applies them.
      const plan = this.options.chaos.defaultPlan;
      if (plan.grpcStatus !== undefined) {
        status = drawWeighted(plan.grpcStatus, this.random() * 100);
      } else if (plan.status !== undefined) {
        const http = drawWeighted(plan.status, this.random() * 100);
        if (http !== undefined && (http < 200 || http > 299)) status = grpcStatusFromHttp(http);
      }
      const delays = plan.grpcDelayMs ?? plan.delayMs;
      const drawn = delays === undefined ? undefined : drawWeighted(delays, this.random() * 100);
      delayMs = drawn?.value ?? 0;
      // Capped when /chaos was set: the call says so, as the HTTP echo's x-meshload-clamped.
      if (drawn?.clampNote !== undefined) call.meta['x-meshload-clamped'] = drawn.clampNote;
    }
    if (delayMs > this.options.maxDelayMs) {
      delayMs = this.options.maxDelayMs;
      call.meta['x-meshload-clamped'] = `delay>${this.options.maxDelayMs}ms`;
    }
    const act = (): void => {
      if (status !== undefined && status !== 0) call.fail(status, `meshload chaos: grpc-status ${status}`);
      else handler(call);
    };
    if (delayMs > 0) this.later(call, delayMs, act);
    else act();
  }

  /** Runs `run` after `ms`, unless the call's grpc-timeout comes first: then the call ends with
   * DEADLINE_EXCEEDED at its deadline, as a gRPC server whose handler overran it. */
  private later(call: GrpcServerCall, ms: number, run: () => void): void {
    const overrun = ms >= call.deadlineMs;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      call.timer = undefined;
      if (overrun) call.fail(GRPC_DEADLINE_EXCEEDED, 'deadline exceeded (grpc-timeout) before the reply was ready');
      else run();
    }, overrun ? call.deadlineMs : ms);
    this.timers.add(timer);
    call.timer = timer;
  }

  private cachedList(cache: Map<string, WeightedList<number> | string>, param: string, value: string, parse: (text: string) => number | string, example: string): WeightedList<number> | string {
    let list = cache.get(value);
    if (list === undefined) {
      try {
        list = parseWeightedList(param, value.slice(0, 1024), parse, example);
      } catch (error) {
        if (!(error instanceof EchoParamError)) throw error;
        list = error.message;
      }
      if (cache.size >= CHAOS_CACHE_LIMIT) cache.clear();
      cache.set(value, list);
    }
    return list;
  }

  /** fgrpc pingSrv.Ping: the message back with ts set to now, after delayNanos (capped). */
  private ping(call: GrpcServerCall): void {
    let message;
    try {
      message = decodePing(call.reader.kept[0] as Buffer);
    } catch {
      return call.fail(INVALID_ARGUMENT, 'the request is not an fgrpc.PingMessage');
    }
    const reply = (): void => call.reply(encodePing({ ...message, ts: Date.now() * 1e6 }));
    let delayMs = message.delayNanos > 0 ? message.delayNanos / 1e6 : 0;
    if (delayMs > this.options.maxDelayMs) {
      delayMs = this.options.maxDelayMs;
      call.meta['x-meshload-clamped'] = `delay>${this.options.maxDelayMs}ms`;
    }
    if (delayMs > 0) this.later(call, delayMs, reply);
    else reply();
  }

  private health(call: GrpcServerCall): void {
    let service: string;
    try {
      service = decodeHealthRequest(call.reader.kept[0] as Buffer);
    } catch {
      return call.fail(INVALID_ARGUMENT, 'the request is not a grpc.health.v1.HealthCheckRequest');
    }
    const name = this.options.healthService;
    if (service === '' || service === name) return call.reply(encodeHealthResponse(HEALTH_SERVING));
    if (service === `${name}_down`) return call.reply(encodeHealthResponse(HEALTH_NOT_SERVING));
    call.fail(NOT_FOUND, 'unknown service');
  }

  /** Server reflection: a bidi stream, one response per request message. */
  private reflect(call: GrpcServerCall): void {
    const session = new ReflectionSession();
    const stream = call.stream;
    let started = false;
    stream.on('data', (chunk: Buffer) => {
      call.reader.push(chunk);
      if (call.reader.error !== undefined) {
        call.fail(GRPC_INTERNAL, call.reader.error);
        stream.close(http2.constants.NGHTTP2_NO_ERROR);
        return;
      }
      if (call.answered) return;
      for (const request of call.reader.kept.splice(0)) {
        if (!started) {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...call.meta }, { waitForTrailers: true });
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          started = true;
        }
        stream.write(frameMessage(session.answer(request)));
      }
    });
    stream.on('end', () => {
      if (call.answered) return;
      if (!started) return call.fail(0, '');
      call.answered = true;
      stream.end();
    });
  }
}

/** Reads and drops what a peer sends on a stream we already answered. */
function drain(stream: http2.ServerHttp2Stream): void {
  stream.resume();
}

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** grpc-timeout (PROTOCOL-HTTP2.md: 1 to 8 digits and a unit, H M S m u n); Infinity when absent
 * or malformed (grpc-go answers a malformed one with INTERNAL; serving on is kinder to a test). */
export function parseGrpcTimeout(value: string | string[] | undefined): number {
  if (typeof value !== 'string') return Infinity;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return Infinity;
  return Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number);
}

function parseStatusValue(text: string): number | string {
  const code = parseGrpcStatus(text);
  return code === undefined ? `'${text.slice(0, 40)}' is not a gRPC status (0-16 or a name like UNAVAILABLE)` : code;
}

function parseDelayValue(text: string): number | string {
  const ms = parseDuration(text);
  return ms === undefined || ms < 0 ? `'${text.slice(0, 40)}' is not a duration like 100ms` : ms;
}
