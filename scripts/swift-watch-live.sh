#!/usr/bin/env bash
# Runs a command against a live otelcol-latencywatch with the watch_api extension:
#
#   scripts/swift-watch-live.sh CMD...
#
# 1. starts $LW_BINARY (built by `make build`) on config/watch-e2e.yaml with
#    free loopback ports, a fresh file_storage directory and a random token;
# 2. waits for /health, then publishes through the ingest endpoints what the
#    apns exporter would publish in-process: one status entry per service and
#    one firing alert for team "payments" (the same curl calls as the README's
#    walkthrough);
# 3. runs CMD with LW_API_URL, LW_API_TOKEN and LW_REQUIRE_LIVE=1 exported;
# 4. stops the collector (by its pid) whatever happened, and prints its log if
#    CMD failed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${LW_BINARY:-$repo/build/otelcol-latencywatch}"
[[ $# -gt 0 ]] || { echo "usage: $0 CMD..." >&2; exit 2; }
[[ -x "$bin" ]] || { echo "swift-watch-live: collector binary $bin not found; run 'make build'" >&2; exit 1; }
command -v curl >/dev/null || { echo "swift-watch-live: curl is required" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

work="$(mktemp -d /tmp/lw-watch-live.XXXXXX)"
mkdir -p "$work/storage"
export LW_WATCH_PORT="$(free_port)" LW_WATCH_HEALTH_PORT="$(free_port)" LW_WATCH_OTLP_PORT="$(free_port)"
export LW_WATCH_STORAGE_DIR="$work/storage"
export LW_WATCH_TOKEN="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export LW_WATCH_RPS="${LW_WATCH_RPS:-1000}"

"$bin" --config "$repo/config/watch-e2e.yaml" >"$work/collector.log" 2>&1 &
pid=$!
cleanup() {
  local rc=$?
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    echo "swift-watch-live: failed (exit $rc); collector log:" >&2
    tail -n 60 "$work/collector.log" >&2 || true
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM

api="http://127.0.0.1:$LW_WATCH_PORT"
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || { echo "swift-watch-live: collector exited during startup" >&2; exit 1; }
  curl -fsS "$api/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$api/health" >/dev/null || { echo "swift-watch-live: $api/health did not answer within 30s" >&2; exit 1; }

post() {
  curl -fsS -X POST "$api$1" -H "Authorization: Bearer $LW_WATCH_TOKEN" -H 'Content-Type: application/json' -d "$2" >/dev/null
}
post /v1/status '{"series":"checkout p99 eu-west-1","service":"checkout","labels":{"team":"payments","cloud.region":"eu-west-1"},"state":"critical","value":1.25,"expected":0.21,"score":0.97}'
post /v1/status '{"series":"search p95 us-east-1","service":"search","labels":{"team":"discovery","cloud.region":"us-east-1"},"state":"ok","value":0.084,"expected":0.09,"score":0.12}'
post /v1/alerts '{"labels":{"service.name":"checkout","team":"payments","cloud.region":"eu-west-1"},"series":"checkout p99 eu-west-1","state":"firing","severity":"critical","value":1.25,"expected":0.21,"score":0.97,"group_key":"{}:{team=\"payments\"}"}'

export LW_API_URL="$api" LW_API_TOKEN="$LW_WATCH_TOKEN" LW_REQUIRE_LIVE=1
"$@"
