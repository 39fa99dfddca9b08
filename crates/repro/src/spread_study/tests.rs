//! The spread-study pipeline at smoke size (train, read, tally, draw, report), and the pieces
//! that do not need training: distances of the embedded manifold, grids, the tally.
#![allow(clippy::unwrap_used)]

use faer::Mat;
use manifold_prior::SpreadPlacement;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::rules::{self, Kind, Rule, Spectrum, all_rules, tally};
use super::*;

#[test]
fn the_embedded_paraboloid_is_on_its_manifold_and_distances_are_euclidean() {
    let sampler = StudyManifold::ParaboloidIn10.sampler();
    let y = sampler.sample(50, &mut ChaCha8Rng::seed_from_u64(1));
    assert_eq!(y.ncols(), 10);
    assert!(sampler.distance(y.as_ref()).iter().all(|&d| d < 1e-12));
    // Moving a point off the rotated R^3 by a unit vector orthogonal to it: distance 1.
    let frame = datasets::embedding_frame(3, 10, grid::EMBED_SEED);
    let mut normal = Mat::from_fn(10, 1, |i, _| if i == 0 { 1.0 } else { 0.0 });
    let proj = &frame * (frame.transpose() * &normal);
    normal -= proj;
    let n = normal.norm_l2();
    let moved = Mat::from_fn(1, 10, |_, j| y[(0, j)] + normal[(j, 0)] / n);
    assert!((sampler.distance(moved.as_ref())[0] - 1.0).abs() < 1e-9);
    let bad = Mat::from_fn(1, 10, |_, j| if j == 3 { f64::NAN } else { 0.0 });
    assert_eq!(sampler.distance(bad.as_ref())[0], f64::INFINITY);
}

#[test]
fn grids_have_the_documented_shape() {
    let full = Grid::new(GridSize::Full, 5, None);
    assert_eq!(full.runs().len(), 5 * 4 * 2 * 2 * 5);
    assert_eq!(full.manifolds.iter().filter(|m| m.is_closed()).count(), 1);
    assert_eq!(full.checkpoints, vec![1_000, 3_000, 10_000, 30_000]);
    assert_eq!(full.next_spread(0.01), Some(0.03));
    assert_eq!(full.next_spread(0.1), None);
    let medium = Grid::new(GridSize::Full, 5, Some(10_000));
    assert_eq!(medium.checkpoints, vec![1_000, 3_000, 10_000]);
    let quick = Grid::new(GridSize::Quick, 5, None);
    assert_eq!(quick.runs().len(), 5 * 2 * 2 * 3);
    assert_eq!(quick.steps(), 10_000);
}

/// The whole pipeline at smoke size: a broken pipeline fails `cargo test`.
#[test]
fn the_pipeline_runs_at_smoke_size() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let grid = Grid::new(GridSize::Smoke, 1, None);
    let results = run_grid(&grid, crate::Verbosity::Quiet)?;
    assert_eq!(results.len(), 4);
    for r in &results {
        assert!(r.failure.is_none(), "{r:?}");
        assert_eq!(r.checkpoints.iter().map(|c| c.step).collect::<Vec<_>>(), vec![10, 30]);
        let c = &r.checkpoints[1];
        let d = r.spec.setting.manifold.dim();
        assert!(c.raw_prior.len() == d && c.ema_prior.len() == d && c.data.len() == d);
        assert!(c.loss.is_finite() && (0.0..=1.0).contains(&c.on_manifold));
        assert!(r.trajectory.iter().any(|t| t.0 == 30));
    }
    let cells = tally(&grid, &results);
    let n_settings = grid.settings().len();
    assert_eq!(cells.len(), all_rules().len() * n_settings * grid.checkpoints.len());
    // The sweep pairs s = 0.01 with 0.03 and has no partner at 0.03.
    for c in cells.iter().filter(|c| c.rule.is_sweep()) {
        assert_eq!(c.fraction().is_nan(), c.setting.s == 0.03, "{c:?}");
    }
    assert_eq!(
        cells.iter().filter(|c| c.rule.is_sweep()).map(|c| c.rule).collect::<std::collections::HashSet<_>>().len(),
        4
    );
    assert!(cells.iter().filter(|c| !c.rule.is_sweep()).all(|c| c.total == 1 && c.missing == 0));

    let mut report = build_report(&grid, &results, &cells);
    let checks = check::run_check(&grid);
    assert_eq!(checks.len(), grid.manifolds.len() * grid.seeds.len() * check::ALL.len());
    assert!(checks.iter().all(|c| c.dimension.is_ok()), "{checks:?}");
    output::add_check(&mut report, &grid, &checks);
    assert!(report.targets.iter().any(|t| t.name.starts_with("flow estimator, default")));
    let written = write_outputs(dir.path(), &grid, &results, &cells)?;
    for f in [
        "heatmap.png",
        "heatmap.svg",
        "heatmap_steps.png",
        "trajectories.png",
        "data_spectra.png",
        "runs.csv",
        "summary.csv",
    ] {
        assert!(written.iter().any(|w| w == f) && dir.path().join(f).is_file(), "{f} missing");
    }
    let runs = std::fs::read_to_string(dir.path().join("runs.csv"))?;
    assert_eq!(runs.lines().count(), 1 + results.len() * grid.checkpoints.len());
    assert!(runs.lines().next().unwrap().contains("id_noise-sweep/data"));
    assert!(report.to_markdown().contains("Best rule"));
    assert_eq!(grid.placements, vec![SpreadPlacement::Data]);
    Ok(())
}

#[test]
fn quick_is_registered_and_the_runner_writes_the_report() -> anyhow::Result<()> {
    let info = crate::find("spread-study").unwrap();
    assert!(info.is_implemented());
    let quick = info.quick.unwrap();
    assert_eq!(quick.name, "spread-study");
    // Run the registered entry point on a tiny budget: 1 seed, 12 steps of the quick grid.
    let dir = tempfile::tempdir()?;
    let ctx = crate::RunContext { steps: Some(12), ..crate::RunContext::new("spread-study", dir.path().to_owned()) };
    let report = crate::run_experiment(quick, &ctx)?;
    assert_eq!(report.seeds, vec![0]);
    assert!(dir.path().join("report.md").is_file() && dir.path().join("heatmap.png").is_file());
    Ok(())
}

/// A checkpoint with the given spectra (raw = EMA = `prior`).
fn checkpoint(step: usize, prior: &[f64], data: &[f64]) -> Checkpoint {
    Checkpoint {
        step,
        raw_prior: prior.to_vec(),
        ema_prior: prior.to_vec(),
        data: data.to_vec(),
        on_manifold: 1.0,
        median_distance: 0.0,
        loss: 0.0,
    }
}

/// The rules on spectra whose answer is known: a tangent direction of variance 0.1 and a
/// normal one the flow squeezed, at `s = 0.03` (`50 s^2 = 0.045`).
#[test]
fn each_rule_counts_what_it_says() {
    let rule = |kind, spectrum| Rule { kind, spectrum };
    // Encoded data: one direction at 0.1, one squeezed to 1e-4 (below 50 s^2 and far below
    // the first): relative (1e-4 / 0.1 = 1e-3 < 1e-2), log-gap, noise-relative all say 1.
    let c = checkpoint(10, &[0.2, 0.05], &[0.1, 1e-4]);
    for kind in [Kind::Relative, Kind::LogGap, Kind::NoiseRelative] {
        assert_eq!(rule(kind, Spectrum::Data).count(&c, 0.03), 1, "{kind:?}");
    }
    // The prior kept 0.05 in the normal direction: above 50 s^2 = 0.045, so noise-relative
    // says 2; relative (0.25 > 1e-2) says 2; log-gap sees nothing below the floor: D = 2.
    for kind in [Kind::Relative, Kind::LogGap, Kind::NoiseRelative] {
        assert_eq!(rule(kind, Spectrum::EmaPrior).count(&c, 0.03), 2, "{kind:?}");
    }
    // The spread log-gap compares ln(lambda + s^2) with ln s^2: 1e-4 + 9e-4 is next to the
    // noise floor, so the largest gap is after the first eigenvalue.
    assert_eq!(rule(Kind::SpreadLogGap, Spectrum::Data).count(&c, 0.03), 1);

    // The noise sweep between s = 0.01 and 0.03: the first rank keeps its variance (slope
    // 0), the second scales like s^2 (slope 1): one direction carries the manifold.
    let lo = checkpoint(10, &[0.1, 1e-4], &[0.1, 1e-4]);
    let hi = checkpoint(10, &[0.1, 9e-4], &[0.1, 9e-4]);
    assert_eq!(rule(Kind::NoiseSweep, Spectrum::Data).sweep_count((&lo, 0.01), (&hi, 0.03)), 1);
    // A normal direction squeezed to (almost) nothing at both noise levels does not scale
    // with s^2 on its own: the plain sweep counts it, the total variance lambda + s^2 does not.
    let lo = checkpoint(10, &[0.1, 1e-9], &[0.1, 1e-9]);
    let hi = checkpoint(10, &[0.1, 2e-9], &[0.1, 2e-9]);
    assert_eq!(rule(Kind::NoiseSweep, Spectrum::EmaPrior).sweep_count((&lo, 0.01), (&hi, 0.03)), 2);
    assert_eq!(rule(Kind::NoiseSweepTotal, Spectrum::EmaPrior).sweep_count((&lo, 0.01), (&hi, 0.03)), 1);
}

/// The tally counts right, wrong and missing runs per setting, pairs sweep runs by seed,
/// and `best_rule` picks the rule with the highest pooled fraction.
#[test]
fn the_tally_counts_right_wrong_and_missing_runs() {
    let mut grid = Grid::new(GridSize::Smoke, 2, None);
    grid.manifolds = vec![StudyManifold::Sine];
    grid.seeds = vec![0, 1];
    let setting = |s| Setting {
        manifold: StudyManifold::Sine,
        placement: SpreadPlacement::Data,
        conditioner: grid::Conditioner::Paper,
        s,
    };
    let result = |s, seed, checkpoints| RunResult {
        spec: RunSpec { setting: setting(s), seed },
        checkpoints,
        trajectory: Vec::new(),
        seconds: 0.0,
        failure: None,
    };
    let one = |step| checkpoint(step, &[0.1, 1e-4], &[0.1, 1e-4]);
    let two = |step| checkpoint(step, &[0.1, 0.1], &[0.1, 0.1]);
    let results = vec![
        // s = 0.01: seed 0 right at both checkpoints, seed 1 wrong at 10 and diverged before 30.
        result(0.01, 0, vec![one(10), one(30)]),
        result(0.01, 1, vec![two(10)]),
        // s = 0.03: both right.
        result(0.03, 0, vec![one(10), one(30)]),
        result(0.03, 1, vec![one(10), one(30)]),
    ];
    let cells = tally(&grid, &results);
    let noise_relative = Rule { kind: Kind::NoiseRelative, spectrum: Spectrum::Data };
    let cell = |rule, s, step| cells.iter().find(|c| c.rule == rule && c.setting.s == s && c.step == step).unwrap();
    let c = cell(noise_relative, 0.01, 10);
    assert_eq!((c.correct, c.total, c.missing), (1, 2, 0));
    assert_eq!(c.estimates, vec![Some(1), Some(2)]);
    let c = cell(noise_relative, 0.01, 30);
    assert_eq!((c.correct, c.total, c.missing), (1, 1, 1));
    assert!((c.fraction() - 0.5).abs() < 1e-12, "a diverged run counts as wrong");
    assert_eq!(cell(noise_relative, 0.03, 30).fraction(), 1.0);
    // The sweep pairs (0.01, seed) with (0.03, same seed); both spectra equal: slope 0 on
    // both ranks, so it counts 2 (wrong), and the missing partner checkpoint is missing.
    let sweep = Rule { kind: Kind::NoiseSweep, spectrum: Spectrum::Data };
    let c = cell(sweep, 0.01, 30);
    assert_eq!((c.correct, c.total, c.missing), (0, 1, 1));
    assert!(cell(sweep, 0.03, 30).fraction().is_nan());
    let (rule, k, n) = output::best_rule(&cells, |c| c.step == 30).unwrap();
    assert_eq!((k, n), (3, 4), "{}", rule.label());
    assert_eq!(rules::pooled(&cells, |c| c.rule == noise_relative), (6, 8));
}

/// The study's headline on one real run: sine curve, noise on the data at s = 0.03, 1k steps
/// of the paper conditioner; the estimator default's rule (log-gap on the encoded data)
/// reads 1, and most samples (a data-placed model samples the noisy data) lie within 0.05.
#[test]
fn one_real_run_of_the_default_setting_finds_the_sine_curve() -> anyhow::Result<()> {
    let mut grid = Grid::new(GridSize::Quick, 1, Some(1_000));
    grid.manifolds = vec![StudyManifold::Sine];
    grid.spreads = vec![0.03];
    grid.placements = vec![SpreadPlacement::Data];
    grid.checkpoints = vec![1_000];
    let results = run_grid(&grid, crate::Verbosity::Quiet)?;
    let c = results[0].checkpoint(1_000).unwrap();
    assert!(c.data[1] < 0.045 && c.data[0] > 0.045, "encoded spectrum {:?}", c.data);
    let default = Rule { kind: Kind::LogGap, spectrum: Spectrum::Data };
    assert_eq!(default.count(c, 0.03), 1);
    assert!(c.on_manifold > 0.5, "{c:?}");
    Ok(())
}

/// The estimator's default is the setting the study chose (docs/spread-study.md): data
/// placement, s = 0.03, the largest log-gap of the encoded data.
#[test]
fn the_flow_estimator_default_is_the_studys_choice() {
    let d = manifold_prior::FlowEstimator::default();
    assert_eq!(d.spread.placement, SpreadPlacement::Data);
    assert_eq!(d.spread.spread, 0.03);
    assert_eq!(d.rule, manifold_prior::ReadoffRule::LOG_GAP_DATA);
    assert_eq!(
        Rule { kind: Kind::LogGap, spectrum: Spectrum::Data }.label(),
        "log-gap/data",
        "the label docs/spread-study.md uses"
    );
}
