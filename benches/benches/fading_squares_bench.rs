//! Benchmarks of the fading-squares model (issue 8, "Speed"): its convolutions, the flow's
//! forward and reverse pass, and one whole training step (flow, prior with its
//! 1024 x 1024 Cholesky, Adam with L2), all at the paper's batch of 100.
//! Run with `cargo bench -p mflow-benches -- fading_squares/`.

use std::hint::black_box;

use autodiff_lite::{Conv2dShape, ParamStore, Tape};
use criterion::{Criterion, SamplingMode};
use datasets::Manifold;
use faer::Mat;
use manifold_prior::{SpreadNoise, TrainConfig, TrainStep, paper_fading_squares};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The batch size of the paper.
const BATCH: usize = 100;

/// Register the benchmarks:
///
/// - `fading_squares/conv/{2to16_3x3_16px, 16to4_3x3_16px, 16to16_3x3_8px}`: one convolution
///   of the first and second stage, forward and backward (input, weight and bias gradients);
/// - `fading_squares/flow_fwd_bwd`: the whole flow `g` forward and backward (sum of `g(x)`
///   as the loss), no prior;
/// - `fading_squares/train_step`: one training step of the paper's model (const-shift noise),
///   the trainer's own (`TrainStep`): loss, reverse pass, gradient check, Adam with L2 weight
///   decay, moving average of the prior.
pub fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("fading_squares");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let convs = [
        ("2to16_3x3_16px", Conv2dShape::same(2, 16, 16, 3), 16),
        ("16to4_3x3_16px", Conv2dShape::same(16, 16, 16, 3), 4),
        ("16to16_3x3_8px", Conv2dShape::same(16, 8, 8, 3), 16),
    ];
    for (name, shape, c_out) in convs {
        let mut store = ParamStore::new();
        let w = store.add("w", Mat::from_fn(c_out, shape.patch_len(), |_, _| rng.random_range(-0.1..0.1)));
        let b = store.add("b", Mat::from_fn(1, c_out, |_, _| rng.random_range(-0.1..0.1)));
        let x = Mat::from_fn(BATCH, shape.in_len(), |_, _| rng.random_range(-1.0..1.0));
        let mut tape = Tape::new();
        group.bench_function(format!("conv/{name}"), |bencher| {
            bencher.iter(|| {
                tape.clear();
                let xv = tape.input(x.as_ref());
                let (wv, bv) = (tape.param(&store, w), tape.param(&store, b));
                let y = tape.conv2d(xv, wv, bv, shape);
                let loss = tape.sum(y);
                tape.backward(loss, &mut store);
                store.zero_grads();
                black_box(tape.scalar(loss))
            })
        });
    }

    let mut model = paper_fading_squares(0, SpreadNoise::ConstShift).expect("the paper's model builds");
    let images = Manifold::FadingSquares.sample_with_params(BATCH, &mut rng).0;
    let mut tape = Tape::new();
    let mut store = model.store().clone();
    group.bench_function("flow_fwd_bwd", |bencher| {
        bencher.iter(|| {
            tape.clear();
            let x = tape.leaf(images.as_ref());
            let (z, _) = flow_core::Bijector::forward(model.flow(), &mut tape, &store, x);
            let loss = tape.sum(z);
            tape.backward(loss, &mut store);
            store.zero_grads();
            black_box(tape.scalar(loss))
        })
    });

    let mut step = TrainStep::new(&TrainConfig::paper_fading_squares());
    let mut noise_rng = ChaCha8Rng::seed_from_u64(9);
    group.bench_function("train_step", |bencher| {
        bencher.iter(|| black_box(step.run(&mut model, images.as_ref(), &mut noise_rng).expect("finite step").loss))
    });
    group.finish();
}
