//! `mflow`: intrinsic dimension and manifold flows on your own data files.
//!
//! `mflow id FILE` runs the classical estimators of `intrinsic-dim` on a CSV, NPY or IDX file
//! (searching neighbours once for all of them) or, with `--estimator flow`, trains a spread
//! flow and reads the dimension off its learned prior; `mflow datasets` lists the toy-manifold
//! generators of `datasets`, and `mflow generate` writes one to a file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use datasets::{GenerateOptions, Manifold};
use faer::MatRef;
use intrinsic_dim::{CorrelationDimension, Estimate, Estimator, KnnGraph, Mle, Pca, TwoNn};
use serde_json::json;

/// Intrinsic dimension and manifold flows on your own data files.
#[derive(Parser, Debug)]
#[command(name = "mflow", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Estimate the intrinsic dimension of the data in FILE.
    ///
    /// FILE holds one sample per row: CSV/text (comma or whitespace separated, a header line
    /// is detected), NumPy .npy (2-D), or IDX (MNIST; images are flattened), optionally
    /// gzip-compressed. Exact k-nearest neighbours are searched once and shared by the
    /// estimators.
    ///
    /// Defaults follow scikit-dimension 0.5 (skdim.id): mle = MLE with k = 20 neighbours and
    /// the harmonic mean of the local estimates; twonn = TwoNN discarding the largest 10% of
    /// ratios, linear fit through the origin; lpca = global PCA with the Fukunaga-Olsen rule,
    /// alpha = 0.05; corrdim = CorrInt between the median 10th and 20th neighbour distances.
    /// Points with a duplicate (nearest neighbour at distance 0) are skipped by mle and twonn.
    ///
    /// flow (not part of `all`) trains a spread flow on the data (manifold-prior's
    /// FlowEstimator, the default the spread study chose: noise s = 0.03 added to the
    /// standardised data, largest log-gap of the encoded data's spectrum; see
    /// docs/spread-study.md) for --steps steps, a few seconds per thousand steps. Trust it
    /// on graph-like manifolds (sheets, graphs of functions); on closed manifolds (circles,
    /// spheres, tori), with too few steps, or with noise above the manifold's curvature
    /// radius it can be wrong.
    #[command(verbatim_doc_comment)]
    Id(IdArgs),
    /// List the data-set generators that `mflow generate` knows.
    Datasets,
    /// Write samples of a toy manifold to a file (.csv or .npy, by the name of -o).
    Generate(GenerateArgs),
    /// Print the version of every library crate this binary is built from.
    Version,
}

#[derive(clap::Args, Debug)]
struct IdArgs {
    /// The data file (CSV, NPY or IDX; gzip allowed).
    file: PathBuf,
    /// Which estimator to run; `all` runs the four classical ones (not `flow`).
    #[arg(long, value_enum, default_value_t = Which::All)]
    estimator: Which,
    /// Neighbours: MLE's k and CorrInt's k2 (with k1 = K / 2). Default 20, skdim's.
    #[arg(long, value_parser = clap::value_parser!(u64).range(4..))]
    k: Option<u64>,
    /// Print exactly one JSON object on stdout:
    /// {"n", "d", "estimates": {name: value}, "seconds": {name: s}, "knn_seconds"}.
    /// `seconds` are each estimator's own time; the shared neighbour search is `knn_seconds`.
    #[arg(long, verbatim_doc_comment)]
    json: bool,
    /// Training steps of `--estimator flow` (its default, 10000; fewer can be wrong).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    steps: Option<u64>,
    /// Seed of `--estimator flow` (weights, batches and noise).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    /// Levina-Bickel maximum likelihood (MacKay-Ghahramani averaging).
    Mle,
    /// Facco et al.'s two-nearest-neighbour estimator.
    Twonn,
    /// PCA with the Fukunaga-Olsen rule.
    Lpca,
    /// Grassberger-Procaccia correlation dimension.
    Corrdim,
    /// All four classical ones.
    All,
    /// The spread flow's learned prior (manifold-prior's FlowEstimator, trained on the data).
    Flow,
}

#[derive(clap::Args, Debug)]
struct GenerateArgs {
    /// Generator name (see `mflow datasets`), e.g. swiss-roll, sphere-3, linear-2-in-10.
    name: String,
    /// Number of samples.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    n: u64,
    /// Seed of the random streams (same seed, same file).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Standard deviation of isotropic Gaussian noise added in the ambient space.
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// Embed into this many dimensions by a seeded random rotation.
    #[arg(long)]
    embed: Option<usize>,
    /// Output file: .csv (with a header x1,x2,...) or .npy.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mflow: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Id(args) => id(&args),
        Command::Datasets => {
            datasets_list();
            Ok(())
        }
        Command::Generate(args) => generate(&args),
        Command::Version => {
            println!("mflow {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    }
}

/// The estimators `which` selects, configured for neighbourhood size `k` (the flow for
/// `steps` steps, if given, and `seed`).
fn estimators(which: Which, k: Option<u64>, steps: Option<u64>, seed: u64) -> anyhow::Result<Vec<Box<dyn Estimator>>> {
    let k = usize::try_from(k.unwrap_or(20)).context("--k is too large")?;
    let mle = || Box::new(Mle::new(k)) as Box<dyn Estimator>;
    let twonn = || Box::new(TwoNn::default()) as Box<dyn Estimator>;
    let lpca = || Box::new(Pca::default()) as Box<dyn Estimator>;
    let corr = || Box::new(CorrelationDimension::new(k / 2, k)) as Box<dyn Estimator>;
    Ok(match which {
        Which::Mle => vec![mle()],
        Which::Twonn => vec![twonn()],
        Which::Lpca => vec![lpca()],
        Which::Corrdim => vec![corr()],
        Which::All => vec![mle(), twonn(), lpca(), corr()],
        Which::Flow => {
            let d = manifold_prior::FlowEstimator::default();
            let mut train = d.train.clone().with_seed(seed);
            if let Some(steps) = steps {
                train = train.with_steps(usize::try_from(steps).context("--steps is too large")?);
            }
            vec![Box::new(manifold_prior::FlowEstimator { train, ..d }) as Box<dyn Estimator>]
        }
    })
}

/// Each estimator's result and its own time; the neighbour graph (if any) and its time.
struct Run {
    results: Vec<(String, Estimate, f64)>,
    knn: Option<(usize, f64)>,
}

fn estimate(data: MatRef<'_, f64>, ests: &[Box<dyn Estimator>], file: &Path) -> anyhow::Result<Run> {
    let k = ests.iter().map(|e| e.neighbours()).max().unwrap_or(0);
    let mut knn = None;
    let graph = if k > 0 {
        let t = Instant::now();
        let g = KnnGraph::build(data, k)
            .with_context(|| format!("{}: k-nearest-neighbour search (k = {k})", file.display()))?;
        knn = Some((k, t.elapsed().as_secs_f64()));
        Some(g)
    } else {
        None
    };
    let mut results = Vec::new();
    for e in ests {
        let t = Instant::now();
        let r = match &graph {
            Some(g) if e.neighbours() > 0 => e.estimate_with_graph(data, g),
            _ => e.estimate(data),
        };
        let r = r.with_context(|| format!("{}: estimator {}", file.display(), e.name()))?;
        results.push((e.name().to_owned(), r, t.elapsed().as_secs_f64()));
    }
    Ok(Run { results, knn })
}

fn id(args: &IdArgs) -> anyhow::Result<()> {
    // DataError's message names the file and includes its cause; flatten it so the cause is
    // not printed twice.
    let ds = datasets::load(&args.file).map_err(|e| anyhow::anyhow!("cannot read data: {e}"))?;
    let (n, d) = (ds.data.nrows(), ds.data.ncols());
    if n == 0 || d == 0 {
        bail!("{}: the file holds no samples", args.file.display());
    }
    if args.estimator != Which::Flow && args.steps.is_some() {
        bail!("--steps applies to --estimator flow only");
    }
    let ests = estimators(args.estimator, args.k, args.steps, args.seed)?;
    let run = estimate(ds.data.as_ref(), &ests, &args.file)?;
    if args.json {
        let estimates: serde_json::Map<String, serde_json::Value> =
            run.results.iter().map(|(name, e, _)| (name.clone(), json!(e.dimension))).collect();
        let seconds: serde_json::Map<String, serde_json::Value> =
            run.results.iter().map(|(name, _, s)| (name.clone(), json!(s))).collect();
        let out = json!({
            "n": n,
            "d": d,
            "estimates": estimates,
            "seconds": seconds,
            "knn_seconds": run.knn.map_or(0.0, |(_, s)| s),
        });
        println!("{out}");
    } else {
        println!("{}: n = {n} samples, d = {d} dimensions", args.file.display());
        println!("{:<10} {:>10} {:>10}", "estimator", "estimate", "seconds");
        for (name, e, s) in &run.results {
            println!("{name:<10} {:>10.4} {s:>10.4}", e.dimension);
        }
        if let Some((k, s)) = run.knn {
            println!("k-nearest-neighbour search (k = {k}, shared): {s:.4} s");
        }
        for (name, e, _) in &run.results {
            if let Some(skipped) = e.diagnostic("skipped_duplicates").filter(|&s| s > 0.0) {
                println!("note: {name} skipped {skipped} points that have a duplicate");
            }
            let spectrum: Vec<String> = (0..d)
                .map_while(|k| e.diagnostic(&format!("data_eigenvalue_{k}")))
                .map(|v| format!("{v:.3e}"))
                .collect();
            if !spectrum.is_empty() {
                println!(
                    "note: {name}: eigenvalues of the encoded data's covariance (standardised units): {}",
                    spectrum.join(" ")
                );
            }
        }
    }
    Ok(())
}

fn datasets_list() {
    println!("{:<20} {:>4} {:>8}", "name", "id", "ambient");
    for m in datasets::all_manifolds() {
        println!("{:<20} {:>4} {:>8}", m.name(), m.intrinsic_dim(), m.ambient_dim());
    }
    println!();
    println!("Any dimensions: sphere-K (ambient K+1), linear-K-in-D, hypercube-K-in-D.");
    println!("mflow generate NAME --n N --seed S [--noise STD] [--embed D] -o FILE.csv|FILE.npy");
}

fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let m = Manifold::from_name(&args.name).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !(args.noise >= 0.0 && args.noise.is_finite()) {
        bail!("--noise must be a finite standard deviation >= 0, got {}", args.noise);
    }
    let n = usize::try_from(args.n).context("--n is too large")?;
    let mut opts = GenerateOptions::new(n, args.seed).noise(args.noise);
    if let Some(dim) = args.embed {
        if dim < m.ambient_dim() {
            bail!("--embed {dim} is below {}'s ambient dimension {}", m.name(), m.ambient_dim());
        }
        opts = opts.embed(dim);
    }
    let ds = m.generate(&opts);
    let path = &args.output;
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => {
            let names: Vec<String> = (1..=ds.data.ncols()).map(|j| format!("x{j}")).collect();
            let header: Vec<&str> = names.iter().map(String::as_str).collect();
            datasets::write_csv(path, ds.data.as_ref(), Some(&header)).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Some("npy") => datasets::write_npy(path, ds.data.as_ref()).map_err(|e| anyhow::anyhow!("{e}"))?,
        _ => bail!("{}: the output name must end in .csv or .npy", path.display()),
    }
    eprintln!(
        "wrote {} samples of {} (intrinsic dimension {}, {} columns) to {}",
        ds.data.nrows(),
        m.name(),
        m.intrinsic_dim(),
        ds.data.ncols(),
        path.display()
    );
    Ok(())
}
