import type { LoadProgress } from '../engine/run-options';
import type { TextSink } from './io';

/** One status line, rewritten in place about four times a second (TTY only). */
export function startProgress(progress: LoadProgress, stderr: TextSink): { stop(): void } {
  const draw = (): void => {
    if (progress.startedAtMs === undefined) return;
    const elapsed = (performance.now() - progress.startedAtMs) / 1000;
    const rps = elapsed > 0 ? progress.completed / elapsed : 0;
    const total = progress.totalCalls === undefined ? '' : `/${progress.totalCalls}`;
    const eta = progress.totalCalls !== undefined && rps > 0 ? `, ETA ${Math.max(0, (progress.totalCalls - progress.completed) / rps).toFixed(1)}s` : '';
    stderr.write(`\r\x1b[K${progress.completed}${total} calls, ${rps.toFixed(0)} rps, ${progress.notOk} not OK, ${elapsed.toFixed(1)}s${eta}`);
  };
  const timer = setInterval(draw, 250);
  return {
    stop(): void {
      clearInterval(timer);
      stderr.write('\r\x1b[K');
    },
  };
}
