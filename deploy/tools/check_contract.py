#!/usr/bin/env python3
"""Fail when the alert rules or the dashboard use a metric docs/contract.md does not define.

A renamed metric in the binary makes the alerts that watch it silent, not red;
this turns the rename into a failing check instead.

    python3 deploy/tools/check_contract.py docs/contract.md RULES.yaml DASHBOARD.json
"""

from __future__ import annotations

import json
import re
import sys

import yaml

# A metric name as it appears in PromQL: not part of a recording-rule name
# (those contain ':') nor of a longer identifier.
METRIC = re.compile(
    r"(?<![\w:])((?:http_server|http_client|db|worker_pool|health|process|atlas)_[a-z0-9_]+)(?![\w:])"
)
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def contract_metrics(path: str) -> set[str]:
    text = open(path, encoding="utf-8").read()
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([a-z_][a-z0-9_]*)`", section))


def rule_exprs(path: str) -> list[str]:
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    return [rule["expr"] for group in doc["groups"] for rule in group["rules"]]


def dashboard_exprs(path: str) -> list[str]:
    exprs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "definition") and isinstance(value, str):
                    exprs.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.load(open(path, encoding="utf-8")))
    return exprs


def main(contract: str, *sources: str) -> int:
    known = contract_metrics(contract)
    unknown: dict[str, set[str]] = {}
    for source in sources:
        exprs = dashboard_exprs(source) if source.endswith(".json") else rule_exprs(source)
        for expr in exprs:
            for name in METRIC.findall(expr):
                base = next((name[: -len(s)] for s in HISTOGRAM_SUFFIXES if name.endswith(s)), name)
                if name not in known and base not in known:
                    unknown.setdefault(source, set()).add(name)
    for source, names in unknown.items():
        print(f"{source}: not in {contract}: {', '.join(sorted(names))}")
    return 1 if unknown else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
