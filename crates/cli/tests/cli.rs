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
    let o = mflow(&["id", &path, "--estimator", "mle", "--steps", "10"]);
    assert!(!o.status.success() && stderr(&o).contains("--steps applies to --estimator flow only"));
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
