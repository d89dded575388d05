/** The failed warm-up's message in Fortio's words, and an outcome described for a person. */
import type { LoadPlan } from '../model/load-plan';
import type { WarmupAbort } from '../model/load-result';
import { goGrpcError, type Outcome } from '../model/outcome';
import { redactUrl } from '../util/redact';

/** The warm-up call that failed and its connection (Fortio's thread). */
export interface WarmupFailure {
  outcome: Outcome;
  thread: number;
}

/** httprunner.go RunHTTPTest's warm-up error, which Fortio prints after "Aborting because of ":
 * parallel `error %d for %s (%d bytes)`, sequential `error %d for %s (%d body bytes), thread# %d`.
 * The bytes are what Fortio's client read: status line, headers and body over HTTP/1.1 (its fast
 * client), the body over HTTP/2 (Go's client). A socket error adds its reason, which Fortio logs
 * on a line of its own. The URL is redacted, as everywhere meshload writes it. */
export function warmupError(plan: Pick<LoadPlan, 'url' | 'h2' | 'sequentialWarmup'>, outcome: Outcome, thread: number): string {
  const text = fortioWarmupError(plan, outcome, thread);
  return outcome.grpcStatus === undefined && outcome.status === -1 ? `${text}: ${describeOutcome(outcome)}` : text;
}

/** Fortio's own text alone (cli/fortio_main.go:477-479 prints it after "Aborting because of "). */
function fortioWarmupError(plan: Pick<LoadPlan, 'url' | 'h2' | 'sequentialWarmup'>, outcome: Outcome, thread: number): string {
  // grpcrunner.go RunGRPCTest returns the first call's gRPC error itself.
  if (outcome.grpcStatus !== undefined) return goGrpcError(outcome);
  const bytes = plan.h2 ? outcome.bodyBytes : outcome.headerBytes + outcome.bodyBytes;
  const url = redactUrl(plan.url);
  return plan.sequentialWarmup === true ? `error ${outcome.status} for ${url} (${bytes} body bytes), thread# ${thread}` : `error ${outcome.status} for ${url} (${bytes} bytes)`;
}

/** The abort as `load` prints it: Fortio's line, and what meshload adds on a line before it
 * (the socket error's reason and the way out `hint` names). */
export function warmupAbort(plan: Pick<LoadPlan, 'url' | 'h2' | 'sequentialWarmup'>, outcome: Outcome, thread: number, hint: string): WarmupAbort {
  const socketError = outcome.grpcStatus === undefined && outcome.status === -1;
  return {
    fortio: fortioWarmupError(plan, outcome, thread),
    meshload: socketError ? `the warm-up call got ${describeOutcome(outcome)}; ${hint}` : hint,
  };
}

export function describeOutcome(outcome: Outcome): string {
  if (outcome.status !== -1) return `status ${outcome.status}`;
  return `a socket error (${outcome.errorKind ?? 'other'}${outcome.errorMessage !== undefined ? `: ${outcome.errorMessage}` : ''})`;
}
