import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { addStatsFlags } from '../stats-flags';
import type { VerifyFlags } from './verify-action';

/** `meshload verify -f dr.yaml -f vs.yaml URL --stats ...`: derive the load and the checks that
 * show whether the mesh behaves as its DestinationRules and VirtualServices say, and run them. */
export function registerVerify(program: Command, ctx: CommandContext): void {
  const command = program
    .command('verify')
    .description('verify Istio resilience policy from its own manifests: derive load and checks, run them, say per policy whether the mesh behaves as configured')
    .argument('<url>', 'the target as the client sidecar sees it, e.g. http://httpbin:8000/get')
    .requiredOption('-f, --filename <file>', 'DestinationRule / VirtualService YAML (multi-document and kubectl -o yaml lists too); repeat for more', collect)
    .option('--dry-run', 'print the derived plan as a scenario file (meshload run runs it) and run nothing')
    .option('--backend <kind>', 'the upstream server, said instead of probed (offline): meshload or fortio (echo parameters in the query), httpbin (/status, /delay) or unknown (no upstream faults); without it one request to the target finds out')
    .option('--max-echo-delay <duration>', "the meshload/Fortio server's -max-echo-delay (default 1.5s, or probed from a meshload server when a plan needs more)")
    .option('--proxy <kind>', 'whose semantics and stats to expect: envoy (the Istio sidecar) or haproxy (a local proof)', 'envoy')
    .option('--confidence <percent>', 'confidence of the statistical checks', '99.9%')
    .option('--max-requests <n>', 'cap on the calls of one phase', '2000')
    .option('--host <host>', 'the service to verify when the files configure several: reviews, reviews.default or reviews.default.svc.cluster.local (default: the service --cluster or the URL names)')
    .option('--eject-admin <url>', "outlier detection: the admin URL of ONE endpoint's meshload server, told to fail")
    .option('--istio-version <x.y>', "the mesh's Istio version, for the defaults that change by version (without it: read from the proxy's istio_build metric when --stats shows it, else Istio >= 1.24 is assumed and checks that flip by version are inconclusive)")
    .option('--endpoints <n>', "the service's endpoint count, which decides with maxEjectionPercent whether anything is ejected (default: read from the proxy's admin /clusters beside an Envoy --stats URL, else unknown and said)")
    .option('--client-proxies <n>', 'client proxies the plan will run through (meshload k8s job --parallelism N): breakers and ejections are per proxy, so breaker loads are planned N times one proxy\'s', '1')
    .option('--grpc', 'the target speaks gRPC (as a grpc://host:port URL says): phases load with gRPC and check gRPC statuses; fault.abort and retryOn are planned, the rest is left to an HTTP run')
    .option('--report-dir <dir>', 'where the run writes its report directory', 'reports')
    .option('--no-report', 'write no report files');
  addStatsFlags(command, false).action(async (url: string, flags: VerifyFlags) => {
    const { verifyAction } = await import('./verify-action');
    await verifyAction(url, flags, ctx);
  });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
