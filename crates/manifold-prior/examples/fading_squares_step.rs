//! Time training steps of the paper's fading-squares model by phase and print the first
//! losses: `cargo run --release -p manifold-prior --example fading_squares_step -- [steps] [seed]
//! [const-shift|random|expected]`.

use datasets::Manifold;
use manifold_prior::{SpreadNoise, TrainConfig, paper_fading_squares, profile_steps};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let steps: usize = args.next().map_or(Ok(10), |s| s.parse())?;
    let seed: u64 = args.next().map_or(Ok(0), |s| s.parse())?;
    let noise = match args.next().as_deref() {
        None | Some("const-shift") => SpreadNoise::ConstShift,
        Some("random") => SpreadNoise::Random,
        Some("expected") => SpreadNoise::Expected,
        Some(other) => return Err(format!("unknown noise mode '{other}' (const-shift, random, expected)").into()),
    };
    let mut model = paper_fading_squares(seed, noise)?;
    println!("parameters: {}", model.store().n_scalars());
    let mut generate =
        |n: usize, rng: &mut rand_chacha::ChaCha8Rng| Manifold::FadingSquares.sample_with_params(n, rng).0;
    let config = TrainConfig::paper_fading_squares().with_seed(seed);
    let profile = profile_steps(&mut model, &mut generate, &config, steps)?;
    println!("{profile:#?}");
    Ok(())
}
