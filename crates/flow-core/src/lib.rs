//! Bijectors with exact log-Jacobian determinants, composable into normalizing flows.
