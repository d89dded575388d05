// Over 600 lines as one concept: one HTTP/2 connection state machine; frames, flow-control windows and stream table change together on every frame, so parting them would spread one invariant over files.
/** A client HTTP/2 connection of meshload's own (RFC 9113) on a net or TLS socket: preface,
 * SETTINGS, flow control both ways, HEADERS + CONTINUATION, DATA, RST_STREAM, PING, GOAWAY.
 * Streams are objects the caller owns and reuses; what arrives for them goes to their
 * handler's methods (no closures per request). Whatever the peer sends, each open stream ends
 * exactly once: END_STREAM, or `onFailed` with why. */
import type net from 'node:net';
import type tls from 'node:tls';
import type { ErrorKind } from '../../model/outcome';
import { errorKindOf } from '../outcome';
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FRAME_HEADER_BYTES,
  FrameType,
  goawayFrame,
  H2_ERROR,
  h2ErrorName,
  headersFrames,
  MAX_FRAME_SIZE_LIMIT,
  MAX_WINDOW,
  pingFrame,
  PREFACE,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from './frames';
import { DEFAULT_TABLE_SIZE, HpackDecoder, HpackEncoder, HpackError, type HeaderSink } from './hpack';

/** Windows we advertise: RFC 9113's 64 KiB default would throttle large responses to a window
 * per round trip (Go's client uses 4 MiB per stream; Envoy 1 MiB per connection). */
export const STREAM_WINDOW_BYTES = 1 << 20;
export const SESSION_WINDOW_BYTES = 16 << 20;
/** The largest decoded response header list we accept (name + value + 32 per field). */
export const MAX_HEADER_LIST_BYTES = 64 * 1024;
/** The largest compressed header block (HEADERS + CONTINUATION) we collect before giving up
 * on the connection: a peer sending CONTINUATION forever must not grow us without bound. */
export const MAX_HEADER_BLOCK_BYTES = 256 * 1024;
/** After our FIN on a connection we shut down, the peer gets this long to close it. */
export const LINGER_MS = 1000;
/** Bytes we let pile up unsent (answers to PINGs and SETTINGS of a peer that does not read)
 * before calling it a flood. */
const MAX_UNSENT_CONTROL_BYTES = 1 << 20;
const MAX_STREAM_ID = 2 ** 31 - 1;

/** Why a stream ended without a complete response. */
export type StreamEnd =
  /** The peer sent RST_STREAM with `code`. */
  | 'reset'
  /** The peer sent GOAWAY with `code`; `unprocessed` streams (above its last stream id, or never
   * sent) are safe to send again. */
  | 'goaway'
  /** The connection closed under the stream (FIN or reset). */
  | 'closed'
  /** The session failed: `kind` and `message` say how (socket, TLS, protocol, probe, local). */
  | 'error';

/** What a stream's owner is told. Field callbacks come between the start of a header block
 * and `onHeaders`; `onHeaders` is called for each block (1xx, the response, trailers). */
export interface StreamHandler extends HeaderSink {
  onHeaders(stream: H2Stream, endStream: boolean): void;
  /** `data[start, end)` is valid only during the call. */
  onData(stream: H2Stream, data: Buffer, start: number, end: number, endStream: boolean): void;
  onFailed(stream: H2Stream, end: StreamEnd, code: number, kind: ErrorKind, message: string, unprocessed: boolean): void;
}

/** What the session tells whoever pools it. */
export interface SessionOwner {
  /** GOAWAY arrived or the session failed: it takes no new streams. */
  onSessionRetired(session: H2WireSession): void;
  /** The socket closed. */
  onSessionClosed(session: H2WireSession): void;
}

/** One request/response exchange. Reusable: `open` again once it ended. */
export class H2Stream {
  /** 0 until its HEADERS went out. */
  id = 0;
  session: H2WireSession | undefined;
  /** Open: sent or queued, not yet ended. */
  active = false;
  /** The peer's response headers arrived (DATA before them is malformed). */
  headersSeen = false;
  /** Decoded size of the last header block. */
  headerListSize = 0;
  sendWindow = 0;
  recvWindow = 0;
  recvUnacked = 0;
  fields: ReadonlyArray<readonly [string, string]> = [];
  body: Buffer | undefined;
  bodyOffset = 0;
  /** END_STREAM after the body (false: the caller writes more). */
  endAfterBody = true;
  /** Our side is done sending. */
  localEnded = false;

  constructor(readonly handler: StreamHandler) {}
}

/** Decodes blocks for streams that are gone: the HPACK table must still see them. */
const IGNORE_FIELDS: HeaderSink = { onField: () => undefined };

export interface SessionOptions {
  /** The socket is TLS: ready at 'secureConnect', and must have agreed on ALPN h2. */
  tls: boolean;
  /** The socket's owner feeds reads to `onBytes` itself (net's `onread`, no Buffer per read)
   * rather than the session listening for 'data'. */
  readsFed?: boolean;
  /** Request field names sent as literals without indexing: their values change per request. */
  unindexedNames?: ReadonlySet<string>;
}

export class H2WireSession {
  /** The socket connected (and TLS agreed on h2). */
  ready = false;
  /** The server's SETTINGS arrived. */
  settingsReceived = false;
  /** The server acknowledged ours. */
  settingsAcked = false;
  goawayCode: number | undefined;
  goawayLastStreamId = MAX_STREAM_ID;
  /** destroy() was called or the socket closed. */
  destroyed = false;
  /** shutdown() was called: no new streams, the socket ends once the streams are done. */
  closing = false;

  private readonly streams = new Map<number, H2Stream>();
  /** Streams waiting for the peer's concurrency limit. */
  private readonly queue: H2Stream[] = [];
  /** Streams whose body waits for a flow-control window. */
  private readonly blocked = new Set<H2Stream>();
  private nextStreamId = 1;
  private readonly encoder: HpackEncoder;
  private readonly decoder = new HpackDecoder();
  /** Frames written before the socket was ready. */
  private outbox: Buffer[] = [];
  private leftover: Buffer | undefined;
  /** A header block in progress (HEADERS without END_HEADERS): its stream and parts. */
  private continuationStream = 0;
  private continuationEnd = false;
  private continuationParts: Buffer[] = [];
  private continuationBytes = 0;
  // The peer's settings.
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private peerMaxConcurrent = Infinity;
  private sendWindow = DEFAULT_WINDOW;
  private recvWindow = SESSION_WINDOW_BYTES;
  private recvUnacked = 0;
  /** The socket error that ended the session, if any. */
  private socketError: NodeJS.ErrnoException | undefined;
  private failure: { kind: ErrorKind; message: string } | undefined;
  private linger: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private closedNotified = false;
  private goawaySent = false;
  /** A fixed request's last block, reusable while the encoder's table is unchanged. */
  private cachedFields: ReadonlyArray<readonly [string, string]> | undefined;
  private cachedBlock: Buffer | undefined;
  private cachedVersion = -1;

  constructor(
    readonly socket: net.Socket | tls.TLSSocket,
    private readonly owner: SessionOwner,
    private readonly options: SessionOptions,
  ) {
    this.encoder = new HpackEncoder('shorter', DEFAULT_TABLE_SIZE, options.unindexedNames);
    socket.setNoDelay(true);
    socket.on(options.tls ? 'secureConnect' : 'connect', () => this.onConnect());
    if (options.readsFed !== true) socket.on('data', (chunk: Buffer) => this.onBytes(chunk, chunk.length));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.socketError ??= error;
    });
    socket.on('close', () => this.onSocketClose());
    // A peer's FIN: nothing more will arrive; the socket closes after ours.
    socket.on('end', () => socket.end());
  }

  /** Open streams, queued ones included. */
  get activeStreams(): number {
    return this.streams.size + this.queue.length;
  }

  /** Can take a new stream. */
  usable(): boolean {
    return !this.destroyed && !this.closing && this.goawayCode === undefined && this.nextStreamId <= MAX_STREAM_ID;
  }

  /** Sends a request: HEADERS from `fields` (a constant array is encoded once and its block
   * reused while the HPACK table stays the same), then `body` if not empty. With `end` false the
   * stream stays open for `write`. The stream must not be active; the session must be usable. */
  request(stream: H2Stream, fields: ReadonlyArray<readonly [string, string]>, body: Buffer | undefined, end: boolean): void {
    if (!this.usable()) {
      // A caller that raced a GOAWAY or a failure still hears back once, asynchronously.
      const why = this.destroyed ? 'the session is closed' : this.goawayCode !== undefined ? 'the session got GOAWAY' : 'the session is closing';
      process.nextTick(failUnusable, stream, why);
      return;
    }
    stream.session = this;
    stream.active = true;
    stream.id = 0;
    stream.headersSeen = false;
    stream.headerListSize = 0;
    stream.fields = fields;
    stream.body = body !== undefined && body.length > 0 ? body : undefined;
    stream.bodyOffset = 0;
    stream.endAfterBody = end;
    stream.localEnded = false;
    if (this.streams.size >= this.peerMaxConcurrent) this.queue.push(stream);
    else this.start(stream);
  }

  /** More request body on an open stream (`end`: the last of it). */
  write(stream: H2Stream, data: Buffer, end: boolean): void {
    if (!stream.active || stream.localEnded || stream.session !== this) return;
    stream.body = stream.body === undefined ? data : Buffer.concat([stream.body.subarray(stream.bodyOffset), data]);
    stream.bodyOffset = 0;
    stream.endAfterBody = end;
    if (stream.id !== 0) this.flushBody(stream);
  }

  /** Ends a stream from our side with RST_STREAM `code` (CANCEL for a timeout); no callback follows. */
  cancel(stream: H2Stream, code: number = H2_ERROR.CANCEL): void {
    if (!stream.active || stream.session !== this) return;
    if (stream.id === 0) {
      const i = this.queue.indexOf(stream);
      if (i >= 0) this.queue.splice(i, 1);
      stream.active = false;
      return;
    }
    this.send(rstStreamFrame(stream.id, code));
    this.closeStream(stream);
  }

  /** Graceful close: no new streams; the socket ends once the open ones are done. */
  shutdown(): void {
    if (this.destroyed || this.closing) return;
    this.closing = true;
    this.owner.onSessionRetired(this);
    if (this.streams.size === 0) {
      for (const stream of this.queue.splice(0)) this.failStream(stream, 'error', 0, 'closed', 'connection closed by meshload', true);
      this.endSocket();
    }
  }

  /** Ends everything now: open streams fail with `kind` and `message`. */
  destroy(kind: ErrorKind = 'closed', message = 'connection closed by meshload'): void {
    if (this.destroyed) return;
    this.failure ??= { kind, message };
    // Tell the peer we are gone: a node:http2 server that sent GOAWAY itself no longer notices
    // a bare FIN, and would keep its end of the socket forever.
    this.sendGoaway(H2_ERROR.NO_ERROR);
    this.destroyed = true;
    this.owner.onSessionRetired(this);
    this.clearTimers();
    this.failAll('error', 0, this.failure.kind, this.failure.message);
    this.socket.destroy();
  }

  /** Our GOAWAY (once): last stream 0, as we accept no pushed streams. */
  private sendGoaway(code: number): void {
    if (this.goawaySent || !this.ready || this.socket.destroyed) return;
    this.goawaySent = true;
    this.send(goawayFrame(0, code));
  }

  /** After a request timed out: the peer must acknowledge a PING within `ms`, or the session is
   * destroyed. A peer that stopped serving (dead, or broken in a way we did not see) looks alive
   * to TCP: only this tells. */
  probe(ms: number): void {
    if (this.probeTimer !== undefined || this.destroyed) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      this.destroy('timeout', `no PING acknowledgement within ${ms}ms after a request timed out: the session is dead or broken`);
    }, ms);
    this.probeTimer.unref();
    this.send(pingFrame(false, Buffer.alloc(8)));
  }

  private onConnect(): void {
    if (this.destroyed) return;
    if (this.options.tls) {
      const alpn = (this.socket as tls.TLSSocket).alpnProtocol;
      if (alpn !== 'h2') {
        const chosen = typeof alpn === 'string' ? `ALPN chose ${alpn}` : 'no ALPN protocol agreed';
        this.destroy('protocol', `the server does not speak HTTP/2 over TLS (${chosen})`);
        return;
      }
    }
    this.ready = true;
    const opening = [
      PREFACE,
      settingsFrame([
        [Setting.ENABLE_PUSH, 0],
        [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW_BYTES],
        [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_BYTES],
      ]),
      windowUpdateFrame(0, SESSION_WINDOW_BYTES - DEFAULT_WINDOW),
      ...this.outbox,
    ];
    this.outbox = [];
    this.socket.write(Buffer.concat(opening));
  }

  private send(data: Buffer): void {
    if (this.destroyed) return;
    if (!this.ready) this.outbox.push(data);
    else this.socket.write(data);
  }

  private start(stream: H2Stream): void {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    stream.id = id;
    stream.sendWindow = this.peerInitialWindow;
    stream.recvWindow = STREAM_WINDOW_BYTES;
    stream.recvUnacked = 0;
    this.streams.set(id, stream);
    const block = this.encode(stream.fields);
    const endOnHeaders = stream.body === undefined && stream.endAfterBody;
    const headers = headersFrames(id, block, endOnHeaders, this.peerMaxFrameSize);
    if (endOnHeaders) stream.localEnded = true;
    const body = stream.body;
    // A small body that fits the windows goes out with its HEADERS, in one write.
    if (body !== undefined && body.length <= stream.sendWindow && body.length <= this.sendWindow && body.length <= this.peerMaxFrameSize) {
      const out = Buffer.allocUnsafe(headers.length + FRAME_HEADER_BYTES + body.length);
      headers.copy(out, 0);
      writeFrameHeader(out, headers.length, body.length, FrameType.DATA, stream.endAfterBody ? FLAG_END_STREAM : 0, id);
      body.copy(out, headers.length + FRAME_HEADER_BYTES);
      stream.sendWindow -= body.length;
      this.sendWindow -= body.length;
      stream.body = undefined;
      stream.localEnded = stream.endAfterBody;
      this.send(out);
      return;
    }
    this.send(headers);
    if (body !== undefined || (!endOnHeaders && stream.endAfterBody)) this.flushBody(stream);
  }

  private encode(fields: ReadonlyArray<readonly [string, string]>): Buffer {
    const table = this.encoder.table;
    if (fields === this.cachedFields && table.version === this.cachedVersion && this.cachedBlock !== undefined) return this.cachedBlock;
    const before = table.version;
    const block = this.encoder.encode(fields);
    // A block that changed the table (literals with indexing) cannot be sent twice; the next
    // one, all references, can, until the table changes.
    if (table.version === before) {
      this.cachedFields = fields;
      this.cachedBlock = block;
      this.cachedVersion = before;
    }
    return block;
  }

  /** Sends as much of the stream's body as the windows allow. */
  private flushBody(stream: H2Stream): void {
    if (this.destroyed) return;
    const body = stream.body;
    const total = body === undefined ? 0 : body.length;
    while (stream.bodyOffset < total && stream.sendWindow > 0 && this.sendWindow > 0) {
      const n = Math.min(total - stream.bodyOffset, stream.sendWindow, this.sendWindow, this.peerMaxFrameSize);
      const last = stream.bodyOffset + n === total;
      const end = last && stream.endAfterBody;
      const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n);
      writeFrameHeader(out, 0, n, FrameType.DATA, end ? FLAG_END_STREAM : 0, stream.id);
      (body as Buffer).copy(out, FRAME_HEADER_BYTES, stream.bodyOffset, stream.bodyOffset + n);
      stream.bodyOffset += n;
      stream.sendWindow -= n;
      this.sendWindow -= n;
      this.send(out);
      if (end) stream.localEnded = true;
    }
    if (stream.bodyOffset < total) {
      this.blocked.add(stream);
      return;
    }
    this.blocked.delete(stream);
    stream.body = undefined;
    stream.bodyOffset = 0;
    if (stream.endAfterBody && !stream.localEnded) {
      stream.localEnded = true;
      this.send(frameOf(FrameType.DATA, FLAG_END_STREAM, stream.id));
    }
  }

  /** Bytes read from the socket: `chunk[0, length)`, which may be a buffer reused by the next
   * read (net's `onread`): whatever outlives this call is copied. */
  onBytes(chunk: Buffer, length: number): void {
    if (this.destroyed) return;
    let data = chunk;
    let size = length;
    if (this.leftover !== undefined) {
      data = Buffer.concat([this.leftover, chunk.subarray(0, length)]);
      size = data.length;
      this.leftover = undefined;
    }
    let at = 0;
    while (size - at >= FRAME_HEADER_BYTES) {
      const length = ((data[at] as number) << 16) | ((data[at + 1] as number) << 8) | (data[at + 2] as number);
      if (length > DEFAULT_MAX_FRAME_SIZE) {
        if (!this.settingsReceived && data.toString('latin1', at, at + 5) === 'HTTP/') {
          this.destroy('protocol', 'the server answered in HTTP/1.x: it does not speak HTTP/2 with prior knowledge (h2c)');
        } else {
          this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, `a frame of ${length} bytes, above the ${DEFAULT_MAX_FRAME_SIZE} allowed`);
        }
        return;
      }
      const end = at + FRAME_HEADER_BYTES + length;
      if (end > size) break;
      const type = data[at + 3] as number;
      const flags = data[at + 4] as number;
      const id = data.readUInt32BE(at + 5) & 0x7fffffff;
      this.onFrame(data, at + FRAME_HEADER_BYTES, end, type, flags, id);
      if (this.destroyed) return;
      at = end;
    }
    // At most one frame header plus a 16 KiB payload waits here.
    if (at < size) this.leftover = Buffer.from(data.subarray(at, size));
  }

  private onFrame(data: Buffer, start: number, end: number, type: number, flags: number, id: number): void {
    const length = end - start;
    if (this.continuationStream !== 0 && type !== FrameType.CONTINUATION) {
      return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `a ${frameName(type)} frame inside a header block`);
    }
    if (!this.settingsReceived && type !== FrameType.SETTINGS) {
      return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `the server's first frame was ${frameName(type)}, not SETTINGS`);
    }
    switch (type) {
      case FrameType.DATA:
        return this.onDataFrame(data, start, end, flags, id);
      case FrameType.HEADERS:
        return this.onHeadersFrame(data, start, end, flags, id);
      case FrameType.PRIORITY:
        if (id === 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (length !== 5) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, `PRIORITY of ${length} bytes`);
        return;
      case FrameType.RST_STREAM:
        return this.onRstStream(data, start, length, id);
      case FrameType.SETTINGS:
        return this.onSettings(data, start, length, flags, id);
      case FrameType.PUSH_PROMISE:
        return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'PUSH_PROMISE although we disabled push');
      case FrameType.PING:
        return this.onPing(data, start, length, flags, id);
      case FrameType.GOAWAY:
        return this.onGoaway(data, start, length, id);
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(data, start, length, id);
      case FrameType.CONTINUATION:
        return this.onContinuation(data, start, end, flags, id);
      default:
        // Unknown frame types are ignored (RFC 9113 5.5).
        return;
    }
  }

  private onDataFrame(data: Buffer, start: number, end: number, flags: number, id: number): void {
    if (id === 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'DATA on stream 0');
    const length = end - start;
    // Flow control counts the whole payload, padding included.
    this.recvWindow -= length;
    if (this.recvWindow < 0) return this.connectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.recvUnacked += length;
    if (this.recvUnacked >= SESSION_WINDOW_BYTES / 2) {
      this.send(windowUpdateFrame(0, this.recvUnacked));
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id >= this.nextStreamId || (id & 1) === 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      // A stream we reset: its data still counted for the connection window above.
      return;
    }
    let from = start;
    let to = end;
    if (flags & FLAG_PADDED) {
      const pad = length > 0 ? (data[start] as number) : 256;
      if (pad >= length) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'DATA padding as long as the frame');
      from = start + 1;
      to = end - pad;
    }
    stream.recvWindow -= length;
    if (stream.recvWindow < 0) return this.streamError(stream, H2_ERROR.FLOW_CONTROL_ERROR, 'response DATA beyond the stream window');
    if (!stream.headersSeen) return this.streamError(stream, H2_ERROR.PROTOCOL_ERROR, 'response DATA before its HEADERS');
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if (endStream) this.closeStream(stream);
    else {
      stream.recvUnacked += length;
      if (stream.recvUnacked >= STREAM_WINDOW_BYTES / 2) {
        this.send(windowUpdateFrame(id, stream.recvUnacked));
        stream.recvWindow += stream.recvUnacked;
        stream.recvUnacked = 0;
      }
    }
    stream.handler.onData(stream, data, from, to, endStream);
  }

  private onHeadersFrame(data: Buffer, start: number, end: number, flags: number, id: number): void {
    if (id === 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let from = start;
    let to = end;
    if (flags & FLAG_PADDED) {
      const pad = to > from ? (data[from] as number) : 256;
      from++;
      if (pad > to - from) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'HEADERS padding longer than the frame');
      to -= pad;
    }
    if (flags & FLAG_PRIORITY) {
      from += 5;
      if (from > to) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
    }
    if (!this.streams.has(id) && (id >= this.nextStreamId || (id & 1) === 0)) {
      return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `HEADERS on idle stream ${id}`);
    }
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if (flags & FLAG_END_HEADERS) return this.onHeaderBlock(id, data, from, to, endStream);
    this.continuationStream = id;
    this.continuationEnd = endStream;
    this.continuationParts = [Buffer.from(data.subarray(from, to))];
    this.continuationBytes = to - from;
  }

  private onContinuation(data: Buffer, start: number, end: number, flags: number, id: number): void {
    if (this.continuationStream === 0 || id !== this.continuationStream) {
      return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'CONTINUATION without a header block in progress on its stream');
    }
    this.continuationBytes += end - start;
    if (this.continuationBytes > MAX_HEADER_BLOCK_BYTES) {
      return this.connectionError(H2_ERROR.ENHANCE_YOUR_CALM, `a header block above ${MAX_HEADER_BLOCK_BYTES} bytes`);
    }
    this.continuationParts.push(Buffer.from(data.subarray(start, end)));
    if ((flags & FLAG_END_HEADERS) === 0) return;
    const block = Buffer.concat(this.continuationParts);
    this.continuationStream = 0;
    this.continuationParts = [];
    this.continuationBytes = 0;
    this.onHeaderBlock(id, block, 0, block.length, this.continuationEnd);
  }

  private onHeaderBlock(id: number, block: Buffer, start: number, end: number, endStream: boolean): void {
    const stream = this.streams.get(id);
    try {
      this.decoder.decode(block, stream !== undefined ? stream.handler : IGNORE_FIELDS, start, end);
    } catch (error) {
      const message = error instanceof HpackError ? error.message : String(error);
      return this.connectionError(H2_ERROR.COMPRESSION_ERROR, `bad header block: ${message}`);
    }
    if (stream === undefined) return;
    stream.headerListSize = this.decoder.listSize;
    if (this.decoder.listSize > MAX_HEADER_LIST_BYTES) {
      return this.streamError(stream, H2_ERROR.PROTOCOL_ERROR, `response headers of ${this.decoder.listSize} bytes, above the ${MAX_HEADER_LIST_BYTES} allowed`);
    }
    stream.headersSeen = true;
    if (endStream) this.closeStream(stream);
    stream.handler.onHeaders(stream, endStream);
  }

  private onRstStream(data: Buffer, start: number, length: number, id: number): void {
    if (id === 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (length !== 4) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, `RST_STREAM of ${length} bytes`);
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id >= this.nextStreamId || (id & 1) === 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
      return;
    }
    const code = data.readUInt32BE(start);
    this.closeStream(stream);
    stream.handler.onFailed(stream, 'reset', code, 'reset', `stream reset by server: ${h2ErrorName(code)}`, code === H2_ERROR.REFUSED_STREAM);
  }

  private onSettings(data: Buffer, start: number, length: number, flags: number, id: number): void {
    if (id !== 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `SETTINGS on stream ${id}`);
    if (flags & FLAG_ACK) {
      if (length !== 0) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, 'SETTINGS acknowledgement with a payload');
      this.settingsAcked = true;
      return;
    }
    if (length % 6 !== 0) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, `SETTINGS of ${length} bytes`);
    for (let at = start; at < start + length; at += 6) {
      const setting = data.readUInt16BE(at);
      const value = data.readUInt32BE(at + 2);
      switch (setting) {
        case Setting.HEADER_TABLE_SIZE:
          this.encoder.setMaxTableSize(value);
          break;
        case Setting.ENABLE_PUSH:
          if (value > 1) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}`);
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.peerMaxConcurrent = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) return this.connectionError(H2_ERROR.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const stream of this.streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW) return this.connectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'a stream window above 2^31-1');
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
          this.peerMaxFrameSize = value;
          break;
        default:
          // MAX_HEADER_LIST_SIZE is advisory; unknown settings are ignored (RFC 9113 6.5.2).
          break;
      }
    }
    this.settingsReceived = true;
    this.sendControl(frameOf(FrameType.SETTINGS, FLAG_ACK, 0));
    for (const stream of [...this.blocked]) this.flushBody(stream);
    this.startQueued();
  }

  private onPing(data: Buffer, start: number, length: number, flags: number, id: number): void {
    if (id !== 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `PING on stream ${id}`);
    if (length !== 8) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, `PING of ${length} bytes`);
    if (flags & FLAG_ACK) {
      if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
      this.probeTimer = undefined;
      return;
    }
    this.sendControl(pingFrame(true, data.subarray(start, start + 8)));
  }

  private onGoaway(data: Buffer, start: number, length: number, id: number): void {
    if (id !== 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `GOAWAY on stream ${id}`);
    if (length < 8) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, `GOAWAY of ${length} bytes`);
    const last = data.readUInt32BE(start) & 0x7fffffff;
    const code = data.readUInt32BE(start + 4);
    // A later GOAWAY may only lower the last stream id.
    this.goawayLastStreamId = Math.min(this.goawayLastStreamId, last);
    this.goawayCode = code;
    this.owner.onSessionRetired(this);
    const lastId = this.goawayLastStreamId;
    const name = h2ErrorName(code);
    const kind: ErrorKind = code === H2_ERROR.NO_ERROR ? 'closed' : kindOfH2Code(code);
    // Streams never sent, or above the last id, were not processed: safe to send again.
    for (const stream of this.queue.splice(0)) this.failStream(stream, 'goaway', code, kind, `GOAWAY ${name} (last stream ${lastId})`, true);
    for (const stream of [...this.streams.values()]) {
      if (stream.id > lastId) this.failStream(stream, 'goaway', code, kind, `GOAWAY ${name} (last stream ${lastId})`, true);
    }
    if (code !== H2_ERROR.NO_ERROR) {
      for (const stream of [...this.streams.values()]) this.failStream(stream, 'goaway', code, kind, `GOAWAY ${name} (last stream ${lastId})`, false);
    }
    if (this.streams.size === 0) this.endSocket();
  }

  private onWindowUpdate(data: Buffer, start: number, length: number, id: number): void {
    if (length !== 4) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, `WINDOW_UPDATE of ${length} bytes`);
    const increment = data.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) return this.connectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      for (const stream of [...this.blocked]) this.flushBody(stream);
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (increment === 0) return this.streamError(stream, H2_ERROR.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the stream');
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) return this.streamError(stream, H2_ERROR.FLOW_CONTROL_ERROR, 'stream window above 2^31-1');
    if (this.blocked.has(stream)) this.flushBody(stream);
  }

  /** A control frame we owe the peer; a peer that makes us owe too much without reading is flooding. */
  private sendControl(data: Buffer): void {
    if (this.ready && this.socket.writableLength > MAX_UNSENT_CONTROL_BYTES) {
      this.connectionError(H2_ERROR.ENHANCE_YOUR_CALM, 'the server sends PINGs or SETTINGS faster than it reads our answers');
      return;
    }
    this.send(data);
  }

  /** The stream's response is malformed: RST_STREAM, and its owner hears a protocol failure. */
  private streamError(stream: H2Stream, code: number, message: string): void {
    this.send(rstStreamFrame(stream.id, code));
    this.failStream(stream, 'error', code, 'protocol', `malformed response: ${message}`, false);
  }

  /** A connection error (RFC 9113 5.4.1): GOAWAY with `code`, then the session is destroyed. */
  private connectionError(code: number, message: string): void {
    if (this.destroyed) return;
    this.sendGoaway(code);
    this.destroy('protocol', `HTTP/2 protocol error from the server (${h2ErrorName(code)}): ${message}`);
  }

  private failStream(stream: H2Stream, end: StreamEnd, code: number, kind: ErrorKind, message: string, unprocessed: boolean): void {
    if (!stream.active) return;
    this.closeStream(stream);
    stream.handler.onFailed(stream, end, code, kind, message, unprocessed);
  }

  private failAll(end: StreamEnd, code: number, kind: ErrorKind, message: string): void {
    for (const stream of this.queue.splice(0)) this.failStream(stream, end, code, kind, message, true);
    for (const stream of [...this.streams.values()]) this.failStream(stream, end, code, kind, message, false);
  }

  private closeStream(stream: H2Stream): void {
    if (!stream.active) return;
    stream.active = false;
    if (stream.id !== 0) this.streams.delete(stream.id);
    else {
      const i = this.queue.indexOf(stream);
      if (i >= 0) this.queue.splice(i, 1);
    }
    if (stream.body !== undefined) {
      this.blocked.delete(stream);
      stream.body = undefined;
    }
    this.startQueued();
    if (this.streams.size === 0 && this.queue.length === 0 && (this.closing || this.goawayCode !== undefined)) this.endSocket();
  }

  private startQueued(): void {
    while (this.queue.length > 0 && this.streams.size < this.peerMaxConcurrent && !this.destroyed) {
      this.start(this.queue.shift() as H2Stream);
    }
  }

  /** Our FIN; the socket is destroyed LINGER_MS later if the peer keeps it open. */
  private endSocket(): void {
    if (this.destroyed || this.linger !== undefined) return;
    if (!this.ready) return this.destroy();
    this.sendGoaway(H2_ERROR.NO_ERROR);
    this.socket.end();
    this.linger = setTimeout(() => this.socket.destroy(), LINGER_MS);
    this.linger.unref();
  }

  private onSocketClose(): void {
    this.clearTimers();
    if (!this.destroyed) {
      this.destroyed = true;
      this.owner.onSessionRetired(this);
      const error = this.socketError;
      if (!this.ready && error !== undefined) {
        this.failAll('error', 0, errorKindOf(error), error.message);
      } else {
        this.failAll('closed', 0, 'closed', 'the connection closed');
      }
    }
    if (!this.closedNotified) {
      this.closedNotified = true;
      this.owner.onSessionClosed(this);
    }
  }

  private clearTimers(): void {
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    if (this.linger !== undefined) clearTimeout(this.linger);
  }
}

function failUnusable(stream: H2Stream, why: string): void {
  stream.handler.onFailed(stream, 'error', 0, 'closed', `${why}: open a new one`, true);
}

function frameOf(type: number, flags: number, id: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(out, 0, 0, type, flags, id);
  return out;
}

const FRAME_NAMES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];

function frameName(type: number): string {
  return FRAME_NAMES[type] ?? `frame type ${type}`;
}

/** Maps an HTTP/2 error code (RST_STREAM or GOAWAY) to a kind: framing and compression faults
 * are 'protocol'; REFUSED_STREAM, CANCEL, INTERNAL_ERROR, ENHANCE_YOUR_CALM are the peer
 * resetting: 'reset'; NO_ERROR is 'closed'. */
export function kindOfH2Code(code: number): ErrorKind {
  switch (code) {
    case H2_ERROR.NO_ERROR:
      return 'closed';
    case H2_ERROR.PROTOCOL_ERROR:
    case H2_ERROR.FLOW_CONTROL_ERROR:
    case H2_ERROR.SETTINGS_TIMEOUT:
    case H2_ERROR.FRAME_SIZE_ERROR:
    case H2_ERROR.COMPRESSION_ERROR:
    case H2_ERROR.INADEQUATE_SECURITY:
    case H2_ERROR.HTTP_1_1_REQUIRED:
      return 'protocol';
    default:
      return 'reset';
  }
}
