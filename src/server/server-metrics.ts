/** Counters the echo server keeps for its admin /metrics endpoint. Plain numbers and arrays:
 * they are touched on every request, so no maps or allocation on that path. */

export type FaultKind = 'status' | 'delay' | 'close';

/** Attempt counts above this share one overflow slot; Envoy retries rarely exceed a handful. */
const MAX_TRACKED_ATTEMPT = 10;
const ATTEMPT_BUCKETS = [1, 2, 3, 4, 5, 10];

export class ServerMetrics {
  private readonly byStatus = new Array<number>(1000).fill(0);
  private readonly attempts = new Array<number>(MAX_TRACKED_ATTEMPT + 2).fill(0);
  private attemptSum = 0;
  private attemptOverflow = 0;
  private faultStatus = 0;
  private faultDelay = 0;
  private faultClose = 0;
  /** By echo parameter name, for values ignored as Fortio ignores them. */
  private readonly ignored = new Map<string, number>();
  connections = 0;
  chaosChanges = 0;
  /** Responses cut off because writing them threw: a server bug, never a peer's doing. */
  internalErrors = 0;

  recordResponse(status: number): void {
    this.byStatus[status] = (this.byStatus[status] as number) + 1;
  }

  recordFault(kind: FaultKind): void {
    if (kind === 'status') this.faultStatus++;
    else if (kind === 'delay') this.faultDelay++;
    else this.faultClose++;
  }

  /** `notes` are a plan's ignored values, "delay=abc": counted by the parameter name. Names come
   * from the server's fixed list, so the map stays small. */
  recordIgnored(notes: readonly string[]): void {
    for (const note of notes) {
      const eq = note.indexOf('=');
      const param = eq < 0 ? note : note.slice(0, eq);
      this.ignored.set(param, (this.ignored.get(param) ?? 0) + 1);
    }
  }

  /** `x-envoy-attempt-count` as received: 1 for the first try, 2 for the first retry... */
  recordAttempt(attempt: number): void {
    if (!Number.isInteger(attempt) || attempt < 1) return;
    this.attemptSum += attempt;
    if (attempt > MAX_TRACKED_ATTEMPT) this.attemptOverflow++;
    else this.attempts[attempt] = (this.attempts[attempt] as number) + 1;
  }

  requestsByStatus(): Map<number, number> {
    const out = new Map<number, number>();
    this.byStatus.forEach((count, status) => {
      if (count > 0) out.set(status, count);
    });
    return out;
  }

  totalRequests(): number {
    return this.byStatus.reduce((a, b) => a + b, 0);
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    lines.push('# HELP meshload_server_requests_total Requests answered on the echo port, by status code.');
    lines.push('# TYPE meshload_server_requests_total counter');
    for (const [status, count] of this.requestsByStatus()) {
      lines.push(`meshload_server_requests_total{code="${status}"} ${count}`);
    }
    lines.push('# HELP meshload_server_faults_injected_total Faults the echo server injected, by kind.');
    lines.push('# TYPE meshload_server_faults_injected_total counter');
    lines.push(`meshload_server_faults_injected_total{kind="status"} ${this.faultStatus}`);
    lines.push(`meshload_server_faults_injected_total{kind="delay"} ${this.faultDelay}`);
    lines.push(`meshload_server_faults_injected_total{kind="close"} ${this.faultClose}`);
    lines.push(
      '# HELP meshload_server_request_attempt x-envoy-attempt-count of requests that carried it (1 = first try).',
    );
    lines.push('# TYPE meshload_server_request_attempt histogram');
    let cumulative = 0;
    let nextAttempt = 1;
    for (const bound of ATTEMPT_BUCKETS) {
      for (; nextAttempt <= bound; nextAttempt++) cumulative += this.attempts[nextAttempt] as number;
      lines.push(`meshload_server_request_attempt_bucket{le="${bound}"} ${cumulative}`);
    }
    const count = cumulative + this.attemptOverflow;
    lines.push(`meshload_server_request_attempt_bucket{le="+Inf"} ${count}`);
    lines.push(`meshload_server_request_attempt_sum ${this.attemptSum}`);
    lines.push(`meshload_server_request_attempt_count ${count}`);
    lines.push('# HELP meshload_server_ignored_params_total Echo parameter values ignored as Fortio ignores them (named in x-meshload-ignored).');
    lines.push('# TYPE meshload_server_ignored_params_total counter');
    for (const [param, n] of [...this.ignored].sort()) lines.push(`meshload_server_ignored_params_total{param="${param}"} ${n}`);
    lines.push('# HELP meshload_server_connections_total TCP connections accepted on the echo port.');
    lines.push('# TYPE meshload_server_connections_total counter');
    lines.push(`meshload_server_connections_total ${this.connections}`);
    lines.push('# HELP meshload_server_chaos_changes_total Changes of the server-wide chaos defaults through /chaos.');
    lines.push('# TYPE meshload_server_chaos_changes_total counter');
    lines.push(`meshload_server_chaos_changes_total ${this.chaosChanges}`);
    lines.push('# HELP meshload_server_internal_errors_total Responses cut off because the server could not write them (please report).');
    lines.push('# TYPE meshload_server_internal_errors_total counter');
    lines.push(`meshload_server_internal_errors_total ${this.internalErrors}`);
    return lines.join('\n') + '\n';
  }
}
