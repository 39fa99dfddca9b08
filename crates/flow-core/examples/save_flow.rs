//! Build a small flow with every layer kind, save it, and print how to read it from Python.
//!
//! `cargo run -p flow-core --example save_flow -- <dir>` writes `<dir>/flow.json` and
//! `<dir>/weights.safetensors`, then `<dir>/encoded.csv`: the encoding of four fixed points,
//! so that a Python reimplementation can be checked against it.

use std::fmt::Write as _;

use autodiff_lite::ParamStore;
use flow_core::{
    ActNorm, Activation, Bijector, Coupling, CouplingConfig, CouplingTransform, Flow, LogScale, LuInit, LuLinear,
    Parity, io,
};
use rand::SeedableRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: save_flow <dir>")?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut store = ParamStore::new();
    let d = 3;
    let mut flow = Flow::new(d);
    flow.push(ActNorm::new(&mut store, "norm.0", d)?)?;
    flow.push(LuLinear::new(&mut store, "lu.0", d, LuInit::RandomOrthogonal, &mut rng)?)?;
    let config =
        CouplingConfig::halves(d, Parity::Even, CouplingTransform::Affine(LogScale::Tanh), &[8], Activation::Tanh);
    flow.push(Coupling::new(&mut store, "coupling.0", config, &mut rng)?)?;
    let x = faer::mat![[0.5, -1.0, 2.0], [0.0, 0.25, -0.75], [1.5, 1.0, 0.0], [-2.0, 0.5, 0.125]];
    flow.init_from_data(&mut store, x.as_ref());
    io::save_flow(&dir, &flow, &store)?;
    let (z, _) = flow.encode(&store, x.as_ref());
    let mut csv = String::new();
    for i in 0..z.nrows() {
        let row: Vec<String> = (0..d).map(|j| format!("{:e}", z[(i, j)])).collect();
        writeln!(csv, "{}", row.join(","))?;
    }
    std::fs::write(std::path::Path::new(&dir).join("encoded.csv"), csv)?;
    println!("saved {} parameters ({} scalars) to {dir}", flow.params().len(), flow.n_params(&store));
    println!("python: from safetensors.numpy import load_file; w = load_file('{dir}/{}')", io::WEIGHTS_FILE);
    Ok(())
}
