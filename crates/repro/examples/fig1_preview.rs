//! Render the fig1 figures, CSVs and a report from synthetic inputs, without training:
//! `cargo run -p repro --example fig1_preview -- [OUT_DIR] [SEED]` (default
//! `results/fig1-preview`). It exercises the same calls the real experiment makes.

use std::path::PathBuf;

use repro::fig1::{self, synthetic};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "results/fig1-preview".into()));
    let seed = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0);
    let (panels, trajectory) = synthetic::inputs(seed);
    let written = fig1::write_outputs(&out, &panels, &trajectory)?;
    let mut report = synthetic::measurements().report(serde_json::json!({"synthetic": true}));
    report.title.push_str(" (synthetic preview, no training)");
    report.outputs = written;
    report.stamp_versions();
    report.write(&out)?;
    print!("{}", report.summary_table(repro::report::Color::auto()));
    println!("wrote {} files and the report into {}", report.outputs.len(), out.display());
    Ok(())
}
