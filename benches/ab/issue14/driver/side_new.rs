// d25d3f5's (and later main's) API. `train_step`: `manifold_prior::TrainStep::run`, the one
// step the trainer, the profiler and the criterion bench use since issue 14. `train_loop`:
// one call of `manifold_prior::train` for 3 steps on the same batch (eigenvalue records off).

use datasets::Manifold;
use faer::Mat;
use manifold_prior::{DataSource, Silent, SpreadNoise, TrainConfig, TrainStep, paper_fading_squares, train};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn images() -> Mat<f64> {
    Manifold::FadingSquares.sample_with_params(100, &mut ChaCha8Rng::seed_from_u64(8)).0
}

pub fn train_step() -> Box<dyn FnMut() -> f64> {
    let mut model = paper_fading_squares(0, SpreadNoise::ConstShift).expect("the paper's model builds");
    let images = images();
    let mut step = TrainStep::new(&TrainConfig::paper_fading_squares());
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    Box::new(move || step.run(&mut model, images.as_ref(), &mut rng).expect("finite step").loss)
}

pub fn train_loop() -> Box<dyn FnMut() -> f64> {
    let mut model = paper_fading_squares(0, SpreadNoise::ConstShift).expect("the paper's model builds");
    let images = images();
    let config = TrainConfig { eigen_interval: 0, ..TrainConfig::paper_fading_squares().with_steps(3) };
    Box::new(move || {
        let mut data = |_: usize, _: &mut ChaCha8Rng| images.clone();
        let history = train(&mut model, DataSource::Generator(&mut data), &config, &mut Silent).expect("finite run");
        history.losses.iter().sum()
    })
}
