//! `cargo xtask reproduce` end to end, as a user runs it (`cargo run -p xtask -- reproduce`,
//! which is what the `cargo xtask` alias expands to): the process the user started becomes the
//! experiment (cargo execs xtask, xtask execs `repro`), so SIGTERM and SIGINT sent to its pid
//! stop the experiment at once with no parent left behind, and a relative `--out` is the
//! caller's.
//!
//! Ignored by default: it builds `repro` in release mode (minutes on a cold target directory).
//! Run it with `cargo test -p xtask --test reproduce_signals -- --ignored`.
#![cfg(target_os = "linux")]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The workspace root (this crate's parent).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `cargo xtask reproduce <args>` started in `caller`.
fn start(caller: &Path, args: &[&str]) -> std::io::Result<Child> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = root().join("Cargo.toml");
    Command::new(cargo)
        .current_dir(caller)
        .arg("run")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--package", "xtask", "--", "reproduce"])
        .args(args)
        .env("CI", "1")
        .spawn()
}

/// Wait until `file` exists with other contents than `before` while `child` runs (the
/// release build may take minutes).
fn wait_for(child: &mut Child, file: &Path, before: Option<&str>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(3600);
    while !file.is_file() || std::fs::read_to_string(file).ok().as_deref() == before {
        anyhow::ensure!(child.try_wait()?.is_none(), "the run ended before {} was written", file.display());
        anyhow::ensure!(Instant::now() < deadline, "{} was not written within an hour", file.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// A started process, killed on drop if it still runs (a failed check leaves nothing behind).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The executable name of process `pid` (`/proc/<pid>/comm`).
fn command_name(pid: u32) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(format!("/proc/{pid}/comm"))?.trim().to_owned())
}

/// The pids whose parent is `pid`.
fn children(pid: u32) -> anyhow::Result<Vec<u32>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))?;
    Ok(text.split_whitespace().filter_map(|p| p.parse().ok()).collect())
}

/// Start a long fig1 run in `caller` writing to the relative folder `out`, wait for a new
/// checkpoint of its spread flow, check that the started process is `repro` itself (no
/// wrapper left), send `signal` and check that it ends by that signal within seconds.
fn interrupt(caller: &Path, out: &str, extra: &[&str], signal: (&str, i32)) -> anyhow::Result<()> {
    let mut args = vec!["fig1", "--steps", "1000000", "--seeds", "1", "--quiet", "--out", out];
    args.extend_from_slice(extra);
    let latest = caller.join(out).join("checkpoint").join("spread-s0").join("latest.json");
    let before = std::fs::read_to_string(&latest).ok();
    let mut running = Running(start(caller, &args)?);
    let child = &mut running.0;
    wait_for(child, &latest, before.as_deref())?;
    let pid = child.id();
    assert_eq!(command_name(pid)?, "repro", "the started process became the experiment");
    assert!(children(pid)?.is_empty(), "the experiment has no child process");
    let status = Command::new("kill").args(["-s", signal.0, &pid.to_string()]).status()?;
    assert!(status.success(), "kill -s {} {pid} failed", signal.0);
    let sent = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        anyhow::ensure!(
            sent.elapsed() < Duration::from_secs(30),
            "the experiment still runs 30 s after SIG{}",
            signal.0
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.signal(), Some(signal.1), "ended by SIG{}: {status}", signal.0);
    eprintln!("SIG{} ended the experiment (pid {pid}) after {:.2} s", signal.0, sent.elapsed().as_secs_f64());
    Ok(())
}

#[test]
#[ignore = "builds repro in release mode; run with --ignored"]
fn signals_reach_the_experiment_and_relative_out_is_the_callers() -> anyhow::Result<()> {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("reproduce-signals-{}", std::process::id()));
    let caller = scratch.join("caller");
    std::fs::create_dir_all(&caller)?;
    let out = "relative-out";

    interrupt(&caller, out, &["--checkpoint-every", "100"], ("TERM", 15))?;
    // The relative --out is the caller's folder, not the workspace root's.
    assert!(caller.join(out).join("checkpoint").join("run.json").is_file());
    assert!(!root().join(out).exists(), "--out {out} was resolved against the workspace root");
    assert!(!caller.join(out).join("report.json").exists(), "stopped before the end");

    // Ctrl-C (SIGINT) the resumed run the same way.
    interrupt(&caller, out, &["--resume"], ("INT", 2))?;
    assert!(!caller.join(out).join("report.json").exists(), "stopped before the end");
    std::fs::remove_dir_all(&scratch)?;
    Ok(())
}
