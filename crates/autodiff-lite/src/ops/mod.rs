//! The families of ops: each module records its ops on the tape (`impl Tape`) and holds
//! their reverse pass.

pub(crate) mod conv;
pub(crate) mod elementwise;
pub(crate) mod gaussian;
pub(crate) mod layout;
pub(crate) mod linalg;
pub(crate) mod product;
pub(crate) mod reduce;
