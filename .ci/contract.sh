#!/usr/bin/env bash
# make contract: the served router/openapi.yaml against the real binary, checked
# from outside by schemathesis (every check but ignored_auth: this run has
# AUTH_MODE=none, and the security matrix of `make chaos` covers auth), all
# phases. Extra arguments go to `schemathesis run` (CONTRACT_FLAGS).
set -euo pipefail
cd "$(dirname "$0")/.."

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
log=$(mktemp -t hh-enrich-contract.XXXXXX)

# Embedded Redis, no embed service, no per-tenant rate limit (the tester sends
# hundreds of requests a second for one tenant), and short sync waits.
ENRICH_PROFILE=local HOST=127.0.0.1 PORT="$port" AUTH_MODE=none GATEWAY_GLOBAL_RPS=0 LOG_FORMAT=json \
  ENRICH_EMBED_ENABLED=false ENRICH_POOL_SIZE=1 ENRICH_SYNC_WAIT_MS=2000 ENRICH_ADMIN_TOKEN="$token" \
  bin/hh-enrich-svc 2>"$log" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT

# Until the port answers; a service that exits at start says why at once instead
# of leaving the tester to time out on a refused connection.
for _ in $(seq 600); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "contract: the service exited at start:"
    cat "$log"
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    break
  fi
  sleep 0.1
done

status=0
.venv-contract/bin/schemathesis run "http://127.0.0.1:$port/openapi.yaml" \
  --wait-for-schema 60 \
  --checks all --exclude-checks ignored_auth \
  --phases examples,coverage,fuzzing,stateful \
  --header "Authorization: Bearer $token" \
  "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "contract: schemathesis failed (exit $status); the service's log is $log"
  exit "$status"
fi
rm -f "$log"
