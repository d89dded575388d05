/** The canonical text of a check and of its parts: parseExpectation(formatExpectation(e))
 * equals e, and the verdicts and error messages quote values the way a check writes them. */
import { GRPC_STATUS_CONSTANTS } from '../grpc/grpc-status';
import { formatDuration } from '../util/duration';
import { DEFAULT_CONFIDENCE, type Expectation, type Metric, type Shares, type Value } from './expectation';

export function formatMetric(metric: Metric): string {
  switch (metric.kind) {
    case 'status':
      return `status(${metric.code})`;
    case 'grpc':
      return `grpc(${GRPC_STATUS_CONSTANTS[metric.code] ?? metric.code})`;
    case 'error_rate':
    case 'rps':
    case 'calls':
      return metric.kind;
    case 'latency':
      return metric.stat.kind === 'percentile' ? `p(${metric.stat.percentile})` : metric.stat.kind;
    case 'cause':
      return `cause(${metric.cause})`;
    case 'delta':
      return `delta(${metric.stat})`;
    case 'gauge':
      return `max(${metric.stat})`;
    case 'view':
      return metric.name;
    case 'share':
      return `share(${metric.subset})`;
    case 'slower':
      return `slower(${formatDuration(metric.thresholdMs)})`;
    case 'version':
      return `version(${metric.tag})`;
  }
}

export function formatValue(value: Value): string {
  switch (value.unit) {
    case 'percent':
      return `${value.value}%`;
    case 'ms':
      return formatDuration(value.value);
    case 'number':
      return String(value.value);
  }
}

/** The canonical text of a check: parseExpectation(formatExpectation(e)) equals e. */
export function formatExpectation(expectation: Expectation): string {
  switch (expectation.kind) {
    case 'agree':
      return `agree(${expectation.name})`;
    case 'split':
      return `${expectation.source} ${formatRequirement(expectation)}`;
    default:
      return `${formatMetric(expectation.metric)} ${formatRequirement(expectation)}`;
  }
}

export function formatShares(shares: Shares): string {
  return `[${shares.map(([name, share]) => `${name} ${round(share)}%`).join(', ')}]`;
}

export function formatConfidence(confidence: number): string {
  return `${round(confidence * 100)}%`;
}

/** ` at 99%`, or '' for the default confidence (as a check is written canonically). */
export function confidenceSuffix(confidence: number): string {
  return Math.abs(confidence - DEFAULT_CONFIDENCE) < 1e-12 ? '' : ` at ${formatConfidence(confidence)}`;
}

export function formatRequirement(expectation: Exclude<Expectation, { kind: 'agree' }>): string {
  const at = confidenceSuffix;
  switch (expectation.kind) {
    case 'compare':
      return `${expectation.op} ${formatValue(expectation.value)}`;
    case 'range':
      return `in [${formatValue(expectation.low)}, ${formatValue(expectation.high)}]`;
    case 'consistent':
      return `~ ${formatValue(expectation.expected)} vs ${formatValue(expectation.alternative)}${at(expectation.confidence)}`;
    case 'split':
      return `~ ${formatShares(expectation.expected)} vs ${formatShares(expectation.alternative)}${at(expectation.confidence)}`;
  }
}

/** Six decimals: enough for any share or confidence written by hand, and floating-point noise
 * (a sum of shares such as 99.99999999999999) does not show. */
export function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
