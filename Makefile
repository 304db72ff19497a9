# hh-enrich-svc: see README.md. `make run` and `make test` are the two commands that
# set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := build

GO        ?= go
PYTHON    ?= python3
VENV      := .venv
VENV_PY   := $(VENV)/bin/python
BIN       := bin
TOOLS     := .bin
PROTO_DIR := pyplugin/proto
PY_DIR    := cloud_run_worker

PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0

.PHONY: build run test test-go test-py proto proto-check lint venv redis-server clean

# The venv is rebuilt whenever the pinned requirements change.
$(VENV)/.installed: $(PY_DIR)/requirements.txt $(PY_DIR)/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(PY_DIR)/requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

build: venv
	$(GO) build -o $(BIN)/ ./cmd/...

# A local demo on 127.0.0.1 only: no Redis needed (an embedded one is used and the
# log says so), AUTH_MODE=none, so X-Tenant-ID is trusted without a token, and no
# hh-embed-svc.
# Each can be overridden from the environment.
run: build
	ENRICH_PROFILE=$${ENRICH_PROFILE:-local} HOST=$${HOST:-127.0.0.1} AUTH_MODE=$${AUTH_MODE:-none} LOG_FORMAT=$${LOG_FORMAT:-text} ENRICH_EMBED_ENABLED=$${ENRICH_EMBED_ENABLED:-false} \
	  GATEWAY_GLOBAL_RPS=$${GATEWAY_GLOBAL_RPS:-0} $(BIN)/hh-enrich-svc

# The benchmark harness (cmd/hh-enrich-bench): a real stack on loopback, the pool side
# by side with spawn-per-job and the bare enricher's limit. It prints a table and writes
# bench-results/results.json and results.svg. CI smoke run (~1 min):
#   make bench BENCH_FLAGS='--quick --progress=false'
.PHONY: bench
BENCH_FLAGS ?=
bench: build redis-server
	$(BIN)/hh-enrich-bench $(BENCH_FLAGS)

# The reliability suite (cmd/hh-enrich-chaos): plugin kill storm, hung plugin, instance
# and Redis crashes, hh-embed-svc / Together / Firestore faults, fuzzing and the security
# matrix against a real stack on loopback. It prints a table (every row must lose 0 jobs;
# exit 1 otherwise) and writes chaos-results/results.json, results.md and the logs
# (the quick run: chaos-results/quick/).
# Full run ~3 min on 2 cores (bounded at 20); CI's short one ~2 min:
#   make chaos CHAOS_FLAGS=--quick
.PHONY: chaos
CHAOS_FLAGS ?=
# The chaos suite runs a test build of the service (-tags testfaults): only such a
# build passes ENRICH_TEST_FAULTS on to its plugins.
chaos: build redis-server
	$(GO) build -tags testfaults -o $(BIN)/testbuild/ ./cmd/hh-enrich-svc
	$(BIN)/hh-enrich-chaos -service-bin $(BIN)/testbuild/hh-enrich-svc $(CHAOS_FLAGS)

# The API contract (README "API"): schemathesis, pinned in
# cloud_run_worker/requirements-contract.txt (a venv of its own), drives the real
# binary from the served openapi.yaml with every check but ignored_auth, all phases.
# The full pass (100 examples an operation) takes a few minutes; CI's short one:
#   make contract CONTRACT_FLAGS='--max-examples 10 --seed 1'
.PHONY: contract
CONTRACT_VENV  := .venv-contract
CONTRACT_FLAGS ?= --max-examples 100
$(CONTRACT_VENV)/.installed: $(PY_DIR)/requirements-contract.txt
	$(PYTHON) -m venv $(CONTRACT_VENV)
	$(CONTRACT_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(PY_DIR)/requirements-contract.txt
	touch $@

contract: build $(CONTRACT_VENV)/.installed
	.ci/contract.sh $(CONTRACT_FLAGS)

# The image and the local stack (README "Operations"). They need a Docker engine, which
# our development machines lack: cmd/hh-enrich-svc/shipping_test.go checks the files.
.PHONY: image stack
image:
	docker build -t hh-enrich-svc .

stack: .env
	docker compose -f docker-compose.local.yml up --build

.env:
	cp .env.example .env

# Tests start a real redis-server; install it when the machine lacks it.
redis-server:
	@command -v redis-server >/dev/null || { \
	  echo "redis-server missing: installing it with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# The candidates data set (cmd/hh-enrich-data): rewrites the committed copy that the
# tests, the bench, the chaos suite and the README read.
.PHONY: data
data:
	$(GO) run ./cmd/hh-enrich-data -out cmd/hh-enrich-data/testdata/candidates.jsonl

# The operator console's browser test (cmd/hh-enrich-svc TestOperatorConsole) drives
# Debian's headless Chromium; install it when the machine lacks it.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { \
	  echo "chromium missing: installing it with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test-go: chromium

test: build redis-server test-py test-go

test-py: venv
	cd $(PY_DIR) && ../$(VENV_PY) -m pytest -q

test-go: venv redis-server
	$(GO) test -race -count=1 ./...

$(TOOLS)/protoc-gen-go:
	GOBIN=$(CURDIR)/$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(CURDIR)/$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

# protoc comes from grpcio-tools in the venv, so the Python stubs always match the
# pinned Python runtime (DESIGN §3).
proto: venv $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc
	$(VENV_PY) -m grpc_tools.protoc -I $(PROTO_DIR) \
	  --plugin=protoc-gen-go=$(TOOLS)/protoc-gen-go --plugin=protoc-gen-go-grpc=$(TOOLS)/protoc-gen-go-grpc \
	  --go_out=. --go_opt=module=github.com/headhunter/hh-enrich-svc \
	  --go-grpc_out=. --go-grpc_opt=module=github.com/headhunter/hh-enrich-svc \
	  $(PROTO_DIR)/enrich.proto
	$(VENV_PY) -m grpc_tools.protoc -I $(PROTO_DIR) \
	  --python_out=$(PY_DIR) --pyi_out=$(PY_DIR) --grpc_python_out=$(PY_DIR) \
	  $(PROTO_DIR)/enrich.proto

# Fails when the committed generated code is not what `make proto` makes.
proto-check: proto
	git diff --exit-code -- pyplugin/enrichv1 $(PY_DIR)/enrich_pb2.py $(PY_DIR)/enrich_pb2.pyi $(PY_DIR)/enrich_pb2_grpc.py

lint: venv
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(VENV)/bin/ruff check $(PY_DIR)

clean:
	rm -rf $(BIN) $(TOOLS)
