//! `cargo xtask docs [--check]`: regenerate every results table in `README.md` and
//! `docs/*.md` from the committed reports `docs/results/<run>/report.json`, so no number in the
//! docs is typed by hand. With `--check`, change nothing and fail (listing the blocks) when a
//! document differs from what the reports give: CI runs it.
//!
//! A generated block sits between two markers, the first naming the run folder and what to
//! draw from its report:
//!
//! ```text
//! <!-- results fig1 targets -->
//! ...generated, do not edit...
//! <!-- /results -->
//! ```
//!
//! Kinds: `summary` (which run: commit, seeds, wall time; the tally; each FAILed target),
//! `targets` (the targets table), `section:<title>` (a measured table of the report, by its
//! title), and `compare` for several runs separated by commas (`<!-- results a,b compare -->`:
//! one row per target, one column per run, the measured value and its verdict).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::Value;

/// Opening marker prefix and closing marker of a generated block.
const OPEN: &str = "<!-- results ";
const CLOSE: &str = "<!-- /results -->";

/// Regenerate (or with `--check`, verify) the blocks in the documents under `root`.
pub fn run(root: &Path, args: &[String]) -> anyhow::Result<ExitCode> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => bail!("usage: cargo xtask docs [--check]"),
    };
    let mut stale = Vec::new();
    let mut blocks = 0;
    for doc in documents(root)? {
        let text = std::fs::read_to_string(&doc).with_context(|| format!("cannot read {}", doc.display()))?;
        let (new, n) =
            regenerate(&text, &root.join("docs/results")).with_context(|| format!("in {}", doc.display()))?;
        blocks += n;
        if new != text {
            let rel = doc.strip_prefix(root).unwrap_or(&doc).display().to_string();
            if check {
                stale.push(rel);
            } else {
                std::fs::write(&doc, new).with_context(|| format!("cannot write {}", doc.display()))?;
                println!("updated {rel}");
            }
        }
    }
    if check && !stale.is_empty() {
        eprintln!(
            "xtask docs --check: generated results differ from docs/results/*/report.json in: {}\nrun `cargo xtask \
             docs` and commit the result",
            stale.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
    println!("{blocks} generated block(s) {}", if check { "current" } else { "written" });
    Ok(ExitCode::SUCCESS)
}

/// `README.md`, `ARCHITECTURE.md` and `docs/*.md`.
fn documents(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut docs: Vec<PathBuf> =
        ["README.md", "ARCHITECTURE.md"].iter().map(|f| root.join(f)).filter(|p| p.is_file()).collect();
    let dir = root.join("docs");
    let mut more: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    Ok(docs)
}

/// `text` with every generated block rewritten from the reports under `results`, and the
/// number of blocks.
fn regenerate(text: &str, results: &Path) -> anyhow::Result<(String, usize)> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut n = 0;
    while let Some(start) = rest.find(OPEN) {
        let line_end = rest[start..].find('\n').map_or(rest.len(), |i| start + i + 1);
        let header = rest[start..line_end].trim_end();
        let spec = header.strip_prefix(OPEN).and_then(|s| s.strip_suffix("-->")).map(str::trim);
        let spec = spec.with_context(|| format!("a malformed marker: {header}"))?;
        let (run, kind) = spec.split_once(' ').with_context(|| format!("a marker needs a run and a kind: {header}"))?;
        let close = rest[line_end..].find(CLOSE).with_context(|| format!("no {CLOSE} after {header}"))?;
        out.push_str(&rest[..line_end]);
        if kind.trim() == "compare" {
            let runs: Vec<&str> = run.split(',').collect();
            let reports = runs.iter().map(|r| load(results, r)).collect::<anyhow::Result<Vec<_>>>()?;
            out.push_str(&compare(&runs, &reports));
        } else {
            out.push_str(&render(&load(results, run)?, run, kind.trim())?);
        }
        out.push_str(CLOSE);
        rest = &rest[line_end + close + CLOSE.len()..];
        n += 1;
    }
    out.push_str(rest);
    Ok((out, n))
}

/// The report of one run folder.
fn load(results: &Path, run: &str) -> anyhow::Result<Value> {
    let path = results.join(run).join("report.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// A measured value as the report shows it (numbers with about four significant digits).
fn cell(v: &Value) -> String {
    match v {
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), fmt_number),
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
    .replace('|', "\\|")
}

/// The number format of the reports (`repro::report::fmt_number`): integers plainly, very
/// small or large values in scientific notation, the rest with four significant digits.
fn fmt_number(x: f64) -> String {
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

/// Whether a target row is a timing (shown, not judged).
fn is_timing(t: &Value) -> bool {
    t["kind"] == "speed"
}

/// The status of a target row as the docs show it.
fn status(t: &Value) -> String {
    let s = match t["status"].as_str() {
        Some("pass") => "PASS",
        Some("fail") => "FAIL",
        _ => "n/a",
    };
    if is_timing(t) { format!("{s} (timing, not judged)") } else { s.into() }
}

/// The `compare` block: targets (by name, in the first report's order) against runs.
fn compare(runs: &[&str], reports: &[Value]) -> String {
    let mut names: Vec<String> = Vec::new();
    for report in reports {
        for t in report["targets"].as_array().map_or(&[][..], Vec::as_slice) {
            let name = cell(&t["name"]);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut out = format!(
        "| target | {} |
|---|{}
",
        runs.join(" | "),
        "---|".repeat(runs.len())
    );
    let tally = |report: &Value| {
        let judged: Vec<&Value> =
            report["targets"].as_array().map_or(Vec::new(), |a| a.iter().filter(|t| !is_timing(t)).collect());
        let count = |s: &str| judged.iter().filter(|t| t["status"] == s).count();
        format!("{} PASS, {} FAIL, {} n/a", count("pass"), count("fail"), count("not_applicable"))
    };
    for name in &names {
        let cells: Vec<String> = reports
            .iter()
            .map(|r| {
                let targets = r["targets"].as_array().map_or(&[][..], Vec::as_slice);
                targets
                    .iter()
                    .find(|t| cell(&t["name"]) == *name)
                    .map_or("-".into(), |t| format!("{} {}", cell(&t["measured"]), status(t)))
            })
            .collect();
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    }
    let tallies: Vec<String> = reports.iter().map(tally).collect();
    let _ = writeln!(out, "| **result** | {} |", tallies.join(" | "));
    let stamps: Vec<String> = runs
        .iter()
        .zip(reports)
        .map(|(run, r)| format!("`{run}` at `{}`", r["versions"]["git"].as_str().unwrap_or("an unknown commit")))
        .collect();
    let _ = writeln!(
        out,
        "
*Generated from docs/results: {}.*",
        stamps.join(", ")
    );
    out
}

/// One generated block (ending with a newline).
fn render(report: &Value, run: &str, kind: &str) -> anyhow::Result<String> {
    let targets = report["targets"].as_array().cloned().unwrap_or_default();
    let mut out = String::new();
    match kind {
        "summary" => {
            let judged: Vec<&Value> = targets.iter().filter(|t| !is_timing(t)).collect();
            let count = |s: &str| judged.iter().filter(|t| t["status"] == s).count();
            let seeds: Vec<u64> =
                report["seeds"].as_array().map_or(Vec::new(), |a| a.iter().filter_map(Value::as_u64).collect());
            let seeds = match (seeds.first(), seeds.last()) {
                (Some(a), Some(b)) if a == b => format!("seed {a}"),
                (Some(a), Some(b)) => format!("seeds {a}..{b}"),
                _ => "no seeds".into(),
            };
            let commit = report["versions"]["git"].as_str().unwrap_or("an unknown commit");
            let _ = writeln!(
                out,
                "- run: `docs/results/{run}` ({}), {seeds}, {} steps, commit `{commit}`, wall time {} s",
                cell(&report["title"]),
                // The real-image experiments keep their steps in the protocol's settings.
                cell(match &report["config"]["steps"] {
                    Value::Null => &report["config"]["protocol"]["steps"],
                    steps => steps,
                }),
                fmt_number(report["wall_time_s"].as_f64().unwrap_or(f64::NAN).round()),
            );
            let _ = writeln!(
                out,
                "- result: {} PASS, {} FAIL, {} n/a",
                count("pass"),
                count("fail"),
                count("not_applicable")
            );
            for t in judged.iter().filter(|t| t["status"] == "fail") {
                let _ = writeln!(
                    out,
                    "- FAIL: {}: measured {}, target {}",
                    cell(&t["name"]),
                    cell(&t["measured"]),
                    cell(&t["target"])
                );
            }
        }
        "targets" => {
            out.push_str("| measured quantity | measured | target | status |\n| --- | ---: | --- | :---: |\n");
            for t in &targets {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    cell(&t["name"]),
                    cell(&t["measured"]),
                    cell(&t["target"]),
                    status(t)
                );
            }
            let commit = report["versions"]["git"].as_str().unwrap_or("an unknown commit");
            let _ = writeln!(out, "\n*Generated from `docs/results/{run}/report.json` (commit `{commit}`).*");
        }
        _ => {
            let Some(title) = kind.strip_prefix("section:") else {
                bail!("unknown kind '{kind}' (summary, targets, section:<title>)");
            };
            let sections = report["sections"].as_array().cloned().unwrap_or_default();
            let section = sections
                .iter()
                .find(|s| s["title"] == title)
                .with_context(|| format!("docs/results/{run}/report.json has no section '{title}'"))?;
            let columns: Vec<String> =
                section["columns"].as_array().map_or(Vec::new(), |c| c.iter().map(cell).collect());
            let _ = writeln!(out, "| {} |", columns.join(" | "));
            let _ = writeln!(out, "|{}", " ---: |".repeat(columns.len()));
            for row in section["rows"].as_array().map_or(&[][..], Vec::as_slice) {
                let cells: Vec<String> = row.as_array().map_or(Vec::new(), |r| r.iter().map(cell).collect());
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            let commit = report["versions"]["git"].as_str().unwrap_or("an unknown commit");
            let _ = writeln!(out, "\n*Generated from `docs/results/{run}/report.json` (commit `{commit}`).*");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Value {
        serde_json::json!({
            "title": "Figure 1",
            "seeds": [0, 1, 2],
            "wall_time_s": 12.4,
            "config": {"steps": 10000},
            "versions": {"git": "abc1234"},
            "targets": [
                {"name": "a", "measured": 0.99512, "target": ">= 0.99", "status": "pass"},
                {"name": "b", "measured": "3 of 5", "target": ">= 4 of 5", "status": "fail"},
                {"name": "t", "measured": 120.0, "target": "<= 100", "status": "fail", "kind": "speed"}
            ],
            "sections": [{"title": "Per seed", "columns": ["seed", "ratio"], "rows": [[0, 61.23456]]}]
        })
    }

    #[test]
    fn blocks_are_regenerated_between_their_markers_and_nothing_else_changes() -> anyhow::Result<()> {
        let dir = tempfile_dir()?;
        let run = dir.join("fig1");
        std::fs::create_dir_all(&run)?;
        std::fs::write(run.join("report.json"), report().to_string())?;
        let doc = "intro\n<!-- results fig1 summary -->\nstale\n<!-- /results -->\nmiddle\n\
                   <!-- results fig1 targets -->\n<!-- /results -->\n<!-- results fig1 section:Per seed -->\n\
                   <!-- /results -->\nend\n";
        let (new, n) = regenerate(doc, &dir)?;
        assert_eq!(n, 3);
        assert!(new.starts_with("intro\n<!-- results fig1 summary -->\n- run: `docs/results/fig1`"), "{new}");
        assert!(new.contains("seeds 0..2, 10000 steps, commit `abc1234`, wall time 12 s"), "{new}");
        assert!(new.contains("- result: 1 PASS, 1 FAIL, 0 n/a\n- FAIL: b: measured 3 of 5, target >= 4 of 5\n"));
        assert!(new.contains("| a | 0.9951 | >= 0.99 | PASS |"), "{new}");
        assert!(new.contains("| t | 120 | <= 100 | FAIL (timing, not judged) |"), "{new}");
        assert!(new.contains("| 0 | 61.23 |"), "{new}");
        assert!(!new.contains("stale") && new.contains("\nmiddle\n") && new.ends_with("<!-- /results -->\nend\n"));
        // Regenerating is idempotent.
        assert_eq!(regenerate(&new, &dir)?.0, new);
        // Two runs side by side.
        let other = dir.join("other");
        std::fs::create_dir_all(&other)?;
        std::fs::write(other.join("report.json"), report().to_string())?;
        let (cmp, _) = regenerate("<!-- results fig1,other compare -->\n<!-- /results -->", &dir)?;
        assert!(cmp.contains("| target | fig1 | other |"), "{cmp}");
        assert!(cmp.contains("| a | 0.9951 PASS | 0.9951 PASS |"), "{cmp}");
        assert!(cmp.contains("| **result** | 1 PASS, 1 FAIL, 0 n/a | 1 PASS, 1 FAIL, 0 n/a |"), "{cmp}");
        // Errors name what is wrong.
        let missing = regenerate("<!-- results nope targets -->\n<!-- /results -->", &dir);
        assert!(missing.is_err_and(|e| e.to_string().contains("nope")));
        let unclosed = regenerate("<!-- results fig1 targets -->\n", &dir);
        assert!(unclosed.is_err_and(|e| e.to_string().contains("no <!-- /results -->")));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    /// A fresh scratch folder (xtask has no tempfile dependency).
    fn tempfile_dir() -> anyhow::Result<PathBuf> {
        let dir = std::env::temp_dir().join(format!("xtask-docs-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}
