/** The serialisable forms of meshload's two kinds of histogram, as results carry them: plain
 * data on the ground floor, so a result can be read, merged or rendered without the recorders
 * (metrics/distribution.ts, metrics/fortio-histogram.ts) that produce them. */

export interface DistributionStats {
  count: number;
  sum: number;
  sumSq: number;
  /** 0 when count is 0. */
  min: number;
  max: number;
}

/** The serialisable form, as it appears in results. */
export interface EncodedDistribution extends DistributionStats {
  /** HdrHistogram V2 compressed, base64 (the format HdrHistogram's own tools read). */
  hdr: string;
}

/** How a histogram scales values into buckets (stats.NewHistogram(offset, divider)). */
export interface FortioScale {
  offset: number;
  divider: number;
}

/** stats.Counter's fields (sum of squares included, so counters merge exactly); results keep
 * a connection's dial times in this form. */
export interface FortioCounterData {
  count: number;
  min: number;
  max: number;
  sum: number;
  sumSq: number;
}

/** The serialisable form kept in meshload's results: the scale, the counter, and the count of
 * every bucket (FORTIO_BUCKET_COUNT numbers, most of them 0). */
export interface EncodedFortioHistogram extends FortioScale, FortioCounterData {
  buckets: number[];
}
