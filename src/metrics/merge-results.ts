/** Merges load results of generators that ran side by side (worker threads, Kubernetes Jobs)
 * into one, exactly: counts add, distributions merge bucket by bucket, the timeline adds by
 * wall-clock step. Pure. */
import { type FortioRecorded, type LoadResult, type StoredLoadResult, type TimelineSecond, timelineStepOf, upgradeLoadResult } from '../model/load-result';
import { ERROR_KINDS, type ErrorKind } from '../model/outcome';
import { mergeSocketFields } from './connection-stats';
import { fellBehind, requestedQps } from '../model/achieved-rate';
import { Distribution } from './distribution';
import type { EncodedDistribution, EncodedFortioHistogram } from '../model/encoded-histograms';
import { FortioCounts } from './fortio-histogram';

/** Parts may come from files an older meshload wrote: fields it lacked read as none. */
export function mergeResults(parts: readonly StoredLoadResult[]): LoadResult {
  const results = parts.map(upgradeLoadResult);
  const [first] = results;
  if (first === undefined) throw new Error('mergeResults needs at least one result');
  if (results.length === 1) return first;
  const startMs = Math.min(...results.map((r) => Date.parse(r.startTime)));
  const endMs = Math.max(...results.map((r) => Date.parse(r.startTime) + r.durationMs));
  const durationMs = endMs - startMs;
  const latency = mergeDistributions(results.map((r) => r.latency));
  const stopped = results.find((r) => r.stopReason !== undefined);
  // The rate is over the time some part ran: a gap between parts that did not overlap is no load.
  const { anyMs } = partSpans(results);
  const actualQps = anyMs > 0 ? latency.count / (anyMs / 1000) : 0;
  // What the parts asked for over that same time: each its own rate for as long as it ran, so
  // parts started apart do not read as a generator that fell behind.
  const askedQps = anyMs > 0 ? results.reduce((n, r) => n + requestedQps(r.plan) * r.durationMs, 0) / anyMs : 0;
  const plan = {
    ...first.plan,
    connections: sum(results, (r) => r.plan.connections),
    qps: sum(results, (r) => r.plan.qps),
    ramp: first.plan.ramp === undefined ? undefined : { from: sum(results, (r) => r.plan.ramp?.from ?? 0), to: sum(results, (r) => r.plan.ramp?.to ?? 0) },
    requests: first.plan.requests === undefined ? undefined : sum(results, (r) => r.plan.requests ?? 0),
  };
  const { fortio: _firstFortio, ...firstRest } = first;
  const fortio = mergeFortio(results);
  return {
    ...firstRest,
    ...(fortio === undefined ? {} : { fortio }),
    plan,
    startTime: new Date(startMs).toISOString(),
    durationMs,
    actualQps,
    stopReason: stopped?.stopReason,
    stopDetail: stopped?.stopDetail,
    ...(stopped?.warmupAbort !== undefined ? { warmupAbort: stopped.warmupAbort } : {}),
    warmupRequests: sum(results, (r) => r.warmupRequests),
    socketsUsed: sum(results, (r) => r.socketsUsed),
    resends: sum(results, (r) => r.resends),
    codes: addCounts(results.map((r) => r.codes)),
    errorsByKind: addCounts(results.map((r) => r.errorsByKind as Record<string, number>)) as Partial<Record<ErrorKind, number>>,
    errorSamples: firstSamples(results),
    causes: addCounts(results.map((r) => r.causes as Record<string, number>)) as LoadResult['causes'],
    versions: addCounts(results.map((r) => r.versions)),
    attempts: addCounts(results.map((r) => r.attempts)),
    clamped: sum(results, (r) => r.clamped ?? 0),
    ...(results.some((r) => r.grpcStatuses !== undefined) ? { grpcStatuses: addCounts(results.map((r) => r.grpcStatuses ?? {})) } : {}),
    latency,
    latencyUncorrected: mergeDistributions(results.map((r) => r.latencyUncorrected)),
    latencyByCode: mergeKeyed(results.map((r) => r.latencyByCode)),
    errorLatency: mergeDistributions(results.map((r) => r.errorLatency)),
    headerSizes: mergeDistributions(results.map((r) => r.headerSizes)),
    totalSizes: mergeDistributions(results.map((r) => r.totalSizes)),
    scheduleLag: mergeDistributions(results.map((r) => r.scheduleLag)),
    skippedSlots: sum(results, (r) => r.skippedSlots),
    droppedSends: sum(results, (r) => r.droppedSends),
    lateSends: sum(results, (r) => r.lateSends),
    fellBehind: stopped === undefined && latency.count > 0 && results.every((r) => requestedQps(r.plan) > 0) && fellBehind({ qps: askedQps, ramp: undefined }, actualQps),
    ...mergeTimelines(results, startMs),
    ...mergeSocketFields(results),
  };
}

/** How long all parts ran at once, and how long at least one of them ran (the union of their
 * spans), in ms. Parts side by side have both equal to the whole span. */
export function partSpans(parts: ReadonlyArray<Pick<LoadResult, 'startTime' | 'durationMs'>>): { togetherMs: number; anyMs: number } {
  const spans = parts.map((p) => ({ start: Date.parse(p.startTime), end: Date.parse(p.startTime) + Math.max(0, p.durationMs) })).sort((a, b) => a.start - b.start);
  const [head] = spans;
  if (head === undefined || spans.some((s) => !Number.isFinite(s.end))) return { togetherMs: 0, anyMs: 0 };
  const togetherMs = Math.max(0, Math.min(...spans.map((s) => s.end)) - Math.max(...spans.map((s) => s.start)));
  let anyMs = 0;
  let open = { ...head };
  for (const span of spans) {
    if (span.start > open.end) {
      anyMs += open.end - open.start;
      open = { ...span };
    } else {
      open.end = Math.max(open.end, span.end);
    }
  }
  return { togetherMs, anyMs: anyMs + open.end - open.start };
}

function sum(results: readonly LoadResult[], pick: (r: LoadResult) => number): number {
  return results.reduce((total, r) => total + pick(r), 0);
}

export function mergeDistributions(parts: readonly EncodedDistribution[]): EncodedDistribution {
  const merged = new Distribution();
  for (const part of parts) if (part.count > 0) merged.add(Distribution.decode(part));
  return merged.encode();
}

/** Fortio's histograms of all parts, merged as Fortio's Transfer merges threads; undefined when
 * a part lacks them (an older file) or they are not valid, so the whole is never partial. */
function mergeFortio(results: readonly LoadResult[]): FortioRecorded | undefined {
  const keys = ['duration', 'errors', 'sizes', 'headerSizes'] as const;
  const merged: Partial<Record<(typeof keys)[number], EncodedFortioHistogram>> = {};
  for (const key of keys) {
    let total: FortioCounts | undefined;
    for (const r of results) {
      const part = FortioCounts.decode(r.fortio?.[key]);
      if (part === undefined) return undefined;
      // The first part's scale (-offset, -r) is the plan's: all parts of a run share it.
      if (total === undefined) total = new FortioCounts(part);
      total.add(part);
    }
    if (total === undefined) return undefined;
    merged[key] = total.encode();
  }
  return merged as FortioRecorded;
}

function mergeKeyed(parts: ReadonlyArray<Record<string, EncodedDistribution>>): Record<string, EncodedDistribution> {
  const keys = [...new Set(parts.flatMap((p) => Object.keys(p)))].sort((a, b) => Number(a) - Number(b));
  const out: Record<string, EncodedDistribution> = {};
  for (const key of keys) out[key] = mergeDistributions(parts.flatMap((p) => (p[key] === undefined ? [] : [p[key]])));
  return out;
}

/** The first sample of each kind, in the order the parts are given. */
function firstSamples(results: readonly LoadResult[]): Partial<Record<ErrorKind, string>> {
  const out: Partial<Record<ErrorKind, string>> = {};
  for (const r of results) {
    for (const kind of ERROR_KINDS) {
      const sample = r.errorSamples[kind];
      if (out[kind] === undefined && typeof sample === 'string') out[kind] = sample;
    }
  }
  return out;
}

function addCounts(parts: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const totals = new Map<string, number>();
  for (const part of parts) for (const [key, n] of Object.entries(part)) totals.set(key, (totals.get(key) ?? 0) + n);
  const out: Record<string, number> = {};
  for (const [key, n] of [...totals].sort((a, b) => Number(a[0]) - Number(b[0]) || a[0].localeCompare(b[0]))) out[key] = n;
  return out;
}

/** Steps are re-based on the earliest start, on the coarsest step of the parts (a fine part's
 * steps fold into it). Per-step percentiles cannot be merged exactly from two numbers; the
 * merged step keeps the request-weighted mean of p50 and the max of p99 (an upper bound), and
 * says so nowhere else: the exact distributions are the totals above. */
function mergeTimelines(results: readonly LoadResult[], startMs: number): { timeline: TimelineSecond[]; timelineStepMs: number } {
  const stepMs = Math.max(...results.map(timelineStepOf));
  const byStep = new Map<number, { requests: number; codes: Record<string, number>[]; p50Weighted: number; p99: number }>();
  for (const r of results) {
    const shift = Math.round((Date.parse(r.startTime) - startMs) / stepMs);
    for (const s of r.timeline) {
      // The epsilon keeps 0.3 s in step 3 of 100 ms despite 0.3 * 1000 / 100 = 2.9999999999999996.
      const index = Math.floor((s.second * 1000) / stepMs + 1e-9) + shift;
      const entry = byStep.get(index) ?? { requests: 0, codes: [], p50Weighted: 0, p99: 0 };
      entry.requests += s.requests;
      entry.codes.push(s.codes);
      entry.p50Weighted += s.p50Us * s.requests;
      entry.p99 = Math.max(entry.p99, s.p99Us);
      byStep.set(index, entry);
    }
  }
  const timeline = [...byStep.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, e]) => ({
      second: (index * stepMs) / 1000,
      requests: e.requests,
      codes: addCounts(e.codes),
      p50Us: e.requests > 0 ? Math.round(e.p50Weighted / e.requests) : 0,
      p99Us: e.p99,
    }));
  return { timeline, timelineStepMs: stepMs };
}
