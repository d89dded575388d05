/** The flags that make one `meshload run` a part of a sharded run (`--shard I/N`, `--start-at`),
 * parsed and checked. Pure: the clock is an argument. */
import type { Shard } from '../scenario/run-scenario';
import { formatDuration } from '../util/duration';
import { usageError } from '../util/errors';

/** A shard may start this late and still run: pods' clocks and process starts differ a little. */
export const START_LATE_TOLERANCE_MS = 5_000;

/** `I/N`, 0 <= I < N; I may come from `$(JOB_COMPLETION_INDEX)`, which Kubernetes fills in. */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || !Number.isSafeInteger(index) || !Number.isSafeInteger(count)) {
    throw usageError(`--shard '${text}' is not I/N`, 'give the shard index and the shard count, e.g. --shard 0/3 (indexes start at 0)');
  }
  if (count < 1 || index >= count) throw usageError(`--shard ${index}/${count}: the index must be from 0 to ${Math.max(0, count - 1)}`, 'shard indexes start at 0: the shards of 3 are 0/3, 1/3 and 2/3');
  return { index, count };
}

/** An ISO 8601 date and time with its zone (`2025-06-01T12:00:00Z`, `...+02:00`): a time without
 * a zone would mean different instants on a laptop and in a pod. */
export function parseInstant(text: string, flag: string): number {
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
  const ms = iso.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(ms)) throw usageError(`${flag} '${text}' is not an ISO 8601 time with a zone`, 'use e.g. 2030-01-01T12:00:00Z');
  return ms;
}

/** `--start-at` for a run: the instant to start the first phase at. A time passed by more than
 * START_LATE_TOLERANCE_MS is refused: that shard would load alone while the others finish, and
 * the merged result would describe a different load than the scenario's. */
export function startAtOf(text: string, nowMs: number): { atMs: number; lateMs: number } {
  const atMs = parseInstant(text, '--start-at');
  const lateMs = nowMs - atMs;
  if (lateMs > START_LATE_TOLERANCE_MS) {
    throw usageError(
      `--start-at ${text} passed ${formatDuration(lateMs)} ago: this part would start after the others and the merged load would not be the scenario's`,
      'give a time in the future; for a Job, generate it again with a longer --start-delay (image pulls and sidecar starts take time)',
    );
  }
  return { atMs, lateMs: Math.max(0, lateMs) };
}
