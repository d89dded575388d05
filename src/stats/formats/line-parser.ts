/** What a line-based stats format implements. StatsParser splits chunks into lines (keeping only
 * the unfinished last one) and strips a CR, so a format sees whole lines and never a chunk. */
export interface LineParser {
  /** Parses one line without its line break; `n` is its 1-based number, for errors and samples.
   * Throws StatsParseError on a malformed line. */
  line(line: string, n: number): void;
}
