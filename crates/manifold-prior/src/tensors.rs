//! Named `f64` matrices in safetensors files (row-major, readable with Python's
//! `safetensors.numpy.load_file`), written atomically (write a temporary file, then rename).

use std::collections::BTreeMap;
use std::path::Path;

use autodiff_lite::ParamStore;
use faer::Mat;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::PriorError;

/// Write named matrices to `path` atomically.
///
/// # Errors
/// [`PriorError::Io`] or [`PriorError::Format`] naming the file.
pub fn write_matrices<'a>(
    path: &Path,
    items: impl IntoIterator<Item = (String, &'a Mat<f64>)>,
) -> Result<(), PriorError> {
    let buffers: Vec<(String, Vec<usize>, Vec<u8>)> = items
        .into_iter()
        .map(|(name, m)| {
            let mut bytes = Vec::with_capacity(m.nrows() * m.ncols() * 8);
            for i in 0..m.nrows() {
                for j in 0..m.ncols() {
                    bytes.extend_from_slice(&m[(i, j)].to_le_bytes());
                }
            }
            (name, vec![m.nrows(), m.ncols()], bytes)
        })
        .collect();
    let views = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F64, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| format_error(path, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = safetensors::serialize(views, None).map_err(|e| format_error(path, e))?;
    write_atomic(path, &bytes)
}

/// Read every matrix of a file written by [`write_matrices`] (2-D `f64` tensors).
///
/// # Errors
/// [`PriorError::Io`] for unreadable files, [`PriorError::Format`] for corrupted content or
/// tensors that are not 2-D `f64`.
pub fn read_matrices(path: &Path) -> Result<BTreeMap<String, Mat<f64>>, PriorError> {
    let bytes = std::fs::read(path).map_err(|source| PriorError::Io { path: path.to_owned(), source })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| format_error(path, e))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F64 || view.shape().len() != 2 {
            return Err(PriorError::Format {
                path: path.to_owned(),
                message: format!(
                    "tensor '{name}' is {:?} of shape {:?}, expected a 2-D F64 matrix",
                    view.dtype(),
                    view.shape()
                ),
            });
        }
        let (r, c) = (view.shape()[0], view.shape()[1]);
        let data = view.data();
        let m = Mat::from_fn(r, c, |i, j| {
            let k = (i * c + j) * 8;
            f64::from_le_bytes(data[k..k + 8].try_into().unwrap_or([0; 8]))
        });
        out.insert(name, m);
    }
    Ok(out)
}

/// Save every parameter of a store under its name.
///
/// # Errors
/// As [`write_matrices`].
pub fn save_store(path: &Path, store: &ParamStore) -> Result<(), PriorError> {
    let owned: Vec<(String, Mat<f64>)> =
        store.ids().map(|id| (store.name(id).to_owned(), store.value(id).to_owned())).collect();
    write_matrices(path, owned.iter().map(|(n, m)| (n.clone(), m)))
}

/// Load values into an existing store by name; every parameter must be present with its shape.
///
/// # Errors
/// [`PriorError::Mismatch`] naming the missing or mis-shaped parameter, or a read error.
pub fn load_into_store(path: &Path, store: &mut ParamStore) -> Result<(), PriorError> {
    let mats = read_matrices(path)?;
    let ids: Vec<_> = store.ids().collect();
    for id in ids {
        let name = store.name(id).to_owned();
        let m =
            mats.get(&name).ok_or_else(|| PriorError::Mismatch(format!("{}: no tensor '{name}'", path.display())))?;
        let v = store.value(id);
        if (m.nrows(), m.ncols()) != (v.nrows(), v.ncols()) {
            return Err(PriorError::Mismatch(format!(
                "{}: tensor '{name}' is {}x{}, the model expects {}x{}",
                path.display(),
                m.nrows(),
                m.ncols(),
                v.nrows(),
                v.ncols()
            )));
        }
        store.set_value(id, m.as_ref());
    }
    Ok(())
}

/// Write `bytes` to `path` through a temporary file and a rename, so a crash never leaves a
/// half-written file in place.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PriorError> {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, bytes).map_err(|source| PriorError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| PriorError::Io { path: path.to_owned(), source })
}

fn format_error(path: &Path, e: impl std::fmt::Display) -> PriorError {
    PriorError::Format { path: path.to_owned(), message: e.to_string() }
}
