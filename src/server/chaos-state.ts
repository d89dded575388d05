/** The server-wide echo defaults (Fortio's -echo-server-default-params), changeable at run time
 * through the admin port's /chaos, plus the cache of parsed plans per query string. */
import { EMPTY_PLAN, parseEchoParams, type EchoLimits, type EchoPlan } from './echo-params';
import { EchoParamError } from './weighted-list';

// A load test repeats one query string; a scan of many distinct ones must not grow memory.
const PLAN_CACHE_LIMIT = 1024;

export class ChaosState {
  private defaults: EchoPlan = EMPTY_PLAN;
  private readonly plans = new Map<string, EchoPlan | EchoParamError>();

  constructor(readonly limits: EchoLimits) {}

  /** The plan for requests whose URL has no query string. */
  get defaultPlan(): EchoPlan {
    return this.defaults;
  }

  /** Throws EchoParamError and keeps the old defaults when `query` is bad. */
  setDefaults(query: string): EchoPlan {
    this.defaults = query === '' ? EMPTY_PLAN : parseEchoParams(query, this.limits, true);
    return this.defaults;
  }

  clearDefaults(): void {
    this.defaults = EMPTY_PLAN;
  }

  /** A bad query is cached too: the error is as repeatable as the plan. */
  planFor(query: string): EchoPlan | EchoParamError {
    let plan = this.plans.get(query);
    if (plan === undefined) {
      try {
        plan = parseEchoParams(query, this.limits);
      } catch (error) {
        if (!(error instanceof EchoParamError)) throw error;
        plan = error;
      }
      if (this.plans.size >= PLAN_CACHE_LIMIT) this.plans.clear();
      this.plans.set(query, plan);
    }
    return plan;
  }
}
