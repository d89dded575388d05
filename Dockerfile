# syntax=docker/dockerfile:1
# meshload's container image: the load generator that runs inside a meshed client pod (so its
# traffic crosses that pod's istio-proxy sidecar), and the echo/chaos server used as a target.
#
#   docker build -t ghcr.io/meshload/meshload:0.1.0 .
#   docker run --rm ghcr.io/meshload/meshload:0.1.0 load -n 100 -qps 0 http://host:8080/
#   kubectl exec deploy/meshload-client -- meshload load -c 3 -qps 0 -n 30 http://httpbin:8000/get
#
# Without Docker, test/package/pack-install.test.ts runs the same pack-and-install steps as the
# build stage and then the installed binary; test/package/dockerfile.test.ts checks this file.

# Debian slim (glibc) rather than alpine (musl): Node supports musl only at its "experimental"
# tier, and glibc is what meshload is developed and tested on; slim costs some 40 MB more.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first, so this layer is reused until the lockfile changes. --ignore-scripts:
# "prepare" builds, and the sources are not copied yet.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY scenarios ./scenarios
# npm pack runs "prepare" (the TypeScript build) and keeps exactly the files package.json
# publishes (bin/, dist/, scenarios/): the image holds what `npm install meshload` would.
RUN npm pack --pack-destination /tmp
# The packed package with production dependencies at the lockfile's exact versions (a tarball
# carries no lockfile: `npm install ./meshload-*.tgz` would float within the semver ranges).
# --ignore-scripts: "prepare" would need the dev tools this install leaves out.
RUN mkdir /opt/meshload \
 && tar -xzf /tmp/meshload-*.tgz -C /opt/meshload --strip-components=1 \
 && cp package-lock.json /opt/meshload/ \
 && cd /opt/meshload \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# kubectl, because the shipped Istio scenarios (/scenarios/istio/*.yaml) apply and delete their
# DestinationRules/VirtualServices with `run: kubectl ...` steps from inside the client pod.
# Build with --build-arg KUBECTL_VERSION= to leave it out (the image is ~55 MB smaller).
FROM ${NODE_IMAGE} AS kubectl
ARG KUBECTL_VERSION=v1.33.0
ARG TARGETARCH
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
# The checksum file holds the bare sha256 of the binary, as the Kubernetes install docs check it.
RUN set -eu; mkdir /out; \
    if [ -n "${KUBECTL_VERSION}" ]; then \
      base="https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH:-amd64}"; \
      curl -fsSLo /out/kubectl "${base}/kubectl"; \
      echo "$(curl -fsSL "${base}/kubectl.sha256")  /out/kubectl" | sha256sum -c -; \
      chmod 0755 /out/kubectl; \
    fi

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="meshload" \
      org.opencontainers.image.description="Load testing and chaos harness for service meshes: Fortio-compatible load, sidecar stats, resilience gates" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/meshload/meshload" \
      org.opencontainers.image.licenses="Apache-2.0"

# tini as PID 1: the kernel gives PID 1 no default signal actions (a signal it has no handler
# for is ignored), and Node never reaps orphaned processes, which all end up with PID 1:
# meshload's scenario steps (`run:`, `start:`) spawn shells, kubectl and servers, and so do
# `kubectl exec` sessions. tini forwards SIGTERM/SIGINT to meshload (which drains and writes its
# partial result) and reaps the rest.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

# A fixed non-root user, UID/GID 10001, so Kubernetes' runAsUser/runAsNonRoot can name it.
# It must never be 1337: Istio's iptables rules let traffic from UID 1337 (the sidecar's own
# user) skip the proxy, so a generator running as 1337 would bypass the sidecar and test nothing
# (meshload load refuses to run as 1337 for that reason).
RUN groupadd --gid 10001 meshload \
 && useradd --uid 10001 --gid 10001 --home-dir /work --no-create-home --shell /usr/sbin/nologin meshload \
 && install -d -o 10001 -g 10001 -m 0755 /work

COPY --from=build /opt/meshload /opt/meshload
# The scenario library at a short, stable path: meshload run /scenarios/istio/retries.yaml
COPY --from=build /opt/meshload/scenarios /scenarios
COPY --from=kubectl /out/ /usr/local/bin/
# chmod: the symlink is run directly, and a tarball's file modes are not something to rely on.
RUN chmod 0755 /opt/meshload/bin/meshload.js \
 && ln -s /opt/meshload/bin/meshload.js /usr/local/bin/meshload \
 && meshload --version

# Reports (reports/<time>_<name>/) land under the working directory, writable by 10001.
WORKDIR /work
USER 10001:10001

# The echo port of `meshload server` (the default command). The admin port (8079: /chaos,
# /metrics) binds 127.0.0.1 unless given a host, so it is not exposed.
EXPOSE 8080
# meshload's own client, as slim has no curl. It probes the default `server` command; Kubernetes
# ignores HEALTHCHECK and uses the probes in scenarios/istio/manifests instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 \
  CMD ["meshload", "curl", "-timeout", "3s", "http://127.0.0.1:8080/healthz"]

# `meshload` is on PATH too, so `kubectl exec POD -- meshload load ...` works, and with this
# entrypoint `docker run IMAGE load ...` does as well.
ENTRYPOINT ["/usr/bin/tini", "--", "meshload"]
CMD ["server"]
