# syntax=docker/dockerfile:1
# imagegate: `docker build -t imagegate .`, then `docker run imagegate api|worker|doctor`.

# --- build: the same wheel the tests build (tests/ops/test_package.py) ----------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY worker ./worker
RUN pip wheel --no-deps --wheel-dir /wheels .

# --- runtime: the wheel and its runtime dependencies only (no dev extra, no sources) -------
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install /wheels/imagegate-*.whl
RUN useradd --create-home --uid 10001 --user-group imagegate \
    && mkdir -p /data/images \
    && chown -R imagegate:imagegate /data
USER imagegate
WORKDIR /home/imagegate
# Inside a container the API must listen beyond loopback; JSON log lines go to stdout/stderr.
ENV HOST=0.0.0.0 \
    PORT=8000 \
    IMAGE_STORE_DIR=/data/images \
    LOG_FORMAT=json
EXPOSE 8000
# No curl in the slim image: Python's urllib asks the API's liveness route. Workers serve no
# /healthz: docker-compose.yml gives them their own check.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
ENTRYPOINT ["imagegate"]
CMD ["api"]
