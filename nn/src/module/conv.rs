//! [`Conv2d`], [`MaxPool2d`] and [`AvgPool2d`] on `[N, C, H, W]` images, over autograd's im2col
//! convolution and pooling.

use std::fmt;

use autograd::{Float, Var};
use ndarray::ArrayD;
use rand::Rng;

use super::tensors::tensors;
use super::{Init, Module, Pass};

/// A 2-D convolution (cross-correlation, as in PyTorch): `[N, C, H, W]` to `[N, OC, OH, OW]`.
///
/// `weight` is `[OC, C, kh, kw]` and `bias` `[OC]`, PyTorch's layout.
///
/// # Panics
/// In [`forward`](Module::forward), when the input is not `[N, C, H, W]` with the filters' `C`, a stride is
/// 0, or the kernel is larger than the padded image; the message shows the layer and the input's shape.
///
/// ```
/// use nn::module::{Conv2d, ModuleExt};
///
/// let conv = Conv2d::<f64>::new(1, 30, 5, &mut rand::rng());
/// let y = conv.predict(ndarray::Array4::zeros((2, 1, 28, 28)).into_dyn());
/// assert_eq!(y.shape(), [2, 30, 24, 24]);
/// let padded = Conv2d::<f64>::new(3, 8, 3, &mut rand::rng()).stride(2).padding(1);
/// assert_eq!(padded.predict(ndarray::Array4::zeros((1, 3, 9, 9)).into_dyn()).shape(), [1, 8, 5, 5]);
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d<T> {
    /// `[out_channels, in_channels, kh, kw]`.
    pub weight: ArrayD<T>,
    /// `[out_channels]`, or none.
    pub bias: Option<ArrayD<T>>,
    /// The step between windows, `(rows, columns)`.
    pub stride: (usize, usize),
    /// The zeros added on each side, `(rows, columns)`.
    pub padding: (usize, usize),
}

impl<T: Float> Conv2d<T> {
    /// `out_channels` square `kernel × kernel` filters over `in_channels`, stride 1, no padding, PyTorch's
    /// default initialisation.
    ///
    /// ```
    /// let conv = nn::module::Conv2d::<f64>::new(1, 30, 5, &mut rand::rng());
    /// assert_eq!((conv.weight.shape(), conv.stride, conv.padding), (&[30, 1, 5, 5][..], (1, 1), (0, 0)));
    /// ```
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize, rng: &mut impl Rng) -> Self {
        Self::with_init(
            in_channels,
            out_channels,
            (kernel, kernel),
            Init::PyTorch,
            rng,
        )
    }

    /// Filters of `kernel = (kh, kw)` initialised by `init` (fan-in `in_channels·kh·kw`), weight first.
    ///
    /// ```
    /// use nn::module::{Conv2d, Init};
    /// let conv = Conv2d::<f64>::with_init(3, 8, (3, 5), Init::He, &mut rand::rng());
    /// assert_eq!(conv.weight.shape(), [8, 3, 3, 5]);
    /// ```
    pub fn with_init(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        init: Init,
        rng: &mut impl Rng,
    ) -> Self {
        let fan_in = in_channels * kernel.0 * kernel.1;
        let weight = init.weight(
            &[out_channels, in_channels, kernel.0, kernel.1],
            fan_in,
            rng,
        );
        let bias = Some(init.bias(out_channels, fan_in, rng));
        Conv2d {
            weight,
            bias,
            stride: (1, 1),
            padding: (0, 0),
        }
    }

    /// The same layer with stride `s` in both directions.
    ///
    /// ```
    /// use nn::module::{Conv2d, ModuleExt};
    /// let conv = Conv2d::<f64>::new(1, 1, 3, &mut rand::rng()).stride(2);
    /// assert_eq!(conv.predict(ndarray::Array4::zeros((1, 1, 7, 7)).into_dyn()).shape(), [1, 1, 3, 3]);
    /// ```
    pub fn stride(self, s: usize) -> Self {
        Conv2d {
            stride: (s, s),
            ..self
        }
    }

    /// The same layer with `p` zeros on every side.
    ///
    /// ```
    /// use nn::module::{Conv2d, ModuleExt};
    /// let same = Conv2d::<f64>::new(1, 1, 3, &mut rand::rng()).padding(1); // "same" size for a 3×3 kernel
    /// assert_eq!(same.predict(ndarray::Array4::zeros((1, 1, 7, 7)).into_dyn()).shape(), [1, 1, 7, 7]);
    /// ```
    pub fn padding(self, p: usize) -> Self {
        Conv2d {
            padding: (p, p),
            ..self
        }
    }

    /// The same layer without its bias.
    ///
    /// ```
    /// assert!(nn::module::Conv2d::<f64>::new(1, 2, 3, &mut rand::rng()).without_bias().bias.is_none());
    /// ```
    pub fn without_bias(self) -> Self {
        Conv2d { bias: None, ..self }
    }
}

impl<T: Float> Module<T> for Conv2d<T> {
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, T>, pass: &Pass<'_, 't, T>) -> Var<'t, T> {
        let (shape, ws) = (x.shape(), self.weight.shape());
        let kernel = (
            ws.get(2).copied().unwrap_or(0),
            ws.get(3).copied().unwrap_or(0),
        );
        let problem = window_problem(&shape, kernel, self.stride, self.padding).or_else(|| {
            (ws.len() == 4 && shape[1] != ws[1]).then(|| {
                format!(
                    "input of shape {shape:?} has {} channels, the filters {ws:?} take {}",
                    shape[1], ws[1]
                )
            })
        });
        if let Some(problem) = problem {
            panic!("{:?}: {problem}", self as &dyn Module<T>);
        }
        let bias = self.bias.as_ref().map(|b| pass.param(b));
        x.conv2d(pass.param(&self.weight), bias, self.stride, self.padding)
    }

    tensors!(Parameter weight, Parameter bias);

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.weight.shape();
        write!(
            f,
            "Conv2d({}, {}, kernel_size={:?}, stride={:?}, padding={:?}, bias={})",
            s.get(1).unwrap_or(&0),
            s.first().unwrap_or(&0),
            (s.get(2).unwrap_or(&0), s.get(3).unwrap_or(&0)),
            self.stride,
            self.padding,
            self.bias.is_some()
        )
    }
}

/// What is wrong with sliding `kernel` windows by `stride` over an input of `shape` padded by `padding`, if
/// anything: an input that is not `[N, C, H, W]`, a zero stride or kernel, or a window larger than the padded
/// image.
fn window_problem(
    shape: &[usize],
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> Option<String> {
    let &[_, _, h, w] = shape else {
        return Some(format!("input of shape {shape:?} is not [N, C, H, W]"));
    };
    if stride.0 == 0 || stride.1 == 0 || kernel.0 == 0 || kernel.1 == 0 {
        return Some(format!(
            "kernel {kernel:?} and stride {stride:?} must be positive (input of shape {shape:?})"
        ));
    }
    (h + 2 * padding.0 < kernel.0 || w + 2 * padding.1 < kernel.1).then(|| {
        format!(
            "a {}×{} window does not fit the input of shape {shape:?} padded by {padding:?}",
            kernel.0, kernel.1
        )
    })
}

/// The window settings of a pooling layer: square `kernel`, `stride` (the kernel by default, as in PyTorch)
/// and `padding`. Build it whole for windows that are not square.
///
/// ```
/// use nn::module::{MaxPool2d, ModuleExt, Pooling};
/// let pool = MaxPool2d(Pooling { kernel: (1, 2), stride: (1, 2), padding: (0, 0) });
/// let x = ndarray::Array::range(0.0, 8.0, 1.0).into_shape_with_order((1, 1, 2, 4)).unwrap().into_dyn();
/// assert_eq!(pool.predict(x).into_iter().collect::<Vec<f64>>(), [1.0, 3.0, 5.0, 7.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pooling {
    /// The window's size `(rows, columns)`.
    pub kernel: (usize, usize),
    /// The step between windows.
    pub stride: (usize, usize),
    /// The padding on each side.
    pub padding: (usize, usize),
}

impl Pooling {
    fn square(kernel: usize) -> Self {
        Pooling {
            kernel: (kernel, kernel),
            stride: (kernel, kernel),
            padding: (0, 0),
        }
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
        write!(
            f,
            "{name}(kernel_size={:?}, stride={:?}, padding={:?})",
            self.kernel, self.stride, self.padding
        )
    }
}

/// Declares a pooling layer over a `Var` pooling method.
macro_rules! pooling_layer {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        $(#[$doc])*
        ///
        /// # Panics
        /// In [`forward`](Module::forward), when the input is not `[N, C, H, W]`, a stride is 0, the window
        /// is larger than the padded image, or the padding is more than half the window (PyTorch's limit).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub Pooling);

        impl $name {
            /// Square `kernel × kernel` windows with stride `kernel` and no padding (PyTorch's defaults).
            ///
            /// ```
            #[doc = concat!("let pool = nn::module::", stringify!($name), "::new(2);")]
            /// assert_eq!((pool.0.kernel, pool.0.stride, pool.0.padding), ((2, 2), (2, 2), (0, 0)));
            /// ```
            pub fn new(kernel: usize) -> Self {
                $name(Pooling::square(kernel))
            }

            /// The same layer with stride `s` in both directions.
            ///
            /// ```
            #[doc = concat!("assert_eq!(nn::module::", stringify!($name), "::new(3).stride(1).0.stride, (1, 1));")]
            /// ```
            pub fn stride(self, s: usize) -> Self {
                $name(Pooling { stride: (s, s), ..self.0 })
            }

            /// The same layer with `p` elements of padding on every side.
            ///
            /// ```
            #[doc = concat!("assert_eq!(nn::module::", stringify!($name), "::new(3).padding(1).0.padding, (1, 1));")]
            /// ```
            pub fn padding(self, p: usize) -> Self {
                $name(Pooling { padding: (p, p), ..self.0 })
            }
        }

        impl<T: Float> Module<T> for $name {
            #[track_caller]
            fn forward<'t>(&self, x: Var<'t, T>, _pass: &Pass<'_, 't, T>) -> Var<'t, T> {
                let (shape, Pooling { kernel, stride, padding }) = (x.shape(), self.0);
                let problem = window_problem(&shape, kernel, stride, padding).or_else(|| {
                    // PyTorch's rule: beyond it, a window could hold padding only.
                    (2 * padding.0 > kernel.0 || 2 * padding.1 > kernel.1)
                        .then(|| format!("padding {padding:?} is more than half the kernel {kernel:?}"))
                });
                if let Some(problem) = problem {
                    panic!("{:?}: {problem}", self as &dyn Module<T>);
                }
                x.$method(kernel, stride, padding)
            }

            fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.describe(f, stringify!($name))
            }
        }
    };
}

pooling_layer!(
    /// The maximum of each window (`torch.nn.MaxPool2d`; padding counts as −∞).
    ///
    /// ```
    /// use nn::module::{MaxPool2d, ModuleExt};
    /// let x = ndarray::Array::range(0.0, 16.0, 1.0).into_shape_with_order((1, 1, 4, 4)).unwrap().into_dyn();
    /// let y = MaxPool2d::new(2).predict(x);
    /// assert_eq!(y.into_iter().collect::<Vec<f64>>(), [5.0, 7.0, 13.0, 15.0]);
    /// ```
    MaxPool2d,
    max_pool2d
);

pooling_layer!(
    /// The mean of each window (`torch.nn.AvgPool2d`; padding counts as zeros in the mean).
    ///
    /// ```
    /// use nn::module::{AvgPool2d, ModuleExt};
    /// let x = ndarray::Array::range(0.0, 16.0, 1.0).into_shape_with_order((1, 1, 4, 4)).unwrap().into_dyn();
    /// let y = AvgPool2d::new(2).predict(x);
    /// assert_eq!(y.into_iter().collect::<Vec<f64>>(), [2.5, 4.5, 10.5, 12.5]);
    /// ```
    AvgPool2d,
    avg_pool2d
);
