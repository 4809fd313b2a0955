"""docs/benchmarks.png: median RPS per scenario, whiskers from min to max.

Run with (bench/report.py does it, in target/bench-venv):
    target/bench-venv/bin/python bench/chart.py RESULT.json OUT.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"baseline": "#4c72b0", "peer": "#8172b3", "pgbench": "#937860"}


def bars(result):
    """(label, median, min, max, server) of every measured scenario, in run order."""
    out = []
    for sc in result["scenarios"]:
        if sc["status"] == "ok" and sc.get("rps"):
            r = sc["rps"]
            backend = "" if sc["backend"] in ("-", "in memory") else f" [{sc['backend']}]"
            out.append((sc["label"].replace("`", "") + backend, r["median"], r["min"], r["max"], sc["server"]))
    return out


def draw(rows, title, out):
    fig, ax = plt.subplots(figsize=(11, 0.38 * len(rows) + 1.6))
    ys = range(len(rows))
    med = [r[1] for r in rows]
    err = [[r[1] - r[2] for r in rows], [r[3] - r[1] for r in rows]]
    colours = [COLOURS.get(r[4], "#dd8452") for r in rows]
    ax.barh(list(ys), med, xerr=err, color=colours, capsize=3, ecolor="#333333")
    ax.set_yticks(list(ys), [r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("requests (pgbench: transactions) per second, median of rounds; whiskers: min–max")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    for y, r in zip(ys, rows):
        ax.text(r[3], y, f"  {r[1]:,.0f}", va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main():
    with open(sys.argv[1]) as f:
        result = json.load(f)
    m, s = result["machine"], result["settings"]
    title = (f"atlas vs bare axum, {result['started']}, commit {m['git_commit'][:12]}\n"
             f"{m['nproc']} cores, {s['rounds']} rounds × {s['seconds']:g} s, {s['connections']} connections "
             f"(server on core {s['server_cpu']}, load on core {s['load_cpu']})")
    draw(bars(result), title, sys.argv[2])


if __name__ == "__main__":
    main()
