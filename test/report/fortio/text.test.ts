import { renderLoadText, renderStartLines, type StartPlan } from '../../../src/report/fortio/text';
import { type FixtureCall, fixturePlan, fixtureResult } from '../../helpers/load-result-fixture';

const INFO = { version: '0.1.0', procs: 2 };
const URL = 'http://localhost:8080/echo';

function start(overrides: Partial<StartPlan>): string[] {
  return renderStartLines({ ...fixturePlan(), ...overrides }, INFO).split('\n');
}

describe('renderStartLines', () => {
  it('prints the default run as FORTIO-COMPAT.md shows it (-qps 8 -c 4 -t 5s)', () => {
    expect(renderStartLines(fixturePlan(), INFO)).toBe(
      `meshload 0.1.0 running at 8 queries per second, 2->2 procs, for 5s: ${URL}\n` +
        'Starting at 8 qps with 4 thread(s) [gomax 2] for 5s : 10 calls each (total 40)\n',
    );
  });

  it('prints -c 3 -qps 0 -n 30 with the per-thread split', () => {
    expect(start({ connections: 3, qps: 0, requests: 30 })).toEqual([
      `meshload 0.1.0 running at 0 queries per second, 2->2 procs, for 30 calls: ${URL}`,
      'Starting at max qps with 3 thread(s) [gomax 2] for exactly 30 calls (10 per thread + 0)',
      '',
    ]);
  });

  it('gives the remainder to the first thread (Istio circuit-breaking task: -c 3 -qps 0 -n 20)', () => {
    expect(start({ connections: 3, qps: 0, requests: 20 })[1]).toBe('Starting at max qps with 3 thread(s) [gomax 2] for exactly 20 calls (6 per thread + 2)');
  });

  it.each<[string, Partial<StartPlan>, string, string]>([
    ['max speed for a duration', { qps: 0, durationMs: 5000 }, 'running at 0 queries per second, 2->2 procs, for 5s', 'Starting at max qps with 4 thread(s) [gomax 2] for 5s'],
    ['max speed until interrupted', { qps: 0, durationMs: 0 }, 'running at 0 queries per second, 2->2 procs, until interrupted', 'Starting at max qps with 4 thread(s) [gomax 2] until interrupted'],
    ['paced until interrupted', { qps: 10, durationMs: 0 }, 'running at 10 queries per second, 2->2 procs, until interrupted', 'Starting at 10 qps with 4 thread(s) [gomax 2] until interrupted'],
    // periodic_test.go TestExactlySmallDur: "exactly 11 times, so 2 per thread + 3".
    ['paced exact count', { qps: 3, requests: 11 }, 'running at 3 queries per second, 2->2 procs, for 11 calls', 'Starting at 3 qps with 4 thread(s) [gomax 2] : exactly 11, 2 calls each (total 8 + 3)'],
    // periodic_test.go TestStart: 10 threads at 11.4 qps for 1s are lowered to 5 (2 calls each).
    ['paced, threads lowered', { qps: 11.4, connections: 10, durationMs: 1000 }, 'running at 11.4 queries per second, 2->2 procs, for 1s', 'Starting at 11.4 qps with 5 thread(s) [gomax 2] for 1s : 2 calls each (total 10)'],
    // Fewer than 2 calls become 2 on one thread.
    ['paced, minimum 2 calls', { qps: 1, durationMs: 0.000001 }, 'running at 1 queries per second, 2->2 procs, for 1ns', 'Starting at 1 qps with 1 thread(s) [gomax 2] for 1ns : 2 calls each (total 2)'],
    ['Go durations and %g rates', { qps: 1e6, durationMs: 90_000 }, 'running at 1e+06 queries per second, 2->2 procs, for 1m30s', 'Starting at 1e+06 qps with 4 thread(s) [gomax 2] for 1m30s : 22500000 calls each (total 90000000)'],
    ['open model', { qps: 500, durationMs: 2000, open: { maxInflight: 100 } }, 'running at 500 queries per second, 2->2 procs, for 2s', 'Starting at 500 qps with 4 thread(s) [gomax 2] for 2s : 250 calls each (total 1000) (open model, at most 100 in flight)'],
  ])('%s', (_name, plan, first, second) => {
    expect(start(plan)).toEqual([`meshload 0.1.0 ${first}: ${URL}`, second, '']);
  });
});

/** -c 3 -qps 0 -n 30: 10 x 1.5 ms, 10 x 2.5 ms (7 of them 503), 5 x exactly 4 ms, 5 x exactly
 * 12 ms (all 503); every response has 124 header bytes; 200s are 1200 bytes, 503s 300. */
function circuitBreakerRun(): FixtureCall[] {
  const calls: FixtureCall[] = [];
  const add = (n: number, latencyUs: number, code: number): void => {
    for (let i = 0; i < n; i++) calls.push({ latencyUs, code, headerBytes: 124, totalBytes: code === 200 ? 1200 : 300 });
  };
  add(10, 1500, 200);
  add(3, 2500, 200);
  add(7, 2500, 503);
  add(5, 4000, 200);
  add(5, 12000, 503);
  return calls;
}

describe('renderLoadText', () => {
  // Percentiles by stats.go CalcPercentile: p75 is half way through ]3, 4] ms (66.67% -> 83.33%),
  // the errors' p50 5/6 of the way from Min (1/12 of the calls) to 58.33% in [2.5, 3] ms.
  it('prints the Fortio block exactly, from the recorded Fortio histograms', () => {
    const result = fixtureResult(circuitBreakerRun(), {
      durationMs: 37.5,
      actualQps: 800,
      warmupRequests: 0, // Fortio does no warm-up with -n
      socketsUsed: 3,
      plan: { connections: 3, qps: 0, requests: 30 },
    });
    expect(renderLoadText(result)).toBe(`Ended after 37.5ms : 30 calls. qps=800
Aggregated Function Time : count 30 avg 0.004 +/- 0.003674 min 0.0015 max 0.012 sum 0.12
# range, mid point, percentile, count
>= 0.0015 <= 0.002 , 0.00175 , 33.33, 10
> 0.002 <= 0.003 , 0.0025 , 66.67, 10
> 0.003 <= 0.004 , 0.0035 , 83.33, 5
> 0.011 <= 0.012 , 0.0115 , 100.00, 5
# target 50% 0.0025
# target 75% 0.0035
# target 90% 0.0114
# target 99% 0.01194
# target 99.9% 0.011994
Error cases : count 12 avg 0.0064583333 +/- 0.004684 min 0.0025 max 0.012 sum 0.0775
# range, mid point, percentile, count
>= 0.0025 <= 0.003 , 0.00275 , 58.33, 7
> 0.011 <= 0.012 , 0.0115 , 100.00, 5
# target 50% 0.00291667
# target 75% 0.0114
# target 90% 0.01176
# target 99% 0.011976
# target 99.9% 0.0119976
Sockets used: 3 (for perfect keepalive, would be 3)
Uniform: false, Jitter: false, Catchup allowed: true
IP addresses distribution:
Code 200 : 18 (60.0 %)
Code 503 : 12 (40.0 %)
Response Header Sizes : count 30 avg 124 +/- 0 min 124 max 124 sum 3720
Response Body/Total Sizes : count 30 avg 840 +/- 440.9 min 300 max 1200 sum 25200
All done 30 calls (plus 0 warmup) 4.000 ms avg, 800.0 qps
`);
  });

  it('sorts codes numerically and pads socket errors as %3d', () => {
    const calls: FixtureCall[] = [
      ...Array.from({ length: 7 }, () => ({ latencyUs: 1000, code: 200 })),
      { latencyUs: 900, code: -1 },
      { latencyUs: 900, code: -1 },
      { latencyUs: 1000, code: 1000 },
    ];
    const lines = renderLoadText(fixtureResult(calls, { errorsByKind: { refused: 2 } })).split('\n');
    expect(lines.filter((l) => l.startsWith('Code'))).toEqual(['Code  -1 : 2 (20.0 %)', 'Code 200 : 7 (70.0 %)', 'Code 1000 : 1 (10.0 %)']);
  });

  it('prints "no data" for empty error cases and zero counters for an empty run', () => {
    const text = renderLoadText(fixtureResult([], { durationMs: 1000, actualQps: 0 }));
    expect(text).toContain('\nAggregated Function Time : no data\nError cases : no data\n');
    expect(text).toContain('\nResponse Header Sizes : count 0 avg 0 +/- 0 min 0 max 0 sum 0\n');
    expect(text).toContain('\nAll done 0 calls (plus 4 warmup) 0.000 ms avg, 0.0 qps\n');
  });

  it('adds nothing after "All done", and no meshload line, for a clean closed-loop run', () => {
    const text = renderLoadText(fixtureResult([{ latencyUs: 1000, code: 200 }]));
    expect(text.startsWith('Ended after 5s : 1 calls. qps=0.2\nAggregated Function Time : count 1 ')).toBe(true);
    expect(text.endsWith('All done 1 calls (plus 4 warmup) 1.000 ms avg, 0.2 qps\n')).toBe(true);
  });

  it("keeps Fortio's meaning when meshload's corrected latency differs; meshload's lines go where Fortio logs, before \"Ended after\"", () => {
    // Paced at 100 qps, the server stalls: intended-send latency grows beyond actual-send latency.
    const calls: FixtureCall[] = [
      { latencyUs: 2000, uncorrectedUs: 2000, code: 200, lagUs: 0 },
      { latencyUs: 12000, uncorrectedUs: 2000, code: 200, lagUs: 10000 },
      { latencyUs: 22000, uncorrectedUs: 2000, code: 200, lagUs: 20000 },
      { latencyUs: 3000, uncorrectedUs: 3000, code: -1, lagUs: 1000 },
    ];
    const result = fixtureResult(calls, {
      plan: { qps: 100, connections: 1, durationMs: 1000, noCatchUp: true, percentiles: [50, 99] },
      actualQps: 81.25,
      fellBehind: true,
      skippedSlots: 12,
      droppedSends: 0,
      errorsByKind: { timeout: 1, refused: 3 },
      stopReason: 'interrupted',
      stopDetail: 'Ctrl-C after 1.2s',
    });
    const lines = renderLoadText(result).split('\n');
    const fortioStart = lines.findIndex((l) => l.startsWith('Ended after'));
    expect(lines[fortioStart]).toBe('Ended after 1s : 4 calls. qps=81.25');
    expect(lines[fortioStart + 1]).toMatch(/^Aggregated Function Time /);
    expect(lines.slice(0, fortioStart)).toEqual([
      // HDR percentiles of the corrected latency (3 significant digits: 3000 us reads 3001), clamped to its exact max.
      'Latency corrected for coordinated omission (from intended send; the Fortio lines measure from actual send) : avg 0.00975, p50 0.003001, p99 0.022, max 0.022',
      'Schedule lag (actual send after intended send) : p50 0.001, p99 0.02, max 0.02',
      'Skipped slots (-nocatchup) : 12',
      'WARNING the generator fell behind: 81.3 of 100 requested calls/s (81%)',
      'Socket errors: refused 3, timeout 1',
      'Stopped early (interrupted): Ctrl-C after 1.2s',
    ]);
    expect(lines.slice(fortioStart + 1, fortioStart + 7)).toEqual([
      'Aggregated Function Time : count 4 avg 0.00225 +/- 0.000433 min 0.002 max 0.003 sum 0.009',
      '# range, mid point, percentile, count',
      '>= 0.002 <= 0.002 , 0.002 , 75.00, 3',
      '> 0.002 <= 0.003 , 0.0025 , 100.00, 1',
      '# target 50% 0.002',
      '# target 99% 0.00296',
    ]);
    expect(lines.slice(-2)).toEqual(['All done 4 calls (plus 1 warmup) 2.250 ms avg, 81.2 qps', '']); // 81.25: Go rounds the tie to even
    expect(lines).toContain('Uniform: false, Jitter: false, Catchup allowed: false');
    expect(lines).toContain('Code  -1 : 1 (25.0 %)');
  });

  it('names each stop reason, with or without detail, before the Fortio block', () => {
    const stopLine = (overrides: Parameters<typeof fixtureResult>[1]): string => renderLoadText(fixtureResult([{ latencyUs: 1000, code: 503 }], overrides)).split('\n')[0] ?? '';
    expect(stopLine({ stopReason: 'abort-on', stopDetail: '-abort-on 503: got 503' })).toBe('Stopped early (abort-on): -abort-on 503: got 503');
    expect(stopLine({ stopReason: 'warmup-failed', stopDetail: 'error 503 for http://localhost:8080/echo' })).toBe('Stopped early (warmup-failed): error 503 for http://localhost:8080/echo');
    expect(stopLine({ stopReason: 'interrupted', stopDetail: undefined })).toBe('Stopped early (interrupted)');
  });

  it("falls back to the HDR distributions for a result without Fortio histograms (an older file): still from the actual send", () => {
    const calls: FixtureCall[] = [
      { latencyUs: 40000, uncorrectedUs: 2000, code: 200 },
      { latencyUs: 20000, uncorrectedUs: 4000, code: 200 },
    ];
    const { fortio: _fortio, ...old } = fixtureResult(calls, { plan: { qps: 100, connections: 1, percentiles: [50] } });
    const lines = renderLoadText(old).split('\n');
    expect(lines).toContain('Aggregated Function Time : count 2 avg 0.003 +/- 0.001 min 0.002 max 0.004 sum 0.006');
    expect(lines).toContain('# target 50% 0.002');
    expect(lines.slice(-2)).toEqual(['All done 2 calls (plus 1 warmup) 3.000 ms avg, 0.4 qps', '']);
  });

  it('falls back the same way when the Fortio histograms of a file are not valid (hand-edited or hostile)', () => {
    const calls: FixtureCall[] = [{ latencyUs: 2000, code: 200 }, { latencyUs: 4000, code: 200 }];
    const good = fixtureResult(calls);
    const { fortio: _drop, ...none } = good;
    const duration = good.fortio?.duration;
    expect(duration).toBeDefined();
    for (const fortio of [
      { duration: { ...duration, buckets: [1e9] } },
      { ...good.fortio, duration: { ...duration, count: 3 } },
      { ...good.fortio, errors: 'x' },
      null,
    ]) {
      expect(renderLoadText({ ...good, fortio: fortio as never })).toBe(renderLoadText(none));
    }
  });

  it('reports dropped sends of the open model', () => {
    const text = renderLoadText(fixtureResult([{ latencyUs: 1000, code: 200 }], { droppedSends: 7, plan: { open: { maxInflight: 10 } } }));
    expect(text).toMatch(/^Dropped sends \(in-flight cap full\) : 7\n/m);
  });
});
