/** `meshload verify`'s implementation, loaded when it runs (see verify.ts). */
import { stringify } from 'yaml';
import { paint, PLAIN, screenFor, type Paint, type Screen } from '../../report/screen';
import type { CheckResult, PhaseResult, ScenarioResult } from '../../scenario/scenario-result';
import { usageError } from '../../util/errors';
import { readInputFile } from '../../util/read-input-file';
import { parsePercentage } from '../../util/percent';
import { redactUrl } from '../../util/redact';
import { parseDuration } from '../../util/duration';
import { MeshloadError } from '../../util/errors';
import { accountVerification, ancestors, formatAccounts, printable, type Accounting, type DocumentLeaves, type FieldRecord } from '../../verify/field-accounting';
import { selectHost, type HostChoice } from '../../verify/host-selection';
import { ManifestError, readIstioManifestsAccounted } from '../../verify/istio-manifests';
import { formatNote, type IstioPolicies } from '../../verify/istio-policy';
import { draftVerification, planVerification, type Backend, type PlannedPolicy, type ProxyKind, type VerificationPlan, type VerifyOptions } from '../../verify/plan-verification';
import { parseIstioVersion } from '../../verify/istio-version';
import { probeBackend, probeDelayCap, probeEndpoints, probeIstioVersion } from '../../verify/probe-backend';
import { MAX_ENDPOINTS, parseEndpoints } from '../../verify/endpoint-count';
import { grpcScenarioTarget, isGrpcTarget } from '../../verify/grpc-plan';
import { parseGrpcTarget } from '../../grpc/grpc-target';
import type { CommandContext } from '../command-context';
import { EXIT } from '../exit-codes';
import { statsFromFlags, type StatsFlags } from '../stats-flags';
import { runScenarioText } from './run-action';

export interface VerifyFlags extends StatsFlags {
  filename: string[];
  dryRun?: boolean;
  backend?: string;
  maxEchoDelay?: string;
  proxy: string;
  confidence: string;
  maxRequests: string;
  ejectAdmin?: string;
  host?: string;
  istioVersion?: string;
  endpoints?: string;
  clientProxies?: string;
  grpc?: boolean;
  reportDir: string;
  report: boolean;
}

const BACKENDS: readonly Backend[] = ['meshload', 'httpbin', 'fortio', 'unknown'];
const PROXIES: readonly ProxyKind[] = ['envoy', 'haproxy'];

/** What was read, for the field accounting. */
interface Read {
  records: FieldRecord[];
  leaves: DocumentLeaves[];
  policies: IstioPolicies;
}

export async function verifyAction(url: string, flags: VerifyFlags, ctx: CommandContext): Promise<void> {
  let input: { policies: IstioPolicies; options: VerifyOptions; read: Read; choice: HostChoice };
  try {
    input = inputFromFlags(url, flags, ctx);
  } catch (error) {
    // Invalid manifests still get every field's account (issue 15: on every exit path), first.
    if (error instanceof ManifestError && error.read !== undefined) {
      const why = `the manifests have ${error.problems.length === 1 ? 'a problem' : `${error.problems.length} problems`} (below)`;
      // Every resource read as if chosen: each field gets its own account, not one per spec.
      const all: HostChoice = { host: '', by: '', policies: error.read.policies, others: [] };
      writeAccounting(ctx, accountVerification(error.read, all, { failed: why }), error.read.policies);
    }
    if (!(error instanceof ManifestError) || error.problems.length < 2) throw error;
    // Every problem of every file, one per line, as `meshload run` reports a scenario.
    ctx.io.stderr.write(`meshload: ${error.problems.length} problems in the manifests:\n${error.problems.map((p) => `  ${p}\n`).join('')}`);
    ctx.exitCode = EXIT.USAGE;
    return;
  }
  if (input.options.istioVersion === undefined && flags.stats !== undefined && flags.dryRun !== true) {
    // Asked of the proxy only when the run talks to the mesh anyway (not for an offline dry run).
    const found = await probeIstioVersion(flags.stats);
    ctx.io.stderr.write(`verify: Istio version: ${found.evidence}\n`);
    input = { ...input, options: { ...input.options, istioVersion: found.version } };
  }
  const outlierConfigured = input.policies.destinationRules.some((d) => d.trafficPolicy?.outlierDetection !== undefined || d.subsets.some((s) => s.trafficPolicy?.outlierDetection !== undefined));
  if (input.options.endpoints === undefined && outlierConfigured && flags.stats !== undefined && flags.dryRun !== true && input.options.proxy === 'envoy') {
    // Asked of the proxy only when an outlier rule needs it and the run talks to the mesh anyway.
    const found = await probeEndpoints(flags.stats, { cluster: flags.cluster, service: input.choice.host, port: portOf(url) });
    ctx.io.stderr.write(`verify: endpoints: ${'count' in found ? `${found.count} (${found.source})` : `unknown: ${found.reason}`}\n`);
    if ('count' in found) input = { ...input, options: { ...input.options, endpoints: found } };
  }
  let plan: VerificationPlan;
  let backendLine = `${input.options.backend} (--backend)`;
  if (flags.backend !== undefined) {
    plan = planOrAccount(input, input.options, ctx);
  } else if (isGrpcTarget(url, flags.grpc)) {
    // The probe is an HTTP GET: a gRPC port answers it with nothing to identify the server by.
    backendLine = 'unknown (a gRPC target is not probed: pass --backend meshload for a meshload server -grpc-port)';
    ctx.io.stderr.write(`verify: backend ${backendLine}\n`);
    plan = planOrAccount(input, input.options, ctx);
  } else {
    // Said, not asked: flags are checked first, so bad input never costs a request.
    const probe = await probeBackend(url);
    backendLine = `${probe.backend}: ${probe.evidence}`;
    ctx.io.stderr.write(`verify: backend ${backendLine}\n`);
    let options: VerifyOptions = { ...input.options, backend: probe.backend };
    const draft = draftVerification(input.policies, options);
    if (probe.backend === 'meshload' && options.maxDelayMs === undefined && draft.refusedDelayMs > 0) {
      // The plan wants more than the default cap: ask the server what it allows (one call).
      const cap = await probeDelayCap(url, draft.refusedDelayMs);
      ctx.io.stderr.write(`verify: ${cap.evidence}\n`);
      backendLine += `; ${cap.evidence}`;
      if (cap.capMs !== undefined) options = { ...options, maxDelayMs: cap.capMs };
    }
    plan = planOrAccount(input, options, ctx);
  }
  const accounting = accountVerification(input.read, input.choice, { policies: plan.policies, phases: plan.scenario.phases.map((p) => p.name) });
  const shown = { host: `${input.choice.host} (chosen by ${input.choice.by})${input.choice.routedTo === undefined ? '' : `, with ${input.choice.routedTo.join(', ')}`}`, hostFlag: input.choice.by === '--host' ? input.choice.host : undefined, fields: formatAccounts(accounting.accounts), notes: advisoryNotes(input.read.policies, accounting) };
  const text = renderPlan(plan, flags.filename, backendLine, shown);
  if (flags.dryRun === true) {
    ctx.io.stdout.write(text);
    return;
  }
  const stderr = ctx.io.stderr;
  const screen = screenFor(stderr, ctx.io.env);
  stderr.write(`== verify ${redactUrl(url)}: host ${shown.host}: ${plan.policies.length} ${plan.policies.length === 1 ? 'policy' : 'policies'}, ${plan.scenario.phases.length} phases\n`);
  for (const policy of plan.policies) stderr.write(`  ${policy.policy} (${policy.subject}): ${policy.skipped === undefined ? `${policy.model}${unshownText(policy)}` : `${paint(screen, 'yellow', 'not verified')}: ${policy.skipped}`}
`);
  stderr.write(`  fields:\n${shown.fields.map((line) => `    ${line}\n`).join('')}`);
  // What the verdicts rest on that the manifests do not say (the Istio version's defaults).
  for (const assumed of plan.assumptions) stderr.write(`  assumed: ${assumed}\n`);
  for (const note of shown.notes) stderr.write(`  note: ${note}
`);
  await runScenarioText(text, `verify of ${flags.filename.join(', ')}`, { reportDir: flags.reportDir, report: flags.report, tolerance: '10%' }, ctx, (r, on) =>
    policyVerdicts(plan.policies, r, on),
  );
}

/** The plan; when nothing in it can run, every field's account goes to stderr before the
 * one-line error, so "no resilience policy" still says what was read and why it is not verified. */
function planOrAccount(input: { read: Read; choice: HostChoice; policies: IstioPolicies }, options: VerifyOptions, ctx: CommandContext): VerificationPlan {
  const draft = draftVerification(input.policies, options);
  if (draft.scenario.phases.length > 0) return draft;
  try {
    return planVerification(input.policies, options);
  } catch (error) {
    // Each field with the planner's own reason (a delay the backend cannot give, a match route...).
    if (error instanceof MeshloadError) writeAccounting(ctx, accountVerification(input.read, input.choice, { policies: draft.policies, phases: [] }), input.read.policies);
    throw error;
  }
}

function writeAccounting(ctx: CommandContext, accounting: Accounting, policies: IstioPolicies): void {
  const lines = [...formatAccounts(accounting.accounts), ...advisoryNotes(policies, accounting).map((n) => `note: ${n}`)];
  ctx.io.stderr.write(`verify: fields read:\n${lines.map((line) => `  ${line}\n`).join('')}`);
}

/** The reader's notes that are not already a field's account (deprecations, missing subsets). */
function advisoryNotes(policies: IstioPolicies, accounting: Accounting): string[] {
  const accounted = new Set(accounting.accounts.map((a) => `${a.file}\u0000${a.resource}\u0000${a.path}`));
  // A known field under an account of its whole part (another host's spec, a skipped route) adds
  // nothing; a typo there still earns its did-you-mean.
  const key = (n: IstioPolicies['notes'][number], path: string): string => `${n.origin.file}\u0000${n.origin.kind} ${n.origin.name}\u0000${path}`;
  const covered = (n: IstioPolicies['notes'][number]): boolean => n.message === 'not verified by meshload' && ancestors(n.path).some((a) => accounted.has(key(n, a)));
  return policies.notes.filter((n) => !accounted.has(key(n, n.path)) && !covered(n)).map((n) => printable(formatNote(n)));
}

function inputFromFlags(url: string, flags: VerifyFlags, ctx: CommandContext): { policies: IstioPolicies; options: VerifyOptions; read: Read; choice: HostChoice } {
  if (!/^(https?|grpc):\/\/[^/]/.test(url)) throw usageError(`'${redactUrl(url)}' is not an http(s) or grpc:// URL`, 'give the target as the client sees it, e.g. http://httpbin:8000/get or grpc://grpc-echo:8079');
  if (isGrpcTarget(url, flags.grpc)) parseGrpcTarget(grpcScenarioTarget(url), false); // host:port only: a usage error otherwise
  const backend = (flags.backend ?? 'unknown') as Backend;
  if (!BACKENDS.includes(backend)) throw usageError(`--backend '${flags.backend ?? ''}' is not a backend`, `use ${BACKENDS.join(', ')}, or leave it out to probe the target`);
  const maxDelayMs = flags.maxEchoDelay === undefined ? undefined : parseDuration(flags.maxEchoDelay);
  if (flags.maxEchoDelay !== undefined && (maxDelayMs === undefined || maxDelayMs <= 0)) {
    throw usageError(`--max-echo-delay '${flags.maxEchoDelay}' is not a duration`, "give the server's -max-echo-delay, like 5s");
  }
  const proxy = flags.proxy as ProxyKind;
  if (!PROXIES.includes(proxy)) throw usageError(`--proxy '${flags.proxy}' is not a proxy kind`, `use ${PROXIES.join(' or ')}`);
  const confidence = parsePercentage(flags.confidence) ?? NaN;
  if (!(confidence >= 0.5 && confidence < 1)) throw usageError(`--confidence '${flags.confidence}' is not a confidence`, 'use a percentage from 50% to under 100%, like 99.9%');
  const endpoints = flags.endpoints === undefined ? undefined : parseEndpoints(flags.endpoints);
  if (flags.endpoints !== undefined && endpoints === undefined) throw usageError(`--endpoints '${flags.endpoints}' is not an endpoint count`, `use a whole number from 1 to ${MAX_ENDPOINTS}: the service's ready pods`);
  const clientProxies = parseEndpoints(flags.clientProxies ?? '1');
  if (clientProxies === undefined) throw usageError(`--client-proxies '${flags.clientProxies ?? ''}' is not a count of client proxies`, 'use a whole number of 1 or more: the pods (shards) the plan runs from');
  if (clientProxies > 1 && flags.dryRun !== true) {
    throw usageError(`--client-proxies ${clientProxies}: the plan loads ${clientProxies} proxies at once and cannot run from this one process`, `add --dry-run and run the plan with meshload k8s job PLAN --parallelism ${clientProxies}`);
  }
  const maxRequests = Number(flags.maxRequests);
  if (!Number.isSafeInteger(maxRequests) || maxRequests < 10) throw usageError(`--max-requests '${flags.maxRequests}' is not a call count`, 'use a whole number of at least 10');
  // The same checks as load --stats; verify cannot run without a source.
  if (statsFromFlags(flags) === undefined) {
    throw usageError("verify needs the proxy's stats", "add --stats http://localhost:15000/stats (inside the client pod) or --stats-cmd 'kubectl exec POD -c istio-proxy -- pilot-agent request GET stats'");
  }
  if (flags.ejectAdmin !== undefined && !/^https?:\/\/[^/]/.test(flags.ejectAdmin)) {
    throw usageError(`--eject-admin '${flags.ejectAdmin}' is not an http(s) URL`, "give one endpoint's meshload server admin URL, e.g. http://127.0.0.1:9081");
  }
  const sidecar: Record<string, unknown> = {
    ...(flags.stats !== undefined ? { stats: flags.stats } : { statsCmd: flags.statsCmd }),
    ...(flags.statsFormat !== undefined ? { format: flags.statsFormat } : {}),
    ...(flags.cluster !== undefined ? { cluster: flags.cluster } : {}),
    interval: flags.statsInterval,
    timeout: flags.statsTimeout,
  };
  // Bounded like every input file: a FIFO or a wrong path to a huge file is a usage error.
  const files = flags.filename.map((file) => ({ file, text: readInputFile(file, 16 * 1024 * 1024, '', 'check the path given with -f') }));
  const read = readIstioManifestsAccounted(files);
  let choice: HostChoice;
  try {
    choice = selectHost(read.policies, { host: flags.host, cluster: flags.cluster, url });
  } catch (error) {
    // Nothing to choose from: say what the files held. Several hosts and no choice: one line.
    if (error instanceof MeshloadError && read.policies.destinationRules.length + read.policies.virtualServices.length === 0) {
      writeAccounting(ctx, accountVerification(read, undefined, { failed: error.message }), read.policies);
    }
    throw error;
  }
  return { policies: choice.policies, read, choice, options: { target: url, backend, maxDelayMs, proxy, confidence, maxRequests, sidecar, ejectAdmin: flags.ejectAdmin, grpc: flags.grpc === true, clientProxies, endpoints: endpoints === undefined ? undefined : { count: endpoints, source: '--endpoints' }, istioVersion: flags.istioVersion === undefined ? undefined : parseIstioVersion(flags.istioVersion) } };
}

/** The URL's port, explicit or the scheme's: Istio names clusters by the service port. */
function portOf(url: string): number | undefined {
  try {
    const u = new URL(url);
    return u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  } catch {
    return undefined;
  }
}

/** The plan as a scenario file: what was read and why each phase is there, as comments and
 * descriptions, so the file can be reviewed, edited and committed. */
export function renderPlan(plan: VerificationPlan, files: readonly string[], backend?: string, shown?: { host: string; hostFlag: string | undefined; fields: string[]; notes: string[] }): string {
  const notes = shown?.notes ?? plan.notes;
  const lines = [
    `# Derived by: meshload verify -f ${files.join(' -f ')} ${plan.scenario.target}${shown?.hostFlag === undefined ? '' : ` --host ${printable(shown.hostFlag)}`} --dry-run`,
    // Planned for N client proxies, it must run as N shards, one client pod (proxy) each.
    plan.clientProxies > 1 ? `# Run it with: meshload k8s job THIS_FILE --parallelism ${plan.clientProxies} (planned for ${plan.clientProxies} client proxies, one per shard)` : '# Run it with: meshload run THIS_FILE',
    ...(backend === undefined ? [] : [`# Backend: ${backend}`]),
    ...(shown === undefined ? [] : [`# Host: ${shown.host}`]),
    '#',
    '# Policies:',
    ...plan.policies.map((p) => `#   ${p.policy} (${p.subject}): ${p.skipped === undefined ? `${p.model} Phases: ${p.phases.join('; ')}.${unshownText(p)}` : `NOT VERIFIED: ${p.skipped}.`}`),
    ...(shown === undefined ? [] : ['#', '# Fields (each once: verified, not verified with the reason, or not applicable):', ...shown.fields.map((f) => `#   ${f}`)]),
    ...(notes.length > 0 ? ['#', shown === undefined ? '# Read but not verified:' : '# Notes:', ...notes.map((n) => `#   ${n}`)] : []),
    '',
  ];
  return `${lines.join('\n')}${stringify(plan.scenario, { lineWidth: 0 })}`;
}

type PolicyVerdict = 'behaves as configured' | 'does not behave as configured' | 'inconclusive' | 'not run' | 'not verified';

const VERDICT_STYLE: Readonly<Record<PolicyVerdict, Paint>> = {
  'behaves as configured': 'green',
  'does not behave as configured': 'red',
  inconclusive: 'yellow',
  'not run': 'yellow',
  'not verified': 'yellow',
};

/** One line per policy, from the verdicts of its phases. */
export function policyVerdicts(policies: readonly PlannedPolicy[], result: ScenarioResult, screen: Screen = PLAIN): string {
  const lines = ['== policies'];
  for (const policy of policies) {
    const { verdict, why } = policyVerdict(policy, result.phases);
    lines.push(`  ${policy.policy} (${policy.subject}): ${paint(screen, VERDICT_STYLE[verdict], verdict)}${why === undefined ? '' : `: ${why}`}`);
  }
  return `${lines.join('\n')}\n`;
}

function policyVerdict(policy: PlannedPolicy, phases: readonly PhaseResult[]): { verdict: PolicyVerdict; why: string | undefined } {
  if (policy.skipped !== undefined) return { verdict: 'not verified', why: policy.skipped };
  const mine = policy.phases.map((name) => phases.find((p) => p.name === name));
  const ran = mine.filter((p): p is PhaseResult => p !== undefined);
  // A phase whose faults the server clamped did not get the upstream it planned: its checks
  // decide nothing, while a failure in another phase still does.
  const clamped = ran.map((p) => ({ phase: p.name, why: clampedIn(p) })).find((c) => c.why !== undefined);
  const checks = ran.filter((p) => clampedIn(p) === undefined).flatMap((p) => p.checks.map((c) => ({ phase: p.name, check: c })));
  const failed = checks.find((c) => c.check.verdict === 'fail');
  if (failed !== undefined) return { verdict: 'does not behave as configured', why: describe(failed.phase, failed.check) };
  if (clamped !== undefined) return { verdict: 'inconclusive', why: `${clamped.phase}: ${clamped.why ?? ''}` };
  if (policy.unshown !== undefined && ran.length === mine.length) return { verdict: 'inconclusive', why: `not shown: ${policy.unshown.join('; ')}` };
  const stepFailed = ran.find((p) => p.steps.some((s) => !s.ok));
  if (stepFailed !== undefined) return { verdict: 'inconclusive', why: `${stepFailed.name}: a step failed` };
  const open = checks.find((c) => c.check.verdict === 'no_data' || c.check.verdict === 'inconclusive');
  if (open !== undefined) return { verdict: 'inconclusive', why: describe(open.phase, open.check) };
  if (ran.length < mine.length || ran.some((p) => p.load === undefined)) return { verdict: 'not run', why: 'the run stopped before its phases' };
  return { verdict: 'behaves as configured', why: checks.map((c) => `${c.check.expression}: ${c.check.observed ?? ''}`).join('; ') };
}

function describe(phase: string, check: CheckResult): string {
  return `${phase}: ${check.expression}: observed ${check.observed ?? 'nothing'}${check.reason === undefined ? '' : ` (${check.reason})`}`;
}

/** Why a phase's faults were not what it planned: the server clamped some of them. */
function clampedIn(phase: PhaseResult): string | undefined {
  const clamped = phase.load?.clamped ?? 0;
  if (clamped === 0) return undefined;
  return `the server clamped the fault of ${clamped} responses (x-meshload-clamped: its -max-echo-delay is below the planned delay), so the checks cannot decide`;
}

/** ` Not shown: ...` for a policy some of whose promises this backend cannot show. */
function unshownText(policy: PlannedPolicy): string {
  return policy.unshown === undefined ? '' : ` Not shown, so at best inconclusive: ${policy.unshown.join('; ')}.`;
}
