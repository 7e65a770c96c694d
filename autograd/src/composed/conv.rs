//! Convolution and pooling over `[N, C, H, W]` values, built as im2col: `unfold2d` gathers the windows into
//! columns, then one batched matrix product (convolution) or a mean per window (average pooling); max-pooling
//! gathers each window's largest element. The gradients come from the primitives — `fold2d` (col2im) for the
//! input, the product's rule for the weights, `scatter_add` for max-pooling — so a network of these is
//! differentiable twice (double backprop through a convolution).

use crate::{Backend, Float, Var};

/// The output height and width of `[N, C, H, W]` (`xs`) for a window of `kernel`, `stride` and `padding`.
fn positions(
    xs: &[usize],
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> (usize, usize) {
    let along =
        |len: usize, k: usize, s: usize, p: usize| (len + 2 * p).saturating_sub(k) / s.max(1) + 1;
    (
        along(xs[2], kernel.0, stride.0, padding.0),
        along(xs[3], kernel.1, stride.1, padding.1),
    )
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
        let (oh, ow) = positions(&xs, kernel, stride, padding);
        let y = filters.matmul(cols).reshape(&[xs[0], oc, oh, ow]);
        match bias {
            Some(b) => y + b.reshape(&[1, oc, 1, 1]),
            None => y,
        }
    }

    /// The maximum of each `kernel` window of `[N, C, H, W]`, moved by `stride`, over the input padded with
    /// `padding` elements of −∞ (`torch.nn.functional.max_pool2d`). The gradient goes to the window's first
    /// largest element, as in PyTorch: the maximum is taken as a `gather` of each window's argmax, whose adjoint
    /// `scatter_add` is the backward pass (and, being linear, makes the pooling differentiable again).
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
        let xs = self.shape();
        if xs.len() != 4 {
            panic!("max_pool2d: expected [N, C, H, W], got shape {xs:?}");
        }
        let padded = self.padded(padding, T::neg_infinity());
        let index = padded.window_argmax2d(kernel, stride);
        let (oh, ow) = positions(&xs, kernel, stride, padding);
        let ps = padded.shape();
        padded
            .reshape(&[ps[0], ps[1], ps[2] * ps[3]])
            .gather_in_range(2, index)
            .reshape(&[xs[0], xs[1], oh, ow])
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
        let xs = self.shape();
        if xs.len() != 4 {
            panic!("avg_pool2d: expected [N, C, H, W], got shape {xs:?}");
        }
        let cols = self.padded(padding, T::zero()).unfold2d(kernel, stride);
        let (oh, ow) = positions(&xs, kernel, stride, padding);
        cols.reshape(&[xs[0], xs[1], kernel.0 * kernel.1, oh * ow])
            .mean_axes(2, false)
            .reshape(&[xs[0], xs[1], oh, ow])
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
