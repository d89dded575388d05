/** Builds LoadResults from a list of calls with known latencies, codes and sizes, the way the
 * engine records them, so renderers can be tested against golden text. */
import type { LoadResult } from '../../src/model/load-result';
import { Distribution } from '../../src/metrics/distribution';
import { FORTIO_SCALES, FortioCounts } from '../../src/metrics/fortio-histogram';
import { loadPlan } from './load-plan';

export interface FixtureCall {
  /** Corrected latency (from intended send), microseconds. */
  latencyUs: number;
  /** Status code; -1 for a socket error. */
  code: number;
  /** Latency from actual send; the corrected one when absent (closed loop). */
  uncorrectedUs?: number;
  headerBytes?: number;
  totalBytes?: number;
  /** Schedule lag of this call (paced and open runs), microseconds. */
  lagUs?: number;
}

export type FixturePlan = LoadResult['plan'];

export function fixturePlan(overrides: Partial<FixturePlan> = {}): FixturePlan {
  const { payload, ...plan } = loadPlan({ url: 'http://localhost:8080/echo' });
  return { ...plan, payloadBytes: payload.length, ...overrides };
}

/** OK as Fortio's codeIsOK: 2xx, and 418 (its "teapot" test code). */
function isOk(code: number): boolean {
  return (code >= 200 && code < 300) || code === 418;
}

export type FixtureOverrides = Omit<Partial<LoadResult>, 'plan'> & { plan?: Partial<FixturePlan> };

export function fixtureResult(calls: readonly FixtureCall[], overrides: FixtureOverrides = {}): LoadResult {
  const latency = new Distribution();
  const uncorrected = new Distribution();
  const errors = new Distribution();
  const headerSizes = new Distribution();
  const totalSizes = new Distribution();
  const lag = new Distribution();
  const byCode = new Map<string, Distribution>();
  const codes: Record<string, number> = {};
  // Fortio's histograms, as RunRecorder keeps them: from the actual send, in seconds.
  const fortio = {
    duration: new FortioCounts(FORTIO_SCALES.duration),
    errors: new FortioCounts(FORTIO_SCALES.duration),
    sizes: new FortioCounts(FORTIO_SCALES.size),
    headerSizes: new FortioCounts(FORTIO_SCALES['header-size']),
  };
  for (const call of calls) {
    const code = String(call.code);
    latency.record(call.latencyUs);
    uncorrected.record(call.uncorrectedUs ?? call.latencyUs);
    const fromSendS = (call.uncorrectedUs ?? call.latencyUs) / 1e6;
    fortio.duration.record(fromSendS);
    if (!isOk(call.code)) fortio.errors.record(fromSendS);
    fortio.sizes.record(call.totalBytes ?? 0);
    fortio.headerSizes.record(call.headerBytes ?? 0);
    if (!isOk(call.code)) errors.record(call.latencyUs);
    headerSizes.record(call.headerBytes ?? 0);
    totalSizes.record(call.totalBytes ?? 0);
    if (call.lagUs !== undefined) lag.record(call.lagUs);
    codes[code] = (codes[code] ?? 0) + 1;
    let d = byCode.get(code);
    if (d === undefined) {
      d = new Distribution();
      byCode.set(code, d);
    }
    d.record(call.latencyUs);
  }
  const { plan: planOverrides, ...rest } = overrides;
  const plan = fixturePlan(planOverrides);
  const durationMs = rest.durationMs ?? plan.durationMs;
  return {
    tool: 'meshload',
    version: '0.1.0',
    plan,
    startTime: '2024-03-05T10:20:30.000Z',
    durationMs,
    actualQps: durationMs > 0 ? (calls.length * 1000) / durationMs : 0,
    stopReason: undefined,
    stopDetail: undefined,
    warmupRequests: plan.connections,
    socketsUsed: plan.connections,
    resends: 0,
    codes,
    errorsByKind: {},
    errorSamples: {},
    latency: latency.encode(),
    latencyUncorrected: uncorrected.encode(),
    fortio: { duration: fortio.duration.encode(), errors: fortio.errors.encode(), sizes: fortio.sizes.encode(), headerSizes: fortio.headerSizes.encode() },
    latencyByCode: Object.fromEntries([...byCode].map(([code, d]) => [code, d.encode()])),
    errorLatency: errors.encode(),
    headerSizes: headerSizes.encode(),
    totalSizes: totalSizes.encode(),
    scheduleLag: lag.encode(),
    skippedSlots: 0,
    droppedSends: 0,
    lateSends: 0,
    causes: {},
    versions: {},
    attempts: {},
    fellBehind: false,
    timeline: [],
    ...rest,
  };
}
