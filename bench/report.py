#!/usr/bin/env python3
"""Regenerate docs/benchmarks.md and docs/benchmarks.png from a bench/bench.py result.

Run with:

    bench/report.py                         # the latest bench/results/*.json
    bench/report.py bench/results/X.json    # a given run
    bench/report.py --no-chart --out /tmp/b.md RESULT.json   # stdlib only (CI smoke)

The chart needs matplotlib: it is installed into a venv under target/bench-venv the
first time (pip), and bench/chart.py runs there.
"""

import argparse
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import json  # noqa: E402

import targets  # noqa: E402
import text  # noqa: E402
from targets import fmt_range, mib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "bench-venv")


def latest_result():
    files = sorted(glob.glob(os.path.join(ROOT, "bench", "results", "*.json")))
    if not files:
        raise SystemExit("report: no bench/results/*.json; run bench/bench.py first")
    return files[-1]


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_section(r, source):
    m, s = r["machine"], r["settings"]
    dirty = " (uncommitted changes)" if m["git_dirty"] else ""
    rows = [
        ("result file", f"`{source}`"),
        ("when", f"{r['started']} to {r['finished']}, {r['wall_seconds']} s in the harness"),
        ("machine", f"{m['nproc']} × {m['cpu_model']}, Linux {m['kernel']}, load average at start {' '.join(m['loadavg_at_start'])}"),
        ("code", f"`{m['git_commit'][:12]}`{dirty}, {m['rustc']}"),
        ("tools", f"{m['wrk']}; {m['oha']}; {m.get('pgbench') or 'no pgbench'}"),
        ("settings", f"{s['rounds']} rounds × {s['seconds']:g} s after a {s['warmup_seconds']:g} s warm-up, "
                     f"{s['connections']} connections, server on core {s['server_cpu']}, load on core {s['load_cpu']}"),
    ]
    cmds = "\n".join(f"- {k}: `{v}`" for k, v in r["commands"].items())
    return "## Latest run\n\n" + table(["", ""], rows) + "\n\nCommands:\n\n" + cmds


def rps_cell(sc):
    if sc["status"] != "ok":
        return sc["status"]
    return fmt_range(sc["rps"], "{:,.0f}")


def ratio_cell(sc, ref):
    ratio = targets.ratio(sc, ref)
    return "" if ratio is None else fmt_range(ratio, "{:.2f}", "×")


def half_cell(sc):
    h = sc.get("half_rate")
    return f"{h['p99_ms']:.2f} ms at {h['rate']:,}/s" if h else ""


def throughput_section(r):
    by_id = {sc["id"]: sc for sc in r["scenarios"]}
    base, home = by_id.get("baseline:home"), by_id.get("atlas-default:home")
    rows = []
    for sc in r["scenarios"]:
        if sc["kind"] == "pgbench":
            continue
        p50 = fmt_range(sc["p50_ms"], "{:.2f}") if sc.get("p50_ms") else ""
        p99 = fmt_range(sc["p99_ms"], "{:.2f}") if sc.get("p99_ms") else ""
        ratios = (ratio_cell(sc, base), ratio_cell(sc, home)) if sc["kind"] == "read" else ("", "")
        label = sc["label"] + (f" ({sc['note']})" if sc.get("note") else "")
        rows.append((label, sc["backend"], rps_cell(sc), p50, p99, half_cell(sc), *ratios))
    head = ["scenario", "backend", "RPS median (min–max)", "p50 ms", "p99 ms",
            "p99 at half rate", "× baseline", "× atlas `/home`"]
    return "## Throughput and latency\n\n" + text.THROUGHPUT + "\n\n" + table(head, rows)


def op_total(sc, key):
    return sum(x.get("ops", {}).get(key, 0) for x in sc["rounds"])


def writes_section(r):
    rows = [(sc["label"], sc["backend"], rps_cell(sc), f'{sum(x.get("requests", 0) for x in sc["rounds"]):,}',
             " / ".join(f"{op_total(sc, k):,}" for k in ("post", "put", "delete")),
             sc.get("non_2xx_total", ""), op_total(sc, "status_412"),
             "; ".join(x["failure_sample"] for x in sc["rounds"] if x.get("failure_sample"))[:300])
            for sc in r["scenarios"] if sc["kind"] == "write"]
    return "### Writes\n\n" + text.WRITES + "\n\n" + table(
        ["scenario", "backend", "RPS", "requests (all rounds)", "POST / PUT / DELETE",
         "non-2xx", "of which 412", "first failures"], rows)


def pgbench_section(r):
    rows = []
    for sc in r["scenarios"]:
        if sc["kind"] == "pgbench":
            lat = targets.summary_of(sc, "latency_avg_ms")
            rows.append((f"`{sc['sql']}`", rps_cell(sc), fmt_range(lat, "{:.2f}") if lat else "",
                         sum(x.get("failed", 0) for x in sc["rounds"])))
    if not rows:
        return "### pgbench\n\nNot run."
    return "### pgbench: the database limit\n\n" + text.PGBENCH + "\n\n" + table(
        ["script", "TPS median (min–max)", "latency average ms", "failed transactions"], rows)


def memory_row(label, rec):
    if not rec:
        return (label, "", "", "")
    return (label, f"{mib(rec['vmrss_kib']):.1f}", f"{mib(rec['anonymous_kib']):.1f}", f"{mib(rec['file_backed_kib']):.1f}")


def memory_section(r):
    a, b = r["memory"].get("atlas", {}), r["memory"].get("baseline", {})
    rows = [
        memory_row("atlas, idle 2 s after a first start (empty directory)", a.get("idle_first_start")),
        memory_row("atlas, idle 2 s after a restart (same directory)", a.get("idle_restart")),
        memory_row("atlas, peak while 256 connections load `/home`", a.get("at_256_connections")),
        memory_row("atlas, 2 s after that load", a.get("after_load")),
        memory_row("baseline, idle", b.get("idle")),
        memory_row("baseline, peak while 256 connections load `/home`", b.get("at_256_connections")),
        memory_row("baseline, 2 s after that load", b.get("after_load")),
    ]
    return "## Memory\n\n" + text.MEMORY + "\n\n" + table(
        ["when", "VmRSS MiB", "anonymous MiB", "file-backed MiB"], rows)


def startup_section(r):
    st, bins = r["startup"], r["binaries"]
    rows = [("first start (empty directory: creates SQLite, migrates, loads the place index)",
             fmt_range(st["first_start_ms"], "{:.0f}", " ms"), ", ".join(f"{x:.0f}" for x in st["first_start_rounds"])),
            ("restart (same directory)", fmt_range(st["restart_ms"], "{:.0f}", " ms"),
             ", ".join(f"{x:.0f}" for x in st["restart_rounds"]))]
    brows = [(n, f"{b['bytes']:,}", f"{b['bytes'] / 2**20:.1f}", "yes" if b["stripped"] else "**no**", b["file"])
             for n, b in bins.items()]
    return ("## Start-up and size\n\n" + text.STARTUP + "\n\n"
            + table(["start to ready", "median (min–max)", "each"], rows) + "\n\n"
            + table(["binary", "bytes", "MiB", "stripped", "`file` says"], brows))


def servers_section(r):
    rows = []
    for name, s in r["servers"].items():
        env = " ".join(f"`{k}={v}`" for k, v in s["env"].items()) or "defaults"
        extra = "".join(f"; {k.replace('_', ' ')} {s[k]:,}" for k in ("spans_received", "access_log_lines") if k in s)
        rows.append((name, s["status"] + extra, env))
    return "### Servers\n\n" + table(["server", "status", "settings (besides HOST, PORT, ADMIN_PORT)"], rows)


def render(r, source, chart):
    parts = [text.INTRO, machine_section(r, source), targets.section(r)]
    if chart:
        parts.append("![median RPS per scenario, whiskers min–max](benchmarks.png)")
    parts += [throughput_section(r), writes_section(r), pgbench_section(r), servers_section(r),
              memory_section(r), startup_section(r), text.PROFILE, text.NOTES]
    return "\n\n".join(parts) + "\n"


def draw_chart(source, png):
    py = os.path.join(VENV, "bin", "python")
    if subprocess.run([py, "-c", "import matplotlib"], capture_output=True).returncode if os.path.exists(py) else True:
        print(f"report: creating {VENV} with matplotlib", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "matplotlib"], check=True)
    subprocess.run([py, os.path.join(ROOT, "bench", "chart.py"), source, png], check=True)


def main():
    p = argparse.ArgumentParser(description="docs/benchmarks.md and .png from a result file")
    p.add_argument("result", nargs="?")
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    p.add_argument("--no-chart", action="store_true")
    a = p.parse_args()
    source = a.result or latest_result()
    with open(source) as f:
        r = json.load(f)
    chart = not a.no_chart
    if chart:
        draw_chart(source, os.path.splitext(a.out)[0] + ".png")
    with open(a.out, "w") as f:
        f.write(render(r, os.path.relpath(os.path.abspath(source), ROOT), chart))
    print(f"report: wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
