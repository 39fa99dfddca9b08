//! `mflow`: intrinsic dimension and manifold flows on your own data files.

use clap::{Parser, Subcommand};

/// Intrinsic dimension and manifold flows on your own data files.
#[derive(Parser, Debug)]
#[command(name = "mflow", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the version of every library crate this binary is built from.
    Version,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Version => println!("mflow {}", env!("CARGO_PKG_VERSION")),
    }
    Ok(())
}
