//! Shared set-up for the criterion suite (`benches/benches/suite.rs`): seeded inputs.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The seeded generator every benchmark input is drawn from.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The snippets of `docs/which-crate.md`, run as doctests against the library crates this
/// crate depends on directly, as a user's project would.
#[cfg(doctest)]
#[doc = include_str!("../../docs/which-crate.md")]
pub struct WhichCrateSnippets;
