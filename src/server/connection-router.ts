/** Routes each connection of the echo port to HTTP/1.1 or h2c (HTTP/2 with prior knowledge), as
 * Fortio's server does, by reading its first bytes; and owns what every raw socket needs before
 * and beyond either protocol: an 'error' listener from the first moment, a bound on the time to
 * the first request, and a list for shutdown. */
import type { Socket } from 'node:net';

/** The HTTP/2 client connection preface (RFC 9113 3.4). */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export type Protocol = 'http1' | 'h2';

/** 'more' while the bytes so far are a strict prefix of the preface: a client may send it in
 * several segments, and choosing early would hand half a preface to the HTTP/1.1 parser. */
export function classifyFirstBytes(head: Buffer): Protocol | 'more' {
  const n = Math.min(head.length, H2_PREFACE.length);
  if (head.compare(H2_PREFACE, 0, n, 0, n) !== 0) return 'http1';
  return head.length >= H2_PREFACE.length ? 'h2' : 'more';
}

export interface ConnectionRouterOptions {
  /** How long a connection may take to say which protocol it speaks (its first bytes). */
  firstBytesTimeoutMs: number;
  /** Takes a socket whose sniffed bytes are back in its readable buffer, paused. */
  route(socket: Socket, protocol: Protocol): void;
}

export class ConnectionRouter {
  private readonly open = new Set<Socket>();
  private readonly undecided = new Set<Socket>();
  private closing = false;

  constructor(private readonly options: ConnectionRouterOptions) {}

  accept(socket: Socket): void {
    // The protocol's own listeners come later (or never, for a peer that resets at once); without
    // this one, an ECONNRESET before them is an uncaught 'error' that ends the process.
    socket.on('error', ignoreSocketError);
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.open.add(socket);
    this.undecided.add(socket);
    socket.once('close', () => {
      this.open.delete(socket);
      this.undecided.delete(socket);
    });
    this.sniff(socket);
  }

  private sniff(socket: Socket): void {
    let head: Buffer | undefined;
    const stop = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', stop);
      this.undecided.delete(socket);
    };
    const onData = (chunk: Buffer): void => {
      head = head === undefined ? chunk : Buffer.concat([head, chunk]);
      const protocol = classifyFirstBytes(head);
      if (protocol === 'more') return;
      stop();
      socket.pause();
      socket.unshift(head);
      this.options.route(socket, protocol);
    };
    // http.Server sockets allow half-open connections, so a peer's FIN alone closes nothing: a
    // connect-and-close probe would sit in CLOSE-WAIT for good.
    const onEnd = (): void => {
      stop();
      socket.destroy();
    };
    const timer = setTimeout(() => {
      stop();
      socket.destroy();
    }, this.options.firstBytesTimeoutMs);
    socket.on('data', onData);
    socket.on('end', onEnd);
    // A socket destroyed under the sniffer (a reset, shutdown) must not leave its timer holding
    // the process open.
    socket.once('close', stop);
  }

  /** Refuses later connections and closes the ones that have not sent a request yet. */
  stopAccepting(): void {
    this.closing = true;
    for (const socket of this.undecided) socket.destroy();
  }

  /** The end of the drain: whatever is still open goes. */
  destroyAll(): void {
    for (const socket of this.open) socket.destroy();
  }

  get openCount(): number {
    return this.open.size;
  }
}

function ignoreSocketError(): void {
  // The socket is destroyed by the error itself; the protocol layers count what they must.
}
