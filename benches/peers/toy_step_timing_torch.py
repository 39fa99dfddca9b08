"""PyTorch CPU time per training step for the exact toy configurations named in the issues.
(a) RealNVP: 2 affine couplings, separate s and t MLPs 1-64-64-1 (ReLU), batch 256, Adam.
(b) spread flow, paper style: 4 additive couplings, MLP 1-24-24-24-1 LeakyReLU(0.2),
    lower-triangular 2x2 prior with spread 0.01, batch 128, Adam.
Run: python toy_step_timing_torch.py [--case a|b|both] [--steps N] (a venv with torch; check
the load first). Prints JSON: the median step time of N timed steps after N/10 warm-up steps."""
import argparse, json, math, os, time
import torch, torch.nn as nn
torch.set_num_threads(1)
ap = argparse.ArgumentParser()
ap.add_argument("--case", choices=["a", "b", "both"], default="both")
ap.add_argument("--steps", type=int, default=3000)
ARGS = ap.parse_args()

def mlp(sizes, act):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2: layers.append(act())
    return nn.Sequential(*layers)

def flops(sizes, batch):
    return 2 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))

def time_steps(step, n=None, warm=None):
    n = ARGS.steps if n is None else n
    warm = max(n // 10, 1) if warm is None else warm
    for _ in range(warm): step()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
    ts.sort(); return ts[len(ts) // 2]

out = {"load_before": os.getloadavg()[0], "torch": torch.__version__}
# (a)
S = [1, 64, 64, 1]
nets = nn.ModuleList([mlp(S, nn.ReLU) for _ in range(4)])  # s,t for 2 layers
opt = torch.optim.Adam(nets.parameters(), 1e-3)
def step_a():
    x1 = torch.randn(256, 1); x = torch.cat([x1, torch.sin(2 * x1)], 1)
    ld = 0
    for l in range(2):
        a, b = (x[:, :1], x[:, 1:]) if l == 0 else (x[:, 1:], x[:, :1])
        s = torch.tanh(nets[2 * l](a)); t = nets[2 * l + 1](a)
        b = b * torch.exp(s) + t; ld = ld + s.sum(1)
        x = torch.cat([a, b], 1) if l == 0 else torch.cat([b, a], 1)
    loss = (0.5 * (x ** 2).sum(1) - ld).mean()
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
fa = 4 * flops(S, 256) * 3
if ARGS.case in ("a", "both"):
    ta = time_steps(step_a)
    out["a_realnvp_sep_st_h64_b256_ms"] = ta * 1e3; out["a_gflop_per_step"] = fa / 1e9; out["a_gflops"] = fa / ta / 1e9
# (b)
S2 = [1, 24, 24, 24, 1]
nets2 = nn.ModuleList([mlp(S2, lambda: nn.LeakyReLU(0.2)) for _ in range(4)])
A = nn.Parameter(torch.eye(2))
opt2 = torch.optim.Adam(list(nets2.parameters()) + [A], 1e-3)
def step_b():
    x1 = torch.randn(128, 1); x = torch.cat([x1, torch.sin(2 * x1)], 1)
    for l in range(4):
        a, b = (x[:, :1], x[:, 1:]) if l % 2 == 0 else (x[:, 1:], x[:, :1])
        b = b + nets2[l](a)
        x = torch.cat([a, b], 1) if l % 2 == 0 else torch.cat([b, a], 1)
    L = torch.tril(A); Sg = L @ L.T + 1e-4 * torch.eye(2)
    zn = x + 0.01 * torch.randn_like(x)
    C = torch.linalg.cholesky(Sg); u = torch.linalg.solve_triangular(C, zn.T, upper=False)
    loss = 0.5 * (u ** 2).sum(0).mean() + torch.log(torch.diagonal(C)).sum() + math.log(2 * math.pi)
    opt2.zero_grad(set_to_none=True); loss.backward(); opt2.step()
fb = 4 * flops(S2, 128) * 3
if ARGS.case in ("b", "both"):
    tb = time_steps(step_b)
    out["b_spread_paper_style_b128_ms"] = tb * 1e3; out["b_gflop_per_step"] = fb / 1e9; out["b_gflops"] = fb / tb / 1e9
out["load_after"] = os.getloadavg()[0]
print(json.dumps(out, indent=1))
