/** The HTTP/2 transport against servers that misbehave on purpose: GOAWAY on sockets they keep
 * open, refused and reset streams, endless bodies, silence, resets mid-response. Every test
 * checks that each send got exactly one outcome, that no stream was processed twice, and that
 * it ends in bounded time; the last ones run the real CLI and check that it exits. */
import { existsSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { MAX_RESENDS } from '../../src/transport/h2-shared';
import { createH2Transport } from '../../src/transport/h2-transport';
import { createFastH2Transport } from '../../src/transport/h2-fast-transport';
import type { Connection, RequestTemplate, Transport } from '../../src/transport/transport';
import type { Outcome } from '../../src/model/outcome';
import { respond, startH2Server, type H2Script, type H2Server } from '../helpers/h2-server';
import { startHostileH2Server, type H2Peer, type HostileH2Server, type HostileScript } from '../helpers/hostile-h2-server';
import { MeshloadProcess } from '../helpers/spawn-meshload';
import { template } from '../helpers/transport-harness';

const { NGHTTP2_NO_ERROR, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;

const cleanups: Array<() => Promise<void> | void> = [];

type CreateTransport = (template: RequestTemplate) => Transport;
const TRANSPORTS: Array<{ name: string; create: CreateTransport; ownFraming: boolean }> = [
  { name: 'node:http2 transport', create: createH2Transport, ownFraming: false },
  { name: 'h2-wire transport (-h2)', create: createFastH2Transport, ownFraming: true },
];
/** The transport under test; the CLI runs at the end use what -h2 selects. */
let createTransport: CreateTransport = createFastH2Transport;

afterEach(async () => {
  // Transports and processes first (they hold client sessions), then the servers.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Connections share sessions here (meshload's --h2-multiplex): a GOAWAY or reset then reaches
 * many streams at once, the harder case; Fortio's one session per connection is a special case. */
function transport(url: string, overrides: Partial<RequestTemplate> = {}): Transport {
  const created = createTransport(template(url, { h2Multiplex: true, ...overrides }));
  cleanups.push(() => created.close());
  return created;
}

async function hostile(script: HostileScript): Promise<HostileH2Server> {
  const started = await startHostileH2Server(script);
  cleanups.push(() => started.close());
  return started;
}

async function nodeServer(script: H2Script): Promise<H2Server> {
  const started = await startH2Server(script);
  cleanups.push(() => started.close());
  return started;
}

/** Counts sends and callbacks, so a test can assert that every send got exactly one outcome. */
class Ledger {
  sends = 0;
  callbacks = 0;
  readonly outcomes: Outcome[] = [];

  send(connection: Connection): Promise<Outcome> {
    this.sends++;
    return new Promise((resolve) =>
      connection.send((outcome) => {
        this.callbacks++;
        this.outcomes.push(outcome);
        resolve(outcome);
      }),
    );
  }

  /** Each connection sends `perConnection` times, one after the other, all connections at once. */
  async run(connections: Connection[], perConnection: number): Promise<Outcome[]> {
    const results = await Promise.all(
      connections.map(async (connection) => {
        const outcomes: Outcome[] = [];
        for (let i = 0; i < perConnection; i++) outcomes.push(await this.send(connection));
        return outcomes;
      }),
    );
    return results.flat();
  }

  /** After a turn of the event loop (a second callback would have arrived by then). */
  async expectOneOutcomeEach(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(this.callbacks).toBe(this.sends);
  }
}

function resendsOf(connections: Connection[]): number {
  return connections.reduce((sum, c) => sum + c.resends, 0);
}

/** Rejects when `promise` is not settled within `ms`: bounds an await, never replaces it. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms}ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** TCP sockets open in this process, client and server side. */
function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
}

/** Waits until this process holds at most `count` TCP sockets (sockets of earlier tests may
 * still be closing when the baseline is taken). No event says when node:http2 lets go of a
 * socket, so this polls, within a bound. */
async function untilTcpSockets(count: () => number, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (tcpSockets() > count()) {
    if (performance.now() > deadline) throw new Error(`${tcpSockets()} TCP sockets open after ${ms}ms, expected ${count()}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
  }
}

function failed(kind: Outcome['errorKind']): Partial<Outcome> {
  return { status: -1, errorKind: kind };
}

function expectOneLine(message: string | undefined): void {
  expect(message).toBeDefined();
  expect(message?.length).toBeLessThanOrEqual(200);
  expect(message).not.toMatch(/[\r\n]/);
}

/** Both HTTP/2 transports must pass every test below: node:http2's (kept as the reference)
 * and meshload's own framing (h2-wire), which -h2 uses. */
describe.each(TRANSPORTS)('$name', ({ create, ownFraming }) => {
  beforeAll(() => {
    createTransport = create;
  });
  afterAll(() => {
    createTransport = createFastH2Transport;
  });
  describe('GOAWAY', () => {
    it('NO_ERROR on a socket the server keeps open: the streams it covers finish, and we close the socket ourselves', async () => {
      let processed = 0;
      const answer = (peer: H2Peer, id: number): void => {
        processed++;
        peer.respond(id);
      };
      const first: number[] = [];
      const server = await hostile({
        keepOpen: true,
        onStream: (peer, id) => {
          if (peer.index > 0) return answer(peer, id);
          first.push(id);
          if (first.length < 2) return;
          peer.goaway(id, NGHTTP2_NO_ERROR);
          for (const held of first) answer(peer, held);
        },
      });
      const baseline = tcpSockets();
      const t = transport(server.url);
      const connections = [t.newConnection(), t.newConnection()];
      const ledger = new Ledger();
      const started = performance.now();
      const outcomes = await ledger.run(connections, 1);
      for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 200, bodyBytes: 2 });
      // The server never closes it: only we can, after LINGER_MS.
      await untilTcpSockets(() => baseline + server.accepted - server.closed, 5000);
      expect(server.closed).toBe(0);
      expect(performance.now() - started).toBeLessThan(5000);
      // The next send goes to a new session.
      expect((await ledger.run(connections, 2)).every((o) => o.status === 200)).toBe(true);
      expect(server.accepted).toBe(2);
      await ledger.expectOneOutcomeEach();
      expect(processed).toBe(ledger.sends);
      expect(resendsOf(connections)).toBe(0);
    });

    it('NO_ERROR with a low last-stream-id while streams are in flight: the unprocessed ones are resent once, on a new session', async () => {
      let processed = 0;
      const first: number[] = [];
      const server = await hostile({
        keepOpen: true,
        onStream: (peer, id) => {
          if (peer.index > 0) {
            processed++;
            return peer.respond(id);
          }
          first.push(id);
          if (first.length < 4) return;
          // Streams 1 and 3 are covered and answered; 5 and 7 are not processed, ever.
          peer.goaway(3, NGHTTP2_NO_ERROR);
          processed += 2;
          peer.respond(1);
          peer.respond(3);
        },
      });
      const t = transport(server.url);
      const connections = Array.from({ length: 4 }, () => t.newConnection());
      const ledger = new Ledger();
      const outcomes = await within(5000, ledger.run(connections, 1), 'four calls over a GOAWAY');
      for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 200, errorKind: undefined });
      expect(first).toEqual([1, 3, 5, 7]);
      expect(resendsOf(connections)).toBe(2);
      expect(server.accepted).toBe(2);
      expect(server.streams).toHaveLength(6);
      expect((await ledger.run(connections, 5)).every((o) => o.status === 200)).toBe(true);
      await ledger.expectOneOutcomeEach();
      expect(processed).toBe(ledger.sends);
      expect(server.accepted).toBe(2);
      // No stream went out on the first session after its GOAWAY.
      expect(server.streams.filter((s) => s.peer === 0)).toHaveLength(4);
    });

    it('PROTOCOL_ERROR with last-stream-id 1: stream 1 fails with the reason, the streams above it are resent', async () => {
      let processed = 0;
      const server = await hostile({
        keepOpen: true,
        onStream: (peer, id) => {
          if (peer.index > 0) {
            processed++;
            return peer.respond(id);
          }
          if (id === 5) peer.goaway(1, NGHTTP2_PROTOCOL_ERROR, 'bad\r\nthing');
        },
      });
      const t = transport(server.url);
      const connections = Array.from({ length: 3 }, () => t.newConnection());
      const ledger = new Ledger();
      const outcomes = await within(5000, ledger.run(connections, 1), 'three calls over a GOAWAY');
      const errors = outcomes.filter((o) => o.status === -1);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ ...failed('protocol'), errorMessage: 'GOAWAY PROTOCOL_ERROR (last stream 1) before the response headers' });
      expect(outcomes.filter((o) => o.status === 200)).toHaveLength(2);
      expect(resendsOf(connections)).toBe(2);
      await ledger.expectOneOutcomeEach();
      expect(processed).toBe(2);
      expect(server.streams).toHaveLength(5);
    });

    it('on every new session, with last-stream-id 0: each call is resent at most MAX_RESENDS times, then fails', async () => {
      const server = await hostile({ keepOpen: true, onStream: (peer) => peer.goaway(0, NGHTTP2_NO_ERROR) });
      const t = transport(server.url);
      const connections = Array.from({ length: 3 }, () => t.newConnection());
      const ledger = new Ledger();
      const outcomes = await within(5000, ledger.run(connections, 2), 'six calls against a GOAWAY on every stream');
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject(failed('closed'));
        expect(outcome.errorMessage).toBe(`GOAWAY NO_ERROR (last stream 0): not processed, ${MAX_RESENDS} resends`);
      }
      expect(resendsOf(connections)).toBe(6 * MAX_RESENDS);
      expect(server.streams).toHaveLength(6 * (1 + MAX_RESENDS));
      await ledger.expectOneOutcomeEach();
    });
  });

  describe('RST_STREAM', () => {
    it('REFUSED_STREAM: the call is resent on a new session and counted once', async () => {
      let processed = 0;
      const server = await nodeServer((stream, _headers, self) => {
        // Every other stream is refused: each call's first try.
        if (self.requests.length % 2 === 1) return stream.close(NGHTTP2_REFUSED_STREAM);
        processed++;
        respond(stream, 200, 'ok');
      });
      const connection = transport(server.url).newConnection();
      const ledger = new Ledger();
      const outcomes = await within(5000, ledger.run([connection], 6), 'six refused-then-answered calls');
      for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 200, bodyBytes: 2 });
      expect(connection.resends).toBe(6);
      expect(server.requests).toHaveLength(12);
      // The shared session, and one of its own for each resend.
      expect(server.sessions).toBe(7);
      expect(connection.socketsOpened).toBe(7);
      await ledger.expectOneOutcomeEach();
      expect(processed).toBe(ledger.sends);
    });

    it('a session that refuses every stream: the resend on a new session is answered', async () => {
      let processed = 0;
      const server = await nodeServer((stream, _headers, self) => {
        // The first session refuses all it gets (overloaded); later ones answer.
        if (self.sessions === 1) return stream.close(NGHTTP2_REFUSED_STREAM);
        processed++;
        respond(stream, 200, 'ok');
      });
      const t = transport(server.url);
      const connections = Array.from({ length: 3 }, () => t.newConnection());
      const ledger = new Ledger();
      const outcomes = await within(5000, ledger.run(connections, 1), 'three calls refused by their first session');
      for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 200, bodyBytes: 2 });
      expect(resendsOf(connections)).toBe(3);
      await ledger.expectOneOutcomeEach();
      expect(processed).toBe(ledger.sends);
    });

    it('REFUSED_STREAM forever: bounded resends, then a reset error per call', async () => {
      const server = await nodeServer((stream) => stream.close(NGHTTP2_REFUSED_STREAM));
      const t = transport(server.url);
      const connections = Array.from({ length: 4 }, () => t.newConnection());
      const ledger = new Ledger();
      const outcomes = await within(5000, ledger.run(connections, 2), 'eight always-refused calls');
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject(failed('reset'));
        expect(outcome.errorMessage).toBe(`stream reset by server: REFUSED_STREAM before the response headers (${MAX_RESENDS} resends)`);
      }
      expect(resendsOf(connections)).toBe(8 * MAX_RESENDS);
      expect(server.requests).toHaveLength(8 * (1 + MAX_RESENDS));
      await ledger.expectOneOutcomeEach();
    });

    it('INTERNAL_ERROR: the stream may have been processed, so it is an error and never resent', async () => {
      const server = await nodeServer((stream) => stream.close(NGHTTP2_INTERNAL_ERROR));
      const t = transport(server.url);
      const connections = Array.from({ length: 4 }, () => t.newConnection());
      const ledger = new Ledger();
      const outcomes = await within(5000, ledger.run(connections, 2), 'eight reset calls');
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({ ...failed('reset'), errorMessage: 'stream reset by server: INTERNAL_ERROR before the response headers' });
      }
      expect(resendsOf(connections)).toBe(0);
      expect(server.requests).toHaveLength(8);
      expect(server.sessions).toBe(1);
      await ledger.expectOneOutcomeEach();
    });
  });

  describe('endless, silent and broken servers', () => {
    it('ends an endless body by the per-request timeout: the stream is reset, the body read and dropped', async () => {
      let written = 0;
      let cancelled: Promise<number | undefined> | undefined;
      const server = await nodeServer((stream, _headers, self) => {
        if (self.requests.length > 1) return respond(stream, 200, 'ok');
        cancelled = new Promise((resolve) => stream.on('close', () => resolve(stream.rstCode)));
        stream.respond({ ':status': 200 });
        const chunk = Buffer.alloc(16 * 1024, 'x');
        const pump = (): void => {
          while (!stream.destroyed && !stream.closed) {
            written += chunk.length;
            if (!stream.write(chunk)) return void stream.once('drain', pump);
          }
        };
        pump();
      });
      const connection = transport(server.url, { timeoutMs: 1000 }).newConnection();
      const ledger = new Ledger();
      const started = performance.now();
      const outcome = await within(5000, ledger.send(connection), 'an endless body to time out');
      expect(outcome).toMatchObject({ ...failed('timeout'), errorMessage: 'no complete response within 1000ms' });
      expect(performance.now() - started).toBeLessThan(4000);
      expect(await within(5000, cancelled as Promise<number | undefined>, 'the server to see the reset')).toBe(NGHTTP2_CANCEL);
      // Past the 1 MiB stream window: we read (and counted) the body rather than stall it.
      expect(written).toBeGreaterThan(2 * 1024 * 1024);
      expect(await ledger.send(connection)).toMatchObject({ status: 200, bodyBytes: 2 });
      expect(server.sessions).toBe(1);
      await ledger.expectOneOutcomeEach();
    });

    it('bounds a server that never sends SETTINGS nor answers by the timeout, and dials again next time', async () => {
      const server = await hostile({ silent: true });
      const t = transport(server.url, { timeoutMs: 300 });
      const connections = [t.newConnection(), t.newConnection()];
      const ledger = new Ledger();
      const started = performance.now();
      const outcomes = await within(5000, ledger.run(connections, 1), 'two calls to a silent server');
      expect(performance.now() - started).toBeLessThan(3000);
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject(failed('timeout'));
        expect(outcome.errorMessage).toMatch(/no complete response within 300ms/);
      }
      // The silent session was destroyed: the server sees it go, the next send dials again.
      await within(5000, server.whenClosed(1), 'the silent session to close');
      await ledger.run(connections, 1);
      expect(server.accepted).toBe(2);
      await ledger.expectOneOutcomeEach();
    });

    it('fails each in-flight stream once when the server resets the connection mid-response, then opens a new session', async () => {
      let processed = 0;
      const first: number[] = [];
      const server = await hostile({
        onStream: (peer, id) => {
          if (peer.index > 0) {
            processed++;
            return peer.respond(id);
          }
          first.push(id);
          if (first.length < 3) return;
          peer.headers(1);
          peer.data(1, 'partial');
          peer.socket.write(Buffer.alloc(0), () => peer.socket.resetAndDestroy());
        },
      });
      const t = transport(server.url);
      const connections = Array.from({ length: 3 }, () => t.newConnection());
      const ledger = new Ledger();
      const outcomes = await within(5000, ledger.run(connections, 1), 'three calls on a reset connection');
      for (const outcome of outcomes) {
        expect(outcome.status).toBe(-1);
        // node:http2 does not surface the socket's ECONNRESET: the streams just close.
        expect(outcome.errorKind).toBe('closed');
        expect(outcome.errorMessage).toMatch(/^the connection closed before the response (headers|was complete)$/);
        expectOneLine(outcome.errorMessage);
      }
      expect(resendsOf(connections)).toBe(0);
      expect((await ledger.run(connections, 2)).every((o) => o.status === 200)).toBe(true);
      expect(server.accepted).toBe(2);
      await ledger.expectOneOutcomeEach();
      expect(processed).toBe(6);
    });

    it('a frame the protocol forbids (DATA on stream 0): a protocol error (node:http2: a timeout, then a PING the session must answer), the session is dropped', async () => {
      // nghttp2 answers it with GOAWAY(PROTOCOL_ERROR) and stops the session, and node:http2 says
      // nothing: only the timeout and the PING probe that follows it can tell.
      let processed = 0;
      const server = await hostile({
        onStream: (peer, id) => {
          if (peer.index === 0) return peer.data(0, 'junk');
          processed++;
          peer.respond(id);
        },
      });
      const connection = transport(server.url, { timeoutMs: 300 }).newConnection();
      const ledger = new Ledger();
      const started = performance.now();
      const outcome = await within(5000, ledger.send(connection), 'a call answered with a bad frame');
      if (ownFraming) {
        // Our own framing sees the bad frame: GOAWAY(PROTOCOL_ERROR) and a protocol failure at
        // once, no timeout needed (a timeout would be the outcome 'timeout', not this one).
        expect(outcome).toMatchObject(failed('protocol'));
        expect(outcome.errorMessage).toBe('HTTP/2 protocol error from the server (PROTOCOL_ERROR): DATA on stream 0');
      } else {
        expect(outcome).toMatchObject(failed('timeout'));
      }
      await within(5000, server.whenClosed(1), 'the broken session to be dropped');
      expect(performance.now() - started).toBeLessThan(4000);
      expect(await ledger.send(connection)).toMatchObject({ status: 200, bodyBytes: 2 });
      expect(server.accepted).toBe(2);
      await ledger.expectOneOutcomeEach();
      expect(processed).toBe(1);
    });
  });

  describe('close()', () => {
    it('releases a session still draining after GOAWAY, whose stream the server never finishes', async () => {
      const server = await nodeServer((stream) => stream.session?.goaway(NGHTTP2_NO_ERROR, stream.id));
      const t = transport(server.url);
      const ledger = new Ledger();
      const inFlight = ledger.send(t.newConnection());
      await server.whenStreams(1);
      t.close();
      expect(await inFlight).toMatchObject(failed('closed'));
      await within(5000, server.whenSessionsClosed(1), 'the draining session to close');
      await ledger.expectOneOutcomeEach();
    });

    it('releases sessions still connecting, and every socket', async () => {
      const server = await hostile({ keepOpen: true });
      const baseline = tcpSockets();
      const t = transport(server.url);
      const ledger = new Ledger();
      const pending = Array.from({ length: 3 }, () => ledger.send(t.newConnection()));
      t.close();
      for (const outcome of await Promise.all(pending)) expect(outcome).toMatchObject(failed('closed'));
      await untilTcpSockets(() => baseline + server.accepted - server.closed, 5000);
      await ledger.expectOneOutcomeEach();
    });
  });
});

const BIN = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

describe('the meshload CLI (load -h2) against a server that sends GOAWAY and keeps the socket open', () => {
  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error('dist/ is missing: run `npm run build` before these tests');
  });

  async function runCli(args: string[], ms: number): Promise<{ code: number | null; stdout: string; stderr: string; elapsedMs: number }> {
    const started = performance.now();
    const proc = new MeshloadProcess(args);
    cleanups.push(() => proc.kill());
    const code = await within(ms, proc.exitCode(), `meshload ${args.join(' ')} to exit; stderr: ${proc.stderr}`);
    return { code, stdout: proc.stdout, stderr: proc.stderr, elapsedMs: performance.now() - started };
  }

  it('-c 4 -n 50: every call answered once, resends on new sessions, and the process exits', async () => {
    let processed = 0;
    // Every third stream of a connection gets GOAWAY(NO_ERROR) naming it last; streams above
    // it are never answered. The server never closes a socket.
    const seen = new Map<number, number>();
    const server = await hostile({
      keepOpen: true,
      onStream: (peer, id) => {
        const count = (seen.get(peer.index) ?? 0) + 1;
        seen.set(peer.index, count);
        if (count > 3) return;
        if (count === 3) peer.goaway(id, NGHTTP2_NO_ERROR);
        processed++;
        peer.respond(id);
      },
    });
    const run = await runCli(['load', '-h2', '--h2-multiplex', '-c', '4', '-qps', '0', '-n', '50', '-json', '-', server.url], 10_000);
    expect(run.code).toBe(0);
    const fortio = JSON.parse(run.stdout) as { RetCodes: Record<string, number>; SocketCount: number };
    expect(fortio.RetCodes).toEqual({ '200': 50 });
    expect(processed).toBe(50);
    expect(fortio.SocketCount).toBe(server.accepted);
    expect(server.accepted).toBeGreaterThanOrEqual(17);
    expect(server.streams.length).toBeGreaterThanOrEqual(50);
  });

  it("-c 4 -n 50 with Fortio's one session per connection: every call answered once, and the process exits", async () => {
    let processed = 0;
    const seen = new Map<number, number>();
    const server = await hostile({
      keepOpen: true,
      onStream: (peer, id) => {
        const count = (seen.get(peer.index) ?? 0) + 1;
        seen.set(peer.index, count);
        if (count > 3) return;
        if (count === 3) peer.goaway(id, NGHTTP2_NO_ERROR);
        processed++;
        peer.respond(id);
      },
    });
    const run = await runCli(['load', '-h2', '-c', '4', '-qps', '0', '-n', '50', '-json', '-', server.url], 10_000);
    expect(run.code).toBe(0);
    const fortio = JSON.parse(run.stdout) as { RetCodes: Record<string, number>; SocketCount: number };
    expect(fortio.RetCodes).toEqual({ '200': 50 });
    expect(processed).toBe(50);
    expect(fortio.SocketCount).toBe(server.accepted);
  });

  it('-t 2s: the run ends on time although sessions keep draining, and no stream is processed twice', async () => {
    let processed = 0;
    const seen = new Map<number, number>();
    // Every second stream of a connection gets GOAWAY(NO_ERROR) naming it last, and the server
    // answers nothing above it, nor anything at all on one connection in five.
    const server = await hostile({
      keepOpen: true,
      onStream: (peer, id) => {
        const count = (seen.get(peer.index) ?? 0) + 1;
        seen.set(peer.index, count);
        if (count > 2 || peer.index % 5 === 4) return;
        if (count === 2) peer.goaway(id, NGHTTP2_NO_ERROR);
        processed++;
        peer.respond(id);
      },
    });
    const run = await runCli(['load', '-h2', '--h2-multiplex', '-c', '4', '-qps', '200', '-t', '2s', '-timeout', '500ms', '-json', '-', server.url], 10_000);
    expect(run.code).toBe(0);
    const fortio = JSON.parse(run.stdout) as {
      RetCodes: Record<string, number>;
      Meshload: { errorsByKind: Record<string, number>; warmupRequests: number };
    };
    // Four sessions answer two streams each; then every Connection is stuck on the fifth,
    // which acknowledges PINGs but answers no stream: timeouts until -t ends the run.
    expect(run.elapsedMs).toBeLessThan(10_000);
    expect(processed).toBe(8);
    expect((fortio.RetCodes['200'] ?? 0) + fortio.Meshload.warmupRequests).toBe(processed);
    expect(Object.keys(fortio.Meshload.errorsByKind)).toEqual(['timeout']);
  });

  it('-timeout 300ms against a silent server: every call times out and the process exits', async () => {
    const server = await hostile({ silent: true, keepOpen: true });
    const run = await runCli(['load', '-h2', '--h2-multiplex', '-c', '4', '-qps', '0', '-n', '8', '-timeout', '300ms', '-json', '-', server.url], 10_000);
    const fortio = JSON.parse(run.stdout) as { RetCodes: Record<string, number>; Meshload: { errorsByKind: Record<string, number> } };
    expect(fortio.RetCodes).toEqual({ '-1': 8 });
    expect(fortio.Meshload.errorsByKind).toEqual({ timeout: 8 });
    expect(run.elapsedMs).toBeLessThan(10_000);
  });
});
