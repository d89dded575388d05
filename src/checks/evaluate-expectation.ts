/** The verdict of one parsed check against a LoadResult: pass, fail, no_data (nothing to look
 * at, which never passes) or inconclusive, with the observed numbers and one sentence of why.
 * Statistical checks (`~`) decide by Wilson interval or chi-square goodness of fit. Pure. */
import type { LoadResult } from '../model/load-result';
import { fellBehindText } from '../model/achieved-rate';
import { notOkCalls } from '../model/outcome';
import { countAtOrAbove, Distribution } from '../metrics/distribution';
import { decideProportion, goodnessOfFit, goodnessOfFitSampleSize, proportionSampleSize, wilsonInterval } from '../metrics/statistics';
import { grpcStatusName } from '../grpc/grpc-status';
import type { CheckResult, Verdict } from './check-result';
import type { Comparator, Expectation, Metric, Shares, Value } from './expectation';
import { formatConfidence, formatMetric, formatRequirement, formatShares, formatValue } from './format-expectation';
import { formatMs, formatPercent, plural, type NoVerdict, type Observation, type Outcome } from './observation';
import { matchedClusters, NO_SIDECAR, observeAgreement, observeShare, observeStat, requestsBySubset, sidecarProblem } from './observe-sidecar';

/** grpc(...) on an HTTP load: it counts nothing, which must not read as "0 failures". */
const NOT_GRPC: NoVerdict = { verdict: 'no_data', reason: "the phase's load made no gRPC calls: add grpc: to its load" };

/** Floating point shares (29 of 100 calls is 28.999999999999996%) must not fail a `>= 29%`. */
const EPSILON = 1e-9;

function compare(observed: number, op: Comparator, target: number): boolean {
  const equal = Math.abs(observed - target) <= EPSILON * Math.max(1, Math.abs(observed), Math.abs(target));
  switch (op) {
    case '<':
      return observed < target && !equal;
    case '<=':
      return observed <= target || equal;
    case '==':
      return equal;
    case '>=':
      return observed >= target || equal;
    case '>':
      return observed > target && !equal;
  }
}

export function evaluateExpectation(expectation: Expectation, result: LoadResult, path: string, text: string): CheckResult {
  const expected = expectation.kind === 'agree' ? 'client and proxy agree' : formatRequirement(expectation);
  const base = { expression: text, path, expected };
  const calls = totalCalls(result);
  if (result.stopReason === 'warmup-failed' && calls === 0) {
    return { ...base, observed: undefined, observedValue: undefined, verdict: 'inconclusive', reason: `target unreachable: ${result.stopDetail ?? 'the warm-up failed'}` };
  }
  if (expectation.kind === 'consistent') return { ...base, ...evaluateConsistent(expectation, result, calls) };
  if (expectation.kind === 'split') return { ...base, ...evaluateSplit(expectation, result) };
  const outcome: Outcome =
    expectation.kind === 'agree'
      ? observeAgreement(expectation.name, result.sidecar)
      : observe(expectation.metric, expectation.kind === 'compare' ? expectation.value.unit : expectation.low.unit, result, calls);
  if ('verdict' in outcome) return { ...base, observed: undefined, observedValue: undefined, verdict: outcome.verdict, reason: outcome.reason };
  let verdict: Verdict;
  let reason: string | undefined;
  if (outcome.inconclusive !== undefined) {
    verdict = 'inconclusive';
    reason = outcome.inconclusive;
  } else if (expectation.kind === 'agree') {
    const check = result.sidecar?.agreement.find((a) => a.name === expectation.name);
    verdict = check?.agrees === true ? 'pass' : 'fail';
    reason = verdict === 'fail' ? check?.note : undefined;
  } else {
    const ok =
      expectation.kind === 'compare'
        ? compare(outcome.value, expectation.op, expectation.value.value)
        : compare(outcome.value, '>=', expectation.low.value) && compare(outcome.value, '<=', expectation.high.value);
    verdict = ok ? 'pass' : 'fail';
    if (!ok) reason = failedBecause(expectation, outcome);
  }
  return { ...base, observed: outcome.observed, observedValue: outcome.value, verdict, reason };
}

/** One sentence with the numbers, why a comparison or range failed: `status(503) 5.0% (15 of
 * 300 calls) is below the 20% required`, `p(99) 312.0ms is above the 250ms limit`. */
function failedBecause(expectation: Extract<Expectation, { kind: 'compare' | 'range' }>, outcome: Observation): string {
  const { metric } = expectation;
  // Latency and calls repeat their label in `observed` (`p99 312.0ms`, `300 calls`): the bare number reads better.
  const shown = metric.kind === 'latency' ? formatMs(outcome.value) : metric.kind === 'calls' ? String(outcome.value) : outcome.observed;
  const seen = `${formatMetric(metric)} ${shown}`;
  if (expectation.kind === 'range') {
    const range = `[${formatValue(expectation.low)}, ${formatValue(expectation.high)}]`;
    return `${seen} is ${outcome.value < expectation.low.value ? 'below' : 'above'} the range ${range}`;
  }
  const limit = formatValue(expectation.value);
  const equal = compare(outcome.value, '==', expectation.value.value);
  const below = outcome.value < expectation.value.value;
  switch (expectation.op) {
    case '>=':
      return `${seen} is below the ${limit} required`;
    case '>':
      return equal ? `${seen} is not above ${limit}` : `${seen} is below ${limit}, not above it`;
    case '<=':
      return `${seen} is above the ${limit} limit`;
    case '<':
      return equal ? `${seen} is not under ${limit}` : `${seen} is above ${limit}, not under it`;
    case '==':
      return `${seen} is ${below ? 'below' : 'above'} the ${limit} expected`;
  }
}

type Judged = Pick<CheckResult, 'observed' | 'observedValue' | 'verdict' | 'reason'>;

function judgedWithout(outcome: { verdict: 'no_data' | 'inconclusive'; reason: string }): Judged {
  return { observed: undefined, observedValue: undefined, verdict: outcome.verdict, reason: outcome.reason };
}

/** A share as successes out of trials: calls for client metrics, requests sent upstream for share(). */
interface Proportion {
  count: number;
  of: number;
  /** `calls` or `requests sent upstream`. */
  unit: string;
}

function proportionOf(metric: Metric, result: LoadResult, calls: number): Proportion | { verdict: 'no_data' | 'inconclusive'; reason: string } {
  if (metric.kind === 'share') {
    const outcome = observeShare(metric.subset, result.sidecar);
    if ('verdict' in outcome) return outcome;
    return { count: outcome.count, of: outcome.of, unit: 'requests sent upstream' };
  }
  if (calls === 0) return noCalls(result);
  if (metric.kind === 'grpc' && result.grpcStatuses === undefined) return NOT_GRPC;
  return { count: clientCount(metric, result), of: calls, unit: 'calls' };
}

function noCalls(result: LoadResult): { verdict: 'no_data'; reason: string } {
  const stopped = result.stopReason === undefined ? '' : ` (stopped: ${result.stopDetail ?? result.stopReason})`;
  return { verdict: 'no_data', reason: `no calls were made${stopped}: nothing to measure` };
}

/** Calls counted by a share-or-count metric of the client's own result. */
function clientCount(metric: Metric, result: LoadResult): number {
  switch (metric.kind) {
    case 'status': {
      const prefix = metric.code.endsWith('xx') ? metric.code[0] : undefined;
      let count = 0;
      for (const [code, n] of Object.entries(result.codes)) {
        if (prefix === undefined ? code === metric.code : code.length === 3 && code[0] === prefix) count += n;
      }
      return count;
    }
    case 'error_rate':
      return notOkCalls(result.codes);
    case 'cause':
      return result.causes[metric.cause] ?? 0;
    case 'slower':
      return countAtOrAbove(Distribution.decode(result.latency), metric.thresholdMs * 1000);
    case 'version':
      return result.versions[metric.tag] ?? 0;
    case 'grpc':
      return result.grpcStatuses?.[grpcStatusName(metric.code)] ?? 0;
    default:
      throw new Error(`${metric.kind} is not a count of calls`);
  }
}

function evaluateConsistent(expectation: Extract<Expectation, { kind: 'consistent' }>, result: LoadResult, calls: number): Judged {
  const proportion = proportionOf(expectation.metric, result, calls);
  if ('verdict' in proportion) return judgedWithout(proportion);
  const { count, of } = proportion;
  const { confidence } = expectation;
  const expected = expectation.expected.value / 100;
  const alternative = expectation.alternative.value / 100;
  const interval = wilsonInterval(count, of, confidence);
  const percent = (count * 100) / of;
  const range = `${formatConfidence(confidence)} interval ${formatPercent(interval.low * 100)} to ${formatPercent(interval.high * 100)}`;
  const observed = `${formatPercent(percent)} (${count} of ${of} ${proportion.unit}; ${range})`;
  const decision = decideProportion(count, of, expected, alternative, confidence);
  const shownExpected = formatValue(expectation.expected);
  const shownAlternative = formatValue(expectation.alternative);
  if (decision === 'consistent') return { observed, observedValue: percent, verdict: 'pass', reason: undefined };
  if (decision === 'inconsistent') {
    return { observed, observedValue: percent, verdict: 'fail', reason: `the ${range} excludes the expected ${shownExpected}` };
  }
  let needed = '';
  try {
    needed = `: about ${proportionSampleSize(expected, alternative, confidence)} ${proportion.unit} would decide`;
  } catch {
    // Shares too close to size a run for: say what is known.
  }
  return {
    observed,
    observedValue: percent,
    verdict: 'inconclusive',
    reason: `the ${range} contains both the expected ${shownExpected} and the alternative ${shownAlternative}${needed}`,
  };
}

function evaluateSplit(expectation: Extract<Expectation, { kind: 'split' }>, result: LoadResult): Judged {
  let counts: Map<string, number>;
  let unit: string;
  if (expectation.source === 'versions') {
    counts = new Map(Object.entries(result.versions));
    unit = 'calls with x-version';
    if (counts.size === 0) return judgedWithout({ verdict: 'no_data', reason: 'no response carried x-version: start each meshload server with -version-tag' });
  } else {
    const sidecar = result.sidecar;
    const problem = sidecarProblem(sidecar);
    if (problem !== undefined || sidecar === undefined) return judgedWithout(problem ?? NO_SIDECAR);
    counts = requestsBySubset(sidecar);
    counts.delete('');
    unit = 'requests sent upstream';
    if (counts.size === 0) return judgedWithout({ verdict: 'no_data', reason: `no subset cluster reports requests sent upstream (${matchedClusters(sidecar)})` });
  }
  // Every name seen or expected is a cell; one the split does not name expects 0%.
  const names = [...new Set([...expectation.expected.map(([n]) => n), ...expectation.alternative.map(([n]) => n), ...counts.keys()])];
  const observed = names.map((n) => counts.get(n) ?? 0);
  const total = observed.reduce((a, b) => a + b, 0);
  if (total === 0) return judgedWithout({ verdict: 'no_data', reason: `no ${unit}` });
  const shares = (split: Shares): number[] => names.map((n) => (split.find(([name]) => name === n)?.[1] ?? 0) / 100);
  const fit = goodnessOfFit(observed, shares(expectation.expected));
  const against = goodnessOfFit(observed, shares(expectation.alternative));
  const level = 1 - expectation.confidence;
  const shown = names.map((n, i) => `${n} ${formatPercent(((observed[i] as number) * 100) / total)} (${observed[i] as number})`).join(', ');
  const observedText = `${shown} of ${total} ${unit}; chi-square p = ${formatP(fit.pValue)}`;
  if (fit.pValue < level) {
    return {
      observed: observedText,
      observedValue: fit.pValue,
      verdict: 'fail',
      reason: `the split does not fit ${formatShares(expectation.expected)}: p = ${formatP(fit.pValue)} < ${formatP(level)}`,
    };
  }
  if (against.pValue < level) return { observed: observedText, observedValue: fit.pValue, verdict: 'pass', reason: undefined };
  let needed = '';
  try {
    needed = `: about ${goodnessOfFitSampleSize(shares(expectation.expected), shares(expectation.alternative), expectation.confidence)} ${unit} would decide`;
  } catch {
    // Splits too close to size a run for.
  }
  return {
    observed: observedText,
    observedValue: fit.pValue,
    verdict: 'inconclusive',
    reason: `the split fits both ${formatShares(expectation.expected)} and the alternative ${formatShares(expectation.alternative)} (p = ${formatP(against.pValue)})${needed}`,
  };
}

function formatP(p: number): string {
  return p === 0 ? '0' : p < 0.001 ? p.toExponential(1) : String(Number(p.toPrecision(2)));
}

function totalCalls(result: LoadResult): number {
  let total = 0;
  for (const n of Object.values(result.codes)) total += n;
  return total;
}

function observe(metric: Metric, unit: Value['unit'], result: LoadResult, calls: number): Outcome {
  switch (metric.kind) {
    case 'calls':
      return { value: calls, observed: `${calls} ${plural(calls)}` };
    case 'delta':
    case 'gauge':
    case 'view':
      return observeStat(metric, result.sidecar);
    case 'share':
      return observeShare(metric.subset, result.sidecar);
    default:
      break;
  }
  if (calls === 0) return noCalls(result);
  if (metric.kind === 'grpc' && result.grpcStatuses === undefined) return NOT_GRPC;
  switch (metric.kind) {
    case 'status':
    case 'grpc':
    case 'cause':
    case 'slower':
    case 'version':
      return share(clientCount(metric, result), calls, unit);
    case 'error_rate':
      return share(clientCount(metric, result), calls, 'percent');
    case 'rps': {
      const observed = `${result.actualQps.toFixed(1)} calls/s`;
      return result.fellBehind
        ? { value: result.actualQps, observed, inconclusive: `${fellBehindText(result.plan, result.actualQps)}: the rate says more about the client than the target` }
        : { value: result.actualQps, observed };
    }
    case 'latency': {
      const d = Distribution.decode(result.latency);
      const { stat } = metric;
      const us = stat.kind === 'percentile' ? d.percentile(stat.percentile) : stat.kind === 'avg' ? d.mean() : stat.kind === 'min' ? d.min : d.max;
      const ms = us / 1000;
      const label = stat.kind === 'percentile' ? `p${stat.percentile}` : stat.kind;
      return { value: ms, observed: `${label} ${formatMs(ms)}` };
    }
  }
}

/** `31.0% (93 of 300 calls)` when the check is a share, `93 (31.0% of 300 calls)` when a count. */
function share(count: number, calls: number, unit: Value['unit']): Observation {
  const percent = (count * 100) / calls;
  return unit === 'percent'
    ? { value: percent, observed: `${formatPercent(percent)} (${count} of ${calls} ${plural(calls)})` }
    : { value: count, observed: `${count} (${formatPercent(percent)} of ${calls} ${plural(calls)})` };
}
