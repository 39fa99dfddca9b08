#!/usr/bin/env python3
"""targets.py OUT_DIR: the targets of each experiment's report.json under OUT_DIR as TSV
(experiment, target, status, measured), for the verdict table of README.md."""
import json
import os
import sys

root = sys.argv[1]
for exp in sorted(os.listdir(root)):
    p = os.path.join(root, exp, "report.json")
    if os.path.exists(p):
        for t in json.load(open(p))["targets"]:
            print(f"{exp}\t{t['name']}\t{t['status']}\t{t['measured']}")
