//! Every output file of an experiment is written to a temporary file next to it and renamed
//! into place, so a run killed while writing leaves either the old file or the new one, never
//! a file cut short (a rename within one directory is atomic on POSIX file systems). The
//! report is written last ([`crate::run_experiment`]): a folder with a `report.json` holds a
//! complete run, and [`prepare_out_dir`] removes the old report before a run starts, so an
//! interrupted rerun cannot leave the old report describing new files.
//!
//! Errors name the final path and the cause once: `cannot write results/fig1/data.csv:
//! Permission denied (os error 13)`.

use std::fs;
use std::path::{Path, PathBuf};

/// The temporary name `path` is written under before the rename: a hidden file in the same
/// folder with the same extension (plotters picks the image format from it), e.g.
/// `dir/.fig1.partial.png` for `dir/fig1.png`.
pub fn temp_path(path: &Path) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!(".{stem}.partial.{}", ext.to_string_lossy()),
        None => format!(".{stem}.partial"),
    };
    path.with_file_name(name)
}

/// Write `path` atomically: `write` creates the file at the path it is given (the temporary
/// name, [`temp_path`]), which is then renamed to `path`. On failure the temporary file is
/// removed and the error reads `cannot write PATH: CAUSE`, with the root cause of `write`'s
/// error.
///
/// # Errors
/// When `write` fails or the rename fails.
pub fn write_with(path: &Path, write: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let tmp = temp_path(path);
    let result = write(&tmp).and_then(|()| fs::rename(&tmp, path).map_err(anyhow::Error::from));
    result.map_err(|err| {
        let _ = fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {}", path.display(), err.root_cause())
    })
}

/// Write `bytes` to `path` atomically (see [`write_with`]).
///
/// # Errors
/// When the file cannot be written or renamed.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with(path, |tmp| fs::write(tmp, bytes).map_err(anyhow::Error::from))
}

/// What [`prepare_out_dir`] found in an existing output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    /// The folder is new or empty.
    Nothing,
    /// A complete earlier run (it had a `report.json`), `files` files in all.
    Complete {
        /// Files in the folder.
        files: usize,
        /// The `seeds` and `versions.git` of the old report, as far as they could be read.
        described: String,
    },
    /// Files without a `report.json`: an interrupted run (or files of another program).
    Partial {
        /// Files in the folder.
        files: usize,
    },
}

impl Previous {
    /// A one-line message for the terminal, `None` when there is nothing to replace.
    pub fn message(&self, dir: &Path) -> Option<String> {
        match self {
            Previous::Nothing => None,
            Previous::Complete { files, described } => Some(format!(
                "replacing the complete run in {} ({files} files; its report: {described})",
                dir.display()
            )),
            Previous::Partial { files } => Some(format!(
                "replacing an interrupted run in {} ({files} files and no report.json: written by a run that \
                 did not finish)",
                dir.display()
            )),
        }
    }
}

/// Create `dir` if needed, check that files can be created in it, and take stock of what is
/// already there; then remove the old `report.json` / `report.md` and any leftover temporary
/// files, so that from now on the folder holds a report only once this run completes.
///
/// # Errors
/// `cannot create DIR: CAUSE` or `cannot write into DIR: CAUSE` (an unwritable folder fails
/// here, before any training).
pub fn prepare_out_dir(dir: &Path) -> anyhow::Result<Previous> {
    fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let probe = dir.join(".write-check.partial");
    fs::write(&probe, b"").map_err(|e| anyhow::anyhow!("cannot write into {}: {e}", dir.display()))?;
    let _ = fs::remove_file(&probe);

    let mut files = 0;
    let mut has_report = false;
    let entries = fs::read_dir(dir).map_err(|e| anyhow::anyhow!("cannot list {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".partial") {
            let _ = fs::remove_file(entry.path());
            continue;
        }
        files += 1;
        has_report |= name == "report.json";
    }
    let previous = if has_report {
        Previous::Complete { files, described: describe_report(&dir.join("report.json")) }
    } else if files > 0 {
        Previous::Partial { files }
    } else {
        Previous::Nothing
    };
    for old in ["report.json", "report.md"] {
        let path = dir.join(old);
        if path.exists() {
            fs::remove_file(&path).map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", path.display()))?;
        }
    }
    Ok(previous)
}

/// `"seeds 0..4, commit abc123"` from an old report, or why it could not be read.
fn describe_report(path: &Path) -> String {
    let Ok(text) = fs::read_to_string(path) else { return "unreadable".into() };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else { return "not valid JSON".into() };
    let seeds: Vec<u64> =
        json["seeds"].as_array().map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect()).unwrap_or_default();
    let seeds = match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if a == b => format!("seed {a}"),
        (Some(a), Some(b)) => format!("seeds {a}..{b}"),
        _ => "no seeds".into(),
    };
    let commit = json["versions"]["git"].as_str().unwrap_or("an unknown commit");
    format!("{seeds}, {commit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_name_is_hidden_and_keeps_the_extension() {
        assert_eq!(temp_path(Path::new("out/fig1.png")), Path::new("out/.fig1.partial.png"));
        assert_eq!(temp_path(Path::new("out/data.csv")), Path::new("out/.data.partial.csv"));
        assert_eq!(temp_path(Path::new("README")), Path::new(".README.partial"));
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_names_the_path_once() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("a.csv");
        write_bytes(&path, b"old\n")?;
        let err = write_with(&path, |tmp| {
            fs::write(tmp, b"half")?;
            anyhow::bail!("disk full")
        })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert_eq!(err, format!("cannot write {}: disk full", path.display()));
        assert_eq!(fs::read(&path)?, b"old\n", "the old file is untouched");
        assert!(!temp_path(&path).exists(), "the temporary file is removed");
        Ok(())
    }

    #[test]
    fn a_rerun_says_what_it_replaces_and_removes_the_old_report() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("fig1");
        assert_eq!(prepare_out_dir(&out)?, Previous::Nothing);
        // An interrupted run: outputs and a leftover temporary file, no report.
        fs::write(out.join("data.csv"), "x1,x2\n")?;
        fs::write(out.join(".fig1.partial.png"), "half")?;
        let partial = prepare_out_dir(&out)?;
        assert_eq!(partial, Previous::Partial { files: 1 });
        assert!(partial.message(&out).is_some_and(|m| m.contains("interrupted") && m.contains("fig1")));
        assert!(!out.join(".fig1.partial.png").exists());
        // A complete run: its report is described, then removed.
        fs::write(out.join("report.json"), r#"{"seeds": [0, 1, 2], "versions": {"git": "abc1234"}}"#)?;
        fs::write(out.join("report.md"), "# old")?;
        let complete = prepare_out_dir(&out)?;
        let message = complete.message(&out).unwrap_or_default();
        assert!(message.contains("seeds 0..2, abc1234"), "{message}");
        assert!(!out.join("report.json").exists() && !out.join("report.md").exists());
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn an_unwritable_folder_is_named_before_any_work() -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("locked");
        fs::create_dir(&out)?;
        fs::set_permissions(&out, fs::Permissions::from_mode(0o555))?;
        // Root ignores permissions; the check is meaningful only when the probe is refused.
        if fs::write(out.join("probe"), b"").is_ok() {
            return Ok(());
        }
        let err = prepare_out_dir(&out).err().map(|e| e.to_string()).unwrap_or_default();
        fs::set_permissions(&out, fs::Permissions::from_mode(0o755))?;
        assert!(err.starts_with(&format!("cannot write into {}: ", out.display())), "{err}");
        assert!(!err.contains("Drawing backend"), "{err}");
        Ok(())
    }
}
