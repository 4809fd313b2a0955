# Shared by the e2e scripts (sourced, not run): the pinned Python venv, one atlas
# process on loopback with port 0, and a throwaway PostgreSQL database.
#
# Everything a script starts is recorded here and undone by `e2e_cleanup`, which the
# scripts run from their EXIT trap: atlas is stopped by its PID (TERM, then KILL
# after 10 s), the database is dropped, the scratch directory removed.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
E2E_VENV=${XDG_CACHE_HOME:-$HOME/.cache}/atlas-e2e-venv

ATLAS_PID=
ATLAS_API=
ATLAS_ADMIN=
E2E_TMP=
E2E_PG_ADMIN_URL=
E2E_PG_DB=
E2E_PG_URL=

e2e_log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
e2e_die() { e2e_log "FAIL: $*"; exit 1; }

# A scratch directory for this run, removed by e2e_cleanup.
e2e_tmp() {
  E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/atlas-e2e.XXXXXX")
}

# Create (or reuse, when requirements.txt is unchanged) the venv; sets E2E_PY.
# A lock keeps two scripts started together from building it twice.
e2e_venv() {
  local req=$E2E_DIR/requirements.txt stamp=$E2E_VENV/.requirements.sha256 want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  mkdir -p "$(dirname "$E2E_VENV")"
  (
    flock -w 600 9 || { echo "e2e: timed out waiting for $E2E_VENV.lock" >&2; exit 1; }
    if [[ -x $E2E_VENV/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
      exit 0
    fi
    local start=$SECONDS
    e2e_log "building the venv $E2E_VENV"
    rm -rf "$E2E_VENV"
    if ! python3 -m venv "$E2E_VENV" 2>/dev/null; then
      # Debian splits venv support out of python3.
      rm -rf "$E2E_VENV"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$E2E_VENV"
    fi
    timeout 600 "$E2E_VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req"
    echo "$want" >"$stamp"
    e2e_log "venv ready in $((SECONDS - start)) s"
  ) 9>"$E2E_VENV.lock" || e2e_die "could not build the venv"
  E2E_PY=$E2E_VENV/bin/python
}

# The atlas binary: $ATLAS_BIN as given, or a fresh `cargo build -p atlas`.
e2e_atlas_bin() {
  if [[ -n ${ATLAS_BIN:-} ]]; then
    [[ -x $ATLAS_BIN ]] || e2e_die "ATLAS_BIN=$ATLAS_BIN is not an executable"
    ATLAS_BIN=$(realpath "$ATLAS_BIN") # atlas runs in its scratch dir
    return
  fi
  (cd "$REPO_ROOT" && cargo build -p atlas --locked --quiet) || e2e_die "cargo build -p atlas failed"
  ATLAS_BIN=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/atlas
}

# e2e_start_atlas DIR [NAME=VALUE...]: run atlas in DIR (its SQLite file and logs go
# there) with a clean environment plus the given variables, wait until it listens and
# /readyz answers 200. Sets ATLAS_PID, ATLAS_API and ATLAS_ADMIN (http://host:port).
e2e_start_atlas() {
  local dir=$1 line deadline
  shift
  # `env -i`: nothing from the caller (DATABASE_URL, ATLAS_*, RUST_LOG) leaks in.
  # The dead proxy: should a fuzzed request ever make atlas call out (URL imports
  # are off by default), the call fails here instead of leaving the machine.
  (cd "$dir" && exec env -i PATH="$PATH" HOME="$HOME" \
    HOST=127.0.0.1 PORT=0 ADMIN_PORT=0 LOG_FORMAT=json LOG_LEVEL=info \
    ATLAS_SHUTDOWN__DRAIN_DELAY=0s \
    HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost \
    "$@" "$ATLAS_BIN" >"$dir/atlas.log" 2>"$dir/atlas.stderr") &
  ATLAS_PID=$!
  deadline=$((SECONDS + 30))
  until line=$(grep -m1 '"phase":"listening"' "$dir/atlas.log" 2>/dev/null); do
    kill -0 "$ATLAS_PID" 2>/dev/null || { e2e_atlas_logs "$dir"; ATLAS_PID=; e2e_die "atlas exited before listening"; }
    ((SECONDS < deadline)) || { e2e_atlas_logs "$dir"; e2e_die "atlas did not listen within 30 s"; }
    sleep 0.1
  done
  read -r ATLAS_API ATLAS_ADMIN < <(python3 -c 'import json,sys; l=json.loads(sys.argv[1]); print("http://"+l["api"], "http://"+l["admin"])' "$line")
  deadline=$((SECONDS + 60))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ATLAS_ADMIN/readyz") == 200 ]]; do
    kill -0 "$ATLAS_PID" 2>/dev/null || { e2e_atlas_logs "$dir"; ATLAS_PID=; e2e_die "atlas exited before it was ready"; }
    ((SECONDS < deadline)) || { e2e_atlas_logs "$dir"; e2e_die "$ATLAS_ADMIN/readyz not 200 within 60 s"; }
    sleep 0.2
  done
  e2e_log "atlas pid $ATLAS_PID ready: api $ATLAS_API, admin $ATLAS_ADMIN"
}

e2e_atlas_logs() {
  e2e_log "last atlas log lines ($1):"
  tail -n 30 "$1/atlas.log" "$1/atlas.stderr" >&2 2>/dev/null || true
}

# Stop the atlas we started (by PID only): TERM, up to 10 s to drain, then KILL.
# Returns atlas's exit status, or 1 when it had to be killed.
e2e_stop_atlas() {
  local pid=$ATLAS_PID status=0 i
  [[ -n $pid ]] || return 0
  ATLAS_PID=
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    e2e_log "atlas pid $pid ignored SIGTERM for 10 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  wait "$pid" 2>/dev/null || status=$?
  return "$status"
}

# Lines atlas logged at ERROR (a 5xx, a panic, a failed shutdown hook), if any.
e2e_atlas_errors() {
  grep -E '"level":"(ERROR|error)"' "$1/atlas.log" 2>/dev/null || true
}

# e2e_pg_create ADMIN_URL: create a database with a random name in that server; sets
# E2E_PG_URL to it. Needs psql (apt-get install postgresql-client).
e2e_pg_create() {
  command -v psql >/dev/null || e2e_die "psql not found (apt-get install -y postgresql-client)"
  E2E_PG_ADMIN_URL=$1
  E2E_PG_DB=atlas_e2e_$$_${RANDOM}
  PGCONNECT_TIMEOUT=10 psql "$E2E_PG_ADMIN_URL" -X -q -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE $E2E_PG_DB" >/dev/null || e2e_die "could not create database $E2E_PG_DB"
  E2E_PG_URL=$(python3 -c 'import sys, urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' \
    "$E2E_PG_ADMIN_URL" "$E2E_PG_DB")
}

e2e_pg_drop() {
  [[ -n $E2E_PG_DB ]] || return 0
  PGCONNECT_TIMEOUT=10 psql "$E2E_PG_ADMIN_URL" -X -q \
    -c "DROP DATABASE IF EXISTS $E2E_PG_DB WITH (FORCE)" >/dev/null ||
    e2e_log "could not drop database $E2E_PG_DB"
  E2E_PG_DB=
}

# The EXIT trap: undo whatever is still up, keep the exit status.
e2e_cleanup() {
  local status=$?
  e2e_stop_atlas || true
  e2e_pg_drop
  [[ -n $E2E_TMP ]] && rm -rf "$E2E_TMP"
  exit "$status"
}
