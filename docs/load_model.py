#!/usr/bin/env python3
"""Load a vector model folder written by `mflow fit` with numpy and safetensors only, and encode
data with it: z = g((x - mean) / scale), as `mflow encode` does.

    python3 docs/load_model.py MODEL_DIR DATA.csv [-o CODES.csv] [--check CODES.csv]

DATA.csv holds one sample per row, comma-separated, with or without a header line. With
--check, the codes are compared with a CSV that `mflow encode` wrote and the script exits 1
when any entry differs by more than 1e-10 (relative to max(1, |value|)).

The model folder format is described in docs/model-format.md. Image models (convolutional
couplings) are not handled here.
"""

import argparse
import json
import sys

import numpy as np
from safetensors.numpy import load_file


def activation(name, h):
    """The conditioner's nonlinearity, as serialised in the flow spec ("Relu", "Tanh",
    "Identity" or {"LeakyRelu": alpha})."""
    if name == "Identity":
        return h
    if name == "Relu":
        return np.maximum(h, 0.0)
    if name == "Tanh":
        return np.tanh(h)
    if isinstance(name, dict) and "LeakyRelu" in name:
        alpha = name["LeakyRelu"]
        return np.where(h > 0.0, h, alpha * h)
    raise ValueError(f"unknown activation {name!r}")


def mlp(weights, prefix, widths, act, h):
    """h_{k+1} = act(h_k W_k + b_k), no activation after the last layer; W_k is `in x out`."""
    layers = len(widths) - 1
    for k in range(layers):
        h = h @ weights[f"{prefix}.layer{k}.weight"] + weights[f"{prefix}.layer{k}.bias"]
        if k < layers - 1:
            h = activation(act, h)
    return h


def split_indices(config):
    """(conditioning columns, transformed columns) of a coupling."""
    d = config["dim"]
    split = config["split"]
    if "Halves" in split:
        h = d // 2
        if split["Halves"] == "Even":
            return list(range(h)), list(range(h, d))
        return list(range(h, d)), list(range(h))
    mask = split["Mask"]
    return [i for i in range(d) if mask[i]], [i for i in range(d) if not mask[i]]


def coupling(weights, prefix, config, x):
    cond_idx, trans_idx = split_indices(config)
    cond, trans = x[:, cond_idx], x[:, trans_idx]
    widths = [len(cond_idx)] + list(config["hidden"]) + [len(trans_idx)]
    act = config["activation"]
    t = mlp(weights, f"{prefix}.t", widths, act, cond)
    transform = config["transform"]
    if transform == "Additive":
        out = trans + t
    else:
        treatment = transform["Affine"]
        s = mlp(weights, f"{prefix}.s", widths, act, cond)
        if treatment in ("Tanh", "TanhMeanCentred"):
            s = np.tanh(s)
        if treatment in ("MeanCentred", "TanhMeanCentred"):
            s = s - s.mean(axis=1, keepdims=True)
        out = trans * np.exp(s) + t
    z = np.empty_like(x)
    z[:, cond_idx] = cond
    z[:, trans_idx] = out
    return z


def lu_linear(weights, layer, x):
    prefix, d = layer["prefix"], layer["dim"]
    lower = np.tril(weights[f"{prefix}.lower"], -1) + np.eye(d)
    upper = np.triu(weights[f"{prefix}.upper"], 1)
    r = upper + np.diag(np.asarray(layer["signs"]) * np.exp(weights[f"{prefix}.log_abs_s"][0]))
    lr = lower @ r
    w = lr[layer["perm"], :]  # (P v)_j = v_{perm[j]}: row j of W is row perm[j] of L R
    return x @ w.T


def apply_layer(weights, layer, x):
    kind = layer["type"]
    if kind == "coupling":
        return coupling(weights, layer["prefix"], layer["config"], x)
    if kind == "permutation":
        return x[:, layer["perm"]]
    if kind == "act_norm":
        p = layer["prefix"]
        return x * np.exp(weights[f"{p}.log_scale"][0]) + weights[f"{p}.bias"][0]
    if kind == "lu_linear":
        return lu_linear(weights, layer, x)
    if kind == "chain":
        return encode_flow(weights, layer, x)
    raise ValueError(f"layer type {kind!r} is not handled by this script (image models are not)")


def encode_flow(weights, spec, x):
    for layer in spec["layers"]:
        x = apply_layer(weights, layer, x)
    return x


def load_model(model_dir):
    """The model's description (model.json) and its weights (name -> float64 array)."""
    with open(f"{model_dir}/model.json") as f:
        model = json.load(f)
    if model["format"] != "manifold-flows/model/1":
        raise ValueError(f"unknown model format {model['format']!r}")
    weights = load_file(f"{model_dir}/weights.safetensors")
    return model, weights


def encode(model, weights, x):
    st = model["standardizer"]
    u = (x - np.asarray(st["mean"])) / np.asarray(st["scale"])
    return encode_flow(weights, model["flow"], u)


def read_csv(path):
    with open(path) as f:
        first = f.readline()
    try:
        [float(v) for v in first.split(",")]
        skip = 0
    except ValueError:
        skip = 1
    return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("-o", "--output")
    parser.add_argument("--check")
    args = parser.parse_args()
    model, weights = load_model(args.model)
    z = encode(model, weights, read_csv(args.data))
    if args.output:
        header = ",".join(f"z{j + 1}" for j in range(z.shape[1]))
        np.savetxt(args.output, z, delimiter=",", header=header, comments="", fmt="%.17g")
    if args.check:
        want = read_csv(args.check)
        if want.shape != z.shape:
            print(f"shape {z.shape} differs from {want.shape}", file=sys.stderr)
            return 1
        err = np.max(np.abs(z - want) / np.maximum(1.0, np.abs(want)))
        print(f"max relative difference to {args.check}: {err:.3e}")
        return 0 if err <= 1e-10 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
