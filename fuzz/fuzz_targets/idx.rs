//! The IDX reader on arbitrary bytes (plain, or gzip when they start with its magic).
#![no_main]

use std::path::Path;

use datasets::{CsvOptions, Format, load_reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = CsvOptions::default().max_bytes(1 << 20);
    let _ = load_reader(data, Format::Idx, Path::new("fuzz.idx"), &opts);
});
