//! Unit tests of the `manifold` module.
