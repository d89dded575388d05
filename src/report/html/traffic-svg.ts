/** A traffic graph as inline SVG, drawn the way Kiali draws one: the client (a workload, round),
 * the service (a triangle), each subset or version (round), edges coloured by error rate (green
 * healthy, orange degraded, red failing, grey unknown) and labelled with share, rate and error
 * rate. Edges carry `data-subset` and `data-share` (percent, one decimal) for tests and scripts. */
import { escapeHtml, formatPercent, formatRate } from './html-text';
import type { TrafficEdge, TrafficGraph } from './traffic-model';

const WIDTH = 860;
const ROW = 74;
const TOP = 40;
const CLIENT_X = 70;
const SERVICE_X = 360;
const SUBSET_X = 720;

/** Kiali's thresholds: any error is degraded, 20% and more is failing. */
export function edgeColor(errorRatePct: number | undefined): string {
  if (errorRatePct === undefined) return '#8c959f';
  if (errorRatePct === 0) return '#2da44e';
  if (errorRatePct < 20) return '#d4a72c';
  return '#cf222e';
}

function edgeLabel(share: string | undefined, rps: number, errorRatePct: number | undefined): string {
  const parts = share === undefined ? [] : [share];
  parts.push(`${formatRate(rps)} rps`);
  parts.push(errorRatePct === undefined ? 'err n/a' : `${formatPercent(errorRatePct)} err`);
  return parts.join(' \u00b7 ');
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}\u2026` : text;
}

function subsetName(edge: TrafficEdge): string {
  return edge.subset === '' ? '(no subset)' : edge.subset;
}

export function renderTrafficSvg(graph: TrafficGraph, id: string): string {
  const rows = Math.max(1, graph.edges.length);
  const height = TOP + rows * ROW;
  const serviceY = TOP + (rows * ROW) / 2 - ROW / 2 + 20;
  const out: string[] = [];
  out.push(
    `<svg id="${escapeHtml(id)}" class="traffic-graph" data-source="${graph.source}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="traffic from ${escapeHtml(graph.client)} to ${escapeHtml(graph.service)}">`,
    `<defs><marker id="${escapeHtml(id)}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>`,
  );
  const arrow = `url(#${escapeHtml(id)}-arrow)`;
  // client -> service
  const inColor = edgeColor(graph.errorRatePct);
  out.push(
    `<g class="edge client-edge"><line x1="${CLIENT_X + 26}" y1="${serviceY}" x2="${SERVICE_X - 30}" y2="${serviceY}" stroke="${inColor}" stroke-width="3" marker-end="${arrow}"/>`,
    `<text x="${(CLIENT_X + SERVICE_X) / 2}" y="${serviceY - 10}" text-anchor="middle" font-size="12">${escapeHtml(`${graph.total} ${graph.source === 'versions' ? 'calls' : 'sent'} \u00b7 ${edgeLabel(undefined, graph.rps, graph.errorRatePct)}`)}</text></g>`,
  );
  graph.edges.forEach((edge, i) => {
    const y = TOP + i * ROW + 20;
    const share = edge.sharePct.toFixed(1);
    const width = 1.5 + (edge.sharePct / 100) * 8;
    // A curve from the service, then a straight last stretch that holds the label.
    const bendEndX = SUBSET_X - 190;
    const midX = (SERVICE_X + 30 + bendEndX) / 2;
    out.push(
      `<g class="edge subset-edge" data-subset="${escapeHtml(edge.subset)}" data-share="${share}" data-count="${edge.count}">`,
      `<path d="M${SERVICE_X + 30},${serviceY} C${midX},${serviceY} ${midX},${y} ${bendEndX},${y} L${SUBSET_X - 24},${y}" fill="none" stroke="${edgeColor(edge.errorRatePct)}" stroke-width="${width.toFixed(1)}" marker-end="${arrow}"/>`,
      `<text x="${SUBSET_X - 30}" y="${y - 9}" text-anchor="end" font-size="12" paint-order="stroke" stroke="#fff" stroke-width="4">${escapeHtml(edgeLabel(`${share}%`, edge.rps, edge.errorRatePct))}</text>`,
      '</g>',
      `<g class="node subset-node"><circle cx="${SUBSET_X}" cy="${y}" r="18" fill="#fff" stroke="#0969da" stroke-width="2"/>`,
      `<text x="${SUBSET_X + 26}" y="${y + 4}" font-size="13" font-weight="600">${escapeHtml(truncate(subsetName(edge), 16))}</text>`,
      `<text x="${SUBSET_X + 26}" y="${y + 19}" font-size="11" fill="#59636e">${edge.count} ${graph.source === 'versions' ? 'calls' : 'sent'}</text></g>`,
    );
  });
  out.push(
    `<g class="node client-node"><circle cx="${CLIENT_X}" cy="${serviceY}" r="24" fill="#fff" stroke="#24292f" stroke-width="2"/>`,
    `<text x="${CLIENT_X}" y="${serviceY + 42}" text-anchor="middle" font-size="13" font-weight="600">${escapeHtml(graph.client)}</text></g>`,
    `<g class="node service-node"><path d="M${SERVICE_X},${serviceY - 26} L${SERVICE_X + 28},${serviceY + 20} L${SERVICE_X - 28},${serviceY + 20} z" fill="#fff" stroke="#24292f" stroke-width="2"/>`,
    `<text x="${SERVICE_X}" y="${serviceY + 40}" text-anchor="middle" font-size="13" font-weight="600">${escapeHtml(truncate(graph.service, 40))}</text></g>`,
    '</svg>',
  );
  return out.join('\n');
}
