//! The exponential moving average of chosen parameters ([`MovingAverage`]) and the read-only
//! views of parameter values the priors are evaluated on ([`ParamValues`]): the current
//! values, or the averaged ones where an average is kept and the current ones elsewhere.

use std::path::Path;

use autodiff_lite::{ParamId, ParamStore};
use faer::MatRef;
use flow_core::FlowError;
use flow_core::io::{load_params_into, save_params};

/// Read access to parameter values by handle: what a prior needs to compute its mean,
/// covariance or samples.
pub trait ParamValues {
    /// The value of parameter `id`.
    fn value(&self, id: ParamId) -> MatRef<'_, f64>;
}

impl ParamValues for ParamStore {
    fn value(&self, id: ParamId) -> MatRef<'_, f64> {
        ParamStore::value(self, id)
    }
}

impl<T: ParamValues + ?Sized> ParamValues for &T {
    fn value(&self, id: ParamId) -> MatRef<'_, f64> {
        (**self).value(id)
    }
}

/// An exponential moving average of chosen parameters of a store:
/// `avg <- decay avg + (1 - decay) current` after each optimiser step. It holds only the
/// parameters it averages (under their names in the model's store), so it cannot hand out
/// values of any other: for those, [`MovingAverage::over`] falls back to the current values.
#[derive(Debug, Clone)]
pub struct MovingAverage {
    /// The averaged values, named as in the model's store.
    values: ParamStore,
    /// `(handle in the model's store, handle in values)`.
    handles: Vec<(ParamId, ParamId)>,
}

impl MovingAverage {
    /// An average of the parameters `ids` of `store`, starting at their current values.
    pub fn new(store: &ParamStore, ids: &[ParamId]) -> Self {
        let mut values = ParamStore::new();
        let handles = ids.iter().map(|&id| (id, values.add(store.name(id), store.value(id).to_owned()))).collect();
        Self { values, handles }
    }

    /// `avg <- decay avg + (1 - decay) current` for every averaged parameter.
    pub fn update(&mut self, store: &ParamStore, decay: f64) {
        let keep = 1.0 - decay;
        for &(id, own) in &self.handles {
            let cur = store.value(id);
            let avg = self.values.value_mut(own);
            for j in 0..cur.ncols() {
                let (a, c) = (avg.col_as_slice_mut(j), cur.col(j));
                for (a, &c) in a.iter_mut().zip(c.iter()) {
                    *a = decay * *a + keep * c;
                }
            }
        }
    }

    /// The handles (in the model's store) of the averaged parameters.
    pub fn ids(&self) -> impl Iterator<Item = ParamId> + '_ {
        self.handles.iter().map(|&(id, _)| id)
    }

    /// The averaged value of `id` (a handle of the model's store), if it is averaged.
    pub fn get(&self, id: ParamId) -> Option<MatRef<'_, f64>> {
        self.handles.iter().find(|&&(e, _)| e == id).map(|&(_, own)| self.values.value(own))
    }

    /// Overwrite the averaged value of `id` (a handle of the model's store).
    ///
    /// # Panics
    /// If `id` is not averaged or `value` has another shape.
    #[track_caller]
    pub fn set(&mut self, id: ParamId, value: MatRef<'_, f64>) {
        let own = self.handles.iter().find(|&&(e, _)| e == id).map(|&(_, own)| own);
        let own = own.unwrap_or_else(|| panic!("MovingAverage::set: parameter {} is not averaged", id.index()));
        self.values.set_value(own, value);
    }

    /// Save the averaged values to the safetensors file `path` (named as the parameters).
    ///
    /// # Errors
    /// As [`flow_core::io::save_params`].
    pub fn save(&self, path: &Path) -> Result<(), FlowError> {
        let own: Vec<ParamId> = self.values.ids().collect();
        save_params(path, &self.values, &own)
    }

    /// Restore the averaged values from a file written by [`MovingAverage::save`].
    ///
    /// # Errors
    /// As [`flow_core::io::load_params_into`]: a missing or mis-shaped parameter names the
    /// file and the parameter.
    pub fn load(&mut self, path: &Path) -> Result<(), FlowError> {
        let own: Vec<ParamId> = self.values.ids().collect();
        load_params_into(path, &mut self.values, &own)
    }

    /// The parameters of `current` with the averaged values substituted for the averaged
    /// ones: the model whose prior is the moving average and whose other parts (the flow)
    /// are current.
    pub fn over<'a>(&'a self, current: &'a ParamStore) -> Averaged<'a> {
        Averaged { current, average: self }
    }
}

/// The view [`MovingAverage::over`] returns.
#[derive(Debug, Clone, Copy)]
pub struct Averaged<'a> {
    current: &'a ParamStore,
    average: &'a MovingAverage,
}

impl ParamValues for Averaged<'_> {
    fn value(&self, id: ParamId) -> MatRef<'_, f64> {
        self.average.get(id).unwrap_or_else(|| self.current.value(id))
    }
}

/// Which parameter values a query uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamSource {
    /// The values after the last optimiser step.
    #[default]
    Current,
    /// The moving average kept by the trainer where there is one (the prior's parameters),
    /// the current values elsewhere (the flow).
    Average,
}
