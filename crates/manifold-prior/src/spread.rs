//! The spread of the objective: its scale `s` ([`SpreadConfig::spread`]), how the noise is
//! drawn ([`SpreadNoise`]) and where it enters ([`SpreadPlacement`]).

use serde::{Deserialize, Serialize};

use crate::PriorError;

/// How the spread noise `eps` is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum SpreadNoise {
    /// `eps ~ N(0, s^2 I)`, fresh every step (the method).
    #[default]
    Random,
    /// `eps = s` in every coordinate: the released notebook's behaviour (almost certainly a
    /// typo), kept to compare with the authors' printed losses.
    ConstShift,
    /// No draw: the loss is the expectation over `eps ~ N(0, s^2 I)` of the
    /// [`SpreadNoise::Random`] loss, in closed form,
    /// `E_eps[-log N(g(x) + eps; mu, S)] = -log N(g(x); mu, S) + 0.5 s^2 tr(S^-1)`.
    /// The same objective as `Random` with no Monte-Carlo noise in its gradient. Latent
    /// placement only (the expectation through `g` has no closed form).
    Expected,
}

impl SpreadNoise {
    /// The name used on command lines and in reports (`random`, `const-shift`, `expected`).
    pub fn name(self) -> &'static str {
        match self {
            SpreadNoise::Random => "random",
            SpreadNoise::ConstShift => "const-shift",
            SpreadNoise::Expected => "expected",
        }
    }
}

/// Where the spread noise enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum SpreadPlacement {
    /// `z = g(x) + eps` (the paper).
    #[default]
    Latent,
    /// `z = g(x + eps)`: exact maximum likelihood of the noisy data under the spread prior,
    /// for a volume-preserving `g`.
    Data,
}

/// The spread of the objective: noise `N(0, s^2 I)` convolved with the latent codes and the
/// prior, `s` in standardised units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SpreadConfig {
    /// The spread scale `s` (a standard deviation, in standardised units).
    pub spread: f64,
    /// How the noise is drawn.
    pub spread_noise: SpreadNoise,
    /// Latent (paper) or data placement.
    pub placement: SpreadPlacement,
}

impl SpreadConfig {
    /// The paper's setting (method.md section 2, fig1 and fading squares): `s = 0.01`, random
    /// noise on the latent codes.
    pub fn paper() -> Self {
        Self { spread: 0.01, spread_noise: SpreadNoise::Random, placement: SpreadPlacement::Latent }
    }

    /// The same setting with another noise mode.
    pub fn with_noise(self, spread_noise: SpreadNoise) -> Self {
        Self { spread_noise, ..self }
    }

    /// Check the settings.
    ///
    /// # Errors
    /// [`PriorError::InvalidSpread`] for a non-positive or non-finite `s`;
    /// [`PriorError::ExpectedNoiseNeedsLatentPlacement`] for [`SpreadNoise::Expected`] with
    /// [`SpreadPlacement::Data`].
    pub fn validate(&self) -> Result<(), PriorError> {
        if !(self.spread > 0.0 && self.spread.is_finite()) {
            return Err(PriorError::InvalidSpread(self.spread));
        }
        if self.spread_noise == SpreadNoise::Expected && self.placement == SpreadPlacement::Data {
            return Err(PriorError::ExpectedNoiseNeedsLatentPlacement);
        }
        Ok(())
    }
}
