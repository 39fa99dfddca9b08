//! Judging the claims (holds / does not hold / inconclusive) and writing the report and CSVs.

use std::path::Path;

use serde_json::json;

use super::measure::{ClassicalId, Measurements, ModelResult, Quality, SeedResult};
use super::{CONFIDENT, ImageData, KNN_K, ModelKind, PR_K, Protocol, model_config};
use crate::RunContext;
use crate::csv_out;
use crate::report::{Measured, Report, Section, Status, Target, fmt_number};
use manifold_prior::SpreadNoise;

/// The verdict on one hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every seed's value of the model the claim favours is better than every seed's value of
    /// the other model.
    Holds,
    /// Every seed's value of the other model is better.
    DoesNotHold,
    /// The ranges over seeds overlap, or there is only one seed.
    Inconclusive,
}

impl Verdict {
    /// `holds`, `does not hold`, `inconclusive`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::DoesNotHold => "does not hold",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The verdict on "the spread flow is better than the standard flow" from per-seed values,
/// `higher_is_better` saying which way better is: it holds when the ranges (min to max over
/// seeds) do not overlap and the spread flow's is on the better side, does not hold when they
/// do not overlap the other way, and is inconclusive when they overlap, when fewer than 2
/// seeds were run, or when a value is not finite.
pub fn verdict(spread: &[f64], standard: &[f64], higher_is_better: bool) -> Verdict {
    let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
    if spread.len() < 2 || standard.len() < 2 || !finite(spread) || !finite(standard) {
        return Verdict::Inconclusive;
    }
    let range = |v: &[f64]| v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let ((slo, shi), (tlo, thi)) = (range(spread), range(standard));
    let (spread_better, standard_better) =
        if higher_is_better { (slo > thi, tlo > shi) } else { (shi < tlo, thi < slo) };
    if spread_better {
        Verdict::Holds
    } else if standard_better {
        Verdict::DoesNotHold
    } else {
        Verdict::Inconclusive
    }
}

/// The verdict on "the read-off lies within the classical estimates' range" from per-seed
/// read-offs: holds when every seed's is inside `[lo, hi]`, does not hold when none is,
/// inconclusive otherwise (or with fewer than 2 seeds).
pub fn id_verdict(readoffs: &[f64], (lo, hi): (f64, f64)) -> Verdict {
    let inside = readoffs.iter().filter(|&&r| r >= lo && r <= hi).count();
    if readoffs.len() < 2 {
        Verdict::Inconclusive
    } else if inside == readoffs.len() {
        Verdict::Holds
    } else if inside == 0 {
        Verdict::DoesNotHold
    } else {
        Verdict::Inconclusive
    }
}

/// `mean ± sd (n)` of `v` (the standard deviation over seeds, n - 1 in the denominator).
pub(crate) fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (m, var.sqrt())
}

fn pm(v: &[f64]) -> Measured {
    let (m, s) = mean_sd(v);
    if v.len() > 1 { format!("{} ± {}", fmt_number(m), fmt_number(s)).into() } else { m.into() }
}

fn per_seed(m: &Measurements, kind: ModelKind, f: impl Fn(&ModelResult) -> f64) -> Vec<f64> {
    m.seeds.iter().map(|s| f(if kind == ModelKind::Spread { &s.spread } else { &s.standard })).collect()
}

/// One metric of claim (a): its name, how to read it, whether higher is better.
pub(crate) type QualityMetric = (&'static str, fn(&Quality) -> f64, bool);

/// The metrics of claim (a).
pub(crate) const QUALITY: [QualityMetric; 4] = [
    ("Frechet distance", |q| q.frechet, false),
    ("precision", |q| q.precision, true),
    ("recall", |q| q.recall, true),
    ("confident-class fraction", |q| q.confident, true),
];

/// The read-offs of every rule on every spectrum: (name, value).
pub(crate) fn readoffs(id: &manifold_prior::IntrinsicDimension) -> Vec<(String, usize)> {
    let mut out = vec![("default".to_owned(), id.estimate())];
    for (source, counts) in
        [("EMA prior", &id.prior_rules), ("raw prior", &id.raw_prior_rules), ("data", &id.data_rules)]
    {
        for (rule, v) in [
            ("rule 1 relative", counts.relative),
            ("rule 2 log-gap", counts.log_gap),
            ("rule 3 c s^2", counts.noise_relative),
            ("rule 4 spread log-gap", counts.spread_log_gap),
        ] {
            out.push((format!("{source}, {rule}"), v));
        }
    }
    out
}

fn readoff_of(s: &SeedResult) -> f64 {
    s.readoff() as f64
}

/// Build the report: targets (run sanity), the claims with their verdicts, and the tables.
pub(crate) fn report(
    ctx: &RunContext,
    data: &ImageData,
    protocol: &Protocol,
    m: &Measurements,
    seconds: f64,
) -> Report {
    let variant = match protocol.spread_noise {
        SpreadNoise::Random => String::new(),
        other => format!(", {} spread noise", other.name()),
    };
    let title = format!("Real images ({}{variant}): the paper's three claims, standard vs spread flow", data.name);
    let config = json!({
        "data": {"name": data.name, "train": data.train.nrows(), "test": data.test.nrows(), "side": data.side, "levels": data.levels},
        "protocol": protocol,
        "probe": {"steps": protocol.probe.steps, "batch": protocol.probe.batch_size, "lr": protocol.probe.lr, "weight_decay": protocol.probe.weight_decay},
        "standard_model": model_config(ModelKind::Standard, protocol, ctx.seed),
        "spread_model": model_config(ModelKind::Spread, protocol, ctx.seed),
        "knn_k": KNN_K, "precision_recall_k": PR_K, "confident_threshold": CONFIDENT,
        "measured_seconds": seconds,
    });
    let mut report = Report::new(ctx.name, title, config);
    let (acc, n_params, cached) = m.classifier;
    report.push(Target::at_least("classifier test accuracy", acc, 0.9).with_note(if cached {
        "reused from classifier/"
    } else {
        "trained in this run"
    }));
    let all: Vec<f64> = m
        .seeds
        .iter()
        .flat_map(|s| [&s.standard, &s.spread])
        .flat_map(|r| {
            let q = r.quality;
            [q.frechet, q.precision, q.recall, q.confident]
                .into_iter()
                .chain(r.repr.iter().flat_map(|x| [x.probe, x.knn]))
        })
        .collect();
    let bad = all.iter().filter(|v| !v.is_finite()).count();
    report.push(Target::new(
        "every sample-quality and representation metric is finite",
        format!("{bad} of {} not finite", all.len()),
        "0 not finite",
        Status::from_ok(bad == 0),
    ));

    // The claims.
    let mut claims = Section::new(
        "Claims (hypothesis: spread flow better than standard flow; mean ± sd over seeds)",
        &["claim", "hypothesis", "standard", "spread", "verdict"],
    );
    claims.note(format!(
        "Verdict: holds / does not hold when the ranges over the {} seed(s) do not overlap, inconclusive when they \
         overlap or with a single seed. A claim that does not hold is a result, not a failure of the run.",
        m.seeds.len()
    ));
    for (name, get, higher) in QUALITY {
        let (t, s) = (
            per_seed(m, ModelKind::Standard, |r| get(&r.quality)),
            per_seed(m, ModelKind::Spread, |r| get(&r.quality)),
        );
        let rel = if higher { ">" } else { "<" };
        claims.row([
            "(a) sample quality".into(),
            format!("spread {rel} standard in {name}").into(),
            pm(&t),
            pm(&s),
            verdict(&s, &t, higher).label().into(),
        ]);
    }
    let n_k = m.seeds.first().map_or(0, |s| s.spread.repr.len());
    for i in 0..n_k {
        let label = m.seeds[0].spread.repr[i].label.clone();
        for (metric, get) in
            [("linear-probe", (|r: &super::measure::ReprRow| r.probe) as fn(&_) -> f64), ("5-NN", |r| r.knn)]
        {
            let t = per_seed(m, ModelKind::Standard, |r| get(&r.repr[i]));
            let s = per_seed(m, ModelKind::Spread, |r| get(&r.repr[i]));
            claims.row([
                "(b) representation".into(),
                format!("spread > standard in {metric} accuracy at K = {label}").into(),
                pm(&t),
                pm(&s),
                verdict(&s, &t, true).label().into(),
            ]);
        }
    }
    let readoffs_v: Vec<f64> = m.seeds.iter().map(readoff_of).collect();
    let range = m.classical.range();
    claims.row([
        "(c) intrinsic dimension".into(),
        format!(
            "the default read-off lies within the classical estimates ({} to {}, MLE k = 5, 10, 20 and TwoNN)",
            fmt_number(range.0),
            fmt_number(range.1)
        )
        .into(),
        "n/a".into(),
        pm(&readoffs_v),
        id_verdict(&readoffs_v, range).label().into(),
    ]);
    let per_class_inside: Vec<String> = (0..m.classical_classes.len())
        .map(|c| {
            let v: Vec<f64> = m.seeds.iter().map(|s| s.id_classes[c].estimate() as f64).collect();
            id_verdict(&v, m.classical_classes[c].range()).label().to_owned()
        })
        .collect();
    let holds = per_class_inside.iter().filter(|v| *v == "holds").count();
    claims.row([
        "(c) intrinsic dimension, per class".into(),
        "the default read-off of each class lies within that class's classical estimates".into(),
        "n/a".into(),
        format!("holds for {holds} of {} classes", per_class_inside.len()).into(),
        (if holds == per_class_inside.len() && !m.seeds.is_empty() && m.seeds.len() > 1 {
            "holds"
        } else if holds == 0 && m.seeds.len() > 1 {
            "does not hold"
        } else {
            "inconclusive"
        })
        .into(),
    ]);
    report.sections.push(claims);

    // (a) per seed, with the floor.
    let mut qa = Section::new(
        "Sample quality (classifier features, against the test set)",
        &["images", "seed", "Frechet distance", "precision", "recall", "confident fraction"],
    );
    qa.note(format!(
        "{} samples per model at temperature 1, clipped to [0, 1]; the floor is {} real training images. Classifier: test accuracy {}, {} parameters.",
        protocol.n_samples,
        protocol.n_samples.min(data.train.nrows()),
        fmt_number(acc),
        n_params
    ));
    let f = m.floor;
    qa.row([
        "real training images (floor)".into(),
        "-".into(),
        f.frechet.into(),
        f.precision.into(),
        f.recall.into(),
        f.confident.into(),
    ]);
    for s in &m.seeds {
        for r in [&s.standard, &s.spread] {
            let rows = std::iter::once((format!("{} flow", r.kind.name()), r.quality)).chain(
                r.codes_gaussian_quality.map(|q| (format!("{} flow, codes' Gaussian (diagnostic)", r.kind.name()), q)),
            );
            for (name, q) in rows {
                qa.row([
                    name.into(),
                    r.seed.into(),
                    q.frechet.into(),
                    q.precision.into(),
                    q.recall.into(),
                    q.confident.into(),
                ]);
            }
        }
    }
    qa.note(
        "The diagnostic rows decode samples of the Gaussian of the spread flow's encoded training images (their mean \
         and covariance) instead of its prior: the same flow, a latent distribution that matches the codes. They are \
         not part of the claims.",
    );
    report.sections.push(qa);

    // (b) table.
    let mut rb =
        Section::new("Representation (test accuracy; mean ± sd over seeds)", &["codes", "K", "linear probe", "5-NN"]);
    rb.note("K = ID is each seed's default read-off; the standard flow's codes are projected on their principal components (fitted on the training codes), the spread flow's on the top eigenvectors of A A^T (moving average).");
    rb.row(["raw pixels".into(), m.raw.k.into(), m.raw.probe.into(), m.raw.knn.into()]);
    for r in m.pca.values() {
        rb.row([r.label.clone().into(), r.k.into(), r.probe.into(), r.knn.into()]);
    }
    for kind in [ModelKind::Standard, ModelKind::Spread] {
        for i in 0..n_k {
            let probe = per_seed(m, kind, |r| r.repr[i].probe);
            let knn = per_seed(m, kind, |r| r.repr[i].knn);
            let ks: Vec<String> = per_seed(m, kind, |r| r.repr[i].k as f64).iter().map(|k| fmt_number(*k)).collect();
            let label = &m.seeds[0].spread.repr[i].label;
            let k = if label == "ID" { format!("ID ({})", ks.join(", ")) } else { label.clone() };
            rb.row([format!("{} flow", kind.name()).into(), k.into(), pm(&probe), pm(&knn)]);
        }
    }
    report.sections.push(rb);

    // (c) table.
    let mut ic = Section::new(
        "Intrinsic dimension (overall and per class)",
        &["images", "flow default (per seed)", "MLE k=5", "MLE k=10", "MLE k=20", "TwoNN"],
    );
    ic.note("The flow's default is the library's read-off (manifold_prior::ReadoffRule::default); every rule is in intrinsic_dimension.csv.");
    let row = |name: String, ro: Vec<usize>, c: &ClassicalId| -> Vec<Measured> {
        let ro: Vec<String> = ro.iter().map(|v| v.to_string()).collect();
        vec![name.into(), ro.join(", ").into(), c.mle[0].into(), c.mle[1].into(), c.mle[2].into(), c.twonn.into()]
    };
    ic.row(row("all".into(), m.seeds.iter().map(|s| s.readoff()).collect(), &m.classical));
    for (c, cl) in m.classical_classes.iter().enumerate() {
        ic.row(row(format!("class {c}"), m.seeds.iter().map(|s| s.id_classes[c].estimate()).collect(), cl));
    }
    report.sections.push(ic);
    let mut rules = Section::new("Every read-off of the spread flow (all images), per seed", &["rule", "values"]);
    if let Some(first) = m.seeds.first() {
        for (i, (name, _)) in readoffs(&first.id).into_iter().enumerate() {
            let v: Vec<String> = m.seeds.iter().map(|s| readoffs(&s.id)[i].1.to_string()).collect();
            rules.row([name.into(), v.join(", ").into()]);
        }
    }
    report.sections.push(rules);

    // The width of the prior the samples come from, against the codes it models.
    let mut width = Section::new(
        "Prior width against the encoded data",
        &["seed", "spectrum", "total variance", "lambda_1", "eigenvalues above c s^2"],
    );
    width.note(
        "Eigenvalues of the final A A^T (the prior the samples are drawn from), of its moving average (the \
         representation's basis) and of the covariance of the encoded ID images g(x); c s^2 is rule 3's threshold. \
         A prior much wider than the codes puts samples where no training code lies.",
    );
    for s in &m.seeds {
        let id = &s.id;
        for (name, v, rules) in [
            ("final A A^T", &id.prior_eigenvalues, &id.raw_prior_rules),
            ("moving-average A A^T", &id.ema_prior_eigenvalues, &id.prior_rules),
            ("cov(g(x))", &id.data_eigenvalues, &id.data_rules),
        ] {
            width.row([
                s.seed.into(),
                name.into(),
                v.iter().sum::<f64>().into(),
                v.first().copied().unwrap_or(f64::NAN).into(),
                rules.noise_relative.into(),
            ]);
        }
    }
    report.sections.push(width);

    // Training.
    let mut tr = Section::new(
        "Training",
        &["model", "seed", "parameters", "final loss", "final validation loss", "test bits/dim", "training s"],
    );
    for s in &m.seeds {
        for r in [&s.standard, &s.spread] {
            let last = r.log.last().map_or(f64::NAN, |l| l.loss);
            let val = r.validation.last().map_or(f64::NAN, |v| v.1);
            tr.row([
                r.kind.name().into(),
                r.seed.into(),
                r.n_params.into(),
                last.into(),
                val.into(),
                r.bits_per_dim.map_or(Measured::from("n/a"), Measured::from),
                r.train_seconds.into(),
            ]);
        }
    }
    report.sections.push(tr);
    report
}

/// Write `sample_quality.csv`, `representation.csv`, `intrinsic_dimension.csv`,
/// `training.csv` and `spectrum.csv`; returns their names.
pub(crate) fn write_csvs(dir: &Path, m: &Measurements) -> anyhow::Result<Vec<String>> {
    let mut q = String::from("images,seed,frechet,precision,recall,confident\n");
    let f = m.floor;
    q.push_str(&format!("real,,{},{},{},{}\n", f.frechet, f.precision, f.recall, f.confident));
    let mut r = String::from("codes,seed,k_label,k,linear_probe,knn5\n");
    r.push_str(&format!("pixels,,all,{},{},{}\n", m.raw.k, m.raw.probe, m.raw.knn));
    for p in m.pca.values() {
        r.push_str(&format!("pca,,{},{},{},{}\n", p.k, p.k, p.probe, p.knn));
    }
    let mut t = String::from("model,seed,step,loss,validation_loss\n");
    let mut id = String::from("images,seed,estimator,value\n");
    for s in &m.seeds {
        for x in [&s.standard, &s.spread] {
            let rows = std::iter::once((x.kind.name().to_owned(), x.quality))
                .chain(x.codes_gaussian_quality.map(|qq| (format!("{}_codes_gaussian", x.kind.name()), qq)));
            for (name, qq) in rows {
                q.push_str(&format!(
                    "{name},{},{},{},{},{}\n",
                    x.seed, qq.frechet, qq.precision, qq.recall, qq.confident
                ));
            }
            for row in &x.repr {
                r.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    x.kind.name(),
                    x.seed,
                    row.label,
                    row.k,
                    row.probe,
                    row.knn
                ));
            }
            for l in &x.log {
                let v = x.validation.iter().find(|v| v.0 == l.step).map_or(String::new(), |v| v.1.to_string());
                t.push_str(&format!("{},{},{},{},{}\n", x.kind.name(), x.seed, l.step, l.loss, v));
            }
        }
        for (name, v) in readoffs(&s.id) {
            id.push_str(&format!("all,{},flow {name},{v}\n", s.seed));
        }
        for (c, cid) in s.id_classes.iter().enumerate() {
            for (name, v) in readoffs(cid) {
                id.push_str(&format!("class {c},{},flow {name},{v}\n", s.seed));
            }
        }
    }
    for (name, c) in std::iter::once(("all".to_owned(), &m.classical))
        .chain(m.classical_classes.iter().enumerate().map(|(i, c)| (format!("class {i}"), c)))
    {
        for (k, v) in super::measure::MLE_KS.iter().zip(c.mle) {
            id.push_str(&format!("{name},,MLE k={k},{v}\n"));
        }
        id.push_str(&format!("{name},,TwoNN,{}\n", c.twonn));
    }
    let files =
        [("sample_quality.csv", q), ("representation.csv", r), ("training.csv", t), ("intrinsic_dimension.csv", id)];
    let mut out = Vec::new();
    for (name, text) in files {
        crate::atomic::write_bytes(&dir.join(name), text.as_bytes())?;
        out.push(name.to_owned());
    }
    let rows: Vec<Vec<f64>> = m
        .seeds
        .iter()
        .flat_map(|s| {
            s.id.ema_prior_eigenvalues.iter().enumerate().map(move |(i, v)| {
                vec![s.seed as f64, (i + 1) as f64, *v, s.id.data_eigenvalues.get(i).copied().unwrap_or(f64::NAN)]
            })
        })
        .collect();
    csv_out::write_rows(
        &dir.join("spectrum.csv"),
        &["seed", "rank", "ema_prior_eigenvalue", "encoded_data_eigenvalue"],
        &rows,
    )?;
    out.push("spectrum.csv".into());
    Ok(out)
}
