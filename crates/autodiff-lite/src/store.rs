//! The parameter store: values and gradients of trainable matrices, addressed by `ParamId`
//! handles and hierarchical names.

use std::collections::HashMap;

use faer::{Mat, MatRef};

/// A `Copy` handle to one parameter of a [`ParamStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub(crate) u32);

impl ParamId {
    /// The index of the parameter in its store (registration order).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A parameter looked up by name is missing or has another shape (loading saved weights into
/// an architecture).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// No parameter of this name.
    #[error("missing parameter '{name}'")]
    Missing {
        /// The name looked up.
        name: String,
    },
    /// The parameter exists with another shape.
    #[error("parameter '{name}' has shape {}x{}, expected {}x{}", found.0, found.1, expected.0, expected.1)]
    Shape {
        /// The parameter's name.
        name: String,
        /// The shape asked for `(rows, cols)`.
        expected: (usize, usize),
        /// The stored shape.
        found: (usize, usize),
    },
}

/// Owns the values and accumulated gradients of every trainable matrix of a model.
///
/// Parameters are registered once with a hierarchical name (`coupling.3.t.layer1.weight`);
/// models keep the returned [`ParamId`]s. Each training step a [`crate::Tape`] reads the values
/// as leaves and [`crate::Tape::backward`] adds `d loss / d param` into [`ParamStore::grad`].
///
/// ```
/// use autodiff_lite::ParamStore;
/// let mut store = ParamStore::new();
/// let w = store.add("layer0.weight", faer::Mat::zeros(3, 4));
/// assert_eq!(store.name(w), "layer0.weight");
/// assert_eq!(store.n_scalars(), 12);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ParamStore {
    names: Vec<String>,
    values: Vec<Mat<f64>>,
    grads: Vec<Mat<f64>>,
    by_name: HashMap<String, ParamId>,
}

impl ParamStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a parameter with its initial value; its gradient starts at zero.
    ///
    /// # Panics
    /// If `name` is already registered (names are the keys of saving and optimiser state).
    #[track_caller]
    pub fn add(&mut self, name: impl Into<String>, value: Mat<f64>) -> ParamId {
        let name = name.into();
        assert!(!self.by_name.contains_key(&name), "ParamStore::add: parameter '{name}' is already registered");
        let id = ParamId(u32::try_from(self.values.len()).expect("fewer than 2^32 parameters"));
        self.grads.push(Mat::zeros(value.nrows(), value.ncols()));
        self.values.push(value);
        self.by_name.insert(name.clone(), id);
        self.names.push(name);
        id
    }

    /// The number of parameter matrices.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when no parameter is registered.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The total number of scalars over all parameters.
    pub fn n_scalars(&self) -> usize {
        self.values.iter().map(|v| v.nrows() * v.ncols()).sum()
    }

    /// Every handle, in registration order.
    pub fn ids(&self) -> impl Iterator<Item = ParamId> + '_ {
        (0..self.values.len()).map(|i| ParamId(i as u32))
    }

    /// The handle registered under `name`.
    pub fn get(&self, name: &str) -> Option<ParamId> {
        self.by_name.get(name).copied()
    }

    /// The handle of the parameter `name`, checked to have `shape` `(rows, cols)`.
    ///
    /// # Errors
    /// [`ParamError::Missing`] or [`ParamError::Shape`] naming the parameter.
    pub fn get_shaped(&self, name: &str, shape: (usize, usize)) -> Result<ParamId, ParamError> {
        let id = self.get(name).ok_or_else(|| ParamError::Missing { name: name.to_owned() })?;
        let v = self.value(id);
        let found = (v.nrows(), v.ncols());
        if found != shape {
            return Err(ParamError::Shape { name: name.to_owned(), expected: shape, found });
        }
        Ok(id)
    }

    /// The name of a parameter.
    pub fn name(&self, id: ParamId) -> &str {
        &self.names[id.index()]
    }

    /// The current value of a parameter.
    pub fn value(&self, id: ParamId) -> MatRef<'_, f64> {
        self.values[id.index()].as_ref()
    }

    /// Mutable access to a parameter's value (initialisation, loading, optimiser updates).
    pub fn value_mut(&mut self, id: ParamId) -> &mut Mat<f64> {
        &mut self.values[id.index()]
    }

    /// Replace a parameter's value.
    ///
    /// # Panics
    /// If the new value's shape differs from the registered one.
    #[track_caller]
    pub fn set_value(&mut self, id: ParamId, value: MatRef<'_, f64>) {
        let old = &mut self.values[id.index()];
        assert_eq!(
            (old.nrows(), old.ncols()),
            (value.nrows(), value.ncols()),
            "ParamStore::set_value: '{}' has shape {:?}, new value {:?}",
            self.names[id.index()],
            (old.nrows(), old.ncols()),
            (value.nrows(), value.ncols())
        );
        old.copy_from(value);
    }

    /// The accumulated gradient `d loss / d param` of a parameter.
    pub fn grad(&self, id: ParamId) -> MatRef<'_, f64> {
        self.grads[id.index()].as_ref()
    }

    /// Mutable access to a parameter's gradient (clipping, custom accumulation).
    pub fn grad_mut(&mut self, id: ParamId) -> &mut Mat<f64> {
        &mut self.grads[id.index()]
    }

    /// Value and gradient of a parameter together (what optimisers need).
    pub(crate) fn value_and_grad_mut(&mut self, id: ParamId) -> (&mut Mat<f64>, &Mat<f64>) {
        (&mut self.values[id.index()], &self.grads[id.index()])
    }

    /// Set every gradient to zero (call after each optimiser step).
    pub fn zero_grads(&mut self) {
        for g in &mut self.grads {
            g.fill(0.0);
        }
    }

    /// The Euclidean norm of all gradients together, `sqrt(sum_p |grad_p|_F^2)`.
    pub fn grad_norm(&self) -> f64 {
        self.grads.iter().map(|g| g.squared_norm_l2()).sum::<f64>().sqrt()
    }

    /// True when every gradient entry is finite.
    pub fn grads_are_finite(&self) -> bool {
        self.grads.iter().all(|g| g.is_all_finite())
    }

    /// Clip the gradients to a total norm of at most `max_norm`, as
    /// `torch.nn.utils.clip_grad_norm_`: with `n = grad_norm()`, scale every gradient by
    /// `max_norm / (n + 1e-6)` when that factor is below 1. Returns `n` (before clipping).
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let norm = self.grad_norm();
        let coef = max_norm / (norm + 1e-6);
        if coef < 1.0 {
            for g in &mut self.grads {
                *g *= faer::Scale(coef);
            }
        }
        norm
    }

    /// Copy every value of `other` into this store by name (shapes must match); names
    /// missing from `other` are left unchanged. Returns the names that were not found.
    ///
    /// # Panics
    /// If a shared name has different shapes in the two stores.
    #[track_caller]
    pub fn copy_values_from(&mut self, other: &ParamStore) -> Vec<String> {
        let mut missing = Vec::new();
        for i in 0..self.values.len() {
            match other.get(&self.names[i]) {
                Some(j) => self.set_value(ParamId(i as u32), other.value(j)),
                None => missing.push(self.names[i].clone()),
            }
        }
        missing
    }
}
