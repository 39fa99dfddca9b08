#!/usr/bin/env python3
"""Compare two repro output trees file by file (issue 14's behaviour check).

compare.py OLD_DIR NEW_DIR  ->  one line per file: `identical`, `identical apart from
timing/provenance keys` (report.json: keys whose name says time (seconds, time, elapsed,
duration, ms, per_step) or provenance (commit, git, version, date, host); report.md/run.log:
lines that carry such words), or `DIFFERS` with what differs (for CSVs: the number of differing
cells and the largest absolute and relative difference). Exit status 1 if any file DIFFERS.
Every set-aside or differing key/line, with both values, goes to stderr (kind, where, old, new)."""
import csv
import io
import json
import os
import re
import sys

TIMING = re.compile(r"(seconds|time|elapsed|duration|(\b|_)ms(\b|_)|per_step|per-step|wall|cpu_s)", re.I)
PROVENANCE = re.compile(r"(commit|git|version|date|host|generated)", re.I)


LABEL_KEYS = ("title", "name", "metric", "what", "target", "quantity", "label")


def flatten(x, path="", timed=False):
    """(path, value, timed): `timed` when an enclosing object is labelled as a timing, e.g. the
    section titled "Time per step by phase" or the target "median time per training step"."""
    if isinstance(x, dict):
        timed = timed or any(isinstance(x.get(k), str) and TIMING.search(x[k]) for k in LABEL_KEYS)
        for k, v in x.items():
            yield from flatten(v, f"{path}/{k}", timed)
    elif isinstance(x, list):
        # A table row whose first cell names a timing.
        timed = timed or bool(x and isinstance(x[0], str) and TIMING.search(x[0]))
        for i, v in enumerate(x):
            yield from flatten(v, f"{path}/{i}", timed)
    else:
        yield path, (x, timed)


def key_kind(path, timed=False):
    if timed:
        return "timing"
    last = [p for p in path.split("/") if p and not p.isdigit()]
    names = "/".join(last[-2:]) if last else path
    if TIMING.search(names):
        return "timing"
    if PROVENANCE.search(names):
        return "provenance"
    return "value"


def cmp_json(a, b):
    fa, fb = dict(flatten(json.load(open(a)))), dict(flatten(json.load(open(b))))
    kinds, values = {}, []
    for k in sorted(set(fa) | set(fb)):
        (va, ta), (vb, tb) = fa.get(k, ("<absent>", False)), fb.get(k, ("<absent>", False))
        if va != vb:
            kind = key_kind(k, ta or tb)
            kinds.setdefault(kind, []).append(k)
            print(f"{kind}\t{k}\t{va!r}\t{vb!r}", file=sys.stderr)
            if kind == "value":
                values.append(f"{k}: {va!r} -> {vb!r}")
    return kinds, values


def cmp_lines(a, b):
    la, lb = open(a, errors="replace").read().splitlines(), open(b, errors="replace").read().splitlines()
    if len(la) != len(lb):
        return {"value": ["line count"]}, [f"{len(la)} vs {len(lb)} lines"]
    kinds, values = {}, []
    # Keys of the JSON-like blocks open at each line (report.md embeds the config as JSON):
    # a line inside a block whose key names a timing, e.g. "training_seconds": {, is timing.
    # Also: lines under a heading that names a timing, and table rows whose first cell does.
    stack, heading = [], ""
    for i, (x, y) in enumerate(zip(la, lb)):
        s = x.strip()
        if s.startswith("#"):
            heading = s
        if x != y:
            first_cell = s.strip("|").split("|")[0] if s.startswith("|") else ""
            inside = any(TIMING.search(k) for k in stack) or bool(TIMING.search(heading)) or bool(
                TIMING.search(first_cell))
            kind = "timing" if inside or TIMING.search(x) or re.search(r"\d+(\.\d+)? ?(ms|s)\b", x) else (
                "provenance" if PROVENANCE.search(x) else "value")
            kinds.setdefault(kind, []).append(f"line {i + 1}")
            print(f"{kind}\tline {i + 1}\t{x!r}\t{y!r}", file=sys.stderr)
            if kind == "value":
                values.append(f"line {i + 1}: {x[:100]!r} -> {y[:100]!r}")
        if s.endswith(("{", "[")):
            stack.append(s)
        elif s.startswith(("}", "]")) and stack:
            stack.pop()
    return kinds, values


def cmp_csv(a, b):
    ra = list(csv.reader(io.StringIO(open(a).read())))
    rb = list(csv.reader(io.StringIO(open(b).read())))
    if len(ra) != len(rb):
        return f"{len(ra)} vs {len(rb)} rows"
    n, worst_abs, worst_rel, cols = 0, 0.0, 0.0, set()
    header = ra[0] if ra else []
    for x, y in zip(ra, rb):
        for j, (u, v) in enumerate(zip(x, y)):
            if u != v:
                n += 1
                cols.add(header[j] if j < len(header) else str(j))
                try:
                    fu, fv = float(u), float(v)
                    worst_abs = max(worst_abs, abs(fu - fv))
                    worst_rel = max(worst_rel, abs(fu - fv) / max(abs(fu), abs(fv), 1e-300))
                except ValueError:
                    pass
    shown = sorted(cols)[:6]
    more = f" and {len(cols) - 6} more" if len(cols) > 6 else ""
    return f"{n} cells differ in {len(cols)} columns ({', '.join(shown)}{more}); max abs diff {worst_abs:.3g}, max rel {worst_rel:.3g}"


def main():
    old, new = sys.argv[1], sys.argv[2]
    files = set()
    for root in (old, new):
        for d, _, fs in os.walk(root):
            files.update(os.path.relpath(os.path.join(d, f), root) for f in fs)
    bad = 0
    for f in sorted(files):
        a, b = os.path.join(old, f), os.path.join(new, f)
        if not (os.path.exists(a) and os.path.exists(b)):
            print(f"| {f} | DIFFERS: only in {'old' if os.path.exists(a) else 'new'} |")
            bad += 1
            continue
        print(f"== {f}", file=sys.stderr)
        if open(a, "rb").read() == open(b, "rb").read():
            print(f"| {f} | identical |")
            continue
        if f.endswith(".json"):
            kinds, values = cmp_json(a, b)
        elif f.endswith((".md", ".log", ".txt")):
            kinds, values = cmp_lines(a, b)
        elif f.endswith(".csv"):
            kinds, values = {"value": ["cells"]}, [cmp_csv(a, b)]
        else:
            kinds, values = {"value": ["bytes"]}, ["bytes differ"]
        if "value" in kinds:
            bad += 1
            print(f"| {f} | DIFFERS: {'; '.join(values[:6])}{' ...' if len(values) > 6 else ''} |")
        else:
            what = ", ".join(f"{k}: {', '.join(v[:4])}{' ...' if len(v) > 4 else ''}" for k, v in sorted(kinds.items()))
            print(f"| {f} | identical apart from {what} |")
    sys.exit(1 if bad else 0)


main()
