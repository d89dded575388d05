import type { Command } from 'commander';
import { renderSidecarText } from '../../report/sidecar-text';
import { buildSidecarReport } from '../../stats/sidecar-report';
import { diffSnapshots, takeSnapshot, type StatsSnapshot } from '../../stats/snapshot';
import type { StatsSource } from '../../stats/stats-source';
import { usageError } from '../../util/errors';
import type { CommandContext } from '../command-context';
import { addStatsFlags, statsFromFlags, type StatsFlags } from '../stats-flags';

interface StatsCommandFlags extends StatsFlags {
  diff?: boolean;
  json?: boolean;
}

/** `meshload stats SOURCE`: the resilience view of a proxy's counters as they stand (since the
 * proxy started); `--diff BEFORE AFTER`: between two dumps (files or URLs). */
export function registerStats(program: Command, ctx: CommandContext): void {
  const command = program
    .command('stats')
    .description("show what a proxy's stats say: breaker rejections, retries, timeouts, ejections, per cluster")
    .argument('[sources...]', 'a stats URL or a saved dump; with --diff, two of them (before, after)')
    .option('--diff', 'show the change between two dumps: BEFORE AFTER')
    .option('--json', 'print JSON: per matched cluster, counter deltas by raw stat name and the resilience view');
  addStatsFlags(command, true).action(async (sources: string[], flags: StatsCommandFlags) => {
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
    const read = { format: choice?.format ?? (flags.statsFormat as StatsSnapshot['format'] | undefined), timeoutMs: choice?.timeoutMs ?? 10_000 };
    const clusterQuery = flags.cluster;
    const after = await takeSnapshot(all[wanted - 1] as StatsSource, read, clusterQuery);
    const before: StatsSnapshot =
      wanted === 2 ? await takeSnapshot(all[0] as StatsSource, read, clusterQuery) : { ...after, clusters: new Map(), takenAtMs: 0 };
    const report = buildSidecarReport({
      source: all.map((s) => (s.kind === 'url' ? s.url : s.kind === 'file' ? s.path : s.command)).join(' -> '),
      clusterQuery,
      before,
      after,
      delta: diffSnapshots(before, after),
      gauges: undefined,
      result: undefined,
    });
    if (flags.json === true) ctx.io.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else ctx.io.stdout.write(renderSidecarText(report));
  });
}

function sourceOf(text: string): StatsSource {
  return /^https?:\/\//.test(text) ? { kind: 'url', url: text } : { kind: 'file', path: text };
}
