//! The intrinsic dimension of the paper's sine curve `x2 = sin(2 x1)` (a 1-D manifold in
//! R^2, here rotated into R^5) by the Levina-Bickel MLE and TwoNN, with
//! scikit-dimension's defaults: what a user who adds `intrinsic-dim` and `datasets` to their
//! own project writes.

use datasets::{GenerateOptions, Manifold};
use intrinsic_dim::{Estimator, KnnGraph, Mle, TwoNn};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sine = Manifold::from_name("sine")?;
    let ds = sine.generate(&GenerateOptions::new(2_000, 0).embed(5));
    println!(
        "{}: {} points in R^{}, intrinsic dimension {:?}",
        ds.name,
        ds.len(),
        ds.ambient_dim(),
        ds.intrinsic_dim
    );

    // One exact neighbour graph (20 neighbours: MLE's default k) serves both estimators.
    let graph = KnnGraph::build(ds.data.as_ref(), 20)?;
    let mle = Mle::default().estimate_with_graph(ds.data.as_ref(), &graph)?;
    let twonn = TwoNn::default().estimate_with_graph(ds.data.as_ref(), &graph)?;
    println!("MLE (k = 20):   {:.3}", mle.dimension);
    println!("TwoNN:          {:.3}", twonn.dimension);
    Ok(())
}
