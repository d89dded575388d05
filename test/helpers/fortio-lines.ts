/** Classifies text output lines by the Fortio format string that prints them, so golden tests can
 * hold meshload's output to real Fortio output line by line. Each pattern cites where Fortio 1.75
 * (fortio/fortio @ 45e1871) prints it; the order of FORTIO_LINE_ORDER is the order Fortio prints
 * them in (periodic.Run, then fhttp.RunHTTPTest's summary). */

export type FortioLineKind =
  | 'log'
  | 'banner'
  | 'starting'
  | 'ended'
  | 'sleepCounter'
  | 'sleepWarning'
  | 'functionTime'
  | 'histogramHeader'
  | 'histogramRow'
  | 'target'
  | 'errorCases'
  | 'socketsHeader'
  | 'socketLine'
  | 'connectionTime'
  | 'socketsUsed'
  | 'uniform'
  | 'ipHeader'
  | 'ipLine'
  | 'code'
  | 'headerSizes'
  | 'bodySizes'
  | 'allDone';

const NUM = String.raw`-?[0-9.]+(?:e[-+][0-9]+)?`;
const COUNTER = String.raw` : count \d+ avg ${NUM} \+/- ${NUM} min ${NUM} max ${NUM} sum ${NUM}`;

const PATTERNS: ReadonlyArray<readonly [FortioLineKind, RegExp]> = [
  // fortio.org/log console format (`15:04:05 W file.go:123> msg`, newer: `15:04:05.000 r1 [WRN] ...`)
  // and its JSON format (`{"ts":...,"level":"warn",...}`), which it uses when stderr is no terminal.
  ['log', /^(?:\d\d:\d\d:\d\d(?:\.\d+)? (?:[DVIWEFC] \S+:\d+>|r\d+ \[[A-Z]{3}\]) |\{"ts":)/],
  // cli/fortio_main.go fortioLoad: "Fortio %s running at %g queries per second, %d->%d procs"
  ['banner', /^\S+ \S+ running at -?[0-9.e+]+ queries per second, \d+->\d+ procs, (?:for |until interrupted)/],
  // periodic/periodic.go:429-478
  ['starting', /^Starting at (?:max|[0-9.e+]+) qps with \d+ thread\(s\) \[gomax \d+\] /],
  // periodic/periodic.go:597
  ['ended', /^Ended after \S+ : \d+ calls\. qps=\S+$/],
  // periodic/periodic.go:607-613
  ['sleepCounter', new RegExp(String.raw`^(?:Sleep times|Aggregated Sleep Time)${COUNTER}$`)],
  ['sleepWarning', /^WARNING [0-9.]+% of sleep were falling behind$/],
  // periodic/periodic.go: functionDuration.Print(out, "Aggregated Function Time", percentiles)
  ['functionTime', new RegExp(String.raw`^Aggregated Function Time(?:${COUNTER}| : no data)$`)],
  // stats/stats.go Histogram.Print: header, one row per bucket, one line per target
  ['histogramHeader', /^# range, mid point, percentile, count$/],
  ['histogramRow', new RegExp(String.raw`^(?:>=|>|<) ${NUM}(?: <= ${NUM})? , ${NUM} , [0-9.]+, \d+$`)],
  ['target', new RegExp(String.raw`^# target [0-9.]+% ${NUM}$`)],
  ['errorCases', new RegExp(String.raw`^Error cases(?:${COUNTER}| : no data)$`)],
  // fhttp/httprunner.go:233-259
  ['socketsHeader', /^# Socket and IP used for each connection:$/],
  ['socketLine', /^\[\d+\] +\d+ socket used, resolved to .*, connection timing/],
  ['connectionTime', new RegExp(String.raw`^Connection time (?:\(s\)${COUNTER}|histogram \(s\)(?:${COUNTER}| : no data))$`)],
  // fhttp/httprunner.go:276-292
  ['socketsUsed', /^Sockets used: \d+ \(for perfect keepalive, would be \d+\)$/],
  ['uniform', /^Uniform: (?:true|false), Jitter: (?:true|false), Catchup allowed: (?:true|false)$/],
  ['ipHeader', /^IP addresses distribution:$/],
  ['code', /^Code +-?\d+ : \d+ \([0-9.]+ %\)$/],
  ['headerSizes', new RegExp(String.raw`^Response Header Sizes(?: Histogram)?(?:${COUNTER}| : no data)$`)],
  ['bodySizes', new RegExp(String.raw`^Response Body/Total Sizes(?: Histogram)?(?:${COUNTER}| : no data)$`)],
  // fhttp/httprunner.go / cli: "All done %d calls (plus %d warmup) %.3f ms avg, %.1f qps"
  ['allDone', /^All done \d+ calls \(plus \d+ warmup\) [0-9.]+ ms avg, [0-9.]+ qps$/],
  // Last: an address line is "host:port: N", which is loose enough to match little else.
  ['ipLine', /^\S+:\d+: \d+$/],
];

/** Fortio's order; kinds that repeat (rows, targets, codes) repeat in place. */
export const FORTIO_LINE_ORDER: readonly FortioLineKind[] = [
  'banner', 'starting', 'ended', 'sleepCounter', 'sleepWarning', 'functionTime', 'errorCases',
  'socketsHeader', 'socketLine', 'connectionTime', 'socketsUsed', 'uniform', 'ipHeader', 'ipLine',
  'code', 'headerSizes', 'bodySizes', 'allDone',
];

export function fortioLineKind(line: string): FortioLineKind | undefined {
  for (const [kind, pattern] of PATTERNS) if (pattern.test(line)) return kind;
  return undefined;
}

/** The lines of `text` that Fortio's format strings print, in order, with their kinds. Histogram
 * detail (header, rows, targets) belongs to the counter line before it and is left out, as are log
 * lines, which Fortio interleaves wherever they happen. */
export function fortioSummaryKinds(text: string): FortioLineKind[] {
  const kinds: FortioLineKind[] = [];
  for (const line of text.split('\n')) {
    const kind = fortioLineKind(line);
    if (kind === undefined || kind === 'log' || kind === 'histogramHeader' || kind === 'histogramRow' || kind === 'target') continue;
    kinds.push(kind);
  }
  return kinds;
}

/** True when `kinds` never goes back in Fortio's order. */
export function inFortioOrder(kinds: readonly FortioLineKind[]): boolean {
  let at = 0;
  for (const kind of kinds) {
    const index = FORTIO_LINE_ORDER.indexOf(kind);
    if (index < at) return false;
    at = index;
  }
  return true;
}
