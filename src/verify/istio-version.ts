/** Which Istio the mesh runs, as far as verify knows it (`--istio-version 1.24`, or the
 * `istio_build` metric the proxy reports), and the version-dependent defaults the plan relies
 * on. Pure. Without a version the plan assumes the newest behaviour and says so, and a check
 * that would flip with the version is made inconclusive rather than wrong. */
import { usageError } from '../util/errors';

export interface IstioVersion {
  major: number;
  minor: number;
  /** Where it came from, for the plan: `--istio-version`, `istio_build tag 1.24.2`. */
  source: string;
}

/** The rules this module encodes, by id, with the primary source each follows. */
export const VERSION_RULES = {
  // istio/istio pilot/pkg/networking/core/route/retry/retry.go defaultPolicy(): RetriableStatusCodes
  // [503] only when !features.Exclude503FromDefaultRetries; EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY
  // defaults to true from 1.24 (istio.io news/releases/1.24.x change notes, issue #50506, PR #52111;
  // the 1.23 compatibility profile sets it back to false).
  'version.default-retry-503': 'istio retry.go defaultPolicy (RetriableStatusCodes 503 unless EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY); true by default from Istio 1.24 (change notes, istio/istio#50506)',
  // retry.go ConvertPolicy: a retries block without retryOn keeps the default RetryOn and codes.
  'version.retry-block-default-retry-on': 'istio retry.go ConvertPolicy: retries without retryOn keep the default retryOn and retriable codes',
  // retry.go parseRetryOn: codes come only from numbers in retryOn, so `retriable-status-codes`
  // alone retries nothing.
  'version.retry-on-codes': 'istio retry.go parseRetryOn: status codes only from numbers written in retryOn',
  'version.detected': 'istio-agent istio_build{component="proxy",tag="X.Y.Z"} metric (merged /stats/prometheus on 15020)',
} as const;

export type VersionRule = keyof typeof VERSION_RULES;

/** The Istio the plan assumes when none is known: the newest behaviour. */
export const ASSUMED = { major: 1, minor: 24 } as const;

/** `1.24`, `1.24.2`, `v1.24` from the flag; a usage error for anything else. */
export function parseIstioVersion(text: string): IstioVersion {
  const m = /^\s*v?(\d{1,3})\.(\d{1,3})(?:\.\d{1,4})?(?:-[0-9A-Za-z.-]{1,40})?\s*$/.exec(text);
  if (m === null) throw usageError(`--istio-version '${text.slice(0, 40)}' is not a version`, 'give the mesh\'s Istio version as X.Y, e.g. --istio-version 1.24');
  return { major: Number(m[1]), minor: Number(m[2]), source: '--istio-version' };
}

/** The proxy's Istio version from Prometheus text (`istio_build{component="proxy",tag="1.24.2"} 1`),
 * or undefined when the stats do not carry it (Envoy's own /stats has no Istio version). */
export function detectIstioVersion(statsText: string): IstioVersion | undefined {
  // Bounded: at most a few istio_build lines are looked at, whatever the text's size. istiod
  // reports its own istio_build too: only the proxy's says what the sidecar runs.
  const lines = statsText.matchAll(/^istio_build\{([^}\n]{0,400})\}/gm);
  let seen = 0;
  for (const m of lines) {
    if (++seen > 8) break;
    const labels = m[1] as string;
    if (labels.includes('component="') && !labels.includes('component="proxy"')) continue;
    const tag = /tag="v?(\d{1,3})\.(\d{1,3})[^"]{0,40}"/.exec(labels);
    if (tag !== null) return { major: Number(tag[1]), minor: Number(tag[2]), source: `istio_build ${tag[0]}` };
  }
  return undefined;
}

export function atLeast(v: { major: number; minor: number }, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** Whether Istio's default retry policy retries an app's 503; undefined when the version is
 * unknown (the plan then assumes Istio >= 1.24: it does not). */
export function defaultRetriesRetry503(version: IstioVersion | undefined): boolean | undefined {
  return version === undefined ? undefined : !atLeast(version, 1, 24);
}

export function formatVersion(version: IstioVersion | undefined): string {
  return version === undefined ? `unknown (assuming Istio >= ${ASSUMED.major}.${ASSUMED.minor}; pass --istio-version)` : `${version.major}.${version.minor} (${version.source})`;
}
