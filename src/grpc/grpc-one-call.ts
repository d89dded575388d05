/** One gRPC call outside a load run (reflection, `curl -grpc`): sends its request messages,
 * keeps the response messages (bounded) and the response metadata, and settles once. Not the
 * hot path: clarity over allocation. */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { oneLine } from '../transport/outcome';
import { tlsBaseOptions, type Outcome, type TlsClientOptions } from '../transport/transport';
import { DEFAULT_MAX_MESSAGE_BYTES, frameMessage } from './grpc-frame';
import { GrpcReply } from './grpc-reply';
import { END_STREAM_FLAG, grpcRequestHeaders, kindOf, messageOf } from './grpc-transport';

export interface OneCallOptions {
  /** http://host:port or https://host:port. */
  url: string;
  path: string;
  messages: readonly Uint8Array[];
  metadata: Array<[string, string]>;
  timeoutMs: number;
  compression: boolean;
  insecure: boolean;
  tls?: TlsClientOptions;
  /** True for a unary method: exactly one response message is OK. */
  unary: boolean;
  maxMessageBytes?: number;
}

export interface OneCallResult {
  outcome: Outcome;
  messages: readonly Buffer[];
  /** Response headers and trailers as received (names lower case). */
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
}

export function oneGrpcCall(options: OneCallOptions): Promise<OneCallResult> {
  return new Promise((resolve) => {
    const url = new URL(options.url);
    const isTls = url.protocol === 'https:';
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === '' ? (isTls ? 443 : 80) : Number(url.port);
    const reply = new GrpcReply(options.unary, options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, true);
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let settled = false;
    let error: unknown;
    const session = http2.connect(url, {
      createConnection: () => (isTls ? tls.connect({ ...tlsBaseOptions(host, options.insecure, options.tls), host, port, ALPNProtocols: ['h2'] }) : net.connect({ host, port })),
      settings: { enablePush: false },
    });
    const settle = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve({ outcome, messages: reply.messages, headers, trailers });
    };
    const fail = (kind: Parameters<GrpcReply['resetOutcome']>[1], message: string, rst = -1): void => settle(reply.resetOutcome(rst, kind, oneLine(message)));
    const timer = setTimeout(() => {
      const outcome = reply.resetOutcome(8, 'timeout', `no gRPC status within ${options.timeoutMs}ms`);
      outcome.grpcStatus = 4;
      outcome.grpcName = 'DeadlineExceeded';
      settle(outcome);
    }, options.timeoutMs > 0 ? options.timeoutMs : 2_147_483_647);
    session.on('error', (e: unknown) => {
      error = e;
      fail(kindOf(e), messageOf(e));
    });
    session.on('connect', () => {
      if (isTls && session.alpnProtocol !== 'h2') fail('protocol', `the server does not speak HTTP/2 over TLS (ALPN ${String(session.alpnProtocol)}): gRPC needs h2`);
    });
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(grpcRequestHeaders({ path: options.path, metadata: options.metadata, compression: options.compression }, url), { endStream: false });
    } catch (e) {
      fail('other', (e as Error).message);
      return;
    }
    stream.on('response', (h: http2.IncomingHttpHeaders, flags: number, raw?: string[]) => {
      headers = h;
      reply.onHeaders(h, raw?.reduce((n, s) => n + s.length + 2, 0) ?? 0, (flags & END_STREAM_FLAG) !== 0);
    });
    stream.on('data', (chunk: Buffer) => {
      reply.onData(chunk);
      if (reply.frameError !== undefined) {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        settle(reply.outcome());
      }
    });
    stream.on('trailers', (t: http2.IncomingHttpHeaders, _flags: number, raw?: string[]) => {
      trailers = t;
      reply.onTrailers(t, raw?.reduce((n, s) => n + s.length + 2, 0) ?? 0);
    });
    stream.on('error', (e: unknown) => {
      error = e;
    });
    stream.on('close', () => {
      const rst = stream.rstCode;
      const streamError = error !== undefined && (error as { code?: unknown }).code === 'ERR_HTTP2_STREAM_ERROR';
      if (reply.httpStatus !== 0 && (rst === undefined || rst === http2.constants.NGHTTP2_NO_ERROR) && error === undefined) settle(reply.outcome());
      else if (rst !== undefined && rst !== http2.constants.NGHTTP2_NO_ERROR && (error === undefined || streamError)) fail('reset', `stream reset by the server (RST_STREAM code ${rst})`, rst);
      else fail(error === undefined ? 'closed' : kindOf(error), error === undefined ? 'the connection closed before grpc-status' : messageOf(error));
    });
    for (const message of options.messages) stream.write(frameMessage(message, options.compression));
    stream.end();
  });
}
