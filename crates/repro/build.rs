//! Records, for `report.json`, the versions of key dependencies (read from the workspace
//! `Cargo.lock`), of rustc and the git commit being built, as the compile-time variables
//! `REPRO_DEP_VERSIONS` (`name=version;...`), `REPRO_RUSTC_VERSION` and
//! `REPRO_BUILD_COMMIT` (empty outside a git checkout).

use std::path::Path;

/// The dependencies whose versions a report records.
const TRACKED: &[&str] = &["faer", "rand", "rand_chacha", "rand_distr", "rayon", "plotters"];

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let lock = Path::new(&manifest).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    println!("cargo:rerun-if-changed=build.rs");
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let mut found = Vec::new();
    let mut name: Option<&str> = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"'));
        } else if let (Some(n), Some(v)) = (name, line.strip_prefix("version = ")) {
            if TRACKED.contains(&n) {
                found.push(format!("{n}={}", v.trim_matches('"')));
            }
            name = None;
        }
    }
    println!("cargo:rustc-env=REPRO_DEP_VERSIONS={}", found.join(";"));

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().trim_start_matches("rustc ").to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=REPRO_RUSTC_VERSION={version}");

    // The commit the binary is built from (a report must name the code that ran, not the
    // checkout at the time it was written). Re-run when HEAD or the branch it names moves.
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(&manifest)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
    };
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", &branch]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=REPRO_BUILD_COMMIT={commit}");
}
