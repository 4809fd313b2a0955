"""The write mix: a pool of currencies no seed row uses, created, replaced, deleted."""

import http.client
import itertools
import json
import os
import string
import time
import urllib.parse

import benchlib as lib

POOL_SIZE = 512
# The first entries: created before each run, only replaced, in rotation, so two
# PUTs on one row are hundreds of requests apart.
STABLE = 256
# The smoke run proves the mix works, not its speed: a small pool, since set-up and
# clean-up are one write at a time and a debug build refreshes its catalog per write.
SMOKE_SIZES = (32, 16)


class WriteMix:
    """A wrk script over a pool chosen against `server`'s data, and its set-up."""

    def __init__(self, ws, server, smoke=False):
        self.server = server
        size, self.stable = SMOKE_SIZES if smoke else (POOL_SIZE, STABLE)
        codes, numerics = existing_currencies(server)
        self.pool = free_pool(codes, numerics, size)
        self.script = ws.path(f"{server.name}-writes.lua")
        with open(os.path.join(lib.BENCH, "wrk", "writes.lua")) as f:
            body = f.read()
        with open(os.path.join(lib.BENCH, "wrk", "report.lua")) as f:
            report = f.read()
        lua = lambda entries: ", ".join(f'{{"{c}", "{n}"}}' for c, n in entries)
        with open(self.script, "w") as f:
            f.write(f"STABLE = {{{lua(self.pool[:self.stable])}}}\nPOOL = {{{lua(self.pool[self.stable:])}}}\n{body}\n{report}")

    def run(self, seconds, connections):
        self.seed()
        try:
            return lib.wrk(self.server.url("/"), seconds, connections, self.script)
        finally:
            self.clear()

    def seed(self):
        with Client(self.server) as c:
            for code, numeric in self.pool[:self.stable]:
                status = c.call("POST", "/api/v1/currencies", payload(code, numeric, "Bench"))
                if status != 201:
                    raise RuntimeError(f"seeding {code}: HTTP {status}")

    def clear(self):
        with Client(self.server) as c:
            for code, _ in self.pool:
                status = c.call("DELETE", f"/api/v1/currencies/{code}")
                if status not in (204, 404):
                    raise RuntimeError(f"deleting {code}: HTTP {status}")


def payload(code, numeric, name):
    return json.dumps({"code": code, "numeric": numeric, "name": name, "minor_units": 2})


class Client:
    """One keep-alive connection to the server's API port."""

    def __init__(self, server):
        u = urllib.parse.urlsplit(server.url("/"))
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.conn.close()

    def call(self, method, path, body=None):
        """The status; a 503 (the pool still busy with a run's backlog) is retried for
        up to 15 s."""
        for _ in range(30):
            status = self.once(method, path, body)
            if status != 503:
                return status
            time.sleep(0.5)
        return status

    def once(self, method, path, body):
        headers = {"Content-Type": "application/json"} if body else {}
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        self.data = resp.read()
        return resp.status


def existing_currencies(server):
    """Codes and numeric codes already taken, over every page of the list."""
    codes, numerics, cursor = set(), set(), None
    with Client(server) as c:
        while True:
            path = "/api/v1/currencies?limit=250" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            if c.call("GET", path) != 200:
                raise RuntimeError(f"GET {path}: not 200")
            page = json.loads(c.data)
            codes |= {i["code"] for i in page["items"]}
            numerics |= {i["numeric"] for i in page["items"]}
            cursor = page.get("next_cursor")
            if not cursor:
                return codes, numerics


def free_pool(codes, numerics, size=POOL_SIZE):
    """`size` (code, numeric) pairs, both unused; codes start with Q, X, Z..."""
    letters = string.ascii_uppercase
    cands = ("".join(t) for first in "QZXJ" for t in itertools.product(first, letters, letters))
    free_codes = [c for c in cands if c not in codes]
    free_nums = [f"{n:03d}" for n in range(1000) if f"{n:03d}" not in numerics]
    if len(free_codes) < size or len(free_nums) < size:
        raise RuntimeError("not enough unused currency codes for the write mix")
    return list(zip(free_codes[:size], free_nums[:size]))
