//! Shape and indexing methods composed from `reshape`, `permute`, `broadcast_to`, `slice`, `slice_scatter`,
//! `concat` and `take_rows`.

use ndarray::ArrayD;

use crate::shape::{numel, resolve_axis};
use crate::{Backend, Float, Var};

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// The value without `axis` (negative from the end), which must have length 1 (`torch.squeeze(x, dim)`).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::Array3::<f64>::zeros((2, 1, 3)));
    /// assert_eq!(x.squeeze(1).shape(), [2, 3]);
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range or longer than 1.
    #[track_caller]
    pub fn squeeze(self, axis: isize) -> Self {
        let mut shape = self.shape();
        let axis = resolve_axis("squeeze", axis, shape.len());
        if shape[axis] != 1 {
            panic!("squeeze: axis {axis} of shape {shape:?} is not of length 1");
        }
        shape.remove(axis);
        self.reshape(&shape)
    }

    /// The value with a new axis of length 1 at `axis` (negative counts from the end of the result, as in
    /// `torch.unsqueeze`).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![1.0, 2.0]);
    /// assert_eq!(x.unsqueeze(0).shape(), [1, 2]);
    /// assert_eq!(x.unsqueeze(-1).shape(), [2, 1]);
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range for the result.
    #[track_caller]
    pub fn unsqueeze(self, axis: isize) -> Self {
        let mut shape = self.shape();
        let axis = resolve_axis("unsqueeze", axis, shape.len() + 1);
        shape.insert(axis, 1);
        self.reshape(&shape)
    }

    /// Axes `start..=end` (negative from the end) merged into one (`torch.flatten(x, start_dim, end_dim)`;
    /// `x.flatten(1, -1)` keeps the batch axis).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::Array4::<f64>::zeros((2, 3, 4, 5)));
    /// assert_eq!(x.flatten(1, -1).shape(), [2, 60]);
    /// assert_eq!(x.flatten(0, -1).shape(), [120]);
    /// ```
    ///
    /// # Panics
    /// When an axis is out of range or `start` comes after `end`.
    #[track_caller]
    pub fn flatten(self, start: isize, end: isize) -> Self {
        let shape = self.shape();
        let n = shape.len().max(1);
        let (s, e) = (
            resolve_axis("flatten", start, n),
            resolve_axis("flatten", end, n),
        );
        if s > e {
            panic!("flatten: start axis {s} comes after end axis {e} (shape {shape:?})");
        }
        let mut merged = shape[..s.min(shape.len())].to_vec();
        merged.push(numel(&shape[s.min(shape.len())..(e + 1).min(shape.len())]));
        merged.extend_from_slice(&shape[(e + 1).min(shape.len())..]);
        self.reshape(&merged)
    }

    /// `len` elements from `start` along `axis` (`torch.narrow`).
    ///
    /// # Panics
    /// When `axis` is out of range or `start + len` passes the axis' end.
    #[track_caller]
    pub fn narrow(self, axis: isize, start: usize, len: usize) -> Self {
        let shape = self.shape();
        let a = resolve_axis("narrow", axis, shape.len());
        if start + len > shape[a] {
            panic!(
                "narrow: {start}..{} is out of range for axis {a} of shape {shape:?}",
                start + len
            );
        }
        self.slice(axis, start, start + len, 1)
    }

    /// Pieces of `size` along `axis`, the last one shorter if the length is not a multiple
    /// (`torch.split(x, size, dim)`).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![1.0, 2.0, 3.0, 4.0, 5.0]);
    /// let shapes: Vec<_> = x.split(2, 0).iter().map(|p| p.shape()).collect();
    /// assert_eq!(shapes, [[2], [2], [1]]);
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range or `size` is 0.
    #[track_caller]
    pub fn split(self, size: usize, axis: isize) -> Vec<Self> {
        let shape = self.shape();
        let a = resolve_axis("split", axis, shape.len());
        if size == 0 {
            panic!("split: size must be at least 1 (shape {shape:?})");
        }
        (0..shape[a])
            .step_by(size)
            .map(|start| self.slice(axis, start, start + size, 1))
            .collect()
    }

    /// `chunks` pieces of (nearly) equal length along `axis`, as `torch.chunk`: each `⌈len / chunks⌉` long
    /// but the last, so there may be fewer pieces.
    ///
    /// # Panics
    /// When `axis` is out of range or `chunks` is 0.
    #[track_caller]
    pub fn chunk(self, chunks: usize, axis: isize) -> Vec<Self> {
        let shape = self.shape();
        let a = resolve_axis("chunk", axis, shape.len());
        if chunks == 0 {
            panic!("chunk: chunks must be at least 1 (shape {shape:?})");
        }
        self.split(shape[a].div_ceil(chunks).max(1), axis)
    }

    /// The operands, all of one shape, stacked along a new axis `axis` (`torch.stack`).
    ///
    /// ```
    /// use autograd::{Tape, Var};
    /// let tape = Tape::<f64>::new();
    /// let steps: Vec<_> = (0..4).map(|t| tape.var(ndarray::array![t as f64, 1.0])).collect();
    /// assert_eq!(Var::stack(&steps, 0).shape(), [4, 2]);
    /// assert_eq!(Var::stack(&steps, 1).shape(), [2, 4]);
    /// ```
    ///
    /// # Panics
    /// When `parts` is empty, the shapes differ, or `axis` is out of range.
    #[track_caller]
    pub fn stack(parts: &[Self], axis: isize) -> Self {
        let Some(first) = parts.first() else {
            panic!("stack: no operands");
        };
        let shape = first.shape();
        if let Some(other) = parts.iter().find(|p| p.shape() != shape) {
            panic!("stack: shapes {shape:?} and {:?} differ", other.shape());
        }
        let axis = resolve_axis("stack", axis, shape.len() + 1) as isize;
        let parts: Vec<Self> = parts.iter().map(|p| p.unsqueeze(axis)).collect();
        Var::concat(&parts, axis)
    }

    /// The value padded with `value`: `widths[k] = (before, after)` elements added on each side of axis `k`,
    /// one pair per axis (`numpy.pad(x, widths, constant_values=value)`).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![[1.0, 2.0]]);
    /// assert_eq!(x.pad(&[(0, 1), (1, 0)], 9.0).value(), ndarray::array![[9.0, 1.0, 2.0], [9.0, 9.0, 9.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When there is not one pair per axis.
    #[track_caller]
    pub fn pad(self, widths: &[(usize, usize)], value: T) -> Self {
        let shape = self.shape();
        if widths.len() != shape.len() {
            panic!("pad: {} pairs of widths for shape {shape:?}", widths.len());
        }
        let mut padded = self;
        for (axis, &(before, after)) in widths.iter().enumerate() {
            if before + after > 0 {
                padded = padded.pad_with_zeros(axis, before, after);
            }
        }
        if value == T::zero() {
            return padded;
        }
        let mut border = ArrayD::from_elem(padded.shape(), true);
        let inside = widths
            .iter()
            .zip(&shape)
            .map(|(&(before, _), &len)| ndarray::SliceInfoElem::from(before..before + len))
            .collect::<Vec<_>>();
        border.slice_mut(inside.as_slice()).fill(false);
        padded.masked_fill(border, value)
    }

    /// The value repeated `reps[k]` times along axis `k` (`numpy.tile`, PyTorch's `x.repeat(reps)`); with fewer
    /// `reps` than axes the leading axes are repeated once, with more the value gains leading axes.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![[1.0, 2.0]]);
    /// assert_eq!(x.tile(&[2, 2]).value(), ndarray::array![[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]].into_dyn());
    /// ```
    #[track_caller]
    pub fn tile(self, reps: &[usize]) -> Self {
        let shape = self.shape();
        let n = shape.len().max(reps.len());
        let dims: Vec<usize> = std::iter::repeat_n(1, n - shape.len())
            .chain(shape)
            .collect();
        let reps: Vec<usize> = std::iter::repeat_n(1, n - reps.len())
            .chain(reps.iter().copied())
            .collect();
        // [d0, d1] → [1, d0, 1, d1] → broadcast [r0, d0, r1, d1] → [r0·d0, r1·d1]
        let spaced: Vec<usize> = dims.iter().flat_map(|&d| [1, d]).collect();
        let repeated: Vec<usize> = reps.iter().zip(&dims).flat_map(|(&r, &d)| [r, d]).collect();
        let result: Vec<usize> = reps.iter().zip(&dims).map(|(&r, &d)| r * d).collect();
        self.reshape(&spaced)
            .broadcast_to(&repeated)
            .reshape(&result)
    }

    /// The elements at `index` along `axis`, in order, repeats allowed (`torch.index_select`); their gradients
    /// add up.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![[1.0, 2.0, 3.0]]);
    /// assert_eq!(x.index_select(1, &[2, 2, 0]).value(), ndarray::array![[3.0, 3.0, 1.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range or an index is out of range.
    #[track_caller]
    pub fn index_select(self, axis: isize, index: &[usize]) -> Self {
        let n = self.ndim();
        let axis = resolve_axis("index_select", axis, n);
        if axis == 0 {
            return self.take_rows(index);
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.swap(0, axis);
        self.permute(&order).take_rows(index).permute(&order)
    }
}
