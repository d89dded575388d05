/** What was run, as report.html's head says it: the target, protocol, connections, rate or calls,
 * length, stats source and cluster, and the meshload that ran it, from each load's `plan` in the
 * result. A fact the same in every phase is said once; the ones that differ get a row per phase.
 * Results from older versions or Fortio imports lack fields: those read "not recorded". Pure;
 * every URL and command goes through redaction, whatever the result file claims. */
import type { LoadResult } from '../../model/load-result';
import type { ScenarioResult } from '../../scenario/scenario-result';
import { formatDuration } from '../../util/duration';
import { redactUrl, redactUrlsIn } from '../../util/redact';

export const NOT_RECORDED = 'not recorded';

/** The facts of one load, in display order. */
export const RUN_FACTS = ['target', 'protocol', 'connections', 'rate', 'length', 'stats source', 'stats cluster', 'run by'] as const;

export type RunFact = (typeof RUN_FACTS)[number];

export interface RunDescription {
  /** `scenario file` with the path, or `command` with a load's flags rebuilt from its plan. */
  how: { label: 'scenario file' | 'command'; text: string };
  startTime: string;
  /** Facts equal in every phase with a load, in RUN_FACTS order. */
  common: Array<[RunFact, string]>;
  /** The facts that differ between phases, and each phase's values for them. */
  differing: RunFact[];
  phases: Array<{ name: string; values: string[] }>;
  /** Phases that ran no load: they have no facts. */
  withoutLoad: string[];
}

type Plan = Partial<LoadResult['plan']>;

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function protocolOf(plan: Plan): string {
  if (typeof plan.url !== 'string' || typeof plan.h2 !== 'boolean') return NOT_RECORDED;
  const tls = /^https:/i.test(plan.url);
  const unverified = tls && plan.insecure === true ? ', certificate not verified' : '';
  if (plan.h2) return tls ? `HTTP/2 over TLS (h2)${unverified}` : 'HTTP/2 cleartext (h2c)';
  return `HTTP/1.1${tls ? ' over TLS' : ''}${unverified}${plan.keepAlive === false ? ', no keep-alive' : ''}`;
}

function rateOf(plan: Plan): string {
  const qps = num(plan.qps);
  if (qps === undefined) return NOT_RECORDED;
  const inflight = num(plan.open?.maxInflight);
  if (plan.open !== undefined && plan.open !== null) return `open model: ${qps} arrivals/s whatever the responses${inflight === undefined ? '' : `, at most ${inflight} in flight`}`;
  const from = num(plan.ramp?.from);
  const to = num(plan.ramp?.to);
  if (from !== undefined && to !== undefined) return `ramp from ${from} to ${to} qps`;
  return qps === 0 ? 'max speed (closed loop)' : `${qps} qps`;
}

function lengthOf(plan: Plan): string {
  const requests = num(plan.requests);
  if (requests !== undefined) return `${requests} calls`;
  const ms = num(plan.durationMs);
  if (ms === undefined) return NOT_RECORDED;
  return ms === 0 ? 'until interrupted' : formatDuration(ms);
}

function statsOf(load: LoadResult): [string, string] {
  const s = load.sidecar;
  if (s === undefined || s === null) return ['none watched', 'none'];
  const what = [s.kind, s.format].filter((t): t is NonNullable<typeof t> => typeof t === 'string').join(', ');
  const source = typeof s.source === 'string' ? redactUrlsIn(s.source) : NOT_RECORDED;
  return [`${source}${what === '' ? '' : ` (${what})`}`, typeof s.clusterQuery === 'string' ? s.clusterQuery : 'all clusters'];
}

function factsOf(load: LoadResult): string[] {
  const plan: Plan = typeof load.plan === 'object' && load.plan !== null ? load.plan : {};
  const url = typeof plan.url === 'string' && plan.url !== '' ? redactUrl(plan.url) : NOT_RECORDED;
  const method = typeof plan.method === 'string' ? `${plan.method} ` : '';
  const connections = num(plan.connections);
  const [source, cluster] = statsOf(load);
  const version = typeof load.version === 'string' && load.version !== '' ? load.version : NOT_RECORDED;
  const facts: Record<RunFact, string> = {
    target: url === NOT_RECORDED ? url : `${method}${url}`,
    protocol: protocolOf(plan),
    connections: connections === undefined ? NOT_RECORDED : String(connections),
    rate: rateOf(plan),
    length: lengthOf(plan),
    'stats source': source,
    'stats cluster': cluster,
    'run by': version.startsWith('fortio') ? version : `meshload ${version}`,
  };
  return RUN_FACTS.map((f) => facts[f]);
}

/** `meshload load -c 4 --qps 8 -t 5s URL` from a plan: what the file does not keep (headers,
 * payload) is left out, and the URL is redacted. */
function commandOf(load: LoadResult, tool: string): string {
  const plan: Plan = typeof load.plan === 'object' && load.plan !== null ? load.plan : {};
  const args = [`${tool} load`];
  const connections = num(plan.connections);
  if (connections !== undefined) args.push(`-c ${connections}`);
  const qps = num(plan.qps);
  if (qps !== undefined) args.push(`-qps ${qps}`);
  const requests = num(plan.requests);
  const ms = num(plan.durationMs);
  if (requests !== undefined) args.push(`-n ${requests}`);
  else if (ms !== undefined) args.push(`-t ${formatDuration(ms)}`);
  if (plan.h2 === true) args.push('-h2');
  if (plan.insecure === true) args.push('-k');
  if (plan.open !== undefined && plan.open !== null) args.push('--open', ...(num(plan.open.maxInflight) === undefined ? [] : [`--max-inflight ${plan.open.maxInflight}`]));
  if (typeof plan.method === 'string' && plan.method !== 'GET' && plan.method !== '') args.push(`-X ${plan.method}`);
  args.push(typeof plan.url === 'string' && plan.url !== '' ? redactUrl(plan.url) : 'URL');
  return args.join(' ');
}

export function describeRun(result: ScenarioResult): RunDescription {
  const loads = result.phases.flatMap((p) => (p.load === undefined || p.load === null ? [] : [{ name: p.name, load: p.load }]));
  const values = loads.map((l) => ({ name: l.name, facts: factsOf(l.load) }));
  const common: Array<[RunFact, string]> = [];
  const differing: RunFact[] = [];
  RUN_FACTS.forEach((fact, i) => {
    const first = values[0]?.facts[i];
    if (first === undefined) return;
    if (values.every((v) => v.facts[i] === first)) common.push([fact, first]);
    else differing.push(fact);
  });
  const only = loads[0]?.load;
  const how: RunDescription['how'] =
    result.origin !== undefined && only !== undefined
      ? { label: 'command', text: `${commandOf(only, result.origin === 'fortio' ? 'fortio' : 'meshload')} (rebuilt from the result's plan; headers and payload not shown)` }
      : { label: 'scenario file', text: redactUrlsIn(result.file) };
  return {
    how,
    startTime: result.startTime,
    common,
    differing,
    phases: values.map((v) => ({ name: v.name, values: differing.map((fact) => v.facts[RUN_FACTS.indexOf(fact)] as string) })),
    withoutLoad: result.phases.filter((p) => p.load === undefined || p.load === null).map((p) => p.name),
  };
}
