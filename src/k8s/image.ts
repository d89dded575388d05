/** The published image, in one place: scenarios/istio/manifests name the same one, and
 * test/scenario/k8s-manifests.test.ts keeps them equal. */
export const IMAGE_REPOSITORY = 'ghcr.io/meshload/meshload';

export function defaultImage(version: string): string {
  return `${IMAGE_REPOSITORY}:${version}`;
}
