//! Unit tests of the `npy` module.
