//! Exploration of the flow estimator's spectra (tuning on data sets that are not judged).
//! `id_explore FILE|warped-K-in-D STEPS S1[,S2..] MEMBERS PDIM [N NOISE GSEED]`
//! Prints one JSON line per (s, member): the encoded data's spectrum.
//! Wrote docs/results/id-compare/tuning/spectra.jsonl (the choice of the ensemble's settings).
#![allow(clippy::unwrap_used, missing_docs)]

use faer::Mat;
use manifold_prior::{
    DataSource, ReadoffConfig, ScalingMode, Silent, SpreadConfig, SpreadNoise, SpreadPlacement, Standardizer,
    TrainConfig, covariance, spread_preset, train,
};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let steps: usize = a[2].parse().unwrap();
    let ss: Vec<f64> = a[3].split(',').map(|v| v.parse().unwrap()).collect();
    let members: u64 = a[4].parse().unwrap();
    let pdim: usize = a[5].parse().unwrap();
    let data = if a[1].starts_with("warped-") {
        let m = datasets::Manifold::from_name(&a[1]).unwrap();
        let n: usize = a[6].parse().unwrap();
        let noise: f64 = a[7].parse().unwrap();
        let gseed: u64 = a[8].parse().unwrap();
        m.generate(&datasets::GenerateOptions::new(n, gseed).noise(noise)).data
    } else {
        datasets::load(&a[1]).unwrap().data
    };
    // PCA projection to pdim leading components.
    let (n, d) = (data.nrows(), data.ncols());
    let p = pdim.min(d);
    let t0 = std::time::Instant::now();
    let x = if p < d {
        let cov = covariance(data.as_ref());
        let spec = manifold_prior::Spectrum::of(cov.as_ref()).unwrap();
        let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| data[(i, j)]).sum::<f64>() / n as f64).collect();
        let c = Mat::from_fn(n, d, |i, j| data[(i, j)] - mean[j]);
        &c * spec.vectors.subcols(0, p)
    } else {
        data.clone()
    };
    let pca = manifold_prior::Spectrum::of(covariance(x.as_ref()).as_ref()).unwrap().values;
    eprintln!("pca {:.2}s", t0.elapsed().as_secs_f64());
    for &s in &ss {
        for m in 0..members {
            let t = std::time::Instant::now();
            let scaler = Standardizer::fit(x.as_ref(), ScalingMode::Global);
            let spread =
                SpreadConfig { spread: s, spread_noise: SpreadNoise::Random, placement: SpreadPlacement::Data };
            let mut model = spread_preset(p, 6, m, spread, scaler).unwrap();
            let cfg = TrainConfig::paper_fig1().with_steps(steps).with_seed(m);
            train(&mut model, DataSource::Fixed(x.as_ref()), &cfg, &mut Silent).unwrap();
            let id = model.intrinsic_dimension(x.as_ref(), ReadoffConfig::default()).unwrap();
            let tot: f64 = pca.iter().sum();
            let pcan: Vec<f64> = pca.iter().map(|v| v / tot).collect();
            println!(
                "{}",
                serde_json::json!({"file": a[1], "s": s, "member": m, "steps": steps, "secs": t.elapsed().as_secs_f64(),
                    "spectrum": id.data_eigenvalues, "prior": id.ema_prior_eigenvalues, "pca": pcan})
            );
        }
    }
}
