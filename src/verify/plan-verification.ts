/** Works out what a DestinationRule and VirtualService promise and writes the scenario that would
 * show it: one or two phases per policy, each with checks whose failure means "does not behave
 * as configured". Rates that vary from run to run are checked with `~` (a Wilson interval or a
 * chi-square fit against the value an unconfigured mesh would give), and each phase's request
 * count is the smallest that tells the two apart at the chosen confidence. Pure: the result is
 * plain data that `meshload verify --dry-run` prints as YAML and `meshload verify` runs.
 * Facts: ../shared/MESH-FACTS.md "How Istio config maps to Envoy". */
import { formatConfidence } from '../checks';
import { usageError } from '../util/errors';
import { draftGrpcVerification, isGrpcTarget } from './grpc-plan';
import { formatNote, type ConnectionPool, type IstioPolicies } from './istio-policy';
import { formatVersion } from './istio-version';
import { describeValues, ejectableEndpoints, errorsToEject, outlierModel, type OutlierModel } from './outlier-model';
import type { VerificationPlan, VerifyOptions } from './plan-types';
import { minDefined, PlanContext, shortHost } from './plan-context';
import { planDestinationRule, planOutlierDetection, routedSubset } from './destination-rule-phases';
import { planVirtualService } from './virtual-service-phases';

// The planner's vocabulary lives in ./plan-types and ./plan-context; re-exported here, its public face.
export type { Backend, PlannedPhase, PlannedPolicy, PolicyKind, ProxyKind, VerificationPlan, VerifyOptions } from './plan-types';
export { PLAN_RULES, type PlanRule } from './plan-context';

/** The one service the manifests configure; a usage error for none or several (checked before
 * the target is probed, so bad input costs no request). */
export function verifiedHost(policies: IstioPolicies): string {
  // A DestinationRule of a host the VirtualService routes to applies to that traffic: not another service.
  const routed = routedHosts(policies);
  const hosts = new Set([...policies.destinationRules.map((d) => shortHost(d.host)).filter((h) => policies.virtualServices.length === 0 || !routed.has(h)), ...policies.virtualServices.flatMap((v) => v.hosts.map(shortHost))]);
  if (hosts.size === 0) throw usageError('the files hold no DestinationRule or VirtualService', 'pass the manifests with -f dr.yaml -f vs.yaml');
  if (hosts.size > 1) {
    throw usageError(`the files configure ${[...hosts].join(', ')}: verify one service at a time`, 'pass -f with the manifests of one host, and its URL');
  }
  return [...hosts][0] as string;
}

/** The short hosts the VirtualServices route to. */
function routedHosts(policies: IstioPolicies): Set<string> {
  return new Set(policies.virtualServices.flatMap((v) => v.http.flatMap((r) => r.destinations.map((d) => shortHost(d.host)))));
}

/** The proxy's cluster for the load: the one host every route goes to, else the verified host. */
function statsHost(policies: IstioPolicies, host: string): string {
  const routed = routedHosts(policies);
  return routed.size === 1 ? ([...routed][0] as string) : host;
}

/** The plan; a usage error when nothing in it can run. */
export function planVerification(policies: IstioPolicies, options: VerifyOptions): VerificationPlan {
  const plan = draftVerification(policies, options);
  if (plan.scenario.phases.length === 0) {
    throw usageError(
      `nothing to verify for ${verifiedHost(policies)}: ${plan.policies.map((p) => `${p.policy}: ${p.skipped ?? ''}`).join('; ') || 'no resilience policy in the files'}`,
      'add a connectionPool, outlierDetection, retries, timeout, fault or weighted route',
    );
  }
  return plan;
}

/** The plan, possibly without phases: verify drafts one to learn which delays the backend
 * refused (refusedDelayMs) before asking the server for its cap. */
export function draftVerification(policies: IstioPolicies, options: VerifyOptions): VerificationPlan {
  const host = verifiedHost(policies);
  if (isGrpcTarget(options.target, options.grpc)) return draftGrpcVerification(policies, options, host);
  // A breaker in the DestinationRule limits every phase, not only its own: the other policies'
  // phases stay at or under its concurrency, or their 503s would be overflow, not their policy.
  const pools = policies.destinationRules.map((d) => d.trafficPolicy?.connectionPool).filter((p): p is ConnectionPool => p !== undefined);
  // Outlier detection on the service shapes every phase that makes 5xx: an ejection would turn
  // its later calls into `no healthy upstream` (issue 15), so those phases stay under it.
  // The strictest detector among the service's and its subsets' (a subset's replaces the
  // service's for its traffic): every phase stays under the first threshold any endpoint meets.
  const detectors = policies.destinationRules.flatMap((d) => [
    ...(d.trafficPolicy?.outlierDetection === undefined ? [] : [{ model: outlierModel(d.trafficPolicy.outlierDetection), subject: `DestinationRule ${d.origin.name}` }]),
    ...d.subsets.flatMap((sub) => (sub.trafficPolicy?.outlierDetection === undefined ? [] : [{ model: outlierModel(sub.trafficPolicy.outlierDetection), subject: `DestinationRule ${d.origin.name} subset ${sub.name}` }])),
  ]);
  const strictness = (m: OutlierModel): number => Math.min(errorsToEject(m) ?? Infinity, errorsToEject(m, true) ?? Infinity);
  // A detector whose maxEjectionPercent of the known endpoints is under one host ejects nothing
  // (a subset has at most the service's endpoints), so it holds no phase back.
  const known = options.endpoints;
  const outlier = detectors.filter((d) => known === undefined || ejectableEndpoints(d.model, known.count) >= 1).reduce<(typeof detectors)[number] | undefined>((a, b) => (a === undefined || strictness(b.model) < strictness(a.model) ? b : a), undefined);
  const ctx = new PlanContext(options, minDefined(...pools.flatMap((p) => [p.maxConnections, p.http2MaxRequests])), outlier);
  if (outlier !== undefined) for (const r of outlier.model.rules) ctx.rule(r);
  if (outlier !== undefined && pools.length > 0) ctx.rule('outlier.overflow-not-charged');
  if (detectors.length > 0) {
    ctx.rule('outlier.endpoint-count');
    if (known === undefined) {
      ctx.assume(
        "the service's endpoint count is unknown (pass --endpoints N, or --stats with Envoy's admin /stats so its /clusters page is read): phases are held under the ejection threshold as if an endpoint could be ejected, which maxEjectionPercent allows only from enough endpoints.",
      );
    }
  }
  for (const dr of policies.destinationRules) planDestinationRule(ctx, dr);
  for (const vs of policies.virtualServices) planVirtualService(ctx, vs, policies.destinationRules);
  // Planned after the others: it knows the ejections they may have caused (Envoy's ejection
  // time grows with each), and its phases run last, so no later phase meets the ejected endpoint.
  for (const dr of policies.destinationRules) {
    const subject = `DestinationRule ${dr.origin.name}`;
    const routed = routedSubset(policies.virtualServices, dr);
    const own = dr.subsets.find((sub) => sub.name === routed && sub.trafficPolicy?.outlierDetection !== undefined);
    const od = dr.trafficPolicy?.outlierDetection;
    if (own !== undefined) ctx.rule('outlier.subset-replaces');
    if (od !== undefined && own !== undefined) {
      // istio/istio pilot/pkg/model/destination_rule.go:183-185 @86c9f01f MergeTrafficPolicy: a subset's outlierDetection replaces the rule's. rule: 'outlier.subset-replaces'
      ctx.skip('outlierDetection', subject, describeValues(outlierModel(od)), `the route sends all traffic to subset ${own.name}, whose own outlierDetection replaces this one (Istio merges a subset's policy over the rule's field by field)`);
    } else if (od !== undefined) {
      // Routed to one subset, the rule's detector runs on that subset's cluster: its hosts, not the service's.
      planOutlierDetection(ctx, subject, outlierModel(od), routed);
    }
    for (const sub of dr.subsets) {
      const sod = sub.trafficPolicy?.outlierDetection;
      if (sod === undefined) continue;
      const model = outlierModel(sod);
      if (sub === own) planOutlierDetection(ctx, `${subject} subset ${sub.name}`, model, sub.name);
      else {
        ctx.rule('outlier.subset-replaces');
        const why = routed === undefined ? 'no route in the files sends all its traffic to this subset (an unrouted or split load reaches endpoints of other subsets, whose detector is another)' : `the route sends all traffic to subset ${routed}`;
        ctx.skip('outlierDetection', `${subject} subset ${sub.name}`, describeValues(model), `${why}: route the load to subset ${sub.name} alone (a VirtualService with that one destination) to verify it`);
      }
    }
  }
  ctx.phases.push(...ctx.late);
  const notes = policies.notes.map(formatNote);
  const sidecar = { cluster: statsHost(policies, host), ...options.sidecar };
  return {
    scenario: {
      name: `verify ${host}`,
      description: `Derived by meshload verify from ${[...new Set([...policies.destinationRules, ...policies.virtualServices].map((r) => r.origin.file))].join(', ')} at ${formatConfidence(options.confidence)} confidence. Istio version: ${formatVersion(options.istioVersion)}.${ctx.proxies > 1 ? ` Planned for ${ctx.proxies} client proxies: run it as ${ctx.proxies} shards (meshload k8s job --parallelism ${ctx.proxies}).` : ''}${ctx.assumptions.length > 0 ? ` Assumed: ${ctx.assumptions.join(' ')}` : ''}`,
      target: options.target,
      sidecar,
      defaults: { qps: 0, allowInitialErrors: true },
      phases: ctx.phases,
      ...(ctx.always.length > 0 ? { always: ctx.always } : {}),
    },
    policies: ctx.policies,
    notes,
    refusedDelayMs: ctx.refusedDelayMs,
    assumptions: ctx.assumptions,
    rules: [...ctx.rules].sort(),
    clientProxies: ctx.proxies,
  };
}
