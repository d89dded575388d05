import { RunRecorder } from '../../src/engine/run-recorder';
import { failure } from '../../src/transport/outcome';
import type { Outcome } from '../../src/transport/transport';

function outcome(status: number, version: string | undefined, attempt: number): Outcome {
  return {
    status,
    errorKind: undefined,
    errorMessage: undefined,
    headerBytes: 100,
    bodyBytes: status >= 400 ? 7 : 10,
    viaEnvoy: true,
    envoyOverloaded: false,
    bodyPrefix: status >= 400 ? 'retried' : undefined,
    version,
    attempt,
  };
}

/** Records each outcome 1 ms after it was due, 10 ms apart, from a run started at 0. */
function record(outcomes: readonly Outcome[]): ReturnType<RunRecorder['finish']> {
  const recorder = new RunRecorder(0);
  outcomes.forEach((o, i) => recorder.record(o, i * 10, i * 10, i * 10 + 1));
  return recorder.finish(outcomes.length * 10);
}

describe('RunRecorder versions and attempts', () => {
  it('counts calls by x-version, with the versions in sorted order', () => {
    const run = record([
      outcome(200, 'v2', 0),
      outcome(200, 'v1', 0),
      outcome(503, 'v2', 0),
      outcome(200, 'canary-v3', 0),
      outcome(200, undefined, 0),
      outcome(200, 'v1', 0),
      outcome(200, 'v2', 0),
    ]);
    expect(run.versions).toEqual({ 'canary-v3': 1, v1: 2, v2: 3 });
    expect(Object.keys(run.versions)).toEqual(['canary-v3', 'v1', 'v2']);
    // The untagged call is a call, not a version.
    expect(run.codes).toEqual({ '200': 6, '503': 1 });
    expect(run.attempts).toEqual({});
  });

  it('counts calls by the attempt their upstream echoed, in numeric order; 0 (no echo) is not counted', () => {
    const run = record([
      outcome(200, undefined, 1),
      outcome(200, undefined, 10),
      outcome(200, undefined, 2),
      outcome(503, undefined, 3),
      outcome(200, undefined, 0),
      outcome(200, undefined, 1),
      outcome(200, undefined, 2),
      outcome(200, undefined, 1),
    ]);
    expect(run.attempts).toEqual({ '1': 3, '2': 2, '3': 1, '10': 1 });
    expect(Object.keys(run.attempts)).toEqual(['1', '2', '3', '10']);
    expect(run.versions).toEqual({});
  });

  it('counts both on the same call, OK or not, and neither on a socket error', () => {
    const run = record([outcome(503, 'v1', 3), outcome(200, 'v1', 2), failure('reset', 'socket hang up'), failure('timeout', 'timed out')]);
    expect(run.versions).toEqual({ v1: 2 });
    expect(run.attempts).toEqual({ '2': 1, '3': 1 });
    expect(run.codes).toEqual({ '-1': 2, '200': 1, '503': 1 });
  });

  it('keeps versions apart by exact value: case and spacing matter', () => {
    const run = record([outcome(200, 'v1', 0), outcome(200, 'V1', 0), outcome(200, 'v1 ', 0), outcome(200, 'v1', 0)]);
    expect(run.versions).toEqual({ v1: 2, V1: 1, 'v1 ': 1 });
  });

  it('gives empty records for a run without calls', () => {
    const run = new RunRecorder(0).finish(1000);
    expect(run.versions).toEqual({});
    expect(run.attempts).toEqual({});
  });
});
