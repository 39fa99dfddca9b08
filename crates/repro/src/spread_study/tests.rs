//! The spread-study pipeline at smoke size (train, read, tally, draw, report), and the pieces
//! that do not need training: distances of the embedded manifold, grids, the tally.
#![allow(clippy::unwrap_used)]

use faer::Mat;
use manifold_prior::SpreadPlacement;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::rules::{Kind, Rule, Spectrum, all_rules, tally};
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
    let sweep = Rule { kind: Kind::NoiseSweep, spectrum: Spectrum::Data };
    for c in cells.iter().filter(|c| c.rule == sweep) {
        assert_eq!(c.fraction().is_nan(), c.setting.s == 0.03, "{c:?}");
    }
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
    let ctx = crate::RunContext {
        name: "spread-study",
        seed: 0,
        n_seeds: 1,
        steps: Some(12),
        out_dir: dir.path().to_owned(),
        verbosity: crate::Verbosity::Quiet,
    };
    let report = crate::run_experiment(quick, &ctx)?;
    assert_eq!(report.seeds, vec![0]);
    assert!(dir.path().join("report.md").is_file() && dir.path().join("heatmap.png").is_file());
    Ok(())
}
