//! Unit tests of the `idx` module.
