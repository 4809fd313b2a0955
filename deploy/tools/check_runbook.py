#!/usr/bin/env python3
"""Fail when an alert has no runbook entry: every alert must carry a `runbook_url`
annotation that points into RUNBOOK.md at an anchor that exists, and the anchor
must be the alert's own section (`## AlertName`), not a neighbour's.

An alert without a runbook wakes someone up with nothing to do; a link to a
renamed heading lands on the top of the page. Both only show at 3 a.m.

    python3 deploy/tools/check_runbook.py RUNBOOK.md RULES.yaml...
    python3 deploy/tools/check_runbook.py --self-test RUNBOOK.md RULES.yaml...

`--self-test` first checks the real files, then breaks them on purpose in memory
(an annotation removed, an anchor misspelt, a heading renamed, a link to another
file, an alert pointing at its neighbour's section) and fails unless the check
reports each break.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

Rules = list[dict]


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped
    (but `-` and `_`), spaces to `-`."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every heading's anchor, with GitHub's `-1`, `-2` suffixes for repeats;
    headings inside fenced code blocks are not headings."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not m:
            continue
        base = github_anchor(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def alerts(rule_files: list[dict]) -> list[dict]:
    return [
        rule
        for doc in rule_files
        for group in (doc or {}).get("groups", [])
        for rule in group.get("rules", [])
        if "alert" in rule
    ]


def problems(runbook_name: str, runbook: str, rule_files: list[dict]) -> list[str]:
    have = anchors(runbook)
    out = []
    found = alerts(rule_files)
    if not found:
        out.append("no alerts found: wrong files?")
    for rule in found:
        name = rule["alert"]
        url = (rule.get("annotations") or {}).get("runbook_url")
        if not url:
            out.append(f"{name}: no runbook_url annotation")
            continue
        parsed = urlparse(url)
        if not parsed.path.endswith("/" + runbook_name):
            out.append(f"{name}: runbook_url {url} does not point at {runbook_name}")
            continue
        if parsed.fragment not in have:
            out.append(f"{name}: runbook_url anchor #{parsed.fragment} is no heading of {runbook_name}")
        elif parsed.fragment != github_anchor(name):
            out.append(
                f"{name}: runbook_url points at #{parsed.fragment}, not at its own section "
                f"#{github_anchor(name)} (`## {name}`)"
            )
    return out


# ------------------------------------------------------------------ self-test


def first_alert(rule_files: list[dict]) -> dict:
    return alerts(rule_files)[0]


def break_drop_annotation(runbook: str, rules: list[dict]):
    first_alert(rules).get("annotations", {}).pop("runbook_url", None)
    return runbook, rules, "no runbook_url annotation"


def break_misspelt_anchor(runbook: str, rules: list[dict]):
    a = first_alert(rules)
    a["annotations"]["runbook_url"] += "x"
    return runbook, rules, "is no heading"


def break_renamed_heading(runbook: str, rules: list[dict]):
    name = first_alert(rules)["alert"]
    return runbook.replace(f"## {name}\n", f"## {name}Renamed\n", 1), rules, "is no heading"


def break_other_file(runbook: str, rules: list[dict]):
    a = first_alert(rules)
    a["annotations"]["runbook_url"] = a["annotations"]["runbook_url"].replace(
        "RUNBOOK.md", "README.md"
    )
    return runbook, rules, "does not point at"


def break_neighbours_section(runbook: str, rules: list[dict]):
    first, second = alerts(rules)[:2]
    first["annotations"]["runbook_url"] = second["annotations"]["runbook_url"]
    return runbook, rules, "not at its own section"


BREAKS = [
    break_drop_annotation,
    break_misspelt_anchor,
    break_renamed_heading,
    break_other_file,
    break_neighbours_section,
]


def self_test(runbook_name: str, runbook: str, rule_files: list[dict]) -> list[str]:
    failures = []
    for brk in BREAKS:
        text, rules, expected = brk(runbook, copy.deepcopy(rule_files))
        found = problems(runbook_name, text, rules)
        if not any(expected in p for p in found):
            failures.append(f"self-test {brk.__name__}: expected a problem with {expected!r}, got {found}")
        else:
            print(f"ok    self-test {brk.__name__}")
    return failures


def main(argv: list[str]) -> int:
    test = argv[:1] == ["--self-test"]
    args = argv[1:] if test else argv
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    runbook_path, rule_paths = Path(args[0]), args[1:]
    runbook = runbook_path.read_text(encoding="utf-8")
    rule_files = [yaml.safe_load(Path(p).read_text(encoding="utf-8")) for p in rule_paths]
    found = problems(runbook_path.name, runbook, rule_files)
    for p in found:
        print(f"FAIL  {p}")
    if not found:
        print(f"ok    {len(alerts(rule_files))} alerts, each with its own section in {runbook_path.name}")
    if test and not found:
        found = self_test(runbook_path.name, runbook, rule_files)
        for p in found:
            print(f"FAIL  {p}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
