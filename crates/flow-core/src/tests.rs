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

fn random_layer(store: &mut ParamStore, rng: &mut ChaCha8Rng, d: usize, k: usize) -> Box<dyn Layer> {
    match rng.random_range(0..6) {
        0 => Box::new(Permutation::random(d, rng)),
        1 => Box::new(Permutation::reverse(d)),
        2 => Box::new(ActNorm::new(store, &format!("layer.{k}"), d).unwrap()),
        3 => Box::new(LuLinear::new(store, &format!("layer.{k}"), d, LuInit::RandomOrthogonal, rng).unwrap()),
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
    fn actnorm_passes_the_identity_checks(seed in any::<u64>(), d in 1usize..7, n in 1usize..6) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut store = ParamStore::new();
        let layer = ActNorm::new(&mut store, "norm", d).unwrap();
        perturb(&mut store, &mut rng, 1.0);
        let x = random_batch(&mut rng, n, d);
        prop_assert!(!layer.is_volume_preserving());
        check_bijector(&layer, &store, x.as_ref(), Tolerances::default()).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn lu_linear_passes_the_identity_checks(seed in any::<u64>(), d in 1usize..7, random_params in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut store = ParamStore::new();
        let layer = LuLinear::new(&mut store, "lu", d, LuInit::RandomOrthogonal, &mut rng).unwrap();
        if random_params {
            perturb(&mut store, &mut rng, 0.7);
        }
        let x = random_batch(&mut rng, 4, d);
        check_bijector(&layer, &store, x.as_ref(), Tolerances::default()).map_err(TestCaseError::fail)?;
        // z = x W^T with W = P L (U + diag(sign exp(log_abs_s))) built independently.
        let w = lu_weight_by_hand(&layer, &store);
        let (z, ld) = testing::apply(&layer, &store, x.as_ref(), false, autodiff_lite::GradMode::NoGrad);
        let expected = &x * w.transpose();
        prop_assert!((&z - &expected).norm_max() <= 1e-12 * (1.0 + expected.norm_max()));
        prop_assert!((&layer.weight(&store) - &w).norm_max() <= 1e-14 * (1.0 + w.norm_max()));
        let log_det_w = testing::log_abs_det(w.as_ref());
        prop_assert!(ld.iter().all(|&l| (l - log_det_w).abs() <= 1e-10 * (1.0 + log_det_w.abs())));
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

/// `W = P L (U + diag(sign * exp(log_abs_s)))` from the stored parameters, with plain loops.
fn lu_weight_by_hand(layer: &LuLinear, store: &ParamStore) -> Mat<f64> {
    let [lower, upper, log_abs_s] = layer.params()[..] else { panic!("three parameters") };
    let (lo, up, s) = (store.value(lower), store.value(upper), store.value(log_abs_s));
    let d = layer.dim();
    let l = Mat::from_fn(d, d, |i, j| {
        if i > j {
            lo[(i, j)]
        } else if i == j {
            1.0
        } else {
            0.0
        }
    });
    let r = Mat::from_fn(d, d, |i, j| {
        if i < j {
            up[(i, j)]
        } else if i == j {
            layer.signs()[i] * s[(0, i)].exp()
        } else {
            0.0
        }
    });
    let m = &l * &r;
    Mat::from_fn(d, d, |i, j| m[(layer.perm()[i], j)])
}

#[test]
fn lu_linear_starts_as_a_random_rotation_or_the_identity() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut store = ParamStore::new();
    for d in [1, 2, 7, 20] {
        let layer = LuLinear::new(&mut store, &format!("rot{d}"), d, LuInit::RandomOrthogonal, &mut rng).unwrap();
        let w = layer.weight(&store);
        let wtw = w.transpose() * &w;
        assert!((&wtw - Mat::<f64>::identity(d, d)).norm_max() < 1e-12, "W^T W != I for d = {d}");
        let x = random_batch(&mut rng, 3, d);
        let (_, ld) = testing::apply(&layer, &store, x.as_ref(), false, autodiff_lite::GradMode::NoGrad);
        assert!(ld.iter().all(|l| l.abs() < 1e-12), "log|det| of a rotation: {ld:?}");
        let layer = LuLinear::new(&mut store, &format!("id{d}"), d, LuInit::Identity, &mut rng).unwrap();
        let (z, ld) = testing::apply(&layer, &store, x.as_ref(), false, autodiff_lite::GradMode::NoGrad);
        assert_eq!(z, x);
        assert!(ld.iter().all(|&l| l == 0.0));
    }
    // Seeded: the same seed gives the same layer.
    let draw = |seed| {
        let mut store = ParamStore::new();
        let layer =
            LuLinear::new(&mut store, "lu", 6, LuInit::RandomOrthogonal, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        layer.weight(&store)
    };
    assert_eq!(draw(9), draw(9));
    assert_ne!(draw(9), draw(10));
}

#[test]
fn lu_linear_gradients_ignore_the_masked_entries() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut store = ParamStore::new();
    let layer = LuLinear::new(&mut store, "lu", 4, LuInit::RandomOrthogonal, &mut rng).unwrap();
    let x = random_batch(&mut rng, 5, 4);
    for inverse in [false, true] {
        store.zero_grads();
        let mut tape = autodiff_lite::Tape::new();
        let v = tape.leaf(x.as_ref());
        let (out, ld) = if inverse { layer.inverse(&mut tape, &store, v) } else { layer.forward(&mut tape, &store, v) };
        let sq = tape.square(out);
        let mut loss = tape.sum(sq);
        if let LogDet::PerSample(ld) = ld {
            let s = tape.sum(ld);
            loss = tape.add(loss, s);
        }
        tape.backward(loss, &mut store);
        let [lower, upper, _] = layer.params()[..] else { panic!("three parameters") };
        let (gl, gu) = (store.grad(lower), store.grad(upper));
        for i in 0..4 {
            for j in 0..4 {
                if i <= j {
                    assert_eq!(gl[(i, j)], 0.0);
                }
                if i >= j {
                    assert_eq!(gu[(i, j)], 0.0);
                }
            }
        }
        assert!(gl.norm_max() > 0.0 && gu.norm_max() > 0.0);
    }
}

#[test]
fn lu_linear_gradients_match_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut store = ParamStore::new();
    let layer = LuLinear::new(&mut store, "lu", 3, LuInit::RandomOrthogonal, &mut rng).unwrap();
    perturb(&mut store, &mut rng, 0.5);
    let x = random_batch(&mut rng, 4, 3);
    for inverse in [false, true] {
        let loss = |tape: &mut autodiff_lite::Tape, store: &ParamStore| {
            let v = tape.leaf(x.as_ref());
            let (out, ld) = if inverse { layer.inverse(tape, store, v) } else { layer.forward(tape, store, v) };
            let sq = tape.square(out);
            let total = tape.sum(sq);
            match ld {
                LogDet::PerSample(ld) => {
                    let s = tape.sum(ld);
                    tape.add(total, s)
                }
                LogDet::Zero => total,
            }
        };
        let check = autodiff_lite::check_param_gradients(&mut store, 1e-6, loss);
        assert!(check.max_rel_error() < 1e-6, "inverse = {inverse}: {:?}", check.rel_errors);
    }
}

#[test]
fn actnorm_initialises_to_zero_mean_and_unit_variance() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut store = ParamStore::new();
    let d = 5;
    let layer = ActNorm::new(&mut store, "norm", d).unwrap();
    // Columns with different offsets and spreads; column 3 constant, column 4 has one value.
    let n = 200;
    let mut x = Mat::from_fn(n, d, |_, j| 10.0 * j as f64 - 7.0 + (j as f64 + 0.5) * rng.random_range(-3.0..3.0));
    x.col_mut(3).fill(4.25);
    let mut flow = Flow::new(d);
    flow.push(layer.clone()).unwrap();
    // Identity before initialisation.
    assert_eq!(flow.encode(&store, x.as_ref()).0, x);
    flow.init_from_data(&mut store, x.as_ref());
    let (z, ld) = flow.encode(&store, x.as_ref());
    for j in 0..d {
        let mean = z.col(j).iter().sum::<f64>() / n as f64;
        let var = z.col(j).iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 1e-12, "column {j}: mean {mean}");
        let want = if j == 3 { 0.0 } else { 1.0 };
        assert!((var - want).abs() < 1e-12, "column {j}: variance {var}");
    }
    let log_scale = store.value(layer.log_scale());
    let expected_ld: f64 = (0..d).map(|j| log_scale[(0, j)]).sum();
    assert!(ld.iter().all(|&l| l == expected_ld));
    assert_eq!(log_scale[(0, 3)], 0.0);
    assert!(store.value(layer.bias()).is_all_finite());
    // An empty batch and a non-finite column leave the parameters unchanged.
    let before = store.clone();
    layer.init_from_data(&mut store, Mat::<f64>::zeros(0, d).as_ref());
    x[(0, 1)] = f64::NAN;
    layer.init_from_data(&mut store, x.as_ref());
    assert_eq!(store.value(layer.log_scale())[(0, 1)], before.value(layer.log_scale())[(0, 1)]);
    assert_eq!(store.value(layer.bias())[(0, 1)], before.value(layer.bias())[(0, 1)]);
    assert_eq!(store.value(layer.bias()).ncols(), d);
}

#[test]
fn actnorm_inside_a_flow_initialises_on_the_transformed_batch() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut store = ParamStore::new();
    let d = 3;
    let mut flow = Flow::new(d);
    flow.push(LuLinear::new(&mut store, "lu", d, LuInit::RandomOrthogonal, &mut rng).unwrap()).unwrap();
    flow.push(ActNorm::new(&mut store, "norm", d).unwrap()).unwrap();
    let x = Mat::from_fn(64, d, |_, j| 3.0 + (j as f64 + 1.0) * rng.random_range(-1.0..1.0));
    flow.init_from_data(&mut store, x.as_ref());
    let (z, _) = flow.encode(&store, x.as_ref());
    for j in 0..d {
        let mean = z.col(j).iter().sum::<f64>() / 64.0;
        let var = z.col(j).iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 64.0;
        assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12, "column {j}: mean {mean}, variance {var}");
    }
}

#[test]
fn invalid_actnorm_and_lu_descriptions_are_errors() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut store = ParamStore::new();
    assert!(matches!(ActNorm::new(&mut store, "a", 0), Err(FlowError::Config(_))));
    assert!(matches!(LuLinear::new(&mut store, "b", 0, LuInit::Identity, &mut rng), Err(FlowError::Config(_))));
    let lu = LuLinear::new(&mut store, "lu", 3, LuInit::Identity, &mut rng).unwrap();
    let attach = |perm: Vec<usize>, signs: Vec<f64>| {
        LayerSpec::LuLinear { prefix: "lu".into(), dim: 3, perm, signs }.attach(&store).map(|_| ())
    };
    assert!(attach(lu.perm().to_vec(), lu.signs().to_vec()).is_ok());
    assert!(matches!(attach(vec![0, 1, 1], vec![1.0; 3]), Err(FlowError::Config(_))));
    assert!(matches!(attach(vec![0, 1], vec![1.0; 3]), Err(FlowError::Config(_))));
    assert!(matches!(attach(vec![0, 1, 2], vec![1.0, 0.5, -1.0]), Err(FlowError::Config(_))));
    let wrong_dim = LayerSpec::LuLinear { prefix: "lu".into(), dim: 2, perm: vec![0, 1], signs: vec![1.0; 2] };
    assert!(matches!(
        wrong_dim.attach(&store),
        Err(FlowError::Param(autodiff_lite::ParamError::Shape { name, expected: (2, 2), found: (3, 3) })) if name == "lu.lower"
    ));
    let missing = LayerSpec::ActNorm { prefix: "nope".into(), dim: 3 };
    assert!(matches!(
        missing.attach(&store),
        Err(FlowError::Param(autodiff_lite::ParamError::Missing { name })) if name == "nope.log_scale"
    ));
}
