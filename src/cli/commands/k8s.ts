import type { Command } from 'commander';
import { DEFAULT_SECRET_NAME } from '../../k8s/job-env';
import { DEFAULT_SERVICE_ACCOUNT, type JobFlags } from '../../k8s/job-plan';
import type { CommandContext } from '../command-context';

/** `meshload k8s job SCENARIO --parallelism N`: prints the Kubernetes manifests that run a
 * scenario from N meshed pods side by side (an Indexed Job, its ConfigMap, its ServiceAccount
 * and the Role its steps need). */
export function registerK8s(program: Command, ctx: CommandContext): void {
  program
    .command('k8s')
    .description('print Kubernetes manifests: `k8s job SCENARIO --parallelism N` runs a scenario from N meshed pods at once, merged with meshload merge')
    .argument('<kind>', 'what to generate: job')
    .argument('<scenario>', 'scenario YAML file (validated here, shipped as written in a ConfigMap; its ${VARS} are filled in the pods)')
    .option('--parallelism <n>', 'pods, each running 1/N of every load (--shard I/N)')
    .option('-n, --namespace <namespace>', "the namespace (default: kubectl's current one)")
    .option('--image <image>', 'the meshload image (default: ghcr.io/meshload/meshload:<version>)')
    .option('--name <name>', 'Job name (default: meshload-<scenario name>); the ConfigMap is <name>-scenario')
    .option('--start-at <time>', 'ISO 8601 time (with zone) at which every pod starts the first phase')
    .option('--start-delay <duration>', 'start that long after now instead (default 60s: scheduling, image pull, sidecar start)')
    .option('--secret-name <name>', `the Secret the pods read the scenario's \${VARS} from (default ${DEFAULT_SECRET_NAME})`)
    .option('--service-account <name>', `the ServiceAccount the pods run as (default ${DEFAULT_SERVICE_ACCOUNT}; printed with the Role its kubectl steps need)`)
    .option('--no-rbac', 'print no ServiceAccount, Role or RoleBinding: you manage the account and its rights')
    .option('--env <NAME=VALUE|NAME>', 'a plain (not secret) value for ${NAME}, written into the manifest; NAME alone takes it from here (repeatable)', collect, [])
    .action(async (kind: string, file: string, flags: JobFlags) => {
      const { k8sAction } = await import('./k8s-action');
      k8sAction(kind, file, flags, ctx);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
