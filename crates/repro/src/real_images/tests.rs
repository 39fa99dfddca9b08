use super::*;

#[test]
fn verdicts_follow_the_ranges_over_seeds() {
    assert_eq!(verdict(&[1.0, 2.0], &[3.0, 4.0], true), Verdict::DoesNotHold);
    assert_eq!(verdict(&[3.0, 4.0], &[1.0, 2.0], true), Verdict::Holds);
    assert_eq!(verdict(&[1.0, 2.0], &[3.0, 4.0], false), Verdict::Holds);
    assert_eq!(verdict(&[1.0, 3.5], &[3.0, 4.0], true), Verdict::Inconclusive);
    assert_eq!(verdict(&[5.0], &[1.0], true), Verdict::Inconclusive, "one seed decides nothing");
    assert_eq!(verdict(&[f64::NAN, 5.0], &[1.0, 1.0], true), Verdict::Inconclusive);
    assert_eq!(judge::id_verdict(&[5.0, 6.0], (4.0, 7.0)), Verdict::Holds);
    assert_eq!(judge::id_verdict(&[1.0, 2.0], (4.0, 7.0)), Verdict::DoesNotHold);
    assert_eq!(judge::id_verdict(&[1.0, 5.0], (4.0, 7.0)), Verdict::Inconclusive);
}

#[test]
fn the_per_class_id_table_reads_each_class_of_a_known_dimension() {
    // Class 0: a 2-D plane in R^6; class 1: a line. The classical estimates recover them.
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let plane = faer::Mat::from_fn(800, 2, |_, _| rng.random::<f64>());
    let line = faer::Mat::from_fn(800, 1, |_, _| rng.random::<f64>());
    let x = faer::Mat::from_fn(1600, 6, |i, j| {
        if i < 800 {
            if j < 2 { plane[(i, j)] } else { 0.0 }
        } else if j == 3 {
            line[(i - 800, 0)]
        } else {
            0.0
        }
    });
    let rows0: Vec<usize> = (0..800).collect();
    let rows1: Vec<usize> = (800..1600).collect();
    let c0 = classical_id(select_rows(x.as_ref(), &rows0).as_ref());
    let c1 = classical_id(select_rows(x.as_ref(), &rows1).as_ref());
    for v in c0.mle.iter().chain([&c0.twonn]) {
        assert!((v - 2.0).abs() < 0.3, "plane: {c0:?}");
    }
    for v in c1.mle.iter().chain([&c1.twonn]) {
        assert!((v - 1.0).abs() < 0.2, "line: {c1:?}");
    }
    let (lo, hi) = c0.range();
    assert!(lo <= hi && lo > 1.5);
}

#[test]
fn digits_are_split_and_scaled_as_the_protocol_says() {
    let d = digits_data();
    assert_eq!((d.train.nrows(), d.test.nrows(), d.dim(), d.n_classes()), (1_497, 300, 64, 10));
    let all = d.train.col_iter().chain(d.test.col_iter()).flat_map(|c| c.iter().copied().collect::<Vec<_>>());
    assert!(all.into_iter().all(|v| (0.0..=1.0).contains(&v)));
    use rand::SeedableRng;
    let x = d.dequantise(d.test.as_ref(), &mut rand_chacha::ChaCha8Rng::seed_from_u64(0));
    for i in 0..x.nrows() {
        for j in 0..x.ncols() {
            assert!((x[(i, j)] - d.test[(i, j)]).abs() <= 0.5 / 16.0 + 1e-12);
        }
    }
}

#[test]
fn mnist_without_data_says_where_to_get_it_and_leaves_no_folder() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("no-such-dir");
    let err = mnist_dir(Some(&missing)).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("does not exist"), "{err}");
    let ctx = crate::RunContext {
        steps: Some(2),
        data: Some(missing),
        ..crate::RunContext::new("mnist", dir.path().join("out"))
    };
    let info = crate::find("mnist").ok_or_else(|| anyhow::anyhow!("mnist is registered"))?;
    assert!(crate::run_experiment(info, &ctx).is_err());
    assert!(!ctx.out_dir.exists(), "a failed run leaves no empty output folder");
    Ok(())
}

#[test]
fn digits_quick_runs_end_to_end_at_smoke_size() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ctx = crate::RunContext { steps: Some(30), ..crate::RunContext::new("digits", dir.path().to_owned()) };
    let mut protocol = Protocol::digits_quick();
    protocol.classifier.steps = 300;
    protocol.n_samples = 200;
    protocol.probe.steps = 100;
    let report = measure::run(&ctx, &digits_data(), &protocol)?;
    for f in report.outputs.iter().chain(&["classifier/classifier.json".to_owned()]) {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    assert!(report.sections.iter().any(|s| s.title.starts_with("Claims")));
    Ok(())
}

#[test]
fn the_spread_noise_reaches_only_the_spread_model() {
    let noise_of = |kind, protocol: &Protocol| match model_config(kind, protocol, 0).prior {
        PriorConfig::Spread { spread, .. } => Some(spread.spread_noise),
        PriorConfig::Standard | PriorConfig::Diagonal { .. } => None,
    };
    let protocol = Protocol::digits();
    assert_eq!(noise_of(ModelKind::Spread, &protocol), Some(SpreadNoise::Random), "the protocol");
    let expected = Protocol { spread_noise: SpreadNoise::Expected, ..Protocol::mnist() };
    assert_eq!(noise_of(ModelKind::Spread, &expected), Some(SpreadNoise::Expected));
    assert_eq!(noise_of(ModelKind::Standard, &expected), None);
    let ctx = crate::RunContext { spread_noise: Some(SpreadNoise::Expected), ..crate::RunContext::new("digits", "x") };
    assert_eq!(Protocol::digits_quick().with_noise_of(&ctx).spread_noise, SpreadNoise::Expected);
    assert_eq!(
        Protocol::digits().with_noise_of(&crate::RunContext::new("digits", "x")).spread_noise,
        SpreadNoise::Random
    );
}
