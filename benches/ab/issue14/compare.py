#!/usr/bin/env python3
"""Compare two repro output trees file by file (issue 14's behaviour check).

compare.py OLD_DIR NEW_DIR  ->  one line per file: `identical`, `identical apart from
timing/provenance keys` (report.json: keys whose name says time (seconds, time, elapsed,
duration, ms, per_step) or provenance (commit, git, version, date, host); report.md/run.log:
lines that carry such words), or `DIFFERS` with what differs (for CSVs: the number of differing
cells and the largest absolute and relative difference). Exit status 1 if any file DIFFERS."""
import csv
import io
import json
import os
import re
import sys

TIMING = re.compile(r"(seconds|time|elapsed|duration|(^|_)ms($|_)|per_step|per-step|wall|cpu_s)", re.I)
PROVENANCE = re.compile(r"(commit|git|version|date|host|generated)", re.I)


def flatten(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from flatten(v, f"{path}/{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from flatten(v, f"{path}/{i}")
    else:
        yield path, x


def key_kind(path):
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
        if fa.get(k, "<absent>") != fb.get(k, "<absent>"):
            kind = key_kind(k)
            kinds.setdefault(kind, []).append(k)
            if kind == "value":
                values.append(f"{k}: {fa.get(k, '<absent>')!r} -> {fb.get(k, '<absent>')!r}")
    return kinds, values


def cmp_lines(a, b):
    la, lb = open(a, errors="replace").read().splitlines(), open(b, errors="replace").read().splitlines()
    if len(la) != len(lb):
        return {"value": ["line count"]}, [f"{len(la)} vs {len(lb)} lines"]
    kinds, values = {}, []
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            kind = "timing" if TIMING.search(x) or re.search(r"\d+(\.\d+)? ?(ms|s)\b", x) else (
                "provenance" if PROVENANCE.search(x) else "value")
            kinds.setdefault(kind, []).append(f"line {i + 1}")
            if kind == "value":
                values.append(f"line {i + 1}: {x[:100]!r} -> {y[:100]!r}")
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
    return f"{n} cells differ in columns {sorted(cols)}; max |diff| {worst_abs:.3g}, max rel {worst_rel:.3g}"


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
