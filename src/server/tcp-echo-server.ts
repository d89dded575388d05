/** Fortio's -tcp-port: a TCP echo server (fnet.TCPEchoServer): every byte read is written back. */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../util/listen-address';
import { closeOnce, listenOn } from './listen-on';

/** A connection silent this long is closed, so an abandoned peer does not hold a descriptor. */
export const TCP_IDLE_TIMEOUT_MS = 60_000;
/** Past this, new connections are refused at accept: descriptors stay bounded. */
export const TCP_MAX_CONNECTIONS = 10_000;

export interface TcpEchoServerOptions {
  listen: ListenAddress;
  idleTimeoutMs?: number;
  maxConnections?: number;
}

export interface RunningTcpEchoServer {
  address: AddressInfo;
  /** Stops accepting and closes every connection at once: an echo has nothing to drain. */
  close(): Promise<void>;
}

export async function startTcpEchoServer(options: TcpEchoServerOptions): Promise<RunningTcpEchoServer> {
  const idleMs = options.idleTimeoutMs ?? TCP_IDLE_TIMEOUT_MS;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ pauseOnConnect: false }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined); // a reset mid-stream is the peer's business
    socket.on('close', () => sockets.delete(socket));
    socket.setTimeout(idleMs, () => socket.destroy());
    // pipe() pauses reading while the write side is full: a peer that sends without reading
    // costs at most the stream high-water marks, never unbounded memory.
    socket.pipe(socket);
  });
  server.maxConnections = options.maxConnections ?? TCP_MAX_CONNECTIONS;
  const address = await listenOn(server, options.listen, 'TCP echo', '-tcp-port');
  return {
    address,
    close: closeOnce(server, () => {
      for (const socket of sockets) socket.destroy();
    }),
  };
}
