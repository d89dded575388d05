/** The checks language on one screen: the README shows it verbatim (test/docs checks that), so
 * the reference and the grammar cannot drift apart. */
import { FAILURE_CAUSES } from '../model/failure-cause';
import { VIEW_NAMES } from './expectation';

export const EXPECTATION_HELP = `Checks, one per line: METRIC OP VALUE, METRIC in [LOW, HIGH] (inclusive), or agree(NAME).
  OP: <  <=  ==  >=  >
  status(503), status(5xx)   calls with that code or class: a share with % (20%), else a count (12)
  grpc(UNAVAILABLE)          gRPC calls ended with that status (a name, or a code 0-16): share with %, else a count
  error_rate                 share of calls not OK (OK: 2xx and 418), always with %: error_rate < 1%
  p(99), avg, min, max       corrected latency, with a unit: 500us, 250ms, 1.5s, 1m
  rps                        achieved calls per second (plain number)
  calls                      calls made (count)
  cause(NAME)                failed calls by cause (${FAILURE_CAUSES.join(', ')}): count, or share with %
  delta(STAT)                counter delta summed over the matched clusters: delta(upstream_rq_pending_overflow)
  max(GAUGE)                 gauge maximum over the matched clusters: max(circuit_breakers.default.rq_pending_open)
  share(SUBSET)              share of the requests sent upstream that went to an Istio subset, with %: share(v2) in [15%, 25%]
  ${VIEW_NAMES.join(', ')}
                             the resilience view summed over the matched clusters (count)
  slower(DURATION)           calls whose latency reached DURATION (a fault delay's victims): count, or share with %
  version(TAG)               calls answered with x-version: TAG (meshload server -version-tag): count, or share with %
  agree(breaker), agree(requests), agree(retries)
                             the client's and the proxy's numbers agree (retries: the attempt counts the
                             meshload server echoes against the proxy's retry counter)
Statistical checks, for rates that vary from run to run:
  SHARE ~ EXPECTED vs ALTERNATIVE [at CONFIDENCE]
                             SHARE is status(...), grpc(...), error_rate, cause(...), share(...), slower(...) or
                             version(...): pass when the Wilson interval of the observed share (default
                             confidence 99.9%) contains EXPECTED and excludes ALTERNATIVE, fail when it
                             excludes EXPECTED, inconclusive when it contains both: status(503) ~ 6.25% vs 50%
  versions ~ [v1 80%, v2 20%] vs [v1 50%, v2 50%] [at CONFIDENCE]
  subsets ~ [...] vs [...]   a traffic split (x-version of the responses, or the proxy's per-subset
                             clusters) by chi-square goodness of fit: pass when it fits EXPECTED and
                             rules out ALTERNATIVE
Stats checks need sidecar: in the scenario. A check without data fails (no_data), never passes.`;
