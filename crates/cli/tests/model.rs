//! End-to-end tests of `mflow fit`, `sample`, `encode`, `log-prob` and `inspect`: a fitted
//! model folder works with every command, and bad input is a clear error naming the file
//! and the problem, never a panic.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mflow")).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Run `mflow args`, assert it succeeded, return its stdout.
fn ok(args: &[&str]) -> String {
    let o = mflow(args);
    assert!(o.status.success(), "mflow {args:?} failed: {}", text(&o.stderr));
    text(&o.stdout)
}

/// Run `mflow args`, assert it failed with exit code 1 (no panic), return its stderr.
fn fails(args: &[&str]) -> String {
    let o = mflow(args);
    assert_eq!(o.status.code(), Some(1), "mflow {args:?}: {} / {}", text(&o.stdout), text(&o.stderr));
    let err = text(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// A sine-curve data file and a model fitted to it in a few steps.
fn fitted(dir: &Path) -> (String, String) {
    let data = path(dir, "sine.csv");
    ok(&["generate", "sine", "--n", "300", "--seed", "1", "-o", &data]);
    let model = path(dir, "model");
    ok(&["fit", &data, "-o", &model, "--preset", "fig1", "--steps", "60", "--quiet"]);
    (data, model)
}

#[test]
fn a_fitted_model_folder_works_with_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = fitted(dir.path());
    for file in ["model.json", "weights.safetensors", "training.csv"] {
        assert!(Path::new(&model).join(file).is_file(), "{file}");
    }
    let samples = path(dir.path(), "samples.csv");
    ok(&["sample", &model, "-n", "50", "-o", &samples, "--temperature", "0.7", "--seed", "3"]);
    assert_eq!(std::fs::read_to_string(&samples).unwrap().lines().count(), 51);
    let from_codes = path(dir.path(), "from-codes.csv");
    ok(&["sample", &model, "-n", "40", "-o", &from_codes, "--codes-of", &data]);
    assert_eq!(std::fs::read_to_string(&from_codes).unwrap().lines().count(), 41);
    let missing = path(dir.path(), "no-such-file.csv");
    let err = fails(&["sample", &model, "-n", "5", "-o", &from_codes, "--codes-of", &missing]);
    assert!(err.contains("no-such-file.csv"), "{err}");
    let picture = path(dir.path(), "samples.png");
    ok(&["sample", &model, "-n", "50", "-o", &picture]);
    assert!(std::fs::read(&picture).unwrap().starts_with(b"\x89PNG"));
    let codes = path(dir.path(), "codes.npy");
    ok(&["encode", &model, &data, "-o", &codes, "--top", "1"]);
    assert!(std::fs::read(&codes).unwrap().starts_with(b"\x93NUMPY"));
    let lp = path(dir.path(), "lp.csv");
    let out = ok(&["log-prob", &model, &data, "-o", &lp, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n"].as_u64(), Some(300));
    assert!(v["bits_per_dim"].as_f64().unwrap().is_finite());
    let out = ok(&["inspect", &model, "--data", &data, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n_params"].as_u64(), Some(5096));
    assert_eq!(v["training"]["steps"].as_u64(), Some(60));
    assert!(v["intrinsic_dimension"]["default (log-gap, encoded data)"].as_u64().is_some());
    assert_eq!(v["encoded_data_eigenvalues"].as_array().map(Vec::len), Some(2));
    let text = ok(&["inspect", &model, "--data", &data]);
    assert!(text.contains("of cov(g(x)) on the data:") && text.contains("(total "), "{text}");
}

#[test]
fn a_fit_with_json_output_and_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(dir.path(), "sine.csv");
    ok(&["generate", "sine", "--n", "200", "--seed", "2", "-o", &data]);
    let config = path(dir.path(), "config.json");
    std::fs::write(&config, r#"{"training": {"lr": 0.002}, "architecture": {"couplings": 2}}"#).unwrap();
    let model = path(dir.path(), "model");
    let out = ok(&["fit", &data, "-o", &model, "--config", &config, "--steps", "20", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["steps"].as_u64(), Some(20));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&model).join("model.json")).unwrap()).unwrap();
    assert_eq!(saved["config"]["training"]["lr"].as_f64(), Some(0.002));
    assert_eq!(saved["config"]["architecture"]["couplings"].as_u64(), Some(2));
    // A setting that does not exist is an error naming the file.
    std::fs::write(&config, r#"{"training": {"learning-rate": 0.002}}"#).unwrap();
    let err = fails(&["fit", &data, "-o", &model, "--config", &config]);
    assert!(err.contains("config.json") && err.contains("learning-rate"), "{err}");
    let err = fails(&["fit", &data, "-o", &model, "--preset", "nope"]);
    assert!(err.contains("unknown preset 'nope'") && err.contains("paper-fig1"), "{err}");
}

#[test]
fn data_of_another_dimension_names_both() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = fitted(dir.path());
    let wide = path(dir.path(), "wide.csv");
    ok(&["generate", "swiss-roll", "--n", "20", "-o", &wide]);
    for command in ["encode", "log-prob"] {
        let out = path(dir.path(), "out.csv");
        let err = fails(&[command, &model, &wide, "-o", &out]);
        assert!(err.contains("wide.csv") && err.contains("3 columns") && err.contains("dimension 2"), "{err}");
    }
}

#[test]
fn a_broken_model_folder_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = fitted(dir.path());
    let out = path(dir.path(), "out.csv");
    let weights = PathBuf::from(&model).join("weights.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 3]).unwrap();
    let err = fails(&["encode", &model, &data, "-o", &out]);
    assert!(err.contains("weights.safetensors"), "{err}");
    std::fs::remove_file(&weights).unwrap();
    let err = fails(&["sample", &model, "-n", "5", "-o", &out]);
    assert!(err.contains("weights.safetensors"), "{err}");
    std::fs::write(PathBuf::from(&model).join("model.json"), "{").unwrap();
    let err = fails(&["inspect", &model]);
    assert!(err.contains("model.json"), "{err}");
    let err = fails(&["inspect", &path(dir.path(), "no-such-model")]);
    assert!(err.contains("no-such-model"), "{err}");
}

#[test]
fn non_finite_data_name_the_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(dir.path(), "nan.csv");
    std::fs::write(&data, "1,2\n3,4\n5,nan\n7,8\n").unwrap();
    let err = fails(&["fit", &data, "-o", &path(dir.path(), "m"), "--steps", "5"]);
    assert!(err.contains("nan.csv") && err.contains("row 3") && err.contains("column 2"), "{err}");
}

#[test]
fn resuming_with_other_settings_prints_the_differences() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(dir.path(), "sine.csv");
    ok(&["generate", "sine", "--n", "200", "--seed", "4", "-o", &data]);
    let model = path(dir.path(), "model");
    let err = fails(&["fit", &data, "-o", &model, "--resume", "--steps", "20"]);
    assert!(err.contains("holds no checkpoint"), "{err}");
    // A run that stops with its checkpoint in place (as if interrupted): write one, then
    // resume with another learning rate.
    let checkpoint = Path::new(&model).join("checkpoint");
    std::fs::create_dir_all(&checkpoint).unwrap();
    ok(&["fit", &data, "-o", &path(dir.path(), "other"), "--steps", "20", "--checkpoint-every", "10", "--quiet"]);
    let saved = std::fs::read_to_string(Path::new(&model).join("../other/model.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&saved).unwrap();
    std::fs::write(checkpoint.join("config.json"), serde_json::to_string(&v["config"]).unwrap()).unwrap();
    let err = fails(&["fit", &data, "-o", &model, "--resume", "--steps", "20", "--lr", "0.01"]);
    assert!(err.contains("training.lr") && err.contains("0.001") && err.contains("0.01"), "{err}");
}

#[test]
fn an_unwritable_output_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = fitted(dir.path());
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, "a file, not a folder").unwrap();
    let target = blocked.join("out.csv").display().to_string();
    let err = fails(&["encode", &model, &data, "-o", &target]);
    assert!(err.contains("blocked"), "{err}");
    let err = fails(&["fit", &data, "-o", &target, "--steps", "5"]);
    assert!(err.contains("blocked"), "{err}");
    let err = fails(&["sample", &model, "-n", "5", "-o", &blocked.join("s.png").display().to_string()]);
    assert!(err.contains("blocked"), "{err}");
}

/// `model.json` without its timing fields (the wall time of the run).
fn without_timing(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["training"]["seconds"] = serde_json::Value::Null;
    v
}

#[test]
fn a_fit_killed_midway_resumes_to_the_same_model_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(dir.path(), "sine.csv");
    ok(&["generate", "sine", "--n", "500", "--seed", "5", "-o", &data]);
    let args = |out: &str| {
        ["fit", &data, "-o", out, "--preset", "fig1", "--steps", "4000", "--checkpoint-every", "200", "--quiet"]
            .map(str::to_owned)
            .to_vec()
    };
    let straight = path(dir.path(), "straight");
    ok(&args(&straight).iter().map(String::as_str).collect::<Vec<_>>());
    // The same run, killed (SIGKILL) once its first checkpoint is on disk, then resumed.
    let killed = path(dir.path(), "killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mflow")).args(args(&killed)).spawn().unwrap();
    let latest = Path::new(&killed).join("checkpoint").join("latest.json");
    while !latest.is_file() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its first checkpoint");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!Path::new(&killed).join("weights.safetensors").exists(), "killed before the end");
    let mut resume = args(&killed);
    resume.push("--resume".into());
    ok(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    for file in ["weights.safetensors", "training.csv"] {
        let (a, b) = (Path::new(&straight).join(file), Path::new(&killed).join(file));
        assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(), "{file} differs");
    }
    let (a, b) = (Path::new(&straight).join("model.json"), Path::new(&killed).join("model.json"));
    assert_eq!(without_timing(&a), without_timing(&b));
    assert!(!Path::new(&killed).join("checkpoint").exists(), "the checkpoint is removed at the end");
}

/// The issue's acceptance check at full size: `mflow generate` 10,000 points of the sine
/// curve, `mflow fit --preset fig1` (10,000 steps), `mflow sample` 10,000 points; at least 99%
/// of them within 0.05 of the curve (`|x2 - sin(2 x1)| < 0.05`, in data units: the sampled
/// rows are unstandardised) for every one of seeds 0..5 (data, weights and batches seeded by
/// `s`, the samples by `1,000,000 + s`), the same runs `docs/make-mflow-fit.sh` measures.
#[test]
fn the_fig1_preset_puts_samples_on_the_sine_curve_in_every_seed() {
    let dir = tempfile::tempdir().unwrap();
    let opts = datasets::CsvOptions { non_finite: datasets::NonFinite::Allow, ..Default::default() };
    let mut fractions = Vec::new();
    for seed in 0..5u64 {
        let (s, sample_seed) = (seed.to_string(), (1_000_000 + seed).to_string());
        let data = path(dir.path(), &format!("sine-{seed}.csv"));
        let model = path(dir.path(), &format!("model-{seed}"));
        let samples = path(dir.path(), &format!("samples-{seed}.csv"));
        ok(&["generate", "sine", "--n", "10000", "--seed", &s, "-o", &data]);
        ok(&["fit", &data, "-o", &model, "--preset", "fig1", "--seed", &s, "--quiet"]);
        ok(&["sample", &model, "-n", "10000", "--seed", &sample_seed, "-o", &samples]);
        let x = datasets::load_with(&samples, &opts).unwrap().data;
        assert_eq!(x.shape(), (10_000, 2));
        fractions.push(datasets::Manifold::SineCurve.fraction_within(x.as_ref(), 0.05).unwrap());
    }
    assert!(fractions.iter().all(|&f| f >= 0.99), "fractions within 0.05 of the curve, seeds 0..5: {fractions:?}");
}
