//! Shared set-up for the criterion suite (`benches/benches/suite.rs`): seeded inputs.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The seeded generator every benchmark input is drawn from.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}
