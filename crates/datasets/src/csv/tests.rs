//! Unit tests of the `csv` module.
