//! `cargo xtask reproduce`: build `repro` in release mode, then become it.
//!
//! Two things a user expects from a wrapper and a plain `cargo run` does not give:
//! - **Signals reach the experiment.** On Unix the built binary replaces this process
//!   (`exec`), and `cargo run` (behind the `cargo xtask` alias) execs us the same way, so the
//!   process the user started *is* the experiment: Ctrl-C, SIGTERM and SIGKILL sent to its
//!   pid act on it directly, with no parent left behind to wait or to swallow them.
//! - **Paths are the caller's.** The experiment runs in the workspace root (its default
//!   outputs go to `results/<experiment>/` there), but a relative `--out` or `--data` given
//!   by the user is resolved against the directory `cargo xtask` was called from.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

/// Flags of `repro` whose value is a path, resolved against the caller's directory.
const PATH_FLAGS: [&str; 2] = ["--out", "--data"];

/// Build `repro` (release) in `root` and run it with `args`, replacing this process on Unix.
pub fn run(root: &Path, args: &[String]) -> anyhow::Result<ExitCode> {
    let caller = std::env::current_dir().context("cannot read the current directory")?;
    let args = resolve_path_flags(args, &caller);
    let binary = build_repro(root)?;
    let mut command = Command::new(&binary);
    command.current_dir(root).args(&args);
    exec(command, &binary)
}

/// `args` with the value of every [`PATH_FLAGS`] flag (`--out DIR` or `--out=DIR`) made
/// absolute against `caller` when it is relative; every other argument unchanged.
pub fn resolve_path_flags(args: &[String], caller: &Path) -> Vec<OsString> {
    let absolute = |value: &str| -> OsString {
        let path = Path::new(value);
        if path.is_absolute() { path.as_os_str().to_owned() } else { caller.join(path).into_os_string() }
    };
    let mut resolved = Vec::with_capacity(args.len());
    let mut next_is_path = false;
    for arg in args {
        if next_is_path {
            resolved.push(absolute(arg));
            next_is_path = false;
            continue;
        }
        match arg.split_once('=') {
            Some((flag, value)) if PATH_FLAGS.contains(&flag) => {
                let mut joined = OsString::from(format!("{flag}="));
                joined.push(absolute(value));
                resolved.push(joined);
            }
            _ => {
                next_is_path = PATH_FLAGS.contains(&arg.as_str());
                resolved.push(OsString::from(arg));
            }
        }
    }
    resolved
}

/// `cargo build --release -p repro --bin repro` in `root`; the path of the executable, read
/// from cargo's JSON messages (so `CARGO_TARGET_DIR` and build configuration are honoured).
fn build_repro(root: &Path) -> anyhow::Result<PathBuf> {
    let output = Command::new(super::cargo())
        .current_dir(root)
        .args(["build", "--release", "--quiet", "--package", "repro", "--bin", "repro"])
        .arg("--message-format=json-render-diagnostics")
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("failed to start cargo build")?;
    if !output.status.success() {
        bail!("building repro failed ({})", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact" && message["target"]["name"] == "repro")
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .next_back()
        .context("cargo build did not report the repro executable")
}

/// Replace this process by `command` (Unix); elsewhere, run it and pass its exit code on.
#[cfg(unix)]
fn exec(mut command: Command, binary: &Path) -> anyhow::Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let err = command.exec();
    Err(err).with_context(|| format!("failed to start {}", binary.display()))
}

/// Replace this process by `command` (Unix); elsewhere, run it and pass its exit code on.
#[cfg(not(unix))]
fn exec(mut command: Command, binary: &Path) -> anyhow::Result<ExitCode> {
    let _ = binary;
    super::cargo_status(&mut command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn relative_out_and_data_are_resolved_against_the_caller() {
        let caller = Path::new("/home/user/work");
        let args = strings(&["mnist", "--out", "runs/a", "--data=mnist", "--seed", "3", "--out=/abs/b"]);
        let resolved = resolve_path_flags(&args, caller);
        let expected: Vec<OsString> =
            ["mnist", "--out", "/home/user/work/runs/a", "--data=/home/user/work/mnist", "--seed", "3", "--out=/abs/b"]
                .iter()
                .map(OsString::from)
                .collect();
        assert_eq!(resolved, expected);
    }

    #[test]
    fn arguments_that_are_not_paths_are_unchanged() {
        let caller = Path::new("/c");
        let args = strings(&["fig1", "--seeds", "10", "--strict", "--quiet"]);
        let resolved = resolve_path_flags(&args, caller);
        assert_eq!(resolved, args.iter().map(OsString::from).collect::<Vec<_>>());
    }

    #[test]
    fn a_trailing_path_flag_without_value_is_passed_on_for_repro_to_refuse() {
        let resolved = resolve_path_flags(&strings(&["fig1", "--out"]), Path::new("/c"));
        assert_eq!(resolved, vec![OsString::from("fig1"), OsString::from("--out")]);
    }
}
