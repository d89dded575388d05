/** The terminal text of `meshload run`: a header per phase, a compact line per step and per
 * load, a line per check, and the verdict. Pure; summary.txt is the same text on the PLAIN
 * screen. Colour is added after padding: ANSI codes have no width. */
import Table from 'cli-table3';
import type { LoadResult } from '../../model/load-result';
import { fellBehindText } from '../../model/achieved-rate';
import { Distribution } from '../../metrics/distribution';
import { shownResultVerdict, type CheckResult, type PhaseResult, type ScenarioResult, type StepResult, type Verdict } from '../../scenario/scenario-result';
import type { Phase } from '../../scenario/scenario-schema';
import { paint, PLAIN, verdictStyle, type Screen } from '../screen';
import { renderSidecarText } from '../sidecar-text';

const LABEL: Record<Verdict, string> = { pass: 'PASS', fail: 'FAIL', no_data: 'NO DATA', inconclusive: 'INCONCLUSIVE' };

/** A verdict's word in its colour; `label` pads it first, so columns stay aligned. */
function verdictWord(screen: Screen, verdict: Verdict, label: string = LABEL[verdict]): string {
  const style = verdictStyle(verdict);
  const word = LABEL[verdict];
  return (style === undefined ? word : paint(screen, style, word)) + label.slice(word.length);
}

export function phaseHeader(index: number, total: number, phase: Phase, screen: Screen = PLAIN): string {
  return `${paint(screen, 'bold', `== phase ${index + 1}/${total}: ${phase.name}`)}${phase.description !== undefined ? ` - ${phase.description}` : ''}\n`;
}

export function stepLine(step: StepResult, screen: Screen = PLAIN): string {
  const status = step.ok
    ? paint(screen, 'green', 'ok')
    : step.interrupted === true
      ? paint(screen, 'yellow', 'interrupted')
      : paint(screen, 'red', `FAILED: ${printable(step.error ?? '')}`);
  return `  step ${step.kind}: ${printable(step.description)} ${status} ${paint(screen, 'dim', `(${step.durationMs} ms)`)}\n`;
}

/** A step's error quotes its command's last output line, which may carry colour codes or a CR
 * (kubectl, progress bars): escaped as \xNN, they neither move the cursor nor reach summary.txt. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function loadLine(load: LoadResult, screen: Screen = PLAIN): string {
  const d = Distribution.decode(load.latency);
  const ms = (us: number): string => `${(us / 1000).toFixed(1)}ms`;
  const codes = Object.entries(load.codes).map(([code, n]) => `${code}: ${n}`).join(', ');
  const causes = Object.entries(load.causes).map(([cause, n]) => `${cause} ${n}`).join(', ');
  const grpc = Object.entries(load.grpcStatuses ?? {}).map(([name, n]) => `${name} ${n}`).join(', ');
  const extra = [load.stopReason !== undefined ? `stopped: ${load.stopDetail ?? load.stopReason}` : '', load.fellBehind ? fellBehindText(load.plan, load.actualQps) : ''].filter((s) => s !== '');
  const warning = extra.length > 0 ? `; ${paint(screen, 'yellow', extra.join('; '))}` : '';
  return (
    `  load: ${load.latency.count} calls in ${(load.durationMs / 1000).toFixed(1)}s, ${load.actualQps.toFixed(1)} rps, ` +
    // Corrected for coordinated omission, as the checks use it; Fortio's from-send view is in the load's own text.
    `corrected latency p50 ${ms(d.percentile(50))}, p99 ${ms(d.percentile(99))}, max ${ms(d.max)}; codes ${codes || 'none'}` +
    `${grpc !== '' ? `; gRPC ${grpc}` : ''}` +
    `${causes !== '' ? `; causes ${causes}` : ''}${warning}\n`
  );
}

export function checkLine(check: CheckResult, screen: Screen = PLAIN): string {
  const observed = check.observed ?? 'no data';
  const detail = `(expected ${check.expected}, observed ${observed}${check.reason !== undefined ? `; ${check.reason}` : ''})`;
  return `  ${verdictWord(screen, check.verdict, LABEL[check.verdict].padEnd(12))} ${check.expression}  ${paint(screen, 'dim', detail)}\n`;
}

export function phaseFooter(phase: PhaseResult, screen: Screen = PLAIN): string {
  let text = '';
  if (phase.load !== undefined) {
    text += loadLine(phase.load, screen);
    if (phase.load.sidecar !== undefined) text += renderSidecarText(phase.load.sidecar, screen, phase.checks.map((c) => c.expression)).replace(/^/gm, '  ').replace(/ +$/, '');
  }
  for (const check of phase.checks) text += checkLine(check, screen);
  return text + `  phase ${phase.name}: ${verdictWord(screen, phase.verdict)}\n`;
}

/** The run's last word, bold: what a CI log reader looks for first. */
export function verdictLine(result: ScenarioResult, screen: Screen = PLAIN): string {
  const checks = result.phases.flatMap((p) => p.checks);
  const count = (v: Verdict): number => checks.filter((c) => c.verdict === v).length;
  // Measured but nothing checked (a load -json file, a scenario without expect:): never PASS.
  const head = result.interrupted ? paint(screen, 'yellow', 'INTERRUPTED') : shownResultVerdict(result) === 'no_checks' ? 'NO CHECKS' : verdictWord(screen, result.verdict);
  const line = `== ${result.name}: ${head} (${count('pass')} passed, ${count('fail')} failed, ${count('no_data')} without data, ${count('inconclusive')} inconclusive; ${result.phases.length} phases run in ${(result.durationMs / 1000).toFixed(1)}s)`;
  return `${paint(screen, 'bold', line)}\n`;
}

/** The table of every check, for a terminal at the end of a run. cli-table3 measures cells
 * without their ANSI codes; only the one-word verdict is coloured, so no cell wraps a code. */
export function checksTable(result: ScenarioResult, screen: Screen = PLAIN): string {
  const table = new Table({ head: ['phase', 'check', 'expected', 'observed', 'verdict'], style: { head: [], border: [] }, wordWrap: true });
  for (const phase of result.phases) {
    for (const check of phase.checks) table.push([phase.name, check.expression, check.expected, check.observed ?? `no data${check.reason !== undefined ? `: ${check.reason}` : ''}`, verdictWord(screen, check.verdict)]);
  }
  return table.length === 0 ? '' : table.toString() + '\n';
}
