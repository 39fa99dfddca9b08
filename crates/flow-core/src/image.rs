//! Image layers: images are rows of a batch, channel-major (`C x H x W` flattened, column
//! `(c H + y) W + x`), so every image layer composes with the vector layers.
//!
//! - [`squeeze_2x2`] (space-to-depth) and [`channel_permutation`] only reorder columns: they
//!   are [`Permutation`]s, volume-preserving and free of parameters. Flattening is a no-op.
//! - [`ConvCoupling`] is the convolutional affine coupling of the paper's image model: the
//!   first half of the channels conditions the second through a small CNN, with `tanh`
//!   log-scales centred across channels at every pixel, so the layer is volume-preserving.

use autodiff_lite::{Conv2dShape, ParamError, ParamId, ParamStore, Tape, Var};
use faer::Mat;
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use crate::{Bijector, FlowError, Layer, LayerSpec, LogDet, Permutation};

/// The shape `channels x height x width` of the images a layer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ImageShape {
    /// Channels `C`.
    pub channels: usize,
    /// Height `H` in pixels.
    pub height: usize,
    /// Width `W` in pixels.
    pub width: usize,
}

impl ImageShape {
    /// `C x H x W`.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Self { channels, height, width }
    }

    /// The number of columns of a batch of such images: `C H W`.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// True for an image without pixels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pixels per channel, `H W`.
    pub fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// The shape after [`squeeze_2x2`]: `4C x H/2 x W/2`.
    pub fn squeezed(&self) -> Self {
        Self { channels: 4 * self.channels, height: self.height / 2, width: self.width / 2 }
    }
}

/// Space-to-depth by 2 x 2: `[C, H, W] -> [4C, H/2, W/2]` with output channel
/// `(dy 2 + dx) C + c` at pixel `(i, j)` holding input channel `c` at pixel
/// `(2i + dy, 2j + dx)` (the channel order of method.md section 4). A column permutation,
/// returned with the output shape.
///
/// # Errors
/// [`FlowError::Config`] for an odd height or width or an empty image.
pub fn squeeze_2x2(shape: ImageShape) -> Result<(Permutation, ImageShape), FlowError> {
    let ImageShape { channels: c, height: h, width: w } = shape;
    if shape.is_empty() || h % 2 != 0 || w % 2 != 0 {
        return Err(FlowError::Config(format!("squeeze 2x2 needs an even, non-empty image, got {c}x{h}x{w}")));
    }
    let out = shape.squeezed();
    let mut perm = vec![0; shape.len()];
    for dy in 0..2 {
        for dx in 0..2 {
            for ci in 0..c {
                let co = (dy * 2 + dx) * c + ci;
                for i in 0..out.height {
                    for j in 0..out.width {
                        perm[(co * out.height + i) * out.width + j] = (ci * h + 2 * i + dy) * w + 2 * j + dx;
                    }
                }
            }
        }
    }
    Ok((Permutation::new(perm)?, out))
}

/// Reorder the channels: output channel `k` is input channel `channel_perm[k]` (every pixel
/// moves with its channel). A column permutation of `C H W` columns.
///
/// # Errors
/// [`FlowError::Config`] if `channel_perm` is not a permutation of `0..C`.
pub fn channel_permutation(channel_perm: &[usize], shape: ImageShape) -> Result<Permutation, FlowError> {
    if channel_perm.len() != shape.channels {
        return Err(FlowError::Config(format!(
            "a channel permutation of length {} for {} channels",
            channel_perm.len(),
            shape.channels
        )));
    }
    let hw = shape.pixels();
    let perm = channel_perm.iter().flat_map(|&c| (c * hw..(c + 1) * hw).collect::<Vec<_>>()).collect();
    Permutation::new(perm)
}

/// A fixed random channel permutation (the paper's `permute(C)`), drawn from `rng`.
///
/// # Errors
/// As [`channel_permutation`] (never for a valid shape).
pub fn random_channel_permutation<R: Rng + ?Sized>(shape: ImageShape, rng: &mut R) -> Result<Permutation, FlowError> {
    let mut order: Vec<usize> = (0..shape.channels).collect();
    order.shuffle(rng);
    channel_permutation(&order, shape)
}

/// The architecture of a [`ConvCoupling`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConvCouplingConfig {
    /// The image shape (an even number of channels, at least 2).
    pub shape: ImageShape,
    /// Channels of the hidden layers (16 in the paper).
    pub hidden: usize,
    /// Side of the first and last kernels (3 in the paper; the middle one is 1 x 1).
    pub kernel: usize,
    /// Slope of the LeakyReLU for negative inputs (0.2 in the paper).
    pub leaky_slope: f64,
}

impl ConvCouplingConfig {
    /// The paper's conditioner on images of `shape`: 16 hidden channels, 3 x 3 kernels,
    /// LeakyReLU(0.2).
    pub fn paper(shape: ImageShape) -> Self {
        Self { shape, hidden: 16, kernel: 3, leaky_slope: 0.2 }
    }

    /// The three convolutions `(geometry, output channels)`: `kernel x kernel` from `C/2` to
    /// `hidden`, `1 x 1` from `hidden` to `hidden`, `kernel x kernel` from `hidden` to `C`.
    fn convs(&self) -> [(Conv2dShape, usize); 3] {
        let ImageShape { channels: c, height: h, width: w } = self.shape;
        [
            (Conv2dShape::same(c / 2, h, w, self.kernel), self.hidden),
            (Conv2dShape::same(self.hidden, h, w, 1), self.hidden),
            (Conv2dShape::same(self.hidden, h, w, self.kernel), c),
        ]
    }

    /// The number of scalar parameters: `sum (C_in k^2 + 1) C_out` over the three
    /// convolutions.
    pub fn n_params(&self) -> usize {
        self.convs().iter().map(|(g, out)| (g.patch_len() + 1) * out).sum()
    }

    fn validate(&self) -> Result<(), FlowError> {
        let ImageShape { channels: c, height: h, width: w } = self.shape;
        if c < 2 || c % 2 != 0 || h == 0 || w == 0 {
            return Err(FlowError::Config(format!(
                "a convolutional coupling needs an even number (>= 2) of channels and a non-empty image, got \
                 {c}x{h}x{w}"
            )));
        }
        if self.hidden == 0 || self.kernel == 0 || self.kernel % 2 == 0 {
            return Err(FlowError::Config(format!(
                "a convolutional coupling needs hidden channels > 0 and an odd kernel, got hidden {} and kernel {}",
                self.hidden, self.kernel
            )));
        }
        if !self.leaky_slope.is_finite() {
            return Err(FlowError::Config(format!("LeakyReLU slope {} is not finite", self.leaky_slope)));
        }
        Ok(())
    }
}

/// The paper's convolutional affine coupling on images `[C, H, W]`:
/// `x = (x0, x1)` split into the first and last `C/2` channels,
/// `st = tanh(net(x0))` with `net = conv_k(C/2 -> h), LeakyReLU, conv_1(h -> h), LeakyReLU,
/// conv_k(h -> C)`, `s` the first `C/2` channels of `st` and `t` the rest,
/// `s <- s - mean over channels of s` at every pixel, and `z = (x0, exp(s) x1 + t)`.
/// Because the log-scales sum to zero at every pixel, `log|det J| = sum s = 0`: the layer is
/// volume-preserving. Parameters are `<prefix>.conv{0,1,2}.weight` (`C_out x C_in k k`) and
/// `.bias` (`1 x C_out`), initialised as PyTorch's `nn.Conv2d`: uniform in
/// `[-1/sqrt(fan_in), 1/sqrt(fan_in)]`, `fan_in = C_in k^2`.
#[derive(Debug, Clone)]
pub struct ConvCoupling {
    config: ConvCouplingConfig,
    prefix: String,
    convs: Vec<(ParamId, ParamId)>,
}

/// The name and shape of each convolution's weight and bias:
/// `<prefix>.conv<k>.weight` (`C_out x C_in k^2`) and `<prefix>.conv<k>.bias` (`1 x C_out`).
fn conv_params(prefix: &str, config: &ConvCouplingConfig) -> Vec<[(String, (usize, usize)); 2]> {
    config
        .convs()
        .iter()
        .enumerate()
        .map(|(k, (geometry, c_out))| {
            [
                (format!("{prefix}.conv{k}.weight"), (*c_out, geometry.patch_len())),
                (format!("{prefix}.conv{k}.bias"), (1, *c_out)),
            ]
        })
        .collect()
}

impl ConvCoupling {
    /// Create the layer and register its parameters under `prefix`.
    ///
    /// # Errors
    /// [`FlowError::Config`] for an odd channel count, an even kernel or an empty image.
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        prefix: &str,
        config: ConvCouplingConfig,
        rng: &mut R,
    ) -> Result<Self, FlowError> {
        config.validate()?;
        let convs = conv_params(prefix, &config)
            .into_iter()
            .map(|[(weight, (c_out, patch)), (bias, _)]| {
                // PyTorch's default: uniform in +-1/sqrt(fan_in) for weights and biases alike.
                let bound = 1.0 / (patch as f64).sqrt();
                let w = Mat::from_fn(c_out, patch, |_, _| rng.random_range(-bound..bound));
                let b = Mat::from_fn(1, c_out, |_, _| rng.random_range(-bound..bound));
                (store.add(weight, w), store.add(bias, b))
            })
            .collect();
        Ok(Self { config, prefix: prefix.to_owned(), convs })
    }

    /// Attach to parameters already in a store (loading a saved flow).
    ///
    /// # Errors
    /// [`FlowError::Config`] for an invalid configuration, [`FlowError::Param`] for a missing
    /// or mis-shaped parameter.
    pub fn from_store(store: &ParamStore, prefix: &str, config: ConvCouplingConfig) -> Result<Self, FlowError> {
        config.validate()?;
        let convs = conv_params(prefix, &config)
            .into_iter()
            .map(|[(weight, weight_shape), (bias, bias_shape)]| {
                Ok((store.get_shaped(&weight, weight_shape)?, store.get_shaped(&bias, bias_shape)?))
            })
            .collect::<Result<_, ParamError>>()?;
        Ok(Self { config, prefix: prefix.to_owned(), convs })
    }

    /// The layer's configuration.
    pub fn config(&self) -> &ConvCouplingConfig {
        &self.config
    }

    /// `(x0, x1)`: the first and last `C/2` channels (contiguous column blocks).
    fn split(&self, tape: &mut Tape, x: Var) -> (Var, Var) {
        let half = self.config.shape.channels / 2 * self.config.shape.pixels();
        (tape.select_cols(x, 0, half), tape.select_cols(x, half, half))
    }

    /// The centred log-scale `s` and the shift `t` from the conditioning channels.
    fn conditioner(&self, tape: &mut Tape, store: &ParamStore, x0: Var) -> (Var, Var) {
        let geometries = self.config.convs();
        let mut h = x0;
        for (k, ((geometry, _), &(w, b))) in geometries.iter().zip(&self.convs).enumerate() {
            let (wv, bv) = (tape.param(store, w), tape.param(store, b));
            h = tape.conv2d(h, wv, bv, *geometry);
            h = if k + 1 < geometries.len() { tape.leaky_relu(h, self.config.leaky_slope) } else { tape.tanh(h) };
        }
        let half_channels = self.config.shape.channels / 2;
        let half = half_channels * self.config.shape.pixels();
        let s = tape.select_cols(h, 0, half);
        let t = tape.select_cols(h, half, half);
        (tape.center_blocks(s, half_channels), t)
    }
}

impl Bijector for ConvCoupling {
    fn dim(&self) -> usize {
        self.config.shape.len()
    }

    fn forward(&self, tape: &mut Tape, store: &ParamStore, x: Var) -> (Var, LogDet) {
        let (x0, x1) = self.split(tape, x);
        let (s, t) = self.conditioner(tape, store, x0);
        let e = tape.exp(s);
        let scaled = tape.mul(x1, e);
        let z1 = tape.add(scaled, t);
        (tape.concat_cols(x0, z1), LogDet::Zero)
    }

    fn inverse(&self, tape: &mut Tape, store: &ParamStore, z: Var) -> (Var, LogDet) {
        let (z0, z1) = self.split(tape, z);
        let (s, t) = self.conditioner(tape, store, z0);
        let shifted = tape.sub(z1, t);
        let neg = tape.neg(s);
        let e = tape.exp(neg);
        let x1 = tape.mul(shifted, e);
        (tape.concat_cols(z0, x1), LogDet::Zero)
    }

    fn is_volume_preserving(&self) -> bool {
        true
    }

    fn params(&self) -> Vec<ParamId> {
        self.convs.iter().flat_map(|&(w, b)| [w, b]).collect()
    }
}

impl Layer for ConvCoupling {
    fn spec(&self) -> LayerSpec {
        LayerSpec::ConvCoupling { prefix: self.prefix.clone(), config: self.config.clone() }
    }
}

#[cfg(test)]
mod tests;
