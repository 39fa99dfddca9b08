//! A flow: a chain of bijectors, itself a bijector; encoding and decoding of plain matrices.

use autodiff_lite::{GradMode, ParamId, ParamStore, Tape, Var};
use faer::{Col, Mat, MatRef};

use crate::{Bijector, FlowError, Layer, LayerSpec, LogDet};

/// The architecture of a whole flow: its dimension and its layers in data-to-latent order.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FlowSpec {
    /// The dimension `D`.
    pub dim: usize,
    /// Layers, applied in this order by [`Flow::forward`].
    pub layers: Vec<LayerSpec>,
}

/// A composition `g = g_K o ... o g_1` of bijectors (data to latent). Its log-determinant is
/// the sum of the layers'; [`Bijector::inverse`] runs the layers in reverse.
#[derive(Debug, Default)]
pub struct Flow {
    dim: usize,
    layers: Vec<Box<dyn Layer>>,
}

impl Flow {
    /// An empty flow (the identity) on `R^dim`.
    pub fn new(dim: usize) -> Self {
        Self { dim, layers: Vec::new() }
    }

    /// Append a layer (applied after the existing ones in the data-to-latent direction).
    ///
    /// # Errors
    /// [`FlowError::Config`] when the layer's dimension differs from the flow's.
    pub fn push(&mut self, layer: impl Layer + 'static) -> Result<&mut Self, FlowError> {
        self.push_boxed(Box::new(layer))
    }

    /// [`Flow::push`] for a boxed layer.
    ///
    /// # Errors
    /// [`FlowError::Config`] when the layer's dimension differs from the flow's.
    pub fn push_boxed(&mut self, layer: Box<dyn Layer>) -> Result<&mut Self, FlowError> {
        if layer.dim() != self.dim {
            return Err(FlowError::Config(format!(
                "layer of dimension {} in a flow of dimension {}",
                layer.dim(),
                self.dim
            )));
        }
        self.layers.push(layer);
        Ok(self)
    }

    /// The layers in data-to-latent order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// The number of scalar parameters of the flow (as PyTorch's `sum(p.numel())`).
    pub fn n_params(&self, store: &ParamStore) -> usize {
        self.params().iter().map(|&id| store.value(id).nrows() * store.value(id).ncols()).sum()
    }

    /// The architecture, for saving.
    pub fn architecture(&self) -> FlowSpec {
        FlowSpec { dim: self.dim, layers: self.layers.iter().map(|l| l.spec()).collect() }
    }

    /// Rebuild a flow from its architecture on parameters already in `store`.
    ///
    /// # Errors
    /// [`FlowError::Param`] or [`FlowError::Config`] when the store does not fit the spec.
    pub fn from_spec(spec: &FlowSpec, store: &ParamStore) -> Result<Self, FlowError> {
        let mut flow = Flow::new(spec.dim);
        for layer in &spec.layers {
            flow.push_boxed(layer.attach(store)?)?;
        }
        Ok(flow)
    }

    /// Data-dependent initialisation: each layer initialises from the batch as it arrives at
    /// that layer (the output of the layers before it).
    pub fn init_from_data(&self, store: &mut ParamStore, x: MatRef<'_, f64>) {
        let mut h = x.to_owned();
        for layer in &self.layers {
            layer.init_from_data(store, h.as_ref());
            let mut tape = Tape::no_grad();
            let v = tape.leaf(h.as_ref());
            let (out, _) = layer.forward(&mut tape, store, v);
            h = tape.value(out).to_owned();
        }
    }

    /// `z = g(x)` and `log|det dg/dx|` for a plain matrix of samples, without recording a graph.
    ///
    /// # Panics
    /// If `x` does not have `D` columns.
    #[track_caller]
    pub fn encode(&self, store: &ParamStore, x: MatRef<'_, f64>) -> (Mat<f64>, Col<f64>) {
        self.run(store, x, Direction::Forward)
    }

    /// `x = g^-1(z)` and `log|det dg^-1/dz|` for a plain matrix, without recording a graph.
    ///
    /// # Panics
    /// If `z` does not have `D` columns.
    #[track_caller]
    pub fn decode(&self, store: &ParamStore, z: MatRef<'_, f64>) -> (Mat<f64>, Col<f64>) {
        self.run(store, z, Direction::Inverse)
    }

    #[track_caller]
    fn run(&self, store: &ParamStore, input: MatRef<'_, f64>, dir: Direction) -> (Mat<f64>, Col<f64>) {
        assert_eq!(
            input.ncols(),
            self.dim,
            "Flow: input has {} columns, the flow has dimension {}",
            input.ncols(),
            self.dim
        );
        let mut tape = Tape::with_mode(GradMode::NoGrad);
        let v = tape.leaf(input);
        let (out, log_det) = match dir {
            Direction::Forward => self.forward(&mut tape, store, v),
            Direction::Inverse => self.inverse(&mut tape, store, v),
        };
        let n = input.nrows();
        let ld = log_det.to_vec(&tape, n);
        (tape.value(out).to_owned(), Col::from_fn(n, |i| ld[i]))
    }
}

enum Direction {
    Forward,
    Inverse,
}

impl Bijector for Flow {
    fn dim(&self) -> usize {
        self.dim
    }

    fn forward(&self, tape: &mut Tape, store: &ParamStore, x: Var) -> (Var, LogDet) {
        let mut h = x;
        let mut total = LogDet::Zero;
        for layer in &self.layers {
            let (out, ld) = layer.forward(tape, store, h);
            total = total.add(tape, ld);
            h = out;
        }
        (h, total)
    }

    fn inverse(&self, tape: &mut Tape, store: &ParamStore, z: Var) -> (Var, LogDet) {
        let mut h = z;
        let mut total = LogDet::Zero;
        for layer in self.layers.iter().rev() {
            let (out, ld) = layer.inverse(tape, store, h);
            total = total.add(tape, ld);
            h = out;
        }
        (h, total)
    }

    fn is_volume_preserving(&self) -> bool {
        self.layers.iter().all(|l| l.is_volume_preserving())
    }

    fn params(&self) -> Vec<ParamId> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    fn init_from_data(&self, store: &mut ParamStore, x: MatRef<'_, f64>) {
        Flow::init_from_data(self, store, x);
    }
}

impl Layer for Flow {
    fn spec(&self) -> LayerSpec {
        LayerSpec::Chain(self.architecture())
    }
}
