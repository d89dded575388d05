/** `meshload compare -o compare.html`: one self-contained page (inline CSS and SVG, no scripts,
 * no external resources) with, per phase, the notes, the table of rows and the two latency
 * curves overlaid on a "nines" axis. Pure. */
import { NOISE_RULE, type CompareRow, type Comparison, type CurvePoint, type PhaseComparison, type RowInterval } from './compare';
import { formatChange, formatValue, summaryLine } from './text';

const COLOR_A = '#1f77b4';
const COLOR_B = '#d62728';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.sides { margin: .5rem 0 1rem; }
.sides .a { color: ${COLOR_A}; font-weight: 600; }
.sides .b { color: ${COLOR_B}; font-weight: 600; }
.summary { font-weight: 600; padding: .5rem .75rem; border-radius: 4px; background: #eef6ee; }
.summary.bad { background: #fbeaea; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e5e5e5; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.why { color: #555; font-size: .9em; }
td.verdict, td:first-child { white-space: nowrap; }
tr.regression td.verdict { color: #b00020; font-weight: 700; }
tr.improvement td.verdict { color: #1b7f3b; font-weight: 700; }
tr.noise td.verdict { color: #666; }
ul.notes { color: #6a4b00; }
svg { max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #444; }
footer { margin-top: 2rem; color: #555; font-size: .9em; }
`;

export function renderCompareHtml(comparison: Comparison): string {
  const title = `meshload compare: ${comparison.a.name} vs ${comparison.b.name}`;
  const bad = comparison.regressions > 0;
  const parts: string[] = [];
  parts.push('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">');
  parts.push(`<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(title)}</title>\n<style>${CSS}</style>\n</head>\n<body>`);
  parts.push(`<h1>${escapeHtml(title)}</h1>`);
  parts.push(
    `<p class="sides"><span class="a">A</span> ${escapeHtml(comparison.a.label)} (${escapeHtml(comparison.a.name)}, ${escapeHtml(comparison.a.startTime)})<br>` +
      `<span class="b">B</span> ${escapeHtml(comparison.b.label)} (${escapeHtml(comparison.b.name)}, ${escapeHtml(comparison.b.startTime)})</p>`,
  );
  parts.push(`<p class="summary${bad ? ' bad' : ''}">${escapeHtml(summaryLine(comparison).replace(/^== /, '').trim())}</p>`);
  for (const phase of comparison.phases) parts.push(phaseSection(phase));
  if (comparison.unmatched.length > 0) {
    parts.push(`<h2>Not compared</h2>\n<ul>${comparison.unmatched.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`);
  }
  parts.push(`<footer><p><strong>Noise rule.</strong> ${escapeHtml(NOISE_RULE)}</p></footer>`);
  parts.push('</body>\n</html>\n');
  return parts.join('\n');
}

function phaseSection(phase: PhaseComparison): string {
  const name = phase.name === phase.nameB ? phase.name : `${phase.name} / ${phase.nameB}`;
  const out: string[] = [`<section>\n<h2>${escapeHtml(name)} <small>(A ${phase.callsA} calls, B ${phase.callsB} calls)</small></h2>`];
  if (phase.notes.length > 0) out.push(`<ul class="notes">${phase.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
  out.push('<table>\n<thead><tr><th>metric</th><th>A</th><th>B</th><th>change</th><th>verdict</th><th>why (99% intervals A / B)</th></tr></thead>\n<tbody>');
  for (const row of phase.rows) out.push(rowHtml(row));
  out.push('</tbody>\n</table>');
  if (phase.curve.length >= 2) out.push(curveSvg(phase.curve, name));
  out.push('</section>');
  return out.join('\n');
}

function intervalText(i: RowInterval | undefined, unit: CompareRow['unit']): string {
  if (i === undefined) return '';
  return `[${formatValue(i.low, unit)}, ${i.high === null ? 'unbounded' : formatValue(i.high, unit)}]`;
}

function rowHtml(row: CompareRow): string {
  const cls = row.verdict === 'within noise' ? 'noise' : row.verdict;
  const intervals = row.intervalA === undefined ? '' : `<br>${escapeHtml(intervalText(row.intervalA, row.unit))} / ${escapeHtml(intervalText(row.intervalB, row.unit))}`;
  return (
    `<tr class="${cls}"><td>${escapeHtml(row.metric)}</td><td class="num">${escapeHtml(formatValue(row.a, row.unit))}</td>` +
    `<td class="num">${escapeHtml(formatValue(row.b, row.unit))}</td><td class="num">${escapeHtml(formatChange(row))}</td>` +
    `<td class="verdict">${escapeHtml(row.verdict)}</td><td class="why">${escapeHtml(row.reason)}${intervals}</td></tr>`
  );
}

/** Percentile p on the "nines" axis: 90 -> 1, 99 -> 2, 99.9 -> 3. */
function nines(p: number): number {
  return Math.log10(100 / (100 - p));
}

/** Both latency curves on one chart: x the percentile on a nines axis, y milliseconds. */
export function curveSvg(curve: readonly CurvePoint[], name: string): string {
  const width = 720;
  const height = 280;
  const left = 56;
  const right = 16;
  const top = 16;
  const bottom = 36;
  const last = curve[curve.length - 1] as CurvePoint;
  const xMax = Math.max(nines(last.percentile), 1);
  const yMax = Math.max(...curve.map((c) => Math.max(c.a, c.b)), 0.001) * 1.05;
  const x = (p: number): number => left + (nines(p) / xMax) * (width - left - right);
  const y = (v: number): number => top + (1 - v / yMax) * (height - top - bottom);
  const line = (pick: (c: CurvePoint) => number): string => curve.map((c) => `${x(c.percentile).toFixed(1)},${y(pick(c)).toFixed(1)}`).join(' ');
  const grid: string[] = [];
  for (const p of [0, 50, 90, 99, 99.9, 99.99]) {
    if (nines(p) > xMax + 1e-9) continue;
    grid.push(`<line x1="${x(p).toFixed(1)}" y1="${top}" x2="${x(p).toFixed(1)}" y2="${height - bottom}" stroke="#e5e5e5"/>`);
    grid.push(`<text x="${x(p).toFixed(1)}" y="${height - bottom + 14}" text-anchor="middle">p${p}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const v = (yMax / 1.05) * (i / 4);
    grid.push(`<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${width - right}" y2="${y(v).toFixed(1)}" stroke="#f0f0f0"/>`);
    grid.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${escapeHtml(formatValue(v, 'ms'))}</text>`);
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(`latency by percentile, ${name}: A and B`)}">\n` +
    `<title>${escapeHtml(`latency by percentile, ${name}`)}</title>\n${grid.join('\n')}\n` +
    `<polyline fill="none" stroke="${COLOR_A}" stroke-width="2" points="${line((c) => c.a)}"/>\n` +
    `<polyline fill="none" stroke="${COLOR_B}" stroke-width="2" stroke-dasharray="6 3" points="${line((c) => c.b)}"/>\n` +
    `<line x1="${left + 12}" y1="${top + 8}" x2="${left + 36}" y2="${top + 8}" stroke="${COLOR_A}" stroke-width="2"/><text x="${left + 42}" y="${top + 12}">A</text>\n` +
    `<line x1="${left + 12}" y1="${top + 24}" x2="${left + 36}" y2="${top + 24}" stroke="${COLOR_B}" stroke-width="2" stroke-dasharray="6 3"/><text x="${left + 42}" y="${top + 28}">B</text>\n` +
    `<text x="${(left + width - right) / 2}" y="${height - 4}" text-anchor="middle">percentile (nines scale)</text>\n</svg>`
  );
}
