#!/usr/bin/env bash
# Property-based test of the running watch_api against its own OpenAPI spec
# with schemathesis (PyPI), bounded in examples. Run it through
#   scripts/swift-watch-live.sh scripts/swift-watch-schemathesis.sh
# which provides LW_API_URL and LW_API_TOKEN.
#
# Checks: no 5xx (not_a_server_error), every status code, content type, header
# and body matches the spec. GET /v1/events is excluded: it is an endless
# text/event-stream that schemathesis would wait on until its timeout (the
# stream is covered by the Go tests).
#
# The venv is cached at $LW_CACHE/venv-schemathesis; LW_SCHEMATHESIS_EXAMPLES
# bounds the examples per operation (default 40).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LW_CACHE:-$HOME/.cache/latencywatch}"
venv="$cache/venv-schemathesis"
version="4.32.5"
: "${LW_API_URL:?run through scripts/swift-watch-live.sh}"
: "${LW_API_TOKEN:?run through scripts/swift-watch-live.sh}"

mkdir -p "$cache"
exec 9>"$cache/venv-schemathesis.lock"
flock 9
if [[ ! -x "$venv/bin/schemathesis" || "$(cat "$venv/.version" 2>/dev/null)" != "$version" ]]; then
  echo "schemathesis: installing schemathesis==$version into $venv (cached)" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q "schemathesis==$version" >&2
  echo "$version" >"$venv/.version"
fi
flock -u 9

examples="${LW_SCHEMATHESIS_EXAMPLES:-40}"
report="$(mktemp -d /tmp/lw-schemathesis.XXXXXX)"
trap 'rm -rf "$report"' EXIT
# Run from the scratch dir: schemathesis keeps its example database
# (.schemathesis/) in the working directory, which must not be the clone.
cd "$report"
# --exclude-path: the SSE stream (see above).
"$venv/bin/schemathesis" run "$repo/extension/watchapiextension/openapi.yaml" \
  --url "$LW_API_URL" \
  --header "Authorization: Bearer $LW_API_TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --exclude-path /v1/events \
  --max-examples "$examples" \
  --seed 42 \
  --request-timeout 10 \
  --workers 1 \
  --no-color
