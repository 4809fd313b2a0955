#!/usr/bin/env bash
# Create (once) the venv the OTLP test receiver runs in and print its python.
#
# Run with: tests/otlp/venv.sh            -> /root/.cache/atlas-otlp-venv/bin/python
# Re-installs only when requirements.txt changes. Progress goes to stderr, so
# `PY=$(tests/otlp/venv.sh)` captures just the path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/atlas-otlp-venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$venv/bin/python"
    exit 0
fi

# Several test processes may ask at once; one builds, the others wait.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$venv/bin/python"
    exit 0
fi

python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "venv.sh: $python not found; install python3 (with venv)" >&2; exit 1; }
echo "venv.sh: creating $venv" >&2
rm -rf "$venv"
"$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req" >&2
echo "$want" >"$stamp"
echo "$venv/bin/python"
