/** Why a call failed, read from what the client saw: status, Envoy's overload header and the
 * first bytes of the body. The markers are the local replies Envoy and HAProxy write themselves
 * (MESH-FACTS "What the client sees on each failure"); anything else non-OK is the app's. */
import { isOk, type Outcome } from './outcome';

/** gRPC's DEADLINE_EXCEEDED (grpc/grpc doc/statuscodes.md). */
const GRPC_DEADLINE_EXCEEDED = 4;

export type FailureCause = 'breaker' | 'timeout' | 'fault' | 'no_healthy' | 'reset' | 'app' | 'client_timeout' | 'socket';

/** In the order reports list them: proxy decisions first, then the app, then the client side. */
export const FAILURE_CAUSES: readonly FailureCause[] = ['breaker', 'timeout', 'fault', 'no_healthy', 'reset', 'app', 'client_timeout', 'socket'];

const DESCRIPTIONS: Readonly<Record<FailureCause, string>> = {
  breaker: 'rejected by the proxy circuit breaker or queue limit (Envoy UO overflow, HAProxy queue timeout)',
  timeout: 'the proxy gave up waiting for the upstream (route, per-try or server timeout)',
  fault: 'aborted by fault injection',
  no_healthy: 'no healthy upstream: every endpoint was ejected or down',
  reset: 'the upstream connection failed or was reset before a response',
  app: "the application's own error response",
  client_timeout: 'the load generator timed out waiting for the response',
  socket: 'a socket error on the client side (refused, reset, DNS, TLS, ...)',
};

export function describeCause(cause: FailureCause): string {
  return DESCRIPTIONS[cause];
}

// Envoy local replies (router.cc / upstream_request.cc): the whole body is Envoy's text, so a
// prefix match is exact and does not fire on an app that quotes an Envoy error it received.
const ENVOY_RESET = 'upstream connect error or disconnect/reset before headers.';
const ENVOY_TIMEOUT = 'upstream request timeout';
const ENVOY_FAULT = 'fault filter abort';
const ENVOY_NO_HEALTHY = 'no healthy upstream';
const RESET_REASON = 'reset reason: ';

// HAProxy 2.6 default error pages (src/http.c http_err_msgs), checked on a real 2.6.12. The same
// 503 page is served for a queue timeout (sQ), for "no usable server" and for a connection that
// still failed after its retries (SC): the body cannot tell them apart. It is counted as breaker,
// the cause a load test against `maxconn` + `timeout queue` meets; the resilience view's
// connectFailures tells a dead server apart.
const HAPROXY_PAGE = '<html><body><h1>';
const HAPROXY_503 = 'No server is available to handle this request.';
const HAPROXY_504 = "The server didn't respond in time.";
const HAPROXY_502 = 'The server returned an invalid or incomplete response.';

/** The cause of a failed call, or undefined for an OK one (2xx, and 418 as Fortio counts it).
 * Cheap: a few prefix checks, only called for non-OK responses. */
export function classifyFailure(outcome: Outcome): FailureCause | undefined {
  const status = outcome.status;
  if (status === -1) return outcome.errorKind === 'timeout' ? 'client_timeout' : 'socket';
  if (isOk(status)) return undefined;
  if (outcome.envoyOverloaded) return 'breaker';
  const body = outcome.bodyPrefix;
  if (body === undefined || body.length === 0) return grpcOwnCause(outcome);
  if (body.startsWith(ENVOY_RESET)) return resetReasonIsOverflow(body) ? 'breaker' : 'reset';
  if (body.startsWith(ENVOY_TIMEOUT)) return 'timeout';
  if (body.startsWith(ENVOY_FAULT)) return 'fault';
  if (body.startsWith(ENVOY_NO_HEALTHY)) return 'no_healthy';
  if (body.startsWith(HAPROXY_PAGE)) return haproxyCause(status, body);
  return grpcOwnCause(outcome);
}

/** A gRPC call that failed without an Envoy marker: DEADLINE_EXCEEDED sent by the server (or a
 * proxy) is a timeout on that side, told apart from the client's own (status -1, timeout);
 * other statuses are the app's. For gRPC, `bodyPrefix` holds grpc-message, where Envoy keeps its
 * local reply's text (MESH-FACTS "gRPC through Envoy"). */
function grpcOwnCause(outcome: Outcome): FailureCause {
  return outcome.grpcStatus === GRPC_DEADLINE_EXCEEDED ? 'timeout' : 'app';
}

/** `... reset reason: overflow` and `... retried and the latest reset reason: overflow`; other
 * reasons (connection failure, remote reset, connection termination, ...) are resets. */
function resetReasonIsOverflow(body: string): boolean {
  const at = body.indexOf(RESET_REASON, ENVOY_RESET.length);
  return at >= 0 && body.startsWith('overflow', at + RESET_REASON.length);
}

function haproxyCause(status: number, body: string): FailureCause {
  if (status === 503 && body.includes(HAPROXY_503)) return 'breaker';
  if (status === 504 && body.includes(HAPROXY_504)) return 'timeout';
  if (status === 502 && body.includes(HAPROXY_502)) return 'reset';
  return 'app';
}
