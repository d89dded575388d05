/** Entry point of a worker thread: runs its share of a plan and posts the result back. */
import { parentPort, workerData } from 'node:worker_threads';
import { transportForPlan } from './transport-for-plan';
import type { LoadPlan } from '../model/load-plan';
import { newProgress } from './run-options';
import { runLoad } from './run-load';

export type WorkerMessage =
  | { kind: 'progress'; completed: number; notOk: number; startedAtMs: number | undefined }
  | { kind: 'result'; result: import('../model/load-result').LoadResult }
  | { kind: 'error'; message: string };

/** How often a worker reports its counters to the main thread. */
const PROGRESS_EVERY_MS = 200;

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const data = workerData as { plan: Omit<LoadPlan, 'payload'> & { payload: Uint8Array }; allowInitialErrorsHint: string | undefined };
  const plan: LoadPlan = { ...data.plan, payload: Buffer.from(data.plan.payload) };
  const controller = new AbortController();
  port.on('message', (message: unknown) => {
    if (message === 'stop') controller.abort();
  });
  const progress = newProgress();
  const timer = setInterval(() => {
    // performance.now() differs between threads; send the elapsed time instead of the origin.
    const startedAtMs = progress.startedAtMs === undefined ? undefined : performance.now() - progress.startedAtMs;
    port.postMessage({ kind: 'progress', completed: progress.completed, notOk: progress.notOk, startedAtMs } satisfies WorkerMessage);
  }, PROGRESS_EVERY_MS);
  try {
    const transport = transportForPlan(plan);
    const result = await runLoad(plan, transport, { signal: controller.signal, progress, ...(data.allowInitialErrorsHint !== undefined ? { allowInitialErrorsHint: data.allowInitialErrorsHint } : {}) });
    port.postMessage({ kind: 'result', result } satisfies WorkerMessage);
  } catch (error) {
    port.postMessage({ kind: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies WorkerMessage);
  } finally {
    clearInterval(timer);
    port.close();
  }
}

void main();
