//! Image layers: the squeeze's channel order, the identities of every bijector (round trip,
//! exact zero log-det, unit Jacobian determinant), gradient checks of the convolutional
//! coupling, and save/load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use autodiff_lite::{GradMode, ParamStore, Tape, check_param_gradients};
use faer::Mat;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::Flow;
use crate::testing::{Tolerances, apply, check_bijector};

fn config(cases: u32) -> Config {
    Config { cases, rng_algorithm: RngAlgorithm::ChaCha, rng_seed: RngSeed::Fixed(0x1a6e), ..Config::default() }
}

fn random_batch(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Mat<f64> {
    Mat::from_fn(n, d, |_, _| rng.random_range(-1.0..1.0))
}

#[test]
fn squeeze_puts_each_2x2_block_into_channels_in_the_papers_order() {
    // One channel, 4 x 4, pixel value = its column index.
    let shape = ImageShape::new(1, 4, 4);
    let (perm, out) = squeeze_2x2(shape).unwrap();
    assert_eq!(out, ImageShape::new(4, 2, 2));
    let x = Mat::from_fn(1, 16, |_, j| j as f64);
    let store = ParamStore::new();
    let (z, _) = apply(&perm, &store, x.as_ref(), false, GradMode::NoGrad);
    // Output channel (dy 2 + dx) at pixel (i, j) = input pixel (2i + dy, 2j + dx).
    for dy in 0..2 {
        for dx in 0..2 {
            for i in 0..2 {
                for j in 0..2 {
                    let co = dy * 2 + dx;
                    assert_eq!(z[(0, (co * 2 + i) * 2 + j)], ((2 * i + dy) * 4 + 2 * j + dx) as f64);
                }
            }
        }
    }
    // With C channels the block offset comes first: channel (dy 2 + dx) C + c.
    let (perm, _) = squeeze_2x2(ImageShape::new(3, 2, 2)).unwrap();
    let x = Mat::from_fn(1, 12, |_, j| j as f64);
    let (z, _) = apply(&perm, &store, x.as_ref(), false, GradMode::NoGrad);
    // Input channel c, pixel (dy, dx) has value c 4 + dy 2 + dx; output column (dy 2 + dx) 3 + c.
    for c in 0..3 {
        for b in 0..4 {
            assert_eq!(z[(0, b * 3 + c)], (c * 4 + b) as f64);
        }
    }
    assert!(squeeze_2x2(ImageShape::new(1, 3, 4)).is_err());
}

#[test]
fn channel_permutation_moves_whole_channels() {
    let shape = ImageShape::new(3, 1, 2);
    let perm = channel_permutation(&[2, 0, 1], shape).unwrap();
    assert_eq!(perm.as_slice(), &[4, 5, 0, 1, 2, 3]);
    assert!(channel_permutation(&[0, 0, 1], shape).is_err());
    assert!(channel_permutation(&[0, 1], shape).is_err());
}

#[test]
fn conv_coupling_parameter_count_matches_the_paper() {
    // conv3x3(2 -> 16) + conv1x1(16 -> 16) + conv3x3(16 -> 4) = 304 + 272 + 580.
    assert_eq!(ConvCouplingConfig::paper(ImageShape::new(4, 16, 16)).n_params(), 1156);
    assert_eq!(ConvCouplingConfig::paper(ImageShape::new(16, 8, 8)).n_params(), 3760);
    let mut store = ParamStore::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let layer =
        ConvCoupling::new(&mut store, "c", ConvCouplingConfig::paper(ImageShape::new(4, 4, 4)), &mut rng).unwrap();
    assert_eq!(store.n_scalars(), 1156);
    assert_eq!(layer.params().len(), 6);
    // PyTorch's default bounds: 1/sqrt(fan_in) with fan_in = C_in k^2.
    let w0 = store.value(store.get("c.conv0.weight").unwrap());
    assert!(w0.norm_max() <= 1.0 / 18f64.sqrt());
    assert!(ConvCoupling::new(&mut store, "d", ConvCouplingConfig::paper(ImageShape::new(3, 4, 4)), &mut rng).is_err());
}

/// A small image flow with the paper's structure: squeeze, conv couplings with channel
/// permutations, squeeze, conv coupling, flatten (no-op).
fn small_image_flow(store: &mut ParamStore, rng: &mut ChaCha8Rng) -> Flow {
    let shape = ImageShape::new(1, 4, 4);
    let mut flow = Flow::new(shape.len());
    let (sq, s1) = squeeze_2x2(shape).unwrap();
    flow.push(sq).unwrap();
    flow.push(ConvCoupling::new(store, "a", ConvCouplingConfig::paper(s1), rng).unwrap()).unwrap();
    flow.push(random_channel_permutation(s1, rng).unwrap()).unwrap();
    flow.push(ConvCoupling::new(store, "b", ConvCouplingConfig::paper(s1), rng).unwrap()).unwrap();
    let (sq, s2) = squeeze_2x2(s1).unwrap();
    flow.push(sq).unwrap();
    flow.push(
        ConvCoupling::new(store, "c", ConvCouplingConfig { hidden: 4, ..ConvCouplingConfig::paper(s2) }, rng).unwrap(),
    )
    .unwrap();
    flow
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn conv_coupling_is_an_exactly_volume_preserving_bijection(seed in any::<u64>(), n in 1usize..4, side in 1usize..4) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut store = ParamStore::new();
        let shape = ImageShape::new(4, side, side + 1);
        let layer = ConvCoupling::new(&mut store, "c", ConvCouplingConfig::paper(shape), &mut rng).unwrap();
        let x = random_batch(&mut rng, n, shape.len());
        check_bijector(&layer, &store, x.as_ref(), Tolerances::default()).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn image_flow_is_an_exactly_volume_preserving_bijection(seed in any::<u64>(), n in 1usize..4) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut store = ParamStore::new();
        let flow = small_image_flow(&mut store, &mut rng);
        prop_assert!(flow.is_volume_preserving());
        let x = random_batch(&mut rng, n, 16);
        // The composition has hundreds of LeakyReLU units; a central difference of step h is
        // wrong whenever a pre-activation lies within h of its kink, which at the default
        // h = 1e-5 happens in a few percent of rows (each layer alone passes the default
        // check above). A step of 1e-6 makes that rare; its rounding error (~1e-16 / 1e-6 per
        // Jacobian entry, measured |det J| - 1 up to 3e-10) sets the unit-determinant bound.
        let tol = Tolerances { fd_step: 1e-6, unit_det: 1e-8, ..Tolerances::default() };
        check_bijector(&flow, &store, x.as_ref(), tol).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn conv_coupling_parameter_gradients_match_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut store = ParamStore::new();
    let shape = ImageShape::new(4, 3, 3);
    let layer = ConvCoupling::new(&mut store, "c", ConvCouplingConfig::paper(shape), &mut rng).unwrap();
    let x = random_batch(&mut rng, 2, shape.len());
    let weights = random_batch(&mut rng, 2, shape.len());
    for inverse in [false, true] {
        let check = check_param_gradients(&mut store, 1e-6, |tape: &mut Tape, store: &ParamStore| {
            let xv = tape.leaf(x.as_ref());
            let (z, _) = if inverse { layer.inverse(tape, store, xv) } else { layer.forward(tape, store, xv) };
            let w = tape.leaf(weights.as_ref());
            let p = tape.mul(z, w);
            tape.sum(p)
        });
        assert!(check.max_rel_error() < 1e-6, "inverse = {inverse}: {}", check.max_rel_error());
    }
}

#[cfg(feature = "io")]
#[test]
fn image_flow_saves_and_loads() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut store = ParamStore::new();
    let flow = small_image_flow(&mut store, &mut rng);
    let dir = tempfile::tempdir().unwrap();
    crate::io::save_flow(dir.path(), &flow, &store).unwrap();
    let (loaded, loaded_store) = crate::io::load_flow(dir.path()).unwrap();
    let x = random_batch(&mut rng, 3, 16);
    let (z, _) = flow.encode(&store, x.as_ref());
    let (z2, _) = loaded.encode(&loaded_store, x.as_ref());
    assert_eq!(z, z2);
}
