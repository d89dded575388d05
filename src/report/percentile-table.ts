/** The compact table printed after the Fortio text when stderr is a terminal: corrected and
 * uncorrected latency at the requested percentiles, in milliseconds. The uncorrected row is the
 * detail (it hides queueing), so a colour screen dims it. */
import Table from 'cli-table3';
import type { LoadResult } from '../model/load-result';
import { Distribution } from '../metrics/distribution';
import { paint, PLAIN, type Screen } from './screen';

export function renderPercentileTable(result: LoadResult, screen: Screen = PLAIN): string {
  const corrected = Distribution.decode(result.latency);
  const uncorrected = Distribution.decode(result.latencyUncorrected);
  const ms = (us: number): string => (us / 1000).toFixed(3);
  const dim = (text: string): string => paint(screen, 'dim', text);
  const table = new Table({ head: ['latency (ms)', ...result.plan.percentiles.map((p) => `p${p}`), 'max'], style: { head: [], border: [] } });
  table.push(['from intended send', ...result.plan.percentiles.map((p) => ms(corrected.percentile(p))), ms(corrected.max)]);
  table.push(['from actual send', ...result.plan.percentiles.map((p) => ms(uncorrected.percentile(p))), ms(uncorrected.max)].map(dim));
  return table.toString() + '\n';
}
