"""Plumbing for bench/bench.py: tools, builds, processes, load generators."""

import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
SERVER_CPU = 0
LOAD_CPU = 1
READY_TIMEOUT = 120.0

# Command templates as run, recorded in every result file.
COMMANDS = {
    "build": "cargo build --release --locked -p atlas -p baseline",
    "server": "spawned with CPU affinity {0} (sched_setaffinity, as taskset -c 0 does); "
              "atlas also with ATLAS_SHUTDOWN__DRAIN_DELAY=0s, HOST=127.0.0.1, free PORT and ADMIN_PORT",
    "wrk": "taskset -c 1 wrk -t1 -c{connections} -d{seconds}s --latency -s <script> URL",
    "oha": "taskset -c 1 oha --no-tui -z {seconds}s -c {connections} -q <half of median RPS> --output-format json URL",
    "pgbench": "taskset -c 1 pgbench -n -M prepared -T {seconds} -c {connections} -j 1 -f bench/pgbench/<file>.sql -D <the file's own -D pairs> URL",
    "postgres": "scripts/pg-test-cluster start; postmaster and its processes pinned to core 0 (taskset -a -p -c 0)",
}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sh(cmd, **kw):
    """Run a command, return its stdout; raises on failure."""
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, **kw).stdout


def ensure_tools():
    if not shutil.which("wrk"):
        log("installing wrk (apt)")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    for tool in ("taskset", "file"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} not found")


def ensure_oha():
    """oha is first needed after the maximum-rate rounds; its build is long."""
    if not shutil.which("oha"):
        log("installing oha (cargo install oha --locked)")
        subprocess.run(["cargo", "install", "oha", "--locked", "--quiet"], check=True)


def build_binaries():
    """Paths of the atlas and baseline release binaries (built unless BENCH_BIN_DIR)."""
    bin_dir = os.environ.get("BENCH_BIN_DIR")
    if not bin_dir:
        log("building atlas and baseline (release, --locked)")
        # `make` exports BUILD_TIME as the time of each invocation; atlas's build script
        # reruns when it changes, which would relink atlas (fat LTO) on every run.
        env = {k: v for k, v in os.environ.items() if k != "BUILD_TIME"}
        subprocess.run(COMMANDS["build"].split(), check=True, cwd=ROOT, env=env)
        meta = json.loads(sh(["cargo", "metadata", "--no-deps", "--format-version", "1"]))
        bin_dir = os.path.join(meta["target_directory"], "release")
    bins = {n: os.path.abspath(os.path.join(ROOT, bin_dir, n)) for n in ("atlas", "baseline")}
    for path in bins.values():
        if not os.access(path, os.X_OK):
            raise SystemExit(f"bench: no binary at {path}")
    return bins


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def machine_info():
    commit = sh(["git", "rev-parse", "HEAD"]).strip()
    dirty = bool(sh(["git", "status", "--porcelain", "--untracked-files=no"]).strip())
    return {
        "nproc": int(sh(["nproc"]).strip()),
        "cpu_model": cpu_model(),
        "kernel": sh(["uname", "-r"]).strip(),
        "rustc": sh(["rustc", "--version"]).strip(),
        "wrk": tool_version(["wrk", "-v"]),
        "oha": tool_version(["oha", "--version"]) if shutil.which("oha") else "installed later",
        "pgbench": tool_version(["pgbench", "--version"]) if shutil.which("pgbench") else None,
        "git_commit": commit,
        "git_dirty": dirty,
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    }


def tool_version(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    return (out.stdout + out.stderr).strip().splitlines()[0] if (out.stdout + out.stderr).strip() else None


def results_path(started):
    name = started.replace(":", "").replace("-", "") + ".json"
    return os.path.join(BENCH, "results", name)


def write_json(path, data):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin_to_server_cpu():
    os.sched_setaffinity(0, {SERVER_CPU})


class Workspace:
    """A temporary directory and every process started in it, ended on exit."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="atlas-bench.")
        self.procs = []
        self.cleanups = []
        return self

    def path(self, *parts):
        p = os.path.join(self.dir, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def subdir(self, name):
        p = os.path.join(self.dir, name)
        os.makedirs(p, exist_ok=True)
        return p

    def spawn(self, cmd, **kw):
        proc = subprocess.Popen(cmd, **kw)
        self.procs.append(proc)
        return proc

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            stop(proc)
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as e:  # cleanup must go on
                log(f"cleanup failed: {e}")
        shutil.rmtree(self.dir, ignore_errors=True)


def stop(proc, timeout=10.0):
    """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def http_status(host, port, path, timeout=2.0, method="GET", body=None, headers=None):
    """One request on a fresh connection: (status, body bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_ready(proc, port, path, timeout=READY_TIMEOUT):
    """Poll until `path` answers 200: seconds since `t0` recorded by the caller, or the
    exit code if the process ended first, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return ("exited", proc.returncode)
        try:
            if http_status("127.0.0.1", port, path, timeout=1.0)[0] == 200:
                return ("ready", time.monotonic())
        except OSError:
            pass
        time.sleep(0.001)
    return ("timeout", None)


def load_cmd(cmd):
    return ["taskset", "-c", str(LOAD_CPU)] + cmd


def run_json_tool(cmd, timeout):
    out = subprocess.run(load_cmd(cmd), capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {out.returncode}: {out.stderr.strip()[:300]}")
    return out.stdout


def whole_seconds(seconds):
    """wrk, oha's -z as used here and pgbench take whole seconds."""
    return max(1, int(round(seconds)))


def wrk(url, seconds, connections, script):
    seconds = whole_seconds(seconds)
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url]
    out = run_json_tool(cmd, seconds + 60)
    line = next((l for l in out.splitlines() if l.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no BENCH_JSON line: {out[-300:]}")
    raw = json.loads(line[len("BENCH_JSON "):])
    fails = next((l[len("BENCH_FAILURES "):] for l in out.splitlines() if l.startswith("BENCH_FAILURES ")), "")
    ops = next((json.loads(l[len("BENCH_OPS "):]) for l in out.splitlines() if l.startswith("BENCH_OPS ")), None)
    extra = ({"failure_sample": fails.strip()} if fails.strip() else {}) | ({"ops": ops} if ops else {})
    return extra | {
        "rps": round(raw["requests"] / raw["duration_us"] * 1e6, 1),
        "p50_ms": raw["p50_us"] / 1000.0,
        "p99_ms": raw["p99_us"] / 1000.0,
        "requests": int(raw["requests"]),
        "socket_errors": int(raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]),
        "status_4xx_5xx": int(raw["status_errors"]),
        **({"non_2xx": int(raw["non2xx"]), "client_errors": int(raw["client_errors"])}
           if raw["non2xx"] >= 0 else {}),
    }


def oha(url, seconds, connections, rate):
    seconds = whole_seconds(seconds)
    cmd = ["oha", "--no-tui", "-z", f"{seconds}s", "-c", str(connections), "-q", str(rate),
           "--output-format", "json", url]
    d = json.loads(run_json_tool(cmd, seconds + 60))
    codes = d.get("statusCodeDistribution", {})
    ok = sum(v for k, v in codes.items() if k.startswith("2"))
    return {
        "rate": rate,
        "rps": round(d["summary"]["requestsPerSec"], 1),
        "p50_ms": d["latencyPercentiles"]["p50"] * 1000.0,
        "p99_ms": d["latencyPercentiles"]["p99"] * 1000.0,
        "non_2xx": sum(codes.values()) - ok,
    }


def pgbench_defines(sql_file):
    """The `-D name=value` pairs of the file's `-- Run with:` line (each script
    says how to run it: the list page needs four, a country one)."""
    with open(sql_file) as f:
        for line in f:
            if line.startswith("-- Run with:"):
                words = line.split()
                return [w for i, w in enumerate(words) if i > 0 and words[i - 1] == "-D"]
    return ["code=PT"]


def pgbench(db_url, seconds, connections, sql_file):
    seconds = whole_seconds(seconds)
    cmd = ["pgbench", "-n", "-M", "prepared", "-T", str(seconds), "-c", str(connections),
           "-j", "1", "-f", sql_file]
    for d in pgbench_defines(sql_file):
        cmd += ["-D", d]
    cmd.append(db_url)
    out = run_json_tool(cmd, seconds + 60)
    res = {}
    for line in out.splitlines():
        if line.startswith("tps = "):
            res["rps"] = round(float(line.split()[2]), 1)
        elif line.startswith("latency average = "):
            res["latency_avg_ms"] = float(line.split()[3])
        elif line.startswith("number of failed transactions"):
            res["failed"] = int(line.split(":")[1].split()[0])
    if "rps" not in res:
        raise RuntimeError(f"pgbench printed no tps: {out[-300:]}")
    return res


def rss(pid):
    """VmRSS and its split from smaps_rollup, in KiB."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                fields[parts[0].rstrip(":")] = int(parts[1])
    with open(f"/proc/{pid}/status") as f:
        vmrss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    anon = fields.get("Anonymous", 0)
    return {"vmrss_kib": vmrss, "rss_kib": fields.get("Rss", 0), "anonymous_kib": anon,
            "file_backed_kib": fields.get("Rss", 0) - anon}


def pg_start(ws):
    """A throwaway PostgreSQL with its server processes on the server core: its URL."""
    env = {}
    for line in sh(["scripts/pg-test-cluster", "start"]).splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    ws.cleanups.append(lambda: sh(["scripts/pg-test-cluster", "stop", env["PG_TEST_DIR"]]))
    pin_postgres(env["PG_TEST_DIR"])
    return env["ATLAS_TEST_DATABASE_URL"]


def pin_postgres(pg_dir):
    """The postmaster and its children to the server core; later backends inherit it."""
    with open(os.path.join(pg_dir, "data", "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids = [postmaster] + children(postmaster)
    for pid in pids:
        subprocess.run(["taskset", "-a", "-p", "-c", str(SERVER_CPU), str(pid)],
                       capture_output=True, check=False)


def children(ppid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == ppid:
                kids.append(int(entry))
    return kids


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": round(median(xs), 3), "min": round(min(xs), 3), "max": round(max(xs), 3)}
