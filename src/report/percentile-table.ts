/** The compact table printed after the Fortio text when stderr is a terminal: corrected and
 * uncorrected latency at the requested percentiles, in milliseconds. */
import Table from 'cli-table3';
import type { LoadResult } from '../engine/load-result';
import { Distribution } from '../metrics/distribution';

export function renderPercentileTable(result: LoadResult): string {
  const corrected = Distribution.decode(result.latency);
  const uncorrected = Distribution.decode(result.latencyUncorrected);
  const ms = (us: number): string => (us / 1000).toFixed(3);
  const table = new Table({ head: ['latency (ms)', ...result.plan.percentiles.map((p) => `p${p}`), 'max'], style: { head: [], border: [] } });
  table.push(['from intended send', ...result.plan.percentiles.map((p) => ms(corrected.percentile(p))), ms(corrected.max)]);
  table.push(['from actual send', ...result.plan.percentiles.map((p) => ms(uncorrected.percentile(p))), ms(uncorrected.max)]);
  return table.toString() + '\n';
}
