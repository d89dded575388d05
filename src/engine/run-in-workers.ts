/** --workers N: runs a plan on N worker threads (each its own event loop and sockets) and
 * merges their results exactly. The main thread only relays stop requests and progress. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { mergeResults } from '../metrics/merge-results';
import type { LoadPlan } from '../model/load-plan';
import type { LoadResult } from '../model/load-result';
import type { WorkerMessage } from './load-worker';
import type { LoadProgress, RunOptions } from './run-options';
import { planSchedule } from './schedule';
import { splitPlan } from './split-plan';

/** The compiled worker entry. Under ts-jest this module runs from src/, where there is no
 * .js to start a thread from, so it falls back to the build output (npm test builds first). */
function workerEntry(): string {
  const beside = join(__dirname, 'load-worker.js');
  return existsSync(beside) ? beside : join(__dirname, '..', '..', 'dist', 'engine', 'load-worker.js');
}

export async function runInWorkers(plan: LoadPlan, options: RunOptions = {}): Promise<LoadResult> {
  const shares = splitPlan(plan, plan.workers);
  const progress = options.progress;
  if (progress !== undefined) progress.totalCalls = planSchedule(plan).totalCalls;
  const perWorker = shares.map(() => ({ completed: 0, notOk: 0 }));
  const workers = shares.map((share) => {
    const { payload, ...rest } = share;
    return new Worker(workerEntry(), { workerData: { plan: { ...rest, payload: new Uint8Array(payload) }, allowInitialErrorsHint: options.allowInitialErrorsHint } });
  });
  const stop = (): void => workers.forEach((w) => w.postMessage('stop'));
  options.signal?.addEventListener('abort', stop, { once: true });
  // An abort before this point fires no event: pass it on now (queued until each worker listens).
  if (options.signal?.aborted === true) stop();
  try {
    const results = await Promise.all(
      workers.map(
        (worker, i) =>
          new Promise<LoadResult>((resolve, reject) => {
            worker.on('message', (message: WorkerMessage) => {
              if (message.kind === 'progress') {
                perWorker[i] = { completed: message.completed, notOk: message.notOk };
                if (progress !== undefined) updateProgress(progress, perWorker, message.startedAtMs);
              } else if (message.kind === 'result') {
                resolve(message.result);
              } else {
                reject(new Error(`load worker ${i} failed: ${message.message}`));
              }
            });
            worker.on('error', reject);
            worker.on('exit', (code) => reject(new Error(`load worker ${i} exited (${code}) without a result`)));
          }),
      ),
    );
    return mergeResults(results);
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function updateProgress(progress: LoadProgress, perWorker: Array<{ completed: number; notOk: number }>, elapsedMs: number | undefined): void {
  progress.completed = perWorker.reduce((n, w) => n + w.completed, 0);
  progress.notOk = perWorker.reduce((n, w) => n + w.notOk, 0);
  if (progress.startedAtMs === undefined && elapsedMs !== undefined) progress.startedAtMs = performance.now() - elapsedMs;
}
