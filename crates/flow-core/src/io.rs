//! Saving and loading: parameters as safetensors files (`f64`, readable from Python), flow
//! architectures as JSON, and a trained flow as a directory holding both. Needs the `io`
//! feature (on by default).
//!
//! A saved flow is a directory with two files:
//!
//! - [`SPEC_FILE`] (`flow.json`): the [`FlowSpec`], serde JSON;
//! - [`WEIGHTS_FILE`] (`weights.safetensors`): every parameter of the flow as a 2-D `F64`
//!   tensor of shape `[rows, cols]`, row-major (NumPy's C order), named by its
//!   [`ParamStore`] name (`coupling.0.t.layer1.weight`).
//!
//! In Python, `safetensors.numpy.load_file("weights.safetensors")` returns a dict of
//! `float64` arrays with the same names and shapes. The registration order of the parameters
//! is kept in the file's metadata (key [`ORDER_KEY`], a JSON array of names) so that a loaded
//! [`ParamStore`] lists its parameters in the order they were saved; files without that key
//! (written by other tools) load in name order.
//!
//! ```
//! use flow_core::{Flow, Permutation, io};
//! let dir = std::env::temp_dir().join(format!("flow-core-doc-{}", std::process::id()));
//! let mut store = autodiff_lite::ParamStore::new();
//! let mut flow = Flow::new(3);
//! flow.push(flow_core::ActNorm::new(&mut store, "norm", 3).unwrap()).unwrap();
//! flow.push(Permutation::reverse(3)).unwrap();
//! io::save_flow(&dir, &flow, &store).unwrap();
//! let (loaded, loaded_store) = io::load_flow(&dir).unwrap();
//! let x = faer::mat![[1.0, 2.0, 3.0]];
//! assert_eq!(flow.encode(&store, x.as_ref()).0, loaded.encode(&loaded_store, x.as_ref()).0);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use autodiff_lite::{ParamId, ParamStore};
use faer::Mat;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Bijector, Flow, FlowError, FlowSpec};

/// The architecture file of a saved flow directory.
pub const SPEC_FILE: &str = "flow.json";
/// The weights file of a saved flow directory.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// The safetensors metadata key holding the saved parameter order (a JSON array of names).
pub const ORDER_KEY: &str = "mflow.param_order";

fn io_error(path: &Path, source: std::io::Error) -> FlowError {
    FlowError::Io { path: path.to_owned(), source }
}

fn format_error(path: &Path, message: impl Into<String>) -> FlowError {
    FlowError::Format { path: path.to_owned(), message: message.into() }
}

/// Write `bytes` to a sibling temporary file, then rename it over `path`, so a reader never
/// sees a half-written file and an interrupted save leaves the old file intact.
///
/// # Errors
/// [`FlowError::Io`] naming the file that could not be written or renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FlowError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, e)
    })
}

/// Save the parameters `ids` of `store` to the safetensors file `path`: one 2-D `F64`
/// tensor `[rows, cols]` per parameter, row-major, named by the parameter's name, with the
/// order of `ids` (duplicates dropped) in the metadata under [`ORDER_KEY`]. The file is
/// written atomically (temporary file, then rename).
///
/// # Errors
/// [`FlowError::Io`] when the file cannot be written; [`FlowError::Format`] if safetensors
/// rejects the content (a header above its 100 MB limit).
pub fn save_params(path: impl AsRef<Path>, store: &ParamStore, ids: &[ParamId]) -> Result<(), FlowError> {
    let path = path.as_ref();
    let mut seen = HashSet::new();
    let ids: Vec<ParamId> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    let buffers: Vec<(&str, Vec<usize>, Vec<u8>)> = ids
        .iter()
        .map(|&id| {
            let m = store.value(id);
            let mut bytes = Vec::with_capacity(m.nrows() * m.ncols() * 8);
            for i in 0..m.nrows() {
                for j in 0..m.ncols() {
                    bytes.extend_from_slice(&m[(i, j)].to_le_bytes());
                }
            }
            (store.name(id), vec![m.nrows(), m.ncols()], bytes)
        })
        .collect();
    let views = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F64, shape.clone(), bytes)
                .map(|v| (*name, v))
                .map_err(|e| format_error(path, format!("tensor '{name}': {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let order: Vec<&str> = buffers.iter().map(|(name, _, _)| *name).collect();
    let order = serde_json::to_string(&order).map_err(|e| format_error(path, e.to_string()))?;
    let metadata = HashMap::from([(ORDER_KEY.to_owned(), order)]);
    let bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| format_error(path, e.to_string()))?;
    write_atomic(path, &bytes)
}

/// Load every tensor of the safetensors file `path` into a new [`ParamStore`], registered
/// in the saved order (see [`ORDER_KEY`]) or, without that metadata, in name order.
///
/// # Errors
/// [`FlowError::Io`] when the file cannot be read; [`FlowError::Format`] naming the file for
/// content that is not a valid safetensors file (truncated, corrupted header), a tensor that
/// is not a 2-D `F64` matrix (naming the tensor), or an order list that does not match the
/// tensors.
pub fn load_params(path: impl AsRef<Path>) -> Result<ParamStore, FlowError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let st =
        SafeTensors::deserialize(&bytes).map_err(|e| format_error(path, format!("not a safetensors file: {e}")))?;
    let (_, metadata) =
        SafeTensors::read_metadata(&bytes).map_err(|e| format_error(path, format!("not a safetensors file: {e}")))?;
    let mut names: Vec<String> = st.names().into_iter().map(str::to_owned).collect();
    names.sort();
    if let Some(order) = metadata.metadata().as_ref().and_then(|m| m.get(ORDER_KEY)) {
        let mut saved: Vec<String> = serde_json::from_str(order)
            .map_err(|e| format_error(path, format!("metadata '{ORDER_KEY}' is not a list of names: {e}")))?;
        let mut sorted = saved.clone();
        sorted.sort();
        if sorted != names {
            return Err(format_error(path, format!("metadata '{ORDER_KEY}' does not list the file's tensors")));
        }
        std::mem::swap(&mut names, &mut saved);
    }
    let mut store = ParamStore::new();
    for name in names {
        let view = st.tensor(&name).map_err(|e| format_error(path, format!("tensor '{name}': {e}")))?;
        let shape = view.shape();
        if view.dtype() != Dtype::F64 || shape.len() != 2 {
            return Err(format_error(
                path,
                format!("tensor '{name}' is {:?} of shape {shape:?}, expected a 2-D F64 matrix", view.dtype()),
            ));
        }
        let (rows, cols) = (shape[0], shape[1]);
        let values: Vec<f64> = view
            .data()
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        if values.len() != rows * cols {
            return Err(format_error(
                path,
                format!("tensor '{name}' holds {} values for shape {shape:?}", values.len()),
            ));
        }
        store.add(name, Mat::from_fn(rows, cols, |i, j| values[i * cols + j]));
    }
    Ok(store)
}

/// Copy the saved values of the parameters `ids` from the safetensors file `path` into
/// `store`, matched by name (resuming training on a freshly built model). Tensors of the file
/// not named by `ids` are ignored; `store` is left unchanged on error.
///
/// # Errors
/// As [`load_params`], and [`FlowError::Weights`] naming the file and the parameter when a
/// parameter is missing from the file or has another shape there.
pub fn load_params_into(path: impl AsRef<Path>, store: &mut ParamStore, ids: &[ParamId]) -> Result<(), FlowError> {
    let path = path.as_ref();
    let saved = load_params(path)?;
    let mut updates = Vec::with_capacity(ids.len());
    for &id in ids {
        let want = store.value(id);
        let src = saved
            .get_shaped(store.name(id), (want.nrows(), want.ncols()))
            .map_err(|source| FlowError::Weights { path: path.to_owned(), source })?;
        updates.push((id, src));
    }
    for (id, src) in updates {
        store.set_value(id, saved.value(src));
    }
    Ok(())
}

/// Write `value` as pretty-printed JSON to `path`, atomically.
///
/// # Errors
/// [`FlowError::Io`] when the file cannot be written, [`FlowError::Json`] if `value` does
/// not serialise (a map with non-string keys).
pub fn write_json<T: Serialize + ?Sized>(path: impl AsRef<Path>, value: &T) -> Result<(), FlowError> {
    let path = path.as_ref();
    let mut text =
        serde_json::to_string_pretty(value).map_err(|source| FlowError::Json { path: path.to_owned(), source })?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Read a value written by [`write_json`] (or any JSON of the right shape) from `path`.
///
/// # Errors
/// [`FlowError::Io`] when the file cannot be read, [`FlowError::Json`] with serde's line
/// and column for invalid JSON or a shape that does not match `T`.
pub fn read_json<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T, FlowError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    serde_json::from_str(&text).map_err(|source| FlowError::Json { path: path.to_owned(), source })
}

/// Save a trained flow to the directory `dir` (created if missing): its architecture to
/// `dir/`[`SPEC_FILE`] and its parameters to `dir/`[`WEIGHTS_FILE`].
///
/// # Errors
/// As [`write_json`] and [`save_params`].
pub fn save_flow(dir: impl AsRef<Path>, flow: &Flow, store: &ParamStore) -> Result<(), FlowError> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    write_json(dir.join(SPEC_FILE), &flow.architecture())?;
    save_params(dir.join(WEIGHTS_FILE), store, &flow.params())
}

/// [`Flow::from_spec`] on parameters loaded from the weights file `weights`: a missing or
/// mis-shaped parameter is a [`FlowError::Weights`] naming that file.
///
/// # Errors
/// [`FlowError::Weights`], or [`FlowError::Config`] for an invalid architecture.
pub fn attach_saved(spec: &FlowSpec, store: &ParamStore, weights: &Path) -> Result<Flow, FlowError> {
    Flow::from_spec(spec, store).map_err(|e| match e {
        FlowError::Param(source) => FlowError::Weights { path: weights.to_owned(), source },
        other => other,
    })
}

/// Load a flow saved by [`save_flow`]: the flow and a store holding exactly its parameters.
///
/// # Errors
/// [`FlowError::Io`] for unreadable files; [`FlowError::Format`] naming the file for
/// invalid JSON, an invalid architecture, or a corrupted weights file;
/// [`FlowError::Weights`] naming the weights file and the parameter when a parameter of
/// the architecture is missing or mis-shaped, [`FlowError::ExtraTensor`] when a tensor of the
/// file is not a parameter of the architecture.
pub fn load_flow(dir: impl AsRef<Path>) -> Result<(Flow, ParamStore), FlowError> {
    let dir = dir.as_ref();
    let spec_path = dir.join(SPEC_FILE);
    let weights_path = dir.join(WEIGHTS_FILE);
    let spec: FlowSpec = read_json(&spec_path)?;
    let store = load_params(&weights_path)?;
    let flow = attach_saved(&spec, &store, &weights_path).map_err(|e| match e {
        FlowError::Config(m) => format_error(&spec_path, format!("invalid architecture: {m}")),
        other => other,
    })?;
    let used: HashSet<&str> = flow.params().into_iter().map(|id| store.name(id)).collect();
    if let Some(extra) = store.ids().map(|id| store.name(id)).find(|name| !used.contains(name)) {
        return Err(FlowError::ExtraTensor { path: weights_path, name: extra.to_owned(), spec: spec_path });
    }
    Ok((flow, store))
}

#[cfg(test)]
mod tests;
