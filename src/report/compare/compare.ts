/** `meshload compare A B`: two results (typically a baseline run and a new one), phase by phase,
 * metric by metric, each change judged `regression`, `improvement` or `within noise`. Pure: two
 * ScenarioResults in, plain rows out; text.ts and html.ts render them.
 *
 * The noise rule. A change counts only when it is beyond --tolerance AND beyond what sampling
 * explains at 99% confidence, so two runs of one setup are not called different because one drew
 * a few slow calls, and a large run cannot flag a 0.5% shift because the tolerance allowed it:
 * - percentiles: a distribution-free interval for the population quantile from order statistics
 *   (ranks n*q -/+ z*sqrt(n*q*(1-q)), z = 2.576), read from the histogram at its resolution (HDR's
 *   bucket, or Fortio's bucket for imported JSON, whose spreading inside a bucket is invented). A
 *   rank past the data leaves that side unbounded (few calls cannot bound a p99.9). A and B differ
 *   only when their intervals do not overlap (conservative: that test's own error is well under 1%).
 * - max: one call, no interval; it counts when k of one side's calls lie beyond the other side's max
 *   and chance would put the k largest of both runs all on one side with probability under 1%
 *   (prod (n_b - i) / (n_a + n_b - i), i < k): a precedence test. Calls in flight together share a
 *   stall (GC, a busy core), so calls count in groups of the connection count.
 * - avg: normal intervals of the mean (z * sd / sqrt(n)), apart.
 * - rps: the call count's interval, sqrt(N * max(1, CV^2)) (Poisson, or a renewal process when
 *   latency varies more than exponential: closed loops complete calls in a renewal process), apart.
 * - error rate, codes, causes: a two-proportion z-test; the tolerance is max(tolerance x rate,
 *   1 percentage point), as `meshload run --baseline` has it.
 * - proxy counters (the sidecar's resilience view, per client call): k_b given k_a + k_b is binomial
 *   with share n_b / (n_a + n_b) when the rates are equal; counts when the Wilson interval excludes it.
 * Difference from `run --baseline`: that gate fails on the tolerance alone (p99 and error rate);
 * compare also asks for the statistical condition, so it may call within noise what the gate fails. */
import type { LoadResult } from '../../model/load-result';
import { fellBehindText } from '../../model/achieved-rate';
import { isOk, notOkCalls } from '../../model/outcome';
import { Distribution, forEachRecorded } from '../../metrics/distribution';
import { chiSquareSurvival, wilsonInterval, zForConfidence } from '../../metrics/statistics';
import type { PhaseResult, ScenarioResult } from '../../scenario/scenario-result';
import type { FailureCause } from '../../model/failure-cause';
import { viewField, type ResilienceField } from '../../stats/resilience-view';
import { usageError } from '../../util/errors';
import { redactUrl } from '../../util/redact';
import { importedBucketOf, importNote, isFortioImport } from '../fortio/import';

export type RowVerdict = 'regression' | 'improvement' | 'within noise';

export const COMPARE_CONFIDENCE = 0.99;

/** Error rates and shares: under this many percentage points a change is noise (as baseline.ts). */
const SHARE_SLACK_POINTS = 1;
/** Proxy counters per call: the same slack, one intervention per 100 calls. */
const PER_CALL_SLACK = 0.01;

export const LATENCY_PERCENTILES: readonly number[] = [50, 90, 99, 99.9];

/** Percentiles drawn in the overlay of the two latency curves. */
const CURVE_PERCENTILES: readonly number[] = [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97, 98, 99, 99.5, 99.8, 99.9, 99.95, 99.99];

/** Proxy counters by the names the check grammar uses; gauges (ejections.active, breaker_open.*)
 * are maxima of samples, not counts, and are left out. */
const PROXY_COUNTERS: ReadonlyArray<readonly [string, ResilienceField]> = [
  ['requests.sent', 'requestsSent'],
  ['breaker.pending', 'breakerRejections.pending'],
  ['breaker.active', 'breakerRejections.active'],
  ['breaker.connection', 'breakerRejections.connection'],
  ['retries.attempted', 'retries.attempted'],
  ['retries.succeeded', 'retries.succeeded'],
  ['retries.overflowed', 'retries.overflowed'],
  ['retries.limit_exceeded', 'retries.limitExceeded'],
  ['timeouts.route', 'timeouts.route'],
  ['timeouts.per_try', 'timeouts.perTry'],
  ['upstream_5xx.final', 'upstream5xx.final'],
  ['upstream_5xx.retried', 'upstream5xx.retried'],
  ['connect_failures', 'connectFailures'],
  ['ejections.enforced', 'ejections.enforced'],
  ['faults.aborts', 'faults.aborts'],
  ['faults.delays', 'faults.delays'],
];

/** `high: null` is unbounded: the data cannot bound it (a rank beyond the largest call). */
export interface RowInterval {
  low: number;
  high: number | null;
}

export type RowUnit = 'ms' | '/s' | '%' | '/call';

export interface CompareRow {
  /** `p99`, `max`, `avg`, `rps`, `error rate`, `code 503`, `cause breaker`, `proxy retries.attempted`. */
  metric: string;
  unit: RowUnit;
  a: number;
  b: number;
  /** b - a. */
  change: number;
  /** (b - a) / a; null when a is 0. */
  relative: number | null;
  /** The direction that is worse: latency and errors `higher`, rps and OK codes `lower`. */
  worse: 'higher' | 'lower';
  verdict: RowVerdict;
  /** The evidence, one phrase. */
  reason: string;
  /** 99% intervals, in the row's unit, where the rule uses them. */
  intervalA?: RowInterval;
  intervalB?: RowInterval;
}

export interface CurvePoint {
  percentile: number;
  /** Milliseconds. */
  a: number;
  b: number;
}

export interface PhaseComparison {
  /** Phase name in A (and in B, unless `nameB` differs). */
  name: string;
  nameB: string;
  callsA: number;
  callsB: number;
  /** Differences in how the two ran (plan, approximation) that a reader should know. */
  notes: string[];
  rows: CompareRow[];
  curve: CurvePoint[];
}

export interface CompareSide {
  /** What the user gave (a path). */
  label: string;
  name: string;
  startTime: string;
}

export interface Comparison {
  a: CompareSide;
  b: CompareSide;
  tolerance: number;
  confidence: number;
  phases: PhaseComparison[];
  /** Phases that could not be compared, one line each. */
  unmatched: string[];
  regressions: number;
  improvements: number;
}

export interface CompareOptions {
  /** Fraction: 0.1 for 10%. */
  tolerance: number;
  labels?: { a: string; b: string };
}

export function compareResults(a: ScenarioResult, b: ScenarioResult, options: CompareOptions): Comparison {
  const confidence = COMPARE_CONFIDENCE;
  const { pairs, unmatched } = pairPhases(a, b);
  if (pairs.length === 0) {
    const names = (r: ScenarioResult): string => r.phases.map((p) => `'${p.name}'${p.load === undefined ? ' (no load)' : ''}`).join(', ') || 'none';
    throw usageError(
      `no phase with load to compare: A has ${names(a)}, B has ${names(b)}`,
      'compare two runs of the same scenario (phases are paired by name), or two single loads',
    );
  }
  const phases = pairs.map(([pa, pb, note]) => comparePhase(pa, pb, options.tolerance, confidence, note));
  const all = phases.flatMap((p) => p.rows);
  return {
    a: { label: options.labels?.a ?? a.file, name: a.name, startTime: a.startTime },
    b: { label: options.labels?.b ?? b.file, name: b.name, startTime: b.startTime },
    tolerance: options.tolerance,
    confidence,
    phases,
    unmatched,
    regressions: all.filter((r) => r.verdict === 'regression').length,
    improvements: all.filter((r) => r.verdict === 'improvement').length,
  };
}

type Pair = [PhaseResult & { load: LoadResult }, PhaseResult & { load: LoadResult }, string | undefined];

/** Phases pair by name. When no name matches and each side has exactly one phase with load (a
 * `meshload load -json` file against a one-phase run), those two pair, with a note. */
export function pairPhases(a: ScenarioResult, b: ScenarioResult): { pairs: Pair[]; unmatched: string[] } {
  const pairs: Pair[] = [];
  const unmatched: string[] = [];
  const hasLoad = (p: PhaseResult): p is PhaseResult & { load: LoadResult } => p.load !== undefined;
  for (const pa of a.phases) {
    const pb = b.phases.find((p) => p.name === pa.name);
    if (pb === undefined) unmatched.push(`phase '${pa.name}' is only in A`);
    else if (!hasLoad(pa) || !hasLoad(pb)) unmatched.push(`phase '${pa.name}' ran no load in ${!hasLoad(pa) && !hasLoad(pb) ? 'A or B' : !hasLoad(pa) ? 'A' : 'B'}`);
    else pairs.push([pa, pb, undefined]);
  }
  for (const pb of b.phases) if (!a.phases.some((p) => p.name === pb.name)) unmatched.push(`phase '${pb.name}' is only in B`);
  if (pairs.length === 0) {
    const loadsA = a.phases.filter(hasLoad);
    const loadsB = b.phases.filter(hasLoad);
    const [onlyA] = loadsA;
    const [onlyB] = loadsB;
    if (loadsA.length === 1 && loadsB.length === 1 && onlyA !== undefined && onlyB !== undefined) {
      return { pairs: [[onlyA, onlyB, `A's phase '${onlyA.name}' compared with B's '${onlyB.name}': the only phase with load on each side`]], unmatched: [] };
    }
  }
  return { pairs, unmatched };
}

function comparePhase(pa: Pair[0], pb: Pair[1], tolerance: number, confidence: number, pairNote: string | undefined): PhaseComparison {
  const la = pa.load;
  const lb = pb.load;
  const da = Distribution.decode(la.latency);
  const db = Distribution.decode(lb.latency);
  const z = zForConfidence(confidence);
  const notes = [...(pairNote === undefined ? [] : [pairNote]), ...planNotes(la, lb)];
  for (const [side, load] of [['A', la], ['B', lb]] as const) {
    const note = importNote(load);
    if (note !== undefined) notes.push(`${side} ${note}`);
  }
  const rows: CompareRow[] = [];
  if (da.count > 0 && db.count > 0) {
    const bucketA = importedBucketOf(la);
    const bucketB = importedBucketOf(lb);
    for (const p of LATENCY_PERCENTILES) rows.push(percentileRow(p, da, db, bucketA, bucketB, tolerance, z));
    rows.push(maxRow(la, lb, da, db, bucketA, bucketB, tolerance, confidence));
    rows.push(avgRow(da, db, tolerance, z));
  } else {
    notes.push(`no calls in ${da.count === 0 && db.count === 0 ? 'A or B' : da.count === 0 ? 'A' : 'B'}: latency not compared`);
  }
  const rps = rpsRow(la, lb, da, db, tolerance, z);
  if (rps !== undefined) rows.push(rps);
  const callsA = la.latency.count;
  const callsB = lb.latency.count;
  if (callsA > 0 && callsB > 0) {
    rows.push(shareRow('error rate', notOkCalls(la.codes), callsA, notOkCalls(lb.codes), callsB, 'higher', tolerance, confidence));
    const codes = [...new Set([...Object.keys(la.codes), ...Object.keys(lb.codes)])].sort((x, y) => Number(x) - Number(y));
    for (const code of codes) {
      rows.push(shareRow(`code ${code}`, la.codes[code] ?? 0, callsA, lb.codes[code] ?? 0, callsB, isOk(Number(code)) ? 'lower' : 'higher', tolerance, confidence));
    }
    if (isFortioImport(la) || isFortioImport(lb)) {
      notes.push('failure causes not compared: Fortio does not record them');
    } else {
      const causes = [...new Set([...Object.keys(la.causes), ...Object.keys(lb.causes)])].sort() as FailureCause[];
      for (const cause of causes) rows.push(shareRow(`cause ${cause}`, la.causes[cause] ?? 0, callsA, lb.causes[cause] ?? 0, callsB, 'higher', tolerance, confidence));
    }
    rows.push(...proxyRows(la, lb, callsA, callsB, tolerance, confidence, notes));
  }
  return {
    name: pa.name,
    nameB: pb.name,
    callsA,
    callsB,
    notes,
    rows,
    curve: da.count > 0 && db.count > 0 ? curveOf(da, db) : [],
  };
}

/** What differs in how the two ran: a comparison of different loads is still shown, but said so. */
function planNotes(a: LoadResult, b: LoadResult): string[] {
  const shape = (l: LoadResult): string => {
    const p = l.plan;
    const rate = p.ramp !== undefined ? `ramp ${p.ramp.from}->${p.ramp.to}` : p.qps > 0 ? `-qps ${p.qps}` : '-qps max';
    const amount = p.requests !== undefined ? `-n ${p.requests}` : `-t ${p.durationMs / 1000}s`;
    return `${p.method} -c ${p.connections} ${rate} ${amount}${p.open !== undefined ? ' open' : ''}`;
  };
  const notes: string[] = [];
  if (shape(a) !== shape(b)) notes.push(`the loads differ: A ran ${shape(a)}, B ran ${shape(b)}`);
  if (a.plan.url !== b.plan.url) notes.push(`the targets differ: A ${redactUrl(a.plan.url)}, B ${redactUrl(b.plan.url)}`);
  for (const [side, load] of [['A', a], ['B', b]] as const) {
    if (load.fellBehind) notes.push(`${side}: ${fellBehindText(load.plan, load.actualQps)}`);
    if (load.stopReason !== undefined) notes.push(`${side} stopped early (${load.stopReason})`);
  }
  return notes;
}

function judge(
  row: Omit<CompareRow, 'verdict' | 'reason' | 'relative' | 'change'>,
  beyondTolerance: boolean,
  significant: boolean,
  tolerancePhrase: string,
  evidence: string,
): CompareRow {
  const change = row.b - row.a;
  const relative = row.a === 0 ? null : change / row.a;
  let verdict: RowVerdict = 'within noise';
  let reason: string;
  if (change === 0) reason = 'no change';
  else if (!beyondTolerance) reason = `within ${tolerancePhrase}`;
  else if (!significant) reason = `beyond ${tolerancePhrase} but ${evidence}`;
  else {
    verdict = (change > 0) === (row.worse === 'higher') ? 'regression' : 'improvement';
    reason = `beyond ${tolerancePhrase} and ${evidence}`;
  }
  return { ...row, change, relative, verdict, reason };
}

function pct(fraction: number): string {
  return `${Number((fraction * 100).toFixed(2))}%`;
}

interface Step {
  from: number;
  to: number;
  /** Calls up to and including this step. */
  cumulative: number;
}

function stepsOf(d: Distribution): Step[] {
  const steps: Step[] = [];
  let cumulative = 0;
  forEachRecorded(d, (from, to, n) => {
    cumulative += n;
    steps.push({ from, to, cumulative });
  });
  return steps;
}

/** The recorded value range holding the call of rank `rank` (1-based). */
function stepAtRank(steps: readonly Step[], rank: number): Step {
  for (const step of steps) if (step.cumulative >= rank) return step;
  return steps[steps.length - 1] as Step;
}

type BucketOf = ((us: number) => [number, number]) | undefined;

/** The order-statistic interval of the q-quantile, in microseconds; high Infinity when the upper
 * rank is beyond the data. */
export function quantileInterval(d: Distribution, q: number, z: number, bucketOf?: BucketOf): { low: number; high: number } {
  const n = d.count;
  const centre = n * q;
  const half = z * Math.sqrt(n * q * (1 - q));
  const lowRank = Math.floor(centre - half);
  const highRank = Math.ceil(centre + half);
  const steps = stepsOf(d);
  let low = lowRank < 1 ? 0 : stepAtRank(steps, lowRank).from;
  let high = highRank > n ? Infinity : stepAtRank(steps, Math.max(1, highRank)).to;
  if (bucketOf !== undefined) {
    low = bucketOf(low)[0];
    if (high !== Infinity) high = bucketOf(high)[1];
  }
  // min and max are exact: the sample quantile cannot leave them, nor can a bound read from it.
  low = Math.max(low, lowRank < 1 ? 0 : d.min);
  if (high !== Infinity) high = Math.min(high, d.max);
  return { low, high };
}

function pointAt(d: Distribution, p: number): number {
  return Math.min(d.max, Math.max(d.min, d.percentile(p)));
}

const ms = (us: number): number => us / 1000;

function msInterval(i: { low: number; high: number }): RowInterval {
  return { low: ms(i.low), high: i.high === Infinity ? null : ms(i.high) };
}

function percentileRow(p: number, da: Distribution, db: Distribution, bucketA: BucketOf, bucketB: BucketOf, tolerance: number, z: number): CompareRow {
  const a = ms(pointAt(da, p));
  const b = ms(pointAt(db, p));
  const ia = quantileInterval(da, p / 100, z, bucketA);
  const ib = quantileInterval(db, p / 100, z, bucketB);
  const apart = ib.low > ia.high || ia.low > ib.high;
  const unbounded = [ia.high === Infinity ? 'A' : '', ib.high === Infinity ? 'B' : ''].filter((side) => side !== '').join(' and ');
  const overlap = unbounded === '' ? 'the 99% intervals overlap' : `the 99% intervals overlap (${unbounded}: too few calls to bound p${p} from above)`;
  return judge(
    { metric: `p${p}`, unit: 'ms', a, b, worse: 'higher', intervalA: msInterval(ia), intervalB: msInterval(ib) },
    beyondRelative(a, b, tolerance),
    apart,
    pct(tolerance),
    apart ? 'the 99% intervals are apart' : overlap,
  );
}

function beyondRelative(a: number, b: number, tolerance: number): boolean {
  return a === 0 ? b !== 0 : Math.abs(b - a) > Math.abs(a) * tolerance;
}

/** How many calls of `d` lie for certain above `limit`: whole recorded ranges (widened to the
 * source's resolution) starting above it. */
function callsAbove(d: Distribution, limit: number, bucketOf: BucketOf): number {
  let n = 0;
  forEachRecorded(d, (from, _to, count) => {
    const low = bucketOf === undefined ? from : bucketOf(from)[0];
    if (low > limit) n += count;
  });
  return n;
}

/** P(the k largest calls of both runs all come from the side with `mine` calls) if the runs are alike. */
function allOnOneSide(k: number, mine: number, theirs: number): number {
  let p = 1;
  for (let i = 0; i < k; i++) p *= (mine - i) / (mine + theirs - i);
  return p;
}

/** Calls in flight together (one per connection, or the open model's cap) share a stall (a GC
 * pause, a busy core), so the max test counts them in groups of that size. */
function inFlight(load: LoadResult): number {
  return Math.max(1, load.plan.open?.maxInflight ?? load.plan.connections);
}

function maxRow(la: LoadResult, lb: LoadResult, da: Distribution, db: Distribution, bucketA: BucketOf, bucketB: BucketOf, tolerance: number, confidence: number): CompareRow {
  const a = ms(da.max);
  const b = ms(db.max);
  const higher =
    b >= a
      ? { d: db, other: da, bucket: bucketB, group: inFlight(lb), otherGroup: inFlight(la), side: 'B', otherSide: 'A' }
      : { d: da, other: db, bucket: bucketA, group: inFlight(la), otherGroup: inFlight(lb), side: 'A', otherSide: 'B' };
  const k = callsAbove(higher.d, higher.other.max, higher.bucket);
  const groups = Math.floor(k / higher.group);
  const chance = allOnOneSide(groups, Math.floor(higher.d.count / higher.group), Math.floor(higher.other.count / higher.otherGroup));
  const significant = groups > 0 && chance < 1 - confidence;
  const grouped = higher.group > 1 ? ` in groups of ${higher.group} in flight` : '';
  return judge(
    { metric: 'max', unit: 'ms', a, b, worse: 'higher' },
    beyondRelative(a, b, tolerance),
    significant,
    pct(tolerance),
    `${k} of ${higher.side}'s calls above ${higher.otherSide}'s max (${significant ? '' : 'not '}beyond chance${grouped}: p ${formatP(chance)})`,
  );
}

/** `0.031`, `< 1e-6`. */
export function formatP(p: number): string {
  return p < 1e-6 ? '< 1e-6' : p >= 0.01 ? p.toFixed(2) : p.toPrecision(2);
}

function avgRow(da: Distribution, db: Distribution, tolerance: number, z: number): CompareRow {
  const interval = (d: Distribution): { low: number; high: number } => {
    if (d.count < 2) return { low: 0, high: Infinity };
    const half = (z * d.stddev()) / Math.sqrt(d.count);
    return { low: Math.max(0, d.mean() - half), high: d.mean() + half };
  };
  const ia = interval(da);
  const ib = interval(db);
  const apart = ib.low > ia.high || ia.low > ib.high;
  return judge(
    { metric: 'avg', unit: 'ms', a: ms(da.mean()), b: ms(db.mean()), worse: 'higher', intervalA: msInterval(ia), intervalB: msInterval(ib) },
    beyondRelative(da.mean(), db.mean(), tolerance),
    apart,
    pct(tolerance),
    apart ? 'the 99% intervals are apart' : 'the 99% intervals overlap',
  );
}

function rpsRow(la: LoadResult, lb: LoadResult, da: Distribution, db: Distribution, tolerance: number, z: number): CompareRow | undefined {
  if (!(la.durationMs > 0 && lb.durationMs > 0)) return undefined;
  const interval = (load: LoadResult, d: Distribution): RowInterval => {
    const n = load.latency.count;
    const seconds = load.durationMs / 1000;
    const cv = d.mean() > 0 ? d.stddev() / d.mean() : 0;
    const half = z * Math.sqrt(n * Math.max(1, cv * cv));
    return { low: Math.max(0, (n - half) / seconds), high: (n + half) / seconds };
  };
  const ia = interval(la, da);
  const ib = interval(lb, db);
  const apart = (ib.low > (ia.high ?? Infinity)) || (ia.low > (ib.high ?? Infinity));
  return judge(
    { metric: 'rps', unit: '/s', a: la.actualQps, b: lb.actualQps, worse: 'lower', intervalA: ia, intervalB: ib },
    beyondRelative(la.actualQps, lb.actualQps, tolerance),
    apart,
    pct(tolerance),
    apart ? 'the 99% intervals of the call counts are apart' : 'the 99% intervals of the call counts overlap',
  );
}

/** Two-proportion z-test (pooled), two-sided p-value through chi-square with 1 degree of freedom. */
export function twoProportionP(x1: number, n1: number, x2: number, n2: number): number {
  const pooled = (x1 + x2) / (n1 + n2);
  if (pooled === 0 || pooled === 1) return 1;
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const zScore = (x2 / n2 - x1 / n1) / se;
  return chiSquareSurvival(zScore * zScore, 1);
}

function shareRow(metric: string, xa: number, na: number, xb: number, nb: number, worse: 'higher' | 'lower', tolerance: number, confidence: number): CompareRow {
  const a = (100 * xa) / na;
  const b = (100 * xb) / nb;
  const p = twoProportionP(xa, na, xb, nb);
  const wilson = (x: number, n: number): RowInterval => {
    const i = wilsonInterval(x, n, confidence);
    return { low: 100 * i.low, high: 100 * i.high };
  };
  const slack = Math.max(a * tolerance, SHARE_SLACK_POINTS);
  return judge(
    { metric, unit: '%', a, b, worse, intervalA: wilson(xa, na), intervalB: wilson(xb, nb) },
    Math.abs(b - a) > slack,
    p < 1 - confidence,
    `max(${pct(tolerance)} of the rate, ${SHARE_SLACK_POINTS} point)`,
    `${p < 1 - confidence ? '' : 'not '}significant (two-proportion test, p ${formatP(p)})`,
  );
}

function proxyRows(la: LoadResult, lb: LoadResult, na: number, nb: number, tolerance: number, confidence: number, notes: string[]): CompareRow[] {
  const va = la.sidecar?.total;
  const vb = lb.sidecar?.total;
  if (va === undefined && vb === undefined) return [];
  if (va === undefined || vb === undefined) {
    notes.push(`proxy stats only in ${va === undefined ? 'B' : 'A'}: not compared`);
    return [];
  }
  const rows: CompareRow[] = [];
  for (const [name, field] of PROXY_COUNTERS) {
    const ka = viewField(va, field);
    const kb = viewField(vb, field);
    if (ka === undefined || kb === undefined) continue;
    const a = ka / na;
    const b = kb / nb;
    // Equal per-call rates: k_b of k_a + k_b is binomial with share n_b / (n_a + n_b).
    const expected = nb / (na + nb);
    const total = ka + kb;
    const interval = total === 0 ? undefined : wilsonInterval(kb, total, confidence);
    const significant = interval !== undefined && (expected < interval.low || expected > interval.high);
    rows.push(
      judge(
        { metric: `proxy ${name}`, unit: '/call', a, b, worse: 'higher' },
        Math.abs(b - a) > Math.max(a * tolerance, PER_CALL_SLACK),
        significant,
        `max(${pct(tolerance)}, ${PER_CALL_SLACK} per call)`,
        `${significant ? '' : 'not '}significant (${ka} vs ${kb} for ${na} vs ${nb} calls, conditional binomial test)`,
      ),
    );
  }
  return rows;
}

function curveOf(da: Distribution, db: Distribution): CurvePoint[] {
  const n = Math.min(da.count, db.count);
  // Past 1 - 1/n a percentile is the max of the smaller run: draw no further.
  return CURVE_PERCENTILES.filter((p) => p === 0 || 1 - p / 100 >= 1 / n).map((p) => ({
    percentile: p,
    a: ms(p === 0 ? da.min : pointAt(da, p)),
    b: ms(p === 0 ? db.min : pointAt(db, p)),
  }));
}

/** The rule in words, for the text footer and the page. */
export const NOISE_RULE =
  'A row is a regression or an improvement only when its change is beyond --tolerance (rates: beyond max(tolerance x rate, 1 point)) ' +
  'and beyond what sampling explains at 99%: percentiles compare order-statistic intervals (ranks n*q +/- 2.576*sqrt(n*q*(1-q)), ' +
  "read from the histogram at its resolution) that must not overlap; max needs enough calls beyond the other run's max (counted in " +
  'groups of the connection count) that chance would do it under 1%; avg and rps compare intervals of the mean and of the call count; error rate, codes and causes use a ' +
  'two-proportion test, proxy counters a binomial test per call.';
