/** Fortio's lines about sockets and pacing, from what meshload measured (LoadResult.connections
 * and .sleepTimes), with Fortio's format strings and log levels, and their JSON fields. Pure.
 * Where they go (fhttp/httprunner.go RunHTTPTest, periodic/periodic.go Run): the sleep lines
 * right after "Ended after"; the per-connection lines and connection time after "Error cases";
 * the IP distribution after "Uniform: ...". */
import { checkedConnections, FALLING_BEHIND_PERCENT, fallingBehindPercent, hasThreadDetail, ipCounts, sortedCounts } from '../../metrics/connection-stats';
import type { ConnectionsReport } from '../../model/connections-report';
import type { LoadResult } from '../../model/load-result';
import { exportFortioCounter, FortioCounts } from '../../metrics/fortio-histogram';
import { logsAt, type LogLevel } from '../../util/log-level';
import type { FortioHistogram } from './histogram';
import { fortioCounterLine, fortioHistogramLines } from './histogram-lines';
import { goSprintf } from './go-format';

type Measured = Pick<LoadResult, 'connections' | 'sleepTimes'> & { plan: Pick<LoadResult['plan'], 'percentiles'> };

/** periodic.go Run, for paced runs: over 5% of sleeps at -1 ms or less prints the "Aggregated
 * Sleep Time" histogram (p50) and the WARNING at every level; otherwise the histogram at Verbose,
 * the "Sleep times" counter at Warning, nothing below. */
export function fortioSleepLines(result: Pick<LoadResult, 'sleepTimes'>, level: LogLevel): string[] {
  const sleep = FortioCounts.decode(result.sleepTimes);
  if (sleep === undefined) return [];
  const percentNegative = fallingBehindPercent(sleep);
  if (percentNegative > FALLING_BEHIND_PERCENT) {
    return [...fortioHistogramLines('Aggregated Sleep Time', sleep.export([50])), goSprintf('WARNING %.2f%% of sleep were falling behind', percentNegative)];
  }
  if (logsAt(level, 'Verbose')) return fortioHistogramLines('Aggregated Sleep Time', sleep.export([50]));
  if (logsAt(level, 'Warning')) return [fortioCounterLine('Sleep times', exportFortioCounter(sleep))];
  return [];
}

/** httprunner.go RunHTTPTest: "# Socket and IP used for each connection:" and one line per
 * connection at every level (not for an import: see ConnectionsReport.addresses); then the run's connection times, as a histogram at Info, as a
 * counter at Warning, not at all below. Nothing for a result that did not measure them. */
export function fortioSocketLines(result: Measured, level: LogLevel): string[] {
  const report = checkedConnections(result.connections);
  if (report === undefined) return [];
  const lines: string[] = [];
  // An imported Fortio JSON knows the run's dial times but not each connection's: no header
  // announcing lines that cannot be printed, no invented ones.
  if (hasThreadDetail(report)) {
    lines.push('# Socket and IP used for each connection:');
    report.threads.forEach((thread, i) => {
      // Fortio prints the Counter on the same line: "[0]   1 socket used, resolved to ..., connection timing : count ...".
      const head = goSprintf('[%d] %3d socket used, resolved to %s', i, thread.sockets, resolvedTo(thread.addresses));
      lines.push(head + fortioCounterLine(', connection timing', exportFortioCounter(thread.connect)));
    });
  }
  if (logsAt(level, 'Info')) lines.push(...fortioHistogramLines('Connection time histogram (s)', connectTime(report).export(result.plan.percentiles)));
  else if (logsAt(level, 'Warning')) lines.push(fortioCounterLine('Connection time (s)', exportFortioCounter(report.connectTime)));
  return lines;
}

/** "IP addresses distribution:" then "ip:port: n", most used first, at every level; `guess` is
 * used for a result that did not measure them (an older file). */
export function fortioIpLines(result: Pick<LoadResult, 'connections'>, guess: Record<string, number>): string[] {
  const report = checkedConnections(result.connections);
  const counts = report !== undefined ? ipCounts(report) : sortedCounts(guess);
  return ['IP addresses distribution:', ...counts.map(([address, n]) => `${address}: ${n}`)];
}

/** stats.Occurrence.AggregateAndToString: one address alone, else "[a (2), b (1)]" (Go's map
 * order is random; here most used first). */
function resolvedTo(addresses: Record<string, number>): string {
  const entries = sortedCounts(addresses);
  const [only] = entries;
  if (entries.length === 1 && only !== undefined) return only[0];
  return `[${entries.map(([address, n]) => `${address} (${n})`).join(', ')}]`;
}

/** The measured JSON fields, or undefined for a result without measurements (older files). */
export function fortioConnectionJson(result: Measured): { Sockets: number[]; IPCountMap: Record<string, number>; ConnectionStats: FortioHistogram } | undefined {
  const report: ConnectionsReport | undefined = checkedConnections(result.connections);
  if (report === undefined) return undefined;
  // encoding/json writes a map's keys sorted.
  const ipCountMap: Record<string, number> = {};
  for (const [address, n] of ipCounts(report).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) ipCountMap[address] = n;
  return {
    Sockets: report.threads.map((t) => t.sockets),
    IPCountMap: ipCountMap,
    ConnectionStats: connectTime(report).export(result.plan.percentiles),
  };
}

/** The run's connect-time histogram of a checked report (checkedConnections decoded it once). */
function connectTime(report: ConnectionsReport): FortioCounts {
  return FortioCounts.decode(report.connectTime) ?? new FortioCounts(report.connectTime);
}
