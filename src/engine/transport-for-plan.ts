/** Picks and builds the transport a plan asks for; the one place a new protocol plugs in. */
import type { LoadPlan } from '../model/load-plan';
import { grpcTemplateFor } from '../grpc/grpc-load';
import { createGrpcTransport } from '../grpc/grpc-transport';
import { createFastH2Transport } from '../transport/h2-fast-transport';
import { createHttp1Transport } from '../transport/http1-transport';
import { createRedirectTransport } from '../transport/redirect-transport';
import type { RequestTemplate, Transport } from '../transport/transport';

export function transportForPlan(plan: LoadPlan): Transport {
  if (plan.grpc !== undefined) return createGrpcTransport(grpcTemplateFor(plan, plan.grpc));
  const template: RequestTemplate = {
    url: new URL(plan.url),
    method: plan.method,
    headers: plan.headers,
    body: plan.payload,
    timeoutMs: plan.timeoutMs,
    keepAlive: plan.keepAlive,
    insecure: plan.insecure,
    ...(plan.tls !== undefined ? { tls: plan.tls } : {}),
    reuseAfterError: plan.reuseAfterError === true,
    h2Multiplex: plan.h2Multiplex === true,
    ...(plan.resolve !== undefined ? { resolve: plan.resolve } : {}),
    ...(plan.unixSocket !== undefined ? { unixSocket: plan.unixSocket } : {}),
    ...(plan.http10 === true ? { http10: true } : {}),
  };
  // -L is Fortio's switch to Go's client (bincommon/commonflags.go:214-216); load-action
  // refuses it with -h2 and -http1.0.
  if (plan.followRedirects === true) return createRedirectTransport(template);
  // -h2 (both models) rides on meshload's own framing: node:http2 cost most of the CPU (issue 16).
  return plan.h2 ? createFastH2Transport(template) : createHttp1Transport(template);
}
