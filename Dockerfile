# syntax=docker/dockerfile:1
#
# The Bun server as one image: the single executable `bun run build` makes (dist/simplebank:
# Bun's runtime and the bank in one file) on a distroless base, run as a non-root user.
#
#   docker build -t simplebank .                        # target runtime, the last stage
#   docker run --env-file .env.production -p 8080:8080 simplebank  # serves the API
#   docker run --env-file .env.production simplebank migrate       # a Kubernetes Job: args: ["migrate"]
#   docker run --env-file .env.production simplebank worker        # a Deployment: args: ["worker"]
# (NODE_ENV=production: .env.production, kept out of git and of the build context, holds the
# production variables of the README's Configuration.)
#
# Stages:
#   deps        bun install --frozen-lockfile, with patches/ in place first (bun applies
#               patches/postgres@3.4.9.patch while installing)
#   build       bun run build → dist/simplebank
#   redis-rest-bundle, redis-rest
#               development only (docker-compose.yml): the project's Upstash-compatible REST
#               endpoint (`bun run redis:rest`) bundled into one file; never part of runtime
#   runtime     the binary alone
# The cache mount below needs BuildKit (Docker's builder by default since 23.0).
#
# tests/ship/container.test.ts checks this file (stages, order, base images, user, health check,
# every COPY source against .dockerignore); tests/ship/image-build.test.ts replays its stages
# without Docker. README "Container image and compose" says more.

# The Bun of CI (.ci/run BUN_VERSION) and of @types/bun; the test keeps the three equal.
ARG BUN_VERSION=1.4.5

# ---- dependencies ------------------------------------------------------------------------
FROM oven/bun:${BUN_VERSION} AS deps
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
# Before `bun install`: package.json's patchedDependencies names this patch, and bun applies it
# while installing postgres (a missing patch fails the install).
COPY patches/ patches/
RUN --mount=type=cache,target=/root/.bun/install/cache \
    bun install --frozen-lockfile

# ---- build -------------------------------------------------------------------------------
FROM deps AS build
COPY tsconfig.json ./
COPY drizzle/ drizzle/
COPY src/ src/
COPY tools/ tools/
# The web console's committed build, which the binary embeds (src/bun/console-assets.ts).
COPY console/dist.json console/dist.json
RUN bun run build

# ---- development only: the Upstash-compatible REST endpoint for docker-compose.yml --------
FROM deps AS redis-rest-bundle
COPY src/ src/
COPY tools/redis-rest/ tools/redis-rest/
RUN bun build tools/redis-rest/main.ts --target=bun --outfile=dist/redis-rest.js

FROM oven/bun:${BUN_VERSION} AS redis-rest
WORKDIR /app
COPY --from=redis-rest-bundle /app/dist/redis-rest.js ./
# The image's own unprivileged user `bun`.
USER 1000:1000
ENV REDIS_REST_HOST=0.0.0.0 REDIS_REST_PORT=8079
EXPOSE 8079
ENTRYPOINT ["/usr/local/bin/bun", "/app/redis-rest.js"]

# ---- runtime (the default target) ----------------------------------------------------------
# Distroless: glibc, CA certificates, tzdata and /etc/passwd, no shell, no package manager.
# The compiled binary needs only glibc (ldd: libc, libpthread, libdl, libm; TLS is Bun's own
# BoringSSL), and Bun's own distroless image is built on this same base (Debian 13). Pinned by
# tag only: no registry could be asked for its digest where this was written; add one with
# `docker buildx imagetools inspect` (…:nonroot@sha256:…), the test accepts it.
FROM gcr.io/distroless/base-nossl-debian13:nonroot AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, so the process cannot rewrite its own binary.
COPY --from=build /app/dist/simplebank /usr/local/bin/simplebank
# distroless's `nonroot`, numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# The HTTP API, Connect and gRPC-Web (PORT), and native gRPC over HTTP/2 (GRPC_PORT).
EXPOSE 8080 9090
# The binary's own probe: there is no shell or curl in this image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/simplebank", "healthcheck"]
# No CMD: no argument serves the API; `migrate`, `worker`, `grant-role …` and
# `prune-idempotency-keys` replace it (Kubernetes `args:`, compose `command:`).
ENTRYPOINT ["/usr/local/bin/simplebank"]
