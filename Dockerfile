# hh-enrich-svc: the Go service plus the Python plugin venv it supervises.
# cmd/hh-enrich-svc/shipping_test.go parses this file and checks its shape (stages,
# user, healthcheck, entrypoint, venv paths): keep them in step.
#
#   docker build -t hh-enrich-svc .
#   docker compose -f docker-compose.local.yml up --build    (the local stack)

# --- build: both Go binaries, static ------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/hh-enrich-svc ./cmd/hh-enrich

# --- runtime: Python 3.11 with the plugin venv, and the binaries --------------------
FROM python:3.11-slim-bookworm AS runtime
# tini is PID 1: it forwards SIGTERM to the service (which drains, then stops its
# plugins) and reaps any process re-parented to it, so no plugin is left a zombie.
# Not `tini -g`: signalling the whole group would kill the plugins before the drain.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin enrich
WORKDIR /app
ENV VIRTUAL_ENV=/app/.venv
COPY cloud_run_worker/requirements.txt cloud_run_worker/requirements.txt
RUN python -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir --disable-pip-version-check -r cloud_run_worker/requirements.txt
COPY cloud_run_worker/*.py cloud_run_worker/
# Compiled now, as root: the service's user cannot write here, and a plugin that
# imports from source on every start is slower to replace.
RUN /app/.venv/bin/python -m compileall -q cloud_run_worker
COPY --from=build /out/hh-enrich-svc /out/hh-enrich /app/
USER enrich:enrich
ENV PATH=/app/.venv/bin:$PATH \
    PORT=8080 \
    ENRICH_PYTHON_BIN=/app/.venv/bin/python \
    ENRICH_PLUGIN_SCRIPT=/app/cloud_run_worker/plugin_server.py
EXPOSE 8080
# /health is 200 while Redis answers (the pool's state is in its body), 503 when not.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/app/.venv/bin/python", "-c", "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=2).status == 200 else 1)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/app/hh-enrich-svc"]
