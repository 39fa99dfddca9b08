//! 2-D convolution over batches of images stored as rows, and the per-position mean-centring
//! across column blocks that the convolutional couplings use.
//!
//! # Layout
//! A batch of `n` images with `C` channels of `H x W` pixels is an `n x (C H W)` matrix, one
//! image per row, channel-major: column `(c H + y) W + x` holds channel `c` at pixel `(y, x)`.
//! The tape's buffers are column-major, so the values of one channel and pixel for all `n`
//! images are contiguous. Read as a column-major `(n H W) x C` matrix, with row `r = p n + b`
//! for pixel `p = y W + x` and image `b`, the same buffer holds one channel per column. A
//! convolution is then one matrix product (im2col):
//!
//! `out[(p, b), co] = bias[co] + sum_{ci, ky, kx} col[(p, b), (ci, ky, kx)] w[co, (ci, ky, kx)]`,
//!
//! where `col[(p, b), (ci, ky, kx)] = x[b, ci, y + ky - pad, x + kx - pad]` (zero outside the
//! image). Each column of `col` is the input channel `ci` shifted by `(ky - pad, kx - pad)`,
//! copied in contiguous runs of `n` values (whole image rows at once). A `1 x 1` kernel without
//! padding needs no copy at all: `col` is the input itself.
//!
//! The reverse pass: `dw = dout^T col`, `dbias = column sums of dout`, and
//! `dx = col2im(dout w)` (the adjoint of the shifted copies: shifted accumulations).

use faer::{Accum, MatMut, MatRef};

use crate::buf::Buf;
use crate::tape::gemm;

#[cfg(test)]
mod tests;

/// The geometry of a stride-1, zero-padded 2-D convolution.
///
/// The input is `in_channels x height x width`; the kernel is `kernel x kernel` with `padding`
/// zeros on each side, so the output is `out_channels x out_height x out_width` with
/// `out_height = height + 2 padding - kernel + 1` (the same size for `padding = (kernel - 1) / 2`
/// and an odd kernel). Weights are `out_channels x (in_channels kernel kernel)`, column
/// `(ci kernel + ky) kernel + kx` (PyTorch's `[out, in, ky, kx]` flattened), the bias `1 x
/// out_channels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dShape {
    /// Input channels.
    pub in_channels: usize,
    /// Input height in pixels.
    pub height: usize,
    /// Input width in pixels.
    pub width: usize,
    /// Side of the square kernel.
    pub kernel: usize,
    /// Zeros added on each side of the input.
    pub padding: usize,
}

impl Conv2dShape {
    /// A "same" convolution: odd `kernel`, padding `(kernel - 1) / 2`.
    pub fn same(in_channels: usize, height: usize, width: usize, kernel: usize) -> Self {
        Self { in_channels, height, width, kernel, padding: kernel.saturating_sub(1) / 2 }
    }

    /// Output height `height + 2 padding - kernel + 1`.
    pub fn out_height(&self) -> usize {
        (self.height + 2 * self.padding + 1).saturating_sub(self.kernel)
    }

    /// Output width `width + 2 padding - kernel + 1`.
    pub fn out_width(&self) -> usize {
        (self.width + 2 * self.padding + 1).saturating_sub(self.kernel)
    }

    /// Columns of one weight row: `in_channels kernel^2`.
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    /// Columns of the input batch: `in_channels height width`.
    pub fn in_len(&self) -> usize {
        self.in_channels * self.height * self.width
    }

    /// True when the patch matrix is the input itself (a `1 x 1` kernel without padding).
    pub(crate) fn is_pointwise(&self) -> bool {
        self.kernel == 1 && self.padding == 0
    }

    /// For kernel offset `k` (`ky` or `kx`) and an output extent `out`, the output range
    /// whose input index `o + k - padding` lies in `0..extent`, and the first input index.
    fn valid(&self, k: usize, out: usize, extent: usize) -> (usize, usize, usize) {
        let lo = self.padding.saturating_sub(k);
        let hi = (extent + self.padding).saturating_sub(k).min(out);
        if lo >= hi {
            return (0, 0, 0);
        }
        (lo, hi, lo + k - self.padding)
    }
}

/// im2col: fill `col` (`(n out_h out_w) x patch_len`, column-major) from the input `x`
/// (`n x in_len`, column-major).
pub(crate) fn im2col(shape: &Conv2dShape, n: usize, x: &[f64], col: &mut Buf) {
    let (oh, ow) = (shape.out_height(), shape.out_width());
    let (h, w, k) = (shape.height, shape.width, shape.kernel);
    let rows = n * oh * ow;
    col.reshape(rows, shape.patch_len());
    for ci in 0..shape.in_channels {
        for ky in 0..k {
            let (y_lo, y_hi, iy0) = shape.valid(ky, oh, h);
            for kx in 0..k {
                let (x_lo, x_hi, ix0) = shape.valid(kx, ow, w);
                let c = (ci * k + ky) * k + kx;
                let dst = &mut col.data[c * rows..(c + 1) * rows];
                if x_lo >= x_hi || y_lo >= y_hi {
                    dst.fill(0.0);
                    continue;
                }
                dst[..y_lo * ow * n].fill(0.0);
                dst[y_hi * ow * n..].fill(0.0);
                let run = (x_hi - x_lo) * n;
                for oy in y_lo..y_hi {
                    let iy = iy0 + (oy - y_lo);
                    let row = &mut dst[oy * ow * n..(oy + 1) * ow * n];
                    row[..x_lo * n].fill(0.0);
                    row[x_hi * n..].fill(0.0);
                    let src = ((ci * h + iy) * w + ix0) * n;
                    row[x_lo * n..x_lo * n + run].copy_from_slice(&x[src..src + run]);
                }
            }
        }
    }
}

/// col2im, the adjoint of [`im2col`]: `dx += scatter(dcol)`.
pub(crate) fn col2im_add(shape: &Conv2dShape, n: usize, dcol: &Buf, dx: &mut [f64]) {
    let (oh, ow) = (shape.out_height(), shape.out_width());
    let (h, w, k) = (shape.height, shape.width, shape.kernel);
    let rows = n * oh * ow;
    for ci in 0..shape.in_channels {
        for ky in 0..k {
            let (y_lo, y_hi, iy0) = shape.valid(ky, oh, h);
            for kx in 0..k {
                let (x_lo, x_hi, ix0) = shape.valid(kx, ow, w);
                if x_lo >= x_hi || y_lo >= y_hi {
                    continue;
                }
                let c = (ci * k + ky) * k + kx;
                let src_col = &dcol.data[c * rows..(c + 1) * rows];
                let run = (x_hi - x_lo) * n;
                for oy in y_lo..y_hi {
                    let iy = iy0 + (oy - y_lo);
                    let src = &src_col[(oy * ow + x_lo) * n..(oy * ow + x_lo) * n + run];
                    let dst = ((ci * h + iy) * w + ix0) * n;
                    crate::simd::dispatch(run, || {
                        for (d, &s) in dx[dst..dst + run].iter_mut().zip(src) {
                            *d += s;
                        }
                    });
                }
            }
        }
    }
}

/// A column-major `rows x cols` view of a slice.
pub(crate) fn view(data: &[f64], rows: usize, cols: usize) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(data, rows, cols)
}

/// A mutable column-major `rows x cols` view of a slice.
pub(crate) fn view_mut(data: &mut [f64], rows: usize, cols: usize) -> MatMut<'_, f64> {
    MatMut::from_column_major_slice_mut(data, rows, cols)
}

/// Forward: `out = col w^T + bias`, with `out` read as `(n out_h out_w) x out_channels`.
pub(crate) fn conv_forward(shape: &Conv2dShape, n: usize, x: &Buf, w: &Buf, b: &Buf, col: &mut Buf, out: &mut Buf) {
    let rows = n * shape.out_height() * shape.out_width();
    let c_out = w.rows;
    for (j, &bj) in b.data.iter().enumerate() {
        out.data[j * rows..(j + 1) * rows].fill(bj);
    }
    let patches = if shape.is_pointwise() {
        view(&x.data, rows, shape.in_channels)
    } else {
        im2col(shape, n, &x.data, col);
        col.as_ref()
    };
    gemm(view_mut(&mut out.data, rows, c_out), Accum::Add, patches, w.as_ref().transpose(), 1.0);
}

/// `dw (=|+=) dout^T col` (`out_channels x patch_len`).
pub(crate) fn conv_weight_grad(
    shape: &Conv2dShape,
    n: usize,
    x: &Buf,
    col: &Buf,
    g: &Buf,
    dw: MatMut<'_, f64>,
    accum: Accum,
) {
    let rows = n * shape.out_height() * shape.out_width();
    let patches = if shape.is_pointwise() { view(&x.data, rows, shape.in_channels) } else { col.as_ref() };
    let c_out = dw.nrows();
    gemm(dw, accum, view(&g.data, rows, c_out).transpose(), patches, 1.0);
}

/// `dbias[co] += sum of dout's channel co`.
pub(crate) fn conv_bias_grad(rows: usize, g: &Buf, db: &mut [f64]) {
    for (j, d) in db.iter_mut().enumerate() {
        *d += crate::tape::sum_slice(&g.data[j * rows..(j + 1) * rows]);
    }
}

/// `dx += col2im(dout w)`; `dcol` is scratch.
pub(crate) fn conv_input_grad(shape: &Conv2dShape, n: usize, w: &Buf, g: &Buf, dcol: &mut Buf, dx: &mut [f64]) {
    let rows = n * shape.out_height() * shape.out_width();
    let c_out = w.rows;
    if shape.is_pointwise() {
        gemm(view_mut(dx, rows, shape.in_channels), Accum::Add, view(&g.data, rows, c_out), w.as_ref(), 1.0);
        return;
    }
    dcol.reshape(rows, shape.patch_len());
    gemm(dcol.as_mut(), Accum::Replace, view(&g.data, rows, c_out), w.as_ref(), 1.0);
    col2im_add(shape, n, dcol, dx);
}

/// `y = x - mean over blocks`: the columns form `blocks` equal blocks, and each position
/// within a block has the mean of that position across the blocks removed (for images,
/// blocks are channels and positions pixels: per-pixel centring across channels). The map is
/// an orthogonal projection, so it is its own adjoint: the reverse pass applies it to the
/// gradient.
pub(crate) fn center_blocks(x: &[f64], rows: usize, blocks: usize, out: &mut [f64]) {
    let width = x.len() / (rows * blocks);
    let block_len = rows * width;
    let scale = 1.0 / blocks as f64;
    let mut mean = vec![0.0; block_len];
    for k in 0..blocks {
        for (m, &v) in mean.iter_mut().zip(&x[k * block_len..(k + 1) * block_len]) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m *= scale);
    for k in 0..blocks {
        let (o, xs) = (&mut out[k * block_len..(k + 1) * block_len], &x[k * block_len..(k + 1) * block_len]);
        for ((o, &v), &m) in o.iter_mut().zip(xs).zip(&mean) {
            *o = v - m;
        }
    }
}
