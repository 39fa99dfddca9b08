#!/usr/bin/env python3
"""Timing of image-sized (784-dim, MNIST-like) coupling flows in PyTorch (CPU, float32).

Random data (uniform [0,1), numpy default_rng(301)) - this is a speed
benchmark only, nothing is learned that matters.

Configurations (coupling blocks from flow_reference.py; even/odd interleaved
split 392 | 392, alternating; MLP hidden layers of width 1000 with ReLU,
last layer zero-initialised; batch 128; Adam lr 1e-3):
  nice4_d2_stdprior : 4 additive couplings, MLP 392-1000-1000-392 (2 hidden
                      layers), prior N(0, I)                     [primary]
  nice4_d2_spread   : same flow, learned full-covariance prior N(mu, LL^T)
                      (784x784, L lower triangular) with the spread objective
                      log N(g(x)+0.1*eps; mu, LL^T + 0.01 I) -> one 784x784
                      Cholesky + triangular solve per step
  nice4_d5_stdprior : 4 additive couplings with 5 hidden layers of 1000
                      (the NICE paper's MNIST coupling size), prior N(0, I)
  realnvp4_d2_stdprior: 4 affine couplings (s = tanh(raw_s)), 2 hidden layers
                      of 1000, prior N(0, I)

For each configuration and for torch.set_num_threads(1) and (2):
  step_ms      : full training step = forward + loss + backward + Adam step
  step_cpu_ms  : process CPU time of the same step (sums over threads)
  fwd_bwd_ms   : forward + loss + backward only (no optimizer step)
  fwd_ms       : forward + loss under torch.no_grad()
median over TIMED (25) steps after WARMUP (5) warm-up steps; a phase stops
early once it has run PHASE_BUDGET_S (20 s) and timed at least 3 steps (keeps
the script bounded when the machine is shared; n_timed records the count).

Run: python nice784_step_timing_torch.py     (about 1 min idle, <= ~12 min on a loaded machine)
     python nice784_step_timing_torch.py --configs nice4_d2_spread --threads 2
                                               (one configuration, as compare.py runs it)
Output: JSON on stdout and in $OUT/flow_torch_784.json (default: the current folder)
"""
import argparse
import importlib.metadata as md
import json
import os
import platform
import sys
import time

import numpy as np
import torch

from flow_reference import (AdditiveCoupling, AffineCoupling, Flow,
                            LearnedGaussian, std_normal_logp)

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.environ.get("OUT", ".")
D, HID, BATCH, LR, SIGMA = 784, 1000, 128, 1e-3, 0.1
WARMUP, TIMED = 5, 25
PHASE_BUDGET_S = 20.0  # stop a timing phase early after this many seconds
MIN_TIMED = 3          # ... once at least this many steps were timed


def build(name):
    if name == "nice4_d2_stdprior":
        return Flow([AdditiveCoupling(D, k, HID, depth=2) for k in range(4)]), None
    if name == "nice4_d2_spread":
        return Flow([AdditiveCoupling(D, k, HID, depth=2) for k in range(4)]), \
            LearnedGaussian(D)
    if name == "nice4_d5_stdprior":
        return Flow([AdditiveCoupling(D, k, HID, depth=5) for k in range(4)]), None
    if name == "realnvp4_d2_stdprior":
        return Flow([AffineCoupling(D, k, HID, depth=2, bounded=True)
                     for k in range(4)]), None
    raise ValueError(name)


def loss_fn(flow, prior, xb, gen):
    z, logdet = flow(xb)
    if prior is None:
        return -(std_normal_logp(z) + logdet).mean()
    eps = torch.randn(z.shape, generator=gen)
    return -prior.log_prob_spread(z + SIGMA * eps, SIGMA).mean()


def flops_estimate(depth, affine):
    half = D // 2
    out = 2 * half if affine else half
    macs = half * HID + (depth - 1) * HID * HID + HID * out
    fwd = 2 * macs * 4 * BATCH  # 4 couplings
    return dict(forward_gflop=fwd / 1e9, train_step_gflop_approx=3 * fwd / 1e9)


def time_config(name, threads, X, seed=0, step_only=False):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    flow, prior = build(name)
    params = list(flow.parameters()) + ([] if prior is None
                                        else list(prior.parameters()))
    opt = torch.optim.Adam(params, lr=LR)
    gen = torch.Generator().manual_seed(seed + 1)
    n = X.shape[0]

    def batch():
        return X[torch.randint(0, n, (BATCH,), generator=gen)]

    step, step_cpu, fb, fw = [], [], [], []
    load0 = round(os.getloadavg()[0], 2)
    ph0 = time.perf_counter()
    for it in range(WARMUP + TIMED):
        if len(step) >= MIN_TIMED and time.perf_counter() - ph0 > PHASE_BUDGET_S:
            break
        xb = batch()
        c0 = time.process_time()
        t0 = time.perf_counter()
        loss = loss_fn(flow, prior, xb, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if it >= WARMUP:
            step.append(dt)
            step_cpu.append(time.process_time() - c0)
    ph0 = time.perf_counter()
    for it in range(0 if step_only else WARMUP + TIMED):
        if len(fb) >= MIN_TIMED and time.perf_counter() - ph0 > PHASE_BUDGET_S:
            break
        xb = batch()
        t0 = time.perf_counter()
        loss = loss_fn(flow, prior, xb, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        dt = time.perf_counter() - t0
        if it >= WARMUP:
            fb.append(dt)
    with torch.no_grad():
        ph0 = time.perf_counter()
        for it in range(0 if step_only else WARMUP + TIMED):
            if len(fw) >= MIN_TIMED and time.perf_counter() - ph0 > PHASE_BUDGET_S:
                break
            xb = batch()
            t0 = time.perf_counter()
            loss = loss_fn(flow, prior, xb, gen)
            dt = time.perf_counter() - t0
            if it >= WARMUP:
                fw.append(dt)
    n_params = sum(p.numel() for p in params)

    def st(a):
        if not a:
            return dict(median=None, min=None, max=None, n_timed=0)
        a = np.array(a) * 1e3
        return dict(median=float(np.median(a)), min=float(a.min()),
                    max=float(a.max()), n_timed=int(len(a)))

    return dict(step_ms=st(step), step_cpu_ms=st(step_cpu),
                fwd_bwd_ms=st(fb), fwd_ms=st(fw),
                n_params=int(n_params), final_loss=float(loss),
                loadavg_1min_before=load0,
                loadavg_1min_after=round(os.getloadavg()[0], 2))


def main():
    names_all = ["nice4_d2_stdprior", "nice4_d2_spread", "nice4_d5_stdprior",
                 "realnvp4_d2_stdprior"]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default=",".join(names_all),
                    help="comma-separated configurations (default: all four)")
    ap.add_argument("--threads", default="1,2",
                    help="comma-separated torch thread counts (default: 1,2)")
    ap.add_argument("--step-only", action="store_true",
                    help="time the full training step only (skip fwd_bwd_ms and fwd_ms)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    os.makedirs(RESULTS, exist_ok=True)
    X = torch.tensor(np.random.default_rng(301).random((1024, D)),
                     dtype=torch.float32)
    names = [n for n in args.configs.split(",") if n]
    for nm in names:
        if nm not in names_all:
            ap.error(f"unknown configuration {nm!r}; choose from {names_all}")
    threads = [int(t) for t in args.threads.split(",") if t]
    depth = dict(nice4_d2_stdprior=2, nice4_d2_spread=2, nice4_d5_stdprior=5,
                 realnvp4_d2_stdprior=2)
    res = {}
    for nm in names:
        res[nm] = dict(flops=flops_estimate(depth[nm], nm.startswith("realnvp")))
        for th in threads:
            r = time_config(nm, th, X, step_only=args.step_only)
            g = res[nm]["flops"]["train_step_gflop_approx"]
            r["approx_gflops_per_s_train_step"] = g / (r["step_ms"]["median"] / 1e3)
            res[nm][f"threads_{th}"] = r
            print(f"[{time.perf_counter() - t_start:6.1f}s] {nm:22s} threads={th} "
                  f"step={r['step_ms']['median']:.1f} ms "
                  f"(cpu {r['step_cpu_ms']['median']:.1f}) "
                  f"load={r['loadavg_1min_before']} "
                  f"fwd+bwd={r['fwd_bwd_ms']['median']} ms "
                  f"fwd={r['fwd_ms']['median']} ms params={r['n_params']}",
                  flush=True)

    def ver(p):
        try:
            return md.version(p)
        except Exception:
            return None

    out = dict(script="flow_timing_784.py",
               config=dict(D=D, hidden=HID, batch=BATCH, lr=LR, sigma=SIGMA,
                           warmup=WARMUP, timed=TIMED, dtype="float32",
                           data="uniform [0,1) random, default_rng(301), 1024 rows"),
               python=sys.version.split()[0], platform=platform.platform(),
               versions={p: ver(p) for p in ("torch", "numpy")},
               torch_parallel_info=torch.__config__.parallel_info(),
               nproc=os.cpu_count(),
               note="the 2-core machine may be shared with other jobs: see "
                    "loadavg_1min_*; under load the 2-thread numbers are "
                    "dominated by OpenMP threads waiting for a descheduled "
                    "peer and are NOT representative",
               total_seconds=round(time.perf_counter() - t_start, 2),
               results=res)
    with open(os.path.join(RESULTS, "flow_torch_784.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
