/** The report's stylesheet: plain, light, system fonts, bordered tables; prints legibly. */
export const REPORT_CSS = `
:root { --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --bg-alt: #f6f8fa;
  --pass: #1a7f37; --fail: #cf222e; --inconclusive: #9a6700; --no_data: #8250df; }
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 16px 24px 48px; max-width: 1200px; color: var(--fg); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
h1 { font-size: 22px; margin: 8px 0 4px; word-break: break-word; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--border); }
h3 { font-size: 15px; margin: 20px 0 6px; }
h4 { font-size: 14px; margin: 14px 0 4px; color: var(--muted); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--bg-alt); border: 1px solid var(--border); padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; max-height: 320px; }
table { border-collapse: collapse; margin: 6px 0 10px; }
th, td { border: 1px solid var(--border); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.wide { width: 100%; }
.muted, .nodata { color: var(--muted); }
.nodata { font-style: italic; }
.meta { color: var(--muted); margin: 0 0 8px; }
.meta span { margin-right: 16px; white-space: nowrap; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-weight: 600; font-size: 12.5px; white-space: nowrap; }
.verdict.pass { background: var(--pass); } .verdict.fail { background: var(--fail); }
.verdict.inconclusive { background: var(--inconclusive); } .verdict.no_data { background: var(--no_data); }
.verdict.interrupted { background: #57606a; }
.verdict.no_checks { background: #6e7781; }
#what-ran { margin: 8px 0 12px; }
table.facts th { width: 11em; white-space: nowrap; }
table.facts td { word-break: break-word; }
.verdict.big { font-size: 16px; padding: 3px 14px; vertical-align: middle; }
tr[data-verdict="fail"] td, tr[data-verdict="no_data"] td { background: #fff5f5; }
tr[data-verdict="inconclusive"] td { background: #fff8e5; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { flex: 1 1 520px; min-width: 320px; min-height: 260px; border: 1px solid var(--border); padding: 6px 6px 0; }
.chart.full { flex-basis: 100%; }
.chart .u-title { font-size: 14px; font-weight: 600; }
.chart .u-legend { font-size: 12.5px; }
.bar { display: inline-block; height: 10px; background: #cf222e; vertical-align: middle; min-width: 1px; }
.barcell { width: 220px; }
.traffic svg { max-width: 100%; height: auto; border: 1px solid var(--border); background: #fff; }
.bad { color: var(--fail); font-weight: 600; } .good { color: var(--pass); } .warn { color: var(--inconclusive); font-weight: 600; }
details > summary { cursor: pointer; color: var(--muted); }
nav.toc { margin: 8px 0 0; } nav.toc a { margin-right: 14px; }
@media print { .chart { break-inside: avoid; } nav.toc { display: none; } }
`;
