//! Benchmark of the MNIST-scale image step (issue 19, goal 2): one training step of the
//! paper's image family on `1 x 28 x 28` images with the dense `784 x 784` triangular prior,
//! batch 64 (`mflow_benches::image784_model`). Its closest reference is PyTorch's 784-D NICE
//! with a learned prior on 2 threads (`benches/peers/nice784_step_timing_torch.py`).
//! Run with `cargo bench -p mflow-benches --bench suite -- image784/`.

use std::hint::black_box;

use criterion::{Criterion, SamplingMode};
use manifold_prior::TrainStep;
use mflow_benches::{IMAGE784_BATCH, image784_batch, image784_model, image784_train_config, rng};

/// Register `image784/train_step`: the trainer's own step (`TrainStep`: loss with random
/// spread noise, reverse pass, gradient check, Adam with L2 weight decay, moving average of
/// the prior) on one fixed batch of 64 random images.
pub fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("image784");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    let mut model = image784_model(0).expect("the image model builds");
    let images = image784_batch(IMAGE784_BATCH, &mut rng(19));
    let mut step = TrainStep::new(&image784_train_config());
    let mut noise_rng = rng(20);
    group.bench_function("train_step", |bencher| {
        bencher.iter(|| black_box(step.run(&mut model, images.as_ref(), &mut noise_rng).expect("finite step").loss))
    });
    group.finish();
}
