/** Steps' waiting: polling loops leave no listeners behind, and long waits are not shortened. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getEventListeners } from 'node:events';
import { pause, runStep, stopBackground, type StepContext } from '../../src/scenario/steps';

let server: Server | undefined;
afterEach(async () => {
  jest.useRealTimers();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

function context(signal: AbortSignal): StepContext {
  return { signal, adminUrl: undefined, stats: undefined, background: [], running: new Set(), cwd: process.cwd(), env: process.env };
}

describe('start: readiness polling', () => {
  it('leaves no abort listener on the run signal, however many polls', async () => {
    // A ready URL that answers 503: the step polls every 100 ms until its timeout.
    let polls = 0;
    server = createServer((_, res) => {
      polls++;
      res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    const controller = new AbortController();
    const ctx = context(controller.signal);
    try {
      const result = await runStep({ kind: 'start', command: 'exec sleep 30', ready: `http://127.0.0.1:${port}/`, timeout: 1500 }, ctx);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/did not answer within 1500 ms/);
      expect(polls).toBeGreaterThan(10);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await stopBackground(ctx.background);
    }
  });
});

describe('pause', () => {
  it('removes its abort listener when the time is up', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 50; i++) await pause(0, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('waits longer than a Node timer holds (2^31-1 ms) instead of firing after 1 ms', async () => {
    jest.useFakeTimers();
    const long = 2 ** 31 + 5_000;
    let done = false;
    void pause(long, new AbortController().signal).then(() => {
      done = true;
    });
    await jest.advanceTimersByTimeAsync(10);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(done).toBe(true);
  });

  it('ends at once when the signal aborts', async () => {
    const controller = new AbortController();
    const waiting = pause(60_000, controller.signal);
    controller.abort();
    await waiting;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('step results', () => {
  it('never carry the credentials of a URL in their description or error', async () => {
    // A ready URL with a user and password, and a server that never becomes ready.
    server = createServer((_, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const ctx = context(new AbortController().signal);
    try {
      const result = await runStep({ kind: 'start', command: 'exec sleep 30', ready: `http://ops:hunter2@127.0.0.1:${port}/?api_key=k-42`, timeout: 300 }, ctx);
      expect(result.ok).toBe(false);
      const text = JSON.stringify(result);
      expect(text).not.toMatch(/hunter2|k-42/);
      expect(text).toContain('<redacted>@127.0.0.1');
    } finally {
      await stopBackground(ctx.background);
    }
  });
});
