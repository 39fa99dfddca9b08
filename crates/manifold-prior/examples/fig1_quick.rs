//! Train the fig1 spread flow and baseline once and print the headline numbers.

use manifold_prior::{DataSource, ReadoffConfig, Silent, TrainConfig, paper_fig1_baseline, paper_fig1_spread, train};
use rand_distr::{Distribution, StandardNormal};

fn main() -> anyhow::Result<()> {
    let seed: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let steps: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let mut sine = |n: usize, rng: &mut rand_chacha::ChaCha8Rng| {
        let t: Vec<f64> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
        faer::Mat::from_fn(n, 2, |i, j| if j == 0 { t[i] } else { (2.0 * t[i]).sin() })
    };
    let config = TrainConfig::paper_fig1().with_seed(seed).with_steps(steps);
    let mut model = paper_fig1_spread(seed)?;
    let h = train(&mut model, DataSource::Generator(&mut sine), &config, &mut Silent)?;
    let ema_samples = model.sample_with(10_000, 1000 + seed, manifold_prior::ParamSource::Average);
    let near_ema = (0..ema_samples.nrows())
        .filter(|&i| (ema_samples[(i, 1)] - (2.0 * ema_samples[(i, 0)]).sin()).abs() < 0.05)
        .count();
    println!("ema near {:.4}", near_ema as f64 / 1e4);
    let samples = model.sample(10_000, 1000 + seed);
    let near = (0..samples.nrows()).filter(|&i| (samples[(i, 1)] - (2.0 * samples[(i, 0)]).sin()).abs() < 0.05).count();
    let data = {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(99);
        sine(10_000, &mut rng)
    };
    let id = model.intrinsic_dimension(data.as_ref(), ReadoffConfig::default())?;
    println!(
        "spread seed {seed}: {:.3}s ({:.1} us/step) loss {:.3} near {:.4} raw {:?} ema {:?} data {:?} rules prior {:?} data {:?}",
        h.seconds,
        h.seconds / steps as f64 * 1e6,
        h.losses.last().copied().unwrap_or(f64::NAN),
        near as f64 / 1e4,
        id.prior_eigenvalues,
        id.ema_prior_eigenvalues,
        id.data_eigenvalues,
        id.prior_rules,
        id.data_rules
    );
    let mut base = paper_fig1_baseline(seed)?;
    let hb = train(&mut base, DataSource::Generator(&mut sine), &config, &mut Silent)?;
    let s = base.sample(10_000, 2000 + seed);
    let near = (0..s.nrows()).filter(|&i| (s[(i, 1)] - (2.0 * s[(i, 0)]).sin()).abs() < 0.05).count();
    println!(
        "baseline seed {seed}: {:.3}s loss {:.3} near {:.4}",
        hb.seconds,
        hb.losses.last().copied().unwrap_or(f64::NAN),
        near as f64 / 1e4
    );
    Ok(())
}
