import type { Command } from 'commander';
import type { JobFlags } from '../../k8s/job-plan';
import type { CommandContext } from '../command-context';

/** `meshload k8s job SCENARIO --parallelism N`: prints the Kubernetes manifests that run a
 * scenario from N meshed pods side by side (an Indexed Job and its ConfigMap). */
export function registerK8s(program: Command, ctx: CommandContext): void {
  program
    .command('k8s')
    .description('print Kubernetes manifests: `k8s job SCENARIO --parallelism N` runs a scenario from N meshed pods at once, merged with meshload merge')
    .argument('<kind>', 'what to generate: job')
    .argument('<scenario>', 'scenario YAML file (validated, ${VARS} substituted now, shipped in a ConfigMap)')
    .option('--parallelism <n>', 'pods, each running 1/N of every load (--shard I/N)')
    .option('-n, --namespace <namespace>', "the namespace (default: kubectl's current one)")
    .option('--image <image>', 'the meshload image (default: ghcr.io/meshload/meshload:<version>)')
    .option('--name <name>', 'Job name (default: meshload-<scenario name>); the ConfigMap is <name>-scenario')
    .option('--start-at <time>', 'ISO 8601 time (with zone) at which every pod starts the first phase')
    .option('--start-delay <duration>', 'start that long after now instead (default 60s: scheduling, image pull, sidecar start)')
    .action(async (kind: string, file: string, flags: JobFlags) => {
      const { k8sAction } = await import('./k8s-action');
      k8sAction(kind, file, flags, ctx);
    });
}
