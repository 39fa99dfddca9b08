//! Save/load round trips and every class of bad file: truncated, corrupted, wrong shapes,
//! missing or extra tensors, wrong dtype, garbage JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use autodiff_lite::ParamStore;
use faer::Mat;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::{
    ActNorm, Activation, Bijector, Coupling, CouplingConfig, CouplingTransform, LogScale, LuInit, LuLinear, Parity,
    Permutation,
};

/// A flow with one layer of every kind (and a nested chain), parameters randomised.
fn sample_flow(hidden: &[usize], seed: u64) -> (Flow, ParamStore) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut store = ParamStore::new();
    let d = 4;
    let mut flow = Flow::new(d);
    flow.push(ActNorm::new(&mut store, "norm.0", d).unwrap()).unwrap();
    let config =
        CouplingConfig::halves(d, Parity::Even, CouplingTransform::Affine(LogScale::Tanh), hidden, Activation::Tanh);
    flow.push(Coupling::new(&mut store, "coupling.0", config, &mut rng).unwrap()).unwrap();
    flow.push(LuLinear::new(&mut store, "lu.0", d, LuInit::RandomOrthogonal, &mut rng).unwrap()).unwrap();
    let mut inner = Flow::new(d);
    inner.push(Permutation::random(d, &mut rng)).unwrap();
    let config = CouplingConfig::halves(d, Parity::Odd, CouplingTransform::Additive, hidden, Activation::Relu);
    inner.push(Coupling::new(&mut store, "inner.coupling", config, &mut rng).unwrap()).unwrap();
    flow.push(inner).unwrap();
    let ids: Vec<_> = store.ids().collect();
    for id in ids {
        let v = store.value_mut(id);
        for j in 0..v.ncols() {
            for i in 0..v.nrows() {
                v[(i, j)] += rng.random_range(-0.3..0.3);
            }
        }
    }
    (flow, store)
}

fn batch(seed: u64) -> Mat<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Mat::from_fn(16, 4, |_, _| rng.random_range(-2.0..2.0))
}

/// The message of an error saying that a weights file does not fit its architecture.
fn mismatch_message(err: FlowError) -> String {
    match err {
        FlowError::Weights { .. } | FlowError::ExtraTensor { .. } => err.to_string(),
        other => panic!("expected FlowError::Weights or ExtraTensor, got {other:?}"),
    }
}

fn format_parts(err: FlowError) -> (std::path::PathBuf, String) {
    match err {
        FlowError::Format { path, message } => (path, message),
        other => panic!("expected FlowError::Format, got {other:?}"),
    }
}

fn saved(dir: &Path) -> (Flow, ParamStore) {
    let (flow, store) = sample_flow(&[8, 8], 7);
    save_flow(dir, &flow, &store).unwrap();
    (flow, store)
}

#[test]
fn a_saved_flow_loads_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (flow, store) = saved(dir.path());
    let (loaded, loaded_store) = load_flow(dir.path()).unwrap();
    assert_eq!(loaded.architecture(), flow.architecture());
    let x = batch(1);
    let (z, ld) = flow.encode(&store, x.as_ref());
    let (z2, ld2) = loaded.encode(&loaded_store, x.as_ref());
    assert_eq!(z, z2);
    assert_eq!(ld, ld2);
    assert_eq!(flow.decode(&store, z.as_ref()).0, loaded.decode(&loaded_store, z.as_ref()).0);
    // The loaded store holds exactly the flow's parameters, in the saved order.
    let names = |s: &ParamStore| s.ids().map(|id| s.name(id).to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&loaded_store), names(&store));
    assert_eq!(loaded.n_params(&loaded_store), flow.n_params(&store));
}

#[test]
fn params_round_trip_with_shapes_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.safetensors");
    let mut store = ParamStore::new();
    let b = store.add("zeta", Mat::from_fn(2, 3, |i, j| (i * 3 + j) as f64 + 0.125));
    let a = store.add("alpha", Mat::from_fn(1, 1, |_, _| -f64::MIN_POSITIVE));
    let e = store.add("empty", Mat::zeros(0, 4));
    save_params(&path, &store, &[b, a, e, b]).unwrap();
    let loaded = load_params(&path).unwrap();
    assert_eq!(loaded.len(), 3);
    let order: Vec<_> = loaded.ids().map(|id| loaded.name(id)).collect();
    assert_eq!(order, ["zeta", "alpha", "empty"]);
    for id in [a, b, e] {
        let got = loaded.value(loaded.get(store.name(id)).unwrap());
        assert_eq!(got, store.value(id));
    }
    // Row-major on disk: the first data bytes of 'zeta' are entry (0, 1) after (0, 0).
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let zeta = st.tensor("zeta").unwrap();
    assert_eq!(zeta.shape(), [2, 3]);
    assert_eq!(f64::from_le_bytes(zeta.data()[8..16].try_into().unwrap()), 1.125);
}

#[test]
fn load_params_into_copies_by_name_and_checks_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.safetensors");
    let (flow, store) = sample_flow(&[8], 3);
    save_params(&path, &store, &flow.params()).unwrap();
    // The same architecture (fixed permutations and signs included), other parameter values.
    let (fresh_flow, mut fresh) = sample_flow(&[8], 3);
    let ids: Vec<_> = fresh.ids().collect();
    for id in ids {
        fresh.value_mut(id).fill(0.5);
    }
    load_params_into(&path, &mut fresh, &fresh_flow.params()).unwrap();
    let x = batch(2);
    assert_eq!(flow.encode(&store, x.as_ref()).0, fresh_flow.encode(&fresh, x.as_ref()).0);

    let (wide_flow, mut wide) = sample_flow(&[9], 4);
    let before = wide.clone();
    let msg = mismatch_message(load_params_into(&path, &mut wide, &wide_flow.params()).unwrap_err());
    assert!(
        msg.contains("p.safetensors") && msg.contains("coupling.0.t.layer0.weight") && msg.contains("2x9"),
        "{msg}"
    );
    // Nothing was copied.
    for id in wide.ids() {
        assert_eq!(wide.value(id), before.value(id));
    }
    let mut other = ParamStore::new();
    let id = other.add("not.saved", Mat::zeros(1, 1));
    let msg = mismatch_message(load_params_into(&path, &mut other, &[id]).unwrap_err());
    assert!(msg.contains("missing parameter 'not.saved'"), "{msg}");
}

#[test]
fn a_truncated_weights_file_is_a_format_error() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let weights = dir.path().join(WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).unwrap();
    for keep in [0, 5, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&weights, &bytes[..keep]).unwrap();
        let (path, message) = format_parts(load_flow(dir.path()).unwrap_err());
        assert_eq!(path, weights, "{message}");
    }
}

#[test]
fn a_corrupted_header_is_a_format_error() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let weights = dir.path().join(WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).unwrap();
    // A header length far beyond the file.
    let mut bad = bytes.clone();
    bad[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    std::fs::write(&weights, &bad).unwrap();
    format_parts(load_flow(dir.path()).unwrap_err());
    // Garbage inside the JSON header.
    let mut bad = bytes.clone();
    bad[8..16].copy_from_slice(b"#garbage");
    std::fs::write(&weights, &bad).unwrap();
    format_parts(load_flow(dir.path()).unwrap_err());
    // Not a safetensors file at all.
    std::fs::write(&weights, b"definitely not tensors, just some text").unwrap();
    format_parts(load_flow(dir.path()).unwrap_err());
}

#[test]
fn wrong_shapes_name_the_file_and_the_parameter() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    // The same layer names with wider conditioners.
    let (wider, _) = sample_flow(&[8, 9], 7);
    write_json(dir.path().join(SPEC_FILE), &wider.architecture()).unwrap();
    let msg = mismatch_message(load_flow(dir.path()).unwrap_err());
    assert!(msg.contains(WEIGHTS_FILE) && msg.contains("coupling.0.t.layer1.weight"), "{msg}");
}

#[test]
fn a_missing_tensor_names_the_file_and_the_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let (flow, store) = saved(dir.path());
    let ids: Vec<_> = flow.params().into_iter().filter(|&id| store.name(id) != "lu.0.upper").collect();
    save_params(dir.path().join(WEIGHTS_FILE), &store, &ids).unwrap();
    let msg = mismatch_message(load_flow(dir.path()).unwrap_err());
    assert!(msg.contains(WEIGHTS_FILE) && msg.contains("missing parameter 'lu.0.upper'"), "{msg}");
}

#[test]
fn an_extra_tensor_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let (flow, mut store) = saved(dir.path());
    let extra = store.add("stray.weight", Mat::zeros(2, 2));
    let mut ids = flow.params();
    ids.push(extra);
    save_params(dir.path().join(WEIGHTS_FILE), &store, &ids).unwrap();
    let msg = mismatch_message(load_flow(dir.path()).unwrap_err());
    assert!(msg.contains("'stray.weight'") && msg.contains(SPEC_FILE), "{msg}");
}

#[test]
fn a_tensor_that_is_not_an_f64_matrix_is_a_format_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.safetensors");
    let data = [0u8; 12];
    let f32s = TensorView::new(Dtype::F32, vec![3], &data).unwrap();
    std::fs::write(&path, safetensors::serialize([("w", f32s)], None).unwrap()).unwrap();
    let (p, message) = format_parts(load_params(&path).unwrap_err());
    assert_eq!(p, path);
    assert!(message.contains("'w'") && message.contains("F32"), "{message}");
    let data = [0u8; 16];
    let vec64 = TensorView::new(Dtype::F64, vec![2], &data).unwrap();
    std::fs::write(&path, safetensors::serialize([("v", vec64)], None).unwrap()).unwrap();
    let (_, message) = format_parts(load_params(&path).unwrap_err());
    assert!(message.contains("'v'") && message.contains("2-D"), "{message}");
}

#[test]
fn a_file_without_order_metadata_loads_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.safetensors");
    let one = 1.0f64.to_le_bytes();
    let two = 2.0f64.to_le_bytes();
    let views = [
        ("b", TensorView::new(Dtype::F64, vec![1, 1], &one).unwrap()),
        ("a", TensorView::new(Dtype::F64, vec![1, 1], &two).unwrap()),
    ];
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    let store = load_params(&path).unwrap();
    let order: Vec<_> = store.ids().map(|id| store.name(id)).collect();
    assert_eq!(order, ["a", "b"]);
    assert_eq!(store.value(store.get("a").unwrap())[(0, 0)], 2.0);
}

#[test]
fn garbage_json_is_an_error_naming_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let spec = dir.path().join(SPEC_FILE);
    for text in ["{ not json", "{\"dim\": 4}", "[1, 2, 3]", "{\"dim\": 4, \"layers\": [{\"type\": \"warp\"}]}"] {
        std::fs::write(&spec, text).unwrap();
        match load_flow(dir.path()).unwrap_err() {
            FlowError::Json { path, .. } => assert_eq!(path, spec),
            other => panic!("expected FlowError::Json, got {other:?}"),
        }
    }
    // Valid JSON, invalid architecture (a layer of the wrong dimension).
    std::fs::write(&spec, "{\"dim\": 3, \"layers\": [{\"type\": \"act_norm\", \"prefix\": \"norm.0\", \"dim\": 4}]}")
        .unwrap();
    let (path, message) = format_parts(load_flow(dir.path()).unwrap_err());
    assert_eq!(path, spec);
    assert!(message.contains("invalid architecture"), "{message}");
}

#[test]
fn a_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_flow(dir.path().join("nowhere")).unwrap_err();
    assert!(matches!(err, FlowError::Io { ref path, .. } if path.ends_with(SPEC_FILE)), "{err:?}");
}
