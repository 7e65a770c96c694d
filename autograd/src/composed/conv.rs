//! Convolution and pooling over `[N, C, H, W]` values, built as im2col: `unfold2d` gathers the windows into
//! columns, then one batched matrix product (convolution), a maximum or a mean per window (pooling). The
//! gradients come from the primitives — `fold2d` (col2im) for the input, the product's rule for the weights —
//! so a network of these is differentiable twice (double backprop through a convolution).

use crate::{Backend, Float, Var};

/// The output length of an axis of `len` for a window of `kernel`, `stride` and `padding`.
fn positions(len: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    (len + 2 * padding).saturating_sub(kernel) / stride.max(1) + 1
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// The 2-D convolution of `[N, C, H, W]` with filters `weight` of `[OC, C, kh, kw]` and an optional
    /// `bias` of `[OC]`, moved by `stride`, over the input padded with `padding` zeros on each side
    /// (`torch.nn.functional.conv2d`; like every framework, a cross-correlation). The result is
    /// `[N, OC, OH, OW]` with `OH = (H + 2·ph − kh) / sh + 1`.
    ///
    /// ```
    /// use autograd::Tape;
    /// use ndarray::{Array, Array4};
    /// let tape = Tape::<f64>::new();
    /// let image = tape.var(Array::range(0.0, 16.0, 1.0).into_shape_with_order((1, 1, 4, 4)).unwrap());
    /// let sum_3x3 = tape.var(Array4::<f64>::ones((1, 1, 3, 3)));
    /// let y = image.conv2d(sum_3x3, None, (1, 1), (0, 0));
    /// assert_eq!(y.value().into_shape_with_order((2, 2)).unwrap(), ndarray::array![[45.0, 54.0], [81.0, 90.0]]);
    /// ```
    ///
    /// # Panics
    /// When the input or the filters are not 4-D, their channels differ, the bias is not `[OC]`, or the
    /// window does not fit.
    #[track_caller]
    pub fn conv2d(
        self,
        weight: Self,
        bias: Option<Self>,
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Self {
        let (xs, ws) = (self.shape(), weight.shape());
        if xs.len() != 4 || ws.len() != 4 || xs[1] != ws[1] {
            panic!("conv2d: input {xs:?} and filters {ws:?} do not fit (need [N, C, H, W] and [OC, C, kh, kw])");
        }
        if let Some(b) = bias.filter(|b| b.shape() != [ws[0]]) {
            panic!(
                "conv2d: bias of shape {:?} for {} filters",
                b.shape(),
                ws[0]
            );
        }
        let (oc, kernel) = (ws[0], (ws[2], ws[3]));
        let cols = self.padded(padding, T::zero()).unfold2d(kernel, stride);
        let filters = weight.reshape(&[oc, ws[1] * ws[2] * ws[3]]);
        let (oh, ow) = (
            positions(xs[2], ws[2], stride.0, padding.0),
            positions(xs[3], ws[3], stride.1, padding.1),
        );
        let y = filters.matmul(cols).reshape(&[xs[0], oc, oh, ow]);
        match bias {
            Some(b) => y + b.reshape(&[1, oc, 1, 1]),
            None => y,
        }
    }

    /// The maximum of each `kernel` window of `[N, C, H, W]`, moved by `stride`, over the input padded with
    /// `padding` elements of −∞ (`torch.nn.functional.max_pool2d`). Ties in a window share its gradient.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::Array::range(0.0, 16.0, 1.0).into_shape_with_order((1, 1, 4, 4)).unwrap());
    /// let y = x.max_pool2d((2, 2), (2, 2), (0, 0));
    /// assert_eq!(y.value().into_shape_with_order((2, 2)).unwrap(), ndarray::array![[5.0, 7.0], [13.0, 15.0]]);
    /// ```
    ///
    /// # Panics
    /// When the value is not 4-D or the window does not fit.
    #[track_caller]
    pub fn max_pool2d(
        self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Self {
        self.pool(
            "max_pool2d",
            kernel,
            stride,
            padding,
            T::neg_infinity(),
            |windows| windows.max_axes(2, false),
        )
    }

    /// The mean of each `kernel` window of `[N, C, H, W]`, moved by `stride`, over the input padded with
    /// `padding` zeros, which count in the mean (`torch.nn.functional.avg_pool2d` with its defaults).
    ///
    /// # Panics
    /// When the value is not 4-D or the window does not fit.
    #[track_caller]
    pub fn avg_pool2d(
        self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Self {
        self.pool(
            "avg_pool2d",
            kernel,
            stride,
            padding,
            T::zero(),
            |windows| windows.mean_axes(2, false),
        )
    }

    /// Pooling: the windows of each channel as `[N, C, kh·kw, OH·OW]`, reduced over axis 2 by `reduce`.
    #[track_caller]
    fn pool(
        self,
        op: &str,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        fill: T,
        reduce: impl FnOnce(Self) -> Self,
    ) -> Self {
        let xs = self.shape();
        if xs.len() != 4 {
            panic!("{op}: expected [N, C, H, W], got shape {xs:?}");
        }
        let cols = self.padded(padding, fill).unfold2d(kernel, stride);
        let (oh, ow) = (
            positions(xs[2], kernel.0, stride.0, padding.0),
            positions(xs[3], kernel.1, stride.1, padding.1),
        );
        let windows = cols.reshape(&[xs[0], xs[1], kernel.0 * kernel.1, oh * ow]);
        reduce(windows).reshape(&[xs[0], xs[1], oh, ow])
    }

    /// The `[N, C, H, W]` value with `padding` elements of `fill` around each image, or itself without padding.
    fn padded(self, (ph, pw): (usize, usize), fill: T) -> Self {
        if ph == 0 && pw == 0 {
            self
        } else {
            self.pad(&[(0, 0), (0, 0), (ph, ph), (pw, pw)], fill)
        }
    }
}
