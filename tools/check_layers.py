#!/usr/bin/env python3
"""Checks that each module under src/ includes only the modules STYLE.md's table allows."""
import pathlib
import re
import sys

ALLOWED = {
    "core": set(),
    "io": {"core"},
    "protocol": {"core"},
    "bus": {"core", "io"},
    "db": {"core", "io"},
    "config": {"core"},
    "data": {"core", "io", "bus", "db"},
    "changes": {"core", "io", "config", "bus", "data"},
    "schedulers": {"core", "io", "config", "bus", "data"},
    "process": {"core", "io", "config", "bus", "data", "protocol"},
    "reporters": {"core", "io", "config", "bus", "data"},
    "www": {"core", "io", "config", "bus", "data"},
    "steps": {"core", "config", "process", "protocol", "io", "data"},  # built from config steps
    "worker": {"core", "io", "protocol"},
    "master": None,  # composition root: everything
}

root = pathlib.Path(__file__).resolve().parent.parent / "src"
include = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')
problems = []
for path in sorted(root.rglob("*.[ch]pp")):
    module = path.relative_to(root).parts[0]
    if module not in ALLOWED:
        problems.append(f"{path}: module '{module}' is not in the layer table")
        continue
    allowed = ALLOWED[module]
    for number, line in enumerate(path.read_text().splitlines(), 1):
        m = include.match(line)
        if not m:
            continue
        target = m.group(1)
        if target == module or allowed is None:
            continue
        if target not in allowed:
            problems.append(f"{path}:{number}: '{module}' may not include '{target}/'")
for p in problems:
    print(p)
print(f"layer check: {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
