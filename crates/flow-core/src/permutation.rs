//! Fixed permutations of the coordinates (volume-preserving).

use autodiff_lite::{ParamStore, Tape, Var};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::{Bijector, FlowError, Layer, LayerSpec, LogDet};

/// `z_j = x_{perm[j]}`: a fixed reordering of the coordinates, `log|det J| = 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permutation {
    perm: Vec<usize>,
    inv: Vec<usize>,
}

impl Permutation {
    /// From an explicit permutation of `0..D`.
    ///
    /// # Errors
    /// [`FlowError::Config`] if `perm` is not a permutation.
    pub fn new(perm: Vec<usize>) -> Result<Self, FlowError> {
        let mut seen = vec![false; perm.len()];
        if !perm.iter().all(|&p| p < perm.len() && !std::mem::replace(&mut seen[p], true)) {
            return Err(FlowError::Config(format!("not a permutation: {perm:?}")));
        }
        let inv = invert(&perm);
        Ok(Self { perm, inv })
    }

    /// Reverse the coordinate order.
    pub fn reverse(dim: usize) -> Self {
        let perm: Vec<usize> = (0..dim).rev().collect();
        Self { inv: perm.clone(), perm }
    }

    /// A uniformly random permutation drawn from `rng`.
    pub fn random<R: Rng + ?Sized>(dim: usize, rng: &mut R) -> Self {
        let mut perm: Vec<usize> = (0..dim).collect();
        perm.shuffle(rng);
        let inv = invert(&perm);
        Self { perm, inv }
    }

    /// The permutation (`z_j = x_{perm[j]}`).
    pub fn as_slice(&self) -> &[usize] {
        &self.perm
    }
}

/// The inverse permutation: `inv[perm[j]] = j`.
pub(crate) fn invert(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (j, &p) in perm.iter().enumerate() {
        inv[p] = j;
    }
    inv
}

impl Bijector for Permutation {
    fn dim(&self) -> usize {
        self.perm.len()
    }

    fn forward(&self, tape: &mut Tape, _store: &ParamStore, x: Var) -> (Var, LogDet) {
        (tape.permute_cols(x, &self.perm), LogDet::Zero)
    }

    fn inverse(&self, tape: &mut Tape, _store: &ParamStore, z: Var) -> (Var, LogDet) {
        (tape.permute_cols(z, &self.inv), LogDet::Zero)
    }

    fn is_volume_preserving(&self) -> bool {
        true
    }
}

impl Layer for Permutation {
    fn spec(&self) -> LayerSpec {
        LayerSpec::Permutation { perm: self.perm.clone() }
    }
}
