//! Toy manifolds with a known intrinsic dimension: samplers, seeded generation with noise and
//! embedding, the registry of benchmark manifolds, and exact on-manifold errors.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use faer::{Mat, MatRef};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::{DataError, Dataset};

/// Side of a fading-squares image, in pixels (`32`).
pub const FADING_SQUARES_SIDE: usize = 32;
/// First row and column (0-based) of the bright square in a fading-squares image (`13`).
pub const FADING_SQUARES_START: usize = 13;
/// Side of the bright square, in pixels (`6`: rows and columns `13..=18`).
pub const FADING_SQUARES_SQUARE: usize = 6;

/// Major radius `R` of [`Manifold::Torus`] (distance from the axis to the tube centre).
pub const TORUS_MAJOR_RADIUS: f64 = 2.0;
/// Minor radius `r` of [`Manifold::Torus`] (radius of the tube).
pub const TORUS_MINOR_RADIUS: f64 = 1.0;

/// Seed of the fixed orthonormal bases of [`Manifold::LinearSubspace`] and
/// [`Manifold::Hypercube`]; mixed with `k` and `d` so each shape has its own basis.
const BASIS_SEED: u64 = 0x6d66_6c6f_775f_6261; // "mflow_ba"

/// ChaCha stream of the points in [`Manifold::generate`].
const STREAM_POINTS: u64 = 0;
/// ChaCha stream of the ambient noise in [`Manifold::generate`].
const STREAM_NOISE: u64 = 1;
/// ChaCha stream of the embedding rotation in [`Manifold::generate`].
const STREAM_EMBED: u64 = 2;

/// A toy manifold with known intrinsic dimension `k` inside `R^d`.
///
/// Each variant fixes one manifold and one sampling distribution on it; [`Manifold::sample`]
/// draws i.i.d. points (one per row) from a caller's RNG. Coordinates are written
/// `x = (x1, ..., xd)`; `u, v ~ U(0, 1)` and `N(0, 1)` are independent draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Manifold {
    /// The paper's sine curve in `R^2`: `x1 ~ N(0, 1)`, `x2 = sin(2 x1)`. ID 1.
    SineCurve,
    /// The unit circle in `R^2`: `t = 2 pi u`, `x = (cos t, sin t)`. ID 1.
    Circle,
    /// A helix of two turns in `R^3`: `t = 4 pi u`, `x = (cos t, sin t, t / (2 pi))`. ID 1.
    Helix,
    /// The unit `k`-sphere in `R^(k+1)`, uniform: `g ~ N(0, I_(k+1))`, `x = g / |g|`. ID `k`.
    Sphere {
        /// Intrinsic dimension; the ambient dimension is `k + 1`.
        k: usize,
    },
    /// The Swiss roll in `R^3` (scikit-learn's convention): `t = 1.5 pi (1 + 2 u)`,
    /// `h = 21 v`, `x = (t cos t, h, t sin t)`. ID 2.
    SwissRoll,
    /// The S-curve in `R^3` (scikit-learn's convention): `t = 3 pi (u - 1/2)`, `h = 2 v`,
    /// `x = (sin t, h, sign(t) (cos t - 1))`. ID 2.
    SCurve,
    /// A ring torus in `R^3` with `R = 2`, `r = 1`, uniform in both angles:
    /// `x = ((R + r cos p) cos t, (R + r cos p) sin t, r sin p)`, `t = 2 pi u`, `p = 2 pi v`. ID 2.
    Torus,
    /// A `k`-dimensional linear subspace of `R^d`: `x = B z`, `z ~ N(0, I_k)`, where `B` is a
    /// fixed `d x k` matrix with orthonormal columns (see [`subspace_basis`]). ID `k`.
    LinearSubspace {
        /// Intrinsic dimension.
        k: usize,
        /// Ambient dimension (`k <= d`).
        d: usize,
    },
    /// The unit `k`-cube inside `R^d`: `x = B z`, `z ~ U([0, 1]^k)`, with the same fixed
    /// basis `B` as [`Manifold::LinearSubspace`]. ID `k`.
    Hypercube {
        /// Intrinsic dimension.
        k: usize,
        /// Ambient dimension (`k <= d`).
        d: usize,
    },
    /// The paraboloid surface in `R^3`: `(x1, x2) ~ N(0, I_2)`, `x3 = x1^2 + x2^2`. ID 2.
    Paraboloid,
    /// A curve in `R^3` that is a graph over `x1`: `x1 ~ N(0, 1)`,
    /// `x = (x1, sin(2 x1), x1^2 / 2)`. ID 1.
    SineGraph3d,
    /// Fading squares (method.md section 4): a `32 x 32` image, zero except the `6 x 6` square
    /// at rows and columns `13..=18` (0-based) whose 36 pixels all equal `v ~ U(0, 1)`,
    /// flattened row-major (the channel-major order of a one-channel image) to `R^1024`.
    /// ID 1; the label is the brightness `v`.
    FadingSquares,
    /// A `k`-cube bent into `R^d` by a fixed random smooth map, `x = Q z + P h(z)` with
    /// `z ~ U([-1, 1]^k)` and `min(d - k, 2 k)` sine features `h` in directions orthogonal to
    /// `Q` (see [`WarpMap`]): curved in high ambient dimension, diffeomorphic to a cube. ID `k`.
    Warped {
        /// Intrinsic dimension.
        k: usize,
        /// Ambient dimension (`k <= d`).
        d: usize,
    },
}

/// Everything [`Manifold::generate`] needs besides the manifold.
///
/// The generated data is `Y = X B^T + s E`: `X` (`n x k0`) are points of the manifold in its
/// native ambient dimension `k0`, `B` (`D x k0`, orthonormal columns) the optional seeded
/// rotation into `R^D` (identity when `embed_dim` is `None`), and `E` (`n x D`) standard
/// Gaussian noise scaled by `s = noise_std`. Points, noise and rotation use separate ChaCha8
/// streams of the one seed, so switching noise or embedding on leaves the other parts alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerateOptions {
    /// Number of samples `n`.
    pub n: usize,
    /// Seed of the `ChaCha8Rng` streams.
    pub seed: u64,
    /// Standard deviation `s >= 0` of the isotropic ambient Gaussian noise (0: none).
    pub noise_std: f64,
    /// Ambient dimension `D` of a random rotation to embed into (`None`: no embedding).
    pub embed_dim: Option<usize>,
}

impl GenerateOptions {
    /// `n` noise-free samples from seed `seed`, in the manifold's native ambient dimension.
    pub fn new(n: usize, seed: u64) -> Self {
        GenerateOptions { n, seed, noise_std: 0.0, embed_dim: None }
    }

    /// Add isotropic Gaussian noise `N(0, std^2 I_D)` in the final ambient space.
    pub fn noise(mut self, std: f64) -> Self {
        self.noise_std = std;
        self
    }

    /// Embed into `R^dim` by a seeded random rotation (see [`embedding_frame`]).
    pub fn embed(mut self, dim: usize) -> Self {
        self.embed_dim = Some(dim);
        self
    }
}

/// The benchmark manifolds with known intrinsic dimension, in a fixed order: sine, circle,
/// helix, sphere-2, sphere-5, swiss-roll, s-curve, torus, paraboloid, sine-graph-3d,
/// linear-3-in-10, hypercube-3-in-10. Fading squares (ambient 1024) is left out; see
/// [`all_manifolds`].
pub fn benchmark_manifolds() -> Vec<Manifold> {
    vec![
        Manifold::SineCurve,
        Manifold::Circle,
        Manifold::Helix,
        Manifold::Sphere { k: 2 },
        Manifold::Sphere { k: 5 },
        Manifold::SwissRoll,
        Manifold::SCurve,
        Manifold::Torus,
        Manifold::Paraboloid,
        Manifold::SineGraph3d,
        Manifold::LinearSubspace { k: 3, d: 10 },
        Manifold::Hypercube { k: 3, d: 10 },
    ]
}

/// [`benchmark_manifolds`] followed by [`Manifold::FadingSquares`].
pub fn all_manifolds() -> Vec<Manifold> {
    let mut all = benchmark_manifolds();
    all.push(Manifold::FadingSquares);
    all
}

impl Manifold {
    /// The registry name: `sine`, `circle`, `helix`, `sphere-K`, `swiss-roll`, `s-curve`,
    /// `torus`, `linear-K-in-D`, `hypercube-K-in-D`, `paraboloid`, `sine-graph-3d`,
    /// `fading-squares`, `warped-K-in-D`. [`Manifold::from_name`] inverts it.
    pub fn name(&self) -> String {
        match *self {
            Manifold::SineCurve => "sine".into(),
            Manifold::Circle => "circle".into(),
            Manifold::Helix => "helix".into(),
            Manifold::Sphere { k } => format!("sphere-{k}"),
            Manifold::SwissRoll => "swiss-roll".into(),
            Manifold::SCurve => "s-curve".into(),
            Manifold::Torus => "torus".into(),
            Manifold::LinearSubspace { k, d } => format!("linear-{k}-in-{d}"),
            Manifold::Hypercube { k, d } => format!("hypercube-{k}-in-{d}"),
            Manifold::Paraboloid => "paraboloid".into(),
            Manifold::SineGraph3d => "sine-graph-3d".into(),
            Manifold::FadingSquares => "fading-squares".into(),
            Manifold::Warped { k, d } => format!("warped-{k}-in-{d}"),
        }
    }

    /// Parse a registry name (see [`Manifold::name`]; case and surrounding space are ignored,
    /// `sine-curve` is accepted for `sine`).
    ///
    /// # Errors
    /// [`DataError::UnknownManifold`] for an unknown name, `k = 0`, or `k > d`.
    pub fn from_name(name: &str) -> Result<Manifold, DataError> {
        let lower = name.trim().to_ascii_lowercase();
        let unknown = |reason: String| DataError::UnknownManifold { name: name.to_string(), reason };
        let parse_dim = |s: &str| -> Result<usize, DataError> {
            match s.parse::<usize>() {
                Ok(v) if v >= 1 => Ok(v),
                _ => Err(unknown(format!("{s:?} is not a dimension >= 1"))),
            }
        };
        let fixed = match lower.as_str() {
            "sine" | "sine-curve" => Some(Manifold::SineCurve),
            "circle" => Some(Manifold::Circle),
            "helix" => Some(Manifold::Helix),
            "swiss-roll" => Some(Manifold::SwissRoll),
            "s-curve" => Some(Manifold::SCurve),
            "torus" => Some(Manifold::Torus),
            "paraboloid" => Some(Manifold::Paraboloid),
            "sine-graph-3d" => Some(Manifold::SineGraph3d),
            "fading-squares" => Some(Manifold::FadingSquares),
            _ => None,
        };
        if let Some(m) = fixed {
            return Ok(m);
        }
        if let Some(k) = lower.strip_prefix("sphere-") {
            let k = parse_dim(k)?;
            if k == usize::MAX {
                return Err(unknown(format!("sphere-{k} would have {k} + 1 ambient dimensions")));
            }
            return Ok(Manifold::Sphere { k });
        }
        let sub = |rest: &str| -> Result<(usize, usize), DataError> {
            let (k, d) = rest.split_once("-in-").ok_or_else(|| unknown("expected the form NAME-K-in-D".into()))?;
            let (k, d) = (parse_dim(k)?, parse_dim(d)?);
            if k > d {
                return Err(unknown(format!("intrinsic dimension {k} exceeds ambient {d}")));
            }
            Ok((k, d))
        };
        if let Some(rest) = lower.strip_prefix("linear-") {
            let (k, d) = sub(rest)?;
            return Ok(Manifold::LinearSubspace { k, d });
        }
        if let Some(rest) = lower.strip_prefix("hypercube-") {
            let (k, d) = sub(rest)?;
            return Ok(Manifold::Hypercube { k, d });
        }
        if let Some(rest) = lower.strip_prefix("warped-") {
            let (k, d) = sub(rest)?;
            return Ok(Manifold::Warped { k, d });
        }
        let known: Vec<String> = all_manifolds().iter().map(Manifold::name).collect();
        Err(unknown(format!(
            "known: {} (sphere-K, linear-K-in-D, hypercube-K-in-D, warped-K-in-D take any dimensions)",
            known.join(", ")
        )))
    }

    /// The known intrinsic dimension `k`.
    pub fn intrinsic_dim(&self) -> usize {
        match *self {
            Manifold::SineCurve
            | Manifold::Circle
            | Manifold::Helix
            | Manifold::SineGraph3d
            | Manifold::FadingSquares => 1,
            Manifold::SwissRoll | Manifold::SCurve | Manifold::Torus | Manifold::Paraboloid => 2,
            Manifold::Sphere { k }
            | Manifold::LinearSubspace { k, .. }
            | Manifold::Hypercube { k, .. }
            | Manifold::Warped { k, .. } => k,
        }
    }

    /// The native ambient dimension `d` (columns of [`Manifold::sample`]).
    pub fn ambient_dim(&self) -> usize {
        match *self {
            Manifold::SineCurve | Manifold::Circle => 2,
            Manifold::Helix
            | Manifold::SwissRoll
            | Manifold::SCurve
            | Manifold::Torus
            | Manifold::Paraboloid
            | Manifold::SineGraph3d => 3,
            Manifold::Sphere { k } => k + 1,
            Manifold::LinearSubspace { d, .. } | Manifold::Hypercube { d, .. } | Manifold::Warped { d, .. } => d,
            Manifold::FadingSquares => FADING_SQUARES_SIDE * FADING_SQUARES_SIDE,
        }
    }

    /// `n` fresh i.i.d. points of the manifold, `n x d` (one per row), drawn from `rng`
    /// without noise or embedding. Training loops call this for every batch. Draws are made
    /// sample by sample, so the first `m` rows of an `n`-sample draw equal an `m`-sample draw
    /// from the same RNG state.
    ///
    /// # Panics
    /// If `k > d` for [`Manifold::LinearSubspace`] or [`Manifold::Hypercube`].
    #[track_caller]
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Mat<f64> {
        self.sample_with_params(n, rng).0
    }

    /// Like [`Manifold::sample`], also returning the one-dimensional generating parameter
    /// where there is one: `x1` for the sine curve and sine graph, the angle or roll parameter
    /// `t` for the circle, helix, Swiss roll and S-curve, the brightness `v` for fading
    /// squares; `None` for the others.
    ///
    /// # Panics
    /// If `k > d` for [`Manifold::LinearSubspace`] or [`Manifold::Hypercube`].
    #[track_caller]
    pub fn sample_with_params<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (Mat<f64>, Option<Vec<f64>>) {
        let d = self.ambient_dim();
        let mut x = Mat::<f64>::zeros(n, d);
        let mut params = Vec::with_capacity(n);
        let normal = |rng: &mut R| -> f64 { StandardNormal.sample(rng) };
        match *self {
            Manifold::SineCurve => {
                for i in 0..n {
                    let x1 = normal(rng);
                    x[(i, 0)] = x1;
                    x[(i, 1)] = (2.0 * x1).sin();
                    params.push(x1);
                }
            }
            Manifold::Circle => {
                for i in 0..n {
                    let t = 2.0 * PI * rng.random::<f64>();
                    x[(i, 0)] = t.cos();
                    x[(i, 1)] = t.sin();
                    params.push(t);
                }
            }
            Manifold::Helix => {
                for i in 0..n {
                    let t = 4.0 * PI * rng.random::<f64>();
                    x[(i, 0)] = t.cos();
                    x[(i, 1)] = t.sin();
                    x[(i, 2)] = t / (2.0 * PI);
                    params.push(t);
                }
            }
            Manifold::Sphere { .. } => {
                let mut g = vec![0.0; d];
                for i in 0..n {
                    // |g| = 0 has probability zero; redraw rather than divide by it.
                    let norm = loop {
                        g.iter_mut().for_each(|gj| *gj = normal(rng));
                        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
                        if norm > 0.0 {
                            break norm;
                        }
                    };
                    for (j, gj) in g.iter().enumerate() {
                        x[(i, j)] = gj / norm;
                    }
                }
                return (x, None);
            }
            Manifold::SwissRoll => {
                for i in 0..n {
                    let t = 1.5 * PI * (1.0 + 2.0 * rng.random::<f64>());
                    let h = 21.0 * rng.random::<f64>();
                    x[(i, 0)] = t * t.cos();
                    x[(i, 1)] = h;
                    x[(i, 2)] = t * t.sin();
                    params.push(t);
                }
            }
            Manifold::SCurve => {
                for i in 0..n {
                    let t = 3.0 * PI * (rng.random::<f64>() - 0.5);
                    let h = 2.0 * rng.random::<f64>();
                    x[(i, 0)] = t.sin();
                    x[(i, 1)] = h;
                    x[(i, 2)] = t.signum() * (t.cos() - 1.0);
                    params.push(t);
                }
            }
            Manifold::Torus => {
                for i in 0..n {
                    let t = 2.0 * PI * rng.random::<f64>();
                    let p = 2.0 * PI * rng.random::<f64>();
                    let rho = TORUS_MAJOR_RADIUS + TORUS_MINOR_RADIUS * p.cos();
                    x[(i, 0)] = rho * t.cos();
                    x[(i, 1)] = rho * t.sin();
                    x[(i, 2)] = TORUS_MINOR_RADIUS * p.sin();
                }
                return (x, None);
            }
            Manifold::LinearSubspace { k, d } | Manifold::Hypercube { k, d } => {
                let basis = subspace_basis(k, d);
                let cube = matches!(self, Manifold::Hypercube { .. });
                // Draw row by row, so sample i does not depend on n.
                let mut z = Mat::<f64>::zeros(n, k);
                for i in 0..n {
                    for j in 0..k {
                        z[(i, j)] = if cube { rng.random::<f64>() } else { normal(rng) };
                    }
                }
                return (&z * basis.transpose(), None);
            }
            Manifold::Paraboloid => {
                for i in 0..n {
                    let x1 = normal(rng);
                    let x2 = normal(rng);
                    x[(i, 0)] = x1;
                    x[(i, 1)] = x2;
                    x[(i, 2)] = x1 * x1 + x2 * x2;
                }
                return (x, None);
            }
            Manifold::SineGraph3d => {
                for i in 0..n {
                    let x1 = normal(rng);
                    x[(i, 0)] = x1;
                    x[(i, 1)] = (2.0 * x1).sin();
                    x[(i, 2)] = 0.5 * x1 * x1;
                    params.push(x1);
                }
            }
            Manifold::Warped { k, d } => return (WarpMap::new(k, d).sample(n, rng), None),
            Manifold::FadingSquares => {
                for i in 0..n {
                    let v = rng.random::<f64>();
                    for j in fading_squares_pixels() {
                        x[(i, j)] = v;
                    }
                    params.push(v);
                }
            }
        }
        (x, Some(params))
    }

    /// A seeded data set: `n` points, optional ambient noise and embedding, as described on
    /// [`GenerateOptions`]. The same options give bit-identical data. `labels` holds the
    /// generating parameter of [`Manifold::sample_with_params`] (the brightness for fading
    /// squares) and `intrinsic_dim` is `Some(k)`.
    ///
    /// For settings that come from a user, [`Manifold::try_generate`] checks them, the memory
    /// they need and the finiteness of the result instead of panicking or returning infinities.
    ///
    /// # Panics
    /// If `noise_std` is negative or not finite, if `embed_dim` is smaller than the native
    /// ambient dimension, or as [`Manifold::sample`] does.
    #[track_caller]
    pub fn generate(&self, opts: &GenerateOptions) -> Dataset {
        assert!(
            opts.noise_std.is_finite() && opts.noise_std >= 0.0,
            "noise_std must be finite and >= 0, got {}",
            opts.noise_std
        );
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        rng.set_stream(STREAM_POINTS);
        let (mut data, labels) = self.sample_with_params(opts.n, &mut rng);
        if let Some(dim) = opts.embed_dim {
            let frame = embedding_frame(self.ambient_dim(), dim, opts.seed);
            data = &data * frame.transpose();
        }
        if opts.noise_std > 0.0 {
            let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
            rng.set_stream(STREAM_NOISE);
            // Row-major draw order, so the noise of sample i does not depend on n.
            for i in 0..data.nrows() {
                for j in 0..data.ncols() {
                    let e: f64 = StandardNormal.sample(&mut rng);
                    data[(i, j)] += opts.noise_std * e;
                }
            }
        }
        Dataset { name: self.name(), data, intrinsic_dim: Some(self.intrinsic_dim()), labels }
    }

    /// An upper estimate of the memory [`Manifold::generate`] allocates for `opts`, in bytes
    /// (`None` when it exceeds `u64`): with `d` the native ambient dimension and `D` the
    /// embedding dimension, `8 (n d + n)` for the points and parameters, plus
    /// `8 (n k + d k + n d)` for the basis, coordinates and product of a linear subspace,
    /// hypercube or warped manifold (whose `d x 3k` frames are counted in the same `d k` terms
    /// three times over: `8 (3 d k)` more), plus `8 (D d + n D)` for an embedding's frame and product.
    pub fn bytes_needed(&self, opts: &GenerateOptions) -> Option<u64> {
        let (n, d) = (opts.n as u64, self.ambient_dim() as u64);
        let mul = |a: u64, b: u64| a.checked_mul(b);
        let mut words = mul(n, d)?.checked_add(n)?;
        if let Manifold::LinearSubspace { k, .. } | Manifold::Hypercube { k, .. } | Manifold::Warped { k, .. } = *self {
            let k = k as u64;
            words = words.checked_add(mul(n, k)?)?.checked_add(mul(d, k)?)?.checked_add(mul(n, d)?)?;
            if let Manifold::Warped { .. } = *self {
                words = words.checked_add(mul(3, mul(d, k)?)?)?;
            }
        }
        if let Some(big) = opts.embed_dim {
            let big = big as u64;
            words = words.checked_add(mul(big, d)?)?.checked_add(mul(n, big)?)?;
        }
        words.checked_mul(8)
    }

    /// [`Manifold::generate`] for settings that come from a user: checks them first, refuses
    /// to allocate more than `max_bytes` (see [`Manifold::bytes_needed`];
    /// [`crate::DEFAULT_MAX_BYTES`] is a reasonable cap), and refuses a result holding a
    /// non-finite value (noise so large that samples overflow).
    ///
    /// # Errors
    /// [`DataError::InvalidNoise`], [`DataError::EmbedTooSmall`],
    /// [`DataError::GenerateTooLarge`] (with the estimate), [`DataError::GeneratedNonFinite`]
    /// (the first offending entry in row-major order).
    pub fn try_generate(&self, opts: &GenerateOptions, max_bytes: u64) -> Result<Dataset, DataError> {
        if !(opts.noise_std.is_finite() && opts.noise_std >= 0.0) {
            return Err(DataError::InvalidNoise { noise_std: opts.noise_std });
        }
        if let Some(embed) = opts.embed_dim.filter(|&e| e < self.ambient_dim()) {
            return Err(DataError::EmbedTooSmall { name: self.name(), native: self.ambient_dim(), embed });
        }
        let bytes = self.bytes_needed(opts);
        if bytes.is_none_or(|b| b > max_bytes) {
            return Err(DataError::GenerateTooLarge { name: self.name(), bytes, limit: max_bytes });
        }
        let ds = self.generate(opts);
        let x = ds.data.as_ref();
        // The first non-finite entry in row-major order: the smallest (row, column) among each
        // column's first.
        let bad = (0..x.ncols()).filter_map(|j| x.col(j).iter().position(|v| !v.is_finite()).map(|i| (i, j))).min();
        if let Some((i, j)) = bad {
            return Err(DataError::GeneratedNonFinite {
                name: self.name(),
                row: i + 1,
                col: j + 1,
                value: x[(i, j)],
                noise_std: opts.noise_std,
            });
        }
        Ok(ds)
    }

    /// The distance of each row of `x` (`n x d`, native coordinates) to the manifold, where
    /// it has a closed form; `None` for the helix, Swiss roll and S-curve.
    ///
    /// - graphs, vertical residual: sine `|x2 - sin(2 x1)|`; sine-graph-3d
    ///   `sqrt((x2 - sin(2 x1))^2 + (x3 - x1^2 / 2)^2)`; paraboloid `|x3 - x1^2 - x2^2|`;
    /// - circle and spheres `| |x| - 1 |`; torus `| sqrt((rho - R)^2 + x3^2) - r |` with
    ///   `rho = sqrt(x1^2 + x2^2)`;
    /// - linear subspace `|x - B B^T x|`; hypercube
    ///   `sqrt(|x - B z|^2 + sum_i dist(z_i, [0, 1])^2)` with `z = B^T x`;
    /// - warped manifolds: the vertical residual of [`WarpMap::vertical_error`];
    /// - fading squares: the distance to the segment `{v m : v in [0, 1]}` (`m` the square's
    ///   indicator), `|x - v* m|` with `v* = clamp(<x, m> / 36, 0, 1)`.
    ///
    /// Rows with a non-finite entry get `+inf`.
    ///
    /// # Panics
    /// If `x.ncols()` differs from [`Manifold::ambient_dim`].
    #[track_caller]
    pub fn manifold_error(&self, x: MatRef<'_, f64>) -> Option<Vec<f64>> {
        assert_eq!(
            x.ncols(),
            self.ambient_dim(),
            "manifold_error: {} needs {} columns, got a {} x {} matrix",
            self.name(),
            self.ambient_dim(),
            x.nrows(),
            x.ncols()
        );
        let rows = 0..x.nrows();
        let err: Vec<f64> = match *self {
            Manifold::Helix | Manifold::SwissRoll | Manifold::SCurve => return None,
            Manifold::SineCurve => rows.map(|i| (x[(i, 1)] - (2.0 * x[(i, 0)]).sin()).abs()).collect(),
            Manifold::SineGraph3d => rows
                .map(|i| {
                    let x1 = x[(i, 0)];
                    (x[(i, 1)] - (2.0 * x1).sin()).hypot(x[(i, 2)] - 0.5 * x1 * x1)
                })
                .collect(),
            Manifold::Paraboloid => {
                rows.map(|i| (x[(i, 2)] - x[(i, 0)] * x[(i, 0)] - x[(i, 1)] * x[(i, 1)]).abs()).collect()
            }
            Manifold::Circle | Manifold::Sphere { .. } => {
                rows.map(|i| (x.row(i).iter().map(|v| v * v).sum::<f64>().sqrt() - 1.0).abs()).collect()
            }
            Manifold::Torus => rows
                .map(|i| {
                    let rho = x[(i, 0)].hypot(x[(i, 1)]);
                    ((rho - TORUS_MAJOR_RADIUS).hypot(x[(i, 2)]) - TORUS_MINOR_RADIUS).abs()
                })
                .collect(),
            Manifold::LinearSubspace { k, d } | Manifold::Hypercube { k, d } => {
                let basis = subspace_basis(k, d);
                let z = x * &basis; // n x k coordinates in the basis
                let resid = x - &z * basis.transpose();
                let cube = matches!(self, Manifold::Hypercube { .. });
                rows.map(|i| {
                    let mut sq = resid.row(i).iter().map(|v| v * v).sum::<f64>();
                    if cube {
                        sq += z.row(i).iter().map(|&zi| (zi - zi.clamp(0.0, 1.0)).powi(2)).sum::<f64>();
                    }
                    sq.sqrt()
                })
                .collect()
            }
            Manifold::Warped { k, d } => WarpMap::new(k, d).vertical_error(x),
            Manifold::FadingSquares => {
                let mut in_square = vec![false; x.ncols()];
                fading_squares_pixels().for_each(|j| in_square[j] = true);
                let m = (FADING_SQUARES_SQUARE * FADING_SQUARES_SQUARE) as f64;
                rows.map(|i| {
                    let row = x.row(i);
                    let inside: f64 = fading_squares_pixels().map(|j| row[j]).sum();
                    let v = (inside / m).clamp(0.0, 1.0);
                    // Summed term by term: the expanded |x|^2 - 2 v <x, m> + v^2 |m|^2 cancels.
                    let sq: f64 = row
                        .iter()
                        .zip(&in_square)
                        .map(|(&xj, &inside)| if inside { (xj - v).powi(2) } else { xj * xj })
                        .sum();
                    sq.sqrt()
                })
                .collect()
            }
        };
        Some(
            err.into_iter()
                .enumerate()
                .map(|(i, e)| if e.is_finite() && x.row(i).iter().all(|v| v.is_finite()) { e } else { f64::INFINITY })
                .collect(),
        )
    }

    /// The fraction of the rows of `x` strictly within `tolerance` of the manifold:
    /// `|{i : e_i < tolerance}| / n` with `e_i` the [`Manifold::manifold_error`] of row `i`
    /// (rows with a non-finite entry count as off the manifold); `None` where
    /// [`Manifold::manifold_error`] is not defined, and for an empty `x`.
    ///
    /// # Panics
    /// If `x.ncols()` differs from [`Manifold::ambient_dim`].
    #[track_caller]
    pub fn fraction_within(&self, x: MatRef<'_, f64>, tolerance: f64) -> Option<f64> {
        let err = self.manifold_error(x)?;
        if err.is_empty() {
            return None;
        }
        Some(err.iter().filter(|&&e| e < tolerance).count() as f64 / err.len() as f64)
    }
}

impl fmt::Display for Manifold {
    /// Writes [`Manifold::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Manifold {
    type Err = DataError;

    /// Same as [`Manifold::from_name`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Manifold::from_name(s)
    }
}

/// The flattened (row-major, `32 x 32`) indices of the fading-squares square: pixel
/// `(r, c)` with `r, c` in `13..=18` sits at column `32 r + c`.
pub fn fading_squares_pixels() -> impl Iterator<Item = usize> {
    let range = FADING_SQUARES_START..FADING_SQUARES_START + FADING_SQUARES_SQUARE;
    range.clone().flat_map(move |r| range.clone().map(move |c| r * FADING_SQUARES_SIDE + c))
}

/// The fixed `d x k` basis `B` (orthonormal columns, `B^T B = I_k`) spanning the subspace of
/// [`Manifold::LinearSubspace`] and [`Manifold::Hypercube`]: Gram-Schmidt on a Gaussian
/// matrix drawn from a constant seed mixed with `(k, d)`, so it is the same in every call.
///
/// # Panics
/// If `k > d`.
#[track_caller]
pub fn subspace_basis(k: usize, d: usize) -> Mat<f64> {
    assert!(k <= d, "subspace_basis: intrinsic dimension {k} exceeds ambient {d}");
    let mut rng = ChaCha8Rng::seed_from_u64(BASIS_SEED ^ ((k as u64) << 32) ^ d as u64);
    orthonormal_frame(d, k, &mut rng)
}

/// The `D x d` embedding matrix `B` (orthonormal columns) that [`Manifold::generate`] uses
/// for `GenerateOptions { seed, embed_dim: Some(D), .. }` on a manifold of native ambient
/// dimension `d`: embedded rows are `y = B x`, i.e. `Y = X B^T`, which is zero-padding to
/// `R^D` followed by a Haar-random rotation, so pairwise distances are preserved exactly.
/// `X = Y B` recovers the native coordinates (e.g. for [`Manifold::manifold_error`]).
///
/// # Panics
/// If `embed_dim < native_dim`.
#[track_caller]
pub fn embedding_frame(native_dim: usize, embed_dim: usize, seed: u64) -> Mat<f64> {
    assert!(
        embed_dim >= native_dim,
        "embedding_frame: cannot embed dimension {native_dim} into smaller dimension {embed_dim}"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(STREAM_EMBED);
    orthonormal_frame(embed_dim, native_dim, &mut rng)
}

/// A `rows x cols` matrix with orthonormal columns: modified Gram-Schmidt, applied twice for
/// orthogonality to rounding, on standard Gaussian columns (Haar-distributed frame).
fn orthonormal_frame<R: Rng + ?Sized>(rows: usize, cols: usize, rng: &mut R) -> Mat<f64> {
    debug_assert!(cols <= rows);
    let mut q = Mat::<f64>::zeros(rows, cols);
    let mut j = 0;
    while j < cols {
        let mut v: Vec<f64> = (0..rows).map(|_| StandardNormal.sample(rng)).collect();
        for _pass in 0..2 {
            for p in 0..j {
                let qp = q.col_as_slice(p);
                let dot: f64 = qp.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(qp).for_each(|(vi, qi)| *vi -= dot * qi);
            }
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        // A Gaussian column in the span of the previous ones has probability zero; redraw.
        if norm > 1e-8 {
            q.col_as_slice_mut(j).iter_mut().zip(&v).for_each(|(qi, vi)| *qi = vi / norm);
            j += 1;
        }
    }
    q
}

mod warped;
pub use warped::{WARP_AMPLITUDE, WARP_FREQUENCY, WarpMap};

#[cfg(test)]
mod tests;
