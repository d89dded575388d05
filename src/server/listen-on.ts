/** Binds a TCP/HTTP listener for one of the server's extra ports, failing with one line. */
import type { AddressInfo, Server } from 'node:net';
import { MeshloadError } from '../util/errors';
import type { ListenAddress } from '../util/listen-address';

export function listenOn(server: Server, address: ListenAddress, what: string, flag: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const reason = error.code === 'EADDRINUSE' ? 'address already in use' : error.message;
      reject(new MeshloadError('E_LISTEN', `cannot listen for ${what} on ${address.host ?? ''}:${address.port}: ${reason}`, `choose another ${flag}, or 0 for a free port`));
    };
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      // After listen, 'error' is a failed accept (EMFILE): that connection is lost, not the server.
      server.on('error', () => undefined);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Closes `server` once, however often it is called: stops accepting, ends its open connections
 * with `dropConnections`, and resolves when the listener is closed. */
export function closeOnce(server: Server, dropConnections: () => void): () => Promise<void> {
  let closed: Promise<void> | undefined;
  return () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      dropConnections();
    });
    return closed;
  };
}
