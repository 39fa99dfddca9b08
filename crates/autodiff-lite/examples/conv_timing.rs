//! Time the convolutions of the fading-squares model, forward and backward:
//! `cargo run --release -p autodiff-lite --example conv_timing`.

use std::time::Instant;

use autodiff_lite::{Conv2dShape, ParamStore, Tape};
use faer::Mat;

fn main() {
    let n = 100;
    let cases = [
        ("stage1 conv3x3 2->16", Conv2dShape::same(2, 16, 16, 3), 16),
        ("stage1 conv1x1 16->16", Conv2dShape::same(16, 16, 16, 1), 16),
        ("stage1 conv3x3 16->4", Conv2dShape::same(16, 16, 16, 3), 4),
        ("stage2 conv3x3 8->16", Conv2dShape::same(8, 8, 8, 3), 16),
        ("stage2 conv1x1 16->16", Conv2dShape::same(16, 8, 8, 1), 16),
        ("stage2 conv3x3 16->16", Conv2dShape::same(16, 8, 8, 3), 16),
    ];
    let mut tape = Tape::new();
    for (name, shape, c_out) in cases {
        let mut store = ParamStore::new();
        let w = store.add("w", Mat::from_fn(c_out, shape.patch_len(), |i, j| ((i * 7 + j * 3) % 11) as f64 * 0.01));
        let b = store.add("b", Mat::from_fn(1, c_out, |_, j| j as f64 * 0.1));
        let x = Mat::from_fn(n, shape.in_len(), |i, j| ((i + j) % 13) as f64 * 0.1);
        let (mut fwd, mut bwd) = (Vec::new(), Vec::new());
        for _ in 0..30 {
            tape.clear();
            let xv = tape.input(x.as_ref());
            let (wv, bv) = (tape.param(&store, w), tape.param(&store, b));
            let t0 = Instant::now();
            let y = tape.conv2d(xv, wv, bv, shape);
            let t1 = Instant::now();
            let loss = tape.sum(y);
            tape.backward(loss, &mut store);
            let t2 = Instant::now();
            fwd.push((t1 - t0).as_secs_f64() * 1e3);
            bwd.push((t2 - t1).as_secs_f64() * 1e3);
            store.zero_grads();
        }
        fwd.sort_by(f64::total_cmp);
        bwd.sort_by(f64::total_cmp);
        println!("{name:24} forward {:6.2} ms  backward {:6.2} ms", fwd[15], bwd[15]);
    }
}
