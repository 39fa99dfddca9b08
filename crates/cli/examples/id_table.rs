//! Writes `docs/intrinsic-dim.md`: every classical estimator on every benchmark manifold
//! (estimate and time), and the MNIST speed comparison with scikit-learn / scikit-dimension.
//! Run through `cargo xtask id-table` (release mode); arguments: `OUTPUT [--mnist-dir DIR]`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use datasets::GenerateOptions;
use faer::{Mat, MatRef};
use intrinsic_dim::{CorrelationDimension, Estimator, KnnGraph, Mle, Pca, TwoNn};

/// Samples per manifold and the seed of every draw.
const N: usize = 2_000;
const SEED: u64 = 0;
/// Timing runs per cell (the median is reported).
const RUNS: usize = 5;

/// The median wall time of `runs` calls of `f` (seconds) and the last result.
fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, f64) {
    let mut times = Vec::with_capacity(runs);
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        out = Some(f());
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (out.expect("runs >= 1"), times[times.len() / 2])
}

fn fmt_time(s: f64) -> String {
    match s {
        s if s >= 1.0 => format!("{s:.2} s"),
        s if s >= 1e-3 => format!("{:.1} ms", s * 1e3),
        s => format!("{:.0} µs", s * 1e6),
    }
}

/// The 1-minute load average (Linux), to show how busy the machine was while timing.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// Where the numbers were measured: the commit (with `+changes` when tracked files other than
/// the generated page differ from it) and the CPU model, so the page can be traced to a build.
fn provenance(root: &std::path::Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = match git(&["rev-parse", "--short=7", "HEAD"]) {
        Some(c) => {
            let changed = git(&["status", "--porcelain", "--untracked-files=no"])
                .map(|s| s.lines().any(|l| !l.ends_with("docs/intrinsic-dim.md")))
                .unwrap_or(false);
            format!("`{c}{}`", if changed { "+changes" } else { "" })
        }
        None => "unknown (not a git checkout)".to_owned(),
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("Measured at commit {commit} on {cpu} ({} rayon threads).", rayon_threads())
}

/// The estimators of the table, with their column names.
fn estimators() -> Vec<(&'static str, Box<dyn Estimator>)> {
    vec![
        ("mle", Box::new(Mle::default())),
        ("twonn", Box::new(TwoNn::default())),
        ("lpca", Box::new(Pca::default())),
        ("lpca-pw", Box::new(Pca::pointwise(100))),
        ("corrdim", Box::new(CorrelationDimension::default())),
    ]
}

fn manifold_table(out: &mut String) -> anyhow::Result<()> {
    let ests = estimators();
    writeln!(out, "| manifold | ID | d | {} |", ests.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" | "))?;
    writeln!(out, "|---|---:|---:|{}", "---:|".repeat(ests.len()))?;
    for m in datasets::benchmark_manifolds() {
        let x = m.generate(&GenerateOptions::new(N, SEED)).data;
        let mut cells = Vec::new();
        for (name, e) in &ests {
            let (r, s) = timed(RUNS, || e.estimate(x.as_ref()));
            let r = r.with_context(|| format!("{name} on {}", m.name()))?;
            cells.push(format!("{:.3} ({})", r.dimension, fmt_time(s)));
        }
        writeln!(out, "| {} | {} | {} | {} |", m.name(), m.intrinsic_dim(), x.ncols(), cells.join(" | "))?;
    }
    Ok(())
}

/// `task -> (threads, seconds)` rows of `scripts/python_timings.csv`, if the file exists.
fn python_timings(path: &Path) -> Vec<(String, u32, f64)> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.first()?.to_string(), f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?))
        })
        .collect()
}

fn mnist_section(out: &mut String, dir: &Path, python: &[(String, u32, f64)]) -> anyhow::Result<()> {
    let ds = match datasets::mnist(dir, datasets::Split::Test) {
        Ok(ds) => ds,
        Err(e) => {
            writeln!(out, "MNIST was not found ({e}); set `MFLOW_MNIST_DIR` to add this section.")?;
            return Ok(());
        }
    };
    let x: Mat<f64> = Mat::from_fn(10_000.min(ds.data.nrows()), ds.data.ncols(), |i, j| ds.data[(i, j)] / 255.0);
    let x: MatRef<'_, f64> = x.as_ref();
    let cube = {
        // The same uniform 100,000 x 3 shape as the Python script (values differ; the cost does
        // not depend on them).
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        Mat::from_fn(100_000, 3, |_, _| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
    };
    let (graph, t_knn) = timed(3, || KnnGraph::build(x, 20));
    let graph = graph?;
    let (_, t_cube) = timed(3, || KnnGraph::build(cube.as_ref(), 20));
    let (both, t_both) = timed(3, || -> Result<_, intrinsic_dim::EstimateError> {
        let g = KnnGraph::build(x, 20)?;
        Ok((Mle::default().estimate_with_graph(x, &g)?, TwoNn::default().estimate_with_graph(x, &g)?))
    });
    let (mle, twonn) = both?;
    let (corr, t_corr) = timed(1, || CorrelationDimension::default().estimate_with_graph(x, &graph));
    let corr = corr?;
    let (lpca, t_lpca) = timed(1, || Pca::default().estimate(x));
    let lpca = lpca?;
    writeln!(
        out,
        "The first 10,000 MNIST test images (784 pixels scaled to [0, 1], f64), with {} rayon threads:\n",
        rayon_threads()
    )?;
    writeln!(out, "| estimator | estimate | time |\n|---|---:|---:|")?;
    writeln!(out, "| mle (k = 20) | {:.3} | with the search below |", mle.dimension)?;
    writeln!(out, "| twonn | {:.3} | with the search below |", twonn.dimension)?;
    writeln!(out, "| lpca | {} | {} |", lpca.dimension, fmt_time(t_lpca))?;
    writeln!(out, "| corrdim | {:.3} | {} (given the graph) |", corr.dimension, fmt_time(t_corr))?;
    writeln!(out)?;
    let py = |task: &str, threads: u32| python.iter().find(|(t, th, _)| t == task && *th == threads).map(|r| r.2);
    writeln!(out, "| task | this crate | scikit-learn / skdim (2 threads) | ratio | target |")?;
    writeln!(out, "|---|---:|---:|---:|---:|")?;
    let rows = [
        ("all 20 neighbours of 10,000 MNIST images", t_knn, py("sklearn_knn_k20_mnist_10k_784", 2), "< 0.8 s"),
        (
            "all 20 neighbours of 100,000 uniform 3-D points",
            t_cube,
            py("sklearn_knn_k20_uniform_100k_3", 2),
            "< 0.25 s",
        ),
        (
            "MLE + TwoNN on the MNIST images (search included)",
            t_both,
            py("skdim_mle_mnist_10k_784", 2).zip(py("skdim_twonn_mnist_10k_784", 2)).map(|(a, b)| a + b),
            "< 1 s",
        ),
    ];
    for (task, ours, theirs, target) in rows {
        let (theirs_s, ratio) = match theirs {
            Some(t) => (fmt_time(t), format!("{:.1}x faster", t / ours)),
            None => ("not measured".into(), "".into()),
        };
        writeln!(out, "| {task} | {} | {theirs_s} | {ratio} | {target} |", fmt_time(ours))?;
    }
    if !python.is_empty() {
        writeln!(out, "\nAll Python timings (`scripts/python_timings.csv`, median of 3 runs):\n")?;
        writeln!(out, "| task | threads | seconds |\n|---|---:|---:|")?;
        for (task, threads, s) in python {
            writeln!(out, "| {task} | {threads} | {s:.3} |")?;
        }
    }
    Ok(())
}

fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let output = PathBuf::from(args.first().map_or("docs/intrinsic-dim.md", String::as_str));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mnist_dir = args
        .iter()
        .position(|a| a == "--mnist-dir")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("MFLOW_MNIST_DIR").map(PathBuf::from))
        .unwrap_or_else(|| root.join("../shared/data/mnist"));
    let python = python_timings(&root.join("crates/intrinsic-dim/scripts/python_timings.csv"));

    let mut out = String::new();
    out.push_str(HEADER);
    writeln!(out, "\n{}", provenance(&root))?;
    writeln!(out, "\n## Benchmark manifolds\n")?;
    writeln!(
        out,
        "{N} noiseless samples of each benchmark manifold (`datasets::benchmark_manifolds()`, seed {SEED}); \
         each cell is the estimate and the median time of {RUNS} runs of `Estimator::estimate` \
         (its own neighbour search included), {} rayon threads.\n",
        rayon_threads()
    )?;
    manifold_table(&mut out)?;
    out.push_str(NOTES);
    writeln!(out, "\n## MNIST and the comparison with scikit-learn / scikit-dimension\n")?;
    mnist_section(&mut out, &mnist_dir, &python)?;
    writeln!(
        out,
        "\nTimes are wall-clock on a 2-core machine; the 1-minute load average when this file was \
         written was {} (other jobs running inflate every time, Python's and ours alike).",
        load_average()
    )?;
    std::fs::write(&output, out).with_context(|| format!("writing {}", output.display()))?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

const HEADER: &str = "\
# Classical intrinsic-dimension estimators

Generated by `cargo xtask id-table` (the `id_table` example of `crates/cli`, release mode);
do not edit by hand. The estimators live in `crates/intrinsic-dim` and follow
scikit-dimension 0.5 (`skdim.id`) definitions and defaults; the crate's tests check agreement
with skdim to 1e-6 relative on committed fixtures (`crates/intrinsic-dim/scripts/skdim_reference.py`).

| column | estimator | parameters |
|---|---|---|
| mle | Levina-Bickel MLE, harmonic mean of the local estimates (MacKay-Ghahramani) | k = 20 |
| twonn | TwoNN (Facco et al. 2017), line through the origin | largest 10% of ratios discarded |
| lpca | global PCA, Fukunaga-Olsen rule | alpha = 0.05 |
| lpca-pw | the same PCA over each point's 100 nearest neighbours, mean of the counts | k = 100 |
| corrdim | correlation dimension (Grassberger-Procaccia, skdim's CorrInt) | k1 = 10, k2 = 20 |
";

const NOTES: &str = "
Tolerances the tests hold (n = 2,000, noiseless; `crates/intrinsic-dim/tests/estimators.rs`):
mle, twonn and corrdim within 10% of the intrinsic dimension for ID <= 5; the median of the
pointwise lPCA counts equal to the ID except on the torus (within 1: inside 100 of 2,000
points its tube bends enough for a third principal variance to pass 5%); global lPCA equal to
the ID on the linear manifolds only (it counts the directions a curved manifold spans).
";
