# syntax=docker/dockerfile:1
# One image recipe for all five Coldstream services; SERVICE picks which one.
# Build context: the repository root, e.g.
#   docker build -f deploy/service.Dockerfile --build-arg SERVICE=sending -t coldstream-sending .
# (docker-compose.yml does this for you; deploy/k8s expects images built the same way.)
#
# SERVICE is the folder under services/ and the Python module the image runs (`python -m $SERVICE`);
# the workspace package is coldstream-$SERVICE. Only that package and coldstream-shared (its workspace
# dependency) are installed: the other services' sources never enter the image.
#
# uv resolves the workspace from the root uv.lock; with --frozen it still needs the pyproject.toml of
# *every* workspace member to be present (not their sources), so all of them are copied. If a workspace
# member is added, add its pyproject.toml below (tests/deploy/test_dockerfile.py checks this).

ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ARG SERVICE
# Fail the build early and clearly instead of installing the wrong (or no) package.
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<discovery|enrichment|...>" >&2; exit 1; }

COPY --from=uv /uv /uvx /bin/

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /src

# 1. Workspace metadata: root project, lock file and every member's pyproject.toml.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY cli/pyproject.toml cli/
COPY services/discovery/pyproject.toml services/discovery/
COPY services/enrichment/pyproject.toml services/enrichment/
COPY services/personalization/pyproject.toml services/personalization/
COPY services/sending/pyproject.toml services/sending/
COPY services/replies/pyproject.toml services/replies/

# 2. Third-party dependencies only: this layer is reused until uv.lock or a pyproject.toml changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package "coldstream-${SERVICE}"

# 3. Sources of the two workspace packages this image needs, installed non-editable into the venv so
#    the runtime stage needs nothing but /app/.venv.
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "coldstream-${SERVICE}"

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG SERVICE

RUN groupadd --system --gid 10001 coldstream \
    && useradd --system --uid 10001 --gid coldstream --create-home --home-dir /home/coldstream \
       --shell /usr/sbin/nologin coldstream \
    && mkdir -p /data \
    && chown coldstream:coldstream /data

COPY --from=builder /app/.venv /app/.venv

# COLDSTREAM_SERVICE carries the build argument into the running container (exec-form CMD cannot
# expand build arguments). The replies host/port are only read by replies; harmless elsewhere.
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COLDSTREAM_SERVICE=${SERVICE} \
    COLDSTREAM_DATA_DIR=/data \
    COLDSTREAM_REPLIES_HOST=0.0.0.0 \
    COLDSTREAM_REPLIES_PORT=8080

LABEL org.opencontainers.image.title="coldstream-${SERVICE}" \
      org.opencontainers.image.source="deploy/service.Dockerfile"

WORKDIR /app
# Numeric uid so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# Only replies listens (webhooks, unsubscribe links, /health); the others speak to NATS only.
EXPOSE 8080

# `exec` replaces the shell with python, so the service itself receives SIGTERM (from tini in compose,
# from the kubelet in Kubernetes) and FastStream drains in-flight messages before exiting.
CMD ["sh", "-c", "exec python -m \"$COLDSTREAM_SERVICE\""]
