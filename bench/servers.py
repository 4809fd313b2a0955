"""The servers under test: atlas in its configurations, the baseline, a peer URL."""

import json
import os
import subprocess
import time
import urllib.parse

import benchlib as lib

# Telemetry off: no access lines (warn), no /metrics and no metric family recorded.
TELEMETRY_OFF = {"LOG_LEVEL": "warn", "ATLAS_METRICS__ENABLED": "false"} | {
    f"ATLAS_METRICS__FAMILIES__{f}": "false"
    for f in ("HTTP_SERVER", "HTTP_CLIENT", "DB", "WORKER_POOL", "PROCESS", "HEALTH")
}
TRACES_10PCT = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
CACHE_OFF = {"ATLAS_API__CACHE": "false"}
# Every atlas: exit at once on SIGTERM (the 5 s drain is for Kubernetes endpoints).
ATLAS_COMMON = {"ATLAS_SHUTDOWN__DRAIN_DELAY": "0s"}
# Inherited variables that would change what is measured.
SCRUB_PREFIXES = ("ATLAS_", "OTEL_", "LOG_", "RUST_LOG", "DATABASE_URL", "CONFIG_FILE", "ADMIN_", "HOST", "PORT")


def clean_env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUB_PREFIXES)}
    env.update(extra)
    return env


class Server:
    """A server process (or a peer URL): where it listens, its state, its settings."""

    def __init__(self, name, kind, env=None, url=None):
        self.name, self.kind, self.env = name, kind, dict(env or {})
        self.proc, self.port, self.admin_port = None, None, None
        self.status, self.ready_ms, self.exit_code = "not started", None, None
        self.base = url

    def start(self, ws, binary, cwd, stdout=subprocess.DEVNULL):
        """Spawn pinned to the server core, wait for readiness; returns self."""
        self.port, self.admin_port = lib.free_port(), lib.free_port()
        env = {"HOST": "127.0.0.1", "PORT": str(self.port)}
        if self.kind == "atlas":
            env |= {"ADMIN_PORT": str(self.admin_port), **ATLAS_COMMON}
        os.makedirs(cwd, exist_ok=True)
        t0 = time.monotonic()
        self.proc = ws.spawn([binary], cwd=cwd, env=clean_env(env | self.env), stdout=stdout,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                             preexec_fn=lib.pin_to_server_cpu)
        state, value = self.wait(t0)
        self.ready_ms = round((value - t0) * 1000, 1) if state == "ready" else None
        self.exit_code = value if state == "exited" else None
        self.status = {"ready": "running", "exited": f"exited with code {value}",
                       "timeout": "not ready in time"}[state]
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    def wait(self, t0):
        if self.kind == "atlas":
            return lib.wait_ready(self.proc, self.admin_port, "/readyz")
        return lib.wait_ready(self.proc, self.port, "/home")

    @property
    def running(self):
        return self.status == "running"

    def url(self, path):
        return self.base + path if path is not None else self.base

    def get(self, path):
        u = urllib.parse.urlsplit(self.url(path))
        target = u.path + (f"?{u.query}" if u.query else "")
        return lib.http_status(u.hostname, u.port or 80, target, timeout=10.0)

    def stop(self):
        if self.proc is not None:
            lib.stop(self.proc)

    def record(self):
        return {"kind": self.kind, "status": self.status, "env": self.env,
                "ready_ms": self.ready_ms, "pid": self.proc.pid if self.proc else None,
                **({"url": self.base} if self.kind == "peer" else {})}


def start_atlas(ws, bins, name, env, stdout=subprocess.DEVNULL):
    lib.log(f"starting atlas ({name})")
    return Server(name, "atlas", env).start(ws, bins["atlas"], ws.subdir(name), stdout)


def start_baseline(ws, bins, name="baseline"):
    lib.log("starting baseline")
    return Server(name, "baseline").start(ws, bins["baseline"], ws.subdir(name))


def otlp_receiver(ws):
    """The test OTLP receiver on the load core: (its gRPC endpoint, spans file)."""
    py = lib.sh([os.path.join(lib.ROOT, "tests/otlp/venv.sh")]).strip()
    spans, out = ws.path("otlp", "spans.jsonl"), ws.path("otlp", "receiver.out")
    # It exits when its stdin closes: the pipe stays open until the workspace ends it.
    with open(out, "w") as f:
        ws.spawn(lib.load_cmd([py, os.path.join(lib.ROOT, "tests/otlp/receiver.py"), spans]),
                 stdin=subprocess.PIPE, stdout=f, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(out) as f:
            first = f.readline()
        if "grpc_port" in first:
            return f"http://127.0.0.1:{json.loads(first)['grpc_port']}", spans
        time.sleep(0.05)
    raise RuntimeError("OTLP receiver did not start")


def all_on_config(ws):
    """A config file: the JSON access log to a file sink, at info."""
    path, log = ws.path("all-on", "atlas.yaml"), ws.path("all-on", "access.log")
    with open(path, "w") as f:
        f.write("log:\n  level: info\n  sinks:\n"
                f"    - {{kind: file, path: {log}, max_size: 4GiB}}\n")
    return path, log


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0
