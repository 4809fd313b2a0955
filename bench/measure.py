"""Binary size, start-to-ready and memory: measured on fresh servers, not under load."""

import os
import subprocess
import time

import benchlib as lib
import servers as srv

IDLE_SECONDS = 2.0
LOAD_CONNECTIONS = 256
LOAD_SECONDS = 4


def binaries(bins):
    out = {}
    for name, path in bins.items():
        desc = lib.sh(["file", "-L", "-b", path]).strip()
        out[name] = {"path": os.path.relpath(path, lib.ROOT), "bytes": os.path.getsize(path),
                     "file": desc, "stripped": "stripped" in desc and "not stripped" not in desc}
    return out


def startup_and_memory(ws, bins, s):
    """Start-to-ready (first start on an empty directory, restart on the same one,
    median of 3) and RSS idle / at 256 connections / after, atlas and baseline."""
    starts = 1 if s["smoke"] else 3
    first, restart, memory = [], [], {}
    for i in range(starts):
        name = f"startup-{i}"
        server = fresh_start(ws, bins, name, first)
        if i == 0:
            memory["atlas"] = {"idle_first_start": idle(server)}
        server.stop()
        server = fresh_start(ws, bins, name, restart)
        if i == 0:
            memory["atlas"].update(idle_restart=idle(server), **under_load(server, s))
        server.stop()
    base = srv.start_baseline(ws, bins, "memory-baseline")
    memory["baseline"] = {"ready_ms": base.ready_ms, "idle": idle(base), **under_load(base, s)}
    base.stop()
    startup = {"first_start_ms": lib.summary(first), "restart_ms": lib.summary(restart),
               "first_start_rounds": first, "restart_rounds": restart,
               "ready_probe": "admin /readyz, polled with http.client every 1 ms"}
    return startup, memory


def fresh_start(ws, bins, name, times):
    server = srv.start_atlas(ws, bins, name, {})
    if not server.running:
        raise RuntimeError(f"atlas ({name}) {server.status}")
    times.append(server.ready_ms)
    return server


def idle(server):
    time.sleep(IDLE_SECONDS)
    return lib.rss(server.proc.pid)


def under_load(server, s):
    """RSS sampled while wrk holds 256 connections on /home, then 2 s after."""
    seconds = 1 if s["smoke"] else LOAD_SECONDS
    cmd = lib.load_cmd(["wrk", "-t1", f"-c{LOAD_CONNECTIONS}", f"-d{seconds}s", server.url("/home")])
    wrk = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = []
    time.sleep(min(1.0, seconds / 2))
    while wrk.poll() is None:
        samples.append(lib.rss(server.proc.pid))
        time.sleep(0.25)
    wrk.wait()
    peak = max(samples, key=lambda r: r["vmrss_kib"]) if samples else None
    return {"at_256_connections": peak, "samples_at_256": len(samples),
            "after_load": idle(server), "load": f"wrk -t1 -c{LOAD_CONNECTIONS} -d{seconds}s /home"}
