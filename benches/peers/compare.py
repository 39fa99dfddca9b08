#!/usr/bin/env python3
"""Time the project against its reference implementations side by side (issue 19).

For each round and each workload, runs the reference script, then the project's criterion
benchmark, then the project's step_times example (single steps timed one by one and their
median, the way the reference scripts time), then the next workload (so reference and project
alternate, in one window of load), and appends one row per run to a results file:

    benches/peers/results/<YYYY-MM-DD>-<cpu>-<commit>.tsv

with the median step time, the 1-minute load average before and after, the CPU model and
the commit. `table.py` turns results files into the table of docs/performance.md.

Usage (from anywhere; see README.md for the virtual environment):

    python3 benches/peers/compare.py --python /path/to/peers-venv/bin/python [--rounds 3]
        [--workloads fading_squares,toy,fig1,image784] [--out FILE]

The project's side is `cargo bench -p mflow-benches --bench suite -- <id>` (built once
first, with `--no-run`), its median read from criterion's estimates.json. Raw output of
every run goes to a `.log` file next to the results file.
"""
import argparse
import datetime as dt
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# Each workload: the reference (a script of this folder, its arguments, how to read the
# median step time in ms from its JSON) and the project's criterion benchmark with the rayon
# thread count that matches the reference's threads.
WORKLOADS = {
    "fading_squares": dict(
        title="fading-squares training step (batch 100, 1 x 32 x 32, 1024 x 1024 prior)",
        ref_name="JAX f32 (XLA), 2 threads",
        ref_args=["fading_squares_jax.py", "--time", "20"],
        ref_read=lambda j: j["median_step_ms"],
        bench="fading_squares/train_step",
        steps=["fading_squares", "20"],
        rayon=2,
    ),
    "toy": dict(
        title="RealNVP toy step (2 affine couplings, MLPs 1-64-64-1, batch 256)",
        ref_name="PyTorch f32, 1 thread",
        ref_args=["toy_step_timing_torch.py", "--case", "a", "--steps", "2000"],
        ref_read=lambda j: j["a_realnvp_sep_st_h64_b256_ms"],
        bench="autodiff/realnvp_toy_step",
        steps=["toy", "2000"],
        rayon=1,
    ),
    "fig1": dict(
        title="fig1 spread step (4 additive couplings, MLPs 1-24-24-24-1, 2 x 2 prior, batch 128)",
        ref_name="PyTorch f32, 1 thread",
        ref_args=["toy_step_timing_torch.py", "--case", "b", "--steps", "2000"],
        ref_read=lambda j: j["b_spread_paper_style_b128_ms"],
        bench="autodiff/spread_fig1_step",
        steps=["fig1", "2000"],
        rayon=1,
    ),
    "image784": dict(
        title="MNIST-scale image step (784-D; reference: NICE 784-D, hidden 1000, batch 128, "
              "learned 784 x 784 prior; project: the paper's image family on 28 x 28, batch 64, "
              "784 x 784 triangular prior)",
        ref_name="PyTorch f32, 2 threads",
        ref_args=["nice784_step_timing_torch.py", "--configs", "nice4_d2_spread", "--threads", "2", "--step-only"],
        ref_read=lambda j: j["results"]["nice4_d2_spread"]["threads_2"]["step_ms"]["median"],
        bench="image784/train_step",
        steps=["image784", "20"],
        rayon=2,
    ),
    # The same pair on one thread each: a loaded machine hurts OpenMP's 2-thread barriers
    # (and rayon's) more than a single thread, so this ratio is the steadier one under load.
    "image784_1t": dict(
        title="MNIST-scale image step, one thread each (as image784)",
        ref_name="PyTorch f32, 1 thread",
        ref_args=["nice784_step_timing_torch.py", "--configs", "nice4_d2_spread", "--threads", "1", "--step-only"],
        ref_read=lambda j: j["results"]["nice4_d2_spread"]["threads_1"]["step_ms"]["median"],
        bench="image784/train_step",
        steps=["image784", "20"],
        rayon=1,
    ),
}

COLUMNS = ["date_utc", "commit", "cpu", "workload", "round", "side", "implementation",
           "median_ms", "load1_before", "load1_after", "seconds"]


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def commit():
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    sha = out.stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "crates", "benches"], cwd=ROOT).returncode
    return sha + ("+changes" if dirty else "")


def target_dir():
    return pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def criterion_median_ms(full_id, since):
    """The median (ms) of criterion's latest run of `full_id`, written after `since`."""
    for bench_json in (target_dir() / "criterion").glob("**/new/benchmark.json"):
        try:
            meta = json.loads(bench_json.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("full_id") != full_id:
            continue
        est = bench_json.parent / "estimates.json"
        if est.stat().st_mtime < since:
            raise RuntimeError(f"criterion did not rewrite {est} (stale result)")
        return json.loads(est.read_text())["median"]["point_estimate"] / 1e6
    raise RuntimeError(f"no criterion result for {full_id} under {target_dir() / 'criterion'}")


def run(cmd, log, env=None, cwd=None):
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    log.write(p.stdout)
    log.write(p.stderr)
    log.flush()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}:\n{p.stderr[-2000:]}")
    return p.stdout


def last_json(text):
    """The last JSON object in `text`: a one-line object, or an indented one at the end."""
    lines = text.strip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("{"):
            try:
                return json.loads("\n".join(lines[i:]))
            except ValueError:
                continue
    raise ValueError("no JSON object in the output")


def reference(w, python, log):
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, OUT=tmp)
        out = run([python] + [str(HERE / w["ref_args"][0])] + w["ref_args"][1:], log, env=env, cwd=tmp)
        saved = pathlib.Path(tmp) / "flow_torch_784.json"
        j = json.loads(saved.read_text()) if saved.exists() else last_json(out)
    return w["ref_read"](j)


def project(w, log):
    env = dict(os.environ, RAYON_NUM_THREADS=str(w["rayon"]))
    since = time.time()
    pattern = "^" + re.escape(w["bench"]) + "$"
    run(["cargo", "bench", "--quiet", "-p", "mflow-benches", "--bench", "suite", "--", "--noplot", pattern],
        log, env=env, cwd=ROOT)
    return criterion_median_ms(w["bench"], since)


def project_per_step(w, log):
    """The project's median of single-step times, measured as the references measure theirs
    (the step_times example)."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(w["rayon"]))
    out = run(["cargo", "run", "--quiet", "--release", "-p", "mflow-benches", "--example", "step_times", "--"]
              + w["steps"], log, env=env, cwd=ROOT)
    return last_json(out)["median_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", default=os.environ.get("PEERS_PYTHON", "python3"),
                    help="the interpreter of the references' virtual environment (or $PEERS_PYTHON)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--out", help="results file (default: results/<date>-<cpu>-<commit>.tsv)")
    ap.add_argument("--profile-steps", type=int, default=0,
                    help="after the rounds, profile the image steps by phase over this many steps "
                         "(the step_profile example, 2 threads) into <results>-profile.tsv and .meta")
    args = ap.parse_args()
    names = [n for n in args.workloads.split(",") if n]
    for n in names:
        if n not in WORKLOADS:
            ap.error(f"unknown workload {n!r}; choose from {list(WORKLOADS)}")

    cpu, sha = cpu_model(), commit()
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    slug = re.sub(r"[^a-z0-9]+", "-", cpu.lower()).strip("-")
    out = pathlib.Path(args.out) if args.out else HERE / "results" / f"{today}-{slug}-{sha.replace('+', '-')}.tsv"
    out.parent.mkdir(parents=True, exist_ok=True)
    new = not out.exists()
    print(f"cpu: {cpu}; commit {sha}; results -> {out}", flush=True)

    with open(out.with_suffix(".log"), "a") as log:
        run(["cargo", "bench", "--quiet", "-p", "mflow-benches", "--bench", "suite", "--no-run"], log, cwd=ROOT)
        run(["cargo", "build", "--quiet", "--release", "-p", "mflow-benches", "--example", "step_times",
             "--example", "step_profile"], log, cwd=ROOT)
        with open(out, "a") as res:
            if new:
                res.write("\t".join(COLUMNS) + "\n")
            for r in range(1, args.rounds + 1):
                for n in names:
                    w = WORKLOADS[n]
                    for side in ("reference", "project", "project_per_step"):
                        load0, t0 = os.getloadavg()[0], time.time()
                        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                        log.write(f"## round {r} {n} {side} {stamp} load {load0:.2f}\n")
                        if side == "reference":
                            ms, impl = reference(w, args.python, log), w["ref_name"]
                        elif side == "project":
                            ms = project(w, log)
                            impl = f"project f64 criterion, RAYON_NUM_THREADS={w['rayon']}"
                        else:
                            ms = project_per_step(w, log)
                            impl = f"project f64 per-step median, RAYON_NUM_THREADS={w['rayon']}"
                        row = [stamp, sha, cpu, n, str(r), side, impl, f"{ms:.4f}",
                               f"{load0:.2f}", f"{os.getloadavg()[0]:.2f}", f"{time.time() - t0:.0f}"]
                        res.write("\t".join(row) + "\n")
                        res.flush()
                        print(f"round {r} {n:15s} {side:9s} {ms:10.3f} ms  load {load0:.2f}", flush=True)
        if args.profile_steps > 0:
            prof = out.with_name(out.stem + "-profile.tsv")
            load0 = os.getloadavg()[0]
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            log.write(f"## profile {stamp} load {load0:.2f}\n")
            env = dict(os.environ, RAYON_NUM_THREADS="2")
            text = run(["cargo", "run", "--quiet", "--release", "-p", "mflow-benches", "--example", "step_profile",
                        "--", str(args.profile_steps)], log, env=env, cwd=ROOT)
            prof.write_text(text)
            prof.with_suffix(".meta").write_text(
                f"date = {stamp}\ncommit = {sha}\ncpu = {cpu}\n"
                f"load = {load0:.2f} to {os.getloadavg()[0]:.2f}\nthreads = RAYON_NUM_THREADS=2\n")
            print(f"profile -> {prof}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
