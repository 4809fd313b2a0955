#!/usr/bin/env bash
# `make bench`: run the benchmark harness, then regenerate docs/benchmarks.md and
# docs/benchmarks.png from its result file. Measurements, reported, never asserted.
#
#   bench/run.sh                          # everything (< 15 min on 2 cores)
#   BENCH_SECONDS=10 BENCH_ROUNDS=5 bench/run.sh
#   BENCH_PEER=http://127.0.0.1:9000/home bench/run.sh
#
# Settings and scenarios: bench/bench.py. CI smoke: bench/bench.py --smoke.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
python3 bench/bench.py "$@"
python3 bench/report.py
echo "bench: done in $(( $(date +%s) - start )) s" >&2
