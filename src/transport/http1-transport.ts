/** meshload's lean HTTP/1.1 keep-alive client (Fortio's "fast client" idea): the request is
 * serialised once, each send is one socket.write of that Buffer, responses go through an
 * incremental byte parser, and one coarse timer per transport enforces timeouts. undici's
 * request() loops top out near a third of what a raw socket loop reaches on the same machine. */
import { lookup } from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import type { ErrorKind, Outcome } from '../model/outcome';
import { usageError } from '../util/errors';
import { meshloadVersion } from '../util/version';
import { Http1ResponseParser, quoteBytes } from './http1-response-parser';
import { markerOffsets, markUuids, newUuidMarker, withFreshUuids } from './uuid-request';
import { errorKindOf, failure, refusedSend } from './outcome';
import { goAddress, startSweeper, tlsBaseOptions, type Connection, type RequestTemplate, type SocketWatcher, type Transport } from './transport';

export { errorKindOf };

/** Reads of plain sockets land in one buffer shared by a transport's sockets: the callback
 * runs synchronously per read and the parser copies what it keeps, so no Buffer is allocated
 * per read (net's `onread`). */
const READ_BUFFER_BYTES = 64 * 1024;
/** A connection's request before its first send. */
const NO_REQUEST = Buffer.alloc(0);

/** Methods a client may send again by itself after a connection failure (RFC 9110 9.2.2 calls
 * them idempotent; of those, only these three never change anything on a sane server). */
const RESENDABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The request as sent, built once: Host, User-Agent and Content-Length added when the user
 * did not give them, `Connection: close` without keep-alive. */
export function serialiseRequest(template: RequestTemplate): Buffer {
  const { url, method, headers, body } = template;
  for (const [name, value] of headers) {
    // A CR or LF would let a header value inject headers or a second request.
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) || /[\r\n\0]/.test(value)) {
      throw usageError(`bad request header ${JSON.stringify(name)}: names are tokens and values cannot hold CR, LF or NUL`);
    }
  }
  const has = (name: string): boolean => headers.some(([n]) => n.toLowerCase() === name);
  // HTTP/1.0 as Fortio writes it: no Host unless -H Host, no Connection header, as 1.0 closes
  // by default (fhttp/http_client.go NewFastClient, `if !bc.http10 || customHostHeader`).
  const http10 = template.http10 === true;
  let head = `${method} ${url.pathname || '/'}${url.search} HTTP/${http10 ? '1.0' : '1.1'}\r\n`;
  if (!has('host') && !http10) head += `Host: ${url.host}\r\n`;
  if (!has('user-agent')) head += `User-Agent: meshload/${meshloadVersion()}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  const upper = method.toUpperCase();
  const bodyMethod = upper === 'POST' || upper === 'PUT' || upper === 'PATCH';
  if (!has('content-length') && !has('transfer-encoding') && (body.length > 0 || bodyMethod)) {
    head += `Content-Length: ${body.length}\r\n`;
  }
  if (!template.keepAlive && !http10 && !has('connection')) head += 'Connection: close\r\n';
  head += '\r\n';
  // latin1: header values are bytes on the wire; utf8 would change their length.
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

export function createHttp1Transport(template: RequestTemplate): Transport {
  return new Http1Transport(template);
}

type Socket = net.Socket | tls.TLSSocket;

class Http1Transport implements Transport {
  readonly request: Buffer;
  /** Where `{uuid}` placeholders sit in `request`; undefined when it has none (the usual case). */
  readonly uuidOffsets: number[] | undefined;
  /** -unix-socket: every socket connects to this path. */
  readonly unixSocket: string | undefined;
  readonly tls: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly keepAlive: boolean;
  /** Keep the socket after a non-2xx (meshload's old model) instead of Fortio's close. */
  readonly reuseAfterError: boolean;
  readonly insecure: boolean;
  /** SNI, verification and client certificate: the same for every socket. */
  readonly tlsOptions: tls.ConnectionOptions;
  readonly headRequest: boolean;
  /** A bodiless GET, HEAD or OPTIONS: the only requests sent again on a stale keep-alive socket.
   * A POST resent after a drop would hide a failing upstream and could act twice. */
  readonly resendable: boolean;
  readonly readBuffer: Buffer;
  /** Resolved once per transport, as Fortio does, and reused for every socket. */
  address: string | undefined;
  /** TLS session to resume on the next handshake (new sockets after closes are cheaper). */
  session: Buffer | undefined;
  closed = false;
  private resolving: Array<(error: NodeJS.ErrnoException | null) => void> | undefined;
  private readonly connections = new Set<Http1Connection>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(template: RequestTemplate) {
    const { url } = template;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw usageError(`unsupported URL scheme ${url.protocol} in ${url.href}`, 'use http:// or https://');
    }
    const marker = newUuidMarker();
    const marked = markUuids(template, marker);
    this.request = serialiseRequest(marked ?? template);
    this.uuidOffsets = marked === undefined ? undefined : markerOffsets(this.request, marker);
    this.unixSocket = template.unixSocket;
    this.tls = url.protocol === 'https:';
    // URL keeps IPv6 literals in brackets; sockets want them bare.
    this.hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? (this.tls ? 443 : 80) : Number(url.port);
    this.timeoutMs = template.timeoutMs;
    // HTTP/1.0 has no keep-alive in Fortio's client: a socket per request.
    this.keepAlive = template.keepAlive && template.http10 !== true;
    this.reuseAfterError = template.reuseAfterError === true;
    this.insecure = template.insecure;
    this.tlsOptions = tlsBaseOptions(this.hostname, template.insecure, template.tls);
    this.headRequest = template.method.toUpperCase() === 'HEAD';
    this.resendable = RESENDABLE_METHODS.has(template.method.toUpperCase()) && template.body.length === 0;
    this.readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    if (net.isIP(this.hostname) !== 0) this.address = this.hostname;
    if (template.resolve !== undefined) this.address = template.resolve;
    this.sweeper = startSweeper(this.timeoutMs, () => this.sweep());
  }

  newConnection(watcher?: SocketWatcher): Connection {
    const connection = new Http1Connection(this, watcher);
    if (!this.closed) this.connections.add(connection);
    return connection;
  }

  close(): void {
    this.closed = true;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const connection of this.connections) connection.close();
    this.connections.clear();
  }

  forget(connection: Http1Connection): void {
    this.connections.delete(connection);
  }

  /** Resolves the host once; concurrent first connects share one lookup. A failure is not
   * cached, so the next send tries again. */
  resolve(then: (error: NodeJS.ErrnoException | null) => void): void {
    if (this.resolving !== undefined) {
      this.resolving.push(then);
      return;
    }
    const waiting = [then];
    this.resolving = waiting;
    lookup(this.hostname, (error, address) => {
      this.resolving = undefined;
      if (error === null) this.address = address;
      for (const callback of waiting) callback(error);
    });
  }

  private sweep(): void {
    const now = performance.now();
    for (const connection of this.connections) connection.expireIfLate(now);
  }
}

class Http1Connection implements Connection {
  socketsOpened = 0;
  resends = 0;
  private socket: Socket | undefined;
  private readonly parser = new Http1ResponseParser();
  private done: ((outcome: Outcome) => void) | undefined;
  /** 0: no deadline. */
  private deadline = 0;
  /** Bytes of the current response received so far. */
  private received = 0;
  /** The current request went out on a socket that had already served a response. */
  private reused = false;
  private retried = false;
  /** The socket has served at least one response. */
  private socketServed = false;
  private reconnectAfterResponse = false;
  /** The current request's bytes, set by send: the transport's, or a copy with fresh UUIDs. */
  private request: Buffer = NO_REQUEST;
  private closed = false;
  /** Bytes the server sent while no request was in flight, quoted: the next send reports them
   * (a protocol error) instead of being answered by a stream that can no longer be trusted. */
  private unsolicited: string | undefined;
  /** Counts sends, so a late DNS answer for an expired request is ignored. */
  private generation = 0;
  /** performance.now() when the current socket's dial began, 0 once its end was reported. */
  private dialStartMs = 0;
  private dialAddress = '';

  constructor(
    private readonly transport: Http1Transport,
    private readonly watcher: SocketWatcher | undefined,
  ) {
    this.parser.headRequest = transport.headRequest;
    if (transport.closed) this.closed = true;
  }

  send(done: (outcome: Outcome) => void): void {
    if (refusedSend(this.done !== undefined, this.closed, done)) return;
    if (this.unsolicited !== undefined) {
      process.nextTick(done, failure('protocol', this.unsolicited));
      this.unsolicited = undefined;
      return;
    }
    this.done = done;
    const t = this.transport;
    this.request = t.uuidOffsets === undefined ? t.request : withFreshUuids(t.request, t.uuidOffsets);
    this.generation++;
    this.received = 0;
    this.retried = false;
    this.deadline = this.transport.timeoutMs > 0 ? performance.now() + this.transport.timeoutMs : 0;
    this.transmit();
  }

  reconnect(): void {
    if (this.done !== undefined) {
      // Mid-request: finish it first, then drop the socket.
      this.reconnectAfterResponse = true;
      return;
    }
    this.dropSocket();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropSocket();
    this.transport.forget(this);
    if (this.done !== undefined) this.fail('closed', 'connection closed by meshload while the request was in flight', true);
  }

  /** Called by the transport's sweep. */
  expireIfLate(now: number): void {
    if (this.done !== undefined && this.deadline !== 0 && now >= this.deadline) {
      this.dropSocket();
      this.fail('timeout', `no complete response within ${this.transport.timeoutMs}ms`, false);
    }
  }

  /** Writes the request on the current socket, or opens one (resolving the host first). */
  private transmit(): void {
    const socket = this.socket;
    if (socket !== undefined && socket.writable) {
      this.reused = this.socketServed;
      socket.write(this.request);
      return;
    }
    if (socket !== undefined) this.dropSocket();
    this.reused = false;
    if (this.transport.address !== undefined || this.transport.unixSocket !== undefined) {
      this.open(this.transport.address ?? '');
      return;
    }
    const generation = this.generation;
    this.transport.resolve((error) => {
      if (generation !== this.generation || this.done === undefined) return; // expired or closed meanwhile
      if (error !== null) this.fail('dns', error.message, false);
      else this.open(this.transport.address as string);
    });
  }

  private open(address: string): void {
    try {
      this.connect(address);
    } catch (error) {
      // Bad options throw synchronously (a port Node rejects); `done` must stay asynchronous.
      this.dropSocket();
      this.fail('other', error instanceof Error ? error.message : String(error), true);
    }
  }

  /** `address` is ignored with -unix-socket. */
  private connect(address: string): void {
    const t = this.transport;
    const path = t.unixSocket;
    let socket: Socket;
    if (t.tls) {
      socket = tls.connect({
        ...t.tlsOptions,
        ...(path !== undefined ? { path } : { host: address, port: t.port }),
        ALPNProtocols: ['http/1.1'],
        ...(t.session !== undefined ? { session: t.session } : {}),
      });
      socket.on('session', (session: Buffer) => {
        t.session = session;
      });
      socket.on('data', (chunk: Buffer) => {
        if (this.socket === socket) this.onBytes(chunk, chunk.length);
      });
    } else {
      socket = net.connect({
        ...(path !== undefined ? { path } : { host: address, port: t.port }),
        onread: {
          buffer: t.readBuffer,
          callback: (length: number, buffer: Uint8Array): boolean => {
            if (this.socket === socket) this.onBytes(buffer, length);
            return true;
          },
        },
      });
    }
    socket.setNoDelay(true);
    // Every socket keeps an error listener for its whole life: an unhandled one would crash.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (this.socket === socket) this.onSocketError(error);
    });
    socket.on('end', () => {
      if (this.socket === socket) this.onSocketEnd();
    });
    socket.on('close', () => {
      if (this.socket === socket) this.onSocketEnd();
    });
    this.socket = socket;
    this.socketServed = false;
    this.socketsOpened++;
    if (this.watcher !== undefined) this.watchDial(socket, address);
    this.parser.reset();
    // Written before the connect completes: the socket queues it, saving a round of events.
    socket.write(this.request);
  }

  private onBytes(data: Uint8Array, length: number): void {
    if (this.done === undefined) {
      // Bytes nobody asked for: the stream can no longer be trusted. A 408 before an idle close
      // and stray CR/LF are what real servers send (Go's net/http drops the socket silently for
      // the same cases, transport.go is408Message); anything else fails the next send.
      if (!onlyLineEnds(data, 0, length) && !is408(data, length)) this.unsolicited = `response before request: ${quoteBytes(data, 0, length)}`;
      this.dropSocket();
      return;
    }
    this.received += length;
    const parser = this.parser;
    const stop = parser.execute(data, 0, length);
    if (parser.error !== undefined) {
      this.dropSocket();
      this.fail('protocol', parser.error, false);
    } else if (parser.complete) {
      if (stop < length && !onlyLineEnds(data, stop, length)) {
        // Bytes after the response answer nothing we sent: a wrong Content-Length, a smuggled
        // second response. The exchange cannot be trusted, so it counts as an error.
        this.dropSocket();
        this.fail('protocol', `unsolicited bytes after response: ${quoteBytes(data, stop, length)}`, false);
        return;
      }
      const t = this.transport;
      this.succeed(!parser.shouldClose && t.keepAlive && !this.reconnectAfterResponse && (t.reuseAfterError || keepsSocket(parser.status)));
    }
  }

  /** The peer closed (FIN or full close) or the socket closed without an error. */
  private onSocketEnd(): void {
    if (this.done === undefined) {
      this.dropSocket();
      return;
    }
    const parser = this.parser;
    if (parser.finish()) {
      this.succeed(false);
      return;
    }
    if (this.retryOnStaleSocket()) return;
    this.dropSocket();
    if (parser.error !== undefined && this.received > 0) this.fail('closed', parser.error, false);
    else this.fail('closed', 'connection closed before any response byte', false);
  }

  private onSocketError(error: NodeJS.ErrnoException): void {
    if (this.done === undefined) {
      this.dropSocket();
      return;
    }
    const kind = errorKindOf(error);
    if (kind === 'reset' && this.retryOnStaleSocket()) return;
    this.dropSocket();
    this.fail(kind, error.message, false);
  }

  /** A keep-alive socket the server closed while idle fails the next request before any
   * response byte; clients resend once on a new socket (RFC 9112 9.3.1), so it is no error.
   * Only for bodiless GET/HEAD/OPTIONS, and counted in `resends`. */
  private retryOnStaleSocket(): boolean {
    if (!this.reused || this.retried || this.received > 0 || this.closed || !this.transport.resendable) return false;
    this.retried = true;
    this.resends++;
    this.dropSocket();
    this.transmit();
    return true;
  }

  /** Reports the socket's dial to the watcher when it ends: one listener per socket, nothing per
   * request. Fortio times the dial, TLS handshake included (fhttp/http_client.go connect). */
  private watchDial(socket: Socket, address: string): void {
    (this.watcher as SocketWatcher).socketOpened();
    this.dialStartMs = performance.now();
    this.dialAddress = address;
    socket.once(this.transport.tls ? 'secureConnect' : 'connect', () => {
      if (this.socket === socket) this.dialEnded(socket.remoteAddress ?? address, socket.remotePort ?? this.transport.port);
    });
  }

  private dialEnded(host: string, port: number): void {
    const ms = performance.now() - this.dialStartMs;
    this.dialStartMs = 0;
    // Go's net.UnixAddr.String() is the socket's path: Fortio's IP lines show it for -unix-socket.
    this.watcher?.socketDialled(ms, this.transport.unixSocket ?? goAddress(host, port));
  }

  private dropSocket(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    // A dial that failed or was cut still took its time, as Fortio records it.
    if (this.dialStartMs !== 0) this.dialEnded(this.dialAddress, this.transport.port);
    this.socket = undefined;
    socket.destroy();
  }

  private succeed(keepSocket: boolean): void {
    const p = this.parser;
    const outcome: Outcome = {
      status: p.status,
      errorKind: undefined,
      errorMessage: undefined,
      headerBytes: p.headerBytes,
      bodyBytes: p.bodyBytes,
      viaEnvoy: p.viaEnvoy,
      envoyOverloaded: p.envoyOverloaded,
      bodyPrefix: p.bodyPrefix,
      version: p.version,
      attempt: p.attempt,
      clamped: p.clamped,
    };
    this.socketServed = true;
    if (!keepSocket) this.dropSocket();
    this.reconnectAfterResponse = false;
    this.finishWith(outcome, false);
  }

  private fail(kind: ErrorKind, message: string, deferred: boolean): void {
    this.reconnectAfterResponse = false;
    this.finishWith(failure(kind, message), deferred);
  }

  /** Clears the request state before calling back: `done` may send again at once. */
  private finishWith(outcome: Outcome, deferred: boolean): void {
    const done = this.done;
    if (done === undefined) return;
    this.done = undefined;
    this.deadline = 0;
    if (deferred) process.nextTick(done, outcome);
    else done(outcome);
  }
}

/** Statuses after which Fortio's fast client keeps its socket: 2xx and 418, everything else
 * closes it and the next call opens a new one (fortio/fortio fhttp/http_client.go, codeIsOK and
 * the end of FastClient.readResponse: `keepAlive && codeIsOK(c.code) && ...`). Against a breaker
 * this decides how many connections the proxy sees ("Sockets used"). */
function keepsSocket(status: number): boolean {
  return (status >= 200 && status <= 299) || status === 418;
}

/** Only CR and LF bytes: the empty lines RFC 9112 section 2.2 asks recipients to tolerate. */
function onlyLineEnds(data: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (data[i] !== 0x0d && data[i] !== 0x0a) return false;
  return true;
}

const STATUS_408 = /^HTTP\/1\.[01] 408[ \r\n]/;

/** A `408 Request Timeout` on an idle socket: the server is closing it. */
function is408(data: Uint8Array, length: number): boolean {
  return STATUS_408.test(Buffer.from(data.buffer, data.byteOffset, Math.min(length, 16)).toString('latin1'));
}
