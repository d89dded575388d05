import { LOAD_DEFAULTS, type LoadPlan } from '../../src/model/load-plan';

/** A plan with Fortio's defaults, overridden by `over`. */
export function loadPlan(over: Partial<LoadPlan> = {}): LoadPlan {
  return {
    url: 'http://127.0.0.1:1/',
    method: 'GET',
    headers: [],
    payload: Buffer.alloc(0),
    connections: LOAD_DEFAULTS.connections,
    qps: LOAD_DEFAULTS.qps,
    durationMs: LOAD_DEFAULTS.durationMs,
    requests: undefined,
    uniform: false,
    jitter: false,
    noCatchUp: false,
    timeoutMs: LOAD_DEFAULTS.timeoutMs,
    keepAlive: true,
    h2: false,
    insecure: false,
    abortOn: undefined,
    allowInitialErrors: false,
    connectionReuse: undefined,
    ramp: undefined,
    open: undefined,
    workers: 1,
    percentiles: [...LOAD_DEFAULTS.percentiles],
    labels: '',
    secretHeaders: [],
    ...over,
  };
}
