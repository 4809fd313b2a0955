#!/usr/bin/env python3
"""The benchmark harness behind `make bench` (issue 14): atlas against a bare axum
baseline, on SQLite and PostgreSQL, measured, never asserted.

Run with:

    make bench                                  # full run, ~12 min on 2 cores
    BENCH_SECONDS=10 BENCH_ROUNDS=5 bench/bench.py
    BENCH_ONLY=countries-code,time-convert bench/bench.py   # a subset (+ /home)
    BENCH_PEER=http://127.0.0.1:9000/home bench/bench.py   # add any other server
    bench/bench.py --smoke                      # CI: proves the harness works, < 60 s
    BENCH_BIN_DIR=target/fast/release bench/bench.py  # use built binaries, no cargo

Servers run pinned to core 0, load generators (wrk, oha, pgbench) to core 1. Each
configuration is started once and kept running; every scenario gets a warm-up, then
rounds interleaved across scenarios (round 1 of each, then round 2, ...). Results go
to bench/results/<UTC timestamp>.json; bench/report.py turns one into
docs/benchmarks.md and docs/benchmarks.png.
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib as lib  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402
import scenarios as sc  # noqa: E402


def settings(smoke):
    """The knobs, from the environment; --smoke shrinks them."""
    env = os.environ
    s = {
        "seconds": int(env.get("BENCH_SECONDS", "5")),
        "rounds": int(env.get("BENCH_ROUNDS", "3")),
        "connections": int(env.get("BENCH_CONNECTIONS", "64")),
        "warmup_seconds": int(env.get("BENCH_WARMUP", "2")),
        "peer": env.get("BENCH_PEER") or None,
        "smoke": smoke,
        "server_cpu": lib.SERVER_CPU,
        "load_cpu": lib.LOAD_CPU,
    }
    if smoke:
        s.update(seconds=1, rounds=1, warmup_seconds=1)
    return s


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="1 round of 1 s, a few scenarios, no PostgreSQL")
    p.add_argument("--out", help="results file (default bench/results/<UTC timestamp>.json)")
    return p.parse_args()


def smoke_path(smoke):
    """Smoke results are checked, not kept: a temporary file."""
    return os.path.join(tempfile.mkdtemp(prefix="atlas-bench-smoke."), "result.json") if smoke else None


def report_check(result, source):
    """The report renders from this result (stdlib only, no chart): [] or the failure."""
    try:
        report.render(result, source, chart=False)
        return []
    except Exception as e:
        return [f"report: {type(e).__name__}: {e}"]


def main():
    args = parse_args()
    t0 = time.monotonic()
    s = settings(args.smoke)
    lib.ensure_tools()
    bins = lib.build_binaries()
    result = {"started": lib.utc_now(), "machine": lib.machine_info(), "settings": s}
    result["commands"] = lib.COMMANDS
    with lib.Workspace() as ws:
        result["binaries"] = measure.binaries(bins)
        result["startup"], result["memory"] = measure.startup_and_memory(ws, bins, s)
        result["scenarios"], result["servers"] = sc.run_all(ws, bins, s)
    result["machine"]["oha"] = lib.tool_version(["oha", "--version"])
    result["finished"] = lib.utc_now()
    result["wall_seconds"] = round(time.monotonic() - t0, 1)
    out = args.out or smoke_path(args.smoke) or lib.results_path(result["started"])
    lib.write_json(out, result)
    print(f"bench: wrote {out} in {result['wall_seconds']} s", file=sys.stderr)
    broken = sc.broken(result["scenarios"]) + report_check(result, out)
    if broken:
        print(f"bench: harness failures: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
