"""PyTorch coupling blocks for the 784-D reference timings (nice784_step_timing_torch.py).

The reference script imports these names; the layers follow the NICE / RealNVP papers and
the configurations named in that script's docstring:

- even/odd interleaved split of the D = 784 coordinates (392 | 392), the conditioning half
  alternating with the coupling's index k;
- conditioner: MLP D/2 -> hidden (x depth, ReLU) -> D/2 (additive) or D (affine: log-scale
  and shift), last layer zero-initialised so every coupling starts at the identity;
- AdditiveCoupling: x_b' = x_b + t(x_a), log-determinant 0 (volume preserving);
- AffineCoupling: x_b' = x_b * exp(s) + t with s = tanh(raw_s) when bounded, log-det sum(s);
- LearnedGaussian: N(mu, L L^T) with L = tril(A), A initialised to I; log_prob_spread(y, s)
  is log N(y; mu, L L^T + s^2 I): one D x D Cholesky factor and one triangular solve per call.
"""
import math

import torch
import torch.nn as nn


def mlp(d_in, d_out, hidden, depth):
    """depth hidden layers of width `hidden` with ReLU; zero-initialised output layer."""
    layers, width = [], d_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    last = nn.Linear(width, d_out)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


class _Coupling(nn.Module):
    def __init__(self, d, k, out_factor, hidden, depth):
        super().__init__()
        idx = torch.arange(d)
        parity = k % 2
        self.register_buffer("a_idx", idx[idx % 2 == parity])      # conditioning half
        self.register_buffer("b_idx", idx[idx % 2 != parity])      # transformed half
        self.net = mlp(len(self.a_idx), out_factor * len(self.b_idx), hidden, depth)

    def _merge(self, xa, xb):
        out = torch.empty(xa.shape[0], xa.shape[1] + xb.shape[1], dtype=xa.dtype)
        out[:, self.a_idx] = xa
        out[:, self.b_idx] = xb
        return out


class AdditiveCoupling(_Coupling):
    """NICE coupling: x_b + t(x_a); log-determinant 0."""

    def __init__(self, d, k, hidden, depth=2):
        super().__init__(d, k, 1, hidden, depth)

    def forward(self, x):
        xa, xb = x[:, self.a_idx], x[:, self.b_idx]
        return self._merge(xa, xb + self.net(xa)), torch.zeros(x.shape[0], dtype=x.dtype)


class AffineCoupling(_Coupling):
    """RealNVP coupling: x_b * exp(s) + t, s = tanh(raw_s) when bounded; log-det sum(s)."""

    def __init__(self, d, k, hidden, depth=2, bounded=True):
        super().__init__(d, k, 2, hidden, depth)
        self.bounded = bounded

    def forward(self, x):
        xa, xb = x[:, self.a_idx], x[:, self.b_idx]
        raw_s, t = self.net(xa).chunk(2, dim=1)
        s = torch.tanh(raw_s) if self.bounded else raw_s
        return self._merge(xa, xb * torch.exp(s) + t), s.sum(1)


class Flow(nn.Module):
    """Composition of couplings; returns (z, log|det dz/dx|)."""

    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        logdet = torch.zeros(x.shape[0], dtype=x.dtype)
        for layer in self.layers:
            x, ld = layer(x)
            logdet = logdet + ld
        return x, logdet


def std_normal_logp(z):
    """log N(z; 0, I), one value per row."""
    return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)


class LearnedGaussian(nn.Module):
    """N(mu, L L^T) with L = tril(A), A a dense D x D parameter initialised to I."""

    def __init__(self, d):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(d))
        self.A = nn.Parameter(torch.eye(d))

    def log_prob_spread(self, y, sigma):
        """log N(y; mu, L L^T + sigma^2 I), one value per row."""
        d = y.shape[1]
        L = torch.tril(self.A)
        cov = L @ L.T + sigma ** 2 * torch.eye(d, dtype=y.dtype)
        C = torch.linalg.cholesky(cov)
        u = torch.linalg.solve_triangular(C, (y - self.mu).T, upper=False)
        return -0.5 * (u ** 2).sum(0) - torch.log(torch.diagonal(C)).sum() - 0.5 * d * math.log(2 * math.pi)
