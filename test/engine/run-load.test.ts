import { ERROR_SAMPLE_CHARS } from '../../src/model/load-result';
import { runLoad } from '../../src/engine/run-load';
import { warmupError } from '../../src/engine/warmup-error';
import type { Connection, Transport } from '../../src/transport/transport';
import { Distribution } from '../../src/metrics/distribution';
import { renderLoadText } from '../../src/report/fortio/text';
import { FakeTransport } from '../helpers/fake-transport';
import { loadPlan } from '../helpers/load-plan';

const totalOf = (codes: Record<string, number>): number => Object.values(codes).reduce((a, b) => a + b, 0);

describe('runLoad closed loop', () => {
  it('makes exactly -n calls and no warm-up, as Fortio', async () => {
    const transport = new FakeTransport();
    const result = await runLoad(loadPlan({ qps: 0, connections: 3, requests: 31 }), transport);
    expect(result.codes).toEqual({ '200': 31 });
    expect(result.warmupRequests).toBe(0);
    expect(transport.calls).toBe(31);
    expect(result.latency.count).toBe(31);
    expect(result.socketsUsed).toBe(3);
    expect(result.stopReason).toBeUndefined();
    expect(transport.closed).toBe(true);
  });

  it('runs for the duration at max speed', async () => {
    const result = await runLoad(loadPlan({ qps: 0, connections: 2, durationMs: 300 }), new FakeTransport(() => ({ status: 200, delayMs: 1 })));
    expect(result.durationMs).toBeGreaterThanOrEqual(300);
    expect(result.durationMs).toBeLessThan(2000); // generous: other work may share the two cores
    expect(result.latency.count).toBeGreaterThan(50);
  });

  it('counts codes and socket errors by kind', async () => {
    const answers = [200, 503, -1, 200];
    const transport = new FakeTransport((call) => ({ status: call === 0 ? 200 : (answers[call % 4] as number), errorKind: 'refused' }));
    const result = await runLoad(loadPlan({ qps: 0, connections: 1, requests: 8 }), transport);
    expect(totalOf(result.codes)).toBe(8);
    expect(result.codes['-1']).toBe(2);
    expect(result.errorsByKind).toEqual({ refused: 2 });
    expect(result.errorLatency.count).toBe((result.codes['503'] ?? 0) + 2);
    expect(Object.keys(result.latencyByCode).sort()).toEqual(['-1', '200', '503']);
    expect(result.headerSizes.count).toBe(6); // socket errors have no response to measure
  });

  it('stops at the first -abort-on code', async () => {
    const transport = new FakeTransport((call) => ({ status: call === 6 ? 503 : 200 }));
    const result = await runLoad(loadPlan({ qps: 0, connections: 1, requests: 100, abortOn: 503 }), transport);
    expect(result.stopReason).toBe('abort-on');
    expect(result.stopDetail).toBe('-abort-on 503: got status 503');
    expect(result.codes).toEqual({ '200': 6, '503': 1 });
  });

  it('warms up each connection of a timed run and aborts when that fails, unless -allow-initial-errors', async () => {
    const failing = (call: number): { status: number; delayMs: number } => ({ status: call === 0 ? 503 : 200, delayMs: 1 });
    const stopped = await runLoad(loadPlan({ qps: 0, connections: 2, durationMs: 100 }), new FakeTransport(failing));
    expect(stopped.warmupRequests).toBe(2);
    expect(stopped.stopReason).toBe('warmup-failed');
    expect(stopped.stopDetail).toBe('error 503 for http://127.0.0.1:1/ (110 bytes); use -allow-initial-errors to run anyway');
    expect(stopped.latency.count).toBe(0);
    const allowed = await runLoad(loadPlan({ qps: 0, connections: 2, durationMs: 100, allowInitialErrors: true }), new FakeTransport(failing));
    expect(allowed.stopReason).toBeUndefined();
    expect(allowed.codes['200']).toBeGreaterThan(0);
    expect(allowed.codes['503']).toBeUndefined(); // the warm-up is not part of the result
    const hinted = await runLoad(loadPlan({ qps: 0, connections: 1, durationMs: 100 }), new FakeTransport(failing), { allowInitialErrorsHint: 'set allowInitialErrors: true' });
    expect(hinted.stopDetail).toBe('error 503 for http://127.0.0.1:1/ (110 bytes); set allowInitialErrors: true to run anyway');
  });

  it('returns a partial result marked interrupted when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const result = await runLoad(loadPlan({ qps: 0, connections: 2, durationMs: 60_000 }), new FakeTransport(() => ({ status: 200, delayMs: 1 })), {
      signal: controller.signal,
    });
    expect(result.stopReason).toBe('interrupted');
    expect(result.latency.count).toBeGreaterThan(0);
    expect(result.durationMs).toBeLessThan(2000);
  });

  it('reconnects after -connection-reuse requests', async () => {
    const transport = new FakeTransport();
    await runLoad(loadPlan({ qps: 0, connections: 1, requests: 10, connectionReuse: { min: 2, max: 2 } }), transport);
    expect(transport.reconnects).toBe(5);
  });

  it('redacts secret headers in the result', async () => {
    const result = await runLoad(
      loadPlan({
        qps: 0,
        connections: 1,
        requests: 1,
        headers: [['Authorization', 'Bearer x'], ['X-Api-Key', 'k'], ['X-Trace', 't']],
        secretHeaders: ['x-api-key'],
      }),
      new FakeTransport(),
    );
    expect(result.plan.headers).toEqual([['Authorization', '<redacted>'], ['X-Api-Key', '<redacted>'], ['X-Trace', 't']]);
    expect(JSON.stringify(result)).not.toMatch(/Bearer/);
  });

  it('keeps a per-second timeline', async () => {
    const result = await runLoad(loadPlan({ qps: 0, connections: 1, durationMs: 1200 }), new FakeTransport(() => ({ status: 200, delayMs: 2 })));
    expect(result.timeline.length).toBeGreaterThanOrEqual(2);
    expect(result.timeline[0]?.second).toBe(0);
    expect(result.timeline.reduce((n, s) => n + s.requests, 0)).toBe(result.latency.count);
    expect(result.timeline[0]?.p50Us).toBeGreaterThan(1000);
  });
});

describe('runLoad paced', () => {
  it('makes qps x t calls spread over the duration', async () => {
    const result = await runLoad(loadPlan({ qps: 100, connections: 2, durationMs: 1000 }), new FakeTransport());
    expect(result.latency.count).toBe(100);
    expect(result.durationMs).toBeGreaterThanOrEqual(990);
    expect(result.durationMs).toBeLessThan(2500); // the rate test that must be tight runs against a real server
    expect(result.fellBehind).toBe(false);
    expect(result.scheduleLag.count).toBeGreaterThan(0);
  });

  it('counts the sends a stall made late', async () => {
    const transport = new FakeTransport((call) => ({ status: 200, delayMs: call === 11 ? 100 : 0 }));
    const result = await runLoad(loadPlan({ qps: 100, connections: 1, requests: 50 }), transport);
    // A 100 ms stall at a 10 ms period leaves about 10 slots behind it, sent late in a burst.
    expect(result.lateSends).toBeGreaterThanOrEqual(8);
    expect(result.lateSends).toBeLessThanOrEqual(49); // a busy machine makes more timers late, never more sends
  });

  it('charges a stall to every call it delayed (coordinated omission), the uncorrected view hides it', async () => {
    // One connection at 100 qps (a slot every 10 ms); call 101 (the 100th timed one) stalls 200 ms,
    // delaying about 20 slots. Corrected: ~4% of 500 calls are slow. Uncorrected: only 1 call.
    const transport = new FakeTransport((call) => ({ status: 200, delayMs: call === 101 ? 200 : 0 }));
    const result = await runLoad(loadPlan({ qps: 100, connections: 1, requests: 500 }), transport);
    const corrected = Distribution.decode(result.latency);
    const uncorrected = Distribution.decode(result.latencyUncorrected);
    expect(corrected.percentile(99)).toBeGreaterThan(100_000);
    expect(uncorrected.percentile(99)).toBeLessThan(50_000);
    expect(uncorrected.max).toBeGreaterThanOrEqual(195_000);
  });

  it('never measures a paced call as faster than it was: a timer firing early starts the clock at the send', async () => {
    const result = await runLoad(loadPlan({ qps: 300, connections: 1, requests: 300 }), new FakeTransport(() => ({ status: 200, delayMs: 1 })));
    expect(result.latency.count).toBe(300);
    // Corrected latency is from the intended send time, never after the actual one.
    expect(result.latency.min).toBeGreaterThanOrEqual(result.latencyUncorrected.min);
    expect(result.latency.sum).toBeGreaterThanOrEqual(result.latencyUncorrected.sum);
  });

  it('-nocatchup skips late slots and counts them', async () => {
    const transport = new FakeTransport((call) => ({ status: 200, delayMs: call === 11 ? 100 : 0 }));
    const result = await runLoad(loadPlan({ qps: 100, connections: 1, requests: 50, noCatchUp: true }), transport);
    expect(result.skippedSlots).toBeGreaterThanOrEqual(8);
    expect(result.skippedSlots).toBeLessThanOrEqual(30); // late timers on a busy machine skip a few more
    expect(result.latency.count + result.skippedSlots).toBe(50);
  });

  it('says the generator fell behind when the target cannot keep up', async () => {
    const result = await runLoad(loadPlan({ qps: 100, connections: 1, requests: 20 }), new FakeTransport(() => ({ status: 200, delayMs: 30 })));
    expect(result.fellBehind).toBe(true);
    expect(result.actualQps).toBeLessThan(95);
  });
});

describe('runLoad ramps', () => {
  it('ramps the rate: the later half of the run carries three quarters of the calls', async () => {
    const result = await runLoad(loadPlan({ qps: 0, connections: 2, durationMs: 2000, ramp: { from: 0, to: 100 } }), new FakeTransport());
    expect(result.latency.count).toBe(100);
    // A 2 s run has 100 ms steps: summed by whole second.
    const inSecond = (n: number): number => result.timeline.filter((s) => Math.floor(s.second) === n).reduce((sum, s) => sum + s.requests, 0);
    expect(result.timelineStepMs).toBe(100);
    const [first, second] = [inSecond(0), inSecond(1)];
    expect(first).toBeGreaterThanOrEqual(20); // 25 due in the first second
    expect(first).toBeLessThanOrEqual(30);
    expect(first + second).toBeGreaterThanOrEqual(99);
    expect(result.fellBehind).toBe(false);
  });

  it('ramps the open model arrivals', async () => {
    const result = await runLoad(loadPlan({ qps: 10, connections: 1, durationMs: 1000, open: { maxInflight: 4 }, ramp: { from: 10, to: 90 } }), new FakeTransport());
    expect(result.latency.count + result.droppedSends).toBe(50);
  });
});

describe('runLoad open model', () => {
  it('sends arrivals on schedule, drops those over the in-flight cap', async () => {
    const transport = new FakeTransport(() => ({ status: 200, delayMs: 50 }));
    const result = await runLoad(loadPlan({ qps: 200, durationMs: 500, open: { maxInflight: 2 }, connections: 1 }), transport);
    expect(result.latency.count + result.droppedSends).toBe(100);
    expect(result.droppedSends).toBeGreaterThan(50);
    expect(result.lateSends).toBeLessThanOrEqual(result.latency.count);
    expect(result.latency.count).toBeGreaterThan(10);
  });
});

/** Answers the first `answered` calls (the warm-ups), then is silent. */
const silentAfter = (answered: number) => (call: number) => (call < answered ? { status: 200 } : { status: 200, silent: true });

describe('runLoad hard end (-t plus the per-request timeout)', () => {
  it('ends a closed-loop run against a silent target by -t plus 1 s without -timeout, counting each call in flight once', async () => {
    const transport = new FakeTransport(silentAfter(2));
    const started = performance.now();
    const result = await runLoad(loadPlan({ qps: 0, connections: 2, durationMs: 300, timeoutMs: 0 }), transport);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1250);
    expect(performance.now() - started).toBeLessThan(4000); // 1.3 s planned; generous for a shared machine
    expect(result.stopReason).toBeUndefined();
    expect(result.codes).toEqual({ '-1': 2 });
    expect(result.errorsByKind).toEqual({ timeout: 2 });
    expect(result.errorSamples.timeout).toBe('still in flight when -t 300ms ended (plus 1s grace): connection closed');
    expect(result.causes).toEqual({ client_timeout: 2 });
    // Calls made == calls counted; the answers to the closes were not counted again.
    expect(transport.calls - result.warmupRequests).toBe(result.latency.count);
    expect(transport.closedInFlight).toBe(2);
  });

  it('ends a paced run by -t plus -timeout', async () => {
    const transport = new FakeTransport(silentAfter(1));
    const started = performance.now();
    const result = await runLoad(loadPlan({ qps: 20, connections: 1, durationMs: 300, timeoutMs: 200 }), transport);
    expect(performance.now() - started).toBeLessThan(3000); // 0.5 s planned
    expect(result.latency.count).toBe(1);
    expect(result.errorsByKind).toEqual({ timeout: 1 });
    expect(transport.calls - result.warmupRequests).toBe(1);
  });

  it('ends the open model by the hard end too, counting every call in flight', async () => {
    const transport = new FakeTransport(silentAfter(1));
    const result = await runLoad(loadPlan({ qps: 50, connections: 1, durationMs: 300, timeoutMs: 100, open: { maxInflight: 3 } }), transport);
    expect(result.codes).toEqual({ '-1': 3 });
    expect(transport.calls - result.warmupRequests).toBe(3);
    expect(result.droppedSends).toBeGreaterThan(0);
    expect(transport.closedInFlight).toBe(3);
  });

  it('bounds a warm-up that hangs by the same deadline', async () => {
    const transport = new FakeTransport(() => ({ status: 200, silent: true }));
    const started = performance.now();
    const result = await runLoad(loadPlan({ qps: 0, connections: 2, durationMs: 200, timeoutMs: 0, allowInitialErrors: true }), transport);
    expect(performance.now() - started).toBeLessThan(4000); // 1.2 s planned
    expect(result.stopReason).toBe('warmup-failed');
    expect(result.stopDetail).toBe('warm-up request still in flight when -t 200ms (plus 1s grace) ended; nothing was measured');
    expect(result.latency.count).toBe(0);
    expect(result.durationMs).toBe(0);
    expect(transport.closed).toBe(true);
  });

  it('does not wait for a slot past the hard end, nor send it early: -qps 1e-7 -t 300ms makes one call in 300 ms', async () => {
    const transport = new FakeTransport();
    const started = performance.now();
    const result = await runLoad(loadPlan({ qps: 1e-7, connections: 1, durationMs: 300 }), transport);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(result.latency.count).toBe(1);
    expect(result.durationMs).toBeGreaterThanOrEqual(290);
    expect(transport.calls).toBe(2); // the warm-up and slot 0; slot 1 is due in 2 * 10^7 s
  });
});

describe('runLoad interrupts', () => {
  it('stops during a warm-up that hangs', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const result = await runLoad(loadPlan({ qps: 0, connections: 2, durationMs: 0, timeoutMs: 0 }), new FakeTransport(() => ({ status: 200, silent: true })), { signal: controller.signal });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(result.stopReason).toBe('interrupted');
    expect(result.stopDetail).toBe('interrupted by the user during warm-up');
    expect(result.warmupRequests).toBe(2);
  });

  it('does not start when the signal has already aborted', async () => {
    const transport = new FakeTransport();
    const result = await runLoad(loadPlan({ qps: 0, connections: 2, durationMs: 1000 }), transport, { signal: AbortSignal.abort() });
    expect(result.stopReason).toBe('interrupted');
    expect(transport.calls).toBe(0);
  });

  it('waits as asked with -n and no -timeout, until interrupted, and says how many calls it did not count', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = performance.now();
    const result = await runLoad(loadPlan({ qps: 0, connections: 2, requests: 10, timeoutMs: 0 }), new FakeTransport(() => ({ status: 200, silent: true })), { signal: controller.signal });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(result.stopReason).toBe('interrupted');
    expect(result.stopDetail).toBe('interrupted by the user; 2 calls in flight not counted');
    expect(result.latency.count).toBe(0);
  });
});

describe('runLoad resends and error samples', () => {
  it('sums the connections\' resends and keeps the first message of each error kind, as one clean line', async () => {
    const hostile = `invalid chunk size \x1b[2J${'x'.repeat(500)}\r\nnext line`;
    const answers = [
      { status: 200, resent: true },
      { status: -1, errorKind: 'protocol' as const, errorMessage: hostile },
      { status: -1, errorKind: 'protocol' as const, errorMessage: 'a later protocol error' },
      { status: -1, errorKind: 'reset' as const, errorMessage: 'read ECONNRESET' },
    ];
    const transport = new FakeTransport((call) => answers[call % 4] as (typeof answers)[number]);
    const result = await runLoad(loadPlan({ qps: 0, connections: 2, requests: 8 }), transport);
    expect(result.resends).toBe(2);
    expect(result.errorsByKind).toEqual({ protocol: 4, reset: 2 });
    expect(result.errorSamples.reset).toBe('read ECONNRESET');
    const sample = result.errorSamples.protocol ?? '';
    expect(sample.startsWith('invalid chunk size [2J')).toBe(true);
    expect(sample).toHaveLength(ERROR_SAMPLE_CHARS);
    // eslint-disable-next-line no-control-regex -- no control character may reach a terminal
    expect(sample).not.toMatch(/[\x00-\x1f]/);

    const text = renderLoadText(result);
    expect(text).toMatch(/^Socket errors: reset 2, protocol 4$/m);
    expect(text).toMatch(/^Errors protocol: 4 \(e\.g\. invalid chunk size \[2Jx+\.\.\.\)$/m);
    expect(text).toMatch(/^Errors reset: 2 \(e\.g\. read ECONNRESET\)$/m);
    expect(text).toMatch(/^Resent automatically: 2 \(GET on a keep-alive socket closed before any response byte; counted once\)$/m);
  });

  it('prints no resend line when nothing was resent', async () => {
    const result = await runLoad(loadPlan({ qps: 0, connections: 1, requests: 3 }), new FakeTransport());
    expect(result.resends).toBe(0);
    expect(result.errorSamples).toEqual({});
    expect(renderLoadText(result)).not.toMatch(/Resent|Errors /);
  });
});

/** Wraps a transport to record how many calls were in flight at most while the first `first`
 * calls (the warm-ups) were sent. */
class InFlight implements Transport {
  now = 0;
  max = 0;
  sends = 0;
  constructor(
    private readonly inner: Transport,
    private readonly first: number,
  ) {}
  newConnection(): Connection {
    const inner = this.inner.newConnection();
    const sent = (): void => {
      this.now++;
      if (++this.sends <= this.first) this.max = Math.max(this.max, this.now);
    };
    const answered = (): void => {
      this.now--;
    };
    return {
      get socketsOpened() {
        return inner.socketsOpened;
      },
      get resends() {
        return inner.resends;
      },
      send(done) {
        sent();
        inner.send((outcome) => {
          answered();
          done(outcome);
        });
      },
      reconnect: () => inner.reconnect(),
      close: () => inner.close(),
    };
  }
  close(): void {
    this.inner.close();
  }
}

describe('runLoad warm-up modes (httprunner.go RunHTTPTest)', () => {
  it('warms all connections at once by default, one after another with -sequential-warmup', async () => {
    const parallel = new InFlight(new FakeTransport(() => ({ status: 200, delayMs: 5 })), 3);
    expect((await runLoad(loadPlan({ qps: 0, connections: 3, durationMs: 50 }), parallel)).warmupRequests).toBe(3);
    expect(parallel.max).toBe(3);
    const sequential = new InFlight(new FakeTransport(() => ({ status: 200, delayMs: 5 })), 3);
    expect((await runLoad(loadPlan({ qps: 0, connections: 3, durationMs: 50, sequentialWarmup: true }), sequential)).warmupRequests).toBe(3);
    expect(sequential.max).toBe(1);
  });

  it('stops a sequential warm-up at the first failure, with the thread in the message', async () => {
    const transport = new FakeTransport((call) => ({ status: call === 1 ? 503 : 200 }));
    const result = await runLoad(loadPlan({ qps: 0, connections: 3, durationMs: 100, sequentialWarmup: true }), transport);
    expect(result.stopReason).toBe('warmup-failed');
    expect(result.warmupRequests).toBe(2);
    expect(transport.calls).toBe(2);
    expect(result.stopDetail).toBe('error 503 for http://127.0.0.1:1/ (110 body bytes), thread# 1; use -allow-initial-errors to run anyway');
    const allowed = new FakeTransport((call) => ({ status: call === 1 ? 503 : 200 }));
    const run = await runLoad(loadPlan({ qps: 0, connections: 3, durationMs: 100, sequentialWarmup: true, allowInitialErrors: true }), allowed);
    expect(run.stopReason).toBeUndefined();
    expect(run.warmupRequests).toBe(3);
  });

  it("words a failed warm-up as Fortio: body bytes only over -h2, a socket error's reason, the URL redacted", () => {
    const outcome = { status: 503, errorKind: undefined, errorMessage: undefined, headerBytes: 100, bodyBytes: 10, viaEnvoy: false, envoyOverloaded: false, bodyPrefix: undefined, version: undefined, attempt: 1 };
    expect(warmupError({ url: 'http://u:pw@h/p', h2: true }, outcome, 0)).toBe('error 503 for http://<redacted>@h/p (10 bytes)');
    expect(warmupError({ url: 'http://h/p', h2: false }, { ...outcome, status: -1, errorKind: 'refused', errorMessage: 'connect ECONNREFUSED', headerBytes: 0, bodyBytes: 0 }, 2)).toBe(
      'error -1 for http://h/p (0 bytes): a socket error (refused: connect ECONNREFUSED)',
    );
  });
});

describe('runLoad observer', () => {
  it('sees every warm-up (iter -1) and timed call with its thread and index, the one that aborts the run included', async () => {
    const seen: Array<[number, number, number]> = [];
    const observer = { observe: (o: { status: number }, thread: number, iter: number, sentMs: number, endMs: number) => {
      if (iter >= 0) expect(endMs).toBeGreaterThanOrEqual(sentMs);
      seen.push([o.status, thread, iter]);
    } };
    await runLoad(loadPlan({ qps: 0, connections: 2, requests: 6 }), new FakeTransport(), { observer });
    expect(seen.filter(([, t]) => t === 0).map(([, , i]) => i)).toEqual([0, 1, 2]);
    expect(seen.filter(([, t]) => t === 1).map(([, , i]) => i)).toEqual([0, 1, 2]);
    seen.length = 0;
    const result = await runLoad(loadPlan({ qps: 0, connections: 1, durationMs: 5000, abortOn: 503 }), new FakeTransport((call) => ({ status: call === 3 ? 503 : 200 })), { observer });
    expect(result.stopReason).toBe('abort-on');
    expect(seen).toEqual([[200, 0, -1], [200, 0, 0], [200, 0, 1], [503, 0, 2]]);
  });
});
