//! The `repro` binary end to end: `--list`, unknown and unimplemented experiments, usage
//! errors and exit codes.

use std::process::{Command, Output};

fn repro(args: &[&str]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_repro")).args(args).env("CI", "1").output()
}

#[test]
fn list_shows_every_experiment() -> anyhow::Result<()> {
    let out = repro(&["--list"])?;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    for e in repro::EXPERIMENTS {
        assert!(text.contains(e.name), "{text}");
        assert!(text.contains(e.typical_time), "{text}");
    }
    assert!(text.contains("status"));
    Ok(())
}

#[test]
fn unimplemented_and_unknown_experiments_fail_clearly() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out_dir = dir.path().to_string_lossy().into_owned();
    for e in repro::EXPERIMENTS.iter().filter(|e| !e.is_implemented()) {
        let out = repro(&[e.name, "--out", &out_dir, "--quiet"])?;
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr)?;
        assert!(err.contains("not implemented yet"), "{err}");
    }
    let out = repro(&["no-such-experiment"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr)?.contains("unknown experiment"));
    let out = repro(&["fig1", "--seeds", "0"])?;
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
    let out = repro(&[])?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}
