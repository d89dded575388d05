/** Outlier detection as Envoy runs it from an Istio DestinationRule: which detectors are on, with
 * which thresholds, how long an ejection lasts, how many endpoints may be ejected, and how likely
 * a phase's own 5xx are to eject one. Pure. Every value carries the rule it follows (the rows of
 * docs/verify-rules.md), so the plan names each value with its source. */
import { formatDuration } from '../util/duration';
import type { OutlierDetection } from './istio-policy';

/** The rules this model encodes, by id, with the primary source each follows. */
export const OUTLIER_RULES = {
  // envoy api/envoy/config/cluster/v3/outlier_detection.proto field consecutive_5xx ("Defaults to 5");
  // istio applyOutlierDetection copies consecutive5xxErrors only when set.
  'outlier.consecutive-5xx-default': 'envoy outlier_detection.proto consecutive_5xx (default 5); istio cluster_traffic_policy.go applyOutlierDetection',
  'outlier.zero-disables': 'istio cluster_traffic_policy.go applyOutlierDetection: enforcing_* = 100 only when the value is > 0, else 0',
  'outlier.gateway-default-off': 'envoy outlier_detection.proto enforcing_consecutive_gateway_failure (default 0); istio applyOutlierDetection sets it only for consecutiveGatewayErrors > 0',
  'outlier.consecutive-errors-ignored': 'istio cluster_traffic_policy.go applyOutlierDetection (011b88b) reads no consecutiveErrors; istio/api destination_rule.proto marks it deprecated',
  'outlier.gateway-codes': 'envoy outlier_detection_impl.cc:76-90 @00c7146d putHttpResponseCode: isGatewayError (502, 503, 504) also counts toward consecutive_5xx',
  'outlier.interval-default': 'envoy outlier_detection.proto interval (default 10s); uneject is checked on the interval timer (outlier_detection_impl.cc checkHostForUneject)',
  'outlier.ejection-time': 'envoy outlier_detection_impl.cc:611-614,449-450 @00c7146d ejectHost/checkHostForUneject: min(base_ejection_time x backoff, max_ejection_time) + jitter; base default 30s',
  'outlier.max-ejection-time': 'envoy outlier_detection_impl.cc:294-298 @00c7146d DetectorConfig: max_ejection_time defaults to max(300s, base_ejection_time)',
  'outlier.max-ejection-percent': 'envoy outlier_detection_impl.cc:574-582 @00c7146d ejectHost: 100 x (ejected + 1) / hosts <= max_ejection_percent (strict; always_eject_one_host off); default 10 (istio cluster_traffic_policy.go:530-532 leaves it unset unless > 0)',
  'outlier.endpoint-count': 'envoy outlier_detection_impl.cc:576,626 @00c7146d DetectorImpl::ejectHost: ejected_percent over host_monitors_.size(), the hosts of the cluster; refused ejections count in ejections_overflow',
  'outlier.subset-replaces': "istio pilot/pkg/model/destination_rule.go:183-185 MergeTrafficPolicy: a subset's outlierDetection replaces the rule's for traffic routed to the subset",
  'outlier.min-health-percent': 'istio applyOutlierDetection: healthy_panic_threshold = minHealthPercent (0 when unset: panic mode off); below it Envoy balances over all hosts, ejected ones too',
  'outlier.local-origin': 'envoy outlier_detection_impl.cc putResultNoLocalExternalSplit: timeouts and connect failures count as 504/503 unless split_external_local_origin_errors; istio sets consecutive_local_origin_failure only with splitExternalLocalOriginErrors',
  'outlier.overflow-not-charged': 'MESH-FACTS "How Istio config maps to Envoy": breaker overflows (UO) pick no host and do not count toward ejection',
  'outlier.per-proxy': 'MESH-FACTS "Semantics that change by version": ejection is decided by each client proxy on its own',
} as const;

export type OutlierRule = keyof typeof OUTLIER_RULES;

const DEFAULT_CONSECUTIVE_5XX = 5;
const DEFAULT_INTERVAL_MS = 10_000;
const DEFAULT_BASE_EJECTION_MS = 30_000;
const DEFAULT_MAX_EJECTION_MS = 300_000;
const DEFAULT_MAX_EJECTION_PERCENT = 10;
const DEFAULT_LOCAL_ORIGIN = 5;

/** One value the model uses, with where it came from. */
export interface ModelValue {
  name: string;
  value: string;
  /** 'manifest' when written, else the default that applies. */
  from: 'manifest' | 'default';
  rule: OutlierRule;
}

export interface OutlierModel {
  /** consecutive_5xx threshold; 0 when the detector is off. */
  consecutive5xx: number;
  /** consecutive_gateway_failure threshold; 0 when off (Envoy's default enforcement is 0). */
  consecutiveGateway: number;
  intervalMs: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectionPercent: number;
  /** Istio's healthy_panic_threshold; 0 = panic mode off. */
  minHealthPercent: number;
  /** Local-origin errors (timeouts, connect failures) counted apart, with their own threshold. */
  splitLocalOrigin: boolean;
  consecutiveLocalOrigin: number;
  /** Every value above, named with its source, in the order a reader wants them. */
  values: ModelValue[];
  /** Rules the model applied, for the plan's rule list. */
  rules: OutlierRule[];
}

/** Envoy's detector as Istio configures it from `od`. */
export function outlierModel(od: OutlierDetection): OutlierModel {
  const values: ModelValue[] = [];
  const rules = new Set<OutlierRule>();
  const use = (name: string, value: string, from: ModelValue['from'], rule: OutlierRule): void => {
    values.push({ name, value, from, rule });
    rules.add(rule);
  };
  const c5 = od.consecutive5xxErrors ?? DEFAULT_CONSECUTIVE_5XX;
  use('consecutive5xxErrors', c5 === 0 ? '0 (detector off)' : String(c5), od.consecutive5xxErrors === undefined ? 'default' : 'manifest', c5 === 0 ? 'outlier.zero-disables' : 'outlier.consecutive-5xx-default');
  const gw = od.consecutiveGatewayErrors ?? 0;
  use('consecutiveGatewayErrors', gw === 0 ? 'off' : String(gw), od.consecutiveGatewayErrors === undefined ? 'default' : 'manifest', gw === 0 ? 'outlier.gateway-default-off' : 'outlier.gateway-codes');
  if (od.consecutiveErrors !== undefined) use('consecutiveErrors', `${od.consecutiveErrors} (ignored)`, 'manifest', 'outlier.consecutive-errors-ignored');
  const intervalMs = od.intervalMs ?? DEFAULT_INTERVAL_MS;
  use('interval', formatDuration(intervalMs), od.intervalMs === undefined ? 'default' : 'manifest', 'outlier.interval-default');
  const baseEjectionMs = od.baseEjectionTimeMs ?? DEFAULT_BASE_EJECTION_MS;
  use('baseEjectionTime', formatDuration(baseEjectionMs), od.baseEjectionTimeMs === undefined ? 'default' : 'manifest', 'outlier.ejection-time');
  const maxEjectionMs = Math.max(DEFAULT_MAX_EJECTION_MS, baseEjectionMs);
  use('max ejection time', formatDuration(maxEjectionMs), 'default', 'outlier.max-ejection-time');
  // Istio passes maxEjectionPercent only when > 0: 0 and unset both leave Envoy's 10.
  const maxEjectionPercent = od.maxEjectionPercent !== undefined && od.maxEjectionPercent > 0 ? od.maxEjectionPercent : DEFAULT_MAX_EJECTION_PERCENT;
  use('maxEjectionPercent', `${maxEjectionPercent}%`, maxEjectionPercent === od.maxEjectionPercent ? 'manifest' : 'default', 'outlier.max-ejection-percent');
  const minHealthPercent = od.minHealthPercent ?? 0;
  use('minHealthPercent', minHealthPercent === 0 ? '0 (panic mode off)' : `${minHealthPercent}%`, od.minHealthPercent === undefined ? 'default' : 'manifest', 'outlier.min-health-percent');
  const splitLocalOrigin = od.splitExternalLocalOriginErrors === true;
  const consecutiveLocalOrigin = splitLocalOrigin ? (od.consecutiveLocalOriginFailures ?? DEFAULT_LOCAL_ORIGIN) : 0;
  use(
    'splitExternalLocalOriginErrors',
    splitLocalOrigin ? `true (timeouts and connect failures eject after ${consecutiveLocalOrigin} in a row, apart from 5xx)` : 'false (timeouts count as 504, connect failures as 503)',
    od.splitExternalLocalOriginErrors === undefined ? 'default' : 'manifest',
    'outlier.local-origin',
  );
  return { consecutive5xx: c5, consecutiveGateway: gw, intervalMs, baseEjectionMs, maxEjectionMs, maxEjectionPercent, minHealthPercent, splitLocalOrigin, consecutiveLocalOrigin, values, rules: [...rules] };
}

/** The plan's sentence naming every value: `consecutive5xxErrors 5 (default), interval 10s ...`. */
export function describeValues(model: OutlierModel): string {
  return model.values.map((v) => `${v.name} ${v.value}${v.from === 'default' ? ' (default)' : ''}`).join(', ');
}

/** How many errors in a row from one endpoint eject it, for the failures verify injects:
 * 503 and 504 are gateway errors, which both detectors count. undefined: nothing ejects on them.
 * `local`: the failures are the proxy's own timeouts (per-try or route), which count on the
 * local-origin detector instead when errors are split. */
export function errorsToEject(model: OutlierModel, local = false): number | undefined {
  if (local && model.splitLocalOrigin) return model.consecutiveLocalOrigin > 0 ? model.consecutiveLocalOrigin : undefined;
  const thresholds = [model.consecutive5xx, model.consecutiveGateway].filter((t) => t > 0);
  return thresholds.length === 0 ? undefined : Math.min(...thresholds);
}

/** Endpoints Envoy may hold ejected at once among `endpoints`: strict, one more ejection must
 * keep 100 x ejected / endpoints <= maxEjectionPercent. */
export function ejectableEndpoints(model: OutlierModel, endpoints: number): number {
  return Math.floor((model.maxEjectionPercent * endpoints) / 100 + 1e-9);
}

/** The fewest endpoints with which one can be ejected at all. */
export function endpointsToEjectOne(model: OutlierModel): number {
  return Math.ceil(100 / model.maxEjectionPercent - 1e-9);
}

/** How long the `nth` ejection of one endpoint may last, at most: its ejection time, plus up to
 * one interval before the sweep notices it has passed. */
export function ejectionLastsMs(model: OutlierModel, nth = 1): number {
  return Math.min(model.baseEjectionMs * nth, model.maxEjectionMs) + model.intervalMs;
}

/** Probability that `tries` independent tries, each failing with probability `p`, hold a run of
 * at least `k` failures in a row: exact, by the distribution of the current run length. */
export function runProbability(p: number, k: number, tries: number): number {
  if (k <= 0) return 1;
  if (p <= 0 || tries < k) return 0;
  if (p >= 1) return 1;
  // state[j]: no run of k yet and the current run is j long.
  let state = new Array<number>(k).fill(0);
  state[0] = 1;
  let hit = 0;
  for (let t = 0; t < tries; t++) {
    const next = new Array<number>(k).fill(0);
    let alive = 0;
    for (let j = 0; j < k; j++) alive += state[j] as number;
    next[0] = alive * (1 - p);
    for (let j = 0; j < k - 1; j++) next[j + 1] = (state[j] as number) * p;
    hit += (state[k - 1] as number) * p;
    state = next;
  }
  return Math.min(1, hit);
}
