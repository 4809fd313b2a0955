#!/usr/bin/env bash
# Speed and size figures for docs/benchmarks.md. Not part of the test suite: these are
# measurements, reported, never asserted.
#
#   bench/run.sh                 # everything
#   BENCH_SECONDS=10 bench/run.sh
#
# Needs: a release build (built here), wrk and oha (installed here if missing), and
# for the PostgreSQL figures the throwaway cluster from scripts/pg-test-cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-32}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v oha >/dev/null || cargo install oha --locked --quiet
cargo build --release --locked -p atlas --quiet
bin=target/release/atlas

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -n "${PG_TEST_DIR:-}" ]] && scripts/pg-test-cluster stop "$PG_TEST_DIR"
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME ENV... : start atlas in $work/NAME, wait for /readyz, print "pid api_port admin_port ms"
start() {
  local name=$1; shift
  local api admin dir=$work/$name
  api=$(free_port); admin=$(free_port); mkdir -p "$dir"
  local t0; t0=$(date +%s%N)
  (cd "$dir" && exec env HOST=127.0.0.1 PORT="$api" ADMIN_PORT="$admin" LOG_LEVEL="${LOG_LEVEL:-info}" "$@" "$OLDPWD/$bin" >"$dir/log" 2>&1) &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 3000); do
    curl -fsS -o /dev/null "http://127.0.0.1:$admin/readyz" 2>/dev/null && break
    sleep 0.002
  done
  local t1; t1=$(date +%s%N)
  echo "$pid $api $admin $(( (t1 - t0) / 1000000 ))"
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# RSS split: private heap vs the binary's own clean, shared, reclaimable file pages.
rss() { awk '/^Rss:/ {r=$2} /^Anonymous:/ {a=$2} END {printf "%.1f MiB (%.1f MiB private heap, %.1f MiB mapped binary/files)", r/1024, a/1024, (r-a)/1024}' "/proc/$1/smaps_rollup"; }

echo "## atlas benchmarks ($(date -u +%Y-%m-%d), $(nproc) cores, ${secs}s runs, $conns connections)"
echo
size=$(stat -c %s "$bin")
echo "- stripped release binary: $((size / 1024 / 1024)) MiB ($size bytes)"

read -r pid api admin ms < <(start first)
echo "- first start (creates SQLite, migrates, loads 34k places) to ready: ${ms} ms"
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
read -r pid api admin ms < <(ATLAS_API__PLACES=false start first)
echo "- restart on a migrated SQLite, places off, to ready: ${ms} ms"
sleep 2
echo "- idle RSS, places off: $(rss "$pid")"
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
read -r pid api admin ms < <(start first)
echo "- restart on a migrated SQLite to ready (place index loaded): ${ms} ms"
sleep 2
echo "- idle RSS with the place index: $(rss "$pid")"
wrk -t2 -c"$conns" -d3s "http://127.0.0.1:$api/api/v1/countries/PT" >/dev/null
echo "- RSS after 3 s of load on /api/v1/countries/{code}: $(rss "$pid")"

lat() { # wrk output → "RPS p99"
  awk '/Requests\/sec/ {rps=$2} /^ *99%/ {p99=$2} END {print rps, p99}'
}
run_wrk() { wrk -t2 -c"$conns" -d"${secs}s" --latency "$1" | lat; }

echo
echo "| endpoint | backend | RPS | p99 |"
echo "|---|---|---|---|"
read -r r p < <(run_wrk "http://127.0.0.1:$api/api/v1/countries/PT")
echo "| GET /api/v1/countries/{code} | SQLite | $r | $p |"
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true

if [[ -x /usr/lib/postgresql/15/bin/initdb || -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ]]; then
  eval "$(scripts/pg-test-cluster start)"
  read -r pid api admin ms < <(start pg DATABASE_URL="$ATLAS_TEST_DATABASE_URL")
  read -r r p < <(run_wrk "http://127.0.0.1:$api/api/v1/countries/PT")
  echo "| GET /api/v1/countries/{code} | PostgreSQL | $r | $p |"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
fi

# Place lookups: find the maximum rate, then measure p99 at half of it (oha -q).
read -r pid api admin ms < <(start first)
for path in "/api/v1/places/covilha/time" "/api/v1/time?lat=40.28&lon=-7.50"; do
  max=$(run_wrk "http://127.0.0.1:$api$path" | awk '{printf "%d", $1}')
  half=$((max / 2))
  p99=$(oha --no-tui -z "${secs}s" -c "$conns" -q "$half" --output-format json "http://127.0.0.1:$api$path" \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.3f ms" % (d["latencyPercentiles"]["p99"]*1000))')
  echo "| GET $path | SQLite | max $max, measured at $half | $p99 at half rate |"
done
t=$( { /usr/bin/time -f %e curl -s -o /dev/null "http://127.0.0.1:$api/api/v1/countries/BR/flag?format=png&width=1024"; } 2>&1 )
echo "- PNG flag render, 1024 px, cold (one request, incl. HTTP): ${t} s"
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true

# Instrumentation overhead on /home: metrics + access logs + traces exported to a
# local OTLP receiver (10% of traces sampled) vs all of them off.
py=$(tests/otlp/venv.sh)
# The receiver exits when its stdin closes: feed it a FIFO this script holds open.
mkfifo "$work/keep"
"$py" tests/otlp/receiver.py "$work/spans.jsonl" <"$work/keep" >"$work/receiver.out" 2>&1 &
pids+=("$!")
exec 3>"$work/keep"
for _ in $(seq 1 500); do grep -q grpc_port "$work/receiver.out" 2>/dev/null && break; sleep 0.02; done
grpc=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["grpc_port"])' "$work/receiver.out")
read -r pid api admin ms < <(LOG_LEVEL=info start on OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$grpc" OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1)
read -r on _ < <(run_wrk "http://127.0.0.1:$api/home")
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
read -r pid api admin ms < <(LOG_LEVEL=warn start off ATLAS_METRICS__ENABLED=false ATLAS_METRICS__FAMILIES__HTTP_SERVER=false ATLAS_API__PLACES=false)
read -r off _ < <(run_wrk "http://127.0.0.1:$api/home")
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
read -r pid api admin ms < <(LOG_LEVEL=warn start metrics ATLAS_API__PLACES=false)
read -r metrics_only _ < <(run_wrk "http://127.0.0.1:$api/home")
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
read -r pid api admin ms < <(LOG_LEVEL=info start logs ATLAS_API__PLACES=false)
read -r with_logs _ < <(run_wrk "http://127.0.0.1:$api/home")
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
echo
spans=$(wc -l <"$work/spans.jsonl" 2>/dev/null || echo 0)
echo "- /home RPS, all instrumentation off: $off"
echo "- metrics on: $metrics_only (ratio $(python3 -c "print(round($metrics_only/$off, 3))"))"
echo "- metrics + access logs: $with_logs (ratio $(python3 -c "print(round($with_logs/$off, 3))"))"
echo "- metrics + access logs + traces (10% sampled, $spans spans received): $on (ratio $(python3 -c "print(round($on/$off, 3))"))"
