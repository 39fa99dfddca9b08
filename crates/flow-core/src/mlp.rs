//! Conditioner networks: multilayer perceptrons recorded on the tape.

use autodiff_lite::{Activation, ParamError, ParamId, ParamStore, Tape, Var};
use faer::Mat;
use rand::{Rng, RngExt};

/// How the last layer of an [`Mlp`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LastLayerInit {
    /// PyTorch's default uniform fan-in initialisation, like every other layer.
    #[default]
    Default,
    /// Zero weights and bias, so that a coupling starts as the identity.
    Zero,
}

/// The shape of an [`Mlp`]: layer widths from input to output, the activation, and the
/// initialisation of the last layer.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MlpConfig {
    /// Widths `[in, hidden..., out]` (at least two entries).
    pub widths: Vec<usize>,
    /// Nonlinearity after every layer but the last.
    pub activation: Activation,
    /// Initialisation of the last layer.
    pub last_layer: LastLayerInit,
}

impl MlpConfig {
    /// An MLP `in -> hidden[0] -> ... -> out` with the given activation and default init.
    pub fn new(input: usize, hidden: &[usize], output: usize, activation: Activation) -> Self {
        let mut widths = vec![input];
        widths.extend_from_slice(hidden);
        widths.push(output);
        Self { widths, activation, last_layer: LastLayerInit::Default }
    }

    /// The same network with a zero-initialised last layer.
    pub fn zero_last(mut self) -> Self {
        self.last_layer = LastLayerInit::Zero;
        self
    }

    /// The number of scalar parameters: `sum_k (w_k + 1) w_{k+1}`.
    pub fn n_params(&self) -> usize {
        self.widths.windows(2).map(|w| (w[0] + 1) * w[1]).sum()
    }
}

/// A multilayer perceptron `h_{k+1} = act(h_k W_k + b_k)` (no activation after the last
/// layer), with weights `W_k` of shape `in x out` and biases `1 x out` in a [`ParamStore`].
///
/// Initialisation follows PyTorch's `nn.Linear`: weights and biases uniform in
/// `[-1/sqrt(fan_in), 1/sqrt(fan_in)]`.
#[derive(Debug, Clone)]
pub struct Mlp {
    config: MlpConfig,
    layers: Vec<(ParamId, ParamId)>,
}

impl Mlp {
    /// Register the parameters as `<prefix>.layer<k>.weight` / `.bias` and initialise them.
    ///
    /// # Panics
    /// If fewer than two widths are given or a width is zero.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(store: &mut ParamStore, prefix: &str, config: MlpConfig, rng: &mut R) -> Self {
        assert!(config.widths.len() >= 2, "Mlp::new: need at least input and output widths, got {:?}", config.widths);
        assert!(config.widths.iter().all(|&w| w > 0), "Mlp::new: zero width in {:?}", config.widths);
        let n = config.widths.len() - 1;
        let layers = (0..n)
            .map(|k| {
                let (fan_in, fan_out) = (config.widths[k], config.widths[k + 1]);
                let zero = k == n - 1 && config.last_layer == LastLayerInit::Zero;
                let bound = 1.0 / (fan_in as f64).sqrt();
                let mut draw = |r, c| {
                    if zero { Mat::zeros(r, c) } else { Mat::from_fn(r, c, |_, _| rng.random_range(-bound..bound)) }
                };
                let w = draw(fan_in, fan_out);
                let b = draw(1, fan_out);
                (store.add(format!("{prefix}.layer{k}.weight"), w), store.add(format!("{prefix}.layer{k}.bias"), b))
            })
            .collect();
        Self { config, layers }
    }

    /// Rebuild from parameters already in a store (loading).
    ///
    /// # Errors
    /// [`ParamError`] naming the first missing or mis-shaped parameter.
    pub fn from_store(store: &ParamStore, prefix: &str, config: MlpConfig) -> Result<Self, ParamError> {
        let layers = (0..config.widths.len() - 1)
            .map(|k| {
                let (fan_in, fan_out) = (config.widths[k], config.widths[k + 1]);
                Ok((
                    store.get_shaped(&format!("{prefix}.layer{k}.weight"), (fan_in, fan_out))?,
                    store.get_shaped(&format!("{prefix}.layer{k}.bias"), (1, fan_out))?,
                ))
            })
            .collect::<Result<_, ParamError>>()?;
        Ok(Self { config, layers })
    }

    /// The network's shape.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// Every parameter handle (weights and biases, layer by layer).
    pub fn params(&self) -> Vec<ParamId> {
        self.layers.iter().flat_map(|&(w, b)| [w, b]).collect()
    }

    /// Record the network on `x` (`n x in`), returning `n x out`.
    pub fn forward(&self, tape: &mut Tape, store: &ParamStore, x: Var) -> Var {
        let mut h = x;
        let last = self.layers.len() - 1;
        for (k, &(w, b)) in self.layers.iter().enumerate() {
            let (wv, bv) = (tape.param(store, w), tape.param(store, b));
            // One fused node per layer: the activation is applied in the same pass.
            let act = if k == last { Activation::Identity } else { self.config.activation };
            h = tape.linear_act(h, wv, bv, act);
        }
        h
    }
}
