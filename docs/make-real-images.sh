#!/usr/bin/env bash
# Splice the "Claims" tables of the committed reports into docs/real-images.md (between the
# BEGIN/END markers), so that no number on that page is typed by hand.
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY'
import re
page = open("real-images.md").read()
for name in ["digits", "mnist", "mnist-quick"]:
    report = open(f"results/{name}/report.md").read()
    claims = re.search(r"## Claims.*?\n\n(.*?)(?=\n## )", report, re.S).group(1).strip()
    begin, end = f"<!-- BEGIN {name} claims -->", f"<!-- END {name} claims -->"
    page = re.sub(re.escape(begin) + ".*?" + re.escape(end), begin + "\n" + claims + "\n" + end, page, flags=re.S)
open("real-images.md", "w").write(page)
PY
