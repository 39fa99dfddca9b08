//! The readers behind the gzip layer: the input after two control bytes is compressed into
//! one or more gzip members (byte 1 picks where to cut), optionally followed by trailing
//! bytes, and read as text, NPY or IDX (byte 0 picks). Mutations then reach the parsers
//! through decompression, and the member joining and trailing-data checks are exercised.
#![no_main]

use std::io::Write;
use std::path::Path;

use datasets::{CsvOptions, DataError, Format, load_reader};
use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;

fn gzip(part: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(part).expect("in memory");
    enc.finish().expect("in memory")
}

fuzz_target!(|data: &[u8]| {
    let [select, cut, rest @ ..] = data else { return };
    let format = [Format::Text, Format::Npy, Format::Idx][usize::from(select % 3)];
    let trailing = select & 0x80 != 0;
    let at = usize::from(*cut).min(rest.len());
    let mut file = gzip(&rest[..at]);
    file.extend(gzip(&rest[at..]));
    if trailing {
        file.push(b'!');
    }
    let opts = CsvOptions::default().max_bytes(1 << 20);
    let plain = load_reader(rest, format, Path::new("fuzz"), &opts);
    let zipped = load_reader(file.as_slice(), format, Path::new("fuzz"), &opts);
    match (&plain, &zipped) {
        (_, Err(DataError::GzipTrailingData { .. })) => assert!(trailing),
        // Compression changes nothing else: the same data or the same kind of error (a plain
        // file that happens to start with the gzip magic is read as gzip, so skip those).
        (Ok(a), Ok(b)) => assert_eq!(a.dataset.data, b.dataset.data),
        _ if rest.starts_with(&[0x1f, 0x8b]) => {}
        (Err(a), Err(b)) => assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b), "{a} / {b}"),
        (a, b) => panic!("plain and gzip disagree: {:?} / {:?}", a.as_ref().err(), b.as_ref().err()),
    }
});
