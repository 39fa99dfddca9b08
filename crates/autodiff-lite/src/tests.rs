//! Tests of the tape: every op's reverse pass against central differences (proptest over
//! seeded shapes and values), the fused Gaussian op against the generic path, optimiser
//! trajectories, no-grad equivalence, buffer reuse and misuse messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use faer::Mat;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::*;

/// Deterministic proptest configuration: fixed seed so a red CI is reproducible.
fn config(cases: u32) -> Config {
    Config { cases, rng_algorithm: RngAlgorithm::ChaCha, rng_seed: RngSeed::Fixed(0x5eed), ..Config::default() }
}

fn random_mat(rng: &mut ChaCha8Rng, r: usize, c: usize, lo: f64, hi: f64) -> Mat<f64> {
    Mat::from_fn(r, c, |_, _| rng.random_range(lo..hi))
}

/// Entries in `[lo, hi]` with magnitude at least `gap` (away from the kinks of relu).
fn away_from_zero(rng: &mut ChaCha8Rng, r: usize, c: usize, gap: f64) -> Mat<f64> {
    Mat::from_fn(r, c, |_, _| {
        let x: f64 = rng.random_range(gap..2.0);
        if rng.random::<bool>() { x } else { -x }
    })
}

fn spd(rng: &mut ChaCha8Rng, n: usize) -> Mat<f64> {
    let b = random_mat(rng, n, n, -1.0, 1.0);
    let mut s = &b * b.transpose() * faer::Scale(1.0 / n as f64);
    for i in 0..n {
        s[(i, i)] += 1.0;
    }
    s
}

const TOL: f64 = 1e-6;

/// A fixed random weighting so that `sum(w * f(x))` checks every output entry.
pub(crate) fn weighted_sum(t: &mut Tape, v: Var, seed: u64) -> Var {
    let (r, c) = t.shape(v);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = t.leaf_from_fn(r, c, |_, _| rng.random_range(-1.0..1.0));
    let p = t.mul(v, w);
    t.sum(p)
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn unary_ops_match_finite_differences(seed in any::<u64>(), r in 1usize..5, c in 1usize..5) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = away_from_zero(&mut rng, r, c, 0.1);
        let pos = random_mat(&mut rng, r, c, 0.2, 2.0);
        type Op = fn(&mut Tape, Var) -> Var;
        let ops: [(&str, Op, bool); 12] = [
            ("neg", |t, v| t.neg(v), false),
            ("exp", |t, v| t.exp(v), false),
            ("log", |t, v| t.log(v), true),
            ("tanh", |t, v| t.tanh(v), false),
            ("sigmoid", |t, v| t.sigmoid(v), false),
            ("softplus", |t, v| t.softplus(v), false),
            ("relu", |t, v| t.relu(v), false),
            ("leaky_relu", |t, v| t.leaky_relu(v, 0.2), false),
            ("square", |t, v| t.square(v), false),
            ("sqrt", |t, v| t.sqrt(v), true),
            ("add_scalar", |t, v| t.add_scalar(v, 0.7), false),
            ("mul_scalar", |t, v| t.mul_scalar(v, -1.3), false),
        ];
        for (name, op, positive) in ops {
            let input = if positive { pos.clone() } else { x.clone() };
            let check = check_gradients(&[input], 1e-6, |t, v| {
                let y = op(t, v[0]);
                weighted_sum(t, y, seed)
            });
            prop_assert!(check.max_rel_error() < TOL, "{name}: rel error {}", check.max_rel_error());
        }
    }

    #[test]
    fn binary_ops_broadcast_and_match_finite_differences(seed in any::<u64>(), r in 2usize..5, c in 2usize..5, shape_b in 0usize..4, swap in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = random_mat(&mut rng, r, c, -2.0, 2.0);
        let (rb, cb) = [(r, c), (1, c), (r, 1), (1, 1)][shape_b];
        let b = random_mat(&mut rng, rb, cb, 0.5, 2.0);
        type Op = fn(&mut Tape, Var, Var) -> Var;
        let ops: [(&str, Op); 4] = [
            ("add", |t, x, y| t.add(x, y)),
            ("sub", |t, x, y| t.sub(x, y)),
            ("mul", |t, x, y| t.mul(x, y)),
            ("div", |t, x, y| t.div(x, y)),
        ];
        for (name, op) in ops {
            // `swap` puts the broadcast operand first (the numerator of div stays away from 0).
            let inputs = if swap && name != "div" { [b.clone(), a.clone()] } else { [a.clone(), b.clone()] };
            let check = check_gradients(&inputs, 1e-6, |t, v| {
                let y = op(t, v[0], v[1]);
                assert_eq!(t.shape(y), (r, c));
                weighted_sum(t, y, seed)
            });
            prop_assert!(check.max_rel_error() < TOL, "{name} with b {rb}x{cb}: rel error {}", check.max_rel_error());
        }
    }

    #[test]
    fn matmul_with_transposes_matches_finite_differences(seed in any::<u64>(), m in 1usize..5, k in 1usize..5, n in 1usize..5) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for (ta, tb) in [(Transpose::No, Transpose::No), (Transpose::Yes, Transpose::No), (Transpose::No, Transpose::Yes), (Transpose::Yes, Transpose::Yes)] {
            let a = if ta == Transpose::No { random_mat(&mut rng, m, k, -1.0, 1.0) } else { random_mat(&mut rng, k, m, -1.0, 1.0) };
            let b = if tb == Transpose::No { random_mat(&mut rng, k, n, -1.0, 1.0) } else { random_mat(&mut rng, n, k, -1.0, 1.0) };
            let check = check_gradients(&[a, b], 1e-6, |t, v| {
                let y = t.matmul_t(v[0], ta, v[1], tb);
                weighted_sum(t, y, seed)
            });
            prop_assert!(check.max_rel_error() < TOL, "matmul {ta:?} {tb:?}: {}", check.max_rel_error());
        }
        // x x^T uses one operand twice.
        let x = random_mat(&mut rng, m, k, -1.0, 1.0);
        let check = check_gradients(&[x], 1e-6, |t, v| {
            let y = t.matmul_t(v[0], Transpose::No, v[0], Transpose::Yes);
            weighted_sum(t, y, seed)
        });
        prop_assert!(check.max_rel_error() < TOL, "x x^T: {}", check.max_rel_error());
    }

    #[test]
    fn linear_matches_matmul_plus_bias_and_finite_differences(seed in any::<u64>(), n in 1usize..6, k in 1usize..5, m in 1usize..5) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = random_mat(&mut rng, n, k, -1.0, 1.0);
        let w = random_mat(&mut rng, k, m, -1.0, 1.0);
        let b = random_mat(&mut rng, 1, m, -1.0, 1.0);
        let inputs = [x, w, b];
        let check = check_gradients(&inputs, 1e-6, |t, v| {
            let y = t.linear(v[0], v[1], v[2]);
            weighted_sum(t, y, seed)
        });
        prop_assert!(check.max_rel_error() < TOL, "linear: {}", check.max_rel_error());
        // The fused op agrees with the unfused composition in value and in gradient.
        let generic = check_gradients(&inputs, 1e-6, |t, v| {
            let xw = t.matmul(v[0], v[1]);
            let y = t.add(xw, v[2]);
            weighted_sum(t, y, seed)
        });
        for (a, g) in check.analytic.iter().zip(&generic.analytic) {
            prop_assert!((a - g).norm_max() <= 1e-12 * (1.0 + g.norm_max()), "linear vs matmul + add");
        }
    }

    #[test]
    fn linear_act_matches_linear_then_activation_and_finite_differences(seed in any::<u64>(), n in 1usize..6, k in 1usize..5, m in 1usize..5) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Pre-activations away from the kinks: x w with w near a signed identity, plus b.
        let x = away_from_zero(&mut rng, n, k, 0.3);
        let w = Mat::from_fn(k, m, |i, j| if i == j % k { 1.0 } else { 0.02 * (i + 2 * j) as f64 / (k * m) as f64 });
        let b = random_mat(&mut rng, 1, m, -0.05, 0.05);
        let inputs = [x, w, b];
        type Unfused = fn(&mut Tape, Var) -> Var;
        let acts: [(Activation, Unfused); 5] = [
            (Activation::Identity, |_, v| v),
            (Activation::Relu, |t, v| t.relu(v)),
            (Activation::LeakyRelu(0.2), |t, v| t.leaky_relu(v, 0.2)),
            (Activation::LeakyRelu(-0.5), |t, v| t.leaky_relu(v, -0.5)),
            (Activation::Tanh, |t, v| t.tanh(v)),
        ];
        for (act, unfused) in acts {
            let fused = check_gradients(&inputs, 1e-6, |t, v| {
                let y = t.linear_act(v[0], v[1], v[2], act);
                weighted_sum(t, y, seed)
            });
            prop_assert!(fused.max_rel_error() < TOL, "linear_act {act:?}: {}", fused.max_rel_error());
            let generic = check_gradients(&inputs, 1e-6, |t, v| {
                let xw = t.matmul(v[0], v[1]);
                let y = t.add(xw, v[2]);
                let y = unfused(t, y);
                weighted_sum(t, y, seed)
            });
            for (a, g) in fused.analytic.iter().zip(&generic.analytic) {
                prop_assert!((a - g).norm_max() <= 1e-12 * (1.0 + g.norm_max()), "linear_act {act:?} vs unfused");
            }
        }
    }

    #[test]
    fn reductions_and_column_ops_match_finite_differences(seed in any::<u64>(), r in 1usize..5, c in 2usize..6) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = random_mat(&mut rng, r, c, -1.0, 1.0);
        let y = random_mat(&mut rng, r, 2, -1.0, 1.0);
        let mut perm: Vec<usize> = (0..c).collect();
        perm.reverse();
        perm.swap(0, c / 2);
        type Op = Box<dyn Fn(&mut Tape, Var, Var) -> Var>;
        let p2 = perm.clone();
        let ops: Vec<(&str, Op)> = vec![
            ("sum", Box::new(|t, x, _| t.sum(x))),
            ("mean", Box::new(|t, x, _| t.mean(x))),
            ("row_sum", Box::new(|t, x, _| t.row_sum(x))),
            ("row_mean", Box::new(|t, x, _| t.row_mean(x))),
            ("col_sum", Box::new(|t, x, _| t.col_sum(x))),
            ("col_mean", Box::new(|t, x, _| t.col_mean(x))),
            ("select_cols", Box::new(|t, x, _| t.select_cols(x, 1, 1))),
            ("concat_cols", Box::new(|t, x, y| t.concat_cols(x, y))),
            ("permute_cols", Box::new(move |t, x, _| t.permute_cols(x, &p2))),
            ("tril", Box::new(|t, x, _| t.tril(x))),
            ("transpose", Box::new(|t, x, _| t.transpose(x))),
            ("select+concat", Box::new(|t, x, _| {
                let a = t.select_cols(x, 0, 1);
                let b = t.select_cols(x, 1, 1);
                let e = t.exp(a);
                t.concat_cols(b, e)
            })),
        ];
        for (name, op) in ops {
            let check = check_gradients(&[x.clone(), y.clone()], 1e-6, |t, v| {
                let out = op(t, v[0], v[1]);
                weighted_sum(t, out, seed)
            });
            prop_assert!(check.max_rel_error() < TOL, "{name}: {}", check.max_rel_error());
        }
    }

    #[test]
    fn random_compositions_match_finite_differences(seed in any::<u64>(), n in 1usize..6, steps in 1usize..8) {
        // A random chain over a set of live values, mixing every op family.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = random_mat(&mut rng, n, 3, -1.0, 1.0);
        let w = random_mat(&mut rng, 3, 3, -1.0, 1.0);
        let b = random_mat(&mut rng, 1, 3, -1.0, 1.0);
        let choices: Vec<u32> = (0..steps).map(|_| rng.random_range(0..8)).collect();
        let check = check_gradients(&[x, w, b], 1e-6, |t, v| {
            let mut h = v[0];
            for &ch in &choices {
                h = match ch {
                    0 => t.matmul(h, v[1]),
                    1 => t.add(h, v[2]),
                    2 => t.tanh(h),
                    3 => t.sigmoid(h),
                    4 => { let s = t.mul(h, h); t.add_scalar(s, 1.0) }
                    5 => t.permute_cols(h, &[2, 0, 1]),
                    6 => { let a = t.select_cols(h, 0, 1); let r = t.select_cols(h, 1, 2); let e = t.exp(a); t.concat_cols(r, e) }
                    _ => { let s = t.softplus(h); t.sub(s, v[2]) }
                };
            }
            weighted_sum(t, h, seed)
        });
        prop_assert!(check.max_rel_error() < TOL, "choices {choices:?}: {}", check.max_rel_error());
    }
}

/// Cholesky, triangular solve and log-determinant together on a random SPD matrix.
fn check_cholesky_family(seed: u64, n: usize) -> GradCheck {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s = spd(&mut rng, n);
    let b = random_mat(&mut rng, n, 2, -1.0, 1.0);
    check_gradients(&[s, b], 1e-5, |t, v| {
        let l = t.cholesky(v[0]).unwrap();
        let x = t.solve_lower(l, v[1]);
        let q = t.square(x);
        let q = t.sum(q);
        let ld = t.log_det_cholesky(l);
        let both = t.add(q, ld);
        let lw = weighted_sum(t, l, seed);
        t.add(both, lw)
    })
}

proptest! {
    #![proptest_config(config(8))]

    #[test]
    fn cholesky_solve_and_log_det_match_finite_differences(seed in any::<u64>(), n in 1usize..17) {
        let check = check_cholesky_family(seed, n);
        prop_assert!(check.max_rel_error() < TOL, "n = {n}: {:?}", check.rel_errors);
    }
}

#[test]
fn cholesky_family_matches_finite_differences_at_64() {
    let check = check_cholesky_family(64, 64);
    assert!(check.max_rel_error() < TOL, "{:?}", check.rel_errors);
}

/// The fused op on `N(mu, A A^T + s^2 I)`, `A = tril(a)`, with the given noise term.
fn fused_op(t: &mut Tape, z: Var, a: Var, mu: Option<Var>, s: f64, noise: NoiseTerm) -> Result<Var, TapeError> {
    t.gaussian_log_prob(z, &Gaussian { factor: a, mean: mu, spread: s, noise })
}

/// `log N(z; mu, A A^T + s^2 I)` recorded with the generic ops.
fn generic_gaussian(t: &mut Tape, z: Var, a: Var, mu: Var, s: f64) -> Var {
    generic_expected_gaussian(t, z, a, mu, s, 0.0)
}

/// `log N(z; mu, S) - 0.5 v tr(S^-1)`, `S = A A^T + s^2 I`, recorded with the generic ops
/// (`tr(S^-1) = |L^-1|_F^2` with `L^-1` from a solve against the identity).
fn generic_expected_gaussian(t: &mut Tape, z: Var, a: Var, mu: Var, s: f64, v: f64) -> Var {
    let d = t.shape(z).1;
    let at = t.tril(a);
    let cov = t.matmul_t(at, Transpose::No, at, Transpose::Yes);
    let eye = t.leaf_from_fn(d, d, |i, j| if i == j { s * s } else { 0.0 });
    let cov = t.add(cov, eye);
    let l = t.cholesky(cov).unwrap();
    let y = t.sub(z, mu);
    let w = t.solve_lower_t(l, y);
    let w2 = t.square(w);
    let quad = t.col_sum(w2); // 1 x n
    let ld = t.log_det_cholesky(l);
    let mut c = t.add_scalar(ld, d as f64 * (2.0 * std::f64::consts::PI).ln());
    if v > 0.0 {
        let eye = t.leaf_from_fn(d, d, |i, j| if i == j { 1.0 } else { 0.0 });
        let l_inv = t.solve_lower(l, eye);
        let sq = t.square(l_inv);
        let trace = t.sum(sq);
        let term = t.mul_scalar(trace, v);
        c = t.add(c, term);
    }
    let tot = t.add(quad, c);
    t.mul_scalar(tot, -0.5)
}

impl Tape {
    /// `L^-1 y^T` for rows `y` (test helper).
    fn solve_lower_t(&mut self, l: Var, y: Var) -> Var {
        let n = self.shape(y).0;
        let eye = self.leaf_from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.0 });
        let yt = self.matmul_t(y, Transpose::Yes, eye, Transpose::No);
        self.solve_lower(l, yt)
    }
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn gaussian_log_prob_matches_generic_path_and_finite_differences(seed in any::<u64>(), n in 1usize..6, d in 1usize..6, singular in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let z = random_mat(&mut rng, n, d, -1.0, 1.0);
        let mut a = random_mat(&mut rng, d, d, -1.0, 1.0);
        if singular {
            a[(d - 1, d - 1)] = 0.0; // rank-deficient A: exact only thanks to the spread
        }
        let mu = random_mat(&mut rng, 1, d, -0.5, 0.5);
        let s = 0.3;
        // Values: fused == generic.
        let mut t = Tape::new();
        let (zv, av, mv) = (t.leaf(z.as_ref()), t.leaf(a.as_ref()), t.leaf(mu.as_ref()));
        let fused = fused_op(&mut t, zv, av, Some(mv), s, NoiseTerm::None).unwrap();
        let generic = generic_gaussian(&mut t, zv, av, mv, s);
        for i in 0..n {
            let (f, g) = (t.value(fused)[(i, 0)], t.value(generic)[(0, i)]);
            prop_assert!((f - g).abs() <= 1e-10 * (1.0 + g.abs()), "row {i}: fused {f} vs generic {g}");
        }
        // Gradients against finite differences, with per-row weights.
        let check = check_gradients(&[z, a, mu], 1e-6, |t, v| {
            let lp = fused_op(t, v[0], v[1], Some(v[2]), s, NoiseTerm::None).unwrap();
            weighted_sum(t, lp, seed)
        });
        prop_assert!(check.max_rel_error() < TOL, "{:?}", check.rel_errors);
        // The upper triangle of a is ignored and gets zero gradient.
        let ga = &check.analytic[1];
        for j in 0..d {
            for i in 0..j {
                prop_assert_eq!(ga[(i, j)], 0.0);
            }
        }
    }

    #[test]
    fn gaussian_log_prob_without_spread_uses_a_as_the_factor(seed in any::<u64>(), n in 1usize..5, d in 1usize..5) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let z = random_mat(&mut rng, n, d, -1.0, 1.0);
        // Non-singular A with diagonal entries of both signs.
        let a = Mat::from_fn(d, d, |i, j| if i == j { if (i + seed as usize) % 2 == 0 { 1.5 } else { -0.8 } } else { rng.random_range(-0.5..0.5) });
        let check = check_gradients(&[z.clone(), a.clone()], 1e-6, |t, v| {
            let lp = fused_op(t, v[0], v[1], None, 0.0, NoiseTerm::None).unwrap();
            weighted_sum(t, lp, seed)
        });
        prop_assert!(check.max_rel_error() < TOL, "{:?}", check.rel_errors);
        let mut t = Tape::new();
        let (zv, av) = (t.leaf(z.as_ref()), t.leaf(a.as_ref()));
        let mu = t.leaf(Mat::zeros(1, d).as_ref());
        let fused = fused_op(&mut t, zv, av, None, 0.0, NoiseTerm::None).unwrap();
        let generic = generic_gaussian(&mut t, zv, av, mu, 0.0);
        for i in 0..n {
            let (f, g) = (t.value(fused)[(i, 0)], t.value(generic)[(0, i)]);
            prop_assert!((f - g).abs() <= 1e-10 * (1.0 + g.abs()));
        }
    }
}

/// Gradients of `sum_i w_i f_i` for the fused op (`fused = true`, with the factorisation
/// done by `factorize_while_recording`) or the generic path, with `z`, `a` and `mu` as
/// parameters; returns `(values, [dz, da, dmu])`.
fn gaussian_grads(
    z: &Mat<f64>,
    a: &Mat<f64>,
    mu: &Mat<f64>,
    w: &[f64],
    (s, noise): (f64, NoiseTerm),
    fused: bool,
) -> (Vec<f64>, [Mat<f64>; 3]) {
    let v = if noise == NoiseTerm::Expected { s * s } else { 0.0 };
    let n = z.nrows();
    let mut store = ParamStore::new();
    let ids = [store.add("z", z.clone()), store.add("a", a.clone()), store.add("mu", mu.clone())];
    let mut t = Tape::new();
    let [zv, av, mv] = ids.map(|id| t.param(&store, id));
    let (out, weights) = if fused {
        let gaussian = Gaussian { factor: av, mean: Some(mv), spread: s, noise };
        let weights = t.factorize_while_recording(&gaussian, |t| t.leaf_from_fn(n, 1, |i, _| w[i]));
        (t.gaussian_log_prob(zv, &gaussian).unwrap(), weights)
    } else {
        (generic_expected_gaussian(&mut t, zv, av, mv, s, v), t.leaf_from_fn(1, n, |_, j| w[j]))
    };
    let values = (0..n).map(|i| if fused { t.value(out)[(i, 0)] } else { t.value(out)[(0, i)] }).collect();
    let weighted = t.mul(out, weights);
    let loss = t.sum(weighted);
    t.backward(loss, &mut store);
    (values, ids.map(|id| store.grad(id).to_owned()))
}

/// The structured kernels (triangular products, `L^-1` formed once) only show their block
/// recursion above faer's small-size thresholds, and the dense term of `dA` runs on its own
/// thread there (`a` is a parameter): compare both with the generic path, with and without
/// the closed-form noise expectation.
#[test]
fn gaussian_log_prob_matches_generic_path_at_block_sizes() {
    let (n, d, s) = (37, 150, 0.05);
    let mut rng = ChaCha8Rng::seed_from_u64(150);
    let z = random_mat(&mut rng, n, d, -2.0, 2.0);
    // Junk in the strict upper triangle (ignored by both paths), a lower triangle near the
    // identity, and one column that has lost its rank as a trained manifold prior's does.
    let mut a = random_mat(&mut rng, d, d, -0.1, 0.1);
    for i in 0..d {
        a[(i, i)] += 1.0;
        a[(i, 7)] = 0.0;
    }
    let mu = random_mat(&mut rng, 1, d, -0.5, 0.5);
    let w: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    for v in [NoiseTerm::None, NoiseTerm::Expected] {
        let (fv, fg) = gaussian_grads(&z, &a, &mu, &w, (s, v), true);
        let (gv, gg) = gaussian_grads(&z, &a, &mu, &w, (s, v), false);
        for (f, g) in fv.iter().zip(&gv) {
            assert!((f - g).abs() <= 1e-9 * (1.0 + g.abs()), "{v:?}: value: fused {f} vs generic {g}");
        }
        for (k, name) in ["z", "a", "mu"].iter().enumerate() {
            let scale = gg[k].norm_max().max(1.0);
            let diff = (&fg[k] - &gg[k]).norm_max();
            assert!(diff <= 1e-9 * scale, "{v:?}: d{name}: max difference {diff:e} (scale {scale:e})");
        }
        // Only the lower triangle of A gets a gradient.
        for j in 0..d {
            for i in 0..j {
                assert_eq!(fg[1][(i, j)], 0.0);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(16))]

    /// `E_eps log N(z + eps; mu, S)` for `eps ~ N(0, s^2 I)` in closed form: values against the
    /// generic path, gradients against finite differences, with `a` a computed node (so the
    /// dense term of `dA` is formed in line).
    #[test]
    fn expected_gaussian_log_prob_matches_generic_path_and_finite_differences(seed in any::<u64>(), n in 1usize..5, d in 1usize..5) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let z = random_mat(&mut rng, n, d, -1.0, 1.0);
        let mut a = random_mat(&mut rng, d, d, -1.0, 1.0);
        a[(d - 1, d - 1)] = 0.0;
        let mu = random_mat(&mut rng, 1, d, -0.5, 0.5);
        let s = 0.3;
        let w: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let (fv, _) = gaussian_grads(&z, &a, &mu, &w, (s, NoiseTerm::Expected), true);
        let (gv, _) = gaussian_grads(&z, &a, &mu, &w, (s, NoiseTerm::Expected), false);
        for (f, g) in fv.iter().zip(&gv) {
            prop_assert!((f - g).abs() <= 1e-10 * (1.0 + g.abs()), "fused {f} vs generic {g}");
        }
        let check = check_gradients(&[z, a, mu], 1e-6, |t, vars| {
            let a2 = t.mul_scalar(vars[1], 1.0);
            let lp = fused_op(t, vars[0], a2, Some(vars[2]), s, NoiseTerm::Expected).unwrap();
            weighted_sum(t, lp, seed)
        });
        prop_assert!(check.max_rel_error() < TOL, "{:?}", check.rel_errors);
    }
}

/// The closed form is the mean over noise draws: a Monte-Carlo average of
/// `log N(z + eps; mu, S)`, `eps ~ N(0, s^2 I)`, over 20,000 draws lands within 4 standard
/// errors of it.
#[test]
fn expected_gaussian_log_prob_is_the_mean_over_noise() {
    let (d, s) = (3, 0.3_f64);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = random_mat(&mut rng, d, d, -1.0, 1.0);
    let z = random_mat(&mut rng, 1, d, -1.0, 1.0);
    let draws = 20_000;
    let noisy = Mat::from_fn(draws, d, |_, j| z[(0, j)] + s * gauss(&mut rng));
    let mut t = Tape::no_grad();
    let (zv, nv, av) = (t.leaf(z.as_ref()), t.leaf(noisy.as_ref()), t.leaf(a.as_ref()));
    let exact = fused_op(&mut t, zv, av, None, s, NoiseTerm::Expected).unwrap();
    let samples = fused_op(&mut t, nv, av, None, s, NoiseTerm::None).unwrap();
    let values: Vec<f64> = (0..draws).map(|i| t.value(samples)[(i, 0)]).collect();
    let mean = values.iter().sum::<f64>() / draws as f64;
    let sd = (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (draws - 1) as f64).sqrt();
    let exact = t.value(exact)[(0, 0)];
    assert!((mean - exact).abs() < 4.0 * sd / (draws as f64).sqrt(), "Monte Carlo {mean} vs closed form {exact}");
}

/// A training loop reuses the buffers of the factorisation and of the dense term on one
/// tape: later steps, with stale contents in every reused buffer, give bit-identical values
/// and gradients to a fresh tape's.
#[test]
fn reused_factor_and_dense_term_buffers_give_identical_steps() {
    let (n, d, s) = (5, 140, 0.1);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let steps: Vec<(Mat<f64>, Mat<f64>)> = (0..3)
        .map(|_| {
            let mut a = random_mat(&mut rng, d, d, -0.1, 0.1);
            (0..d).for_each(|i| a[(i, i)] += 1.0);
            (random_mat(&mut rng, n, d, -1.0, 1.0), a)
        })
        .collect();
    let step = |t: &mut Tape, z: &Mat<f64>, a: &Mat<f64>, noise: NoiseTerm| {
        let mut store = ParamStore::new();
        let id = store.add("a", a.clone());
        t.clear();
        let av = t.param(&store, id);
        let gaussian = Gaussian { factor: av, mean: None, spread: s, noise };
        let zv = t.factorize_while_recording(&gaussian, |t| t.leaf(z.as_ref()));
        let lp = t.gaussian_log_prob(zv, &gaussian).unwrap();
        let loss = t.sum(lp);
        t.backward(loss, &mut store);
        (t.scalar(loss), store.grad(id).to_owned())
    };
    let mut reused = Tape::new();
    for (k, (z, a)) in steps.iter().enumerate() {
        let v = if k == 1 { NoiseTerm::Expected } else { NoiseTerm::None };
        let (loss, grad) = step(&mut reused, z, a, v);
        let (fresh_loss, fresh_grad) = step(&mut Tape::new(), z, a, v);
        assert_eq!(loss.to_bits(), fresh_loss.to_bits(), "step {k}");
        assert!(grad == fresh_grad, "step {k}: gradients differ");
    }
}

/// A standard normal draw (Box-Muller).
fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let (u, w): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * w).cos()
}

/// A factorisation prepared for one Gaussian is used only by that Gaussian (same factor,
/// same spread): another one is factorised afresh, so each gets its own density.
#[test]
fn a_prepared_factorisation_serves_only_its_own_gaussian() {
    let z = faer::mat![[0.3, -0.2], [1.0, 0.5]];
    let a = faer::mat![[1.0, 0.0], [0.5, 2.0]];
    let direct = |s: f64| {
        let mut t = Tape::new();
        let (zv, av) = (t.leaf(z.as_ref()), t.leaf(a.as_ref()));
        let lp = fused_op(&mut t, zv, av, None, s, NoiseTerm::None).unwrap();
        t.value(lp).to_owned()
    };
    let mut t = Tape::new();
    let av = t.leaf(a.as_ref());
    let prepared = Gaussian { factor: av, mean: None, spread: 0.1, noise: NoiseTerm::None };
    let zv = t.factorize_while_recording(&prepared, |t| t.leaf(z.as_ref()));
    let other = fused_op(&mut t, zv, av, None, 0.5, NoiseTerm::None).unwrap();
    assert_eq!(t.value(other), direct(0.5));
    let own = t.gaussian_log_prob(zv, &prepared).unwrap();
    assert_eq!(t.value(own), direct(0.1));
}

/// The factorisation's error, when it fails, is reported by the Gaussian node that uses it.
#[test]
fn a_failed_prepared_factorisation_is_reported_by_the_log_density() {
    let mut t = Tape::new();
    let av = t.leaf(faer::mat![[1.0, 0.0], [0.5, 0.0]].as_ref());
    let gaussian = Gaussian { factor: av, mean: None, spread: 0.0, noise: NoiseTerm::None };
    let zv = t.factorize_while_recording(&gaussian, |t| t.leaf(Mat::zeros(3, 2).as_ref()));
    assert_eq!(t.gaussian_log_prob(zv, &gaussian).unwrap_err(), TapeError::SingularCovariance { index: 1 });
}

/// The recording closure cannot read the value being factorised.
#[test]
fn the_factor_being_factorised_cannot_be_read_while_recording() {
    let msg = panic_message(|| {
        let mut t = Tape::new();
        let av = t.leaf(Mat::<f64>::identity(200, 200).as_ref());
        let gaussian = Gaussian { factor: av, mean: None, spread: 0.1, noise: NoiseTerm::None };
        t.factorize_while_recording(&gaussian, |t| {
            t.exp(av);
        });
    });
    assert!(msg.contains("concurrent work"), "{msg}");
}

#[test]
fn gaussian_log_prob_rejects_singular_a_without_spread() {
    let mut t = Tape::new();
    let z = t.leaf(Mat::zeros(3, 2).as_ref());
    let a = t.leaf(faer::mat![[1.0, 0.0], [0.5, 0.0]].as_ref());
    let err = fused_op(&mut t, z, a, None, 0.0, NoiseTerm::None).unwrap_err();
    assert_eq!(err, TapeError::SingularCovariance { index: 1 });
    // The failed op left nothing behind: the tape continues normally.
    assert_eq!(t.len(), 2);
    assert!(fused_op(&mut t, z, a, None, 0.1, NoiseTerm::None).is_ok());
}

#[test]
fn cholesky_of_an_indefinite_matrix_is_an_error() {
    let mut t = Tape::new();
    let a = t.leaf(faer::mat![[1.0, 2.0], [2.0, 1.0]].as_ref());
    assert!(matches!(t.cholesky(a), Err(TapeError::NotPositiveDefinite { op: "cholesky", rows: 2, .. })));
}

/// f(w) = sum(w^2), gradient 2 w; trajectories computed by hand from PyTorch's documented
/// update rule (lr 1e-3, weight decay 0.5, betas (0.9, 0.999), eps 1e-8).
fn trajectory(decay: WeightDecay) -> Vec<[f64; 3]> {
    let mut store = ParamStore::new();
    let w = store.add("w", faer::mat![[1.0, -0.5, 2.0]]);
    let mut opt = Adam::new(AdamConfig { lr: 1e-3, weight_decay: decay, ..AdamConfig::default() });
    let mut tape = Tape::new();
    let mut out = Vec::new();
    for _ in 0..5 {
        tape.clear();
        let wv = tape.param(&store, w);
        let sq = tape.square(wv);
        let loss = tape.sum(sq);
        tape.backward(loss, &mut store);
        opt.step(&mut store);
        store.zero_grads();
        let v = store.value(w);
        out.push([v[(0, 0)], v[(0, 1)], v[(0, 2)]]);
    }
    out
}

fn assert_trajectory(got: &[[f64; 3]], want: &[[f64; 3]]) {
    for (g, w) in got.iter().zip(want) {
        for k in 0..3 {
            approx::assert_relative_eq!(g[k], w[k], max_relative = 1e-12);
        }
    }
}

#[test]
fn adam_with_coupled_weight_decay_reproduces_pytorch() {
    assert_trajectory(
        &trajectory(WeightDecay::L2(0.5)),
        &[
            [0.999000000004, -0.499000000008, 1.999000000002],
            [0.9980000262118339, -0.498000052700521, 1.9980000130713587],
            [0.9970000960621397, -0.49700019320914446, 1.9970000478957728],
            [0.996000226921761, -0.49600045657265096, 1.9960001131208105],
            [0.995000436047388, -0.4950008776588207, 1.9950002173309263],
        ],
    );
}

#[test]
fn adamw_reproduces_pytorch() {
    assert_trajectory(
        &trajectory(WeightDecay::Decoupled(0.5)),
        &[
            [0.998500000005, -0.49875000001, 1.9980000000025002],
            [0.9970007894195196, -0.4975006910489209, 1.9960010262088324],
            [0.9955023940757716, -0.49625211680129716, 1.994003095527136],
            [0.9940048396848364, -0.4950043208132443, 1.9920062247724277],
            [0.9925081517788987, -0.4937573463942874, 1.990010430628494],
        ],
    );
}

#[test]
fn sgd_with_momentum_follows_the_pytorch_rule() {
    // f(w) = w^2 from w = 1, lr 0.1, momentum 0.9: b1 = 2, w1 = 0.8; g = 1.6, b2 = 3.4, w2 = 0.46.
    let mut store = ParamStore::new();
    let w = store.add("w", faer::mat![[1.0]]);
    let mut opt = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, ..SgdConfig::default() });
    let mut got = Vec::new();
    for _ in 0..2 {
        let g = 2.0 * store.value(w)[(0, 0)];
        store.grad_mut(w)[(0, 0)] = g;
        opt.step(&mut store);
        store.zero_grads();
        got.push(store.value(w)[(0, 0)]);
    }
    approx::assert_relative_eq!(got[0], 0.8, max_relative = 1e-14);
    approx::assert_relative_eq!(got[1], 0.46, max_relative = 1e-14);
}

#[test]
fn optimizer_state_round_trips_and_continues_identically() {
    let run = |steps: usize, opt: &mut Adam, store: &mut ParamStore, w: ParamId| {
        let mut tape = Tape::new();
        for _ in 0..steps {
            tape.clear();
            let wv = tape.param(store, w);
            let e = tape.exp(wv);
            let loss = tape.sum(e);
            tape.backward(loss, store);
            opt.step(store);
            store.zero_grads();
        }
    };
    let mut store = ParamStore::new();
    let w = store.add("w", faer::mat![[0.3, -0.2]]);
    let mut opt = Adam::new(AdamConfig { lr: 0.01, ..AdamConfig::default() });
    run(3, &mut opt, &mut store, w);
    let state = opt.state(&store);
    let mut store2 = store.clone();
    let mut opt2 = Adam::new(opt.config);
    opt2.load_state(&store2, &state).unwrap();
    run(4, &mut opt, &mut store, w);
    run(4, &mut opt2, &mut store2, w);
    assert_eq!(store.value(w), store2.value(w));
}

#[test]
fn clip_grad_norm_scales_like_pytorch() {
    let mut store = ParamStore::new();
    let a = store.add("a", Mat::zeros(1, 2));
    store.grad_mut(a).copy_from(faer::mat![[3.0, 4.0]]);
    let norm = store.clip_grad_norm(1.0);
    assert_eq!(norm, 5.0);
    approx::assert_relative_eq!(store.grad(a)[(0, 0)], 3.0 / (5.0 + 1e-6), max_relative = 1e-14);
}

#[test]
fn no_grad_mode_computes_the_same_values() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let x = random_mat(&mut rng, 7, 4, -1.0, 1.0);
    let mut store = ParamStore::new();
    let w = store.add("w", random_mat(&mut rng, 4, 4, -1.0, 1.0));
    let f = |t: &mut Tape| {
        let xv = t.leaf(x.as_ref());
        let wv = t.param(&store, w);
        let h = t.matmul(xv, wv);
        let h = t.leaky_relu(h, 0.2);
        let a = t.leaf(
            faer::mat![[1.0, 0.0, 0.0, 0.0], [0.1, 1.0, 0.0, 0.0], [0.0, 0.2, 1.0, 0.0], [0.0, 0.0, 0.3, 1.0]].as_ref(),
        );
        fused_op(t, h, a, None, 0.01, NoiseTerm::None).unwrap()
    };
    let mut rec = Tape::new();
    let mut inf = Tape::no_grad();
    let (a, b) = (f(&mut rec), f(&mut inf));
    assert_eq!(rec.value(a), inf.value(b));
}

#[test]
fn a_cleared_tape_reuses_its_buffers() {
    let mut store = ParamStore::new();
    let w = store.add("w", Mat::from_fn(16, 16, |i, j| (i + j) as f64 * 0.01));
    let x = Mat::from_fn(32, 16, |i, j| (i * j) as f64 * 0.001);
    let mut tape = Tape::new();
    let step = |tape: &mut Tape, store: &mut ParamStore| {
        tape.clear();
        let xv = tape.leaf(x.as_ref());
        let wv = tape.param(store, w);
        let h = tape.matmul(xv, wv);
        let h = tape.tanh(h);
        let loss = tape.mean(h);
        tape.backward(loss, store);
    };
    step(&mut tape, &mut store);
    let ptrs: Vec<*const f64> = tape.values.iter().chain(&tape.grads).map(|b| b.data.as_ptr()).collect();
    step(&mut tape, &mut store);
    let again: Vec<*const f64> = tape.values.iter().chain(&tape.grads).map(|b| b.data.as_ptr()).collect();
    assert_eq!(ptrs, again, "a repeated step must reuse every buffer");
}

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(f).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn misuse_panics_with_the_op_and_shapes() {
    let msg = panic_message(|| {
        let mut t = Tape::new();
        let a = t.leaf(Mat::zeros(2, 3).as_ref());
        let b = t.leaf(Mat::zeros(4, 5).as_ref());
        t.matmul(a, b);
    });
    assert!(msg.contains("matmul") && msg.contains("2x3") && msg.contains("4x5"), "{msg}");
    let msg = panic_message(|| {
        let mut t = Tape::new();
        let a = t.leaf(Mat::zeros(2, 3).as_ref());
        let b = t.leaf(Mat::zeros(3, 2).as_ref());
        t.add(a, b);
    });
    assert!(msg.contains("add") && msg.contains("2x3") && msg.contains("3x2"), "{msg}");
    let msg = panic_message(|| {
        let mut t = Tape::new();
        let a = t.leaf(Mat::zeros(2, 3).as_ref());
        t.backward(a, &mut ParamStore::new());
    });
    assert!(msg.contains("backward") && msg.contains("2x3"), "{msg}");
    let msg = panic_message(|| {
        let mut t1 = Tape::new();
        let mut t2 = Tape::new();
        let a = t1.leaf(Mat::zeros(1, 1).as_ref());
        t2.exp(a);
    });
    assert!(msg.contains("exp") && msg.contains("another tape"), "{msg}");
    let msg = panic_message(|| {
        let mut t = Tape::new();
        let a = t.leaf(Mat::zeros(1, 1).as_ref());
        t.clear();
        t.exp(a);
    });
    assert!(msg.contains("stale"), "{msg}");
}
