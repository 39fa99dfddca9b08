//! Coupling layers: additive (NICE) and affine (RealNVP) with a choice of log-scale
//! treatment, split into halves of the coordinates or by an arbitrary binary mask.

use autodiff_lite::{ParamId, ParamStore, Tape, Var};
use rand::Rng;

use autodiff_lite::Activation;

use crate::mlp::{LastLayerInit, Mlp, MlpConfig};
use crate::{Bijector, FlowError, Layer, LayerSpec, LogDet};

/// Which half of the coordinates conditions the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Parity {
    /// The first half (`D / 2` coordinates, rounded down) conditions the second.
    Even,
    /// The second half conditions the first.
    Odd,
}

impl Parity {
    /// `Even` for even `k`, `Odd` for odd `k` (alternating layers).
    pub fn alternating(k: usize) -> Self {
        if k % 2 == 0 { Parity::Even } else { Parity::Odd }
    }
}

/// How a coupling splits the coordinates into a conditioning and a transformed part.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Split {
    /// First and second half of the coordinates (for odd `D` the halves differ by one:
    /// the first has `D / 2`, rounded down).
    Halves(Parity),
    /// A binary mask: `true` marks a conditioning (unchanged) coordinate.
    Mask(Vec<bool>),
}

/// The treatment of the affine log-scale `s` produced by the conditioner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LogScale {
    /// `s` as the network returns it.
    Raw,
    /// `tanh(s)`: bounded in `(-1, 1)`.
    Tanh,
    /// `s - mean(s)` over the transformed coordinates of each sample: `sum(s) = 0`, so the
    /// layer is volume-preserving (the paper's code).
    MeanCentred,
    /// `tanh(s)` then mean-centred (the paper's convolutional couplings).
    TanhMeanCentred,
}

impl LogScale {
    /// True when the log-scales sum to zero by construction.
    pub fn is_centred(self) -> bool {
        matches!(self, LogScale::MeanCentred | LogScale::TanhMeanCentred)
    }
}

/// The elementwise transform of a coupling's second part given the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CouplingTransform {
    /// `z2 = x2 + t(x1)` (NICE): volume-preserving.
    Additive,
    /// `z2 = x2 * exp(s(x1)) + t(x1)` (RealNVP), `s` and `t` separate networks.
    Affine(LogScale),
}

/// Everything that defines a coupling layer's architecture.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CouplingConfig {
    /// The number of coordinates `D` (at least 2).
    pub dim: usize,
    /// How the coordinates are split.
    pub split: Split,
    /// Additive or affine.
    pub transform: CouplingTransform,
    /// Hidden widths of the conditioner MLPs (`[24, 24, 24]` in the paper's toys).
    pub hidden: Vec<usize>,
    /// Activation of the conditioner MLPs.
    pub activation: Activation,
    /// Initialisation of the conditioners' last layers.
    pub last_layer: LastLayerInit,
}

impl CouplingConfig {
    /// A coupling over halves of `dim` coordinates with the given conditioner shape.
    pub fn halves(
        dim: usize,
        parity: Parity,
        transform: CouplingTransform,
        hidden: &[usize],
        activation: Activation,
    ) -> Self {
        Self {
            dim,
            split: Split::Halves(parity),
            transform,
            hidden: hidden.to_vec(),
            activation,
            last_layer: LastLayerInit::Default,
        }
    }
}

/// A coupling layer `x = (x1, x2) -> z = (x1, h(x2; x1))` with `h` additive or affine.
///
/// Forward (data to latent): `z2 = x2 * exp(s(x1)) + t(x1)`, `log|det J| = sum s(x1)`;
/// inverse: `x2 = (z2 - t(z1)) * exp(-s(z1))`. Additive couplings have `s = 0`.
#[derive(Debug, Clone)]
pub struct Coupling {
    config: CouplingConfig,
    prefix: String,
    /// Column order `[conditioning | transformed]` when the split is not contiguous halves.
    gather: Option<Vec<usize>>,
    scatter: Option<Vec<usize>>,
    n_cond: usize,
    shift: Mlp,
    log_scale: Option<Mlp>,
}

impl Coupling {
    /// Create a coupling and register its conditioners as `<prefix>.t` (shift) and
    /// `<prefix>.s` (log-scale, affine only).
    ///
    /// # Errors
    /// [`FlowError::Config`] for `dim < 2`, a mask of the wrong length, or a mask with an
    /// empty part.
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        prefix: &str,
        config: CouplingConfig,
        rng: &mut R,
    ) -> Result<Self, FlowError> {
        let layout = Layout::of(&config)?;
        let conditioner = layout.conditioner(&config);
        let shift = Mlp::new(store, &format!("{prefix}.t"), conditioner.clone(), rng);
        let log_scale = match config.transform {
            CouplingTransform::Additive => None,
            CouplingTransform::Affine(_) => Some(Mlp::new(store, &format!("{prefix}.s"), conditioner, rng)),
        };
        Ok(layout.build(config, prefix, shift, log_scale))
    }

    /// Attach to parameters already in a store (loading a saved flow).
    ///
    /// # Errors
    /// [`FlowError::Config`] for an invalid configuration, [`FlowError::Param`] for a missing
    /// or mis-shaped parameter.
    pub fn from_store(store: &ParamStore, prefix: &str, config: CouplingConfig) -> Result<Self, FlowError> {
        let layout = Layout::of(&config)?;
        let conditioner = layout.conditioner(&config);
        let shift = Mlp::from_store(store, &format!("{prefix}.t"), conditioner.clone())?;
        let log_scale = match config.transform {
            CouplingTransform::Additive => None,
            CouplingTransform::Affine(_) => Some(Mlp::from_store(store, &format!("{prefix}.s"), conditioner)?),
        };
        Ok(layout.build(config, prefix, shift, log_scale))
    }

    /// The layer's configuration.
    pub fn config(&self) -> &CouplingConfig {
        &self.config
    }

    /// Split `x` into (conditioning, transformed) parts.
    fn split(&self, tape: &mut Tape, x: Var) -> (Var, Var) {
        let d = self.config.dim;
        match (&self.gather, &self.config.split) {
            (Some(g), _) => {
                let p = tape.permute_cols(x, g);
                (tape.select_cols(p, 0, self.n_cond), tape.select_cols(p, self.n_cond, d - self.n_cond))
            }
            (None, Split::Halves(Parity::Odd)) => {
                let h = d / 2;
                (tape.select_cols(x, h, d - h), tape.select_cols(x, 0, h))
            }
            (None, _) => (tape.select_cols(x, 0, self.n_cond), tape.select_cols(x, self.n_cond, d - self.n_cond)),
        }
    }

    /// The inverse of [`Coupling::split`].
    fn merge(&self, tape: &mut Tape, cond: Var, trans: Var) -> Var {
        match (&self.scatter, &self.config.split) {
            (Some(s), _) => {
                let c = tape.concat_cols(cond, trans);
                tape.permute_cols(c, s)
            }
            (None, Split::Halves(Parity::Odd)) => tape.concat_cols(trans, cond),
            (None, _) => tape.concat_cols(cond, trans),
        }
    }

    /// Shift `t` and (for affine couplings) treated log-scale `s` from the conditioning part.
    fn conditioner(&self, tape: &mut Tape, store: &ParamStore, cond: Var) -> (Var, Option<Var>) {
        let t = self.shift.forward(tape, store, cond);
        let s = self.log_scale.as_ref().map(|net| {
            let raw = net.forward(tape, store, cond);
            let CouplingTransform::Affine(treatment) = self.config.transform else {
                unreachable!("log-scale net only for affine")
            };
            let bounded = match treatment {
                LogScale::Tanh | LogScale::TanhMeanCentred => tape.tanh(raw),
                LogScale::Raw | LogScale::MeanCentred => raw,
            };
            if treatment.is_centred() {
                let mean = tape.row_mean(bounded);
                tape.sub(bounded, mean)
            } else {
                bounded
            }
        });
        (t, s)
    }
}

impl Bijector for Coupling {
    fn dim(&self) -> usize {
        self.config.dim
    }

    fn forward(&self, tape: &mut Tape, store: &ParamStore, x: Var) -> (Var, LogDet) {
        let (cond, trans) = self.split(tape, x);
        let (t, s) = self.conditioner(tape, store, cond);
        let (out, log_det) = match s {
            None => (tape.add(trans, t), LogDet::Zero),
            Some(s) => {
                let e = tape.exp(s);
                let scaled = tape.mul(trans, e);
                let out = tape.add(scaled, t);
                let ld = if self.is_volume_preserving() { LogDet::Zero } else { LogDet::PerSample(tape.row_sum(s)) };
                (out, ld)
            }
        };
        (self.merge(tape, cond, out), log_det)
    }

    fn inverse(&self, tape: &mut Tape, store: &ParamStore, z: Var) -> (Var, LogDet) {
        let (cond, trans) = self.split(tape, z);
        let (t, s) = self.conditioner(tape, store, cond);
        let shifted = tape.sub(trans, t);
        let (out, log_det) = match s {
            None => (shifted, LogDet::Zero),
            Some(s) => {
                let neg = tape.neg(s);
                let e = tape.exp(neg);
                let out = tape.mul(shifted, e);
                let ld = if self.is_volume_preserving() { LogDet::Zero } else { LogDet::PerSample(tape.row_sum(neg)) };
                (out, ld)
            }
        };
        (self.merge(tape, cond, out), log_det)
    }

    fn is_volume_preserving(&self) -> bool {
        match self.config.transform {
            CouplingTransform::Additive => true,
            CouplingTransform::Affine(treatment) => treatment.is_centred(),
        }
    }

    fn params(&self) -> Vec<ParamId> {
        let mut p = self.shift.params();
        if let Some(s) = &self.log_scale {
            p.extend(s.params());
        }
        p
    }
}

impl Layer for Coupling {
    fn spec(&self) -> LayerSpec {
        LayerSpec::Coupling { prefix: self.prefix.clone(), config: self.config.clone() }
    }
}

/// Column bookkeeping of a split.
struct Layout {
    n_cond: usize,
    n_trans: usize,
    gather: Option<Vec<usize>>,
}

impl Layout {
    fn of(config: &CouplingConfig) -> Result<Self, FlowError> {
        let d = config.dim;
        if d < 2 {
            return Err(FlowError::Config(format!("a coupling needs at least 2 coordinates, got {d}")));
        }
        match &config.split {
            Split::Halves(parity) => {
                let h = d / 2;
                let n_cond = if *parity == Parity::Even { h } else { d - h };
                Ok(Self { n_cond, n_trans: d - n_cond, gather: None })
            }
            Split::Mask(mask) => {
                if mask.len() != d {
                    return Err(FlowError::Config(format!("mask of length {} for {d} coordinates", mask.len())));
                }
                let cond: Vec<usize> = (0..d).filter(|&i| mask[i]).collect();
                let trans: Vec<usize> = (0..d).filter(|&i| !mask[i]).collect();
                if cond.is_empty() || trans.is_empty() {
                    return Err(FlowError::Config("a coupling mask must mark at least one coordinate each way".into()));
                }
                let n_cond = cond.len();
                let gather = [cond, trans].concat();
                Ok(Self { n_cond, n_trans: d - n_cond, gather: Some(gather) })
            }
        }
    }

    /// The shape of the conditioner networks (`s` and `t` alike): conditioning part to
    /// transformed part through the configured hidden widths.
    fn conditioner(&self, config: &CouplingConfig) -> MlpConfig {
        MlpConfig {
            widths: [vec![self.n_cond], config.hidden.clone(), vec![self.n_trans]].concat(),
            activation: config.activation,
            last_layer: config.last_layer,
        }
    }

    fn build(self, config: CouplingConfig, prefix: &str, shift: Mlp, log_scale: Option<Mlp>) -> Coupling {
        let scatter = self.gather.as_ref().map(|g| crate::permutation::invert(g));
        Coupling {
            config,
            prefix: prefix.to_owned(),
            gather: self.gather,
            scatter,
            n_cond: self.n_cond,
            shift,
            log_scale,
        }
    }
}
