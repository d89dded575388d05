/** `meshload doctor`'s implementation, loaded when it runs (see doctor.ts). */
import { request } from 'undici';
import {
  clusterFinding,
  clusterQueryOf,
  interceptionFinding,
  nodeFinding,
  renderFindings,
  statsFinding,
  uidFinding,
  type Finding,
  type Probe,
} from '../../doctor/findings';
import { screenFor } from '../../report/screen';
import { buildSidecarReport } from '../../stats/sidecar-report';
import { diffSnapshots, takeSnapshot, type StatsSnapshot } from '../../stats/snapshot';
import { describeSource } from '../../stats/stats-source';
import { usageError } from '../../util/errors';
import { meshloadVersion } from '../../util/version';
import type { CommandContext } from '../command-context';
import { EXIT } from '../exit-codes';
import { statsFromFlags, type StatsFlags, type StatsChoice } from '../stats-flags';

/** Inside a meshed pod, the sidecar's Envoy admin (MESH-FACTS: localhost only). */
const DEFAULT_STATS = 'http://localhost:15000/stats';
/** The proxy may count a request a moment after its response reached us: look again for this long. */
const COUNTER_SETTLE_MS = 1000;
const PROBE_TIMEOUT_MS = 5000;

export async function doctorAction(url: string | undefined, flags: StatsFlags, ctx: CommandContext): Promise<void> {
  if (url !== undefined && !/^https?:\/\/[^/]/.test(url)) throw usageError(`'${url}' is not an http(s) URL`, 'e.g. meshload doctor http://httpbin:8000/get');
  const defaulted = flags.stats === undefined && flags.statsCmd === undefined && flags.statsPod === undefined;
  const choice = statsFromFlags(defaulted ? { ...flags, stats: DEFAULT_STATS } : flags) as StatsChoice;
  const findings: Finding[] = [];
  const screen = screenFor(ctx.io.stdout, ctx.io.env);
  const say = (finding: Finding): void => {
    findings.push(finding);
    ctx.io.stdout.write(renderFindings([finding], screen));
  };
  say({ mark: 'ok', text: `meshload ${meshloadVersion()}` });
  say(nodeFinding(process.version));
  say(uidFinding(ctx.io.uid));

  const query = clusterQueryOf(choice.clusterQuery, url);
  const read = { format: choice.format, timeoutMs: choice.timeoutMs, maxBytes: choice.maxBytes };
  const source = describeSource(choice.source);
  let before: StatsSnapshot | undefined;
  try {
    before = await takeSnapshot(choice.source, read, query);
    say(statsFinding(source, { ok: true, format: before.format, clusters: before.allClusters.size }, defaulted));
  } catch (error) {
    say(statsFinding(source, { ok: false, error: messageOf(error) }, defaulted));
  }
  if (before === undefined) {
    say({ mark: 'warn', text: 'cluster and interception not checked: they need the proxy stats' });
  } else if (query === undefined) {
    say({
      mark: 'warn',
      text: `no target cluster to look for: cluster and interception not checked`,
      fix: url === undefined ? 'give the target: meshload doctor http://SERVICE:PORT/path, or --cluster NAME' : `the URL's host is an address, not a service: give --cluster NAME`,
    });
  } else {
    const matched = [...before.clusters.keys()];
    say(clusterFinding(query, matched, before.allClusters));
    if (url === undefined) say({ mark: 'warn', text: 'interception not checked: give a URL to send one request through the proxy' });
    else if (matched.length === 0) say({ mark: 'warn', text: `interception not checked: cluster '${query}' is not in the stats to count the request` });
    else say(await interception(url, query, before, choice, ctx.io.signal));
  }
  ctx.exitCode = findings.some((f) => f.mark === 'fail') ? EXIT.FAILED : EXIT.OK;
}

/** One GET, then the cluster's upstream request counter read until it moved (or settled). */
async function interception(url: string, query: string, before: StatsSnapshot, choice: StatsChoice, signal: AbortSignal): Promise<Finding> {
  let probe: Probe & { ok: true };
  try {
    const response = await request(url, { method: 'GET', headersTimeout: PROBE_TIMEOUT_MS, bodyTimeout: PROBE_TIMEOUT_MS, signal });
    await response.body.dump();
    probe = { ok: true, status: response.statusCode };
  } catch (error) {
    return interceptionFinding(url, query, { ok: false, error: messageOf(error) }, undefined);
  }
  const deadline = Date.now() + COUNTER_SETTLE_MS;
  let moved: number | undefined;
  for (;;) {
    try {
      const after = await takeSnapshot(choice.source, { format: before.format, timeoutMs: choice.timeoutMs, maxBytes: choice.maxBytes }, query);
      const report = buildSidecarReport({ source: '', clusterQuery: query, before, after, delta: diffSnapshots(before, after), gauges: undefined, result: undefined });
      moved = report.total?.requestsSent;
    } catch (error) {
      return { mark: 'fail', text: `GET ${url} answered ${probe.status}, but the stats could not be read again: ${messageOf(error)}`, fix: 'run meshload doctor again; check the stats source' };
    }
    if (moved === undefined || moved > 0 || Date.now() >= deadline || signal.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return interceptionFinding(url, query, probe, moved);
}

/** The problem only: each finding gives its own fix. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
