"""The scenarios: which server, which request, run in interleaved rounds."""

import glob
import json
import os
import shutil

import benchlib as lib
import servers as srv
import writes

PT = "/api/v1/countries/PT"
LIST = "/api/v1/countries?limit=50"
PROJECTION = "/api/v1/countries?limit=50&fields=alpha2,name,capitals"
FILTERED = "/api/v1/countries?region=europe&language=deu"
CONVERT = "/api/v1/time/convert?at=2026-03-29T01:30:00&from=Europe/Lisbon&to=Asia/Tokyo"
PLACE = "/api/v1/places/covilha/time"
COORDS = "/api/v1/time?lat=40.28&lon=-7.50"
FLAG = "/api/v1/countries/PT/flag?format=png&width=256"

# (key, label, path) of the reads whose speed depends on the database.
DB_READS = [
    ("countries-code", "GET /api/v1/countries/{code}", PT),
    ("countries-list", "GET /api/v1/countries?limit=50", LIST),
    ("countries-projection", "GET /api/v1/countries?limit=50&fields=alpha2,name,capitals", PROJECTION),
    ("countries-filtered", "GET /api/v1/countries?region=europe&language=deu", FILTERED),
    ("flag-png", "GET /api/v1/countries/PT/flag?format=png&width=256 (cached)", FLAG),
]
# Served from the in-memory place index whatever the backend.
MEMORY_READS = [
    ("place-by-name", "GET /api/v1/places/covilha/time", PLACE),
    ("coordinates", "GET /api/v1/time?lat=40.28&lon=-7.50 (exact zone + nearest place)", COORDS),
    ("time-convert", "GET /api/v1/time/convert (Lisbon gap to Tokyo)", CONVERT),
]
NOCACHE_READS = DB_READS[:2]
HOME_CONFIGS = [
    ("baseline", "bare axum 0.8 `/home`"),
    ("atlas-off", "atlas `/home`, telemetry off"),
    ("atlas-default", "atlas `/home`, default config (JSON access log + metrics)"),
    ("atlas-all", "atlas `/home`, all on (+ traces 10 % to OTLP, access log to a file)"),
]


def scenario(server, key, label, kind, backend, path=None, **extra):
    return {"id": f"{server}:{key}", "key": key, "label": label, "server": server, "kind": kind,
            "backend": backend, "path": path, "status": "pending", "rounds": [], **extra}


def start_servers(ws, bins, s):
    """Every configuration the scenarios need, started once: (servers, extras)."""
    extras = {}
    servers = {"baseline": srv.start_baseline(ws, bins)}
    start = lambda name, env, **kw: servers.__setitem__(name, srv.start_atlas(ws, bins, name, env, **kw))
    start("atlas-default", {})
    if s["smoke"]:
        return servers, extras
    start("atlas-off", srv.TELEMETRY_OFF)
    endpoint, extras["spans_file"] = srv.otlp_receiver(ws)
    config, extras["access_log"] = srv.all_on_config(ws)
    start("atlas-all", {"CONFIG_FILE": config, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint} | srv.TRACES_10PCT)
    start("atlas-nocache", srv.CACHE_OFF)
    extras["pg_url"] = lib.pg_start(ws)
    start("atlas-pg", {"DATABASE_URL": extras["pg_url"]})
    start("atlas-nocache-pg", {"DATABASE_URL": extras["pg_url"]} | srv.CACHE_OFF)
    return servers, extras


def define(s):
    """The scenario list, in the order each round runs them."""
    out = smoke_scenarios() if s["smoke"] else full_scenarios()
    only = [k for k in os.environ.get("BENCH_ONLY", "").split(",") if k]
    if only:  # a subset by scenario key; `/home` stays as the reference
        out = [x for x in out if x["key"] in only or x["key"] == "home"]
    if s["peer"]:
        out.append(scenario("peer", "peer", f"peer {s['peer']}", "read", "-", None))
    return out


def full_scenarios():
    out = [scenario(name, "home", label, "read", "-", "/home") for name, label in HOME_CONFIGS]
    for server, backend in (("atlas-default", "SQLite"), ("atlas-pg", "PostgreSQL")):
        out += [scenario(server, k, l, "read", backend, p) for k, l, p in DB_READS]
        if backend == "SQLite":
            out += [scenario(server, k, l, "read", "in memory", p) for k, l, p in MEMORY_READS]
        out.append(scenario(server, "write-mix", "write mix: POST/PUT/DELETE /api/v1/currencies", "write", backend))
    for server, backend in (("atlas-nocache", "SQLite"), ("atlas-nocache-pg", "PostgreSQL")):
        out += [scenario(server, k + "-nocache", l + ", cache off", "read", backend, p) for k, l, p in NOCACHE_READS]
    for sql in sorted(glob.glob(os.path.join(lib.BENCH, "pgbench", "*.sql"))):
        name = os.path.basename(sql)[:-4]
        out.append(scenario("pgbench", f"pgbench-{name}", f"pgbench, bench/pgbench/{name}.sql", "pgbench",
                            "PostgreSQL", sql=os.path.relpath(sql, lib.ROOT)))
    return out


def smoke_scenarios():
    return [
        scenario("baseline", "home", HOME_CONFIGS[0][1], "read", "-", "/home"),
        scenario("atlas-default", "home", HOME_CONFIGS[2][1], "read", "-", "/home"),
        scenario("atlas-default", "countries-code", DB_READS[0][1], "read", "SQLite", PT),
        scenario("atlas-default", "coordinates", MEMORY_READS[1][1], "read", "in memory", COORDS),
        scenario("atlas-default", "write-mix", "write mix: POST/PUT/DELETE /api/v1/currencies", "write", "SQLite"),
    ]


def precheck(sc, servers, ctx):
    """Mark a scenario skipped when its server or request cannot be measured."""
    if sc["kind"] == "pgbench":
        return precheck_pgbench(sc, servers)
    server = servers.get(sc["server"])
    if not server.running:
        unsupported = server.exit_code == 2 and "ATLAS_API__CACHE" in server.env
        sc["status"] = "skipped: " + ("unsupported by this build (exit code 2)" if unsupported else server.status)
        return
    if sc["kind"] == "write":
        try:
            ctx[sc["id"]] = writes.WriteMix(ctx["ws"], server, ctx["smoke"])
            sc["status"] = "ok"
        except Exception as e:  # recorded; a broken write set-up fails the smoke run
            sc["status"] = f"error: write mix set-up: {e}"
        return
    status, body = server.get(sc["path"])  # also renders and caches the PNG flag
    sc["precheck_status"] = status
    sc["status"] = "ok" if status == 200 else f"skipped: HTTP {status}"
    if status == 200 and "fields=" in (sc["path"] or ""):
        sc["note"] = projection_note(body)


def projection_note(body):
    """Whether the build applied `fields` (a 200 may just ignore the parameter)."""
    try:
        keys = sorted(json.loads(body)["items"][0].keys())
    except (ValueError, KeyError, IndexError, AttributeError):
        return "answer is not a page of items"
    applied = "timezones" not in keys
    return f"items carry {', '.join(keys)}" + ("" if applied else ": `fields` ignored by this build, full items served")


def precheck_pgbench(sc, servers):
    pg = servers.get("atlas-pg")
    if not shutil.which("pgbench"):
        sc["status"] = "skipped: pgbench not installed"
    elif pg is None or not pg.running:
        sc["status"] = "skipped: no migrated PostgreSQL (atlas-pg not running)"
    else:
        sc["status"] = "ok"


def run_once(sc, servers, s, ctx, seconds):
    conns = s["connections"]
    if sc["kind"] == "pgbench":
        return lib.pgbench(ctx["pg_url"], seconds, conns, os.path.join(lib.ROOT, sc["sql"]))
    server = servers[sc["server"]]
    if sc["kind"] == "write":
        return ctx[sc["id"]].run(seconds, conns)
    return lib.wrk(server.url(sc["path"]), seconds, conns, ctx["read_script"])


def measure_round(sc, servers, s, ctx, first):
    if sc["status"] != "ok":
        return
    try:
        if first and s["warmup_seconds"] > 0:
            run_once(sc, servers, s, ctx, s["warmup_seconds"])
        r = run_once(sc, servers, s, ctx, s["seconds"])
        if r.get("rps", 0) <= 0:
            raise RuntimeError("no requests completed")
        sc["rounds"].append(r)
    except Exception as e:  # recorded; the other scenarios go on
        sc["status"] = f"error: {e}"
        lib.log(f"{sc['id']}: {e}")


def half_rate(sc, servers, s, ctx):
    """p99 while oha holds half the median maximum rate."""
    if sc["kind"] != "read" or sc["status"] != "ok" or not sc["rounds"]:
        return
    rate = max(1, int(lib.median([r["rps"] for r in sc["rounds"]]) / 2))
    try:
        sc["half_rate"] = lib.oha(servers[sc["server"]].url(sc["path"]), s["seconds"], s["connections"], rate)
    except Exception as e:
        sc["status"] = f"error: oha: {e}"
        lib.log(f"{sc['id']}: oha: {e}")


def summarise(sc):
    for field in ("rps", "p50_ms", "p99_ms"):
        sc[field] = lib.summary([r.get(field) for r in sc["rounds"]])
    if sc["kind"] == "write":
        sc["non_2xx_total"] = sum(r.get("non_2xx", 0) for r in sc["rounds"])


def run_all(ws, bins, s):
    servers, extras = start_servers(ws, bins, s)
    if s["peer"]:
        servers["peer"] = srv.Server("peer", "peer", url=s["peer"])
        servers["peer"].status = "running"
    ctx = {"ws": ws, "read_script": os.path.join(lib.BENCH, "wrk", "report.lua"), "smoke": s["smoke"], **extras}
    scenarios = define(s)
    for sc in scenarios:
        precheck(sc, servers, ctx)
    for i in range(s["rounds"]):
        lib.log(f"round {i + 1} of {s['rounds']}")
        for sc in scenarios:
            measure_round(sc, servers, s, ctx, first=(i == 0))
    lib.log("p99 at half the maximum rate")
    lib.ensure_oha()
    for sc in scenarios:
        half_rate(sc, servers, s, ctx)
        summarise(sc)
    records = {name: server.record() for name, server in servers.items()}
    annotate_all_on(records, extras)
    for server in servers.values():
        server.stop()
    return scenarios, records


def annotate_all_on(records, extras):
    if "atlas-all" in records:
        records["atlas-all"]["spans_received"] = srv.count_lines(extras.get("spans_file"))
        records["atlas-all"]["access_log_lines"] = srv.count_lines(extras.get("access_log"))
        with open(records["atlas-all"]["env"]["CONFIG_FILE"]) as f:
            records["atlas-all"]["config_file"] = f.read()


def broken(scenarios):
    """Scenarios the harness failed to measure: errors, or writes answered with a 4xx
    other than 412 (an invalid request; 412 is atlas's answer to concurrent writes)."""
    bad = [sc["id"] for sc in scenarios if sc["status"].startswith("error")]
    bad += [sc["id"] for sc in scenarios if sc["kind"] == "write"
            and any(r.get("client_errors", 0) for r in sc["rounds"])]
    return bad
