//! Property tests: every layer and random compositions pass the identity checks of
//! [`crate::testing`]; parameter counts match the paper's architectures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use autodiff_lite::ParamStore;
use faer::Mat;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::testing::{Tolerances, check_bijector};
use crate::*;

fn config(cases: u32) -> Config {
    Config { cases, rng_algorithm: RngAlgorithm::ChaCha, rng_seed: RngSeed::Fixed(0xf10f), ..Config::default() }
}

fn random_batch(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Mat<f64> {
    Mat::from_fn(n, d, |_, _| rng.random_range(-2.0..2.0))
}

/// Randomise every parameter (so zero-initialised layers are not trivially the identity).
fn perturb(store: &mut ParamStore, rng: &mut ChaCha8Rng, scale: f64) {
    let ids: Vec<_> = store.ids().collect();
    for id in ids {
        let v = store.value_mut(id);
        for j in 0..v.ncols() {
            for i in 0..v.nrows() {
                v[(i, j)] = rng.random_range(-scale..scale);
            }
        }
    }
}

const TRANSFORMS: [CouplingTransform; 5] = [
    CouplingTransform::Additive,
    CouplingTransform::Affine(LogScale::Raw),
    CouplingTransform::Affine(LogScale::Tanh),
    CouplingTransform::Affine(LogScale::MeanCentred),
    CouplingTransform::Affine(LogScale::TanhMeanCentred),
];

const ACTIVATIONS: [Activation; 3] = [Activation::Relu, Activation::LeakyRelu(0.2), Activation::Tanh];

fn random_layer(store: &mut ParamStore, rng: &mut ChaCha8Rng, d: usize, k: usize) -> Box<dyn Bijector> {
    match rng.random_range(0..4) {
        0 => Box::new(Permutation::random(d, rng)),
        1 => Box::new(Permutation::reverse(d)),
        _ => {
            let transform = TRANSFORMS[rng.random_range(0..TRANSFORMS.len())];
            let activation = ACTIVATIONS[rng.random_range(0..ACTIVATIONS.len())];
            let split = if rng.random::<bool>() {
                Split::Halves(Parity::alternating(k))
            } else {
                let mut mask: Vec<bool> = (0..d).map(|_| rng.random::<bool>()).collect();
                mask[0] = true;
                mask[d - 1] = false;
                Split::Mask(mask)
            };
            let config = CouplingConfig {
                dim: d,
                split,
                transform,
                hidden: vec![8, 8],
                activation,
                last_layer: LastLayerInit::Default,
            };
            Box::new(Coupling::new(store, &format!("layer.{k}"), config, rng).unwrap())
        }
    }
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn every_coupling_passes_the_identity_checks(seed in any::<u64>(), d in 2usize..6, t in 0usize..5, a in 0usize..3, odd in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut store = ParamStore::new();
        let parity = if odd { Parity::Odd } else { Parity::Even };
        let config = CouplingConfig::halves(d, parity, TRANSFORMS[t], &[8, 8], ACTIVATIONS[a]);
        let layer = Coupling::new(&mut store, "c", config, &mut rng).unwrap();
        perturb(&mut store, &mut rng, 0.7);
        let x = random_batch(&mut rng, 4, d);
        prop_assert_eq!(layer.is_volume_preserving(), !matches!(TRANSFORMS[t], CouplingTransform::Affine(LogScale::Raw | LogScale::Tanh)));
        check_bijector(&layer, &store, x.as_ref(), Tolerances::default()).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn masked_couplings_and_permutations_pass_the_identity_checks(seed in any::<u64>(), d in 2usize..7) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut store = ParamStore::new();
        let mut mask: Vec<bool> = (0..d).map(|_| rng.random::<bool>()).collect();
        mask[d / 2] = !mask[0];
        let config = CouplingConfig { dim: d, split: Split::Mask(mask), transform: CouplingTransform::Affine(LogScale::Tanh), hidden: vec![6], activation: Activation::Tanh, last_layer: LastLayerInit::Default };
        let layer = Coupling::new(&mut store, "m", config, &mut rng).unwrap();
        let x = random_batch(&mut rng, 3, d);
        check_bijector(&layer, &store, x.as_ref(), Tolerances::default()).map_err(TestCaseError::fail)?;
        for p in [Permutation::reverse(d), Permutation::random(d, &mut rng)] {
            check_bijector(&p, &store, x.as_ref(), Tolerances::default()).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn random_compositions_pass_the_identity_checks(seed in any::<u64>(), d in 2usize..6, depth in 1usize..6) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut store = ParamStore::new();
        let mut flow = Flow::new(d);
        for k in 0..depth {
            let layer = random_layer(&mut store, &mut rng, d, k);
            flow.push_boxed(layer).unwrap();
        }
        perturb(&mut store, &mut rng, 0.5);
        let x = random_batch(&mut rng, 3, d);
        check_bijector(&flow, &store, x.as_ref(), Tolerances::default()).map_err(TestCaseError::fail)?;
        // The architecture rebuilds the same function from the same parameters.
        let rebuilt = Flow::from_spec(&flow.architecture(), &store).unwrap();
        prop_assert_eq!(flow.encode(&store, x.as_ref()).0, rebuilt.encode(&store, x.as_ref()).0);
    }
}

#[test]
fn a_zero_initialised_coupling_starts_as_the_identity() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut store = ParamStore::new();
    let mut config =
        CouplingConfig::halves(3, Parity::Even, CouplingTransform::Affine(LogScale::Raw), &[5], Activation::Relu);
    config.last_layer = LastLayerInit::Zero;
    let layer = Coupling::new(&mut store, "c", config, &mut rng).unwrap();
    let mut flow = Flow::new(3);
    flow.push(layer).unwrap();
    let x = random_batch(&mut rng, 5, 3);
    let (z, ld) = flow.encode(&store, x.as_ref());
    assert_eq!(z, x);
    assert!(ld.iter().all(|&l| l == 0.0));
}

#[test]
fn parameter_counts_match_the_paper_architectures() {
    // fig1 spread flow: 4 additive couplings, shift nets 1 -> 24 -> 24 -> 24 -> 1.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut store = ParamStore::new();
    let mut flow = Flow::new(2);
    for k in 0..4 {
        let config = CouplingConfig::halves(
            2,
            Parity::alternating(k),
            CouplingTransform::Additive,
            &[24, 24, 24],
            Activation::LeakyRelu(0.2),
        );
        flow.push(Coupling::new(&mut store, &format!("coupling.{k}"), config, &mut rng).unwrap()).unwrap();
    }
    // per net: 2*24 + 25*24 + 25*24 + 25*1 = 1273
    assert_eq!(flow.n_params(&store), 4 * 1273);
    // The MLP affine coupling of fading squares: s and t nets 512 -> 24 -> 24 -> 24 -> 512.
    let mlp = MlpConfig::new(512, &[24, 24, 24], 512, Activation::LeakyRelu(0.2));
    assert_eq!(mlp.n_params(), 513 * 24 + 25 * 24 * 2 + 25 * 512);
}

#[test]
fn invalid_configurations_are_errors() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut store = ParamStore::new();
    let bad_dim = CouplingConfig::halves(1, Parity::Even, CouplingTransform::Additive, &[4], Activation::Relu);
    assert!(matches!(Coupling::new(&mut store, "a", bad_dim, &mut rng), Err(FlowError::Config(_))));
    let mut bad_mask = CouplingConfig::halves(3, Parity::Even, CouplingTransform::Additive, &[4], Activation::Relu);
    bad_mask.split = Split::Mask(vec![true, true, true]);
    assert!(matches!(Coupling::new(&mut store, "b", bad_mask, &mut rng), Err(FlowError::Config(_))));
    assert!(matches!(Permutation::new(vec![0, 0, 1]), Err(FlowError::Config(_))));
    let mut flow = Flow::new(3);
    assert!(matches!(flow.push(Permutation::reverse(2)), Err(FlowError::Config(_))));
}
