/** Fortio's own result JSON (`fortio load -json`, no `Meshload` object) as a meshload LoadResult,
 * so `meshload report` and `meshload compare` read it. Fortio keeps only histogram buckets, so each
 * distribution is rebuilt by spreading a bucket's count evenly over the bucket: count, min, max and
 * sum stay exact (to the nanosecond), percentiles are approximate within a Fortio bucket. The
 * result says so: its `version` is `fortio <Version>` (see isFortioImport, importNote). Pure. */
import { isAddressCounts } from '../../metrics/connection-stats';
import type { ConnectionsReport } from '../../model/connections-report';
import type { FortioRecorded, LoadResult } from '../../model/load-result';
import { type ErrorKind, notOkCalls } from '../../model/outcome';
import { LOAD_DEFAULTS } from '../../model/load-plan';
import { fellBehind } from '../../model/achieved-rate';
import { Distribution } from '../../metrics/distribution';
import { FortioCounts } from '../../metrics/fortio-histogram';
import type { EncodedFortioHistogram, FortioScale } from '../../model/encoded-histograms';
import { parseDuration } from '../../util/duration';
import { usageError } from '../../util/errors';
import { redactUrl } from '../../util/redact';
import { FORTIO_BUCKET_EDGES, FORTIO_SCALES, fortioBucketIndex } from './histogram';

/** A result imported from Fortio has a `version` starting with this. */
export const FORTIO_VERSION_PREFIX = 'fortio ';

/** Buckets with more calls than this are spread over this many evenly spaced points: HDR keeps
 * 3 significant digits, so finer spreading would not change a percentile. */
const SPREAD_POINTS = 1000;

const S_TO_US = 1e6;
const NS_PER_S = 1e9;

type Json = Record<string, unknown>;

interface Bucket {
  start: number;
  end: number;
  count: number;
}

interface ParsedHistogram {
  count: number;
  min: number;
  max: number;
  sum: number;
  stdDev: number;
  buckets: Bucket[];
  percentiles: number[] | undefined;
  offset: number | undefined;
  divider: number | undefined;
}

/** Fortio's JSON: a DurationHistogram and no `Meshload` object (meshload's own files carry one). */
export function isFortioJson(data: unknown): boolean {
  if (!isObject(data)) return false;
  return data['DurationHistogram'] !== undefined && data['Meshload'] === undefined;
}

export function isFortioImport(load: LoadResult): boolean {
  return load.version.startsWith(FORTIO_VERSION_PREFIX);
}

/** One line for the text output and the page header; undefined for meshload's own results. */
export function importNote(load: LoadResult): string | undefined {
  if (!isFortioImport(load)) return undefined;
  return (
    `imported from ${load.version}: percentiles approximated within Fortio's histogram buckets ` +
    '(count, min, max, avg exact); latency from actual send (no coordinated-omission correction); no failure causes'
  );
}

/** For an imported result, the Fortio latency bucket [low, high] (microseconds) holding `us`: the
 * resolution an honest comparison must assume, since the spreading inside a bucket is invented.
 * undefined for meshload's own results (their resolution is HDR's). */
export function importedBucketOf(load: LoadResult): ((us: number) => [number, number]) | undefined {
  if (!isFortioImport(load)) return undefined;
  const { offset, divider } = resolutionOf(load.version);
  const last = FORTIO_BUCKET_EDGES.length;
  return (us) => {
    const index = fortioBucketIndex((us / S_TO_US - offset) / divider);
    // To the nanosecond: 0.001 * 18 * 1e6 is 18000.000000000004.
    const edge = (i: number): number => Math.round((divider * (FORTIO_BUCKET_EDGES[i] as number) + offset) * 1e9) / 1e3;
    if (index === 0) return [0, Math.max(0, edge(0))];
    if (index >= last) return [edge(last - 1), Infinity];
    return [edge(index - 1), edge(index)];
  };
}

/** `fortio 1.57.3` (Fortio's default -r 0.001, -offset 0) or `fortio 1.57.3 -r 0.0001 -offset 0.002`. */
function versionOf(fortioVersion: string, offset: number, divider: number): string {
  const { offset: defaultOffset, divider: defaultDivider } = FORTIO_SCALES.duration;
  let version = `${FORTIO_VERSION_PREFIX}${fortioVersion === '' ? 'unknown' : fortioVersion}`;
  if (divider !== defaultDivider) version += ` -r ${divider}`;
  if (offset !== defaultOffset) version += ` -offset ${offset}`;
  return version;
}

function resolutionOf(version: string): { offset: number; divider: number } {
  const r = / -r (\S+)/.exec(version);
  const o = / -offset (\S+)/.exec(version);
  return { offset: o === null ? FORTIO_SCALES.duration.offset : Number(o[1]), divider: r === null ? FORTIO_SCALES.duration.divider : Number(r[1]) };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Converts Fortio's JSON; every problem is a usage error naming the file and the field. */
export function fromFortioJson(data: unknown, file: string): LoadResult {
  const fail = (what: string): never => {
    throw usageError(`${file} is not a Fortio result: ${what}`, 'give a JSON written by fortio load -json, meshload load -json or meshload run');
  };
  if (!isObject(data)) return fail('not a JSON object');
  const runType = data['RunType'];
  if (runType !== undefined && runType !== 'HTTP') return fail(`RunType is ${JSON.stringify(runType)}, meshload reads HTTP runs`);
  const num = (name: string, fallback?: number): number => {
    const value = data[name];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) return fail(`${name} is not a number`);
    return value;
  };
  const str = (name: string, fallback: string): string => {
    const value = data[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') return fail(`${name} is not a string`);
    return value;
  };
  const bool = (name: string): boolean => data[name] === true;

  const latencyJson = parseHistogram(data['DurationHistogram'], 'DurationHistogram', fail);
  const errorsJson = data['ErrorsDurationHistogram'] === undefined ? undefined : parseHistogram(data['ErrorsDurationHistogram'], 'ErrorsDurationHistogram', fail);
  const sizesJson = data['Sizes'] === undefined ? undefined : parseHistogram(data['Sizes'], 'Sizes', fail);
  const headerSizesJson = data['HeaderSizes'] === undefined ? undefined : parseHistogram(data['HeaderSizes'], 'HeaderSizes', fail);

  const codes: Record<string, number> = {};
  const retCodes = data['RetCodes'] ?? {};
  if (!isObject(retCodes)) return fail('RetCodes is not an object');
  for (const [code, n] of Object.entries(retCodes)) {
    if (!/^-?\d+$/.test(code)) return fail(`RetCodes has a non-numeric code ${JSON.stringify(code)}`);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) return fail(`RetCodes["${code}"] is not a count`);
    codes[code] = n;
  }
  const coded = Object.values(codes).reduce((a, b) => a + b, 0);
  if (coded !== latencyJson.count) return fail(`RetCodes add up to ${coded} calls but DurationHistogram.Count is ${latencyJson.count}`);

  // Fortio writes the run's -r (seconds) and -offset (a Go time.Duration: integer nanoseconds) at
  // the top level (test/report/fixtures/fortio-1.57.3-httpbin.json); older meshload files wrote
  // Offset/Divider, in seconds, in each histogram: those win when present, so both still import.
  const divider = latencyJson.divider ?? num('Resolution', FORTIO_SCALES.duration.divider);
  const offset = latencyJson.offset ?? (data['Offset'] === undefined ? FORTIO_SCALES.duration.offset : num('Offset', 0) / NS_PER_S);
  if (!(divider > 0)) return fail('the histogram resolution is not positive');

  const startText = str('StartTime', '');
  const start = Date.parse(startText);
  if (Number.isNaN(start)) return fail(`StartTime ${JSON.stringify(startText)} is not a time`);

  const requestedQps = str('RequestedQPS', 'max');
  const qps = requestedQps === 'max' ? 0 : Number(requestedQps);
  if (!Number.isFinite(qps)) return fail(`RequestedQPS ${JSON.stringify(requestedQps)} is not a rate`);
  const exactly = num('Exactly', 0);
  const requestedDuration = str('RequestedDuration', '');
  const durationText = requestedDuration.split(',')[0]?.trim() ?? '';
  const plannedMs = exactly > 0 ? 0 : (parseDuration(durationText) ?? 0);
  const payloadText = data['Payload'];
  const payloadBytes = typeof payloadText === 'string' ? Buffer.from(payloadText, 'base64').length : 0;
  const reuse = data['ConnReuseRange'];
  const connectionReuse =
    Array.isArray(reuse) && typeof reuse[0] === 'number' && typeof reuse[1] === 'number' && reuse[1] > 0 ? { min: Math.max(1, reuse[0]), max: reuse[1] } : undefined;
  const abortOn = num('AbortOn', 0);
  const threads = num('NumThreads', 1);
  const actualQps = num('ActualQPS', 0);
  const method = str('MethodOverride', '');

  const latency = rebuild(latencyJson, S_TO_US);
  const errorLatency = errorsJson === undefined ? new Distribution() : rebuild(errorsJson, S_TO_US);
  const notOk = notOkCalls(codes);
  if (errorsJson !== undefined && errorsJson.count !== notOk) {
    return fail(`ErrorsDurationHistogram.Count is ${errorsJson.count} but RetCodes hold ${notOk} calls that were not OK`);
  }
  const codeList = Object.keys(codes).filter((code) => (codes[code] ?? 0) > 0);
  const socketErrors = codes['-1'] ?? 0;
  const errorsByKind: Partial<Record<ErrorKind, number>> = socketErrors > 0 ? { other: socketErrors } : {};

  const plan: LoadResult['plan'] = {
    // Fortio writes the URL as given, credentials included (its UserCredentials field is not read).
    url: redactUrl(str('URL', '')),
    method: method !== '' ? method : payloadBytes > 0 ? 'POST' : 'GET',
    headers: [],
    connections: Math.max(1, threads),
    qps: Math.max(0, qps),
    durationMs: plannedMs,
    requests: exactly > 0 ? exactly : undefined,
    uniform: bool('Uniform'),
    jitter: bool('Jitter'),
    noCatchUp: bool('NoCatchUp'),
    timeoutMs: data['HTTPReqTimeOut'] === undefined ? LOAD_DEFAULTS.timeoutMs : num('HTTPReqTimeOut') / 1e6,
    keepAlive: !bool('DisableKeepAlive'),
    h2: bool('H2'),
    insecure: bool('Insecure'),
    abortOn: abortOn === 0 ? undefined : abortOn,
    allowInitialErrors: false,
    connectionReuse,
    ramp: undefined,
    open: undefined,
    workers: 1,
    percentiles: latencyJson.percentiles ?? [...LOAD_DEFAULTS.percentiles],
    labels: str('Labels', ''),
    secretHeaders: [],
    payloadBytes,
  };
  const connections = connectionsOf(data, { offset, divider }, fail);
  const encodedLatency = latency.encode();
  return {
    tool: 'meshload',
    version: versionOf(str('Version', ''), offset, divider),
    plan,
    startTime: new Date(start).toISOString(),
    durationMs: num('ActualDuration', 0) / 1e6,
    actualQps,
    stopReason: requestedDuration.includes('interrupted') ? 'interrupted' : undefined,
    stopDetail: requestedDuration.includes('interrupted') ? requestedDuration : undefined,
    // Fortio warms up one call per thread, except with -n (periodic: "exactly" runs have none).
    warmupRequests: exactly > 0 ? 0 : plan.connections,
    socketsUsed: data['SocketCount'] === undefined ? plan.connections : num('SocketCount'),
    // Fortio keeps neither automatic resends nor error messages.
    resends: 0,
    codes,
    errorsByKind,
    errorSamples: {},
    causes: {},
    versions: {},
    attempts: {},
    // Fortio measures from the actual send: there is no corrected latency to tell apart.
    latency: encodedLatency,
    latencyUncorrected: encodedLatency,
    fortio: fortioRecorded(latencyJson, errorsJson, sizesJson, headerSizesJson, { offset, divider }),
    // Per-code latency is known only when every call got the same code.
    latencyByCode: codeList.length === 1 ? { [codeList[0] as string]: encodedLatency } : {},
    errorLatency: errorLatency.encode(),
    headerSizes: (headerSizesJson === undefined ? new Distribution() : rebuild(headerSizesJson, 1)).encode(),
    totalSizes: (sizesJson === undefined ? new Distribution() : rebuild(sizesJson, 1)).encode(),
    scheduleLag: new Distribution().encode(),
    skippedSlots: 0,
    droppedSends: 0,
    lateSends: 0,
    fellBehind: fellBehind({ qps: plan.qps, ramp: undefined }, actualQps),
    timeline: [],
    ...(connections !== undefined ? { connections } : {}),
  };
}

/** Sockets, IPCountMap and ConnectionStats (httprunner.go HTTPRunnerResults), as far as Fortio
 * keeps them: each thread's socket count, the run's peers and dial times; not which peer or dial
 * time was whose, so the threads carry no peers or timings (hasThreadDetail is false). Absent in
 * older Fortio files and gRPC runs: undefined. ConnectionStats is at -r/-offset, as the latency. */
function connectionsOf(data: Json, scale: FortioScale, fail: (what: string) => never): ConnectionsReport | undefined {
  const sockets = data['Sockets'];
  const stats = data['ConnectionStats'];
  if (sockets === undefined || sockets === null || stats === undefined || stats === null) return undefined;
  if (!Array.isArray(sockets) || !sockets.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return fail('Sockets is not a list of counts');
  const ipCountMap = data['IPCountMap'] ?? {};
  if (!isAddressCounts(ipCountMap)) return fail('IPCountMap is not a map of address to count');
  const connectTime = countsOf(parseHistogram(stats, 'ConnectionStats', fail), scale);
  const none = { count: 0, min: 0, max: 0, sum: 0, sumSq: 0 };
  return { threads: (sockets as number[]).map((n) => ({ sockets: n, addresses: {}, connect: { ...none } })), connectTime, addresses: { ...ipCountMap } };
}

function parseHistogram(value: unknown, name: string, fail: (what: string) => never): ParsedHistogram {
  if (!isObject(value)) return fail(`${name} is not an object`);
  const field = (key: string, fallback?: number): number => {
    const v = value[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`${name}.${key} is not a number`);
    return v;
  };
  const count = field('Count');
  if (!Number.isInteger(count) || count < 0) return fail(`${name}.Count is not a count`);
  const data = value['Data'];
  if (data !== null && data !== undefined && !Array.isArray(data)) return fail(`${name}.Data is not a list`);
  const buckets: Bucket[] = [];
  for (const [i, entry] of (data ?? []).entries()) {
    if (!isObject(entry)) return fail(`${name}.Data[${i}] is not an object`);
    const start = entry['Start'];
    const end = entry['End'];
    const n = entry['Count'];
    if (typeof start !== 'number' || typeof end !== 'number' || typeof n !== 'number' || !Number.isInteger(n) || n < 0 || end < start) {
      return fail(`${name}.Data[${i}] is not a bucket {Start, End, Count}`);
    }
    buckets.push({ start, end, count: n });
  }
  const inBuckets = buckets.reduce((sum, b) => sum + b.count, 0);
  if (inBuckets !== count) return fail(`${name}.Data holds ${inBuckets} values but ${name}.Count is ${count}`);
  const percentilesJson = value['Percentiles'];
  const percentiles = Array.isArray(percentilesJson)
    ? percentilesJson.map((p: unknown) => (isObject(p) && typeof p['Percentile'] === 'number' ? p['Percentile'] : fail(`${name}.Percentiles is not a list of {Percentile, Value}`)))
    : undefined;
  return {
    count,
    min: field('Min', 0),
    max: field('Max', 0),
    sum: field('Sum', 0),
    stdDev: field('StdDev', 0),
    buckets,
    percentiles,
    offset: value['Offset'] === undefined ? undefined : field('Offset'),
    divider: value['Divider'] === undefined ? undefined : field('Divider'),
  };
}

/** Fortio's histograms back from its JSON, so `report` prints Fortio's lines as Fortio did: each
 * exported bucket's count goes back into the bucket holding its mid point (as Fortio's own
 * copyHDataFrom re-records one), the counter from Count/Min/Max/Sum, the sum of squares from
 * StdDev. A missing histogram is an empty one. */
function fortioRecorded(
  latency: ParsedHistogram,
  errors: ParsedHistogram | undefined,
  sizes: ParsedHistogram | undefined,
  headerSizes: ParsedHistogram | undefined,
  scale: FortioScale,
): FortioRecorded {
  return {
    duration: countsOf(latency, scale),
    errors: countsOf(errors, scale),
    sizes: countsOf(sizes, FORTIO_SCALES.size),
    headerSizes: countsOf(headerSizes, FORTIO_SCALES['header-size']),
  };
}

function countsOf(h: ParsedHistogram | undefined, scale: FortioScale): EncodedFortioHistogram {
  const counts = new FortioCounts(scale);
  if (h === undefined || h.count === 0) return counts.encode();
  for (const b of h.buckets) {
    if (b.count === 0) continue;
    const index = fortioBucketIndex(((b.start + b.end) / 2 - scale.offset) / scale.divider);
    counts.buckets[index] = (counts.buckets[index] as number) + b.count;
  }
  counts.count = h.count;
  counts.min = h.min;
  counts.max = h.max;
  counts.sum = h.sum;
  counts.sumSq = h.count * h.stdDev * h.stdDev + (h.sum * h.sum) / h.count;
  return counts.encode();
}

/** Seconds to microseconds keeping what Fortio wrote: to the nanosecond (0.052549 s is 52549 us,
 * not 52549.00000000001), and preferring the double that converts back (us / 1e6, as the Fortio
 * renderers do) to exactly Fortio's number, so `max 0.040490042` prints as Fortio printed it. */
function scaled(value: number, scale: number): number {
  if (scale !== S_TO_US) return value * scale;
  const candidates = [Math.round(value * 1e9) / 1e3, value * S_TO_US];
  return candidates.find((us) => us / S_TO_US === value) ?? (candidates[0] as number);
}

/** A Distribution with Fortio's exact counter stats and an HDR histogram of each bucket's count
 * spread evenly over the bucket (at the centres of `count` equal slices, or of SPREAD_POINTS
 * slices for bigger buckets), so a percentile is off by at most the bucket's width. */
function rebuild(h: ParsedHistogram, scale: number): Distribution {
  const d = new Distribution();
  for (const bucket of h.buckets) {
    if (bucket.count === 0) continue;
    const start = scaled(bucket.start, scale);
    const end = scaled(bucket.end, scale);
    const slices = Math.min(bucket.count, SPREAD_POINTS);
    for (let j = 0; j < slices; j++) {
      // An exact integer split of the count over the slices.
      const n = Math.floor((bucket.count * (j + 1)) / slices) - Math.floor((bucket.count * j) / slices);
      if (n === 0) continue;
      const value = Math.max(0, Math.round(start + ((j + 0.5) * (end - start)) / slices));
      d.histogram.recordValueWithCount(value, n);
    }
  }
  d.count = h.count;
  d.min = h.count === 0 ? 0 : scaled(h.min, scale);
  d.max = h.count === 0 ? 0 : scaled(h.max, scale);
  d.sum = scaled(h.sum, scale);
  const mean = h.count === 0 ? 0 : d.sum / h.count;
  const sd = h.stdDev * scale;
  d.sumSq = h.count * (sd * sd + mean * mean);
  return d;
}
