//! Measure the spread flow's read-off on graph manifolds (and a circle) over seeds.
//! `cargo run --release -p manifold-prior --example graph_manifolds -- [steps] [seeds]`

use datasets::Manifold;
use manifold_prior::{
    DataSource, ReadoffConfig, ScalingMode, Silent, SpreadConfig, Standardizer, TrainConfig, spread_preset, train,
};
use rand::SeedableRng;

fn main() -> anyhow::Result<()> {
    let steps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let seeds: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    for manifold in [Manifold::Paraboloid, Manifold::SineGraph3d, Manifold::Circle] {
        for seed in 0..seeds {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1_000 + seed);
            let reference = manifold.sample(20_000, &mut rng);
            let scaler = Standardizer::fit(reference.as_ref(), ScalingMode::Global);
            let mut model = spread_preset(manifold.ambient_dim(), 6, seed, SpreadConfig::paper(), scaler)?;
            let mut generate = |n: usize, rng: &mut rand_chacha::ChaCha8Rng| manifold.sample(n, rng);
            let config = TrainConfig::paper_fig1().with_seed(seed).with_steps(steps);
            let h = train(&mut model, DataSource::Generator(&mut generate), &config, &mut Silent)?;
            let data = manifold.sample(10_000, &mut rng);
            let id = model.intrinsic_dimension(data.as_ref(), ReadoffConfig::default())?;
            let samples = model.sample(10_000, 7 + seed);
            let err = manifold.manifold_error(samples.as_ref()).unwrap_or_default();
            let near = err.iter().filter(|&&e| e < 0.05).count() as f64 / err.len().max(1) as f64;
            println!(
                "{} seed {seed}: {:.1}s loss {:.3} near {near:.4} ema {:?} data {:?} prior rules {:?} raw rules {:?} data rules {:?}",
                manifold.name(),
                h.seconds,
                h.losses.last().copied().unwrap_or(f64::NAN),
                id.ema_prior_eigenvalues,
                id.data_eigenvalues,
                id.prior_rules,
                id.raw_prior_rules,
                id.data_rules
            );
        }
    }
    Ok(())
}
