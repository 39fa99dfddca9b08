//! Unit tests of the `real` module.
