//! The convolution against a direct (quadruple-loop) reference and central differences, over
//! random geometries; per-position centring against its definition.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use faer::Mat;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::tests::weighted_sum;
use crate::{Conv2dShape, Tape, check_gradients};

fn config(cases: u32) -> Config {
    Config { cases, rng_algorithm: RngAlgorithm::ChaCha, rng_seed: RngSeed::Fixed(0xc0ff), ..Config::default() }
}

fn random_mat(rng: &mut ChaCha8Rng, r: usize, c: usize) -> Mat<f64> {
    Mat::from_fn(r, c, |_, _| rng.random_range(-1.0..1.0))
}

/// The definition, one output entry at a time.
fn direct_conv(shape: &Conv2dShape, x: &Mat<f64>, w: &Mat<f64>, b: &Mat<f64>) -> Mat<f64> {
    let (oh, ow, k, p) = (shape.out_height(), shape.out_width(), shape.kernel, shape.padding as isize);
    let (h, wd) = (shape.height as isize, shape.width as isize);
    let c_out = w.nrows();
    Mat::from_fn(x.nrows(), c_out * oh * ow, |i, col| {
        let (co, pix) = (col / (oh * ow), col % (oh * ow));
        let (oy, ox) = ((pix / ow) as isize, (pix % ow) as isize);
        let mut acc = b[(0, co)];
        for ci in 0..shape.in_channels {
            for ky in 0..k {
                for kx in 0..k {
                    let (iy, ix) = (oy + ky as isize - p, ox + kx as isize - p);
                    if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                        let xin = x[(i, (ci * shape.height + iy as usize) * shape.width + ix as usize)];
                        acc += w[(co, (ci * k + ky) * k + kx)] * xin;
                    }
                }
            }
        }
        acc
    })
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn conv2d_matches_the_definition_and_finite_differences(
        seed in any::<u64>(),
        n in 1usize..4,
        c_in in 1usize..4,
        c_out in 1usize..4,
        h in 1usize..6,
        w in 1usize..6,
        kernel in 1usize..4,
        padding in 0usize..3,
    ) {
        let shape = Conv2dShape { in_channels: c_in, height: h, width: w, kernel, padding };
        prop_assume!(shape.out_height() > 0 && shape.out_width() > 0);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = random_mat(&mut rng, n, shape.in_len());
        let wt = random_mat(&mut rng, c_out, shape.patch_len());
        let b = random_mat(&mut rng, 1, c_out);

        let mut tape = Tape::no_grad();
        let (xv, wv, bv) = (tape.leaf(x.as_ref()), tape.leaf(wt.as_ref()), tape.leaf(b.as_ref()));
        let y = tape.conv2d(xv, wv, bv, shape);
        let expected = direct_conv(&shape, &x, &wt, &b);
        prop_assert!((tape.value(y).to_owned() - &expected).norm_max() < 1e-12, "{shape:?}");

        let check = check_gradients(&[x.clone(), wt.clone(), b.clone()], 1e-6, |t, v| {
            let y = t.conv2d(v[0], v[1], v[2], shape);
            // A second use of the input, so that the accumulation into a live gradient is
            // exercised too.
            let y2 = t.square(y);
            let s = weighted_sum(t, y2, seed);
            let x2 = t.sum(v[0]);
            t.add(s, x2)
        });
        prop_assert!(check.max_rel_error() < 1e-6, "{shape:?}: {}", check.max_rel_error());

        // The input used once: its gradient is written by the convolution without a prior
        // zero-fill (only the pixels the first kernel offset misses are zeroed).
        let once = check_gradients(&[x.clone(), wt.clone(), b.clone()], 1e-6, |t, v| {
            let y = t.conv2d(v[0], v[1], v[2], shape);
            let y2 = t.square(y);
            weighted_sum(t, y2, seed)
        });
        prop_assert!(once.max_rel_error() < 1e-6, "{shape:?} (input used once): {}", once.max_rel_error());
    }

    #[test]
    fn center_blocks_removes_the_mean_across_blocks_and_matches_finite_differences(
        seed in any::<u64>(), r in 1usize..4, blocks in 1usize..5, width in 1usize..5,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = random_mat(&mut rng, r, blocks * width);
        let mut tape = Tape::no_grad();
        let xv = tape.leaf(x.as_ref());
        let y = tape.center_blocks(xv, blocks);
        let y = tape.value(y);
        for i in 0..r {
            for p in 0..width {
                let mean = (0..blocks).map(|k| x[(i, k * width + p)]).sum::<f64>() / blocks as f64;
                for k in 0..blocks {
                    prop_assert!((y[(i, k * width + p)] - (x[(i, k * width + p)] - mean)).abs() < 1e-14);
                }
            }
        }
        let check = check_gradients(&[x], 1e-6, |t, v| {
            let y = t.center_blocks(v[0], blocks);
            let e = t.exp(y);
            weighted_sum(t, e, seed)
        });
        prop_assert!(check.max_rel_error() < 1e-6, "{}", check.max_rel_error());
    }
}

#[test]
fn conv2d_same_padding_keeps_the_image_size() {
    let shape = Conv2dShape::same(2, 16, 16, 3);
    assert_eq!((shape.out_height(), shape.out_width(), shape.padding), (16, 16, 1));
    assert!(Conv2dShape::same(16, 8, 8, 1).is_pointwise());
}

#[test]
#[should_panic(expected = "conv2d: x is 1x4")]
fn conv2d_names_mismatched_shapes() {
    let mut tape = Tape::new();
    let x = tape.leaf(Mat::zeros(1, 4).as_ref());
    let w = tape.leaf(Mat::zeros(1, 9).as_ref());
    let b = tape.leaf(Mat::zeros(1, 1).as_ref());
    let _ = tape.conv2d(x, w, b, Conv2dShape::same(2, 2, 2, 3));
}

/// Writing the input gradient (`Accum::Replace`, no zero-fill) gives the same bits as
/// zero-filling it and adding, for every strategy (pointwise, patches, offsets) and
/// geometries whose first kernel offset misses pixels.
#[test]
fn conv_backward_replace_is_bit_identical_to_zero_and_add() {
    use crate::buf::Buf;
    use crate::conv::{conv_backward, conv_forward};
    let buf = |m: &Mat<f64>| {
        let mut b = Buf::default();
        b.copy_from(m.as_ref());
        b
    };
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    let cases = [(1, 1, 0, 3, 5), (2, 3, 1, 4, 2), (4, 3, 1, 2, 3), (3, 5, 2, 2, 2), (2, 3, 0, 2, 2), (3, 2, 1, 5, 1)];
    for (c_in, kernel, padding, c_out, n) in cases {
        let shape = Conv2dShape { in_channels: c_in, height: 5, width: 4, kernel, padding };
        let x = buf(&random_mat(&mut rng, n, shape.in_len()));
        let w = buf(&random_mat(&mut rng, c_out, shape.patch_len()));
        let b = buf(&random_mat(&mut rng, 1, c_out));
        let g = buf(&random_mat(&mut rng, n * shape.out_height() * shape.out_width(), c_out));
        let (mut col, mut out, mut scratch) = (Buf::default(), Buf::default(), Buf::default());
        out.reshape(n, c_out * shape.out_height() * shape.out_width());
        conv_forward(&shape, n, &x, &w, &b, &mut col, &mut out);
        let mut replaced = vec![f64::NAN; x.data.len()];
        conv_backward(&shape, &x, &w, &col, &g, &mut scratch, None, None, Some((&mut replaced, faer::Accum::Replace)));
        let mut added = vec![0.0; x.data.len()];
        conv_backward(&shape, &x, &w, &col, &g, &mut scratch, None, None, Some((&mut added, faer::Accum::Add)));
        let same = replaced.iter().zip(&added).all(|(a, b)| a == b);
        assert!(same, "{shape:?}, {c_out} outputs: {replaced:?} vs {added:?}");
    }
}
