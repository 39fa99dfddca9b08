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
use crate::kernels::{gemm, sum_slice};

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

/// Zero the entries of one `n x (h w)` channel block (pixel-major runs of `n` values) that
/// lie outside the pixel rectangle `rows x cols`.
fn zero_outside(block: &mut [f64], n: usize, w: usize, rows: (usize, usize), cols: (usize, usize)) {
    let (y0, y1) = rows;
    let (x0, x1) = cols;
    if y0 >= y1 || x0 >= x1 {
        block.fill(0.0);
        return;
    }
    block[..y0 * w * n].fill(0.0);
    block[y1 * w * n..].fill(0.0);
    for iy in y0..y1 {
        let row = &mut block[iy * w * n..(iy + 1) * w * n];
        row[..x0 * n].fill(0.0);
        row[x1 * n..].fill(0.0);
    }
}

/// col2im, the adjoint of [`im2col`]: `dx (=|+=) scatter(dcol)`. With [`Accum::Replace`] the
/// first kernel offset of each channel is copied rather than added and only the pixels it
/// does not reach are zeroed first, so no full zero-fill of `dx` is needed; every entry is
/// still the same sum in the same order (`0 + s = s`), so the result is bit-identical to
/// zeroing and adding.
pub(crate) fn col2im(shape: &Conv2dShape, n: usize, dcol: &Buf, dx: &mut [f64], accum: Accum) {
    let (oh, ow) = (shape.out_height(), shape.out_width());
    let (h, w, k) = (shape.height, shape.width, shape.kernel);
    let rows = n * oh * ow;
    for ci in 0..shape.in_channels {
        let replace = matches!(accum, Accum::Replace);
        if replace {
            // The pixels the first offset (0, 0) writes: input rows iy0 .. iy0 + (y_hi - y_lo).
            let (y_lo, y_hi, iy0) = shape.valid(0, oh, h);
            let (x_lo, x_hi, ix0) = shape.valid(0, ow, w);
            let block = &mut dx[ci * h * w * n..(ci + 1) * h * w * n];
            zero_outside(block, n, w, (iy0, iy0 + (y_hi - y_lo)), (ix0, ix0 + (x_hi - x_lo)));
        }
        for ky in 0..k {
            let (y_lo, y_hi, iy0) = shape.valid(ky, oh, h);
            for kx in 0..k {
                let (x_lo, x_hi, ix0) = shape.valid(kx, ow, w);
                if x_lo >= x_hi || y_lo >= y_hi {
                    continue;
                }
                let copy = replace && ky == 0 && kx == 0;
                let c = (ci * k + ky) * k + kx;
                let src_col = &dcol.data[c * rows..(c + 1) * rows];
                let run = (x_hi - x_lo) * n;
                for oy in y_lo..y_hi {
                    let iy = iy0 + (oy - y_lo);
                    let src = &src_col[(oy * ow + x_lo) * n..(oy * ow + x_lo) * n + run];
                    let dst = ((ci * h + iy) * w + ix0) * n;
                    if copy {
                        dx[dst..dst + run].copy_from_slice(src);
                    } else {
                        add_into(&mut dx[dst..dst + run], src);
                    }
                }
            }
        }
    }
}

/// Which side of the product the `k x k` neighbourhood is gathered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// `1 x 1` kernel, no padding: `out = x w^T` directly.
    Pointwise,
    /// im2col: gather input patches (`C_in k^2` columns), one product.
    Patches,
    /// One product to `k^2 C_out` per-offset partial outputs `Y = x W_r` (`W_r` the weights
    /// read as `C_in x (k^2 C_out)`, row-major: no copy), then shifted sums of `Y`'s column
    /// blocks. Cheaper when `C_out < C_in` (less memory traffic than im2col).
    Offsets,
}

impl Conv2dShape {
    pub(crate) fn strategy(&self, c_out: usize) -> Strategy {
        if self.is_pointwise() {
            Strategy::Pointwise
        } else if c_out < self.in_channels {
            Strategy::Offsets
        } else {
            Strategy::Patches
        }
    }
}

/// `W_r`: the `C_out x (C_in k^2)` weights read as `C_in x (k^2 C_out)` (row-major), column
/// `(ky k + kx) C_out + co`.
fn offset_weights<'a>(shape: &Conv2dShape, w: &'a [f64], c_out: usize) -> MatRef<'a, f64> {
    MatRef::from_row_major_slice(w, shape.in_channels, shape.kernel * shape.kernel * c_out)
}

/// For every kernel offset `(ky, kx)` and output channel `co`, the pairs of matching runs
/// `f(offset column, output-pixel start, input-pixel start, run length in pixels)`: output
/// pixel `(oy, ox)` reads input pixel `(oy + ky - pad, ox + kx - pad)`.
fn for_each_offset_run(shape: &Conv2dShape, mut f: impl FnMut(usize, usize, usize, usize)) {
    let (oh, ow) = (shape.out_height(), shape.out_width());
    let (w, k) = (shape.width, shape.kernel);
    for ky in 0..k {
        let (y_lo, y_hi, iy0) = shape.valid(ky, oh, shape.height);
        for kx in 0..k {
            let (x_lo, x_hi, ix0) = shape.valid(kx, ow, w);
            if x_lo >= x_hi || y_lo >= y_hi {
                continue;
            }
            for oy in y_lo..y_hi {
                let iy = iy0 + (oy - y_lo);
                f(ky * k + kx, oy * ow + x_lo, iy * w + ix0, x_hi - x_lo);
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

/// Forward: `out = col w^T + bias` (or its [`Strategy::Offsets`] equivalent), with `out`
/// read as `(n out_h out_w) x out_channels`; `col` keeps the patches or the partial outputs.
pub(crate) fn conv_forward(shape: &Conv2dShape, n: usize, x: &Buf, w: &Buf, b: &Buf, col: &mut Buf, out: &mut Buf) {
    let rows = n * shape.out_height() * shape.out_width();
    let c_out = w.rows;
    for (j, &bj) in b.data.iter().enumerate() {
        out.data[j * rows..(j + 1) * rows].fill(bj);
    }
    match shape.strategy(c_out) {
        Strategy::Pointwise => {
            let x = view(&x.data, rows, shape.in_channels);
            gemm(view_mut(&mut out.data, rows, c_out), Accum::Add, x, w.as_ref().transpose(), 1.0);
        }
        Strategy::Patches => {
            im2col(shape, n, &x.data, col);
            gemm(view_mut(&mut out.data, rows, c_out), Accum::Add, col.as_ref(), w.as_ref().transpose(), 1.0);
        }
        Strategy::Offsets => {
            let in_rows = n * shape.height * shape.width;
            let kk = shape.kernel * shape.kernel;
            col.reshape(in_rows, kk * c_out);
            let xv = view(&x.data, in_rows, shape.in_channels);
            gemm(col.as_mut(), Accum::Replace, xv, offset_weights(shape, &w.data, c_out), 1.0);
            for_each_offset_run(shape, |q, o, i, len| {
                for co in 0..c_out {
                    let src = &col.data[(q * c_out + co) * in_rows + i * n..][..len * n];
                    let dst = &mut out.data[co * rows + o * n..][..len * n];
                    add_into(dst, src);
                }
            });
        }
    }
}

/// `dst += src` elementwise.
#[inline]
fn add_into(dst: &mut [f64], src: &[f64]) {
    crate::simd::dispatch(dst.len(), || {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d += s;
        }
    });
}

/// The reverse pass of [`conv_forward`]: `dbias`, `dw` and `dx` for the operands that need
/// them, each written (`Accum::Replace`, no zero-fill needed) or added (`Accum::Add`). `col`
/// is what the forward pass left; `scratch` receives the gathered gradient.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_backward(
    shape: &Conv2dShape,
    x: &Buf,
    w: &Buf,
    col: &Buf,
    g: &Buf,
    scratch: &mut Buf,
    db: Option<&mut [f64]>,
    dw: Option<(&mut [f64], Accum)>,
    dx: Option<(&mut [f64], Accum)>,
) {
    let n = x.rows;
    let rows = n * shape.out_height() * shape.out_width();
    let c_out = w.rows;
    if let Some(db) = db {
        for (j, d) in db.iter_mut().enumerate() {
            *d += sum_slice(&g.data[j * rows..(j + 1) * rows]);
        }
    }
    let gv = view(&g.data, rows, c_out);
    match shape.strategy(c_out) {
        Strategy::Pointwise => {
            let xv = view(&x.data, rows, shape.in_channels);
            if let Some((dw, accum)) = dw {
                gemm(view_mut(dw, c_out, shape.in_channels), accum, gv.transpose(), xv, 1.0);
            }
            if let Some((dx, accum)) = dx {
                gemm(view_mut(dx, rows, shape.in_channels), accum, gv, w.as_ref(), 1.0);
            }
        }
        Strategy::Patches => {
            if let Some((dw, accum)) = dw {
                gemm(view_mut(dw, c_out, shape.patch_len()), accum, gv.transpose(), col.as_ref(), 1.0);
            }
            if let Some((dx, accum)) = dx {
                scratch.reshape(rows, shape.patch_len());
                gemm(scratch.as_mut(), Accum::Replace, gv, w.as_ref(), 1.0);
                col2im(shape, n, scratch, dx, accum);
            }
        }
        Strategy::Offsets => {
            // dY: the output gradient scattered back to the input pixels of every offset.
            let in_rows = n * shape.height * shape.width;
            let kk = shape.kernel * shape.kernel;
            // Only the input pixels an offset does not reach are zeroed (not the whole buffer).
            scratch.reshape(in_rows, kk * c_out);
            let (oh, ow, k) = (shape.out_height(), shape.out_width(), shape.kernel);
            for q in 0..kk {
                let (y_lo, y_hi, iy0) = shape.valid(q / k, oh, shape.height);
                let (x_lo, x_hi, ix0) = shape.valid(q % k, ow, shape.width);
                for co in 0..c_out {
                    let block = &mut scratch.data[(q * c_out + co) * in_rows..][..in_rows];
                    zero_outside(block, n, shape.width, (iy0, iy0 + (y_hi - y_lo)), (ix0, ix0 + (x_hi - x_lo)));
                }
            }
            for_each_offset_run(shape, |q, o, i, len| {
                for co in 0..c_out {
                    let src = &g.data[co * rows + o * n..][..len * n];
                    scratch.data[(q * c_out + co) * in_rows + i * n..][..len * n].copy_from_slice(src);
                }
            });
            if let Some((dw, accum)) = dw {
                // dW_r = x^T dY, written through the same row-major reading of dw.
                let dwr = MatMut::from_row_major_slice_mut(dw, shape.in_channels, kk * c_out);
                gemm(dwr, accum, view(&x.data, in_rows, shape.in_channels).transpose(), scratch.as_ref(), 1.0);
            }
            if let Some((dx, accum)) = dx {
                let wr = offset_weights(shape, &w.data, c_out);
                gemm(view_mut(dx, in_rows, shape.in_channels), accum, scratch.as_ref(), wr.transpose(), 1.0);
            }
        }
    }
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
