/** The terminal text of `meshload compare`: which results, a table of every row (phase, metric, A,
 * B, change, verdict, why), what could not be compared, the totals and the noise rule. Pure;
 * regressions red and improvements green on a colour screen. */
import Table from 'cli-table3';
import { NOISE_RULE, type CompareRow, type Comparison, type RowUnit } from './compare';
import { paint, PLAIN, type Paint, type Screen } from '../screen';

const VERDICT_LABEL: Record<CompareRow['verdict'], string> = { regression: 'REGRESSION', improvement: 'improvement', 'within noise': 'within noise' };
const VERDICT_STYLE: Record<CompareRow['verdict'], Paint> = { regression: 'red', improvement: 'green', 'within noise': 'dim' };

/** A value in its unit: `12.35ms`, `199.8/s`, `1.25%`, `0.012/call`. */
export function formatValue(value: number, unit: RowUnit): string {
  switch (unit) {
    case 'ms':
      return `${trim(value, value >= 100 ? 1 : value >= 10 ? 2 : 3)}ms`;
    case '/s':
      return `${trim(value, 1)}/s`;
    case '%':
      return `${trim(value, 2)}%`;
    case '/call':
      return `${trim(value, 4)}/call`;
  }
}

/** `+2.1ms (+17%)`, `+1.5 pt`; the relative part is left out when A is 0. */
export function formatChange(row: CompareRow): string {
  const sign = row.change > 0 ? '+' : row.change < 0 ? '-' : '';
  // A rate's change is in percentage points; its relative change would read as a second rate.
  if (row.unit === '%') return `${sign}${trim(Math.abs(row.change), 2)} pt`;
  const absolute = `${sign}${formatValue(Math.abs(row.change), row.unit)}`;
  if (row.relative === null) return absolute;
  return `${absolute} (${row.relative > 0 ? '+' : row.relative < 0 ? '-' : ''}${trim(Math.abs(row.relative) * 100, 1)}%)`;
}

function trim(value: number, decimals: number): string {
  return String(Number(value.toFixed(decimals)));
}

export function renderCompareText(comparison: Comparison, screen: Screen = PLAIN): string {
  const lines: string[] = [];
  lines.push(`A: ${comparison.a.label} ${paint(screen, 'dim', `(${comparison.a.name}, ${comparison.a.startTime})`)}`);
  lines.push(`B: ${comparison.b.label} ${paint(screen, 'dim', `(${comparison.b.name}, ${comparison.b.startTime})`)}`);
  const table = new Table({ head: ['phase', 'metric', 'A', 'B', 'change', 'verdict', 'why'], style: { head: [], border: [] } });
  for (const phase of comparison.phases) {
    const name = phase.name === phase.nameB ? phase.name : `${phase.name} / ${phase.nameB}`;
    lines.push(`== ${name}: A ${phase.callsA} calls, B ${phase.callsB} calls`);
    for (const note of phase.notes) lines.push(`  note: ${note}`);
    for (const row of phase.rows) {
      // The change and verdict cells are short and never wrap, so their codes stay in one line.
      const style = VERDICT_STYLE[row.verdict];
      const change = row.verdict === 'within noise' ? formatChange(row) : paint(screen, style, formatChange(row));
      table.push([name, row.metric, formatValue(row.a, row.unit), formatValue(row.b, row.unit), change, paint(screen, style, VERDICT_LABEL[row.verdict]), row.reason]);
    }
  }
  let text = lines.join('\n') + '\n' + table.toString() + '\n';
  for (const line of comparison.unmatched) text += `${paint(screen, 'yellow', 'not compared')}: ${line}\n`;
  return text + summaryLine(comparison, screen) + paint(screen, 'dim', `Rule: ${NOISE_RULE}`) + '\n';
}

export function summaryLine(comparison: Comparison, screen: Screen = PLAIN): string {
  const rows = comparison.phases.reduce((n, p) => n + p.rows.length, 0);
  const noise = rows - comparison.regressions - comparison.improvements;
  const plural = (n: number, word: string, style: Paint): string => {
    const text = `${n} ${word}${n === 1 ? '' : 's'}`;
    return n > 0 ? paint(screen, style, text) : text;
  };
  return (
    `== ${plural(comparison.regressions, 'regression', 'red')}, ${plural(comparison.improvements, 'improvement', 'green')}, ${noise} within noise ` +
    `(${comparison.phases.length} phase${comparison.phases.length === 1 ? '' : 's'}; tolerance ${trim(comparison.tolerance * 100, 2)}%, ` +
    `${trim(comparison.confidence * 100, 2)}% confidence)\n`
  );
}
