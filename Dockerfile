# Container image for meshload: filled in by the "run where users run it" work (multi-stage,
# non-root UID 10001, tini). Until then this builds a working image for local use.
FROM node:20-bookworm-slim
WORKDIR /opt/meshload
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY scenarios ./scenarios
RUN npm ci && npm prune --omit=dev
ENTRYPOINT ["node", "/opt/meshload/bin/meshload.js"]
