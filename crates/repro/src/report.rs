//! An experiment's report: configuration, seeds, versions, wall time, measured values next to
//! their targets (PASS / FAIL / n/a) and free-form measured tables; written as `report.json`
//! and `report.md` and summarised on the terminal.
//!
//! ```
//! use repro::report::{Report, Section, Target};
//! let mut report = Report::new("fig1", "Figure 1: sine curve", serde_json::json!({"steps": 10_000}));
//! report.push(Target::at_least("spread: fraction within 0.05 (seed 0)", 0.995, 0.99));
//! report.push(Target::at_most("baseline: fraction within 0.05", 0.31, 0.70));
//! report.push(Target::not_applicable("median eigenvalue ratio", "12", ">= 30", "run shortened to 500 steps"));
//! let mut eig = Section::new("Eigenvalues of A A^T per seed", &["seed", "lambda_1", "lambda_2", "ratio"]);
//! eig.row([0.0.into(), 0.91.into(), 0.015.into(), 60.7.into()]);
//! report.sections.push(eig);
//! assert_eq!(report.count(repro::Status::Fail), 0);
//! assert!(report.to_markdown().contains("| PASS |"));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// Whether a target was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The measured value meets the target.
    Pass,
    /// The measured value misses the target.
    Fail,
    /// The target does not apply to this run (e.g. a shortened run cannot reach it).
    NotApplicable,
}

impl Status {
    /// `PASS`, `FAIL` or `n/a`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotApplicable => "n/a",
        }
    }

    /// `Pass` when `ok`, `Fail` otherwise.
    pub fn from_ok(ok: bool) -> Self {
        if ok { Status::Pass } else { Status::Fail }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A measured value: a number (serialised as a JSON number, or as the string `"NaN"` / `"inf"`
/// when not finite, since JSON has no such numbers) or text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Measured {
    /// A number, shown with about four significant digits.
    Number(f64),
    /// Free text (e.g. `"1, 1, 1, 2, 1"` or `"4 of 5"`).
    Text(String),
}

impl Serialize for Measured {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Measured::Number(x) if x.is_finite() => serializer.serialize_f64(*x),
            Measured::Number(x) => serializer.serialize_str(&x.to_string()),
            Measured::Text(s) => serializer.serialize_str(s),
        }
    }
}

impl fmt::Display for Measured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measured::Number(x) => f.write_str(&fmt_number(*x)),
            Measured::Text(s) => f.write_str(s),
        }
    }
}

impl From<f64> for Measured {
    fn from(x: f64) -> Self {
        Measured::Number(x)
    }
}

impl From<usize> for Measured {
    fn from(x: usize) -> Self {
        Measured::Number(x as f64)
    }
}

impl From<u64> for Measured {
    fn from(x: u64) -> Self {
        Measured::Number(x as f64)
    }
}

impl From<&str> for Measured {
    fn from(s: &str) -> Self {
        Measured::Text(s.to_owned())
    }
}

impl From<String> for Measured {
    fn from(s: String) -> Self {
        Measured::Text(s)
    }
}

/// Format a number for tables: integers plainly, very small or large values in scientific
/// notation, the rest with four significant digits (trailing zeros dropped).
pub fn fmt_number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if x == x.round() && a < 1e7 {
        format!("{x:.0}")
    } else if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{x:.3e}")
    } else {
        let digits = (3 - a.log10().floor() as i32).clamp(1, 6) as usize;
        let s = format!("{x:.digits$}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// What a target row judges. Timings depend on the machine and its load (on a shared 2-core
/// machine a step can take twice as long), so they are reported next to their target, with the
/// CPU model and load ([`machine`]), but never decide `--strict` nor count in the tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A result of the method: judged.
    #[default]
    Result,
    /// A time or speed: shown, not judged.
    Speed,
}

/// `"AMD EPYC, load 1.75 1.02 0.80 on 2 CPUs"`: the CPU model, the load averages (1, 5 and 15
/// minutes, from `/proc/loadavg`) and the CPUs available, for the note of a timing row.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cpu}, load {load} on {cpus} CPUs")
}

/// One row of the targets table: a measured value next to its target and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// What is measured (`"spread flow: fraction of samples within 0.05, seed 0"`).
    pub name: String,
    /// The measured value.
    pub measured: Measured,
    /// The target as written in method.md (`">= 0.99"`).
    pub target: String,
    /// The verdict.
    pub status: Status,
    /// Why a target is n/a, or any other remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// A judged result, or a timing that is shown but not judged.
    #[serde(default, skip_serializing_if = "is_result")]
    pub kind: TargetKind,
}

/// serde helper: the default kind is not written.
fn is_result(kind: &TargetKind) -> bool {
    *kind == TargetKind::Result
}

impl Target {
    /// A row with an explicit verdict.
    pub fn new(
        name: impl Into<String>,
        measured: impl Into<Measured>,
        target: impl Into<String>,
        status: Status,
    ) -> Self {
        Target {
            name: name.into(),
            measured: measured.into(),
            target: target.into(),
            status,
            note: None,
            kind: TargetKind::Result,
        }
    }

    /// Mark the row a timing ([`TargetKind::Speed`]): shown with its verdict, but not judged by
    /// `--strict` nor counted in the tally. The note gains the machine ([`machine`]).
    pub fn speed(self) -> Self {
        let note = match self.note {
            Some(n) => format!("{n}; not judged (timing), measured on {}", machine()),
            None => format!("not judged (timing), measured on {}", machine()),
        };
        Target { kind: TargetKind::Speed, note: Some(note), ..self }
    }

    /// `measured >= min` (a NaN fails).
    pub fn at_least(name: impl Into<String>, measured: f64, min: f64) -> Self {
        let target = format!(">= {}", fmt_number(min));
        Self::new(name, measured, target, Status::from_ok(measured >= min))
    }

    /// `measured <= max` (a NaN fails).
    pub fn at_most(name: impl Into<String>, measured: f64, max: f64) -> Self {
        let target = format!("<= {}", fmt_number(max));
        Self::new(name, measured, target, Status::from_ok(measured <= max))
    }

    /// `lo <= measured <= hi` (a NaN fails).
    pub fn between(name: impl Into<String>, measured: f64, lo: f64, hi: f64) -> Self {
        let target = format!("{} to {}", fmt_number(lo), fmt_number(hi));
        Self::new(name, measured, target, Status::from_ok((lo..=hi).contains(&measured)))
    }

    /// `measured == expected` for counts such as an intrinsic dimension.
    pub fn equals(name: impl Into<String>, measured: usize, expected: usize) -> Self {
        let target = format!("= {expected}");
        Self::new(name, measured, target, Status::from_ok(measured == expected))
    }

    /// A target this run cannot judge, with the reason.
    pub fn not_applicable(
        name: impl Into<String>,
        measured: impl Into<Measured>,
        target: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(name, measured, target, Status::NotApplicable).with_note(reason)
    }

    /// Attach a remark (shown in the markdown table).
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Mark the row n/a (keeping the measured value) when `applicable` is false, e.g. for a
    /// target that a shortened run cannot reach.
    pub fn applicable_if(self, applicable: bool, reason: impl Into<String>) -> Self {
        if applicable { self } else { Target { status: Status::NotApplicable, note: Some(reason.into()), ..self } }
    }
}

/// A free-form measured table (per-seed eigenvalues, training losses, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// The section heading.
    pub title: String,
    /// Paragraphs shown before the table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Measured>>,
}

impl Section {
    /// An empty table with these column headers.
    pub fn new(title: impl Into<String>, columns: &[&str]) -> Self {
        Section {
            title: title.into(),
            notes: Vec::new(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Add a paragraph shown before the table.
    pub fn note(&mut self, text: impl Into<String>) -> &mut Self {
        self.notes.push(text.into());
        self
    }

    /// Append a row.
    ///
    /// # Panics
    /// If the row's length differs from the number of columns.
    #[track_caller]
    pub fn row(&mut self, cells: impl IntoIterator<Item = Measured>) -> &mut Self {
        let cells: Vec<Measured> = cells.into_iter().collect();
        assert_eq!(
            cells.len(),
            self.columns.len(),
            "section '{}': a row of {} cells for {} columns",
            self.title,
            cells.len(),
            self.columns.len()
        );
        self.rows.push(cells);
        self
    }
}

/// Whether a FAILed target fails the exit code (`--strict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetPolicy {
    /// FAIL is reported but the exit code stays 0.
    #[default]
    Lenient,
    /// Any FAIL makes the exit code non-zero.
    Strict,
}

/// The error [`Report::check`] returns under [`TargetPolicy::Strict`] when targets FAILed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetsFailed {
    /// The experiment.
    pub experiment: String,
    /// The names of the failed targets.
    pub failed: Vec<String>,
}

impl fmt::Display for TargetsFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} target(s) FAILed: {}", self.experiment, self.failed.len(), self.failed.join("; "))
    }
}

impl std::error::Error for TargetsFailed {}

/// Whether the terminal summary uses ANSI colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// Colour PASS green, FAIL red, n/a dim.
    Ansi,
    /// Plain text.
    Plain,
}

impl Color {
    /// Colours when stdout is a terminal and `NO_COLOR` is unset.
    pub fn auto() -> Self {
        if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
            Color::Ansi
        } else {
            Color::Plain
        }
    }
}

/// An experiment's report. Fill `targets` and `sections` (and `outputs`, the files written),
/// then [`Report::write`] it; [`crate::run_experiment`] sets the wall time and versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The experiment's command-line name.
    pub experiment: String,
    /// A human title (`"Figure 1: sine curve in 2-D, standard flow vs spread flow"`).
    pub title: String,
    /// The full configuration (presets, steps, noise level, ...).
    pub config: serde_json::Value,
    /// The seeds used (single-seed parts use the first unless the config says otherwise).
    pub seeds: Vec<u64>,
    /// Versions: the workspace, key dependencies, rustc and the git commit when known.
    pub versions: BTreeMap<String, String>,
    /// Wall time of the experiment in seconds (training, figures and CSVs).
    pub wall_time_s: f64,
    /// Measured values next to their targets.
    pub targets: Vec<Target>,
    /// Free-form measured tables.
    pub sections: Vec<Section>,
    /// Files written by the experiment, relative to the output directory.
    pub outputs: Vec<String>,
}

impl Report {
    /// An empty report.
    pub fn new(experiment: impl Into<String>, title: impl Into<String>, config: serde_json::Value) -> Self {
        Report {
            experiment: experiment.into(),
            title: title.into(),
            config,
            seeds: Vec::new(),
            versions: BTreeMap::new(),
            wall_time_s: 0.0,
            targets: Vec::new(),
            sections: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// Append a target row.
    pub fn push(&mut self, target: Target) -> &mut Self {
        self.targets.push(target);
        self
    }

    /// How many judged targets (not timings, [`TargetKind::Speed`]) have this status.
    pub fn count(&self, status: Status) -> usize {
        self.targets.iter().filter(|t| t.kind == TargetKind::Result && t.status == status).count()
    }

    /// Fill `versions`: the workspace version, the dependency versions recorded from
    /// `Cargo.lock` at build time, rustc, and `git`, the commit the binary was built from.
    /// When the working directory is at another commit, or has uncommitted changes, when the
    /// report is written, its `git describe --dirty` is added as `git_worktree` (a binary
    /// built before later commits, or from a dirty tree, is then visible as such).
    pub fn stamp_versions(&mut self) {
        self.versions.insert("manifold-flows".into(), env!("CARGO_PKG_VERSION").into());
        for pair in env!("REPRO_DEP_VERSIONS").split(';') {
            if let Some((name, version)) = pair.split_once('=') {
                self.versions.insert(name.into(), version.into());
            }
        }
        self.versions.insert("rustc".into(), env!("REPRO_RUSTC_VERSION").into());
        let built = env!("REPRO_BUILD_COMMIT");
        if !built.is_empty() {
            self.versions.insert("git".into(), built.into());
        }
        if let Some(worktree) = git_commit().filter(|w| built.is_empty() || w != built) {
            let key = if built.is_empty() { "git" } else { "git_worktree" };
            self.versions.insert(key.into(), worktree);
        }
    }

    /// Under [`TargetPolicy::Strict`], an error listing the FAILed targets, if any.
    pub fn check(&self, policy: TargetPolicy) -> Result<(), TargetsFailed> {
        let failed: Vec<String> = self
            .targets
            .iter()
            .filter(|t| t.kind == TargetKind::Result && t.status == Status::Fail)
            .map(|t| t.name.clone())
            .collect();
        if policy == TargetPolicy::Strict && !failed.is_empty() {
            Err(TargetsFailed { experiment: self.experiment.clone(), failed })
        } else {
            Ok(())
        }
    }

    /// `"7 PASS, 1 FAIL, 2 n/a"` over the judged targets, then the timings when there are
    /// any: `"7 PASS, 0 FAIL, 2 n/a (timings, not judged: 1 of 2 within target)"`.
    pub fn tally(&self) -> String {
        let mut out = format!(
            "{} PASS, {} FAIL, {} n/a",
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::NotApplicable)
        );
        let speed: Vec<&Target> = self.targets.iter().filter(|t| t.kind == TargetKind::Speed).collect();
        let judged: Vec<&&Target> = speed.iter().filter(|t| t.status != Status::NotApplicable).collect();
        if !judged.is_empty() {
            let within = judged.iter().filter(|t| t.status == Status::Pass).count();
            out.push_str(&format!(" (timings, not judged: {within} of {} within target)", judged.len()));
        }
        out
    }

    /// One line for `--quiet`: experiment, tally, wall time and where the report is.
    pub fn one_line(&self, out_dir: &Path) -> String {
        format!(
            "{}: {} in {:.1} s -> {}",
            self.experiment,
            self.tally(),
            self.wall_time_s,
            out_dir.join("report.md").display()
        )
    }

    /// The terminal summary: title, the targets table and the tally.
    pub fn summary_table(&self, color: Color) -> String {
        let headers = ["target", "measured", "wanted", "status"];
        let rows: Vec<[String; 4]> = self
            .targets
            .iter()
            .map(|t| [t.name.clone(), t.measured.to_string(), t.target.clone(), t.status.label().to_owned()])
            .collect();
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let [w0, w1, w2, _] = widths;
        let rule = "-".repeat(w0 + w1 + w2 + 4 + 6);
        let mut out = format!("\n{}\n{rule}\n", self.title);
        out.push_str(&format!("{:<w0$}  {:>w1$}  {:<w2$}  {}\n", headers[0], headers[1], headers[2], headers[3]));
        for (row, t) in rows.iter().zip(&self.targets) {
            let status = match (color, t.status) {
                _ if t.kind == TargetKind::Speed => format!("{} (timing)", t.status.label()),
                (Color::Plain, s) => s.label().to_owned(),
                (Color::Ansi, Status::Pass) => "\x1b[1;32mPASS\x1b[0m".to_owned(),
                (Color::Ansi, Status::Fail) => "\x1b[1;31mFAIL\x1b[0m".to_owned(),
                (Color::Ansi, Status::NotApplicable) => "\x1b[2mn/a\x1b[0m".to_owned(),
            };
            out.push_str(&format!("{:<w0$}  {:>w1$}  {:<w2$}  {status}\n", row[0], row[1], row[2]));
        }
        out.push_str(&format!("{rule}\n{} in {:.1} s\n", self.tally(), self.wall_time_s));
        out
    }

    /// The markdown report: header facts, targets table, sections, configuration, outputs.
    pub fn to_markdown(&self) -> String {
        let mut md = format!("# {}\n\n", self.title);
        md.push_str(&format!(
            "- experiment: `{}`\n- seeds: {}\n- wall time: {:.1} s\n- result: {}\n",
            self.experiment,
            if self.seeds.is_empty() {
                "none".to_owned()
            } else {
                self.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
            },
            self.wall_time_s,
            self.tally()
        ));
        if !self.versions.is_empty() {
            let v: Vec<String> = self.versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
            md.push_str(&format!("- versions: {}\n", v.join(", ")));
        }
        md.push_str("\n## Targets\n\n| measured quantity | measured | target | status | note |\n");
        md.push_str("| --- | ---: | --- | :---: | --- |\n");
        for t in &self.targets {
            let status = match (t.kind, t.status) {
                (TargetKind::Speed, Status::Pass) => "PASS (timing)",
                (TargetKind::Speed, Status::Fail) => "FAIL (timing, not judged)",
                (_, Status::Pass) => "PASS",
                (_, Status::Fail) => "**FAIL**",
                (_, Status::NotApplicable) => "n/a",
            };
            md.push_str(&format!(
                "| {} | {} | {} | {status} | {} |\n",
                md_cell(&t.name),
                md_cell(&t.measured.to_string()),
                md_cell(&t.target),
                md_cell(t.note.as_deref().unwrap_or(""))
            ));
        }
        for s in &self.sections {
            md.push_str(&format!("\n## {}\n\n", s.title));
            for n in &s.notes {
                md.push_str(&format!("{n}\n\n"));
            }
            if !s.columns.is_empty() {
                let cols: Vec<String> = s.columns.iter().map(|c| md_cell(c)).collect();
                md.push_str(&format!("| {} |\n", cols.join(" | ")));
                md.push_str(&format!("|{}\n", " ---: |".repeat(s.columns.len())));
                for r in &s.rows {
                    let cells: Vec<String> = r.iter().map(|c| md_cell(&c.to_string())).collect();
                    md.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
            }
        }
        let config = serde_json::to_string_pretty(&self.config).unwrap_or_else(|e| e.to_string());
        md.push_str(&format!("\n## Configuration\n\n```json\n{config}\n```\n"));
        if !self.outputs.is_empty() {
            md.push_str("\n## Outputs\n\n");
            for o in &self.outputs {
                md.push_str(&format!("- [`{o}`]({o})\n"));
            }
        }
        md
    }

    /// Write `report.md`, then `report.json`, into `dir` (which must exist), each atomically
    /// ([`crate::atomic`]). `report.json` is the run's completion marker: written last.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self).context("cannot serialise the report")?;
        crate::atomic::write_bytes(&dir.join("report.md"), self.to_markdown().as_bytes())?;
        crate::atomic::write_bytes(&dir.join("report.json"), (json + "\n").as_bytes())
    }
}

/// Escape a markdown table cell.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `git describe --always --dirty` of the working directory, when git is available.
fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::new("fig1", "Figure 1", serde_json::json!({"steps": 10}));
        r.push(Target::at_least("a", 0.995, 0.99));
        r.push(Target::at_most("b | pipe", 0.8, 0.7));
        r.push(Target::between("c", f64::NAN, 0.0, 1.0));
        r.push(Target::equals("id", 1, 1).applicable_if(false, "short run"));
        let mut s = Section::new("per seed", &["seed", "ratio"]);
        s.row([0_u64.into(), 60.25.into()]);
        s.note("eigenvalues of the EMA of A");
        r.sections.push(s);
        r.outputs.push("fig1.png".into());
        r
    }

    #[test]
    fn statuses_and_policy() {
        let r = sample();
        assert_eq!(r.count(Status::Pass), 1);
        assert_eq!(r.count(Status::Fail), 2, "a NaN fails");
        assert_eq!(r.count(Status::NotApplicable), 1);
        assert!(r.check(TargetPolicy::Lenient).is_ok());
        let err = r.check(TargetPolicy::Strict).err();
        assert_eq!(err.map(|e| e.failed.len()), Some(2));
    }

    #[test]
    fn markdown_json_and_terminal() -> anyhow::Result<()> {
        let mut r = sample();
        r.stamp_versions();
        assert!(r.versions.contains_key("faer"), "{:?}", r.versions);
        let md = r.to_markdown();
        assert!(md.contains("| a | 0.995 | >= 0.99 | PASS |"), "{md}");
        assert!(md.contains("b \\| pipe"));
        assert!(md.contains("**FAIL**") && md.contains("| n/a | short run |"));
        assert!(md.contains("## per seed") && md.contains("| 0 | 60.25 |"));
        let dir = tempfile::tempdir()?;
        r.write(dir.path())?;
        let back: Report = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json"))?)?;
        assert_eq!(back.targets.len(), 4);
        assert_eq!(back.targets[0], r.targets[0]);
        let table = r.summary_table(Color::Plain);
        assert!(table.contains("1 PASS, 2 FAIL, 1 n/a"), "{table}");
        Ok(())
    }

    #[test]
    fn number_format() {
        assert_eq!(fmt_number(3.0), "3");
        assert_eq!(fmt_number(0.004123), "0.004123");
        assert_eq!(fmt_number(2.5e-5), "2.500e-5");
        assert_eq!(fmt_number(60.25), "60.25");
        assert_eq!(fmt_number(0.5), "0.5");
        assert_eq!(fmt_number(0.99), "0.99");
        assert_eq!(fmt_number(1234.5), "1234.5");
    }
}
