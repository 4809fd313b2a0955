#!/usr/bin/env python3
"""Assert how a rendering mounts the TLS files (CA bundle, client certificate).

    check_tls_mount.py RENDERED.yaml absent
    check_tls_mount.py RENDERED.yaml present SOURCE...

SOURCE is `ca=configMap:NAME`, `ca=secret:NAME` or `client=secret:NAME`, one per
projected source expected, in order. `present`: every Deployment and Job mounts
one volume read-only at /etc/atlas/tls, a projected volume with exactly those
sources, the CA as `ca.crt` and the client certificate as `client.crt` and
`client.key`. `absent`: no
pod mounts anything there and no volume is called `tls`. Both the server pods
and the migrate Job connect to PostgreSQL, so both must see the same files.
"""

from __future__ import annotations

import sys

import yaml

MOUNT_PATH = "/etc/atlas/tls"
WORKLOADS = ("Deployment", "Job")
# The fixed file names DATABASE_URL and the OTEL_* / ATLAS_* settings point at.
FILES = {"ca": ["ca.crt"], "client": ["client.crt", "client.key"]}


def pod_specs(path: str):
    with open(path, encoding="utf-8") as handle:
        for doc in yaml.safe_load_all(handle):
            if doc and doc.get("kind") in WORKLOADS:
                yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def source_of(entry: dict) -> tuple[str, str, list[str]]:
    (kind, body), = ((k, v) for k, v in entry.items() if k in ("configMap", "secret"))
    return kind, body["name"], [item["path"] for item in body.get("items", [])]


def check(path: str, mode: str, expected: list[str]) -> list[str]:
    problems = []
    seen = 0
    for name, spec in pod_specs(path):
        seen += 1
        mounts = [
            (c["name"], m)
            for c in spec.get("containers", [])
            for m in c.get("volumeMounts", [])
            if m["mountPath"].startswith(MOUNT_PATH)
        ]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        if mode == "absent":
            if mounts or "tls" in volumes:
                problems.append(f"{name}: mounts TLS files although no source is set")
            continue
        if len(mounts) != 1:
            problems.append(f"{name}: expected one mount at {MOUNT_PATH}, found {len(mounts)}")
            continue
        container, mount = mounts[0]
        if mount["mountPath"] != MOUNT_PATH or mount.get("readOnly") is not True:
            problems.append(f"{name}/{container}: {mount} is not a read-only mount at {MOUNT_PATH}")
        volume = volumes.get(mount["name"], {})
        sources = volume.get("projected", {}).get("sources")
        if sources is None:
            problems.append(f"{name}: volume {mount['name']!r} is not a projected volume")
            continue
        found = [source_of(s) for s in sources]
        want = [e.split("=", 1)[1] for e in expected]
        if [f"{kind}:{src}" for kind, src, _ in found] != want:
            problems.append(f"{name}: sources {[(k, n) for k, n, _ in found]}, expected {want}")
            continue
        for role, (_, src, paths) in zip((e.split("=", 1)[0] for e in expected), found):
            files = FILES[role]
            if sorted(paths) != files:
                problems.append(f"{name}: {src} is mounted as {paths}, expected {files}")
    if seen < 2:
        problems.append(f"{path}: expected a Deployment and a Job, found {seen} workload(s)")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[2] not in ("present", "absent") or (argv[2] == "present") != (len(argv) > 3):
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(argv[1], argv[2], argv[3:])
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{argv[1]}: TLS files {argv[2]} as expected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
