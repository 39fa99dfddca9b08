//! `repro`: runs one experiment (normally through `cargo xtask reproduce <name>`).

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).context("usage: repro <experiment> [flags]")?;
    match repro::find(&name) {
        Some(info) if info.typical_time.is_some() => unreachable!("dispatched below"),
        Some(info) => bail!("experiment '{}' ({}) is not implemented yet", info.name, info.summary),
        None => bail!("unknown experiment '{name}'; `cargo xtask reproduce --list` lists them"),
    }
}
