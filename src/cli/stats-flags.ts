/** Flags that point meshload at a proxy's stats, shared by `load`, `stats` and `verify`. */
import type { Command } from 'commander';
import type { StatsFormat } from '../model/sidecar-report';
import { DEFAULT_STATS_MAX_BYTES, statsSourceOf, type StatsSource } from '../stats/stats-source';
import { formatBytes, parseByteSize } from '../util/byte-size';
import { parseDuration } from '../util/duration';
import { usageError } from '../util/errors';
import { redactUrl } from '../util/redact';

export interface StatsFlags {
  stats?: string;
  statsCmd?: string;
  statsFile?: string;
  statsPod?: string;
  statsNamespace?: string;
  statsFormat?: string;
  cluster?: string;
  statsInterval: string;
  statsTimeout: string;
  statsMaxBytes?: string;
}

const FORMATS: readonly StatsFormat[] = ['envoy-text', 'envoy-json', 'prometheus'];

export function addStatsFlags(command: Command, withFile: boolean): Command {
  command
    .option('--stats <url>', 'proxy stats URL: Envoy /stats, /stats?format=json, /stats/prometheus, or any Prometheus endpoint')
    .option('--stats-cmd <command>', "command printing the stats, e.g. 'kubectl exec POD -c istio-proxy -- pilot-agent request GET stats'");
  if (withFile) command.option('--stats-file <path>', 'stats saved in a file');
  command
    .option('--stats-pod <pod>', "the client pod's sidecar, through kubectl: POD or KIND/NAME (deploy/meshload-client); short for --stats-cmd 'kubectl exec POD -c istio-proxy -- pilot-agent request GET stats'")
    .option('--stats-namespace <namespace>', "the --stats-pod's namespace (kubectl's -n; -n is Fortio's call count here)")
    // --stats-pod becomes the --stats-cmd it stands for before the action runs, so every consumer
    // (load's watch, stats, the scenario verify writes) sees one command source.
    .hook('preAction', (self) => {
      const flags = self.opts<StatsFlags>();
      const expanded = expandStatsPod(flags);
      if (expanded.statsCmd === flags.statsCmd) return;
      self.setOptionValueWithSource('statsCmd', expanded.statsCmd, 'implied');
      self.setOptionValueWithSource('statsPod', undefined, 'implied');
      self.setOptionValueWithSource('statsNamespace', undefined, 'implied');
    });
  return command
    .option('--stats-format <format>', `force the format: ${FORMATS.join(', ')} (detected from the content otherwise)`)
    .option('--cluster <name>', 'upstream cluster: short service name, FQDN, or full cluster name')
    .option('--stats-interval <duration>', 'how often gauges are sampled during a run; 0 turns sampling off', '1s')
    .option('--stats-timeout <duration>', 'time allowed for one whole stats read (connect or spawn, every byte, parse)', '10s')
    .option('--stats-max-bytes <size>', 'most bytes one stats read may take, e.g. 64MiB', formatBytes(DEFAULT_STATS_MAX_BYTES).replace(' ', ''));
}

export interface StatsChoice {
  source: StatsSource;
  format: StatsFormat | undefined;
  clusterQuery: string | undefined;
  intervalMs: number;
  timeoutMs: number;
  maxBytes: number;
}

/** --stats-timeout and --stats-max-bytes, which bound every read, whatever names the source. */
export function readLimitsFromFlags(flags: Pick<StatsFlags, 'statsTimeout' | 'statsMaxBytes'>): { timeoutMs: number; maxBytes: number } {
  const timeoutMs = parseDuration(flags.statsTimeout);
  if (timeoutMs === undefined || timeoutMs <= 0) throw usageError(`--stats-timeout '${flags.statsTimeout}' is not a duration`, 'use a Go duration like 10s');
  const maxBytes = parseByteSize(flags.statsMaxBytes ?? String(DEFAULT_STATS_MAX_BYTES));
  if (maxBytes === undefined) throw usageError(`--stats-max-bytes '${flags.statsMaxBytes ?? ''}' is not a size`, 'use bytes or a size like 64MiB, 500MB');
  return { timeoutMs, maxBytes };
}

/** undefined when no stats source was given by flag. `otherSources`: sources given another way
 * (`meshload stats SOURCE`). */
export function statsFromFlags(given: StatsFlags, otherSources = 0): StatsChoice | undefined {
  const flags = expandStatsPod(given);
  const count = [flags.stats, flags.statsCmd, flags.statsFile].filter((v) => v !== undefined).length;
  if (flags.cluster !== undefined && count + otherSources === 0) throw usageError('--cluster needs a stats source', 'add --stats URL, --stats-cmd COMMAND or --stats-pod POD');
  const format = flags.statsFormat;
  if (format !== undefined && !FORMATS.includes(format as StatsFormat)) {
    throw usageError(`--stats-format '${format}' is not a stats format`, `use one of ${FORMATS.join(', ')}`);
  }
  const intervalMs = parseDuration(flags.statsInterval);
  if (intervalMs === undefined || intervalMs < 0) throw usageError(`--stats-interval '${flags.statsInterval}' is not a duration`, 'use a Go duration like 1s or 500ms');
  const { timeoutMs, maxBytes } = readLimitsFromFlags(flags);
  if (flags.stats !== undefined && !/^https?:\/\//.test(flags.stats)) {
    throw usageError(`--stats '${redactUrl(flags.stats)}' is not an http(s) URL`, 'use e.g. http://localhost:15000/stats, or --stats-cmd');
  }
  const source = statsSourceOf(flags);
  if (source === undefined) return undefined;
  return { source, format: format as StatsFormat | undefined, clusterQuery: flags.cluster, intervalMs, timeoutMs, maxBytes };
}

/** Kubernetes object names are DNS-1123 subdomains (lowercase letters, digits, '-' and '.',
 * starting and ending with a letter or digit); kubectl exec also takes KIND/NAME, the kind being
 * a resource name with an optional group (deploy, deployment.apps, statefulset). Nothing else is
 * accepted, so the command built from them holds no shell metacharacter and no word that starts
 * with '-' (kubectl would take it for a flag). */
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const KIND = /^[a-z]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The command --stats-pod stands for: the sidecar's admin /stats read through pilot-agent (the
 * admin port listens on localhost inside the pod only), as MESH-FACTS gives it. */
export function statsPodCommand(pod: string, namespace: string | undefined): string {
  const slash = pod.indexOf('/');
  const kind = slash < 0 ? undefined : pod.slice(0, slash);
  const name = slash < 0 ? pod : pod.slice(slash + 1);
  if ((kind !== undefined && !KIND.test(kind)) || !SUBDOMAIN.test(name) || name.length > 253) {
    throw usageError(
      `--stats-pod '${pod}' is not a pod name`,
      "give a pod or KIND/NAME as kubectl exec takes it, e.g. deploy/meshload-client: lowercase letters, digits, '-' and '.'",
    );
  }
  if (namespace !== undefined && (!LABEL.test(namespace) || namespace.length > 63)) {
    throw usageError(`--stats-namespace '${namespace}' is not a namespace name`, "use lowercase letters, digits and '-', at most 63 characters");
  }
  const words = ['kubectl', 'exec', ...(namespace === undefined ? [] : ['-n', namespace]), pod, '-c', 'istio-proxy', '--', 'pilot-agent', 'request', 'GET', 'stats'];
  return words.join(' ');
}

const SOURCE_FLAGS = { stats: '--stats', statsCmd: '--stats-cmd', statsFile: '--stats-file' } as const;

/** The flags with --stats-pod (and --stats-namespace) replaced by the --stats-cmd they stand
 * for; a new object. Rejects more than one source, and a namespace without a pod. Given flags
 * already expanded (statsCmd set, statsPod unset), returns them as they are. */
export function expandStatsPod(flags: StatsFlags): StatsFlags {
  const others = (Object.keys(SOURCE_FLAGS) as Array<keyof typeof SOURCE_FLAGS>).filter((key) => flags[key] !== undefined);
  if (others.length > 1) throw usageError('--stats, --stats-cmd and --stats-file exclude each other', 'give one stats source');
  const { statsPod, statsNamespace, ...rest } = flags;
  const other = others[0];
  if (statsPod !== undefined && other !== undefined) {
    throw usageError(`--stats-pod and ${SOURCE_FLAGS[other]} exclude each other`, 'give one stats source');
  }
  if (statsPod === undefined) {
    if (statsNamespace !== undefined) throw usageError('--stats-namespace needs --stats-pod', 'add --stats-pod POD, or put -n NAMESPACE inside --stats-cmd');
    return flags;
  }
  return { ...rest, statsCmd: statsPodCommand(statsPod, statsNamespace) };
}
