/** Flags that point meshload at a proxy's stats, shared by `load` and `stats`. */
import type { Command } from 'commander';
import type { StatsFormat } from '../stats/stat-sample';
import { statsSourceOf, type StatsSource } from '../stats/stats-source';
import { parseDuration } from '../util/duration';
import { usageError } from '../util/errors';

export interface StatsFlags {
  stats?: string;
  statsCmd?: string;
  statsFile?: string;
  statsFormat?: string;
  cluster?: string;
  statsInterval: string;
  statsTimeout: string;
}

const FORMATS: readonly StatsFormat[] = ['envoy-text', 'envoy-json', 'prometheus'];

export function addStatsFlags(command: Command, withFile: boolean): Command {
  command
    .option('--stats <url>', 'proxy stats URL: Envoy /stats, /stats?format=json, /stats/prometheus, or any Prometheus endpoint')
    .option('--stats-cmd <command>', "command printing the stats, e.g. 'kubectl exec POD -c istio-proxy -- pilot-agent request GET stats'");
  if (withFile) command.option('--stats-file <path>', 'stats saved in a file');
  return command
    .option('--stats-format <format>', `force the format: ${FORMATS.join(', ')} (detected from the content otherwise)`)
    .option('--cluster <name>', 'upstream cluster: short service name, FQDN, or full cluster name')
    .option('--stats-interval <duration>', 'how often gauges are sampled during a run; 0 turns sampling off', '1s')
    .option('--stats-timeout <duration>', 'time allowed for one stats read', '10s');
}

export interface StatsChoice {
  source: StatsSource;
  format: StatsFormat | undefined;
  clusterQuery: string | undefined;
  intervalMs: number;
  timeoutMs: number;
}

/** undefined when no stats source was given by flag. `otherSources`: sources given another way
 * (`meshload stats SOURCE`). */
export function statsFromFlags(flags: StatsFlags, otherSources = 0): StatsChoice | undefined {
  const given = [flags.stats, flags.statsCmd, flags.statsFile].filter((v) => v !== undefined).length;
  if (given > 1) throw usageError('--stats, --stats-cmd and --stats-file exclude each other', 'give one stats source');
  if (flags.cluster !== undefined && given + otherSources === 0) throw usageError('--cluster needs a stats source', 'add --stats URL or --stats-cmd COMMAND');
  const format = flags.statsFormat;
  if (format !== undefined && !FORMATS.includes(format as StatsFormat)) {
    throw usageError(`--stats-format '${format}' is not a stats format`, `use one of ${FORMATS.join(', ')}`);
  }
  const intervalMs = parseDuration(flags.statsInterval);
  if (intervalMs === undefined || intervalMs < 0) throw usageError(`--stats-interval '${flags.statsInterval}' is not a duration`, 'use a Go duration like 1s or 500ms');
  const timeoutMs = parseDuration(flags.statsTimeout);
  if (timeoutMs === undefined || timeoutMs <= 0) throw usageError(`--stats-timeout '${flags.statsTimeout}' is not a duration`, 'use a Go duration like 10s');
  if (flags.stats !== undefined && !/^https?:\/\//.test(flags.stats)) {
    throw usageError(`--stats '${flags.stats}' is not an http(s) URL`, 'use e.g. http://localhost:15000/stats, or --stats-cmd');
  }
  const source = statsSourceOf(flags);
  if (source === undefined) return undefined;
  return { source, format: format as StatsFormat | undefined, clusterQuery: flags.cluster, intervalMs, timeoutMs };
}
