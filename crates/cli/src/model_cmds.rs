//! `mflow fit` (a flow fitted to a data file, saved as a model folder) and the commands that
//! use a fitted model: `sample`, `encode`, `log-prob` and `inspect`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::ValueEnum;
use faer::Mat;
use indicatif::{ProgressBar, ProgressStyle};
use manifold_prior::flow_core::{CouplingTransform, ImageShape, LogScale};
use manifold_prior::{
    Architecture, CheckpointConfig, DataSource, FitConfig, FitOptions, FittedModel, FlowModel, ImageFlow, MeanMode,
    PriorConfig, ReadoffRule, RuleKind, ScalingMode, SpreadConfig, SpreadNoise, SpreadPlacement, TrainError,
    TrainEvent, TrainObserver, fit,
};
use serde_json::json;

use crate::{DataFile, picture, read_data, write_matrix};

/// The coupling transforms `--transform` chooses.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransformArg {
    /// `z2 = x2 + t(x1)` (NICE): volume-preserving.
    Additive,
    /// `z2 = x2 exp(s(x1)) + t(x1)` with tanh-bounded log-scales (RealNVP): not volume-preserving.
    Affine,
    /// Affine with log-scales centred to sum to zero: volume-preserving.
    MeanCentred,
}

/// The priors `--prior` chooses.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorArg {
    /// `N(0, I)`, maximum likelihood (needs no volume preservation).
    Standard,
    /// A learned diagonal Gaussian, maximum likelihood.
    Diagonal,
    /// The manifold prior `N(mu, A A^T)` with the spread-KL objective (the method).
    Spread,
}

/// `mflow fit`'s arguments.
#[derive(clap::Args, Debug)]
pub struct FitArgs {
    /// The data file (CSV, NPY or IDX; gzip allowed), one sample per row.
    pub data: PathBuf,
    /// The model folder to write (model.json, weights.safetensors, training.csv).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// The starting configuration: default (your own vector data: global scaling, 10% held
    /// out, 6 additive couplings, the spread prior with s = 0.01), fig1, paper-fig1,
    /// paper-fading-squares or id-default.
    #[arg(long, default_value = "default")]
    pub preset: String,
    /// A JSON file of settings applied over the preset: any part of the "config" object of a
    /// model.json (e.g. {"training": {"lr": 0.0005}}).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Training steps.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,
    /// Seed of the initialisation, the batches and the noise.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Samples per step.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: Option<u64>,
    /// Coupling layers (vector flows).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub couplings: Option<u64>,
    /// Hidden widths of the conditioner MLPs, comma-separated (e.g. 64,64).
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// The coupling transform (vector flows).
    #[arg(long, value_enum)]
    pub transform: Option<TransformArg>,
    /// The prior and its objective.
    #[arg(long, value_enum)]
    pub prior: Option<PriorArg>,
    /// The spread scale s of the spread prior (standardised units).
    #[arg(long)]
    pub spread: Option<f64>,
    /// How the spread noise is drawn.
    #[arg(long, value_enum)]
    pub spread_noise: Option<SpreadNoise>,
    /// Where the spread noise enters: on the latent codes (the paper) or on the data.
    #[arg(long, value_enum)]
    pub placement: Option<SpreadPlacement>,
    /// Standardisation of the data.
    #[arg(long, value_enum)]
    pub scaling: Option<ScalingMode>,
    /// Fraction of the rows held out for the validation loss.
    #[arg(long)]
    pub validation: Option<f64>,
    /// Treat each row as an image of C channels of H x W pixels (channel-major) and use the
    /// paper's image flow; IDX image files are images without this flag.
    #[arg(long, value_name = "C,H,W", value_delimiter = ',', num_args = 3)]
    pub image: Option<Vec<usize>>,
    /// Write a checkpoint every N steps into MODEL_DIR/checkpoint (removed at the end).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// Continue an interrupted run from MODEL_DIR/checkpoint (with the same settings).
    #[arg(long)]
    pub resume: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Merge `patch` into `base`: objects key by key, anything else replaced. An object that
/// names another variant of an enum replaces the old one whole instead of merging with it:
/// another `kind` (internally tagged, `{"kind": "standard"}` over a spread prior) or another
/// single key (externally tagged, `{"cosine-tail": {...}}` over `{"step-tail": {...}}`), so
/// no field of the old variant is left behind.
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    use serde_json::Value::Object;
    let other_variant = match (&*base, &patch) {
        (Object(b), Object(p)) => {
            let other_kind = p.get("kind").is_some_and(|k| b.get("kind") != Some(k));
            let other_key = b.len() == 1 && p.len() == 1 && b.keys().ne(p.keys());
            other_kind || other_key
        }
        _ => false,
    };
    match (base, patch) {
        (b, p) if other_variant => *b = p,
        (Object(b), Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// The configuration the arguments describe: the preset, the file over it, the flags over
/// both, and the image family for image data.
fn configuration(args: &FitArgs, image: Option<ImageShape>) -> anyhow::Result<FitConfig> {
    let preset = FitConfig::preset(&args.preset)
        .with_context(|| format!("unknown preset '{}' (known: {})", args.preset, FitConfig::PRESETS.join(", ")))?;
    let mut config = match &args.config {
        None => preset,
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
            let patch: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))?;
            let mut value = serde_json::to_value(&preset)?;
            merge(&mut value, patch);
            serde_json::from_value(value).with_context(|| format!("{}: not a fit configuration", path.display()))?
        }
    };
    let t = &mut config.training;
    if let Some(steps) = args.steps {
        t.steps = usize::try_from(steps).context("--steps is too large")?;
    }
    if let Some(seed) = args.seed {
        t.seed = seed;
    }
    if let Some(lr) = args.lr {
        t.lr = lr;
    }
    if let Some(b) = args.batch_size {
        t.batch_size = usize::try_from(b).context("--batch-size is too large")?;
    }
    if let Some(v) = args.validation {
        config.data.validation_fraction = v;
    }
    if let Some(s) = args.scaling {
        config.data.scaling = s;
    }
    if let Some(shape) = image {
        if !matches!(&config.architecture, Architecture::Image(i) if i.image == shape) {
            config.architecture = Architecture::Image(ImageFlow::paper(shape));
        }
    }
    match &mut config.architecture {
        Architecture::Vector(v) => {
            if let Some(c) = args.couplings {
                v.couplings = usize::try_from(c).context("--couplings is too large")?;
            }
            if let Some(h) = &args.hidden {
                v.hidden.clone_from(h);
            }
            if let Some(t) = args.transform {
                v.transform = match t {
                    TransformArg::Additive => CouplingTransform::Additive,
                    TransformArg::Affine => CouplingTransform::Affine(LogScale::Tanh),
                    TransformArg::MeanCentred => CouplingTransform::Affine(LogScale::MeanCentred),
                };
            }
        }
        Architecture::Image(i) => {
            if args.couplings.is_some() || args.transform.is_some() {
                bail!("--couplings and --transform apply to vector flows; the image flow's are in --config");
            }
            if let Some(h) = &args.hidden {
                i.dense_hidden.clone_from(h);
            }
        }
    }
    let mean = match config.prior {
        PriorConfig::Spread { mean, .. } | PriorConfig::Diagonal { mean } => mean,
        PriorConfig::Standard => MeanMode::Fixed,
    };
    if let Some(p) = args.prior {
        config.prior = match (p, config.prior) {
            (PriorArg::Standard, _) => PriorConfig::Standard,
            (PriorArg::Diagonal, _) => PriorConfig::Diagonal { mean: MeanMode::Learned },
            (PriorArg::Spread, PriorConfig::Spread { .. }) => config.prior,
            (PriorArg::Spread, _) => PriorConfig::Spread { spread: SpreadConfig::paper(), mean },
        };
    }
    let spread_flags = args.spread.is_some() || args.spread_noise.is_some() || args.placement.is_some();
    match &mut config.prior {
        PriorConfig::Spread { spread, .. } => {
            if let Some(s) = args.spread {
                spread.spread = s;
            }
            if let Some(n) = args.spread_noise {
                spread.spread_noise = n;
            }
            if let Some(p) = args.placement {
                spread.placement = p;
            }
        }
        _ if spread_flags => {
            bail!("--spread, --spread-noise and --placement apply to the spread prior (--prior spread)")
        }
        _ => {}
    }
    config.validate()?;
    Ok(config)
}

/// A training observer drawing a progress bar: step, loss, validation loss and ETA. Hidden
/// when stderr is not a terminal, `CI` is set, or under `--quiet`.
struct Progress {
    bar: ProgressBar,
    validation: Option<f64>,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        let shown = !quiet && std::env::var_os("CI").is_none() && std::io::stderr().is_terminal();
        let bar = if shown { ProgressBar::new(0) } else { ProgressBar::hidden() };
        let style = ProgressStyle::with_template("{bar:30.cyan/blue} {pos:>7}/{len:7} eta {eta:>4}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Self { bar, validation: None }
    }
}

impl TrainObserver<FlowModel> for Progress {
    fn on_event(&mut self, event: &TrainEvent<'_>, _model: &FlowModel) {
        match *event {
            TrainEvent::Started { done, steps } => {
                self.bar.set_length(steps as u64);
                self.bar.set_position(done as u64);
            }
            TrainEvent::Validation { loss, .. } => self.validation = Some(loss),
            TrainEvent::Step { step, loss } if step % 10 == 0 => {
                self.bar.set_position(step as u64);
                let validation = self.validation.map_or(String::new(), |v| format!("  validation {v:.4}"));
                self.bar.set_message(format!("loss {loss:.4}{validation}"));
            }
            _ => {}
        }
    }
}

/// `mflow fit`.
pub fn fit_cmd(args: &FitArgs) -> anyhow::Result<()> {
    let DataFile { data, image, note } = read_data(&args.data)?;
    let image = match (&args.image, image) {
        (Some(c), _) => Some(ImageShape::new(c[0], c[1], c[2])),
        (None, image) => image,
    };
    if let Some(shape) = image {
        if shape.len() != data.ncols() {
            bail!(
                "{}: --image {}x{}x{} is {} values per row but the file has {} columns",
                args.data.display(),
                shape.channels,
                shape.height,
                shape.width,
                shape.len(),
                data.ncols()
            );
        }
    }
    let config = configuration(args, image)?;
    if !args.json {
        if let Some(note) = note {
            eprintln!("{note}");
        }
    }
    let checkpoint_dir = args.output.join("checkpoint");
    let checkpoint = args
        .checkpoint_every
        .map(|every| -> anyhow::Result<CheckpointConfig> {
            Ok(CheckpointConfig {
                dir: checkpoint_dir.clone(),
                interval: usize::try_from(every).context("--checkpoint-every is too large")?,
            })
        })
        .transpose()?;
    if args.resume && !checkpoint_dir.join("config.json").is_file() {
        bail!("--resume: {} holds no checkpoint (start without --resume)", checkpoint_dir.display());
    }
    let checkpoint = match checkpoint {
        None if args.resume => Some(CheckpointConfig { dir: checkpoint_dir.clone(), interval: usize::MAX }),
        other => other,
    };
    let options = FitOptions { checkpoint, resume: args.resume };
    let mut progress = Progress::new(args.quiet || args.json);
    let start = Instant::now();
    let result = fit(DataSource::Fixed(data.as_ref()), &config, &options, &mut progress);
    progress.bar.finish_and_clear();
    let mut model = match result {
        Ok(model) => model,
        Err(TrainError::Diverged { step, cause, last_finite_loss }) => {
            let last = last_finite_loss.map_or("none".to_owned(), |l| format!("{l}"));
            bail!(
                "training diverged at step {step} (non-finite {cause}; last finite loss: {last}); try a lower \
                 learning rate, e.g. --lr {}",
                config.training.lr / 4.0
            )
        }
        Err(TrainError::ResumeMismatch { differences }) => {
            bail!(
                "--resume: the settings differ from the checkpoint's:\n  {}\n(start without --resume, or use the \
                 checkpoint's settings)",
                differences.join("\n  ")
            )
        }
        Err(e) => return Err(e).with_context(|| format!("{}: fitting", args.data.display())),
    };
    let seconds = start.elapsed().as_secs_f64();
    model.set_commit(env!("MFLOW_BUILD_COMMIT"));
    model.save(&args.output).with_context(|| format!("{}: saving the model", args.output.display()))?;
    if options.checkpoint.is_some() {
        std::fs::remove_dir_all(&checkpoint_dir).ok();
    }
    let id = model.intrinsic_dimension(data.as_ref())?.map(|id| id.estimate());
    let s = model.training_summary();
    if args.json {
        let out = json!({
            "model": args.output,
            "n_params": model.n_params(),
            "seconds": seconds,
            "steps": s.steps,
            "final_loss": s.final_loss,
            "final_validation_loss": s.final_validation_loss,
            "intrinsic_dimension": id,
        });
        println!("{out}");
        return Ok(());
    }
    println!("wrote {}: {} parameters, {} steps in {seconds:.1} s", args.output.display(), model.n_params(), s.steps);
    let validation = s.final_validation_loss.map_or(String::new(), |v| format!(", validation loss {v:.4}"));
    println!("final loss {:.4} (first step {:.4}){validation}", s.final_loss, s.initial_loss);
    if let Some(k) = id {
        println!(
            "intrinsic dimension (largest log-gap of the encoded data's spectrum): {k}; every rule: mflow inspect"
        );
    }
    Ok(())
}

/// `mflow sample`'s arguments.
#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// The model folder.
    pub model: PathBuf,
    /// Number of samples.
    #[arg(short = 'n', value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub n: u64,
    /// Output: .csv or .npy (the samples), or .png (an image grid for image models, a scatter
    /// plot of pairs of coordinates otherwise).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Temperature: the prior's deviation from its mean is scaled by T (1: the model; below
    /// 1: its typical part).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Draw the latent codes from the Gaussian of the codes of this data file (CSV, NPY or
    /// IDX; typically the training data: their mean and covariance under the trained flow)
    /// instead of the trained prior. For spread models whose prior is wider than their codes
    /// (docs/real-images.md: MNIST after 4,000 steps).
    #[arg(long, value_name = "DATA")]
    pub codes_of: Option<PathBuf>,
}

/// `mflow sample`.
pub fn sample_cmd(args: &SampleArgs) -> anyhow::Result<()> {
    if !(args.temperature >= 0.0 && args.temperature.is_finite()) {
        bail!("--temperature must be finite and >= 0, got {}", args.temperature);
    }
    let model = load_model(&args.model)?;
    let n = usize::try_from(args.n).context("-n is too large")?;
    let samples = match &args.codes_of {
        Some(path) => {
            let data = read_model_data(path, &model)?;
            model
                .sample_encoded_gaussian(data.as_ref(), n, args.seed, args.temperature)
                .with_context(|| format!("{}: sampling the Gaussian of its codes", path.display()))?
        }
        None => model.sample(n, args.seed, args.temperature),
    };
    match extension(&args.output).as_deref() {
        Some("png") => match &model.config().architecture {
            Architecture::Image(i) => picture::image_grid(&args.output, samples.as_ref(), i.image, 10)?,
            Architecture::Vector(_) => picture::scatter(&args.output, samples.as_ref())?,
        },
        _ => write_matrix(&args.output, samples.as_ref(), "x")?,
    }
    eprintln!("wrote {n} samples to {}", args.output.display());
    Ok(())
}

/// `mflow encode`'s arguments.
#[derive(clap::Args, Debug)]
pub struct EncodeArgs {
    /// The model folder.
    pub model: PathBuf,
    /// The data file (CSV, NPY or IDX; gzip allowed), one sample per row.
    pub data: PathBuf,
    /// Output: .csv or .npy, one row of latent codes per sample.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Project the codes on the prior's top K eigenvectors (the representation).
    #[arg(long, value_name = "K")]
    pub top: Option<usize>,
}

/// `mflow encode`.
pub fn encode_cmd(args: &EncodeArgs) -> anyhow::Result<()> {
    let model = load_model(&args.model)?;
    let data = read_model_data(&args.data, &model)?;
    let codes = model.encode(data.as_ref(), args.top).with_context(|| format!("{}: encoding", args.data.display()))?;
    write_matrix(&args.output, codes.as_ref(), "z")?;
    eprintln!("wrote {} codes of dimension {} to {}", codes.nrows(), codes.ncols(), args.output.display());
    Ok(())
}

/// `mflow log-prob`'s arguments.
#[derive(clap::Args, Debug)]
pub struct LogProbArgs {
    /// The model folder.
    pub model: PathBuf,
    /// The data file (CSV, NPY or IDX; gzip allowed), one sample per row.
    pub data: PathBuf,
    /// Output CSV: one log-density per sample (column `log_prob`).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `mflow log-prob`.
pub fn log_prob_cmd(args: &LogProbArgs) -> anyhow::Result<()> {
    let model = load_model(&args.model)?;
    let data = read_model_data(&args.data, &model)?;
    let lp = model.log_prob(data.as_ref()).with_context(|| format!("{}: scoring", args.data.display()))?;
    let column = Mat::from_fn(lp.len(), 1, |i, _| lp[i]);
    write_matrix(&args.output, column.as_ref(), "log_prob")?;
    let mean = lp.iter().sum::<f64>() / lp.len().max(1) as f64;
    let bits_per_dim = -mean / (model.dim() as f64 * std::f64::consts::LN_2);
    let kind = match model.model() {
        FlowModel::Spread(_) => "of the data convolved with the model's spread noise",
        FlowModel::Standard(_) => "exact",
    };
    if args.json {
        println!("{}", json!({ "n": lp.len(), "mean_log_prob": mean, "bits_per_dim": bits_per_dim }));
    } else {
        println!("mean log-density {mean:.4} nats ({kind}), {bits_per_dim:.4} bits per dimension");
        eprintln!("wrote {} log-densities to {}", lp.len(), args.output.display());
    }
    Ok(())
}

/// `mflow inspect`'s arguments.
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The model folder.
    pub model: PathBuf,
    /// Data for the encoded-data spectrum and the intrinsic dimension (default: the prior's
    /// spectrum only).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `mflow inspect`.
pub fn inspect_cmd(args: &InspectArgs) -> anyhow::Result<()> {
    let model = load_model(&args.model)?;
    let config = model.config();
    let s = model.training_summary();
    let (eigenvalues, average) = match model.model() {
        FlowModel::Spread(m) => {
            let e = manifold_prior::Model::prior_eigenvalues(m).context("the prior has no spectrum")?;
            (e.current, e.average)
        }
        FlowModel::Standard(_) => (Vec::new(), Vec::new()),
    };
    let id = match &args.data {
        Some(path) => {
            let data = read_model_data(path, &model)?;
            model.intrinsic_dimension(data.as_ref())?
        }
        None => None,
    };
    let rules: Vec<(String, usize)> = id
        .as_ref()
        .map_or_else(Vec::new, |id| rule_names().into_iter().map(|(name, rule)| (name, id.by(rule))).collect());
    if args.json {
        let out = json!({
            "config": config,
            "dim": model.dim(),
            "n_params": model.n_params(),
            "training": s,
            "prior_eigenvalues": eigenvalues,
            "average_prior_eigenvalues": average,
            "encoded_data_eigenvalues": id.as_ref().map(|id| &id.data_eigenvalues),
            "intrinsic_dimension": rules.iter().map(|(n, k)| (n.clone(), json!(k))).collect::<serde_json::Map<_, _>>(),
        });
        println!("{out}");
        return Ok(());
    }
    println!("{}: dimension {}, {} parameters", args.model.display(), model.dim(), model.n_params());
    println!("architecture: {}", serde_json::to_string(&config.architecture)?);
    println!("prior: {}", serde_json::to_string(&config.prior)?);
    println!(
        "training: {} steps in {:.1} s, final loss {:.4}{}",
        s.steps,
        s.seconds,
        s.final_loss,
        s.final_validation_loss.map_or(String::new(), |v| format!(", validation loss {v:.4}"))
    );
    if !eigenvalues.is_empty() {
        // The leading eigenvalues and the total variance of each spectrum: a prior much wider
        // than the encoded data samples where no data lie (`mflow sample --codes-of`).
        let top = |v: &[f64]| {
            let lead = v.iter().take(10).map(|x| format!("{x:.3e}")).collect::<Vec<_>>().join(" ");
            format!("{lead} (total {:.3e})", v.iter().sum::<f64>())
        };
        println!("top eigenvalues of A A^T: {}", top(&eigenvalues));
        println!("  (moving average): {}", top(&average));
        if let Some(id) = &id {
            println!("  of cov(g(x)) on the data: {}", top(&id.data_eigenvalues));
        }
    }
    if rules.is_empty() {
        if matches!(model.model(), FlowModel::Spread(_)) {
            println!("intrinsic dimension: pass --data FILE for every read-off rule");
        }
    } else {
        println!("intrinsic dimension by rule:");
        for (name, k) in &rules {
            println!("  {name:<32} {k}");
        }
    }
    Ok(())
}

/// Every read-off rule with a name for tables (the default first).
fn rule_names() -> Vec<(String, ReadoffRule)> {
    let mut rules = vec![("default (log-gap, encoded data)".to_owned(), ReadoffRule::default())];
    for (source, label) in [
        (manifold_prior::SpectrumSource::Data, "encoded data"),
        (manifold_prior::SpectrumSource::EmaPrior, "A A^T, moving average"),
        (manifold_prior::SpectrumSource::RawPrior, "A A^T"),
    ] {
        for (kind, kind_label) in [
            (RuleKind::Relative, "relative"),
            (RuleKind::LogGap, "log-gap"),
            (RuleKind::NoiseRelative, "noise-relative"),
            (RuleKind::SpreadLogGap, "spread log-gap"),
        ] {
            rules.push((format!("{kind_label}, {label}"), ReadoffRule { source, kind }));
        }
    }
    rules
}

fn load_model(dir: &Path) -> anyhow::Result<FittedModel> {
    FittedModel::load(dir).with_context(|| format!("{}: cannot load the model", dir.display()))
}

/// Read a data file for `model`, checking its dimension against the model's.
fn read_model_data(path: &Path, model: &FittedModel) -> anyhow::Result<Mat<f64>> {
    let data = read_data(path)?.data;
    if data.ncols() != model.dim() {
        bail!("{}: the data have {} columns but the model has dimension {}", path.display(), data.ncols(), model.dim());
    }
    Ok(data)
}

/// The lower-case extension of a path.
pub fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_overrides_part_of_the_preset() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge(&mut base, json!({"a": {"b": 5}, "e": 6}));
        assert_eq!(base, json!({"a": {"b": 5, "c": 2}, "d": 3, "e": 6}));
    }

    #[test]
    fn another_enum_variant_replaces_the_old_one() -> anyhow::Result<()> {
        use manifold_prior::LrSchedule;
        // Externally tagged: the learning-rate schedule of every preset can be changed.
        for preset in FitConfig::PRESETS {
            let mut base = serde_json::to_value(FitConfig::preset(preset).expect("a listed preset"))?;
            merge(&mut base, json!({"training": {"lr-schedule": {"step-tail": {"fraction": 0.3, "factor": 0.5}}}}));
            let config: FitConfig = serde_json::from_value(base)?;
            assert_eq!(config.training.lr_schedule, LrSchedule::StepTail { fraction: 0.3, factor: 0.5 }, "{preset}");
        }
        // Internally tagged: another kind of prior leaves none of the old one's fields.
        let mut base = serde_json::to_value(FitConfig::fig1())?;
        merge(&mut base, json!({"prior": {"kind": "standard"}}));
        let config: FitConfig = serde_json::from_value(base)?;
        assert_eq!(config.prior, PriorConfig::Standard);
        // The same variant still merges field by field.
        let mut base = json!({"s": {"cosine-tail": {"fraction": 0.2}}, "p": {"kind": "a", "x": 1, "y": 2}});
        merge(&mut base, json!({"s": {"cosine-tail": {"fraction": 0.4}}, "p": {"kind": "a", "x": 5}}));
        assert_eq!(base, json!({"s": {"cosine-tail": {"fraction": 0.4}}, "p": {"kind": "a", "x": 5, "y": 2}}));
        Ok(())
    }

    #[test]
    fn every_rule_has_a_name() {
        let rules = rule_names();
        assert_eq!(rules.len(), 13);
        let names: std::collections::BTreeSet<&String> = rules.iter().map(|r| &r.0).collect();
        assert_eq!(names.len(), 13, "names are distinct");
    }
}
