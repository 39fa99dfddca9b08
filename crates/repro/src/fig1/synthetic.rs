//! Synthetic stand-ins for the fig1 inputs, shaped like a real run (a curled spiral for the
//! standard flow's latent, a thin segment for the spread flow's), for the tests of the figures
//! and the report layout only: made-up numbers, so not part of the public API.

use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{EigenTrajectory, Fig1Measurements, Fig1Panels, SampleQuality, SpreadSeed, sine_curve};

/// Points per synthetic set.
const N: usize = 2000;

/// Synthetic panels and trajectory from `seed` (deterministic).
pub fn inputs(seed: u64) -> (Fig1Panels, EigenTrajectory) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = move || -> f64 { StandardNormal.sample(&mut rng) };

    let x1: Vec<f64> = (0..N).map(|_| normal()).collect();
    let data = Mat::from_fn(N, 2, |i, j| if j == 0 { x1[i] } else { (2.0 * x1[i]).sin() });

    // Standard flow: samples scattered off the curve, a few blown up.
    let baseline_samples = {
        let mut m = Mat::zeros(N, 2);
        for i in 0..N {
            let t = normal();
            let off = 0.18 * normal() + if i % 400 == 7 { 3.0 * normal() } else { 0.0 };
            m[(i, 0)] = t;
            m[(i, 1)] = (2.0 * t).sin() + off;
        }
        m
    };
    let baseline_prior_samples = Mat::from_fn(N, 2, |_, _| normal());
    // The curled curve: the data's x1 order wound into a spiral that fills the Gaussian.
    let baseline_latent = Mat::from_fn(N, 2, |i, j| {
        let u = (x1[i] / 3.0).clamp(-1.0, 1.0);
        let angle = 2.6 * std::f64::consts::PI * u;
        let radius = 0.25 + 2.1 * u.abs();
        let side = if u < 0.0 { -1.0 } else { 1.0 };
        if j == 0 { side * radius * angle.cos() } else { side * radius * angle.sin() }
    });

    // Spread flow: A lower-triangular with a collapsed second direction.
    let a = [[0.93, 0.0], [0.34, 0.004]];
    let spread_samples = {
        let mut m = Mat::zeros(N, 2);
        for i in 0..N {
            let t = normal();
            m[(i, 0)] = t;
            m[(i, 1)] = (2.0 * t).sin() + 0.004 * normal();
        }
        m
    };
    let spread_prior_samples = {
        let mut m = Mat::zeros(N, 2);
        for i in 0..N {
            let (e0, e1) = (normal(), normal());
            m[(i, 0)] = a[0][0] * e0;
            m[(i, 1)] = a[1][0] * e0 + a[1][1] * e1;
        }
        m
    };
    let spread_latent = Mat::from_fn(N, 2, |i, j| {
        let t = x1[i];
        if j == 0 { a[0][0] * t } else { a[1][0] * t + 0.003 * (2.0 * t).sin() }
    });
    let eigenvalues =
        super::targets::sym2_eigenvalues(a[0][0] * a[0][0], a[0][0] * a[1][0], a[1][0] * a[1][0] + a[1][1] * a[1][1]);

    let panels = Fig1Panels {
        data,
        reference_curve: sine_curve(-4.0, 4.0, 801),
        baseline_samples,
        baseline_prior_samples,
        baseline_latent,
        spread_samples,
        spread_prior_samples,
        spread_latent,
        eigenvalues: eigenvalues.to_vec(),
        baseline_on_curve: Some(0.27),
        spread_on_curve: Some(0.996),
        on_curve_tolerance: 0.05,
    };

    // Trajectory: both start at 1 (A = I); the normal direction collapses, the tangent one
    // drifts slowly (method.md's "known degeneracy").
    let steps: Vec<usize> = (0..=100).map(|k| k * 100).collect();
    let eig = steps
        .iter()
        .map(|&t| {
            let t = t as f64;
            let wiggle = 1.0 + 0.05 * (t / 370.0).sin();
            let top = eigenvalues[0] + (1.0 - eigenvalues[0]) * (-t / 900.0).exp();
            let bottom = (eigenvalues[1] + (-t / 700.0).exp()) * wiggle;
            vec![top, bottom]
        })
        .collect();
    let trajectory = EigenTrajectory { steps, eigenvalues: eig, s: 0.01, c: 50.0 };
    (panels, trajectory)
}

/// Synthetic measurements for five seeds at the preset's 10k steps (one seed misses the
/// noise-relative read-off, as in our real runs it sometimes does).
pub fn measurements() -> Fig1Measurements {
    let spread = [(0.91, 0.015, 1), (0.88, 0.021, 1), (0.95, 0.31, 2), (0.9, 0.009, 1), (0.86, 0.02, 1)]
        .iter()
        .enumerate()
        .map(|(k, &(hi, lo, id))| SpreadSeed {
            seed: k as u64,
            eigenvalues: vec![hi, lo],
            raw_eigenvalues: vec![hi, lo],
            id_relative: id,
            id_gap: 1,
            id_noise: id,
            latent_ratio: 1e-4 * (k + 1) as f64,
            quality: SampleQuality {
                on_curve: 0.993 + 0.001 * k as f64,
                finite: 1.0,
                median_distance: 0.004 + 0.0003 * k as f64,
                final_loss: -4.1 - 0.05 * k as f64,
            },
        })
        .collect();
    Fig1Measurements {
        baseline: SampleQuality { on_curve: 0.27, finite: 1.0, median_distance: 0.17, final_loss: 1.52 },
        baseline_latent_ratio: 0.4,
        spread,
        steps: 10_000,
        preset_steps: 10_000,
        large_spread: super::AblationResult { seeds: vec![0, 1, 2], ratios: vec![2.1, 3.0, 1.6] },
        weight_decay: super::AblationResult { seeds: vec![0, 1, 2], ratios: vec![1.1, 1.0, 1.2] },
    }
}
