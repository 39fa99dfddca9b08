//! `mflow`: intrinsic dimension and manifold flows on your own data files.
//!
//! `mflow id FILE` runs the classical estimators of `intrinsic-dim` on a CSV, NPY or IDX file
//! (searching neighbours once for all of them) or, with `--estimator flow`, trains a spread
//! flow and reads the dimension off it; `mflow fit FILE -o MODEL` fits a flow and saves it as
//! a model folder, which `sample`, `encode`, `log-prob` and `inspect` use; `mflow datasets`
//! lists the toy-manifold generators of `datasets`, and `mflow generate` writes one to a file.

mod model_cmds;
mod picture;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use datasets::{CsvOptions, DataError, GenerateOptions, Header, Manifold, human_bytes};
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
    /// FILE holds one sample per row: CSV/text (comma, semicolon or whitespace separated; a
    /// header line is detected, see --header, and the decision is printed), NumPy .npy (2-D),
    /// or IDX (MNIST; images are flattened), optionally gzip-compressed (several members
    /// allowed). At most --max-bytes are read. Exact k-nearest neighbours are searched once
    /// and shared by the estimators.
    ///
    /// Defaults follow scikit-dimension 0.5 (skdim.id): mle = MLE with k = 20 neighbours and
    /// the harmonic mean of the local estimates; twonn = TwoNN discarding the largest 10% of
    /// ratios, linear fit through the origin; lpca = global PCA with the Fukunaga-Olsen rule,
    /// alpha = 0.05; corrdim = CorrInt between the median 10th and 20th neighbour distances.
    /// Points with a duplicate (nearest neighbour at distance 0) are skipped by mle and twonn.
    ///
    /// flow (not part of `all`) trains an ensemble of --members spread flows on the data
    /// (manifold-prior's EnsembleFlowEstimator: noise s = 0.1 added to the standardised data,
    /// --steps steps each, data wider than 64 columns first projected on their 64 leading
    /// principal components) and reads the encoded data's spectra together. When the
    /// spectrum has a clear gap (the largest log-gap at least 2.5 times the next, every member
    /// agreeing) the answer is its position; otherwise the output says "no clear gap" and
    /// gives the median count of directions above the training noise with an interval (the
    /// count at noise variances 2 s^2 and s^2 / 2 over the members): on real data such as
    /// the digits that is the usual case, and the interval is the honest answer. The
    /// comparison with mle and twonn is `cargo xtask reproduce id-compare` (warped
    /// K-manifolds in 64 and 784 dimensions, digits, MNIST; committed results in
    /// docs/results/id-compare, 10 seeds): on the warped manifolds it read K exactly in every
    /// seed run, where mle and twonn were off; on digits and MNIST it found no clear gap in
    /// any run. It can be wrong on closed
    /// manifolds (circles, spheres, tori) and with
    /// noise above the manifold's curvature radius. Identical rows and fewer than 21 samples
    /// are refused, as the classical estimators refuse them.
    #[command(verbatim_doc_comment)]
    Id(IdArgs),
    /// Fit a flow to the data in FILE and save it as a model folder.
    ///
    /// The default is the spread flow for your own vector data (global scaling, 10% of the
    /// rows held out for a validation loss, 6 additive couplings, the manifold prior with
    /// spread s = 0.01 on the latent codes, 10,000 steps); --preset picks another starting
    /// point, --config FILE.json changes any part of it, and the flags below the most common
    /// settings. IDX image files (and --image C,H,W) use the paper's image flow. The model
    /// folder holds model.json (every setting, the training summary), weights.safetensors
    /// (readable from Python) and training.csv; docs/model-format.md describes them.
    #[command(verbatim_doc_comment)]
    Fit(model_cmds::FitArgs),
    /// Draw samples from a fitted model (CSV, NPY, or a PNG picture).
    Sample(model_cmds::SampleArgs),
    /// Encode data with a fitted model: the latent codes, or their projection on the
    /// prior's top K directions (--top K).
    Encode(model_cmds::EncodeArgs),
    /// The log-density of each row of the data under a fitted model, and bits per dimension.
    LogProb(model_cmds::LogProbArgs),
    /// Describe a fitted model: architecture, parameters, training, the prior's spectrum and,
    /// with --data, the intrinsic dimension by every rule.
    Inspect(model_cmds::InspectArgs),
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
    /// Neighbours: MLE's k and CorrInt's k2 (with k1 = K / 2). Default 20, skdim's. Only mle
    /// and corrdim have a k: it is refused with twonn, lpca and flow alone, and noted with all.
    #[arg(long, value_parser = clap::value_parser!(u64).range(4..))]
    k: Option<u64>,
    /// Whether the first line of a text file is a header: auto (a header when its fields are
    /// not numbers, or are exactly 0,1,...,d-1 as pandas writes), yes, or no.
    #[arg(long, value_enum, default_value_t = HeaderArg::Auto)]
    header: HeaderArg,
    /// Most bytes to read from FILE (after decompression) and most memory for the neighbour
    /// graph: a number with an optional K, M, G or T suffix (powers of 1024).
    #[arg(long, value_parser = parse_size, default_value = "1G")]
    max_bytes: u64,
    /// Print exactly one JSON object on stdout:
    /// {"n", "d", "estimates": {name: value}, "seconds": {name: s}, "knn_seconds",
    ///  "text": {"delimiter", "header": names or null, "header_reason", "byte_order_mark"}}
    /// (`text` only for text files). `seconds` are each estimator's own time; the shared
    /// neighbour search is `knn_seconds`. With --estimator flow also "flow":
    /// {"dimension", "interval": [low, high], "clear_gap", "gap_ratio", "gap_position",
    ///  "verdict", "spectrum", "member_counts", "member_gap_positions", "working_dim",
    ///  "spread", "seeds"}.
    #[arg(long, verbatim_doc_comment)]
    json: bool,
    /// Training steps of each member of `--estimator flow` (default 3000; fewer can be wrong).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    steps: Option<u64>,
    /// Members of `--estimator flow`, trained with seeds SEED * MEMBERS + m (default 4).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    members: Option<u64>,
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

/// `--header`: how the first line of a text file is read.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum HeaderArg {
    /// A header when its fields are not numbers or are exactly 0,1,...,d-1.
    Auto,
    /// The first line is a header.
    Yes,
    /// Every line is data.
    No,
}

impl From<HeaderArg> for Header {
    fn from(h: HeaderArg) -> Header {
        match h {
            HeaderArg::Auto => Header::Auto,
            HeaderArg::Yes => Header::Yes,
            HeaderArg::No => Header::No,
        }
    }
}

/// A byte count: digits with an optional `K`, `M`, `G` or `T` suffix (powers of 1024; a
/// trailing `B` or `iB` is allowed).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_uppercase();
    let t = t.strip_suffix("IB").or_else(|| t.strip_suffix('B')).unwrap_or(&t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'K')) => (&t[..i], 10),
        Some((i, 'M')) => (&t[..i], 20),
        Some((i, 'G')) => (&t[..i], 30),
        Some((i, 'T')) => (&t[..i], 40),
        _ => (t, 0),
    };
    let n: u64 = digits.trim().parse().map_err(|_| format!("{text:?} is not a size like 512M or 4G"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("{text:?} is more than 2^64 bytes"))
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
    /// Output file: .csv (with a header x1,x2,...) or .npy, written atomically.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Most memory the generator may allocate: a number with an optional K, M, G or T suffix
    /// (powers of 1024). Larger requests are refused with the estimate.
    #[arg(long, value_parser = parse_size, default_value = "1G")]
    max_bytes: u64,
}

/// A data error as the command line should say it: the library's message, plus the flag
/// that changes the outcome where there is one.
fn data_error(e: DataError) -> anyhow::Error {
    let hint = match &e {
        DataError::TooLarge { .. } | DataError::DeclaredTooLarge { .. } | DataError::GenerateTooLarge { .. } => {
            " (raise the limit with --max-bytes)"
        }
        DataError::MixedHeader { .. } => " (say --header yes or --header no)",
        _ => "",
    };
    // DataError's message names the file and includes its cause: keep it as one message so
    // the cause is not printed twice.
    anyhow::anyhow!("{e}{hint}")
}

/// A data file read for the model commands.
pub(crate) struct DataFile {
    /// The samples, one per row.
    pub data: faer::Mat<f64>,
    /// The image shape of each row, for IDX image files.
    pub image: Option<manifold_prior::flow_core::ImageShape>,
    /// How a text file was read (delimiter, header decision), for the user.
    pub note: Option<String>,
}

/// Read a data file (CSV, NPY or IDX, gzip allowed; the header detected), refusing an empty
/// one, with errors that name the file and the problem.
pub(crate) fn read_data(path: &Path) -> anyhow::Result<DataFile> {
    let loaded =
        datasets::load_detailed(path, &CsvOptions::default()).map_err(|e| data_error(e).context("cannot read data"))?;
    let data = loaded.dataset.data;
    if data.nrows() == 0 || data.ncols() == 0 {
        bail!("{}: the file holds no samples", path.display());
    }
    let image = match loaded.sample_shape.as_deref() {
        Some(&[h, w]) => Some(manifold_prior::flow_core::ImageShape::new(1, h, w)),
        Some(&[c, h, w]) => Some(manifold_prior::flow_core::ImageShape::new(c, h, w)),
        _ => None,
    };
    let note = loaded.layout.map(|l| format!("{}: read as {l}", path.display()));
    Ok(DataFile { data, image, note })
}

/// Write a matrix to `path` as CSV (columns `{prefix}1..`) or NPY, by the extension.
pub(crate) fn write_matrix(path: &Path, x: MatRef<'_, f64>, prefix: &str) -> anyhow::Result<()> {
    match model_cmds::extension(path).as_deref() {
        Some("csv") => {
            let names: Vec<String> = if x.ncols() == 1 {
                vec![prefix.to_owned()]
            } else {
                (1..=x.ncols()).map(|j| format!("{prefix}{j}")).collect()
            };
            let header: Vec<&str> = names.iter().map(String::as_str).collect();
            datasets::write_csv(path, x, Some(&header)).map_err(data_error)
        }
        Some("npy") => datasets::write_npy(path, x).map_err(data_error),
        _ => bail!("{}: the output name must end in .csv or .npy", path.display()),
    }
}

/// Write bytes to `path` through a temporary file renamed into place.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    manifold_prior::flow_core::io::write_atomic(path, bytes).map_err(|e| anyhow::anyhow!("{e}"))
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
        Command::Fit(args) => model_cmds::fit_cmd(&args),
        Command::Sample(args) => model_cmds::sample_cmd(&args),
        Command::Encode(args) => model_cmds::encode_cmd(&args),
        Command::LogProb(args) => model_cmds::log_prob_cmd(&args),
        Command::Inspect(args) => model_cmds::inspect_cmd(&args),
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
        Which::Flow => vec![Box::new(flow_estimator(steps, None, seed)?) as Box<dyn Estimator>],
    })
}

/// The ensemble flow estimator with the command line's steps, members and seed.
fn flow_estimator(
    steps: Option<u64>,
    members: Option<u64>,
    seed: u64,
) -> anyhow::Result<manifold_prior::EnsembleFlowEstimator> {
    let mut e = manifold_prior::EnsembleFlowEstimator::default().with_seed(seed);
    if let Some(steps) = steps {
        e = e.with_steps(usize::try_from(steps).context("--steps is too large")?);
    }
    if let Some(m) = members {
        e.members = usize::try_from(m).context("--members is too large")?;
    }
    Ok(e)
}

/// `mflow id --estimator flow`: the ensemble's verdict (a dimension with a clear gap, or an
/// interval and "no clear gap"), its spectrum and members, as text or JSON.
fn flow_id(args: &IdArgs, data: MatRef<'_, f64>, layout: Option<&datasets::TextLayout>) -> anyhow::Result<()> {
    let (n, d) = (data.nrows(), data.ncols());
    let est = flow_estimator(args.steps, args.members, args.seed)?;
    let start = std::time::Instant::now();
    let id = est.estimate_detailed(data).with_context(|| format!("{}: estimator flow", args.file.display()))?;
    let seconds = start.elapsed().as_secs_f64();
    let r = &id.readoff;
    if args.json {
        let mut out = json!({
            "n": n,
            "d": d,
            "estimates": {"flow": r.dimension},
            "seconds": {"flow": seconds},
            "knn_seconds": 0.0,
            "flow": {
                "dimension": r.dimension,
                "interval": [r.interval.0, r.interval.1],
                "clear_gap": r.clear_gap,
                "gap_ratio": if r.gap_ratio.is_finite() { json!(r.gap_ratio) } else { json!("inf") },
                "gap_position": r.gap_position,
                "verdict": id.verdict(),
                "spectrum": r.spectrum,
                "member_counts": r.member_counts,
                "member_gap_positions": r.member_gap_positions,
                "working_dim": id.working_dim,
                "spread": id.spread,
                "seeds": id.seeds,
            },
        });
        if let Some(layout) = layout {
            out["text"] = text_json(layout);
        }
        println!("{out}");
    } else {
        println!("{}: n = {n} samples, d = {d} dimensions", args.file.display());
        if let Some(layout) = layout {
            println!("read as {layout}");
        }
        println!("flow: {}", id.verdict());
        println!(
            "flow: {} members ({} steps each, seeds {:?}), working dimension {}, {seconds:.1} s",
            id.seeds.len(),
            est.member.train.steps,
            id.seeds,
            id.working_dim
        );
        println!(
            "flow: each member's count above s^2: {:?}; its largest-gap position: {:?}",
            r.member_counts, r.member_gap_positions
        );
        let spectrum: Vec<String> = r.spectrum.iter().map(|v| format!("{v:.3e}")).collect();
        println!(
            "note: flow: eigenvalues of the encoded data's covariance (standardised units, geometric mean over members): {}",
            spectrum.join(" ")
        );
    }
    Ok(())
}

/// The `text` object of `--json` for a text file's layout.
fn text_json(layout: &datasets::TextLayout) -> serde_json::Value {
    json!({
        "delimiter": layout.delimiter.to_string(),
        "header": layout.header,
        "header_reason": format!("{:?}", layout.header_reason),
        "byte_order_mark": layout.byte_order_mark,
    })
}

/// Each estimator's result and its own time; the neighbour graph (if any) and its time.
struct Run {
    results: Vec<(String, Estimate, f64)>,
    knn: Option<(usize, f64)>,
}

/// Run the estimators through [`intrinsic_dim::estimate_all_timed`] (one shared neighbour
/// search); the first error names the file and the estimator.
fn estimate(data: MatRef<'_, f64>, ests: &[Box<dyn Estimator>], file: &Path) -> anyhow::Result<Run> {
    let refs: Vec<&dyn Estimator> = ests.iter().map(|e| e.as_ref()).collect();
    let timed = intrinsic_dim::estimate_all_timed(data, &refs);
    let mut results = Vec::new();
    for (e, (r, seconds)) in ests.iter().zip(timed.results) {
        let r = r.with_context(|| format!("{}: estimator {}", file.display(), e.name()))?;
        results.push((e.name().to_owned(), r, seconds));
    }
    Ok(Run { results, knn: timed.neighbour_search })
}

fn id(args: &IdArgs) -> anyhow::Result<()> {
    if args.estimator != Which::Flow && (args.steps.is_some() || args.members.is_some()) {
        bail!("--steps and --members apply to --estimator flow only");
    }
    if let Some(k) = args.k {
        match args.estimator {
            Which::Mle | Which::Corrdim => {}
            Which::All => eprintln!("note: --k {k} applies to mle and corrdim; twonn and lpca have no k"),
            other => bail!(
                "--k applies to mle and corrdim only; {} has no k",
                other.to_possible_value().map_or_else(String::new, |v| v.get_name().to_owned())
            ),
        }
    }
    let opts = CsvOptions::default().header(args.header.into()).max_bytes(args.max_bytes);
    let loaded = datasets::load_detailed(&args.file, &opts).map_err(|e| data_error(e).context("cannot read data"))?;
    let ds = loaded.dataset;
    let (n, d) = (ds.data.nrows(), ds.data.ncols());
    if n == 0 || d == 0 {
        bail!("{}: the file holds no samples", args.file.display());
    }
    if args.estimator == Which::Flow {
        return flow_id(args, ds.data.as_ref(), loaded.layout.as_ref());
    }
    let ests = estimators(args.estimator, args.k, args.steps, args.seed)?;
    let k = ests.iter().map(|e| e.neighbours()).max().unwrap_or(0);
    if k > 0 && k < n {
        let bytes = KnnGraph::bytes_needed(n, d, k);
        if bytes.is_none_or(|b| b > args.max_bytes) {
            bail!(
                "{}: the neighbour graph of {n} points with k = {k} needs {}, above --max-bytes {} ({})",
                args.file.display(),
                bytes.map_or_else(|| "more than 2^64 bytes".to_owned(), |b| format!("{b} bytes ({})", human_bytes(b))),
                args.max_bytes,
                human_bytes(args.max_bytes)
            );
        }
    }
    let run = estimate(ds.data.as_ref(), &ests, &args.file)?;
    if args.json {
        let estimates: serde_json::Map<String, serde_json::Value> =
            run.results.iter().map(|(name, e, _)| (name.clone(), json!(e.dimension))).collect();
        let seconds: serde_json::Map<String, serde_json::Value> =
            run.results.iter().map(|(name, _, s)| (name.clone(), json!(s))).collect();
        let mut out = json!({
            "n": n,
            "d": d,
            "estimates": estimates,
            "seconds": seconds,
            "knn_seconds": run.knn.map_or(0.0, |(_, s)| s),
        });
        if let Some(layout) = &loaded.layout {
            out["text"] = text_json(layout);
        }
        println!("{out}");
    } else {
        println!("{}: n = {n} samples, d = {d} dimensions", args.file.display());
        if let Some(layout) = &loaded.layout {
            println!("read as {layout}");
        }
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
    println!("Any dimensions: sphere-K (ambient K+1), linear-K-in-D, hypercube-K-in-D, warped-K-in-D.");
    println!("mflow generate NAME --n N --seed S [--noise STD] [--embed D] -o FILE.csv|FILE.npy");
}

fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let m = Manifold::from_name(&args.name).map_err(data_error)?;
    if !(args.noise >= 0.0 && args.noise.is_finite()) {
        bail!("--noise must be a finite standard deviation >= 0, got {:e}", args.noise);
    }
    let path = &args.output;
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("csv" | "npy")) {
        bail!("{}: the output name must end in .csv or .npy", path.display());
    }
    let n = usize::try_from(args.n).context("--n is too large")?;
    let mut opts = GenerateOptions::new(n, args.seed).noise(args.noise);
    if let Some(dim) = args.embed {
        if dim < m.ambient_dim() {
            bail!("--embed {dim} is below {}'s ambient dimension {}", m.name(), m.ambient_dim());
        }
        opts = opts.embed(dim);
    }
    let ds = m.try_generate(&opts, args.max_bytes).map_err(data_error)?;
    if ext.as_deref() == Some("csv") {
        let names: Vec<String> = (1..=ds.data.ncols()).map(|j| format!("x{j}")).collect();
        let header: Vec<&str> = names.iter().map(String::as_str).collect();
        datasets::write_csv(path, ds.data.as_ref(), Some(&header)).map_err(data_error)?;
    } else {
        datasets::write_npy(path, ds.data.as_ref()).map_err(data_error)?;
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
