//! The NPY reader on arbitrary bytes (plain, or gzip when they start with its magic).
#![no_main]

use std::path::Path;

use datasets::{CsvOptions, Format, NonFinite, load_reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = CsvOptions::default().max_bytes(1 << 20).non_finite(NonFinite::Allow);
    if let Ok(loaded) = load_reader(data, Format::Npy, Path::new("fuzz.npy"), &opts) {
        let m = loaded.dataset.data;
        assert!(m.nrows() * m.ncols() <= data.len().max(1 << 20));
    }
});
