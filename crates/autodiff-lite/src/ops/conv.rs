//! The 2-D convolution op: recording and reverse pass (the kernels and the image layout are
//! in `conv.rs`).

use faer::Accum;

use crate::backward::Reverse;
use crate::buf::Buf;
use crate::conv::{Conv2dShape, conv_backward, conv_forward};
use crate::kernels::prepare;
use crate::op::{Family, Op, Operands};
use crate::tape::{Tape, Var};

/// A recorded convolution `conv(x; w) + b`; the auxiliary slot `aux` holds the patch matrix
/// (im2col) or the per-offset partial outputs for the reverse pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ConvNode {
    x: u32,
    w: u32,
    b: u32,
    shape: Conv2dShape,
    aux: u32,
}

impl Family for ConvNode {
    fn operands(&self) -> Operands {
        [Some(self.x), Some(self.w), Some(self.b)]
    }

    fn name(&self) -> &'static str {
        "conv2d"
    }
}

impl Tape {
    /// A stride-1, zero-padded 2-D convolution of a batch of images (see [`Conv2dShape`] for
    /// the layout): `x` is `n x (C_in H W)`, one channel-major image per row; `w` is
    /// `C_out x (C_in k k)` (PyTorch's `[out, in, ky, kx]` flattened); `b` is `1 x C_out`.
    /// The output is `n x (C_out H_out W_out)`, channel-major:
    /// `out[b, co, y, x] = b[co] + sum_{ci, ky, kx} w[co, ci, ky, kx] x[b, ci, y + ky - pad, x + kx - pad]`.
    /// Computed as one matrix product with the patch matrix (im2col), which is kept for the
    /// reverse pass; a `1 x 1` kernel without padding multiplies the input directly.
    ///
    /// ```
    /// use autodiff_lite::{Conv2dShape, Tape};
    /// let mut tape = Tape::new();
    /// // One 1-channel 2 x 2 image, a 3 x 3 kernel of ones with padding 1: every output pixel
    /// // sums the whole image.
    /// let x = tape.leaf(faer::mat![[1.0, 2.0, 3.0, 4.0]].as_ref());
    /// let w = tape.leaf(faer::Mat::from_fn(1, 9, |_, _| 1.0).as_ref());
    /// let b = tape.leaf(faer::mat![[0.5]].as_ref());
    /// let y = tape.conv2d(x, w, b, Conv2dShape::same(1, 2, 2, 3));
    /// assert_eq!(tape.value(y)[(0, 0)], 10.5);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not fit the geometry; the message names them.
    #[track_caller]
    pub fn conv2d(&mut self, x: Var, w: Var, b: Var, shape: Conv2dShape) -> Var {
        let (n, cx) = self.dims(x, "conv2d");
        let (c_out, pw) = self.dims(w, "conv2d");
        let (rb, cb) = self.dims(b, "conv2d");
        assert!(
            cx == shape.in_len() && pw == shape.patch_len() && (rb, cb) == (1, c_out),
            "conv2d: x is {n}x{cx}, w is {c_out}x{pw}, b is {rb}x{cb}; the geometry {shape:?} needs x {n}x{}, \
             w {c_out}x{} and b 1x{c_out}",
            shape.in_len(),
            shape.patch_len()
        );
        assert!(
            shape.out_height() > 0 && shape.out_width() > 0,
            "conv2d: the kernel ({}) is larger than the padded image {shape:?}",
            shape.kernel
        );
        let aux = self.reserve_aux(1);
        let node = ConvNode { x: x.index, w: w.index, b: b.index, shape, aux };
        let out = self.push(Op::Conv(node), n, c_out * shape.out_height() * shape.out_width());
        let Tape { values, aux: auxs, .. } = self;
        let (lo, hi) = values.split_at_mut(out as usize);
        conv_forward(&shape, n, &lo[x.index()], &lo[w.index()], &lo[b.index()], &mut auxs[aux as usize], &mut hi[0]);
        self.var(out)
    }
}

impl ConvNode {
    /// Reverse pass: `g` is the gradient of this node's value.
    pub(crate) fn reverse(&self, g: &Buf, r: &mut Reverse<'_, '_, '_>) {
        let ConvNode { x, w, b, shape, aux } = *self;
        let (xv, wv) = (&r.values[x as usize], &r.values[w as usize]);
        // The operands' gradient buffers are moved out, filled together, and put back (x, w
        // and b are distinct nodes).
        let mut db = None;
        let mut dw = None;
        let mut dx = None;
        if r.needs[b as usize] {
            let (t, live) = r.grads.target(b);
            prepare(t, live, 1, wv.rows);
            db = Some(std::mem::take(&mut t.data));
        }
        if r.needs[w as usize] {
            let (t, live) = r.grads.target(w);
            t.reshape(wv.rows, wv.cols);
            dw = Some((std::mem::take(&mut t.data), if live { Accum::Add } else { Accum::Replace }));
        }
        if r.needs[x as usize] {
            // A gradient that is not live yet is written, not zeroed and added to.
            let (t, live) = r.grads.target(x);
            t.reshape(xv.rows, xv.cols);
            dx = Some((std::mem::take(&mut t.data), if live { Accum::Add } else { Accum::Replace }));
        }
        conv_backward(
            &shape,
            xv,
            wv,
            &r.aux[aux as usize],
            g,
            &mut r.scratch[0],
            db.as_deref_mut(),
            dw.as_mut().map(|(d, acc)| (d.as_mut_slice(), *acc)),
            dx.as_mut().map(|(d, acc)| (d.as_mut_slice(), *acc)),
        );
        if let Some(d) = db {
            r.grads.buf(b).data = d;
        }
        if let Some((d, _)) = dw {
            r.grads.buf(w).data = d;
        }
        if let Some((d, _)) = dx {
            r.grads.buf(x).data = d;
        }
    }
}
