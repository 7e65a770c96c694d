//! Shape rules shared by every op: NumPy broadcasting.
//!
//! Broadcasting lives here and nowhere else: element-wise ops ask [`broadcast_shapes`] for their output shape,
//! and the backward pass sums each incoming gradient whose shape differs from its operand's back to that shape,
//! once, in `backward.rs`.

/// The shape two operands broadcast to under NumPy's rules (align trailing axes; a 1 stretches).
///
/// # Panics
/// When the shapes are incompatible, naming `op` and both shapes, at the caller's line.
#[track_caller]
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Vec<usize> {
    if a == b {
        return a.to_vec();
    }
    match try_broadcast_shapes(a, b) {
        Some(shape) => shape,
        None => panic!("{op}: shapes {a:?} and {b:?} cannot be broadcast together"),
    }
}

/// The shape two operands broadcast to, or `None` when they do not.
///
/// ```
/// use autograd::shape::try_broadcast_shapes;
/// assert_eq!(try_broadcast_shapes(&[3, 1], &[4]), Some(vec![3, 4]));
/// assert_eq!(try_broadcast_shapes(&[3], &[4]), None);
/// ```
pub fn try_broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], k: usize| {
        if k < rank - s.len() {
            1
        } else {
            s[k - (rank - s.len())]
        }
    };
    (0..rank)
        .map(|k| match (dim(a, k), dim(b, k)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// The number of elements of a shape.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The axes a reduction runs over: one (`1`, `-1`, `Axis(1)`), several (`[0, 2]`, `&[0, 2][..]`, a `Vec`), or
/// all (`..`). Negative numbers count from the last axis, as in NumPy and PyTorch.
///
/// ```
/// use autograd::shape::Axes;
/// assert_eq!(Axes::from(-1).resolve("sum", &[2, 3, 4]), vec![2]);
/// assert_eq!(Axes::from([2, 0]).resolve("sum", &[2, 3, 4]), vec![0, 2]);
/// assert_eq!(Axes::from(..).resolve("sum", &[2, 3]), vec![0, 1]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Axes {
    /// Every axis.
    All,
    /// These axes (negative ones from the end), in any order.
    List(Vec<isize>),
}

impl Axes {
    /// The axes as indices into `shape`, ascending, each once.
    ///
    /// # Panics
    /// When an axis is out of range or given twice, naming `op` and the shape.
    #[track_caller]
    pub fn resolve(&self, op: &str, shape: &[usize]) -> Vec<usize> {
        let list = match self {
            Axes::All => return (0..shape.len()).collect(),
            Axes::List(list) => list,
        };
        let mut axes: Vec<usize> = list
            .iter()
            .map(|&a| resolve_axis(op, a, shape.len()))
            .collect();
        axes.sort_unstable();
        if axes.windows(2).any(|w| w[0] == w[1]) {
            panic!("{op}: axes {list:?} repeat an axis of shape {shape:?}");
        }
        axes
    }
}

/// `axis` (negative from the end) as an index among `ndim` axes.
///
/// # Panics
/// When it is out of range, naming `op`.
#[track_caller]
pub fn resolve_axis(op: &str, axis: isize, ndim: usize) -> usize {
    let resolved = if axis < 0 { axis + ndim as isize } else { axis };
    if resolved < 0 || resolved as usize >= ndim {
        panic!("{op}: axis {axis} out of range for {ndim} axes");
    }
    resolved as usize
}

impl From<std::ops::RangeFull> for Axes {
    fn from(_: std::ops::RangeFull) -> Self {
        Axes::All
    }
}

impl From<ndarray::Axis> for Axes {
    fn from(axis: ndarray::Axis) -> Self {
        Axes::List(vec![axis.index() as isize])
    }
}

macro_rules! axes_from_integers {
    ($($t:ty),*) => {$(
        impl From<$t> for Axes {
            fn from(axis: $t) -> Self {
                Axes::List(vec![axis as isize])
            }
        }
        impl<const N: usize> From<[$t; N]> for Axes {
            fn from(axes: [$t; N]) -> Self {
                Axes::List(axes.iter().map(|&a| a as isize).collect())
            }
        }
        impl From<&[$t]> for Axes {
            fn from(axes: &[$t]) -> Self {
                Axes::List(axes.iter().map(|&a| a as isize).collect())
            }
        }
        impl From<Vec<$t>> for Axes {
            fn from(axes: Vec<$t>) -> Self {
                Axes::from(axes.as_slice())
            }
        }
    )*};
}

axes_from_integers!(i32, isize, usize);
