/** `meshload stats`'s implementation, loaded when it runs (see stats.ts). */
import { screenFor, type Screen } from '../../report/screen';
import { renderSidecarText } from '../../report/sidecar-text';
import { buildSidecarReport } from '../../stats/sidecar-report';
import { diffSnapshots, takeSnapshot, type StatsSnapshot } from '../../stats/snapshot';
import { describeSource, type ReadStatsOptions, type StatsSource } from '../../stats/stats-source';
import { usageError } from '../../util/errors';
import type { CommandContext } from '../command-context';
import { readLimitsFromFlags, statsFromFlags, type StatsFlags } from '../stats-flags';

export interface StatsCommandFlags extends StatsFlags {
  diff?: boolean;
  json?: boolean;
  watch?: boolean;
  verbose?: boolean;
}

export async function statsAction(sources: string[], flags: StatsCommandFlags, ctx: CommandContext): Promise<void> {
  const choice = statsFromFlags(flags, sources.length);
  const wanted = flags.diff === true ? 2 : 1;
  const positional = sources.map(sourceOf);
  const all = choice === undefined ? positional : [choice.source, ...positional];
  if (all.length !== wanted) {
    throw usageError(
      flags.diff === true ? `--diff needs two stats sources, got ${all.length}` : `meshload stats needs one stats source, got ${all.length}`,
      flags.diff === true ? 'meshload stats --diff before.txt after.txt' : 'meshload stats http://localhost:15000/stats (or a file, or --stats-cmd)',
    );
  }
  const read = { format: choice?.format ?? (flags.statsFormat as StatsSnapshot['format'] | undefined), ...readLimitsFromFlags(flags), signal: ctx.io.signal };
  const clusterQuery = flags.cluster;
  const screen = screenFor(ctx.io.stdout, ctx.io.env, flags.verbose === true);
  if (flags.watch === true) {
    if (flags.diff === true) throw usageError('--watch and --diff exclude each other', 'watch one live source');
    await watch(all[0] as StatsSource, read, clusterQuery, choice?.intervalMs ?? 1000, flags.json === true ? undefined : screen, ctx);
    return;
  }
  const after = await takeSnapshot(all[wanted - 1] as StatsSource, read, clusterQuery);
  const before: StatsSnapshot =
    wanted === 2 ? await takeSnapshot(all[0] as StatsSource, read, clusterQuery) : { ...after, clusters: new Map(), httpFaults: new Map(), takenAtMs: 0 };
  const report = buildSidecarReport({
    source: all.map(describeSource).join(' -> '),
    clusterQuery,
    before,
    after,
    delta: diffSnapshots(before, after),
    gauges: undefined,
    result: undefined,
  });
  if (flags.json === true) ctx.io.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else ctx.io.stdout.write(renderSidecarText(report, screen));
}

/** Prints the change since the first snapshot every interval, until the signal aborts. */
async function watch(
  source: StatsSource,
  read: ReadStatsOptions,
  clusterQuery: string | undefined,
  intervalMs: number,
  /** undefined: one JSON object a line. */
  screen: Screen | undefined,
  ctx: CommandContext,
): Promise<void> {
  const { io } = ctx;
  const baseline = await takeSnapshot(source, read, clusterQuery);
  const name = describeSource(source);
  const every = Math.max(intervalMs, 100);
  while (!io.signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, every);
      io.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (io.signal.aborted) break;
    let now: StatsSnapshot;
    try {
      now = await takeSnapshot(source, { ...read, format: baseline.format }, clusterQuery);
    } catch (error) {
      if (io.signal.aborted) break;
      io.stderr.write(`meshload: ${error instanceof Error ? error.message : String(error)}; still watching\n`);
      continue;
    }
    const report = buildSidecarReport({ source: name, clusterQuery, before: baseline, after: now, delta: diffSnapshots(baseline, now), gauges: undefined, result: undefined });
    const seconds = ((now.takenAtMs - baseline.takenAtMs) / 1000).toFixed(0);
    if (screen === undefined) io.stdout.write(JSON.stringify({ sinceSeconds: Number(seconds), ...report }) + '\n');
    else io.stdout.write(`${io.stdout.isTTY === true ? '\x1b[2J\x1b[H' : ''}Change over the last ${seconds}s (Ctrl-C stops)\n${renderSidecarText(report, screen)}`);
  }
}

function sourceOf(text: string): StatsSource {
  return /^https?:\/\//.test(text) ? { kind: 'url', url: text } : { kind: 'file', path: text };
}
