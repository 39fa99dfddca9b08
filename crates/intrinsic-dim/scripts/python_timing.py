"""Time scikit-learn's NearestNeighbors and scikit-dimension on the issue's benchmark shapes,
for the side-by-side with the Rust crate (docs/intrinsic-dim.md, `cargo xtask id-table`).

    MFLOW_MNIST_DIR=/path/to/mnist python3 crates/intrinsic-dim/scripts/python_timing.py

On machines that set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, unset both for this command only
(they slow a current NumPy): `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 ...`.
Writes scripts/python_timings.csv (task,threads,seconds: the median of `REPS` runs) and prints
the BLAS kernel threadpoolctl reports.
"""
import csv
import gzip
import os
import platform
import statistics
import time
import warnings

import numpy as np
import sklearn
import skdim
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_info, threadpool_limits

HERE = os.path.dirname(os.path.abspath(__file__))
REPS = 3


def mnist_10k():
    d = os.environ.get("MFLOW_MNIST_DIR", os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "mnist"))
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images.idx3-ubyte.gz"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            with gzip.open(p, "rb") as f:
                raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
            return raw.reshape(-1, 784)[:10000].astype(np.float64) / 255.0
    raise SystemExit(f"no MNIST t10k images under {d} (set MFLOW_MNIST_DIR)")


def median_time(fn):
    times = []
    for _ in range(REPS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    warnings.simplefilter("ignore")
    for pool in threadpool_info():
        print(f"{pool['internal_api']}: {pool.get('architecture')} threads={pool['num_threads']} ({pool['filepath']})")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, skdim {skdim.__version__}")
    x = mnist_10k()
    cube = np.random.default_rng(2).random((100_000, 3))
    rows = []
    for threads in (2, 1):
        with threadpool_limits(limits=threads):
            knn = lambda data: NearestNeighbors(n_neighbors=20, n_jobs=threads).fit(data).kneighbors()
            rows.append(("sklearn_knn_k20_mnist_10k_784", threads, median_time(lambda: knn(x))))
            rows.append(("sklearn_knn_k20_uniform_100k_3", threads, median_time(lambda: knn(cube))))
    with threadpool_limits(limits=2):
        rows.append(("skdim_mle_mnist_10k_784", 2, median_time(lambda: skdim.id.MLE().fit(x, n_jobs=2))))
        rows.append(("skdim_twonn_mnist_10k_784", 2, median_time(lambda: skdim.id.TwoNN().fit(x))))
    with open(os.path.join(HERE, "python_timings.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "threads", "seconds"])
        for task, threads, s in rows:
            print(f"{task:36s} {threads} thread(s): {s:.3f} s")
            w.writerow([task, threads, f"{s:.4f}"])


if __name__ == "__main__":
    main()
