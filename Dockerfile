# syntax=docker/dockerfile:1
# The operator image: `strategy-operator run` as a non-root user on slim Python 3.11.
# Build:  docker build -t alchemiscale-strategy-operator:0.1.0 .
#         (without a Docker engine: hack/build-images.sh builds this file unmodified with buildah)
# Runtime dependencies come only from requirements.lock (exact versions and sha256 hashes;
# regenerate with hack/update-requirements-lock.sh). tests/chart/test_image.py replays these steps;
# `make test-e2e` builds this file and runs the image as the chart's Pod (docs/e2e.md).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# A venv without pip: the build stage's pip installs into it, so the final image carries no
# installer; wheels only, so no compiler is ever needed.
RUN python -m venv --without-pip /opt/strategy-operator
COPY requirements.lock ./
RUN python -m pip --python /opt/strategy-operator/bin/python install \
        --require-hashes --no-deps --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN python -m pip wheel --no-deps --wheel-dir /tmp/wheels . \
 && python -m pip --python /opt/strategy-operator/bin/python install --no-deps --no-index /tmp/wheels/*.whl \
 && /opt/strategy-operator/bin/python -m strategy_operator.cli --version

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="alchemiscale-strategy-operator" \
      org.opencontainers.image.description="Kubernetes operator running alchemiscale Strategies" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/strategy-operator/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# Not "operator": every Debian base already has that group (gid 37), and groupadd would fail.
RUN groupadd --system --gid 10001 strategy-operator \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin strategy-operator
COPY --from=build /opt/strategy-operator /opt/strategy-operator
# Numeric, so the kubelet can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["strategy-operator"]
CMD ["run"]
