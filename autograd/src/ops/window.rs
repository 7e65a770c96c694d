//! Sliding windows over the last two axes of `[N, C, H, W]` values: `unfold` gathers every `kh × kw` window
//! into a column (im2col), and its adjoint `fold` adds columns back into an image (col2im). Both are linear,
//! each the other's backward rule, so convolution and pooling built on them (`composed/conv.rs`) are
//! differentiable to any order — double backprop through a convolution included.
//!
//! Sizes are stored as `u32` so that [`Op`] stays at 32 bytes.

use std::fmt;

use ndarray::ArrayD;
use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::{kernels, Backend, Float, Operand, Value, Var};

/// The window of an [`Unfold`] or [`Fold`]: its size and its stride.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
}

impl Window {
    /// Positions of the window along an axis of length `len` with kernel `k` and stride `s`.
    fn count(len: usize, k: u32, s: u32) -> Option<usize> {
        let (k, s) = (k as usize, s as usize);
        (len >= k).then(|| (len - k) / s + 1)
    }

    /// The output height and width for an image of `h × w`.
    #[track_caller]
    fn positions(&self, op: &str, h: usize, w: usize) -> (usize, usize) {
        match (
            Window::count(h, self.kh, self.sh),
            Window::count(w, self.kw, self.sw),
        ) {
            (Some(oh), Some(ow)) => (oh, ow),
            _ => panic!(
                "{op}: a {}×{} window does not fit a {h}×{w} image",
                self.kh, self.kw
            ),
        }
    }

    /// The geometry of these windows over `[N, C, H, W]` images of `image`'s sizes.
    #[track_caller]
    fn over(&self, op: &str, image: (usize, usize, usize, usize)) -> kernels::Windows {
        kernels::Windows {
            image,
            kernel: (self.kh as usize, self.kw as usize),
            stride: (self.sh as usize, self.sw as usize),
            out: self.positions(op, image.2, image.3),
        }
    }
}

/// Every window of `[N, C, H, W]` as a column: `[N, C·kh·kw, OH·OW]` (PyTorch's `F.unfold` layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unfold {
    /// The window.
    pub window: Window,
}

impl<T: Float> Primitive<T> for Unfold {
    const KINDS: &'static [&'static str] = &["unfold"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        x[0].with_view(|image| {
            let &[n, c, h, w] = image.shape() else {
                panic!(
                    "unfold: expected [N, C, H, W], got shape {:?}",
                    image.shape()
                )
            };
            let windows = self.window.over("unfold", (n, c, h, w));
            let (oh, ow) = windows.out;
            let (kh, kw) = windows.kernel;
            let image = image.as_standard_layout();
            let cols = kernels::im2col(image.as_slice().expect("standard layout"), &windows);
            let shape = vec![n, c * kh * kw, oh * ow];
            Value::from_array(
                ArrayD::from_shape_vec(shape, cols).expect("N·C·kh·kw·OH·OW elements"),
            )
        })
    }

    /// Each column entry's gradient goes back to the pixel it came from; overlaps add up.
    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let shape = x[0].shape();
        let fold = Fold {
            window: self.window,
            height: shape[2] as u32,
            width: shape[3] as u32,
        };
        smallvec![Some(g.apply(Op::Fold(fold)))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.window;
        write!(f, "unfold {}×{} /{}×{}", w.kh, w.kw, w.sh, w.sw)
    }
}

/// Columns `[N, C·kh·kw, OH·OW]` added back into an `[N, C, height, width]` image (col2im, the adjoint of
/// [`Unfold`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fold {
    /// The window.
    pub window: Window,
    height: u32,
    width: u32,
}

impl<T: Float> Primitive<T> for Fold {
    const KINDS: &'static [&'static str] = &["fold"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        let (h, w) = (self.height as usize, self.width as usize);
        let (kh, kw) = (self.window.kh as usize, self.window.kw as usize);
        x[0].with_view(|cols| {
            let fits = |oh: usize, ow: usize| match cols.shape() {
                &[n, rows, positions] if rows % (kh * kw) == 0 && positions == oh * ow => {
                    Some((n, rows / (kh * kw)))
                }
                _ => None,
            };
            let (oh, ow) = self.window.positions("fold", h, w);
            let Some((n, c)) = fits(oh, ow) else {
                panic!(
                    "fold: columns of shape {:?} do not fit {kh}×{kw} windows over {h}×{w}",
                    cols.shape()
                )
            };
            let windows = self.window.over("fold", (n, c, h, w));
            let cols = cols.as_standard_layout();
            let mut image = vec![T::zero(); n * c * h * w];
            kernels::col2im(
                cols.as_slice().expect("standard layout"),
                &mut image,
                &windows,
            );
            Value::from_array(
                ArrayD::from_shape_vec(vec![n, c, h, w], image).expect("N·C·H·W elements"),
            )
        })
    }

    fn vjp<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        smallvec![Some(g.apply(Op::Unfold(Unfold {
            window: self.window
        })))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.window;
        write!(
            f,
            "fold {}×{} /{}×{} into {}×{}",
            w.kh, w.kw, w.sh, w.sw, self.height, self.width
        )
    }
}

/// The window of `kernel` and `stride`, checked.
#[track_caller]
fn window(op: &str, kernel: (usize, usize), stride: (usize, usize)) -> Window {
    let narrow = |n: usize, what: &str| match u32::try_from(n) {
        Ok(n) if n > 0 => n,
        _ => panic!("{op}: {what} {n} must be between 1 and 2³²"),
    };
    Window {
        kh: narrow(kernel.0, "kernel height"),
        kw: narrow(kernel.1, "kernel width"),
        sh: narrow(stride.0, "stride"),
        sw: narrow(stride.1, "stride"),
    }
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// For each `kernel` window of `[N, C, H, W]` moved by `stride`, the position in its `H·W` plane of the
    /// window's first largest element (NaN counting as largest), as `[N, C, OH·OW]`: what max-pooling
    /// gathers. An array: it has no gradient.
    #[track_caller]
    pub(crate) fn window_argmax2d(
        self,
        kernel: (usize, usize),
        stride: (usize, usize),
    ) -> ArrayD<usize> {
        let window = window("max_pool2d", kernel, stride);
        self.with_value(|image| {
            let &[n, c, h, w] = image.shape() else {
                panic!(
                    "max_pool2d: expected [N, C, H, W], got shape {:?}",
                    image.shape()
                )
            };
            let windows = window.over("max_pool2d", (n, c, h, w));
            let image = image.as_standard_layout();
            let index =
                kernels::window_argmax(image.as_slice().expect("standard layout"), &windows);
            let (oh, ow) = windows.out;
            ArrayD::from_shape_vec(vec![n, c, oh * ow], index).expect("N·C·OH·OW positions")
        })
    }

    /// Every `kernel` window of an `[N, C, H, W]` value, moved by `stride`, as the columns of an
    /// `[N, C·kh·kw, OH·OW]` value (im2col; PyTorch's `F.unfold` without padding — pad first with
    /// [`pad`](Var::pad)). Window `(oh, ow)` is column `oh·OW + ow`; its element `(c, i, j)` is row
    /// `(c·kh + i)·kw + j`.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::Array::range(0.0, 9.0, 1.0).into_shape_with_order((1, 1, 3, 3)).unwrap());
    /// let cols = x.unfold2d((2, 2), (1, 1));
    /// assert_eq!(cols.shape(), [1, 4, 4]);
    /// assert_eq!(cols.value().slice(ndarray::s![0, .., 0]).to_vec(), [0.0, 1.0, 3.0, 4.0]); // the first window
    /// ```
    ///
    /// # Panics
    /// When the value is not 4-D, the window does not fit, or a size or stride is 0.
    #[track_caller]
    pub fn unfold2d(self, kernel: (usize, usize), stride: (usize, usize)) -> Self {
        let window = window("unfold", kernel, stride);
        self.apply(Op::Unfold(Unfold { window }))
    }

    /// Columns `[N, C·kh·kw, OH·OW]` added back into an `[N, C, height, width]` image, overlapping windows
    /// summed (col2im; PyTorch's `F.fold`): the adjoint of [`unfold2d`](Var::unfold2d).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let ones = tape.var(ndarray::Array3::<f64>::ones((1, 4, 4)));
    /// let counts = ones.fold2d((3, 3), (2, 2), (1, 1)); // how many 2×2 windows cover each pixel
    /// assert_eq!(counts.value().into_shape_with_order((3, 3)).unwrap(), ndarray::array![[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]);
    /// ```
    ///
    /// # Panics
    /// When the value is not 3-D or its shape does not fit the windows.
    #[track_caller]
    pub fn fold2d(
        self,
        size: (usize, usize),
        kernel: (usize, usize),
        stride: (usize, usize),
    ) -> Self {
        let window = window("fold", kernel, stride);
        let side = |n: usize| {
            u32::try_from(n).unwrap_or_else(|_| panic!("fold: size {n} does not fit in 32 bits"))
        };
        self.apply(Op::Fold(Fold {
            window,
            height: side(size.0),
            width: side(size.1),
        }))
    }
}
