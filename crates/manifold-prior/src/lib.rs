//! Learnable singular Gaussian priors, the spread-KL objective, training and the
//! intrinsic-dimension read-off.
