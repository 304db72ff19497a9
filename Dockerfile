# hh-enrich-svc: the Go service plus the Python plugin venv it supervises.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/hh-enrich-svc ./cmd/hh-enrich-svc

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home /app enrich
WORKDIR /app
COPY cloud_run_worker/requirements.txt cloud_run_worker/requirements.txt
RUN python -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir --disable-pip-version-check -r cloud_run_worker/requirements.txt
COPY cloud_run_worker/*.py cloud_run_worker/
COPY --from=build /out/hh-enrich-svc /app/hh-enrich-svc
USER enrich
ENV PORT=8080 \
    ENRICH_PYTHON_BIN=/app/.venv/bin/python \
    ENRICH_PLUGIN_SCRIPT=/app/cloud_run_worker/plugin_server.py
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os;urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['PORT'])"
ENTRYPOINT ["/app/hh-enrich-svc"]
