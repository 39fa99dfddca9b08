//! flow-core's model loader (`io::load_flow`: `flow.json` + `weights.safetensors`) on
//! arbitrary files. The input is split by its first two bytes (a little-endian length) into
//! the JSON text and the safetensors bytes, written to a scratch directory and loaded; a flow
//! that loads must also encode a batch without panicking.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use flow_core::{Bijector, io};
use libfuzzer_sys::fuzz_target;

/// One scratch directory per fuzzing process.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mflow-fuzz-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let [lo, hi, rest @ ..] = data else { return };
    let split = usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len());
    let (json, weights) = rest.split_at(split);
    let dir = scratch();
    std::fs::write(dir.join(io::SPEC_FILE), json).expect("write spec");
    std::fs::write(dir.join(io::WEIGHTS_FILE), weights).expect("write weights");
    if let Ok((flow, store)) = io::load_flow(dir) {
        let d = flow.dim();
        if d <= 64 {
            let x = faer::Mat::from_fn(3, d, |i, j| (i as f64 - 1.0) * 0.5 + j as f64 * 0.1);
            let _ = flow.encode(&store, x.as_ref());
        }
    }
});
