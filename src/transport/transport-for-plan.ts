/** Picks and builds the transport a plan asks for; the one place a new protocol plugs in. */
import type { LoadPlan } from '../engine/load-plan';
import { createHttp1Transport } from './http1-transport';
import type { Transport } from './transport';

export function transportForPlan(plan: LoadPlan): Transport {
  return createHttp1Transport({
    url: new URL(plan.url),
    method: plan.method,
    headers: plan.headers,
    body: plan.payload,
    timeoutMs: plan.timeoutMs,
    keepAlive: plan.keepAlive,
    insecure: plan.insecure,
  });
}
