#!/usr/bin/env bash
# Container smoke test: the real image contract, on a machine with no Docker
# engine running and no registry to pull from.
#
#   deploy/container-smoke.sh [path/to/atlas]    # as root; `make container-smoke`
#
# Without an argument it builds target/release/atlas with cargo first.
#
# What it proves, with the same flags as the Kubernetes pod (read-only root,
# uid 65532, only the working directory writable):
#   - deploy/docker/Dockerfile.prebuilt builds around the binary;
#   - the image's own HEALTHCHECK (`atlas probe ready`) turns healthy;
#   - GET /home answers on the API port;
#   - a second container reaches a TLS-only PostgreSQL with
#     `sslmode=verify-full` and a CA mounted read-only, turns healthy and serves
#     GET /api/v1/countries/PT from it (the base image carries the OS root
#     store, /etc/ssl/certs/ca-certificates.crt, as distroless cc-debian12 does);
#   - on SIGTERM the API keeps serving while /readyz says 503 (the drain the
#     manifests rely on instead of a preStop hook);
#   - `docker stop -t 40` ends with exit code 0 in less than drain + timeout.
#
# How: a private dockerd (own data root, socket and pid file under a temp dir,
# no bridge, no iptables) and a Debian 12 base image made with debootstrap and
# `docker import` (same glibc and root store as distroless cc-debian12), cached
# under ~/.cache. Nothing is pulled. The TLS PostgreSQL is
# scripts/pg-test-cluster start-tls on 127.0.0.1, with a CA and server
# certificate made here by openssl. Everything it started is stopped in a trap.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/atlas-container-smoke
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# ca-certificates: distroless ships /etc/ssl/certs/ca-certificates.crt, and
# atlas trusts the OS store (README, "Connecting to managed services").
BASE_TARBALL=$CACHE/bookworm-minbase-ca.tar
BASE_IMAGE=atlas-smoke-base:bookworm
IMAGE=atlas-smoke:local
CONTAINER=atlas-smoke
TLS_CONTAINER=atlas-smoke-tls
# The binary's defaults (docs/contract.md); the stop must finish before their sum.
DRAIN_S=5
TIMEOUT_S=25
HEALTHY_WITHIN_S=90

log() { printf '[smoke %3ds] %s\n' "$SECONDS" "$*"; }
die() { log "FAIL: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root: it starts its own dockerd"

binary=${1:-}
if [[ -z $binary ]]; then
  log "no binary given: cargo build --release --locked -p atlas"
  (cd "$ROOT" && cargo build --release --locked -p atlas)
  binary=$ROOT/target/release/atlas
fi
[[ -x $binary ]] || die "$binary is not an executable file"

# ---------------------------------------------------------------- tools

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  # The package lists may be absent on a fresh machine.
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi

# ---------------------------------------------------------------- cleanup

WORK=$(mktemp -d /tmp/atlas-smoke.XXXXXX)
export DOCKER_HOST=unix://$WORK/docker.sock
# The classic builder: BuildKit would want to pull its frontend and cannot.
export DOCKER_BUILDKIT=0
DOCKERD_PID=
PG_TEST_DIR=

cleanup() {
  local status=$?
  set +e
  if [[ -n $DOCKERD_PID ]] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    local c
    for c in "$CONTAINER" "$TLS_CONTAINER"; do
      if ((status != 0)) && docker inspect "$c" >/dev/null 2>&1; then
        log "$c logs:"
        docker logs "$c" 2>&1 | tail -n 40 | sed 's/^/    /'
      fi
      docker rm -f "$c" >/dev/null 2>&1
    done
    log "stopping dockerd (pid $DOCKERD_PID)"
    # dockerd stops the containerd it started itself.
    kill -TERM "$DOCKERD_PID"
    for _ in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$DOCKERD_PID" 2>/dev/null && kill -KILL "$DOCKERD_PID"
  fi
  # Mounts left by a killed daemon or an interrupted debootstrap (proc, sys,
  # overlay layers), deepest first, or rm -rf would walk into them.
  awk -v w="$WORK" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m"
  done
  if [[ -n $PG_TEST_DIR ]]; then
    ((status != 0)) && [[ -s $PG_TEST_DIR/server.log ]] && tail -n 10 "$PG_TEST_DIR/server.log" | sed 's/^/    pg: /'
    "$ROOT/scripts/pg-test-cluster" stop "$PG_TEST_DIR"
  fi
  if ((status != 0)) && [[ -s $WORK/dockerd.log ]]; then
    log "dockerd errors:"
    grep -i 'level=error' "$WORK/dockerd.log" | tail -n 10 | sed 's/^/    /'
  fi
  rm -rf --one-file-system "$WORK"
  if ((status == 0)); then log "PASS"; else log "FAIL (exit $status)"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- daemon

log "starting a private dockerd in $WORK"
dockerd \
  --data-root "$WORK/docker" \
  --exec-root "$WORK/exec" \
  --host "$DOCKER_HOST" \
  --pidfile "$WORK/docker.pid" \
  --bridge=none --iptables=false --ip-masq=false \
  >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 60); do
  docker version >/dev/null 2>&1 && break
  kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -n 20 "$WORK/dockerd.log"; die "dockerd exited"; }
  sleep 0.5
done
docker version >/dev/null 2>&1 || { tail -n 20 "$WORK/dockerd.log"; die "dockerd did not answer within 30s"; }

# ---------------------------------------------------------------- base image

if [[ ! -s $BASE_TARBALL ]]; then
  log "debootstrap bookworm minbase (cached in $CACHE afterwards)"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$WORK/rootfs" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 20 "$WORK/debootstrap.log"; die "debootstrap failed"; }
  [[ -s $WORK/rootfs/etc/ssl/certs/ca-certificates.crt ]] || die "base image has no /etc/ssl/certs/ca-certificates.crt"
  # Only the C runtime matters; docs and package caches are dead weight.
  rm -rf "$WORK"/rootfs/usr/share/{doc,man,info,locale} "$WORK"/rootfs/var/cache/apt/* "$WORK"/rootfs/var/lib/apt/lists/*
  tar -C "$WORK/rootfs" --numeric-owner -cf "$BASE_TARBALL.tmp" .
  mv "$BASE_TARBALL.tmp" "$BASE_TARBALL"
  rm -f "$CACHE/bookworm-minbase.tar" # the cache from before the base carried ca-certificates
fi
log "importing $BASE_IMAGE"
docker import "$BASE_TARBALL" "$BASE_IMAGE" >/dev/null

# ---------------------------------------------------------------- image

# A context of one file: fast to send, and independent of where the binary is.
mkdir -p "$WORK/context"
cp "$binary" "$WORK/context/atlas"
log "building $IMAGE from deploy/docker/Dockerfile.prebuilt"
docker build --quiet \
  -f "$ROOT/deploy/docker/Dockerfile.prebuilt" \
  --build-arg BASE_IMAGE="$BASE_IMAGE" \
  --build-arg BINARY=atlas \
  -t "$IMAGE" "$WORK/context" >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log"; die "docker build failed"; }

[[ $(docker image inspect -f '{{.Config.User}}' "$IMAGE") == 65532:65532 ]] || die "image USER is not 65532:65532"
[[ $(docker image inspect -f '{{json .Config.Entrypoint}}' "$IMAGE") == '["/usr/local/bin/atlas"]' ]] || die "unexpected ENTRYPOINT"

# ---------------------------------------------------------------- TLS PostgreSQL

# A CA and a server certificate for `localhost`, fresh each run. Only ca.crt is
# mounted into the container; the keys stay in pki/.
log "TLS-only PostgreSQL: CA and server certificate for localhost (openssl)"
mkdir -m 0700 "$WORK/pki"
mkdir -m 0755 "$WORK/tls"
{
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=atlas-smoke-ca -keyout "$WORK/pki/ca.key" -out "$WORK/tls/ca.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
    -keyout "$WORK/pki/server.key" -out "$WORK/pki/server.csr"
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$WORK/pki/server.ext"
  openssl x509 -req -in "$WORK/pki/server.csr" -CA "$WORK/tls/ca.crt" -CAkey "$WORK/pki/ca.key" \
    -CAcreateserial -days 2 -extfile "$WORK/pki/server.ext" -out "$WORK/pki/server.crt"
} >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; die "openssl failed"; }
chmod 0644 "$WORK/tls/ca.crt"
pg_env=$("$ROOT/scripts/pg-test-cluster" start-tls "$WORK/pki/server.crt" "$WORK/pki/server.key") \
  || die "scripts/pg-test-cluster start-tls failed"
eval "$pg_env" # PG_TEST_DIR (stopped in the trap), PG_TEST_PORT
log "PostgreSQL on 127.0.0.1:$PG_TEST_PORT, plaintext rejected"

# ---------------------------------------------------------------- run

# Bound all at once, so the four are distinct.
free_ports() {
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))' "$1"
}
read -r port admin_port tls_port tls_admin_port < <(free_ports 4)

# Both containers start together, so the TLS run adds no HEALTHCHECK wait.
log "running on 127.0.0.1:$port (admin $admin_port), read-only, uid 65532, SQLite"
docker run -d --name "$CONTAINER" \
  --network host --read-only --user 65532 \
  --tmpfs /var/lib/atlas:uid=65532 \
  -e PORT="$port" -e ADMIN_PORT="$admin_port" -e HOST=127.0.0.1 \
  "$IMAGE" >/dev/null
log "running on 127.0.0.1:$tls_port (admin $tls_admin_port), PostgreSQL over TLS, sslmode=verify-full"
docker run -d --name "$TLS_CONTAINER" \
  --network host --read-only --user 65532 \
  --tmpfs /var/lib/atlas:uid=65532 \
  -v "$WORK/tls:/tls:ro" \
  -e PORT="$tls_port" -e ADMIN_PORT="$tls_admin_port" -e HOST=127.0.0.1 \
  -e DATABASE_URL="postgres://postgres@localhost:$PG_TEST_PORT/postgres?sslmode=verify-full&sslrootcert=/tls/ca.crt" \
  "$IMAGE" >/dev/null

wait_healthy() {
  local name=$1 status=
  for _ in $(seq 1 "$HEALTHY_WITHIN_S"); do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$name")
    [[ $status == healthy ]] && break
    [[ $(docker inspect -f '{{.State.Running}}' "$name") == true ]] || die "$name exited before turning healthy"
    sleep 1
  done
  [[ $status == healthy ]] || die "$name: HEALTHCHECK still '$status' after ${HEALTHY_WITHIN_S}s"
  log "$name: HEALTHCHECK healthy"
}
wait_healthy "$CONTAINER"
wait_healthy "$TLS_CONTAINER"

curl -fsS --max-time 5 "http://127.0.0.1:$port/home" >"$WORK/home.json" || die "GET /home failed"
log "GET /home: $(head -c 200 "$WORK/home.json")"

# Healthy means /readyz passed its database check; this reads rows over TLS too.
code=$(curl -sS -o "$WORK/pt.json" -w '%{http_code}' --max-time 5 "http://127.0.0.1:$tls_port/api/v1/countries/PT") \
  || die "GET /api/v1/countries/PT (TLS container) failed"
[[ $code == 200 ]] || die "GET /api/v1/countries/PT (TLS container) answered $code: $(head -c 300 "$WORK/pt.json")"
log "TLS container: GET /api/v1/countries/PT 200: $(head -c 120 "$WORK/pt.json")"
docker rm -f "$TLS_CONTAINER" >/dev/null

# ---------------------------------------------------------------- stop

log "docker stop -t 40 (limit: drain ${DRAIN_S}s + timeout ${TIMEOUT_S}s)"
start_ns=$(date +%s%N)
docker stop -t 40 "$CONTAINER" >/dev/null &
stop_pid=$!

# During the drain delay the pod is already out of the endpoints but requests
# routed before that must still be served: /readyz 503, API still 200.
ready_code=
for _ in $(seq 1 20); do
  ready_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$admin_port/readyz" || true)
  [[ $ready_code == 503 ]] && break
  sleep 0.1
done
[[ $ready_code == 503 ]] || die "/readyz answered '$ready_code' after SIGTERM, expected 503 while draining"
curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/home" || die "API stopped serving during the drain delay"
log "draining: /readyz 503, /home still 200"

wait "$stop_pid" || die "docker stop failed"
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$CONTAINER")
log "stopped in ${elapsed_ms}ms with exit code $exit_code"
[[ $exit_code == 0 ]] || die "exit code $exit_code, expected 0 (clean stop)"
((elapsed_ms < (DRAIN_S + TIMEOUT_S) * 1000)) || die "stop took ${elapsed_ms}ms, not under $((DRAIN_S + TIMEOUT_S))s"
