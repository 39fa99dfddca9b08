// 065bc8e's API. `train_step`: the trainer's step as `manifold_prior::train` runs it at
// 065bc8e (trainer.rs `run`: standardise, record_loss, finite-loss check, reverse pass,
// finite-gradient check, Adam with L2, zero grads, EMA of the prior's parameters), with
// `update_ema` (crate-private there) written out as in trainer.rs. `train_loop`: one call of
// `manifold_prior::train` for 3 steps on the same batch (eigenvalue records off).

use autodiff_lite::{Adam, AdamConfig, Optimizer, Tape, WeightDecay};
use datasets::Manifold;
use faer::Mat;
use manifold_prior::{DataSource, Model, NoiseMode, TrainConfig, paper_fading_squares, train};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn images() -> Mat<f64> {
    Manifold::FadingSquares.sample_with_params(100, &mut ChaCha8Rng::seed_from_u64(8)).0
}

pub fn train_step() -> Box<dyn FnMut() -> f64> {
    let mut model = paper_fading_squares(0, NoiseMode::ConstShift).expect("the paper's model builds");
    let images = images();
    let config = TrainConfig::paper_fading_squares();
    let mut optimizer =
        Adam::new(AdamConfig { lr: config.lr, weight_decay: WeightDecay::L2(0.5), ..AdamConfig::default() });
    let tracked = model.tracked_params();
    let decay = config.ema_decay;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut tape = Tape::new();
    Box::new(move || {
        let input = model.scaler().transform(images.as_ref());
        tape.clear();
        let loss_var = model.record_loss(&mut tape, input.as_ref(), &mut rng).expect("finite prior");
        let loss = tape.scalar(loss_var);
        assert!(loss.is_finite());
        tape.backward(loss_var, model.store_mut());
        assert!(model.store().grads_are_finite());
        optimizer.step(model.store_mut());
        model.store_mut().zero_grads();
        let (store, ema) = model.split_ema().expect("a spread flow keeps an EMA");
        for &id in &tracked {
            let cur = store.value(id);
            let e = ema.value_mut(id);
            for j in 0..cur.ncols() {
                for i in 0..cur.nrows() {
                    e[(i, j)] = decay * e[(i, j)] + (1.0 - decay) * cur[(i, j)];
                }
            }
        }
        loss
    })
}

pub fn train_loop() -> Box<dyn FnMut() -> f64> {
    let mut model = paper_fading_squares(0, NoiseMode::ConstShift).expect("the paper's model builds");
    let images = images();
    let config = TrainConfig { eigen_interval: 0, ..TrainConfig::paper_fading_squares().with_steps(3) };
    Box::new(move || {
        let mut data = |_: usize, _: &mut ChaCha8Rng| images.clone();
        let history = train(&mut model, DataSource::Generator(&mut data), &config).expect("finite run");
        history.losses.iter().sum()
    })
}
