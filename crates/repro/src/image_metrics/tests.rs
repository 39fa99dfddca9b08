use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::*;

fn gaussian(n: usize, d: usize, mean: f64, sd: f64, seed: u64) -> Mat<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Mat::from_fn(n, d, |_, _| {
        let z: f64 = StandardNormal.sample(&mut rng);
        mean + sd * z
    })
}

#[test]
fn frechet_matches_the_closed_form_for_diagonal_gaussians() -> anyhow::Result<()> {
    let (m1, m2): ([f64; 3], [f64; 3]) = ([0.0, 1.0, 2.0], [1.0, 1.0, 0.0]);
    let (a, b): ([f64; 3], [f64; 3]) = ([1.0, 4.0, 0.25], [9.0, 1.0, 0.25]);
    let s1 = Mat::from_fn(3, 3, |i, j| if i == j { a[i] } else { 0.0 });
    let s2 = Mat::from_fn(3, 3, |i, j| if i == j { b[i] } else { 0.0 });
    let closed: f64 = (0..3).map(|i| (m1[i] - m2[i]).powi(2) + (a[i].sqrt() - b[i].sqrt()).powi(2)).sum();
    let d = frechet_gaussians(&m1, s1.as_ref(), &m2, s2.as_ref())?;
    assert!((d - closed).abs() < 1e-10, "{d} vs {closed}");
    Ok(())
}

#[test]
fn frechet_matches_the_closed_form_for_a_rotated_covariance() -> anyhow::Result<()> {
    // S1 = I, S2 = R diag(l) R^T: the distance is sum_i (1 - sqrt(l_i))^2.
    let (c, s) = (0.6_f64, 0.8_f64);
    let l = [4.0, 0.09];
    let r = [[c, -s], [s, c]];
    let s2 = Mat::from_fn(2, 2, |i, j| (0..2).map(|k| r[i][k] * l[k] * r[j][k]).sum());
    let eye = Mat::<f64>::identity(2, 2);
    let d = frechet_gaussians(&[0.0, 0.0], eye.as_ref(), &[0.0, 0.0], s2.as_ref())?;
    let closed: f64 = l.iter().map(|v| (1.0 - v.sqrt()).powi(2)).sum();
    assert!((d - closed).abs() < 1e-10, "{d} vs {closed}");
    Ok(())
}

#[test]
fn frechet_of_samples_approaches_the_closed_form() -> anyhow::Result<()> {
    let a = gaussian(20_000, 2, 0.0, 1.0, 1);
    let b = gaussian(20_000, 2, 1.0, 2.0, 2);
    // |dm|^2 = 2, and per coordinate (1 - 2)^2 = 1.
    let d = frechet_distance(a.as_ref(), b.as_ref())?;
    assert!((d - 4.0).abs() < 0.15, "{d}");
    assert!(frechet_distance(a.as_ref(), a.as_ref())? < 1e-8);
    assert!(frechet_distance(a.as_ref(), gaussian(10, 3, 0.0, 1.0, 3).as_ref()).is_err());
    Ok(())
}

#[test]
fn precision_and_recall_on_hand_built_sets() -> anyhow::Result<()> {
    // Real: 20 points on a line, spacing 1, so each ball (k = 3) has radius 2 (3 inside).
    let real = Mat::from_fn(20, 2, |i, j| if j == 0 { i as f64 } else { 0.0 });
    let same = precision_recall(real.as_ref(), real.as_ref(), 3)?;
    assert_eq!((same.precision, same.recall), (1.0, 1.0));
    // Fake far away: neither covers the other.
    let far = Mat::from_fn(20, 2, |i, j| if j == 0 { i as f64 } else { 100.0 });
    let far = precision_recall(real.as_ref(), far.as_ref(), 3)?;
    assert_eq!((far.precision, far.recall), (0.0, 0.0));
    // Fake: 10 points packed (spacing 0.1) at the start of the line: all realistic, but they
    // cover only the real points within their small balls (radius 0.3 around 0..0.9, so
    // [-0.3, 1.2]): the real points 0 and 1, 2 of 20.
    let packed = Mat::from_fn(10, 2, |i, j| if j == 0 { 0.1 * i as f64 } else { 0.0 });
    let pr = precision_recall(real.as_ref(), packed.as_ref(), 3)?;
    assert_eq!(pr.precision, 1.0);
    assert!((pr.recall - 2.0 / 20.0).abs() < 1e-12, "{}", pr.recall);
    assert!(precision_recall(real.as_ref(), packed.get(..3, ..), 3).is_err());
    Ok(())
}

#[test]
fn knn_classifies_separated_clusters_and_breaks_ties_by_distance() -> anyhow::Result<()> {
    let train =
        Mat::from_fn(40, 2, |i, j| if j == 0 { (if i < 20 { -5.0 } else { 5.0 }) + 0.01 * i as f64 } else { 0.0 });
    let labels: Vec<usize> = (0..40).map(|i| usize::from(i >= 20)).collect();
    let test = Mat::from_fn(2, 2, |i, j| if j == 0 { if i == 0 { -4.0 } else { 4.0 } } else { 0.0 });
    assert_eq!(knn_accuracy(train.as_ref(), &labels, test.as_ref(), &[0, 1], 5)?, 1.0);
    // Two neighbours of different classes, k = 2: the nearer one wins.
    let tr = Mat::from_fn(2, 1, |i, _| if i == 0 { 0.0 } else { 3.0 });
    let te = Mat::from_fn(1, 1, |_, _| 1.0);
    assert_eq!(knn_accuracy(tr.as_ref(), &[0, 1], te.as_ref(), &[0], 2)?, 1.0);
    assert!(knn_accuracy(tr.as_ref(), &[0, 1], te.as_ref(), &[0], 3).is_err());
    Ok(())
}

/// Two classes: `x ~ N(-1, 1)` and `N(+1, 1)` in the first coordinate, noise in the second.
fn two_gaussians(n: usize, gap: f64, seed: u64) -> (Mat<f64>, Vec<usize>) {
    let noise = gaussian(n, 2, 0.0, 1.0, seed);
    let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let x =
        Mat::from_fn(
            n,
            2,
            |i, j| if j == 0 { noise[(i, 0)] + gap * (2.0 * labels[i] as f64 - 1.0) } else { noise[(i, 1)] },
        );
    (x, labels)
}

#[test]
fn the_linear_probe_separates_separable_data() -> anyhow::Result<()> {
    let (x, y) = two_gaussians(1_000, 10.0, 4);
    let (t, ty) = two_gaussians(1_000, 10.0, 5);
    let acc = linear_probe(x.as_ref(), &y, t.as_ref(), &ty, &ProbeConfig { steps: 300, ..ProbeConfig::default() })?;
    assert_eq!(acc, 1.0);
    Ok(())
}

#[test]
fn the_linear_probe_reaches_the_bayes_rate_on_overlapping_classes() -> anyhow::Result<()> {
    // Means -1 and +1, unit variance: the best rule x > 0 is right with probability Phi(1).
    let phi_1 = 0.841_344_746;
    let (x, y) = two_gaussians(4_000, 1.0, 6);
    let (t, ty) = two_gaussians(20_000, 1.0, 7);
    let acc = linear_probe(x.as_ref(), &y, t.as_ref(), &ty, &ProbeConfig { steps: 600, ..ProbeConfig::default() })?;
    assert!((acc - phi_1).abs() < 0.01, "{acc} vs {phi_1}");
    Ok(())
}

#[test]
fn the_classifier_learns_xor_and_its_cache_round_trips() -> anyhow::Result<()> {
    // XOR of the signs of two coordinates: no linear rule does better than chance.
    let make = |n: usize, seed: u64| {
        let x = gaussian(n, 2, 0.0, 1.0, seed);
        let y: Vec<usize> = (0..n).map(|i| usize::from((x[(i, 0)] > 0.0) != (x[(i, 1)] > 0.0))).collect();
        (x, y)
    };
    let (x, y) = make(2_000, 8);
    let (t, ty) = make(1_000, 9);
    let config =
        ClassifierConfig { hidden: vec![32, 16], steps: 1_500, batch_size: 128, lr: 0.01, weight_decay: 0.0, seed: 3 };
    let dir = tempfile::tempdir()?;
    let (net, cached) = Classifier::fit_or_load(dir.path(), x.as_ref(), &y, 2, t.as_ref(), &ty, &config)?;
    assert!(!cached);
    assert!(net.meta().test_accuracy > 0.95, "{}", net.meta().test_accuracy);
    assert_eq!(net.features(t.as_ref()).ncols(), 16);
    let (again, cached) = Classifier::fit_or_load(dir.path(), x.as_ref(), &y, 2, t.as_ref(), &ty, &config)?;
    assert!(cached, "the second run reuses the saved classifier");
    assert_eq!(again.predict(t.as_ref()), net.predict(t.as_ref()));
    assert_eq!(again.meta(), net.meta());
    // Other data: the cache is not reused.
    let (_, cached) = Classifier::fit_or_load(
        dir.path(),
        t.as_ref(),
        &ty,
        2,
        x.as_ref(),
        &y,
        &ClassifierConfig { steps: 10, ..config },
    )?;
    assert!(!cached);
    // Confident fraction: probabilities sum to 1 and a threshold of 0 counts every row.
    assert_eq!(again.confident_fraction(t.as_ref(), 0.0), 1.0);
    Ok(())
}

#[test]
fn pca_projects_on_the_leading_direction() -> anyhow::Result<()> {
    let x = Mat::from_fn(100, 3, |i, j| if j == 1 { i as f64 } else { 0.01 * ((i * 7 + j) % 5) as f64 });
    let pca = Pca::fit(x.as_ref())?;
    assert!(pca.eigenvalues[0] > 100.0 * pca.eigenvalues[1]);
    let p = pca.project(x.as_ref(), 1);
    assert_eq!(p.ncols(), 1);
    assert!((p[(99, 0)] - p[(0, 0)]).abs() > 98.0);
    Ok(())
}
