//! Unit tests of the manifold module: names, shapes, fading squares, exact errors, bases.

use super::*;
use crate::DEFAULT_MAX_BYTES;
use faer::Mat;

fn max_abs_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
    (0..a.nrows())
        .flat_map(|i| (0..a.ncols()).map(move |j| (i, j)))
        .map(|(i, j)| (a[(i, j)] - b[(i, j)]).abs())
        .fold(0.0, f64::max)
}

#[test]
fn names_round_trip_and_are_unique() {
    let mut all = all_manifolds();
    all.extend([
        Manifold::Sphere { k: 1 },
        Manifold::Sphere { k: 17 },
        Manifold::LinearSubspace { k: 1, d: 1 },
        Manifold::Hypercube { k: 7, d: 64 },
    ]);
    let mut names: Vec<String> = all.iter().map(Manifold::name).collect();
    for (m, name) in all.iter().zip(&names) {
        assert_eq!(Manifold::from_name(name).expect("registry name parses"), *m, "{name}");
        assert_eq!(name.parse::<Manifold>().expect("FromStr agrees"), *m);
        assert_eq!(m.to_string(), *name);
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all.len());
    assert_eq!(Manifold::from_name(" Sine-Curve ").expect("alias"), Manifold::SineCurve);
}

#[test]
fn contract_names() {
    let expect = [
        (Manifold::SineCurve, "sine"),
        (Manifold::Sphere { k: 2 }, "sphere-2"),
        (Manifold::SwissRoll, "swiss-roll"),
        (Manifold::SCurve, "s-curve"),
        (Manifold::LinearSubspace { k: 3, d: 10 }, "linear-3-in-10"),
        (Manifold::Hypercube { k: 3, d: 10 }, "hypercube-3-in-10"),
        (Manifold::SineGraph3d, "sine-graph-3d"),
        (Manifold::FadingSquares, "fading-squares"),
    ];
    for (m, name) in expect {
        assert_eq!(m.name(), name);
    }
}

#[test]
fn bad_names_are_unknown_manifold_errors() {
    for bad in ["", "bogus", "sphere-0", "sphere-x", "linear-5-in-3", "linear-3", "hypercube-a-in-3", "linear-0-in-3"] {
        let err = Manifold::from_name(bad).expect_err(bad);
        assert!(matches!(&err, DataError::UnknownManifold { name, .. } if name == bad), "{bad}: {err}");
    }
}

#[test]
fn registry_shapes_and_dimensions() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    assert!(!benchmark_manifolds().contains(&Manifold::FadingSquares));
    assert_eq!(all_manifolds().last(), Some(&Manifold::FadingSquares));
    for m in all_manifolds() {
        assert!(m.intrinsic_dim() >= 1 && m.intrinsic_dim() < m.ambient_dim(), "{m}");
        let x = m.sample(5, &mut rng);
        assert_eq!((x.nrows(), x.ncols()), (5, m.ambient_dim()), "{m}");
        assert_eq!(m.sample(0, &mut rng).nrows(), 0);
    }
    assert_eq!(Manifold::Sphere { k: 4 }.ambient_dim(), 5);
    assert_eq!(Manifold::FadingSquares.ambient_dim(), 1024);
}

#[test]
fn fading_squares_match_method_section_4() {
    let pixels: Vec<usize> = fading_squares_pixels().collect();
    assert_eq!(pixels.len(), 36);
    assert_eq!(pixels[0], 13 * 32 + 13);
    assert_eq!(pixels[35], 18 * 32 + 18);
    let ds = Manifold::FadingSquares.generate(&GenerateOptions::new(20, 3));
    let labels = ds.labels.as_ref().expect("fading squares carry brightness labels");
    for (i, &v) in labels.iter().enumerate() {
        assert!((0.0..1.0).contains(&v));
        for r in 0..32 {
            for c in 0..32 {
                let inside = (13..=18).contains(&r) && (13..=18).contains(&c);
                assert_eq!(ds.data[(i, r * 32 + c)], if inside { v } else { 0.0 });
            }
        }
    }
}

#[test]
fn exact_errors_of_known_points() {
    let check = |m: Manifold, rows: &[&[f64]], want: &[f64]| {
        let x = Mat::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j]);
        let got = m.manifold_error(x.as_ref()).expect("defined");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12 || (g.is_infinite() && w.is_infinite()), "{m}: {got:?} vs {want:?}");
        }
    };
    check(Manifold::SineCurve, &[&[0.0, 1.0], &[1.0, 2f64.sin()], &[f64::NAN, 0.0]], &[1.0, 0.0, f64::INFINITY]);
    check(Manifold::SineGraph3d, &[&[0.0, 3.0, 4.0], &[2.0, 4f64.sin(), 2.0]], &[5.0, 0.0]);
    check(Manifold::Paraboloid, &[&[1.0, 2.0, 5.0], &[1.0, 2.0, 0.0]], &[0.0, 5.0]);
    check(Manifold::Circle, &[&[3.0, 4.0], &[0.0, 0.0], &[f64::INFINITY, 0.0]], &[4.0, 1.0, f64::INFINITY]);
    check(Manifold::Sphere { k: 2 }, &[&[0.0, 0.0, 2.0]], &[1.0]);
    check(Manifold::Torus, &[&[3.0, 0.0, 0.0], &[0.0, 0.0, 0.0], &[0.0, 2.0, 3.0]], &[0.0, 1.0, 2.0]);

    let b = subspace_basis(2, 4);
    let on = |z: [f64; 2], off: f64| -> Vec<f64> {
        // A point B z plus `off` times a unit vector orthogonal to the subspace.
        let mut e = [1.0, -0.5, 0.25, 2.0];
        for p in 0..2 {
            let dot: f64 = (0..4).map(|r| b[(r, p)] * e[r]).sum();
            (0..4).for_each(|r| e[r] -= dot * b[(r, p)]);
        }
        let norm = e.iter().map(|v| v * v).sum::<f64>().sqrt();
        (0..4).map(|r| b[(r, 0)] * z[0] + b[(r, 1)] * z[1] + off * e[r] / norm).collect()
    };
    let (p1, p2, p3) = (on([0.3, 0.7], 0.0), on([1.5, 0.5], 0.0), on([-3.0, 4.0], 2.0));
    check(Manifold::LinearSubspace { k: 2, d: 4 }, &[&p1, &p2, &p3], &[0.0, 0.0, 2.0]);
    check(Manifold::Hypercube { k: 2, d: 4 }, &[&p1, &p2, &p3], &[0.0, 0.5, (4.0f64 + 9.0 + 9.0).sqrt()]);

    let mut img = vec![0.0; 1024];
    fading_squares_pixels().for_each(|j| img[j] = 0.5);
    let mut off = img.clone();
    off[0] = 3.0;
    let bright = vec![2.0; 1024];
    let mut x = Mat::zeros(3, 1024);
    for j in 0..1024 {
        x[(0, j)] = img[j];
        x[(1, j)] = off[j];
        x[(2, j)] = bright[j];
    }
    let got = Manifold::FadingSquares.manifold_error(x.as_ref()).expect("defined");
    assert!(got[0].abs() < 1e-12 && (got[1] - 3.0).abs() < 1e-12, "{got:?}");
    // Nearest point of the segment is v = 1: error^2 = 988 * 4 + 36 * 1.
    assert!((got[2] - (988.0f64 * 4.0 + 36.0).sqrt()).abs() < 1e-9, "{got:?}");

    for m in [Manifold::Helix, Manifold::SwissRoll, Manifold::SCurve] {
        assert!(m.manifold_error(Mat::zeros(1, 3).as_ref()).is_none());
    }
}

#[test]
fn the_fraction_within_counts_strictly_closer_rows_and_non_finite_ones_as_off() {
    // Sine-curve errors |x2 - sin(2 x1)| at x1 = 0: 0, 0.04, 0.05 (not strictly within), 0.3,
    // and a non-finite row.
    let x2 = [0.0, 0.04, 0.05, 0.3, f64::NAN];
    let x = Mat::from_fn(x2.len(), 2, |i, j| if j == 0 { 0.0 } else { x2[i] });
    assert_eq!(Manifold::SineCurve.fraction_within(x.as_ref(), 0.05), Some(2.0 / 5.0));
    assert_eq!(Manifold::SineCurve.fraction_within(x.as_ref(), 1.0), Some(4.0 / 5.0));
    assert_eq!(Manifold::SineCurve.fraction_within(Mat::zeros(0, 2).as_ref(), 0.05), None);
    assert_eq!(Manifold::Helix.fraction_within(Mat::zeros(2, 3).as_ref(), 0.05), None);
}

#[test]
fn bases_are_orthonormal_and_fixed() {
    for (k, d) in [(1, 1), (3, 10), (5, 5), (2, 40)] {
        let b = subspace_basis(k, d);
        assert_eq!((b.nrows(), b.ncols()), (d, k));
        let gram = b.transpose() * &b;
        assert!(max_abs_diff(&gram, &Mat::identity(k, k)) < 1e-13, "{k} in {d}");
        assert_eq!(subspace_basis(k, d), b);
    }
    let f = embedding_frame(3, 8, 11);
    assert!(max_abs_diff(&(f.transpose() * &f), &Mat::identity(3, 3)) < 1e-13);
    assert_ne!(embedding_frame(3, 8, 12), f);
}

#[test]
fn embedding_is_undone_by_the_frame() {
    let m = Manifold::Torus;
    let clean = m.generate(&GenerateOptions::new(50, 9));
    let emb = m.generate(&GenerateOptions::new(50, 9).embed(7));
    assert_eq!(emb.ambient_dim(), 7);
    let back = &emb.data * embedding_frame(3, 7, 9);
    assert!(max_abs_diff(&back, &clean.data) < 1e-12);
}

#[test]
fn noise_is_added_on_top_of_the_same_points() {
    let m = Manifold::Circle;
    let clean = m.generate(&GenerateOptions::new(2000, 4));
    let noisy = m.generate(&GenerateOptions::new(2000, 4).noise(0.1));
    assert_eq!(clean.labels, noisy.labels);
    let diff = &noisy.data - &clean.data;
    let var = diff.col_iter().flat_map(|c| c.iter().copied().collect::<Vec<_>>()).map(|e| e * e).sum::<f64>() / 4000.0;
    // 4000 draws: the sample variance is within 10% of 0.01 with overwhelming probability.
    assert!((var / 0.01 - 1.0).abs() < 0.1, "variance {var}");
}

#[test]
#[should_panic(expected = "cannot embed dimension 3 into smaller dimension 2")]
fn embedding_into_a_smaller_space_panics() {
    let _ = Manifold::Torus.generate(&GenerateOptions::new(3, 0).embed(2));
}

#[test]
#[should_panic(expected = "noise_std must be finite and >= 0")]
fn negative_noise_panics() {
    let _ = Manifold::SineCurve.generate(&GenerateOptions::new(3, 0).noise(-1.0));
}

/// Issue 16, item 5: noise of standard deviation 1e308 overflows to infinity; `try_generate`
/// refuses it with the first offending entry instead of returning infinities.
#[test]
fn try_generate_refuses_settings_that_give_non_finite_values() {
    let err = Manifold::SineCurve.try_generate(&GenerateOptions::new(1000, 0).noise(1e308), DEFAULT_MAX_BYTES);
    match err {
        Err(DataError::GeneratedNonFinite { ref name, row, col, value, noise_std }) => {
            assert_eq!((name.as_str(), noise_std), ("sine", 1e308));
            assert!(row >= 1 && (1..=2).contains(&col) && value.is_infinite());
        }
        other => panic!("expected GeneratedNonFinite, got {other:?}"),
    }
    let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("non-finite") && msg.contains("1e308"), "{msg}");
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let err = Manifold::Circle.try_generate(&GenerateOptions::new(10, 0).noise(bad), DEFAULT_MAX_BYTES);
        assert!(matches!(err, Err(DataError::InvalidNoise { .. })), "{bad}: {err:?}");
    }
    let err = Manifold::Torus.try_generate(&GenerateOptions::new(10, 0).embed(2), DEFAULT_MAX_BYTES);
    assert!(matches!(err, Err(DataError::EmbedTooSmall { native: 3, embed: 2, .. })), "{err:?}");
    // Large but finite noise is fine.
    let ds = Manifold::SineCurve.try_generate(&GenerateOptions::new(100, 0).noise(1e300), DEFAULT_MAX_BYTES);
    assert!(ds.expect("finite").data.col(0).iter().all(|v| v.is_finite()));
}

/// Issue 16, item 7: sizes a user can type (`--n 100000000000`, `--embed 100000000000`,
/// `linear-3-in-99999999999`) are refused with the memory estimate, before any allocation.
#[test]
fn try_generate_refuses_sizes_above_the_cap_with_the_estimate() {
    let cases = [
        (Manifold::SineCurve, GenerateOptions::new(100_000_000_000, 0), Some(2_400_000_000_000)),
        (Manifold::SineCurve, GenerateOptions::new(10, 0).embed(100_000_000_000), Some(9_600_000_000_240)),
        (Manifold::from_name("linear-3-in-99999999999").expect("valid name"), GenerateOptions::new(10, 0), None),
        (Manifold::SineCurve, GenerateOptions::new(usize::MAX, 0), None),
    ];
    for (m, opts, want) in cases {
        let bytes = m.bytes_needed(&opts);
        if let Some(want) = want {
            assert_eq!(bytes, Some(want), "{m}");
        }
        match m.try_generate(&opts, DEFAULT_MAX_BYTES) {
            Err(e @ DataError::GenerateTooLarge { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("above the limit of 1073741824 bytes"), "{msg}");
                if let Some(b) = bytes {
                    assert!(msg.contains(&b.to_string()), "{msg}");
                } else {
                    assert!(msg.contains("more than 2^64 bytes"), "{msg}");
                }
            }
            other => panic!("{m}: expected GenerateTooLarge, got {other:?}"),
        }
    }
    // The estimate bounds what generate allocates for a size that is allowed.
    let opts = GenerateOptions::new(1000, 1).embed(20);
    let ds = Manifold::LinearSubspace { k: 3, d: 10 }.try_generate(&opts, DEFAULT_MAX_BYTES).expect("small");
    assert_eq!((ds.len(), ds.ambient_dim()), (1000, 20));
    assert!(matches!(Manifold::from_name(&format!("sphere-{}", usize::MAX)), Err(DataError::UnknownManifold { .. })));
}
