/** The terminal text of `meshload run`: a header per phase, a compact line per step and per
 * load, a line per check, and the verdict. Pure; summary.txt is the same text. */
import Table from 'cli-table3';
import type { LoadResult } from '../engine/load-result';
import { fellBehindText } from '../engine/schedule';
import { Distribution } from '../metrics/distribution';
import type { CheckResult, PhaseResult, ScenarioResult, StepResult, Verdict } from '../scenario/scenario-result';
import type { Phase } from '../scenario/scenario-schema';
import { renderSidecarText } from './sidecar-text';

const LABEL: Record<Verdict, string> = { pass: 'PASS', fail: 'FAIL', no_data: 'NO DATA', inconclusive: 'INCONCLUSIVE' };

export function phaseHeader(index: number, total: number, phase: Phase): string {
  return `== phase ${index + 1}/${total}: ${phase.name}${phase.description !== undefined ? ` - ${phase.description}` : ''}\n`;
}

export function stepLine(step: StepResult): string {
  const status = step.ok ? 'ok' : step.interrupted === true ? 'interrupted' : `FAILED: ${step.error ?? ''}`;
  return `  step ${step.kind}: ${step.description} ${status} (${step.durationMs} ms)\n`;
}

export function loadLine(load: LoadResult): string {
  const d = Distribution.decode(load.latency);
  const ms = (us: number): string => `${(us / 1000).toFixed(1)}ms`;
  const codes = Object.entries(load.codes).map(([code, n]) => `${code}: ${n}`).join(', ');
  const causes = Object.entries(load.causes).map(([cause, n]) => `${cause} ${n}`).join(', ');
  const extra = [load.stopReason !== undefined ? `stopped: ${load.stopDetail ?? load.stopReason}` : '', load.fellBehind ? fellBehindText(load.plan, load.actualQps) : ''].filter((s) => s !== '');
  return (
    `  load: ${load.latency.count} calls in ${(load.durationMs / 1000).toFixed(1)}s, ${load.actualQps.toFixed(1)} rps, ` +
    `p50 ${ms(d.percentile(50))}, p99 ${ms(d.percentile(99))}, max ${ms(d.max)}; codes ${codes || 'none'}` +
    `${causes !== '' ? `; causes ${causes}` : ''}${extra.length > 0 ? `; ${extra.join('; ')}` : ''}\n`
  );
}

export function checkLine(check: CheckResult): string {
  const observed = check.observed ?? 'no data';
  return `  ${LABEL[check.verdict].padEnd(12)} ${check.expression}  (expected ${check.expected}, observed ${observed}${check.reason !== undefined ? `; ${check.reason}` : ''})\n`;
}

export function phaseFooter(phase: PhaseResult): string {
  let text = '';
  if (phase.load !== undefined) {
    text += loadLine(phase.load);
    if (phase.load.sidecar !== undefined) text += renderSidecarText(phase.load.sidecar).replace(/^/gm, '  ').replace(/ +$/, '');
  }
  for (const check of phase.checks) text += checkLine(check);
  return text + `  phase ${phase.name}: ${LABEL[phase.verdict]}\n`;
}

export function verdictLine(result: ScenarioResult): string {
  const checks = result.phases.flatMap((p) => p.checks);
  const count = (v: Verdict): number => checks.filter((c) => c.verdict === v).length;
  const head = result.interrupted ? 'INTERRUPTED' : LABEL[result.verdict];
  return `== ${result.name}: ${head} (${count('pass')} passed, ${count('fail')} failed, ${count('no_data')} without data, ${count('inconclusive')} inconclusive; ${result.phases.length} phases run in ${(result.durationMs / 1000).toFixed(1)}s)\n`;
}

/** The table of every check, for a terminal at the end of a run. */
export function checksTable(result: ScenarioResult): string {
  const table = new Table({ head: ['phase', 'check', 'expected', 'observed', 'verdict'], style: { head: [], border: [] }, wordWrap: true });
  for (const phase of result.phases) {
    for (const check of phase.checks) table.push([phase.name, check.expression, check.expected, check.observed ?? `no data${check.reason !== undefined ? `: ${check.reason}` : ''}`, LABEL[check.verdict]]);
  }
  return table.length === 0 ? '' : table.toString() + '\n';
}
