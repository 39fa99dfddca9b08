//! Benchmarks of the `datasets` crate: generating the sine curve and loading an MNIST-sized
//! IDX file.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::Criterion;
use datasets::{GenerateOptions, Manifold, read_idx_images, write_idx_images};

/// A scratch directory removed when dropped (the benches crate has no `tempfile`).
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mflow-bench-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a scratch directory for the bench");
        ScratchDir(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Register the datasets benchmarks: `datasets/sine_100k` (100,000 seeded sine-curve points)
/// and `datasets/idx_load_60000x784` (read an uncompressed 60,000 x 28 x 28 u8 IDX file
/// into a `60000 x 784` f64 matrix; the file is written once in the setup).
pub fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("datasets");

    let opts = GenerateOptions::new(100_000, 0);
    group.bench_function("sine_100k", |b| b.iter(|| Manifold::SineCurve.generate(black_box(&opts))));

    let scratch = ScratchDir::new("idx");
    let path = scratch.0.join("train-images-idx3-ubyte");
    let (n, rows, cols) = (60_000usize, 28usize, 28usize);
    // Deterministic MNIST-like bytes: mostly zeros with a bright band per image.
    let pixels: Vec<u8> = (0..n * rows * cols)
        .map(|k| {
            let (img, pix) = (k / (rows * cols), k % (rows * cols));
            if (pix / cols).abs_diff(img % rows) < 4 { (pix * 7 + img) as u8 } else { 0 }
        })
        .collect();
    write_idx_images(&path, &pixels, rows, cols).expect("write the bench IDX file");
    drop(pixels);
    group.sample_size(10);
    group.bench_function("idx_load_60000x784", |b| {
        b.iter(|| read_idx_images(black_box(&path)).expect("read the bench IDX file"))
    });
    group.finish();
}
