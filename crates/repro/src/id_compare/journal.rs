//! `runs.csv` as the comparison's journal: every estimate is appended (and flushed) as it
//! finishes, next to `runs-settings.json`, the settings every row was measured with. A run
//! continued with `--resume` keeps the complete rows measured under the same settings, drops a
//! row cut short by the interruption, and measures only what is missing; the seeds are not part
//! of the settings, so `--resume --seeds 10` also extends a 3-seed run.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The header of `runs.csv`.
pub(super) const HEADER: &str =
    "case,group,known,n,d,estimator,seed,dimension,interval_low,interval_high,clear_gap,gap_ratio,seconds";
/// The settings file next to `runs.csv`.
pub(super) const SETTINGS_FILE: &str = "runs-settings.json";
/// The journal file.
pub(super) const RUNS_FILE: &str = "runs.csv";

/// One finished estimate, as read back from `runs.csv`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    /// The estimate (`dimension` column).
    pub dimension: f64,
    /// The flow's interval (empty for the classical estimators).
    pub interval: Option<(usize, usize)>,
    /// Whether the flow's spectrum had a clear gap (empty for the classical estimators).
    pub clear_gap: Option<bool>,
    /// Wall time of the estimate.
    pub seconds: f64,
}

/// What identifies an estimate: case, estimator, flow seed (none for the classical ones).
type Key = (String, String, Option<u64>);

/// The open journal of a run.
pub(super) struct Journal {
    file: File,
    path: PathBuf,
    done: HashMap<Key, Row>,
}

impl Journal {
    /// Start a fresh journal in `dir` (writing `settings` and the header), or with `resume`
    /// continue the one there, refusing when its settings differ from `settings` (the
    /// differing fields are listed) or when there is none.
    ///
    /// # Errors
    /// Files that cannot be read or written; `--resume` without a journal or with other
    /// settings.
    pub fn open(dir: &Path, settings: &serde_json::Value, resume: bool) -> anyhow::Result<Self> {
        let path = dir.join(RUNS_FILE);
        let settings_path = dir.join(SETTINGS_FILE);
        if !resume {
            crate::atomic::write_bytes(&settings_path, serde_json::to_string_pretty(settings)?.as_bytes())?;
            let mut file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            writeln!(file, "{HEADER}").with_context(|| format!("cannot write {}", path.display()))?;
            return Ok(Self { file, path, done: HashMap::new() });
        }
        let saved = std::fs::read_to_string(&settings_path).with_context(|| {
            format!(
                "--resume: {} is missing, so there is no run to continue (run without --resume)",
                settings_path.display()
            )
        })?;
        let saved: serde_json::Value = serde_json::from_str(&saved)
            .with_context(|| format!("--resume: {} is not JSON", settings_path.display()))?;
        let differences = manifold_prior::json_differences(&saved, settings);
        anyhow::ensure!(
            differences.is_empty(),
            "--resume: the settings differ from those of the rows in {}:\n  {}",
            path.display(),
            differences.join("\n  ")
        );
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("--resume: cannot read {}", path.display()))?;
        let (kept, done) = parse(&text);
        // Rewrite without an unfinished last line, so appended rows start on a line of their own.
        crate::atomic::write_bytes(&path, kept.as_bytes())?;
        let file =
            OpenOptions::new().append(true).open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Self { file, path, done })
    }

    /// The finished estimate of `estimator` on `case` (flow: for `seed`), if the journal has it.
    pub fn done(&self, case: &str, estimator: &str, seed: Option<u64>) -> Option<&Row> {
        self.done.get(&(case.to_owned(), estimator.to_owned(), seed))
    }

    /// How many finished estimates were read back on `--resume`.
    pub fn resumed(&self) -> usize {
        self.done.len()
    }

    /// Append one row (the fields of [`HEADER`], comma-separated) and flush it to disk.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.file, "{line}")
            .and_then(|()| self.file.flush())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// The header and every complete row of a journal's text, and the finished estimates they
/// hold. A row is complete when it ends with a newline and its fields parse; the last such
/// row of a key wins.
fn parse(text: &str) -> (String, HashMap<Key, Row>) {
    let mut kept = format!("{HEADER}\n");
    let mut done = HashMap::new();
    for line in text.split_inclusive('\n').skip(1) {
        let Some(body) = line.strip_suffix('\n') else { continue };
        if let Some((key, row)) = parse_row(body) {
            kept.push_str(line);
            done.insert(key, row);
        }
    }
    (kept, done)
}

/// An empty field as `None`, else the parsed value.
fn optional<T: std::str::FromStr>(field: &str) -> Result<Option<T>, T::Err> {
    if field.is_empty() { Ok(None) } else { field.parse().map(Some) }
}

/// One row of `runs.csv`, or `None` if it is malformed.
fn parse_row(line: &str) -> Option<(Key, Row)> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != HEADER.split(',').count() {
        return None;
    }
    let seed: Option<u64> = optional(f[6]).ok()?;
    let dimension: f64 = f[7].parse().ok()?;
    let interval = match (optional(f[8]).ok()?, optional(f[9]).ok()?) {
        (Some(lo), Some(hi)) => Some((lo, hi)),
        (None, None) => None,
        _ => return None,
    };
    let clear_gap = match f[10] {
        "" => None,
        "1" => Some(true),
        "0" => Some(false),
        _ => return None,
    };
    let seconds: f64 = f[12].parse().ok()?;
    Some(((f[0].to_owned(), f[5].to_owned(), seed), Row { dimension, interval, clear_gap, seconds }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: &str =
        "case,group,known,n,d,estimator,seed,dimension,interval_low,interval_high,clear_gap,gap_ratio,seconds
digit 3,class,,183,64,mle,,6.9,,,,,0.01
digit 3,class,,183,64,flow,0,5,4,7,0,1.8,12.5
digit 3,class,,183,64,flow,1,6,5,";

    #[test]
    fn complete_rows_are_kept_and_a_cut_last_row_is_dropped() {
        let (kept, done) = parse(ROWS);
        assert_eq!(done.len(), 2);
        assert!(kept.ends_with("12.5\n") && !kept.contains("flow,1"), "{kept}");
        let mle = &done[&("digit 3".to_owned(), "mle".to_owned(), None)];
        assert_eq!(mle, &Row { dimension: 6.9, interval: None, clear_gap: None, seconds: 0.01 });
        let flow = &done[&("digit 3".to_owned(), "flow".to_owned(), Some(0))];
        assert_eq!(flow, &Row { dimension: 5.0, interval: Some((4, 7)), clear_gap: Some(false), seconds: 12.5 });
    }

    #[test]
    fn resume_continues_only_under_the_same_settings() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let settings = serde_json::json!({"flow": {"steps": 3000}});
        assert!(Journal::open(dir.path(), &settings, true).is_err(), "nothing to resume");
        let mut j = Journal::open(dir.path(), &settings, false)?;
        j.record("warped-2-in-64,warped,2,2000,64,flow,0,2,2,2,1,7.2,11.3")?;
        drop(j);
        // An interrupted write leaves a cut row behind.
        let mut f = OpenOptions::new().append(true).open(dir.path().join(RUNS_FILE))?;
        write!(f, "warped-2-in-64,warped,2,2000,64,flow,1,2,2")?;
        drop(f);

        let other = serde_json::json!({"flow": {"steps": 500}});
        let err = Journal::open(dir.path(), &other, true).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("flow.steps: 3000 (checkpoint) vs 500 (now)"), "{err}");

        let mut j = Journal::open(dir.path(), &settings, true)?;
        assert_eq!(j.resumed(), 1);
        assert!(j.done("warped-2-in-64", "flow", Some(0)).is_some());
        assert!(j.done("warped-2-in-64", "flow", Some(1)).is_none(), "the cut row is measured again");
        j.record("warped-2-in-64,warped,2,2000,64,flow,1,2,2,2,1,8.0,34.4")?;
        let text = std::fs::read_to_string(dir.path().join(RUNS_FILE))?;
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.lines().all(|l| parse_row(l).is_some() || l == HEADER), "{text}");
        Ok(())
    }
}
