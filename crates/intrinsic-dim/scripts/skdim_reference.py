"""Reference values from scikit-dimension for the intrinsic-dim crate's agreement tests.

Writes small fixed data sets to tests/fixtures/*.csv (17 significant digits, so Rust reads the
same doubles) and skdim's estimates on them to tests/fixtures/skdim_reference.csv
(fixture,estimator,value). Run from anywhere:

    pip install scikit-dimension==0.5.0 scikit-learn
    python3 crates/intrinsic-dim/scripts/skdim_reference.py

Keys: mle_k{k}[_{comb}] (skdim MLE, n_neighbors=k, comb), mle_k20_pw{i} (pointwise value of
point i), twonn[_f{discard}][_mle] (the linear fit needs a discard fraction > 0), lpca (ver='FO', alphaFO=0.05), lpca_a{alpha},
lpca_pw{k}_mean / _median (fit_pw with n_neighbors=k, then the mean / median of
dimension_pw_), corrint_{k1}_{k2} (left out where a pair lies exactly at a radius: see
corrint_radius_is_a_distance).

For data with duplicate points skdim's MLE returns 0 or NaN; the Rust crate skips points whose
nearest neighbour is at distance 0, so for those fixtures the MLE reference is skdim's MLE fed
the precomputed neighbours of the other points only (the same rule, computed by skdim).
"""
import csv
import os
import warnings

import numpy as np
import skdim
from sklearn.neighbors import NearestNeighbors

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures")


def fixtures():
    rng = np.random.default_rng(20261107)
    out = {}
    # Swiss roll, 300 x 3 (ID 2).
    u, v = rng.random(300), rng.random(300)
    t = 1.5 * np.pi * (1 + 2 * u)
    out["swiss_300x3"] = np.column_stack([t * np.cos(t), 21 * v, t * np.sin(t)])
    # A 5-D Gaussian linearly embedded in 10-D with small noise, 300 x 10.
    z = rng.standard_normal((300, 5))
    a = rng.standard_normal((5, 10))
    out["gauss5_in10_300x10"] = z @ a + 0.01 * rng.standard_normal((300, 10))
    # The unit 2-sphere isometrically embedded in 30-D with small noise, 300 x 30 (d > 25
    # exercises skdim's distance-matrix path in TwoNN and scikit-learn's brute-force search).
    s = rng.standard_normal((300, 3))
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    q, _ = np.linalg.qr(rng.standard_normal((30, 3)))
    out["sphere_in30_300x30"] = s @ q.T + 1e-3 * rng.standard_normal((300, 30))
    # Uniform 4-cube, 180 points plus 20 duplicated rows, 200 x 4.
    c = rng.random((180, 4))
    out["cube4_dups_200x4"] = np.vstack([c, c[:20]])
    return out


def knn(x, k):
    return NearestNeighbors(n_neighbors=k).fit(x).kneighbors()


def mle(x, k, comb="mle"):
    d, i = knn(x, k)
    keep = d[:, 0] > 0
    est = skdim.id.MLE().fit(x, precomputed_knn_arrays=(d[keep], i[keep]), comb=comb)
    return est.dimension_, est.dimension_pw_, keep


def reference(x):
    rows = []
    for k in (10, 20):
        rows.append((f"mle_k{k}", mle(x, k)[0]))
    for comb in ("mean", "median"):
        rows.append((f"mle_k20_{comb}", mle(x, 20, comb)[0]))
    _, pw, keep = mle(x, 20)
    kept = np.flatnonzero(keep)
    for j in range(5):
        rows.append((f"mle_k20_pw{kept[j]}", pw[j]))
    rows.append(("twonn", skdim.id.TwoNN().fit(x).dimension_))
    rows.append(("twonn_f0.25", skdim.id.TwoNN(discard_fraction=0.25).fit(x).dimension_))
    rows.append(("twonn_f0_mle", skdim.id.TwoNN(discard_fraction=0.0, method="mle").fit(x).dimension_))
    rows.append(("twonn_mle", skdim.id.TwoNN(method="mle").fit(x).dimension_))
    rows.append(("lpca", skdim.id.lPCA().fit(x).dimension_))
    rows.append(("lpca_a0.2", skdim.id.lPCA(alphaFO=0.2).fit(x).dimension_))
    for k in (30,):
        pw = skdim.id.lPCA().fit_pw(x, n_neighbors=k).dimension_pw_
        rows.append((f"lpca_pw{k}_mean", np.mean(pw)))
        rows.append((f"lpca_pw{k}_median", np.median(pw)))
    for k1, k2 in ((10, 20), (5, 15), (5, 12)):
        if corrint_radius_is_a_distance(x, k1, k2):
            print(f"  skipping corrint_{k1}_{k2}: a pair lies exactly at a radius")
            continue
        rows.append((f"corrint_{k1}_{k2}", skdim.id.CorrInt(k1=k1, k2=k2).fit(x).dimension_))
    return rows


def corrint_radius_is_a_distance(x, k1, k2):
    """CorrInt counts pairs with distance < r, r the median k-th neighbour distance. When the
    two middle values belong to one mutual pair, r equals that pair's distance, and whether
    skdim counts the pair depends on the rounding of its matrix-product distances (the Rust
    crate uses direct distances, so never counts it). Those cases are left out: the
    definitions agree, the rounding does not."""
    d, _ = knn(x, k2)
    exact = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    for k in (k1, k2):
        r = np.median(d[:, k - 1])
        if np.min(np.abs(exact - r)) <= 1e-12 * r:
            return True
    return False


def main():
    warnings.simplefilter("ignore")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "skdim_reference.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["fixture", "estimator", "value"])
        for name, x in fixtures().items():
            np.savetxt(os.path.join(OUT, f"{name}.csv"), x, delimiter=",", fmt="%.17g")
            x = np.loadtxt(os.path.join(OUT, f"{name}.csv"), delimiter=",")
            for key, value in reference(x):
                w.writerow([name, key, repr(float(value))])
    print(f"skdim {skdim.__version__}: wrote fixtures and reference values to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
