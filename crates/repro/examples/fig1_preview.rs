//! Render the fig1 figures and CSVs from synthetic inputs, without training:
//! `cargo run -p repro --example fig1_preview -- [OUT_DIR] [SEED]` (default `results/fig1-preview`).

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "results/fig1-preview".into()));
    let seed = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0);
    let (panels, trajectory) = repro::fig1::synthetic::inputs(seed);
    let written = repro::fig1::write_outputs(&out, &panels, &trajectory)?;
    println!("wrote {} files into {}", written.len(), out.display());
    Ok(())
}
