/** Runs a plan where it asks to run: on worker threads when `workers > 1`, else here over the
 * plan's transport. The one place that choice is made (`load`, `run`). */
import { transportForPlan } from './transport-for-plan';
import type { LoadPlan } from '../model/load-plan';
import type { LoadResult } from '../model/load-result';
import { runInWorkers } from './run-in-workers';
import { runLoad } from './run-load';
import type { RunOptions } from './run-options';

export function runPlan(plan: LoadPlan, options: RunOptions): Promise<LoadResult> {
  return plan.workers > 1 ? runInWorkers(plan, options) : runLoad(plan, transportForPlan(plan), options);
}
