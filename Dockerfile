# syntax=docker/dockerfile:1
#
# hpa-metrics-adapter image.
#   VERSION=$(node -p "require('./package.json').version")
#   docker build -t hpa-metrics-adapter:$VERSION --build-arg VERSION=$VERSION --build-arg GIT_COMMIT=$(git rev-parse HEAD) .
#
# VERSION is required and has no default: an image says the version it was built as (/version,
# --version, its labels), never one a Dockerfile line forgot to change. The release workflow
# (.github/workflows/release.yml) passes the tag's; deploy/README.md has the recipe.
#
# Base: Node.js 24 LTS on Debian 13 "trixie" slim, for both stages. Node 24 rather than 22:
# both are LTS lines, but 22 reaches end of life in April 2027 and 24 in April 2028.
# Debian rather than Alpine so the runtime has the same glibc userland the dependencies were
# installed and tested on, and tini comes from Debian's own package. Trixie rather than
# bookworm because Debian 12 left regular security support in June 2026.
# Pin the base by digest (node:24-trixie-slim@sha256:…) for reproducible release builds.

FROM node:24-trixie-slim AS build
ARG VERSION
RUN test -n "$VERSION" || { echo 'docker build needs --build-arg VERSION=<version> (see the top of the Dockerfile)' >&2; exit 1; }
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Compile, then drop devDependencies (TypeScript, test tools) from node_modules.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:24-trixie-slim AS runtime
# tini as PID 1: forwards SIGTERM to node (which then drains, see --shutdown-*-seconds) and
# reaps zombies. npm, npx, corepack and yarn are removed: nothing installs packages at run
# time, and they are most of what image scanners report.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules /opt/yarn-* \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the process. package.json is needed at runtime: it makes
# dist/*.js ES modules ("type": "module") and gives /version its version.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The image's `node` user, numeric so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 6443
# Nothing is written at runtime except --cert-dir (mount an emptyDir at /tmp), so the
# container runs with readOnlyRootFilesystem. No HEALTHCHECK: Kubernetes ignores it; the
# Deployment probes /livez and /readyz over HTTPS instead.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/main.js"]

ARG VERSION
ARG GIT_COMMIT=""
ARG BUILD_DATE=""
# Reported by /version, so it says what the labels say (ADAPTER_VERSION wins over package.json).
ENV GIT_COMMIT=${GIT_COMMIT} ADAPTER_VERSION=${VERSION}
LABEL org.opencontainers.image.title="hpa-metrics-adapter" \
      org.opencontainers.image.description="Kubernetes custom and external metrics API server for HPAs: Prometheus, CloudWatch and SQS in one process" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-trixie-slim"
