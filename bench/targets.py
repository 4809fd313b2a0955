"""Issue 14's targets, checked against a result file: computed, never typed in."""

import benchlib as lib


def mib(kib):
    return kib / 1024.0


def fmt_range(s, f, unit=""):
    """`median (min–max)`, or the single value when the range is empty."""
    if s is None:
        return "not measured"
    med = f.format(s["median"]) + unit
    if s["min"] == s["max"]:
        return med
    return f"{med} ({f.format(s['min'])}–{f.format(s['max'])})"


def summary_of(sc, field):
    return lib.summary([r.get(field) for r in sc["rounds"]]) if sc else None


def ratio(sc, ref):
    """Per-round ratios of RPS (the rounds are interleaved, so round i pairs with round
    i): their median and range. None unless both were measured."""
    if not sc or not ref or sc is ref or sc["status"] != "ok" or ref["status"] != "ok":
        return None
    pairs = zip(sc["rounds"], ref["rounds"])
    return lib.summary([a["rps"] / b["rps"] for a, b in pairs if b.get("rps")])


def verdict(s, threshold, at_least):
    if s is None:
        return "not measured"
    ok = s["median"] >= threshold if at_least else s["median"] <= threshold
    return "met" if ok else "**missed**"


def row(name, goal, s, threshold, at_least, f, unit=""):
    return (name, goal, fmt_range(s, f, unit), verdict(s, threshold, at_least))


def status_note(sc):
    return "" if sc is None or sc["status"] == "ok" else f" ({sc['status']})"


def ratio_row(by_id, name, goal, sc_id, ref_id, threshold):
    sc, ref = by_id.get(sc_id), by_id.get(ref_id)
    note = status_note(sc) or status_note(ref)
    return row(name + note, goal, ratio(sc, ref), threshold, True, "{:.2f}", "×")


def memory_rows(r):
    a = r["memory"].get("atlas", {})
    one = lambda rec: None if not rec else {k: round(mib(rec["vmrss_kib"]), 1) for k in ("median", "min", "max")}
    return [
        row("idle RSS after a first start, place index loaded", "≤ 16 MiB", one(a.get("idle_first_start")), 16, False, "{:.1f}", " MiB"),
        row("idle RSS after a restart, place index loaded", "≤ 16 MiB", one(a.get("idle_restart")), 16, False, "{:.1f}", " MiB"),
        row("RSS at 256 connections (peak)", "≤ 24 MiB", one(a.get("at_256_connections")), 24, False, "{:.1f}", " MiB"),
    ]


def home_rows(by_id):
    return [
        ratio_row(by_id, "`/home`, default config (access log + metrics)", "≥ 0.9× baseline", "atlas-default:home", "baseline:home", 0.9),
        ratio_row(by_id, "`/home`, traces sampled at 10 %", "≥ 0.8× baseline", "atlas-all:home", "baseline:home", 0.8),
    ]


def read_rows(by_id):
    home = "atlas-default:home"
    rows = []
    for server, backend in (("atlas-default", "SQLite"), ("atlas-pg", "PostgreSQL")):
        rows.append(ratio_row(by_id, f"`GET countries/{{code}}`, {backend}", "≥ 0.8× `/home`", f"{server}:countries-code", home, 0.8))
        lst = by_id.get(f"{server}:countries-list")
        rows.append(row(f"50-item list page, {backend}{status_note(lst)}", "≥ 20k RPS",
                        lst["rps"] if lst else None, 20000, True, "{:,.0f}", " RPS"))
        rows.append(ratio_row(by_id, f"cached PNG flag, {backend}", "≥ 0.8× `/home`", f"{server}:flag-png", home, 0.8))
    for key, name in (("place-by-name", "place by name"), ("coordinates", "coordinate lookup")):
        rows.append(ratio_row(by_id, name, "≥ 0.8× `/home`", f"atlas-default:{key}", home, 0.8))
    return rows


def half_rate_row(r):
    reads = [sc for sc in r["scenarios"] if sc["kind"] == "read" and sc.get("half_rate") and sc["server"] != "peer"]
    if not reads:
        return row("p99 at half the maximum rate, every read", "≤ 2 ms", None, 2, False, "{:.2f}")
    worst = max(reads, key=lambda sc: sc["half_rate"]["p99_ms"])
    met = sum(1 for sc in reads if sc["half_rate"]["p99_ms"] <= 2.0)
    p = worst["half_rate"]["p99_ms"]
    name = f"p99 at half the maximum rate, every read ({met} of {len(reads)} within; worst: {worst['label']}, {worst['backend']})"
    return row(name, "≤ 2 ms", {"median": p, "min": p, "max": p}, 2, False, "{:.2f}", " ms")


def db_row(by_id):
    ref_id = "pgbench:pgbench-get_country"
    if ref_id not in by_id:
        ref_id = next((k for k in by_id if k.startswith("pgbench:")), ref_id)
    return ratio_row(by_id, "`GET countries/{code}`, cache off, PostgreSQL", "≥ 0.6× pgbench, same statement",
                     "atlas-nocache-pg:countries-code-nocache", ref_id, 0.6)


def startup_rows(r):
    st = r["startup"]
    return [
        row("restart to ready, place index loaded", "≤ 100 ms", st["restart_ms"], 100, False, "{:.0f}", " ms"),
        row("first start to ready", "≤ 300 ms", st["first_start_ms"], 300, False, "{:.0f}", " ms"),
    ]


def section(r):
    by_id = {sc["id"]: sc for sc in r["scenarios"]}
    rows = memory_rows(r) + home_rows(by_id) + read_rows(by_id) + [half_rate_row(r), db_row(by_id)] + startup_rows(r)
    head = "| target (issue 14) | goal | measured: median (min–max) | |\n|---|---|---|---|\n"
    body = "\n".join("| " + " | ".join(x) + " |" for x in rows)
    met = sum(1 for x in rows if x[3] == "met")
    return (f"## Targets\n\n{met} of {len(rows)} met in this run. Ratios are per round (the rounds are "
            "interleaved, so round *i* of one scenario pairs with round *i* of the other); memory and "
            "the half-rate p99 are single measurements.\n\n" + head + body)
