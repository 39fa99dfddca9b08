#!/usr/bin/env python3
"""Write README.md of benches/ab/issue14 from the raw outputs under raw/ (nothing typed by
hand): the commits measured, the byte-identity verdicts, criterion medians with the load of
every round, and callgrind instruction counts per iteration."""
import collections
import glob
import os
import re
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, "raw")


def read(p):
    with open(p, encoding="utf-8", errors="replace") as f:
        return f.read()


def commits():
    rows = [line.split("\t") for line in read(os.path.join(RAW, "commits.tsv")).splitlines() if line.strip()]
    return {r[0]: r[1:] for r in rows}


def fmt_time(ns):
    return f"{ns / 1e6:.3f} ms" if ns >= 1e6 else f"{ns / 1e3:.1f} µs"


def criterion(labels, base):
    med = collections.defaultdict(lambda: collections.defaultdict(list))
    for f in sorted(glob.glob(os.path.join(RAW, "criterion", "round*-*.median.tsv"))):
        m = re.match(r"round(\d+)-(.+)\.median\.tsv", os.path.basename(f))
        for line in read(f).splitlines():
            name, v = line.split("\t")
            med[name][m.group(2)].append(float(v))
    # Criterion's printed estimate (the middle of `time: [lo est hi]`) from each round's text,
    # for the benchmarks whose medians the first criterion.sh did not read.
    unit = {"ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
    printed = collections.defaultdict(lambda: collections.defaultdict(list))
    for f in sorted(glob.glob(os.path.join(RAW, "criterion", "round*-*.txt"))):
        lab = re.match(r"round\d+-(.+)\.txt", os.path.basename(f)).group(1)
        name = None
        for line in read(f).splitlines():
            m = re.match(r"^(\S+/\S+)(\s+time:.*)?$", line)
            if m and not line.startswith(("Benchmarking", "Warning")):
                name = m.group(1)
            t = re.search(r"time:\s+\[(\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\]", line)
            if t and name:
                printed[name][lab].append(float(t.group(3)) * unit[t.group(4)])
    rounds = {lab: len(glob.glob(os.path.join(RAW, "criterion", f"round*-{lab}.median.tsv"))) for lab in labels}
    for name in printed:
        complete = name in med and all(len(med[name].get(lab, [])) == rounds[lab] for lab in labels)
        if not complete:
            med[name + " †"] = printed[name]
            med.pop(name, None)
    out = []
    head = " | ".join(f"{lab} (median of rounds; each round)" for lab in labels)
    ratios = " | ".join(f"{lab}/{base}" for lab in labels if lab != base)
    out.append(f"| benchmark | {head} | {ratios} |")
    out.append("|---" * (1 + len(labels) + len(labels) - 1) + "|")
    for name in sorted(med):
        d = med[name]
        cells, mids = [], {}
        for lab in labels:
            xs = d.get(lab, [])
            if xs:
                mids[lab] = statistics.median(xs)
                cells.append(f"{fmt_time(mids[lab])} ({', '.join(fmt_time(x) for x in xs)})")
            else:
                cells.append("n/a")
        rs = [f"{mids[lab] / mids[base]:.3f}" if lab in mids and base in mids else "n/a" for lab in labels if lab != base]
        out.append(f"| {name} | {' | '.join(cells)} | {' | '.join(rs)} |")
    log = read(os.path.join(RAW, "criterion", "rounds.log")).splitlines()
    out.append("")
    out.append("† criterion's printed estimate per round (the middle of `time: [...]`), not the "
               "median: the first version of criterion.sh read medians only from two-level "
               "directories, and criterion keeps only the latest run's estimates.json.")
    return "\n".join(out), log


def callgrind(labels, base):
    counts = collections.defaultdict(dict)
    values = collections.defaultdict(dict)
    for lab in labels:
        for f in sorted(glob.glob(os.path.join(RAW, "callgrind", lab, "*.inclusive.txt"))):
            stem = os.path.basename(f)[: -len(".inclusive.txt")]
            stdout = read(os.path.join(RAW, "callgrind", lab, stem + ".stdout")).split("\t")
            name, iters = stdout[0], int(stdout[1].split("=")[1])
            measured = None
            for line in read(f).splitlines():
                if ":driver::measured [" in line:
                    measured = int(line.split()[0].replace(",", ""))
                    break
            if measured is None:
                continue
            counts[name][lab] = measured / iters
            values[name][lab] = "\t".join(stdout[2:]).strip()
    out = [f"| workload | {' | '.join(f'{lab} Ir/iter' for lab in labels)} | "
           f"{' | '.join(f'{lab}/{base}' for lab in labels if lab != base)} | values equal to {base} |"]
    out.append("|---" * (1 + len(labels) + len(labels) - 1 + 1) + "|")
    for name in sorted(counts):
        c = counts[name]
        cells = [f"{c[lab]:,.0f}" if lab in c else "n/a" for lab in labels]
        rs = [f"{c[lab] / c[base]:.4f}" if lab in c and base in c else "n/a" for lab in labels if lab != base]
        same = ", ".join(f"{lab}: {'yes' if values[name].get(lab) == values[name].get(base) else 'no'}"
                         for lab in labels if lab != base and lab in values[name])
        out.append(f"| {name} | {' | '.join(cells)} | {' | '.join(rs)} | {same} |")
    return "\n".join(out)


# Functions whose inclusive cost is shown for a workload whose count grew by more than 2%
# (the tape's recording and reverse pass, by the names of both layouts).
DRILL = [("whole workload call", r":driver::autodiff_bench::overhead_step \[|:driver::make::\{\{closure\}\} \["),
         ("reverse pass (Tape::backward)", r"Tape>::backward \["),
         ("  elementwise reverse (at 065bc8e inlined in backward; now Elementwise::reverse)", r"Elementwise::reverse \["),
         ("recording: unary ops (Tape::unary)", r"Tape::unary \[|Tape>::unary \["),
         ("recording: binary ops (Tape::binary)", r"Tape::binary \[|Tape>::binary \["),
         ("  Tape::push (inside unary and binary)", r"Tape::push \[")]


def drilldown(labels, base):
    out = []
    for f in sorted(glob.glob(os.path.join(RAW, "callgrind", base, "*.inclusive.txt"))):
        stem = os.path.basename(f)[: -len(".inclusive.txt")]
        per = {}
        for lab in labels:
            p = os.path.join(RAW, "callgrind", lab, stem + ".inclusive.txt")
            if not os.path.exists(p):
                continue
            text = read(p)
            iters = int(read(os.path.join(RAW, "callgrind", lab, stem + ".stdout")).split("\t")[1].split("=")[1])
            m = [int(l.split()[0].replace(",", "")) for l in text.splitlines() if ":driver::measured [" in l]
            if not m:
                continue
            # Fully instrumented runs count the 2 warm-up calls too; LATE=1 runs (a
            # control.log exists) count only the measured ones.
            late = os.path.exists(os.path.join(RAW, "callgrind", lab, stem + ".control.log"))
            per[lab] = (text, iters if late else iters + 2, m[0] / iters)
        grown = [lab for lab in per if lab != base and base in per and per[lab][2] > 1.02 * per[base][2]]
        if not grown:
            continue
        out += ["", f"### Where `{stem.replace('_', '/', 1)}` grew (inclusive Ir per call of the workload; "
                "fully instrumented runs cover the 2 warm-up calls too and are divided by ITERS + 2)", "",
                f"| function | {' | '.join(per)} | {' | '.join(f'{lab} - {base}' for lab in per if lab != base)} |",
                "|---" + "|---" * (2 * len(per) - 1) + "|"]
        for title, pat in DRILL:
            vals = {}
            for lab, (text, iters, _) in per.items():
                hits = [int(l.split()[0].replace(",", "")) for l in text.splitlines() if re.search(pat, l)]
                vals[lab] = hits[0] / iters if hits else 0.0
            if not any(vals.values()):
                continue
            diffs = [f"{vals[lab] - vals[base]:+,.0f}" for lab in per if lab != base]
            out.append(f"| {title} | {' | '.join(f'{v:,.0f}' for v in vals.values())} | {' | '.join(diffs)} |")
    return out


def main():
    cs = commits()
    labels = list(cs)
    base = labels[0]
    parts = ["# Issue 14 A/B: behaviour and speed before and after", "",
             "Generated by `report.py` from `raw/` (do not edit by hand). Scripts: `run-all.sh` "
             "(drives the rest), `identity.sh` + `compare.py`, `criterion.sh`, `make-driver.sh` + "
             "`driver/` + `callgrind.sh`.", "", "## Commits measured", "",
             "| label | commit | subject |", "|---|---|---|"]
    parts += [f"| {lab} | {v[0]} | {v[1] if len(v) > 1 else ''} |" for lab, v in cs.items()]
    env = os.path.join(RAW, "machine.txt")
    if os.path.exists(env):
        parts += ["", "Machine: " + read(env).strip().replace("\n", "; ")]
    parts += ["", "## (a) Behaviour: repro outputs, seed 0, RAYON_NUM_THREADS=2", "",
              "`fig1` (preset) and `fading-squares --steps 50`; each file compared byte for byte; "
              "report.json compared with timing (and provenance) keys set aside, report.md and "
              "run.log with timing lines set aside (`compare.py`)."]
    for f in sorted(g for g in glob.glob(os.path.join(RAW, "identity", "compare-*.txt")) if not g.endswith(".details.txt")):
        parts += ["", f"### {os.path.basename(f)[len('compare-'):-4].replace('-vs-', ' vs ')}", "",
                  "| file | verdict |", "|---|---|", read(f).strip()]
    tg = {lab: [l.split("\t") for l in read(os.path.join(RAW, "identity", f"targets-{lab}.tsv")).splitlines()]
          for lab in labels if os.path.exists(os.path.join(RAW, "identity", f"targets-{lab}.tsv"))}
    if tg:
        parts += ["", "### Target verdicts (report.json `targets`; measured value in brackets)", "",
                  f"| experiment | target | {' | '.join(tg)} |", "|---|---" + "|---" * len(tg) + "|"]
        for i, row in enumerate(tg[base]):
            cells = [f"{tg[lab][i][2]} ({tg[lab][i][3][:10]})" if i < len(tg[lab]) else "n/a" for lab in tg]
            name = row[1].replace("|", "\\|")
            parts.append(f"| {row[0]} | {name} | {' | '.join(cells)} |")
    if os.path.exists(os.path.join(RAW, "criterion", "rounds.log")):
        table, log = criterion(labels, base)
        parts += ["", "## (b1) Criterion medians (wall clock, loaded machine: weak evidence)", "",
                  "Each round runs every build's suite executable once, alternated, with "
                  "`--bench --noplot '^(autodiff/|prior/|fading_squares/train_step)'`; the value per "
                  "round is criterion's median (estimates.json), the table shows the median over "
                  "rounds. The machine's load (below) is far above its core count: these ratios "
                  "are weak evidence; the instruction counts in (b2) are the load-free measure.", "",
                  table, "", "Rounds (load average 1/5/15 min):", "", "```", *log, "```"]
    parts += ["", "## (b2) Instruction counts (callgrind, one thread, fixed iterations)", "",
              "Inclusive Ir of the driver's `measured` function (the workload called ITERS times "
              "after two uncounted warm-up calls) divided by ITERS; `driver/` builds the same "
              "workload bodies against each commit's API (`autodiff_bench.rs` and `prior_bench.rs` "
              "are each commit's own files). `values equal`: the workload's printed results "
              "(warm-up and measured sums) are bit-identical to the base's.", "",
              callgrind(labels, base)]
    parts += drilldown(labels, base)
    notes = os.path.join(HERE, "notes.md")
    if os.path.exists(notes):
        parts += ["", read(notes).strip()]
    with open(os.path.join(HERE, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


main()
