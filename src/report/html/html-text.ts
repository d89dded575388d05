/** Text into HTML safely: every string from a result (scenario and phase names, step output,
 * check expressions) is user input and goes through these. Pure. */

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escaped for element content and for quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/** JSON for a `<script type="application/json">` block: `<` as \u003c so no `</script>` or
 * `<!--` inside a string can end or change the block; U+2028/2029 escaped for older parsers. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A script's source inlined in `<script>`: `</script` would end the element early. */
export function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
}

/** Milliseconds, three significant digits: 0.243 ms, 12.4 ms, 1250 ms. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return 'n/a';
  if (ms === 0) return '0 ms';
  const digits = ms >= 100 ? 0 : ms >= 10 ? 1 : ms >= 1 ? 2 : 3;
  return `${ms.toFixed(digits)} ms`;
}

export function formatPercent(pct: number | undefined): string {
  if (pct === undefined || !Number.isFinite(pct)) return 'n/a';
  return `${pct.toFixed(1)}%`;
}

export function formatRate(perSecond: number): string {
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
