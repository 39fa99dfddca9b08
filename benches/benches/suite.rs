//! The criterion suite: one harness binary, one module per area.

use criterion::{criterion_group, criterion_main};

mod autodiff_bench;
mod datasets_bench;
mod fading_squares_bench;
mod flow_bench;
mod image_bench;
mod intrinsic_dim_bench;
mod model_bench;
mod prior_bench;

criterion_group!(benches, autodiff_bench::bench, datasets_bench::bench, flow_bench::bench, prior_bench::bench);
criterion_group!(intrinsic_dim, intrinsic_dim_bench::bench);
criterion_group!(fading_squares, fading_squares_bench::bench);
criterion_group!(image784, image_bench::bench);
criterion_group!(model, model_bench::bench);
criterion_main!(benches, intrinsic_dim, fading_squares, image784, model);
