/** -tcp-port: Fortio's TCP echo. Bytes come back as sent; resets, idle peers and many short
 * connections leave neither a crash nor descriptors behind. */
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { startTcpEchoServer, type RunningTcpEchoServer } from '../../src/server/tcp-echo-server';

let server: RunningTcpEchoServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const openFds = (): number => readdirSync('/proc/self/fd').length;

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes `data`, half-closes, and collects everything echoed until the server ends. */
async function roundTrip(port: number, data: Buffer): Promise<Buffer> {
  const socket = await connect(port);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
  socket.end(data);
  await ended;
  return Buffer.concat(chunks);
}

describe('TCP echo server', () => {
  it('echoes the bytes it reads, in order, including binary and a large write', async () => {
    server = await startTcpEchoServer({ listen: { host: '127.0.0.1', port: 0 } });
    const small = Buffer.from([0, 1, 2, 255, 10, 13]);
    expect(await roundTrip(server.address.port, small)).toEqual(small);
    const large = Buffer.alloc(4 * 1024 * 1024, 'abcdefgh');
    expect((await roundTrip(server.address.port, large)).equals(large)).toBe(true);
  });

  it('survives a reset mid-stream and keeps echoing', async () => {
    server = await startTcpEchoServer({ listen: { host: '127.0.0.1', port: 0 } });
    const socket = await connect(server.address.port);
    socket.on('error', () => undefined);
    socket.write(Buffer.alloc(256 * 1024, 'x')); // the server is still writing it back when reset
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.resetAndDestroy();
    await closed;
    expect((await roundTrip(server.address.port, Buffer.from('still here'))).toString()).toBe('still here');
  });

  it('closes a connection that stays silent past the idle timeout', async () => {
    server = await startTcpEchoServer({ listen: { host: '127.0.0.1', port: 0 }, idleTimeoutMs: 200 });
    const socket = await connect(server.address.port);
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses connections past its maximum instead of holding more', async () => {
    server = await startTcpEchoServer({ listen: { host: '127.0.0.1', port: 0 }, maxConnections: 1 });
    const first = await connect(server.address.port);
    const second = await connect(server.address.port);
    second.on('error', () => undefined);
    await new Promise((resolve) => second.once('close', resolve)); // dropped at accept
    expect((await roundTrip(server.address.port, Buffer.from('x'))).length).toBe(0); // still refused
    first.destroy();
  });

  it('leaves the descriptor count where it was after 200 connect-and-close probes', async () => {
    server = await startTcpEchoServer({ listen: { host: '127.0.0.1', port: 0 } });
    const before = openFds();
    for (let i = 0; i < 200; i++) {
      const socket = await connect(server.address.port);
      await new Promise((resolve) => {
        socket.once('close', resolve);
        socket.end();
      });
    }
    // The server's side closes just after the client's; allow it a bounded moment.
    const deadline = Date.now() + 5_000;
    while (openFds() > before + 2 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(openFds()).toBeLessThanOrEqual(before + 2);
  });

  it('closes open connections at once on close()', async () => {
    server = await startTcpEchoServer({ listen: { host: '127.0.0.1', port: 0 } });
    const socket = await connect(server.address.port);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const started = Date.now();
    await server.close();
    await closed;
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
