/** Fortio's printing of one counter or histogram (stats.Counter.Print, HistogramData.Print), apart
 * from the text report so connection lines can use it without importing the report back. */
import type { FortioHistogram } from './histogram';
import { goSprintf } from './go-format';

/** stats.Counter.Print. */
export function fortioCounterLine(title: string, h: FortioHistogram): string {
  return goSprintf('%s : count %d avg %.8g +/- %.4g min %g max %g sum %.9g', title, h.Count, h.Avg, h.StdDev, h.Min, h.Max, h.Sum);
}

/** stats.HistogramData.Print: counter line, buckets (">=" for the first, ">" after: intervals
 * are open on the left), then "# target" lines. */
export function fortioHistogramLines(title: string, h: FortioHistogram): string[] {
  if (h.Data === null || h.Data.length === 0) return [`${title} : no data`];
  const lines = [fortioCounterLine(title, h), '# range, mid point, percentile, count'];
  h.Data.forEach((b, i) => {
    lines.push(goSprintf('%s %.6g <= %.6g , %.6g , %.2f, %d', i === 0 ? '>=' : '>', b.Start, b.End, (b.Start + b.End) / 2, b.Percent, b.Count));
  });
  for (const p of h.Percentiles ?? []) lines.push(goSprintf('# target %g%% %.6g', p.Percentile, p.Value));
  return lines;
}
