#!/usr/bin/env bash
# Creates (or reuses) the cached TensorFlow venv at $LW_CACHE/venv-tf, installs
# model/requirements.txt into it when that file changed, and prints the venv's
# python path on stdout. Progress goes to stderr so callers can write
#   PY="$(scripts/tf-venv.sh)"
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LW_CACHE:-$HOME/.cache/latencywatch}"
venv="$cache/venv-tf"
req="$repo/model/requirements.txt"
stamp="$venv/.requirements.sha256"

mkdir -p "$cache"
# One installer at a time: several make targets may ask for the venv at once.
exec 9>"$cache/venv-tf.lock"
flock 9

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$venv/bin/python"
  exit 0
fi

py="${LW_PYTHON:-python3}"
command -v "$py" >/dev/null || { echo "tf-venv: $py not found (set LW_PYTHON)" >&2; exit 1; }
if [[ ! -x "$venv/bin/python" ]]; then
  echo "tf-venv: creating $venv with $($py --version 2>&1)" >&2
  "$py" -m venv "$venv" >&2
fi
echo "tf-venv: installing $req (large download on first run, cached afterwards)" >&2
"$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
echo "$want" >"$stamp"
echo "$venv/bin/python"
