//! `cargo xtask bench`: run the criterion suite, collect each benchmark's median from
//! `target/criterion/**/new/estimates.json`, write a dated summary under `benches/history/`,
//! and print every median that moved by more than 10% against the previous summary.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// Relative change of a median beyond which it is reported.
const REPORT_CHANGE: f64 = 0.10;

/// Run the suite and update the history; `extra` is passed to criterion (e.g. a filter).
pub fn run(root: &Path, extra: &[String]) -> anyhow::Result<ExitCode> {
    let status = Command::new(super::cargo())
        .current_dir(root)
        .args(["bench", "--package", "mflow-benches", "--bench", "suite", "--"])
        .args(extra)
        .status()
        .context("failed to start cargo bench")?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    let medians = collect_medians(&root.join("target/criterion"))?;
    if medians.is_empty() {
        bail!("no criterion results found under target/criterion");
    }
    let history = root.join("benches/history");
    fs::create_dir_all(&history)?;
    let previous = latest_summary(&history)?;
    let date = today()?;
    let summary = json!({
        "date": date,
        "benches": medians.iter().map(|(name, ns)| json!({"name": name, "median": ns, "unit": "ns"})).collect::<Vec<_>>(),
    });
    let path = history.join(format!("{date}.json"));
    fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")?;
    println!("wrote {} ({} benchmarks)", path.display(), medians.len());
    if let Some((prev_path, prev)) = previous.filter(|(p, _)| *p != path) {
        println!("changes beyond {:.0}% against {}:", REPORT_CHANGE * 100.0, prev_path.display());
        let mut any = false;
        for (name, now) in &medians {
            if let Some(before) = prev.get(name) {
                let change = now / before - 1.0;
                if change.abs() > REPORT_CHANGE {
                    any = true;
                    println!("  {name}: {} -> {} ({:+.1}%)", fmt_ns(*before), fmt_ns(*now), change * 100.0);
                }
            }
        }
        if !any {
            println!("  none");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every `<bench>/new/estimates.json` below `dir`, keyed by its benchmark id (the path).
fn collect_medians(dir: &Path) -> anyhow::Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.ends_with("new/estimates.json") {
                let v: Value = serde_json::from_str(&fs::read_to_string(&path)?)
                    .with_context(|| format!("parsing {}", path.display()))?;
                if let Some(median) = v["median"]["point_estimate"].as_f64() {
                    let id = path
                        .parent()
                        .and_then(Path::parent)
                        .and_then(|p| p.strip_prefix(dir).ok())
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    out.insert(id, median);
                }
            }
        }
    }
    Ok(out)
}

/// The newest summary in `history`, as a name -> median map.
fn latest_summary(history: &Path) -> anyhow::Result<Option<(PathBuf, BTreeMap<String, f64>)>> {
    let mut files: Vec<PathBuf> = fs::read_dir(history)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let Some(last) = files.pop() else { return Ok(None) };
    let v: Value = serde_json::from_str(&fs::read_to_string(&last)?)?;
    let map = v["benches"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| Some((r["name"].as_str()?.to_owned(), r["median"].as_f64()?))).collect())
        .unwrap_or_default();
    Ok(Some((last, map)))
}

/// Today's date as `YYYY-MM-DD` (from `date`, to avoid a time-zone dependency).
fn today() -> anyhow::Result<String> {
    let out = Command::new("date").arg("+%Y-%m-%d").output().context("running date")?;
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

fn fmt_ns(ns: f64) -> String {
    match ns {
        x if x >= 1e9 => format!("{:.3} s", x / 1e9),
        x if x >= 1e6 => format!("{:.3} ms", x / 1e6),
        x if x >= 1e3 => format!("{:.3} us", x / 1e3),
        x => format!("{x:.1} ns"),
    }
}
