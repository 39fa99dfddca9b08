//! `id-compare`: the flow estimator (`mflow id --estimator flow`,
//! [`manifold_prior::EnsembleFlowEstimator`]) against MLE and TwoNN, dimension and wall time,
//! on the known-answer warped manifolds and on real images (issue 21, issue 15 item 7).
//!
//! Cases:
//! - `warped-K-in-D` for K in {2, 5, 8, 12} and D in {64, 784}: 2,000 points, isotropic
//!   noise of standard deviation [`WARP_NOISE`], one data set per (K, D) from seed
//!   [`DATA_SEED`]; the flow is right when it reads exactly K.
//! - digits (the 1,797 8 x 8 images of `datasets::digits`, pixels / 16 in `[0, 1]`), each
//!   digit class alone, and two random halves (a fixed permutation from [`DATA_SEED`]).
//! - the first 10,000 MNIST training images (pixels / 255), when the files are found
//!   (`$MFLOW_MNIST_DIR`, else `../shared/data/mnist`), one flow seed (the time target).
//!
//! For every case MLE (k = 20) and TwoNN run once (they are deterministic) and the flow once per
//! seed `0..--seeds`. Every run is appended to `runs.csv` as it finishes (a partial run keeps
//! what it measured, and `--resume` continues it: see `id_compare/journal.rs`); `table.csv`, `report.json`
//! and `report.md` follow at the end.

mod journal;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use datasets::{GenerateOptions, Manifold};
use faer::{Mat, MatRef};
use intrinsic_dim::{Mle, TwoNn};
use manifold_prior::EnsembleFlowEstimator;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::report::{Measured, Section, Status, Target, fmt_number};
use crate::{Report, RunContext};

/// Seed of the warped data sets and of the digits halves' permutation.
pub const DATA_SEED: u64 = 2_026;
/// Noise standard deviation of the warped data sets.
pub const WARP_NOISE: f64 = 0.01;
/// Points per warped data set.
pub const WARP_N: usize = 2_000;
/// Intrinsic dimensions of the warped cases.
pub const WARP_KS: [usize; 4] = [2, 5, 8, 12];
/// Ambient dimensions of the warped cases.
pub const WARP_DS: [usize; 2] = [64, 784];
/// MNIST training images used for the time target.
pub const MNIST_N: usize = 10_000;

/// One data set of the comparison.
struct Case {
    /// Name in the tables (`warped-5-in-64`, `digits`, `digit 3`, `digits half A`, `mnist-10k`).
    name: String,
    /// Group: `warped`, `digits`, `class`, `half`, `mnist`.
    group: &'static str,
    /// The known dimension, if any.
    known: Option<usize>,
    /// The data, one sample per row.
    data: Mat<f64>,
    /// Flow seeds to run.
    seeds: Vec<u64>,
}

/// One flow run (its seed and gap measure are in `runs.csv`).
#[derive(Debug, Clone)]
struct FlowRun {
    dimension: f64,
    interval: (usize, usize),
    clear_gap: bool,
    seconds: f64,
}

/// Everything measured on one case.
struct CaseResult {
    name: String,
    group: &'static str,
    known: Option<usize>,
    n: usize,
    d: usize,
    mle: (f64, f64),
    twonn: (f64, f64),
    flow: Vec<FlowRun>,
}

impl CaseResult {
    fn dims(&self) -> Vec<f64> {
        self.flow.iter().map(|r| r.dimension).collect()
    }
    fn median(&self) -> f64 {
        median(&self.dims())
    }
    /// Largest `|d - median| / median` over seeds.
    fn spread(&self) -> f64 {
        let m = self.median();
        self.dims().iter().map(|d| (d - m).abs() / m).fold(0.0, f64::max)
    }
    fn exact(&self) -> usize {
        self.known.map_or(0, |k| self.flow.iter().filter(|r| r.dimension == k as f64).count())
    }
    fn max_seconds(&self) -> f64 {
        self.flow.iter().map(|r| r.seconds).fold(0.0, f64::max)
    }
}

/// The median (mean of the two middle values for even length); NaN when empty.
fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 { s[m] } else { (s[m - 1] + s[m]) / 2.0 }
}

/// Ranks (1-based, ties averaged).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rho: Pearson's correlation of the ranks (ties averaged).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// The rows of `x` whose label is `c`.
fn rows_where(x: MatRef<'_, f64>, keep: impl Fn(usize) -> bool) -> Mat<f64> {
    let idx: Vec<usize> = (0..x.nrows()).filter(|&i| keep(i)).collect();
    Mat::from_fn(idx.len(), x.ncols(), |i, j| x[(idx[i], j)])
}

/// Where the MNIST files are: `$MFLOW_MNIST_DIR`, else `../shared/data/mnist`.
fn mnist_dir() -> PathBuf {
    std::env::var_os("MFLOW_MNIST_DIR").map_or_else(|| PathBuf::from("../shared/data/mnist"), PathBuf::from)
}

fn cases(seeds: &[u64], notes: &mut Vec<String>) -> anyhow::Result<Vec<Case>> {
    let mut out = Vec::new();
    for &d in &WARP_DS {
        for &k in &WARP_KS {
            let m = Manifold::Warped { k, d };
            let data = m.generate(&GenerateOptions::new(WARP_N, DATA_SEED).noise(WARP_NOISE)).data;
            out.push(Case { name: m.name(), group: "warped", known: Some(k), data, seeds: seeds.to_vec() });
        }
    }
    let digits = datasets::digits();
    let x = Mat::from_fn(digits.data.nrows(), digits.data.ncols(), |i, j| digits.data[(i, j)] / 16.0);
    let labels = digits.labels.context("the embedded digits carry labels")?;
    out.push(Case { name: "digits".into(), group: "digits", known: None, data: x.clone(), seeds: seeds.to_vec() });
    for c in 0..10 {
        let data = rows_where(x.as_ref(), |i| labels[i] == f64::from(c));
        out.push(Case { name: format!("digit {c}"), group: "class", known: None, data, seeds: seeds.to_vec() });
    }
    let mut perm: Vec<usize> = (0..x.nrows()).collect();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(DATA_SEED));
    let half = x.nrows() / 2;
    for (name, part) in [("digits half A", &perm[..half]), ("digits half B", &perm[half..])] {
        let data = Mat::from_fn(part.len(), x.ncols(), |i, j| x[(part[i], j)]);
        out.push(Case { name: name.into(), group: "half", known: None, data, seeds: seeds.to_vec() });
    }
    match datasets::mnist(mnist_dir(), datasets::Split::Train) {
        Ok(ds) => {
            let n = MNIST_N.min(ds.data.nrows());
            let data = Mat::from_fn(n, ds.data.ncols(), |i, j| ds.data[(i, j)] / 255.0);
            out.push(Case { name: "mnist-10k".into(), group: "mnist", known: None, data, seeds: vec![0] });
        }
        Err(e) => notes.push(format!("MNIST skipped: {e} (set MFLOW_MNIST_DIR)")),
    }
    Ok(out)
}

/// Run the comparison (see the module docs).
pub fn run(ctx: &RunContext) -> anyhow::Result<Report> {
    let seeds = ctx.seeds();
    let mut notes = Vec::new();
    let all = cases(&seeds, &mut notes)?;
    let base = EnsembleFlowEstimator::default();
    let base = match ctx.steps {
        Some(s) => base.with_steps(s),
        None => base,
    };
    anyhow::ensure!(
        ctx.checkpointing.every.is_none(),
        "id-compare keeps every finished estimate in {}; continue an interrupted run with --resume alone \
         (no --checkpoint-every)",
        journal::RUNS_FILE
    );
    let mut journal = journal::Journal::open(&ctx.out_dir, &settings(&base), ctx.checkpointing.resume)?;
    if ctx.checkpointing.resume && crate::progress::enabled(ctx.verbosity) {
        eprintln!("id-compare: continuing with {} finished estimates from {}", journal.resumed(), journal::RUNS_FILE);
    }
    let mut results = Vec::new();
    for case in &all {
        let x = case.data.as_ref();
        let (n, d) = (x.nrows(), x.ncols());
        let known = case.known.map_or_else(String::new, |k| k.to_string());
        let mut classical = |e: &dyn intrinsic_dim::Estimator| -> anyhow::Result<(f64, f64)> {
            if let Some(row) = journal.done(&case.name, e.name(), None) {
                return Ok((row.dimension, row.seconds));
            }
            let t = Instant::now();
            let r = e.estimate(x).with_context(|| format!("{}: {}", case.name, e.name()))?;
            let s = t.elapsed().as_secs_f64();
            journal.record(&format!(
                "{},{},{known},{n},{d},{},,{},,,,,{s}",
                case.name,
                case.group,
                e.name(),
                r.dimension
            ))?;
            Ok((r.dimension, s))
        };
        let mle = classical(&Mle::new(20))?;
        let twonn = classical(&TwoNn::default())?;
        let mut flow = Vec::new();
        for &seed in &case.seeds {
            if let Some(row) = journal.done(&case.name, "flow", Some(seed)) {
                flow.push(FlowRun {
                    dimension: row.dimension,
                    interval: row.interval.unwrap_or((0, 0)),
                    clear_gap: row.clear_gap.unwrap_or(false),
                    seconds: row.seconds,
                });
                continue;
            }
            let t = Instant::now();
            let id =
                base.clone().with_seed(seed).estimate_detailed(x).with_context(|| format!("{}: flow", case.name))?;
            let seconds = t.elapsed().as_secs_f64();
            let r = &id.readoff;
            journal.record(&format!(
                "{},{},{known},{n},{d},flow,{seed},{},{},{},{},{},{seconds}",
                case.name,
                case.group,
                r.dimension,
                r.interval.0,
                r.interval.1,
                u8::from(r.clear_gap),
                r.gap_ratio
            ))?;
            if crate::progress::enabled(ctx.verbosity) {
                eprintln!("{}: seed {seed}: {} ({seconds:.1} s)", case.name, id.verdict());
            }
            flow.push(FlowRun { dimension: r.dimension, interval: r.interval, clear_gap: r.clear_gap, seconds });
        }
        results.push(CaseResult {
            name: case.name.clone(),
            group: case.group,
            known: case.known,
            n,
            d,
            mle,
            twonn,
            flow,
        });
    }
    report(ctx, &base, &results, notes)
}

/// What every row of `runs.csv` depends on besides its case and seed: the flow estimator's
/// setting (its member's whole configuration), the warped data sets, MLE's k, the MNIST size.
fn settings(base: &EnsembleFlowEstimator) -> serde_json::Value {
    json!({
        "flow": {
            "members": base.members, "steps": base.member.train.steps, "spread": base.member.spread.spread,
            "max_dim": base.max_dim, "clear_gap_ratio": base.clear_gap_ratio, "layers": base.member.n_layers,
            "member": base.member,
        },
        "warped": {"n": WARP_N, "noise": WARP_NOISE, "data_seed": DATA_SEED, "k": WARP_KS, "d": WARP_DS},
        "mle_k": 20, "mnist_n": MNIST_N,
    })
}

/// The table, the targets and the outputs.
fn report(
    ctx: &RunContext,
    base: &EnsembleFlowEstimator,
    results: &[CaseResult],
    notes: Vec<String>,
) -> anyhow::Result<Report> {
    let mut config = settings(base);
    config["seeds"] = json!(ctx.seeds());
    let mut report =
        Report::new("id-compare", "The flow estimator against MLE and TwoNN (issue 21, issue 15 item 7)", config);
    let cols = [
        "case",
        "n",
        "D",
        "known",
        "flow median",
        "flow min..max",
        "interval",
        "clear gaps",
        "right",
        "MLE",
        "TwoNN",
        "flow s (median)",
        "MLE s",
        "TwoNN s",
    ];
    let mut table = Section::new("Head-to-head: dimension and wall time", &cols);
    let mut csv = String::from(
        "case,n,d,known,flow_median,flow_min,flow_max,interval_low,interval_high,clear_gaps,runs,right,mle,twonn,flow_seconds_median,mle_seconds,twonn_seconds\n",
    );
    for r in results {
        let dims = r.dims();
        let (lo, hi) = (
            dims.iter().copied().fold(f64::INFINITY, f64::min),
            dims.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let ilo = r.flow.iter().map(|f| f.interval.0).min().unwrap_or(0);
        let ihi = r.flow.iter().map(|f| f.interval.1).max().unwrap_or(0);
        let clear = r.flow.iter().filter(|f| f.clear_gap).count();
        let secs = median(&r.flow.iter().map(|f| f.seconds).collect::<Vec<_>>());
        let right = r.known.map_or_else(|| "-".to_owned(), |_| format!("{} of {}", r.exact(), r.flow.len()));
        table.row([
            Measured::from(r.name.as_str()),
            r.n.into(),
            r.d.into(),
            r.known.map_or_else(|| Measured::from("-"), Measured::from),
            r.median().into(),
            format!("{}..{}", fmt_number(lo), fmt_number(hi)).into(),
            format!("{ilo}..{ihi}").into(),
            format!("{clear} of {}", r.flow.len()).into(),
            right.clone().into(),
            r.mle.0.into(),
            r.twonn.0.into(),
            secs.into(),
            r.mle.1.into(),
            r.twonn.1.into(),
        ]);
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{lo},{hi},{ilo},{ihi},{clear},{},{},{},{},{secs},{},{}",
            r.name,
            r.n,
            r.d,
            r.known.map_or_else(String::new, |k| k.to_string()),
            r.median(),
            r.flow.len(),
            r.known.map_or_else(String::new, |_| r.exact().to_string()),
            r.mle.0,
            r.twonn.0,
            r.mle.1,
            r.twonn.1
        );
    }
    for n in &notes {
        table.note(n.clone());
    }
    table.note(format!(
        "flow: {} members x {} steps, s = {}, working dimension <= {}; 'interval' spans every seed's interval; \
         'clear gaps' counts seeds whose spectrum had a clear gap (gap measure >= {}).",
        base.members, base.member.train.steps, base.member.spread.spread, base.max_dim, base.clear_gap_ratio
    ));
    report.sections.push(table);
    let n_seeds = ctx.n_seeds;
    let need = (9 * n_seeds).div_ceil(10);
    // Point 2: exact in at least 9 of 10 seeds (ceil(0.9 n)) per (K, D).
    for r in results.iter().filter(|r| r.group == "warped") {
        report.push(Target::new(
            format!("point 2: {} read exactly {} (seeds right)", r.name, r.known.unwrap_or(0)),
            format!("{} of {}", r.exact(), r.flow.len()),
            format!(">= {need} of {n_seeds}"),
            Status::from_ok(r.exact() >= need),
        ));
    }
    // Point 1: stable within 25% of the median.
    for r in results.iter().filter(|r| matches!(r.group, "digits" | "class" | "half")) {
        report.push(Target::at_most(format!("point 1: {}: largest |d - median| / median", r.name), r.spread(), 0.25));
    }
    // Point 3: no confident integer without a clear gap; count clear gaps on real data.
    let real: Vec<&FlowRun> = results.iter().filter(|r| r.known.is_none()).flat_map(|r| &r.flow).collect();
    let clear_real = real.iter().filter(|f| f.clear_gap).count();
    report.push(Target::new(
        "point 3: real-data runs with a clear gap (the others answer with an interval and 'no clear gap')",
        format!("{clear_real} of {}", real.len()),
        "reported",
        Status::NotApplicable,
    ));
    let inside = real.iter().all(|f| f.interval.0 as f64 <= f.dimension && f.dimension <= f.interval.1 as f64);
    report.push(Target::new(
        "point 3: every estimate lies in its interval",
        inside.to_string(),
        "true",
        Status::from_ok(inside),
    ));
    // Point 4: per-class ordering vs MLE.
    let classes: Vec<&CaseResult> = results.iter().filter(|r| r.group == "class").collect();
    if classes.len() == 10 {
        let flow: Vec<f64> = classes.iter().map(|r| r.median()).collect();
        let mle: Vec<f64> = classes.iter().map(|r| r.mle.0).collect();
        report.push(Target::at_least(
            "point 4: Spearman rho, per-class flow medians vs MLE",
            spearman(&flow, &mle),
            0.7,
        ));
        let rank1 = ranks(&flow)[1];
        report.push(Target::at_most(
            "point 4: rank of digit 1 among the 10 classes (1 = lowest flow median)",
            rank1,
            3.0,
        ));
    }
    // Point 5: time (measured on a shared machine; see the machine section).
    for r in results.iter().filter(|r| matches!(r.group, "digits" | "class" | "half")) {
        if r.group == "digits" {
            report.push(Target::at_most("point 5: digits, slowest flow estimate (s)", r.max_seconds(), 60.0).speed());
        }
    }
    if let Some(m) = results.iter().find(|r| r.group == "mnist") {
        report.push(
            Target::at_most("point 5: first 10,000 MNIST images, flow estimate (s)", m.max_seconds(), 600.0).speed(),
        );
    }
    let mut machine = Section::new("Machine", &["CPU", "load at the end (1, 5, 15 min)"]);
    machine.row([Measured::from(cpu_model()), Measured::from(load())]);
    report.sections.push(machine);
    manifold_prior::flow_core::io::write_atomic(&ctx.out("table.csv"), csv.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    report.outputs = vec![journal::RUNS_FILE.into(), journal::SETTINGS_FILE.into(), "table.csv".into()];
    Ok(report)
}

/// The CPU model from /proc/cpuinfo, or "unknown".
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The load averages from /proc/loadavg, or "unknown".
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_of_a_monotone_relation_is_one_and_ties_are_averaged() {
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 25.0, 100.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[5.0, 1.0, 5.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
    }
}
