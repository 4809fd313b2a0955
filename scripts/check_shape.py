#!/usr/bin/env python3
"""The house's size limits: no Rust source file over 600 lines and no function over
80 lines, outside tests (`tests/` folders and `#[cfg(test)] mod tests` blocks).

Usage: scripts/check_shape.py [DIR...]   (default: crates)
Exit status 1 when something is over; each offender is printed with its size."""
import re, sys, pathlib
MAX_FILE, MAX_FN = 600, 80
bad = 0
for root in sys.argv[1:] or ["crates"]:
    for p in sorted(pathlib.Path(root).rglob("*.rs")):
        if "/tests/" in str(p) or "target" in p.parts:
            continue
        lines = p.read_text().splitlines()
        # cut the #[cfg(test)] module
        end = len(lines)
        for i, l in enumerate(lines):
            if l.strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(r"\s*mod tests", lines[i+1]):
                end = i; break
        code = lines[:end]
        if len(code) > MAX_FILE:
            print(f"{p}: {len(code)} lines (> {MAX_FILE})"); bad += 1
        i = 0
        while i < len(code):
            m = re.match(r"\s*(pub(\([a-z]+\))? )?(async )?(const )?(unsafe )?fn (\w+)", code[i])
            if m:
                depth, started, j = 0, False, i
                while j < len(code):
                    s = re.sub(r'"(\\.|[^"\\])*"', '""', code[j])
                    s = s.split("//")[0]
                    depth += s.count("{") - s.count("}")
                    if "{" in s: started = True
                    if started and depth <= 0: break
                    if not started and s.rstrip().endswith(";"): break
                    j += 1
                n = j - i + 1
                if started and n > MAX_FN:
                    print(f"{p}:{i+1}: fn {m.group(6)} is {n} lines (> {MAX_FN})"); bad += 1
            i += 1
print(f"{bad} over the limits"); sys.exit(1 if bad else 0)
