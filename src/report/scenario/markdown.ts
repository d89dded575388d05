/** The Markdown summary of a scenario run (summary.md, and $GITHUB_STEP_SUMMARY in CI): the
 * verdict, what each phase's load did, and the table of checks. Pure. */
import type { LoadResult } from '../../model/load-result';
import { Distribution } from '../../metrics/distribution';
import type { ScenarioResult, Verdict } from '../../scenario/scenario-result';

const MARK: Record<Verdict, string> = { pass: 'pass', fail: 'FAIL', no_data: 'FAIL (no data)', inconclusive: 'inconclusive' };

export function renderScenarioMarkdown(result: ScenarioResult): string {
  const lines: string[] = [];
  const verdict = result.interrupted ? 'interrupted' : MARK[result.verdict];
  lines.push(`## meshload: ${cell(result.name)}: ${verdict}`, '');
  lines.push(`\`${cell(result.file)}\`, started ${result.startTime}, ${(result.durationMs / 1000).toFixed(1)}s`, '');
  lines.push('| phase | calls | rps | p50 (corrected) | p99 (corrected) | codes | verdict |', '|---|---:|---:|---:|---:|---|---|');
  for (const phase of result.phases) {
    const load = phase.load;
    lines.push(`| ${cell(phase.name)} | ${load === undefined ? '' : load.latency.count} | ${load === undefined ? '' : load.actualQps.toFixed(1)} | ${latency(load, 50)} | ${latency(load, 99)} | ${load === undefined ? '' : codes(load)} | ${MARK[phase.verdict]} |`);
  }
  lines.push('', "Latency here and in the checks is corrected for coordinated omission: from each call's intended send. Fortio's view (from the actual send) is in each load's Fortio-shaped output.");
  const checks = result.phases.flatMap((phase) => phase.checks.map((check) => ({ phase: phase.name, check })));
  if (checks.length > 0) {
    lines.push('', '| phase | check | expected | observed | verdict |', '|---|---|---|---|---|');
    for (const { phase, check } of checks) {
      const observed = check.observed ?? `no data${check.reason !== undefined ? `: ${check.reason}` : ''}`;
      lines.push(`| ${cell(phase)} | \`${cell(check.expression)}\` | ${cell(check.expected)} | ${cell(observed)} | ${MARK[check.verdict]} |`);
    }
  }
  const failedSteps = [...result.phases.flatMap((p) => p.steps.map((s) => ({ where: p.name, s }))), ...result.always.map((s) => ({ where: 'always', s }))].filter(({ s }) => !s.ok);
  if (failedSteps.length > 0) {
    lines.push('', '**Failed or interrupted steps**', '');
    for (const { where, s } of failedSteps) lines.push(`- ${cell(where)}: \`${cell(s.kind)}\` ${cell(s.description)}: ${s.interrupted === true ? 'interrupted' : cell(s.error ?? 'failed')}`);
  }
  return lines.join('\n') + '\n';
}

function latency(load: LoadResult | undefined, p: number): string {
  if (load === undefined || load.latency.count === 0) return '';
  return `${(Distribution.decode(load.latency).percentile(p) / 1000).toFixed(1)}ms`;
}

/** HTTP codes, then a gRPC load's statuses by name: its failures are HTTP 200 on the wire. */
function codes(load: LoadResult): string {
  const http = Object.entries(load.codes)
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ');
  const grpc = Object.entries(load.grpcStatuses ?? {})
    .map(([name, n]) => `${name}: ${n}`)
    .join(', ');
  return grpc === '' ? http : `${http}; gRPC ${grpc}`;
}

/** Keeps a value inside one table cell. */
function cell(value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
