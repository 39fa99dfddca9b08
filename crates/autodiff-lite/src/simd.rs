//! Runtime dispatch of elementwise kernels to the widest SIMD instruction set of the machine.
//!
//! The workspace builds for baseline x86-64 (SSE2), so plain loops vectorise two lanes wide.
//! [`dispatch`] compiles a kernel a second time with AVX2 + FMA enabled (through faer's
//! `pulp`) and picks the version at run time, so kernels written as plain scalar loops are
//! auto-vectorised four lanes wide. Both versions perform the same IEEE operations in the
//! same order (LLVM neither contracts `a * b + c` into an FMA nor reassociates sums without
//! fast-math flags), so results do not depend on the machine.

use faer::traits::pulp::{Arch, Simd, WithSimd};

struct Kernel<F>(F);

impl<R, F: FnOnce() -> R> WithSimd for Kernel<F> {
    type Output = R;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> R {
        (self.0)()
    }
}

/// Below this many elements a kernel runs as compiled: detection costs a few nanoseconds,
/// which matters for the `1 x 1` values of scalar code.
const MIN_LEN: usize = 64;

/// Run `f`, a loop over about `len` elements, compiled for the best available instruction
/// set. Pass closures marked `#[inline(always)]` so that their bodies are compiled inside the
/// dispatched function.
#[inline(always)]
pub(crate) fn dispatch<R>(len: usize, f: impl FnOnce() -> R) -> R {
    if len < MIN_LEN { f() } else { Arch::new().dispatch(Kernel(f)) }
}
