#!/usr/bin/env bash
# with-brokers.sh CMD [ARGS...]
#
# Fetch (cached), start a real Kafka and a real Pulsar on free loopback ports,
# wait until both really serve (produce/consume round trip), export their
# addresses as LW_* env vars, run CMD, and ALWAYS stop both and delete their
# data afterwards: on success, failure, Ctrl-C or SIGTERM. Exits with CMD's status.
# Env vars and troubleshooting: docs/brokers.md.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BROKERS="$HERE/brokers"
export LW_CACHE="${LW_CACHE:-$HOME/.cache/latencywatch}"

if (($# == 0)); then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

say() { echo "with-brokers: $*" >&2 2>/dev/null || true; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Our own temp root unless the caller chose one; only a root we created is removed.
if [[ -n ${LW_BROKERS_DIR:-} ]]; then
  mkdir -p "$LW_BROKERS_DIR"
  LW_BROKERS_DIR=$(cd "$LW_BROKERS_DIR" && pwd)
  ROOT=$(mktemp -d "$LW_BROKERS_DIR/run.XXXXXX")
else
  ROOT=$(mktemp -d "${TMPDIR:-/tmp}/lw-brokers.XXXXXX")
fi
export LW_BROKERS_DIR="$ROOT"
KRUN="$ROOT/kafka"
PRUN="$ROOT/pulsar"
mkdir -p "$KRUN" "$PRUN"

CMD_PID=
WATCHDOG_PID=
CLEANED=
cleanup() {
  local status=$?
  set +e
  # The terminal or a pipe reader may be gone (Ctrl-C on `... | tee`): never
  # let a failed write (SIGPIPE) end the clean-up half way.
  trap '' PIPE
  [[ -n $CLEANED ]] && return "$status"
  CLEANED=1
  trap '' INT TERM
  if [[ -n $CMD_PID ]] && kill -0 "$CMD_PID" 2>/dev/null; then
    say "stopping CMD (PID $CMD_PID)"
    kill -TERM -- "-$CMD_PID" 2>/dev/null || kill -TERM "$CMD_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$CMD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$CMD_PID" 2>/dev/null || kill -KILL "$CMD_PID" 2>/dev/null || true
  fi
  say "stopping brokers"
  "$BROKERS/kafka.sh" stop "$KRUN" &
  local ks=$!
  "$BROKERS/pulsar.sh" stop "$PRUN" &
  local ps=$!
  # Wait for these two only: a bare `wait` would also wait for the watchdog.
  wait "$ks" "$ps"
  # Belt and braces: whatever a stop left alive (it failed, or was killed)
  # dies now, before its data is deleted.
  local f
  for f in "$KRUN/kafka.pid" "$PRUN/pulsar.pid"; do
    # (only if that PID still runs a command line in our run dir, never a reused PID)
    if [[ -f $f ]] && tr '\0' ' ' <"/proc/$(<"$f")/cmdline" 2>/dev/null | grep -qF -- "$ROOT"; then
      say "$(basename "$f" .pid) still alive after stop; SIGKILL"
      kill -KILL -- "-$(<"$f")" 2>/dev/null || kill -KILL "$(<"$f")" 2>/dev/null
    fi
  done
  [[ -n $WATCHDOG_PID ]] && kill -- "-$WATCHDOG_PID" 2>/dev/null
  # Last sweep: every broker process (and whatever it forked) carries the run
  # dir on its command line; nothing of this run may outlive it.
  local left
  left=$(pgrep -f -- "$ROOT" 2>/dev/null | grep -vx "$$" | tr '\n' ' ')
  if [[ -n ${left// /} ]]; then
    say "still running after stop: PIDs $left; SIGKILL"
    kill -KILL $left 2>/dev/null
  fi
  rm -rf "$ROOT"
  return "$status"
}
trap 'cleanup' EXIT
trap 'trap "" PIPE; say "interrupted"; exit 130' INT
trap 'trap "" PIPE; say "terminated"; exit 143' TERM

T0=$(now)
"$BROKERS/kafka.sh" fetch
"$BROKERS/pulsar.sh" fetch
say "fetch (cached after the first run): $(since "$T0")s"

T1=$(now)
LW_BROKERCHECK=$(LW_NAME=with-brokers LW_SCRIPT_DIR="$BROKERS" bash -c 'source "$LW_SCRIPT_DIR/lib.sh"; brokercheck_bin')
export LW_BROKERCHECK
say "brokercheck build: $(since "$T1")s"

# Watchdog in its own session: if this script dies without running its traps
# (SIGKILL, or a crash in the clean-up), it stops CMD and both JVMs (process
# groups named by the PID files) and deletes the run dir, so nothing is left behind.
setsid bash -c '
  parent=$1 root=$2; shift 2
  while kill -0 "$parent" 2>/dev/null; do sleep 2; done
  [[ -d $root ]] || exit 0
  for f in "$@"; do [[ -f $f ]] && kill -TERM -- "-$(<"$f")" 2>/dev/null; done
  for _ in $(seq 1 30); do
    alive=
    for f in "$@"; do [[ -f $f ]] && kill -0 "$(<"$f")" 2>/dev/null && alive=1; done
    [[ -z $alive ]] && break
    sleep 1
  done
  for f in "$@"; do [[ -f $f ]] && kill -KILL -- "-$(<"$f")" 2>/dev/null; done
  rm -rf "$root"
  exit 0' lw-brokers-watchdog $$ "$ROOT" "$ROOT/cmd.pid" "$KRUN/kafka.pid" "$PRUN/pulsar.pid" </dev/null >/dev/null 2>&1 &
WATCHDOG_PID=$!

# Start both, then wait for both in parallel, timing each from its own start.
T2=$(now)
"$BROKERS/kafka.sh" start "$KRUN"
"$BROKERS/pulsar.sh" start "$PRUN"
( "$BROKERS/kafka.sh" wait "$KRUN" && say "kafka ready in $(since "$T2")s" ) &
KW=$!
( "$BROKERS/pulsar.sh" wait "$PRUN" && say "pulsar ready in $(since "$T2")s" ) &
PW=$!
ok=1
wait "$KW" || ok=
wait "$PW" || ok=
[[ -n $ok ]] || { say "brokers did not become ready; logs: $KRUN/kafka.log $PRUN/pulsar.log"; exit 1; }
say "both brokers ready in $(since "$T2")s (total incl. fetch $(since "$T0")s)"

eval "$("$BROKERS/kafka.sh" env "$KRUN")"
eval "$("$BROKERS/pulsar.sh" env "$PRUN")"
env | grep -E '^LW_(KAFKA|PULSAR|BROKERS)_' | grep -vE 'PASSWORD|TOKEN=' | sort | sed 's/^/with-brokers:   /' >&2

# CMD runs in the background (own process group) so a TERM/INT to this script is
# handled at once; `<&0` keeps its stdin.
set +e
setsid -w "$@" <&0 &
CMD_PID=$!
echo "$CMD_PID" >"$ROOT/cmd.pid"
wait "$CMD_PID"
status=$?
CMD_PID=
set -e
say "CMD exited with status $status"
exit "$status"
