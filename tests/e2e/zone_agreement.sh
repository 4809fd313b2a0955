#!/usr/bin/env bash
# GET /api/v1/time?lat=&lon= against PyPI timezonefinder (same polygons, independent
# code) at seeded random points: fails below 99 % agreement, printing every
# disagreement. SQLite only: the zone does not depend on the database.
#
# Run with: tests/e2e/zone_agreement.sh
#
# Environment:
#   ATLAS_BIN             atlas binary (default: cargo build -p atlas)
#   ATLAS_ZONE_POINTS     random points (default 1000: half in Europe, half anywhere)
#   ATLAS_ZONE_SEED       their seed (default 15)
# The pinned venv lives in ${XDG_CACHE_HOME:-$HOME/.cache}/atlas-tzf-venv and is
# rebuilt when zone_agreement-requirements.txt changes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap e2e_cleanup EXIT

TZF_VENV=${XDG_CACHE_HOME:-$HOME/.cache}/atlas-tzf-venv

# The venv for this check (as e2e_venv, with its own requirements).
tzf_venv() {
  local req=$E2E_DIR/zone_agreement-requirements.txt stamp=$TZF_VENV/.requirements.sha256 want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  mkdir -p "$(dirname "$TZF_VENV")"
  (
    flock -w 600 9 || { echo "e2e: timed out waiting for $TZF_VENV.lock" >&2; exit 1; }
    if [[ -x $TZF_VENV/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
      exit 0
    fi
    e2e_log "building the venv $TZF_VENV"
    rm -rf "$TZF_VENV"
    python3 -m venv "$TZF_VENV"
    timeout 600 "$TZF_VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req"
    echo "$want" >"$stamp"
  ) 9>"$TZF_VENV.lock" || e2e_die "could not build the venv $TZF_VENV"
}

e2e_tmp
tzf_venv
e2e_atlas_bin
mkdir -p "$E2E_TMP/sqlite"
e2e_start_atlas "$E2E_TMP/sqlite"
timeout 120 "$TZF_VENV/bin/python" "$E2E_DIR/zone_agreement.py" "$ATLAS_API" \
  --points "${ATLAS_ZONE_POINTS:-1000}" --seed "${ATLAS_ZONE_SEED:-15}"
