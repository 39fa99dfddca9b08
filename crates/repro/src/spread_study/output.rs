//! Presentation side of the spread study: the CSVs, the figures and the report.

use std::path::Path;

use anyhow::Context as _;
use manifold_prior::{ReadoffConfig, SpreadPlacement};

use super::check::{self, CheckRun, Which};
use super::grid::{Conditioner, Grid, GridSize, StudyManifold, placement_name};
use super::plot;
use super::rules::{Cell, Kind, Rule, SWEEP_MAX_SLOPE, Spectrum, all_rules, estimate, pooled};
use super::run::{ON_MANIFOLD, RunResult};
use crate::report::{Report, Section, Status, Target};

/// Widest ambient dimension of the study (columns reserved per spectrum in `runs.csv`).
const MAX_DIM: usize = 10;

/// Write a CSV of text cells atomically (temporary file, then rename).
fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut text = header.join(",");
    text.push('\n');
    for row in rows {
        debug_assert_eq!(row.len(), header.len());
        text.push_str(&row.join(","));
        text.push('\n');
    }
    crate::atomic::write_bytes(path, text.as_bytes())
}

fn num(x: f64) -> String {
    x.to_string()
}

/// Write every CSV and figure into `out_dir` (created if missing) and return the file names.
pub fn write_outputs(
    out_dir: &Path,
    grid: &Grid,
    results: &[RunResult],
    cells: &[Cell],
) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut written = Vec::new();
    let rules = all_rules();

    // runs.csv: one row per run and checkpoint.
    let mut header: Vec<String> = [
        "manifold",
        "intrinsic_dim",
        "ambient_dim",
        "placement",
        "conditioner",
        "s",
        "seed",
        "step",
        "loss",
        "on_manifold",
        "median_distance",
        "run_seconds",
        "failure",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for spec in ["raw", "ema", "data"] {
        header.extend((1..=MAX_DIM).map(|i| format!("{spec}_lambda_{i}")));
    }
    header.extend(rules.iter().map(|r| format!("id_{}", r.label())));
    let mut rows = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let st = r.spec.setting;
        for c in &r.checkpoints {
            let mut row = vec![
                st.manifold.name().to_owned(),
                st.manifold.intrinsic_dim().to_string(),
                st.manifold.dim().to_string(),
                placement_name(st.placement).to_owned(),
                st.conditioner.name().to_owned(),
                num(st.s),
                r.spec.seed.to_string(),
                c.step.to_string(),
                num(c.loss),
                num(c.on_manifold),
                num(c.median_distance),
                format!("{:.3}", r.seconds),
                r.failure.as_deref().map_or(String::new(), |f| format!("\"{}\"", f.replace('"', "'"))),
            ];
            for e in [&c.raw_prior, &c.ema_prior, &c.data] {
                row.extend((0..MAX_DIM).map(|k| e.get(k).map_or(String::new(), |v| num(*v))));
            }
            row.extend(
                rules
                    .iter()
                    .map(|&rule| estimate(rule, grid, results, i, c.step).map_or(String::new(), |k| k.to_string())),
            );
            rows.push(row);
        }
    }
    write_csv(&out_dir.join("runs.csv"), &header, &rows)?;
    written.push("runs.csv".to_owned());

    // summary.csv: one row per rule, setting and checkpoint.
    let header: Vec<String> = [
        "rule",
        "manifold",
        "placement",
        "conditioner",
        "s",
        "step",
        "correct",
        "total",
        "missing",
        "fraction",
        "estimates",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let rows: Vec<Vec<String>> = cells
        .iter()
        .map(|c| {
            let est: Vec<String> = c.estimates.iter().map(|e| e.map_or("-".to_owned(), |k| k.to_string())).collect();
            vec![
                c.rule.label(),
                c.setting.manifold.name().to_owned(),
                placement_name(c.setting.placement).to_owned(),
                c.setting.conditioner.name().to_owned(),
                num(c.setting.s),
                c.step.to_string(),
                c.correct.to_string(),
                c.total.to_string(),
                c.missing.to_string(),
                num(c.fraction()),
                est.join(" "),
            ]
        })
        .collect();
    write_csv(&out_dir.join("summary.csv"), &header, &rows)?;
    written.push("summary.csv".to_owned());

    // trajectories.csv: one row per run and recorded step.
    let mut header: Vec<String> =
        ["manifold", "placement", "conditioner", "s", "seed", "step"].iter().map(|s| (*s).to_owned()).collect();
    for spec in ["raw", "ema"] {
        header.extend((1..=MAX_DIM).map(|i| format!("{spec}_lambda_{i}")));
    }
    let mut rows = Vec::new();
    for r in results {
        let st = r.spec.setting;
        for (step, raw, ema) in &r.trajectory {
            let mut row = vec![
                st.manifold.name().to_owned(),
                placement_name(st.placement).to_owned(),
                st.conditioner.name().to_owned(),
                num(st.s),
                r.spec.seed.to_string(),
                step.to_string(),
            ];
            for e in [raw, ema] {
                row.extend((0..MAX_DIM).map(|k| e.get(k).map_or(String::new(), |v| num(*v))));
            }
            rows.push(row);
        }
    }
    write_csv(&out_dir.join("trajectories.csv"), &header, &rows)?;
    written.push("trajectories.csv".to_owned());

    written.extend(plot::render_all(out_dir, grid, results, cells)?);
    Ok(written)
}

/// The rules that read a prior spectrum or the data, for the headline tables.
fn rule_rows() -> Vec<Rule> {
    all_rules()
}

/// A column of a pooled table: its header and which cells it pools.
type Column<'a> = (String, Box<dyn Fn(&Cell) -> bool + 'a>);

/// Rows = rules, columns = pools of cells; each entry `k/n (fraction)`.
fn pooled_section(title: &str, cells: &[Cell], columns: Vec<Column<'_>>) -> Section {
    let mut names: Vec<&str> = vec!["rule"];
    names.extend(columns.iter().map(|(h, _)| h.as_str()));
    let mut section = Section::new(title, &names);
    for rule in rule_rows() {
        let mut row = vec![rule.label().into()];
        for (_, keep) in &columns {
            let (k, n) = pooled(cells, |c| c.rule == rule && keep(c));
            row.push(if n == 0 {
                "n/a".into()
            } else {
                format!("{k}/{n} ({:.0}%)", 100.0 * k as f64 / n as f64).into()
            });
        }
        section.row(row);
    }
    section
}

/// The rule with the highest pooled fraction over the cells `keep` selects (ties: the first
/// in [`all_rules`] order), with its count.
pub fn best_rule(cells: &[Cell], keep: impl Fn(&Cell) -> bool) -> Option<(Rule, usize, usize)> {
    let mut best: Option<(Rule, usize, usize)> = None;
    for rule in all_rules() {
        let (k, n) = pooled(cells, |c| c.rule == rule && keep(c));
        if n == 0 {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, bk, bn)) => (k as f64 / n as f64) > (bk as f64 / bn as f64),
        };
        if better {
            best = Some((rule, k, n));
        }
    }
    best
}

/// The report: configuration, the method's fig1 target, headline tables, sample quality,
/// failures and timings.
pub fn build_report(grid: &Grid, results: &[RunResult], cells: &[Cell]) -> Report {
    let last = grid.steps();
    let cfg = ReadoffConfig::default();
    let config = serde_json::json!({
        "grid": grid,
        "runs": results.len(),
        "data": "fresh batches of 128 points every step from the generator; global standardisation fitted on n_fit points",
        "flow": format!("{} additive couplings alternating halves; mean fixed at 0; A lower triangular, init I", grid.n_layers),
        "conditioners": Conditioner::ALL.iter().map(|c| serde_json::json!({"name": c.name(), "hidden": c.hidden()})).collect::<Vec<_>>(),
        "optimizer": "Adam lr 1e-3, no weight decay; EMA decay 0.999",
        "noise": "random",
        "readoff": {"tau": cfg.relative_tau, "c": cfg.noise_c, "sweep_max_slope": SWEEP_MAX_SLOPE,
                    "sweep_pairs": "each noise level with the next larger one of the grid, same seed"},
        "sample_quality": {"tolerance_standardised": ON_MANIFOLD, "samples": grid.n_eval},
    });
    let title = match grid.size {
        GridSize::Full => "Spread study: when the learned prior reveals the intrinsic dimension",
        GridSize::Quick => "Spread study (--quick reduced grid)",
        GridSize::Smoke => "Spread study (smoke grid)",
    };
    let mut report = Report::new("spread-study", title, config);

    // The method's fig1 target: noise-relative on the data right in at least 80% of the seeds
    // (ceil(0.8 n), 4 of 5) at 10k; fewer than 5 seeds cannot judge it.
    let fig1 = cells.iter().find(|c| {
        c.rule == Rule { kind: Kind::NoiseRelative, spectrum: Spectrum::Data }
            && c.setting.manifold == StudyManifold::Sine
            && c.setting.placement == SpreadPlacement::Latent
            && c.setting.conditioner == Conditioner::Paper
            && c.setting.s == 0.01
            && c.step == 10_000
    });
    let name = "sine, latent, paper conditioner, s = 0.01, 10k steps: noise-relative on g(x) = 1 (80% of seeds)";
    report.push(match fig1 {
        Some(c) => {
            let n = c.total + c.missing;
            let needed = (4 * n).div_ceil(5);
            Target::new(
                name,
                format!("{} of {n}", c.correct),
                format!(">= {needed} of {n}"),
                Status::from_ok(n > 0 && c.correct >= needed),
            )
            .with_note("method.md section 3 (4 couplings there, 6 here)")
            .applicable_if(n >= 5, "fewer than 5 seeds")
        }
        None => Target::not_applicable(name, "-", ">= 80% of seeds", "the grid has no such setting at 10k steps"),
    });

    // Headline: every rule, last checkpoint, by manifold and placement.
    let mut columns: Vec<Column<'_>> = Vec::new();
    for &m in &grid.manifolds {
        for &p in &grid.placements {
            columns.push((
                format!("{} {}", m.name(), placement_name(p)),
                Box::new(move |c: &Cell| c.step == last && c.setting.manifold == m && c.setting.placement == p),
            ));
        }
    }
    columns
        .push(("all graphs".to_owned(), Box::new(move |c: &Cell| c.step == last && !c.setting.manifold.is_closed())));
    let mut s = pooled_section(
        &format!(
            "Fraction of runs with the right dimension at the last checkpoint ({last} steps), by manifold and placement"
        ),
        cells,
        columns,
    );
    s.note("Pooled over noise levels and conditioners; a run that diverged counts as wrong. The circle is a closed control and is left out of `all graphs`: its dimension is 1, but no diffeomorphism of R^2 flattens a circle, so a count of 1 there means the flow squashed the loop into a thin band, not that it found a chart. The noise sweeps pair each s with the next larger s of the grid (same seed), so they have no entry at the largest s; `noise-sweep-total` adds s^2 to every eigenvalue first (the variance of the noisy codes).");
    report.sections.push(s);

    // By noise level.
    let mut columns: Vec<Column<'_>> = Vec::new();
    for &sp in &grid.spreads {
        for &p in &grid.placements {
            columns.push((
                format!("s={sp} {}", placement_name(p)),
                Box::new(move |c: &Cell| {
                    c.step == last && c.setting.s == sp && c.setting.placement == p && !c.setting.manifold.is_closed()
                }),
            ));
        }
    }
    report.sections.push(pooled_section(
        &format!("Fraction right at {last} steps by noise level and placement (graph manifolds, all conditioners)"),
        cells,
        columns,
    ));

    // By conditioner.
    let mut columns: Vec<Column<'_>> = Vec::new();
    for &cd in &grid.conditioners {
        for &p in &grid.placements {
            columns.push((
                format!("{} {}", cd.short(), placement_name(p)),
                Box::new(move |c: &Cell| {
                    c.step == last
                        && c.setting.conditioner == cd
                        && c.setting.placement == p
                        && !c.setting.manifold.is_closed()
                }),
            ));
        }
    }
    report.sections.push(pooled_section(
        &format!("Fraction right at {last} steps by conditioner and placement (graph manifolds, all noise levels)"),
        cells,
        columns,
    ));

    // By checkpoint.
    let mut columns: Vec<Column<'_>> = Vec::new();
    for &step in &grid.checkpoints {
        for &p in &grid.placements {
            columns.push((
                format!("{step} {}", placement_name(p)),
                Box::new(move |c: &Cell| c.step == step && c.setting.placement == p && !c.setting.manifold.is_closed()),
            ));
        }
    }
    report.sections.push(pooled_section(
        "Fraction right by checkpoint and placement (graph manifolds, all noise levels and conditioners)",
        cells,
        columns,
    ));

    // The best rule overall and per placement at the last checkpoint.
    let mut best =
        Section::new("Best rule at the last checkpoint (graph manifolds)", &["pool", "rule", "right", "fraction"]);
    let pools: Vec<Column<'_>> = vec![
        ("all settings".to_owned(), Box::new(move |c: &Cell| c.step == last)),
        (
            "latent placement".to_owned(),
            Box::new(move |c: &Cell| c.step == last && c.setting.placement == SpreadPlacement::Latent),
        ),
        (
            "data placement".to_owned(),
            Box::new(move |c: &Cell| c.step == last && c.setting.placement == SpreadPlacement::Data),
        ),
        (
            "data placement, s <= 0.03".to_owned(),
            Box::new(move |c: &Cell| {
                c.step == last && c.setting.placement == SpreadPlacement::Data && c.setting.s <= 0.03
            }),
        ),
        (
            "latent placement, s <= 0.03".to_owned(),
            Box::new(move |c: &Cell| {
                c.step == last && c.setting.placement == SpreadPlacement::Latent && c.setting.s <= 0.03
            }),
        ),
    ];
    for (name, keep) in &pools {
        if let Some((rule, k, n)) = best_rule(cells, |c| keep(c) && !c.setting.manifold.is_closed()) {
            best.row([
                name.as_str().into(),
                rule.label().into(),
                format!("{k}/{n}").into(),
                (k as f64 / n as f64).into(),
            ]);
        }
    }
    report.sections.push(best);

    // Sample quality at the last checkpoint.
    let mut q = Section::new(
        format!(
            "Samples at {last} steps: fraction within {ON_MANIFOLD} of the manifold (standardised units), median over seeds; min over seeds in brackets"
        ),
        &["manifold", "placement", "conditioner", "s", "on manifold", "median distance"],
    );
    for setting in grid.settings() {
        let runs: Vec<&RunResult> = results.iter().filter(|r| r.spec.setting == setting).collect();
        let at: Vec<_> = runs.iter().filter_map(|r| r.checkpoint(last)).collect();
        let on: Vec<f64> = at.iter().map(|c| c.on_manifold).collect();
        let med: Vec<f64> = at.iter().map(|c| c.median_distance).collect();
        let (on_med, on_min) =
            (crate::plot::quantile(on.iter().copied(), 0.5), on.iter().copied().fold(f64::INFINITY, f64::min));
        q.row([
            setting.manifold.name().into(),
            placement_name(setting.placement).into(),
            setting.conditioner.short().into(),
            setting.s.into(),
            on_med.map_or("-".to_owned(), |m| format!("{m:.3} [{on_min:.3}]")).into(),
            crate::plot::quantile(med.iter().copied(), 0.5).unwrap_or(f64::NAN).into(),
        ]);
    }
    report.sections.push(q);

    // Failures.
    let failed: Vec<&RunResult> = results.iter().filter(|r| r.failure.is_some()).collect();
    let mut f = Section::new("Runs that stopped early or could not be read", &["run", "seed", "why"]);
    if failed.is_empty() {
        f.note("none");
    }
    for r in failed {
        f.row([r.spec.setting.label().into(), r.spec.seed.into(), r.failure.clone().unwrap_or_default().into()]);
    }
    report.sections.push(f);

    // Timings per manifold and conditioner (what `--list` extrapolates from).
    let mut t = Section::new(
        "Wall time per run (seconds, training and checkpoint reads; runs share the cores)",
        &["manifold", "conditioner", "runs", "mean s per run", "ms per step"],
    );
    let mut total = 0.0;
    for &m in &grid.manifolds {
        for &cd in &grid.conditioners {
            let secs: Vec<f64> = results
                .iter()
                .filter(|r| r.spec.setting.manifold == m && r.spec.setting.conditioner == cd)
                .map(|r| r.seconds)
                .collect();
            let mean = secs.iter().sum::<f64>() / secs.len().max(1) as f64;
            total += secs.iter().sum::<f64>();
            t.row([
                m.name().into(),
                cd.short().into(),
                secs.len().into(),
                mean.into(),
                (1e3 * mean / grid.steps().max(1) as f64).into(),
            ]);
        }
    }
    t.note(format!("sum over runs: {total:.0} s of run time"));
    report.sections.push(t);
    report
}

/// Add the estimator check to the report: one row per manifold and configuration, and the
/// target that the default is right on the graph manifolds in at least 90% of the check's
/// runs (the study found 40 of 40 in its own grid; the check is out of sample).
pub fn add_check(report: &mut Report, grid: &Grid, checks: &[CheckRun]) {
    let mut section = Section::new(
        format!(
            "The flow estimator on fixed data sets ({} points, {} steps, seeds {:?}): estimates per seed",
            grid.n_check,
            grid.check_steps(),
            grid.seeds
        ),
        &["manifold", "K", "estimator", "estimates", "right"],
    );
    section.note(
        "FlowEstimator as a user runs it: its own training on a fixed data set drawn from seeds none of the \
         study's runs use. `default` is FlowEstimator::default() (chosen from the study), `method` is \
         FlowEstimator::method() (the setting before the study); the last two rows per manifold push the \
         default into failure cases.",
    );
    for &m in &grid.manifolds {
        for which in check::ALL {
            let mut runs: Vec<&CheckRun> = checks.iter().filter(|c| c.manifold == m && c.which == which).collect();
            runs.sort_by_key(|c| c.seed);
            let est: Vec<String> = runs
                .iter()
                .map(|c| c.dimension.as_ref().map_or_else(|e| format!("error: {e}"), |d| d.to_string()))
                .collect();
            let right = runs.iter().filter(|c| c.dimension.as_ref().is_ok_and(|&d| d == m.intrinsic_dim())).count();
            section.row([
                m.name().into(),
                m.intrinsic_dim().into(),
                which.name().into(),
                est.join(", ").into(),
                format!("{right}/{}", runs.len()).into(),
            ]);
        }
    }
    report.sections.push(section);
    for which in check::ALL {
        let graphs: Vec<&CheckRun> = checks.iter().filter(|c| c.which == which && !c.manifold.is_closed()).collect();
        let right =
            graphs.iter().filter(|c| c.dimension.as_ref().is_ok_and(|&d| d == c.manifold.intrinsic_dim())).count();
        let fraction = right as f64 / graphs.len().max(1) as f64;
        let name = format!(
            "flow estimator, {}: fraction right on the graph manifolds ({right}/{})",
            which.name(),
            graphs.len()
        );
        let target = match which {
            Which::Default if grid.check_steps() >= 10_000 => Target::at_least(name, fraction, 0.9),
            Which::Default => Target::not_applicable(name, fraction, ">= 0.9", "shortened run (fewer than 10k steps)"),
            Which::Method => Target::not_applicable(name, fraction, "-", "reference: the setting before the study"),
            Which::Noisy | Which::Short => {
                Target::not_applicable(name, fraction, "-", "a failure case, for the record")
            }
        };
        report.push(target);
    }
}
