//! Records the git commit `mflow` is built from as the compile-time variable
//! `MFLOW_BUILD_COMMIT` (empty outside a git checkout), which `mflow fit` writes into each
//! model's `model.json`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let git_dir = std::path::Path::new(&manifest).join("../../.git");
    // Rebuild when the checked-out commit moves.
    for file in ["HEAD", "refs/heads"] {
        let path = git_dir.join(file);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(&manifest)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    println!("cargo:rustc-env=MFLOW_BUILD_COMMIT={commit}");
}
