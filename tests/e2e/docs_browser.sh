#!/usr/bin/env bash
# The API docs as a person sees them: Swagger UI at /docs/ in headless Chromium.
#
# Run with:
#   tests/e2e/docs_browser.sh
#
# Installs Debian's chromium when it is missing (needs root and the Debian mirror;
# about 125 MB to download), starts atlas on SQLite in a fresh temp dir, and runs
# docs_browser.py: every operation and tag of /openapi.json rendered, "Try it out"
# answered 200, every request the page made loopback-only and answered below 400, no
# failed request and no JavaScript error. It stops only the atlas and Chromium it
# started, by PID.
#
# Environment (all optional):
#   ATLAS_BIN              atlas binary (default: cargo build -p atlas)
#   CHROMIUM               browser binary (default: chromium from PATH)
#   ATLAS_E2E_REPORT_DIR   keep the screenshots (docs.png, docs-try-it-out.png) and
#                          chromium.log there; otherwise they go with the temp dir
#   ATLAS_E2E_TIMEOUT      cap for the browser part, seconds (default 90)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap e2e_cleanup EXIT

cap=${ATLAS_E2E_TIMEOUT:-90}
start=$SECONDS

chromium=${CHROMIUM:-$(command -v chromium || true)}
if [[ -z $chromium ]]; then
  [[ $(id -u) -eq 0 ]] || e2e_die "chromium is not installed; run: sudo apt-get install -y chromium"
  e2e_log "installing chromium (apt-get)"
  t=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  # Recommends (upower, notification daemon, extra fonts) are not needed headless.
  timeout 900 apt-get install -y -qq --no-install-recommends chromium >/dev/null
  chromium=$(command -v chromium) || e2e_die "chromium still missing after apt-get install"
  e2e_log "chromium installed in $((SECONDS - t)) s"
fi

e2e_tmp
e2e_venv
e2e_atlas_bin

mkdir -p "$E2E_TMP/atlas" "$E2E_TMP/profile"
shots=${ATLAS_E2E_REPORT_DIR:-$E2E_TMP/shots}
mkdir -p "$shots"
e2e_start_atlas "$E2E_TMP/atlas"

status=0
timeout -k 10 $((cap + 15)) "$E2E_PY" "$E2E_DIR/docs_browser.py" --api "$ATLAS_API" \
  --chromium "$chromium" --profile "$E2E_TMP/profile" --shots "$shots" --timeout "$cap" || status=$?
((status == 0)) || tail -n 20 "$shots/chromium.log" >&2 2>/dev/null || true

e2e_stop_atlas || { e2e_log "atlas did not stop cleanly on SIGTERM"; status=1; }
errors=$(e2e_atlas_errors "$E2E_TMP/atlas")
[[ -z $errors ]] || { printf '%s\n' "$errors" | head -n 20 >&2; status=1; }

[[ -n ${ATLAS_E2E_REPORT_DIR:-} ]] && e2e_log "screenshots in $shots"
verdict=PASS
((status == 0)) || verdict=FAIL
echo "e2e docs_browser: $verdict in $((SECONDS - start)) s"
exit "$status"
