//! End-to-end tests of the `mflow` binary: generate a file, estimate from it, and fail
//! clearly on bad input.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn mflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mflow")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn generate(dir: &Path, name: &str, file: &str, n: &str) -> String {
    let path = dir.join(file).display().to_string();
    let o = mflow(&["generate", name, "--n", n, "--seed", "3", "-o", &path]);
    assert!(o.status.success(), "{}", stderr(&o));
    path
}

#[test]
fn generate_then_id_json_is_one_object_with_every_estimator() {
    let dir = tempfile::tempdir().unwrap();
    let path = generate(dir.path(), "swiss-roll", "roll.csv", "800");
    let o = mflow(&["id", &path, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.trim().lines().count(), 1, "one line of JSON: {text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!((v["n"].as_u64(), v["d"].as_u64()), (Some(800), Some(3)));
    for name in ["mle", "twonn", "lpca", "corrdim"] {
        let e = v["estimates"][name].as_f64().unwrap();
        assert!(v["seconds"][name].as_f64().unwrap() >= 0.0);
        if name == "lpca" {
            assert_eq!(e, 3.0, "global PCA sees the roll's three directions");
        } else {
            assert!((e - 2.0).abs() < 0.25, "{name}: {e}");
        }
    }
    assert_eq!(v["estimates"].as_object().unwrap().len(), 4);
}

#[test]
fn one_estimator_with_k_and_an_npy_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = generate(dir.path(), "circle", "c.npy", "300");
    let o = mflow(&["id", &path, "--estimator", "mle", "--k", "10", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["estimates"].as_object().unwrap().len(), 1);
    assert!((v["estimates"]["mle"].as_f64().unwrap() - 1.0).abs() < 0.1);
}

/// `--estimator flow` runs the spread flow with the default the spread study chose; on the
/// paper's sine curve it finds dimension 1 (the study: right in every seed from 1k steps).
#[test]
fn the_flow_estimator_finds_the_sine_curve_is_one_dimensional() {
    let dir = tempfile::tempdir().unwrap();
    let path = generate(dir.path(), "sine", "sine.csv", "1000");
    let o = mflow(&["id", &path, "--estimator", "flow", "--steps", "2000", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["estimates"].as_object().unwrap().len(), 1);
    assert_eq!(v["estimates"]["flow"].as_f64(), Some(1.0), "{v}");
    // The interval, the gap measure and the spectrum (issue 21 point 3).
    // In 2-D at s = 0.1 the sine's normal eigenvalue (about s^2 / 2) leaves a gap measure
    // near 2, below the clear-gap threshold 2.5, so the answer comes with the interval [1, 2].
    let f = &v["flow"];
    assert_eq!(f["interval"][0].as_u64(), Some(1), "{v}");
    assert!(f["interval"][1].as_u64().is_some_and(|h| h >= 1), "{v}");
    assert!(f["clear_gap"].as_bool().is_some() && f["gap_ratio"].as_f64().is_some_and(|q| q > 1.0), "{v}");
    assert_eq!(f["spectrum"].as_array().map(Vec::len), Some(2), "{v}");
    let o = mflow(&["id", &path, "--estimator", "mle", "--steps", "10"]);
    assert!(!o.status.success() && stderr(&o).contains("--steps and --members apply to --estimator flow only"));
}

/// Issue 16 item 3: identical rows and too few samples are refused by `--estimator flow`
/// with the classical estimators' messages.
#[test]
fn the_flow_estimator_refuses_degenerate_data_as_the_classical_ones_do() {
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("const.csv");
    std::fs::write(&same, "0.5,0.25,1\n".repeat(300)).unwrap();
    let same = same.display().to_string();
    let flow = mflow(&["id", &same, "--estimator", "flow", "--steps", "5"]);
    let mle = mflow(&["id", &same, "--estimator", "mle"]);
    assert!(!flow.status.success() && !mle.status.success());
    let message = "300 of 300 points have a duplicate (nearest-neighbour distance 0)";
    assert!(stderr(&flow).contains(message) && stderr(&mle).contains(message), "{}", stderr(&flow));
    let two = dir.path().join("two.csv");
    std::fs::write(&two, "0,1,2\n3,4,5\n").unwrap();
    let flow = mflow(&["id", &two.display().to_string(), "--header", "no", "--estimator", "flow", "--steps", "5"]);
    assert!(!flow.status.success() && stderr(&flow).contains("need at least 21 samples, got 2"), "{}", stderr(&flow));
}

#[test]
fn table_output_names_the_file_and_the_estimators() {
    let dir = tempfile::tempdir().unwrap();
    let path = generate(dir.path(), "sphere-2", "s.csv", "400");
    let o = mflow(&["id", &path]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("s.csv") && text.contains("n = 400"), "{text}");
    for name in ["mle", "twonn", "lpca", "corrdim", "k-nearest-neighbour search"] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
}

#[test]
fn bad_files_fail_with_a_message_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv").display().to_string();
    let o = mflow(&["id", &missing, "--json"]);
    assert!(!o.status.success());
    assert!(stdout(&o).is_empty(), "nothing on stdout on failure");
    assert!(stderr(&o).contains("nope.csv"), "{}", stderr(&o));

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "1,2,3\n4,five,6\n7,8,9\n").unwrap();
    let o = mflow(&["id", &bad.display().to_string()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.csv"), "{}", stderr(&o));

    let tiny = dir.path().join("tiny.csv");
    std::fs::write(&tiny, "1,2\n3,4\n5,7\n").unwrap();
    let o = mflow(&["id", &tiny.display().to_string(), "--estimator", "mle"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("tiny.csv") && err.contains("need at least 21 samples"), "{err}");

    let o = mflow(&["id", &dir.path().join("x.weird").display().to_string()]);
    assert!(!o.status.success());
}

#[test]
fn datasets_lists_the_generators_and_generate_rejects_unknown_names() {
    let o = mflow(&["datasets"]);
    assert!(o.status.success());
    let text = stdout(&o);
    for name in ["sine", "swiss-roll", "torus", "hypercube-3-in-10", "fading-squares"] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv").display().to_string();
    let o = mflow(&["generate", "klein-bottle", "--n", "10", "-o", &out]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("klein-bottle"), "{}", stderr(&o));
    let o = mflow(&["generate", "circle", "--n", "10", "-o", &dir.path().join("x.txt").display().to_string()]);
    assert!(!o.status.success());
}

/// `text` gzip-compressed as one member.
fn gzip(text: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text).unwrap();
    enc.finish().unwrap()
}

/// `mflow id FILE --estimator lpca --json` (plus `extra`), parsed.
fn id_json(path: &Path, extra: &[&str]) -> Result<serde_json::Value, String> {
    let p = path.display().to_string();
    let mut args = vec!["id", p.as_str(), "--estimator", "lpca", "--json"];
    args.extend_from_slice(extra);
    let o = mflow(&args);
    if o.status.success() { Ok(serde_json::from_str(&stdout(&o)).unwrap()) } else { Err(stderr(&o)) }
}

/// Issue 16, item 1: `head -n 101 a.csv | gzip > m.csv.gz; tail -n +102 a.csv | gzip >>
/// m.csv.gz` holds 200 rows, not 100; trailing garbage after the last member is refused.
#[test]
fn multi_member_gzip_reads_every_row_and_refuses_trailing_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate(dir.path(), "sine", "a.csv", "200");
    let text = std::fs::read_to_string(&a).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (head, tail) = (lines[..101].join("\n") + "\n", lines[101..].join("\n") + "\n");
    let m = dir.path().join("m.csv.gz");
    let mut bytes = gzip(head.as_bytes());
    bytes.extend(gzip(tail.as_bytes()));
    std::fs::write(&m, &bytes).unwrap();
    assert_eq!(id_json(&m, &[]).unwrap()["n"], 200);
    bytes.extend_from_slice(b"garbage");
    std::fs::write(&m, &bytes).unwrap();
    let err = id_json(&m, &[]).unwrap_err();
    assert!(err.contains("m.csv.gz") && err.contains("trailing garbage"), "{err}");
}

/// Issue 16, item 2: a pandas header `0,1` is a header (n = 200, not 201) and the output says
/// so; `--header no` reads it as data; a byte-order mark is stripped; semicolons work.
#[test]
fn header_decisions_are_made_well_and_printed() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate(dir.path(), "sine", "a.csv", "200");
    let text = std::fs::read_to_string(&a).unwrap();
    let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let p = dir.path().join("p.csv");
    std::fs::write(&p, format!("0,1\n{body}")).unwrap();
    let v = id_json(&p, &[]).unwrap();
    assert_eq!((v["n"].as_u64(), v["text"]["header"][1].as_str()), (Some(200), Some("1")), "{v}");
    assert_eq!(v["text"]["header_reason"], "ColumnIndices");
    let o = mflow(&["id", &p.display().to_string(), "--estimator", "lpca"]);
    assert!(
        stdout(&o).contains("read as comma-separated, header row skipped (0, 1: the column indices"),
        "{}",
        stdout(&o)
    );
    let v = id_json(&p, &["--header", "no"]).unwrap();
    assert_eq!((v["n"].as_u64(), &v["text"]["header"]), (Some(201), &serde_json::Value::Null));
    let v = id_json(&p, &["--header", "yes"]).unwrap();
    assert_eq!(v["n"], 200);
    // A byte-order mark without a header.
    let bom = dir.path().join("bom.csv");
    std::fs::write(&bom, format!("\u{feff}{body}")).unwrap();
    let v = id_json(&bom, &[]).unwrap();
    assert_eq!((v["n"].as_u64(), v["text"]["byte_order_mark"].as_bool()), (Some(200), Some(true)));
    // Semicolons with decimal commas: 200 rows of 2 columns.
    let semi = dir.path().join("semi.csv");
    std::fs::write(&semi, format!("x1;x2\n{}", body.replace(',', ";").replace('.', ","))).unwrap();
    let v = id_json(&semi, &[]).unwrap();
    assert_eq!(
        (v["n"].as_u64(), v["d"].as_u64(), v["text"]["delimiter"].as_str()),
        (Some(200), Some(2), Some("semicolon"))
    );
    // A first row mixing text and numbers asks for --header.
    let mixed = dir.path().join("mixed.csv");
    std::fs::write(&mixed, format!("id,2\n{body}")).unwrap();
    let err = id_json(&mixed, &[]).unwrap_err();
    assert!(err.contains("mixed.csv") && err.contains("--header yes"), "{err}");
}

/// Issue 16, item 5: noise of standard deviation 1e308 is refused, nothing is written.
#[test]
fn generate_refuses_noise_that_overflows() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("h.csv");
    let o = mflow(&["generate", "sine", "--n", "1000", "--noise", "1e308", "-o", &h.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("non-finite value") && stderr(&o).contains("1e308"), "{}", stderr(&o));
    assert!(!h.exists());
}

/// Issue 16, item 7: sizes a user types that used to panic (exit 101) or abort are refused
/// with exit 1 and the memory estimate.
#[test]
fn huge_sizes_are_refused_with_an_estimate_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv").display().to_string();
    for (args, want) in [
        (vec!["generate", "sine", "--n", "100000000000"], "2400000000000 bytes (2.400 TB)"),
        (vec!["generate", "sine", "--n", "10", "--embed", "100000000000"], "9600000000240 bytes"),
        (vec!["generate", "linear-3-in-99999999999", "--n", "10"], "18400000000136 bytes (18.400 TB) of memory"),
    ] {
        let mut args = args.clone();
        args.extend(["-o", &out]);
        let o = mflow(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want) && stderr(&o).contains("--max-bytes"), "{args:?}: {}", stderr(&o));
    }
    let good = generate(dir.path(), "circle", "good.csv", "200");
    let o = mflow(&["id", &good, "--k", "18446744073709551615"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("need at least 18446744073709551615 samples, got 200"), "{}", stderr(&o));
    // A graph above --max-bytes is refused with its size.
    let o = mflow(&["id", &good, "--estimator", "mle", "--k", "150", "--max-bytes", "100K"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("neighbour graph of 200 points with k = 150 needs 1014400 bytes"), "{}", stderr(&o));
}

/// Issue 16, item 6: `ln -s /dev/zero z.csv; mflow id z.csv` ends at once with a clear error
/// instead of reading until memory runs out; a gzip bomb stops at --max-bytes.
#[test]
fn endless_and_oversized_inputs_end_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let z = dir.path().join("z.csv");
    std::os::unix::fs::symlink("/dev/zero", &z).unwrap();
    let err = id_json(&z, &[]).unwrap_err();
    assert!(err.contains("z.csv: row 1 holds a NUL byte"), "{err}");
    let bomb = dir.path().join("b.csv.gz");
    let mut text = b"1,2\n".repeat(10);
    text.extend(std::iter::repeat_n(b'7', 3 << 20));
    std::fs::write(&bomb, gzip(&text)).unwrap();
    let err = id_json(&bomb, &["--max-bytes", "1M"]).unwrap_err();
    assert!(err.contains("more than 1048576 bytes") && err.contains("--max-bytes"), "{err}");
}

/// Issue 16, item 11: a write error names the path and the cause once each; a non-finite
/// value is reported without pointing to a library option; `--k` is not silently ignored.
#[test]
fn messages_name_things_once_and_only_offer_what_the_cli_has() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing-dir").join("x.csv").display().to_string();
    let o = mflow(&["generate", "sine", "--n", "10", "-o", &out]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.matches("x.csv").count(), 1, "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    let nan = dir.path().join("nan.csv");
    std::fs::write(&nan, "1,2\n3,NaN\n").unwrap();
    let err = id_json(&nan, &[]).unwrap_err();
    assert!(err.contains("row 2, column 2: non-finite value NaN") && !err.contains("NonFinite::"), "{err}");
    let good = generate(dir.path(), "circle", "good.csv", "200");
    for which in ["twonn", "lpca"] {
        let o = mflow(&["id", &good, "--estimator", which, "--k", "10"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains(&format!("--k applies to mle and corrdim only; {which} has no k")),
            "{}",
            stderr(&o)
        );
    }
    let o = mflow(&["id", &good, "--k", "10", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("note: --k 10 applies to mle and corrdim"), "{}", stderr(&o));
    serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap();
}

/// Issue 16, item 8: a crafted NPY header whose extra key's string value holds
/// `'shape': (1, 600)` is refused, not read with that shape.
#[test]
fn a_crafted_npy_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dict = "{'descr': '<f8', 'x': \"'shape': (1, 600)\", 'fortran_order': False, 'shape': (300, 2), }";
    let mut header = dict.to_string();
    header.push_str(&" ".repeat((64 - (10 + header.len() + 1) % 64) % 64));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend((0..600).flat_map(|i| f64::from(i).to_le_bytes()));
    let path = dir.path().join("c.npy");
    std::fs::write(&path, bytes).unwrap();
    let err = id_json(&path, &[]).unwrap_err();
    assert!(err.contains("c.npy: malformed header: unknown key \"x\""), "{err}");
}
