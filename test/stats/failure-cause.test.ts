import type { ErrorKind, Outcome } from '../../src/model/outcome';
import { classifyFailure, describeCause, FAILURE_CAUSES, type FailureCause } from '../../src/model/failure-cause';

function outcome(status: number, body?: string, extra: Partial<Outcome> = {}): Outcome {
  return {
    status,
    errorKind: undefined,
    errorMessage: undefined,
    headerBytes: 100,
    bodyBytes: body?.length ?? 0,
    viaEnvoy: true,
    envoyOverloaded: false,
    version: undefined,
    attempt: 0,
    bodyPrefix: status >= 400 ? body : undefined,
    ...extra,
  };
}

function socketError(kind: ErrorKind): Outcome {
  return { ...outcome(-1), errorKind: kind, errorMessage: kind, viaEnvoy: false, headerBytes: 0 };
}

// HAProxy 2.6.12's default pages, as captured from the Debian build (bodies are exact).
const HAPROXY_503 = '<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n';
const HAPROXY_504 = "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n";
const HAPROXY_502 = '<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n';
const HAPROXY_500 = '<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n';

describe('classifyFailure', () => {
  const cases: Array<[string, Outcome, FailureCause | undefined]> = [
    ['200 is OK', outcome(200), undefined],
    ['204 is OK', outcome(204), undefined],
    ['418 is OK, as Fortio counts it', outcome(418, "I'm a teapot"), undefined],
    // Envoy local replies, exact bodies from Envoy / Istio.
    [
      'breaker overflow by header',
      outcome(503, 'upstream connect error or disconnect/reset before headers. reset reason: overflow', { envoyOverloaded: true }),
      'breaker',
    ],
    [
      'breaker overflow by body alone (header stripped)',
      outcome(503, 'upstream connect error or disconnect/reset before headers. reset reason: overflow'),
      'breaker',
    ],
    [
      'breaker overflow after retries',
      outcome(503, 'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: overflow'),
      'breaker',
    ],
    ['overload header on any body', outcome(503, 'envoy overloaded', { envoyOverloaded: true }), 'breaker'],
    ['route timeout', outcome(504, 'upstream request timeout'), 'timeout'],
    ['fault abort with the configured status', outcome(500, 'fault filter abort'), 'fault'],
    ['fault abort 503', outcome(503, 'fault filter abort'), 'fault'],
    ['no healthy upstream', outcome(503, 'no healthy upstream'), 'no_healthy'],
    ['connect failure (old Envoy)', outcome(503, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure'), 'reset'],
    [
      'connect failure with transport reason',
      outcome(
        503,
        'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: 111',
      ),
      'reset',
    ],
    ['remote reset', outcome(503, 'upstream connect error or disconnect/reset before headers. reset reason: remote reset'), 'reset'],
    [
      'connection termination after retries',
      outcome(503, 'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection termination'),
      'reset',
    ],
    ['connection timeout', outcome(503, 'upstream connect error or disconnect/reset before headers. reset reason: connection timeout'), 'reset'],
    // An app that wraps an Envoy error from a further hop is answering itself.
    [
      'app quoting an Envoy body',
      outcome(503, '{"error":{"code":503,"message":"upstream connect error or disconnect/reset before headers. reset reason: overflow"}}'),
      'app',
    ],
    // HAProxy's own pages.
    ['HAProxy 503 (queue timeout, no server)', outcome(503, HAPROXY_503, { viaEnvoy: false }), 'breaker'],
    ['HAProxy 504 (timeout server)', outcome(504, HAPROXY_504, { viaEnvoy: false }), 'timeout'],
    ['HAProxy 502 (invalid or no response)', outcome(502, HAPROXY_502, { viaEnvoy: false }), 'reset'],
    ['HAProxy 500 is not a resilience cause', outcome(500, HAPROXY_500, { viaEnvoy: false }), 'app'],
    ['HAProxy page under another status is the app', outcome(500, HAPROXY_503, { viaEnvoy: false }), 'app'],
    // The app's own errors.
    ['app 503 with its own body', outcome(503, 'service unavailable'), 'app'],
    ['app 500 without a body', outcome(500, ''), 'app'],
    ['app 404 without a body prefix', outcome(404), 'app'],
    ['3xx is not OK either', outcome(302), 'app'],
    // Client side.
    ['client timeout', socketError('timeout'), 'client_timeout'],
    ['refused', socketError('refused'), 'socket'],
    ['reset', socketError('reset'), 'socket'],
    ['tls', socketError('tls'), 'socket'],
  ];

  it.each(cases)('%s', (_name, input, expected) => {
    expect(classifyFailure(input)).toBe(expected);
  });

  it('works on a truncated 256-byte prefix', () => {
    const long = `upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: ${'x'.repeat(300)}`;
    expect(classifyFailure(outcome(503, long.slice(0, 256)))).toBe('reset');
  });
});

describe('describeCause', () => {
  it('has one line of text for every cause', () => {
    for (const cause of FAILURE_CAUSES) {
      const text = describeCause(cause);
      expect(text.length).toBeGreaterThan(10);
      expect(text).not.toContain('\n');
    }
    expect(new Set(FAILURE_CAUSES).size).toBe(8);
  });
});
