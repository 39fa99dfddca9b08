//! The text reader on arbitrary bytes (plain, or gzip when they start with its magic), with
//! automatic and forced header and delimiter choices: it must return data or a `DataError`,
//! never panic, and never read past its cap.
#![no_main]

use std::path::Path;

use datasets::{CsvOptions, Delimiter, Format, Header, load_reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let auto = CsvOptions::default().max_bytes(1 << 20);
    let forced = auto.header(Header::Yes).delimiter(Delimiter::Semicolon);
    for opts in [auto, forced, auto.header(Header::No).delimiter(Delimiter::Whitespace)] {
        if let Ok(loaded) = load_reader(data, Format::Text, Path::new("fuzz.csv"), &opts) {
            let ds = loaded.dataset;
            assert!(ds.len() > 0 && ds.ambient_dim() > 0, "a loaded text file holds data");
            assert!(loaded.layout.is_some_and(|l| l.delimiter != Delimiter::Auto));
        }
    }
});
