//! `gather` along any axis (an index array picks, for every position, which element of that axis to take), and
//! its adjoint `scatter_add` (every element added at the position its index names; repeats add up).

use std::fmt;
use std::rc::Rc;

use ndarray::{ArrayD, AsArray, Dimension};
use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::shape::resolve_axis;
use crate::{Backend, Float, Operand, Value, Var};

/// What a gather or scatter maps: the index array and the shape of the tensor gathered from (scattered into).
#[derive(Debug, PartialEq, Eq)]
pub struct IndexMap {
    /// For every output position, the position along the axis that it takes.
    pub index: ArrayD<usize>,
    /// The shape of the tensor indexed.
    pub source: Vec<usize>,
}

impl IndexMap {
    /// The map of a caller's index: its shape must fit and every index be in range.
    #[track_caller]
    fn new(op: &str, axis: usize, index: ArrayD<usize>, source: Vec<usize>) -> Self {
        let map = Self::fitting(op, axis, index, source);
        if let Some(bad) = map.index.iter().find(|&&i| i >= map.source[axis]) {
            panic!(
                "{op}: index {bad} out of range for axis {axis} of shape {:?}",
                map.source
            );
        }
        map
    }

    /// The map of an index in range by construction (max-pooling's window argmax): only its shape is checked,
    /// the range only in debug builds.
    #[track_caller]
    fn fitting(op: &str, axis: usize, index: ArrayD<usize>, source: Vec<usize>) -> Self {
        let fits = index.ndim() == source.len()
            && (0..source.len()).all(|d| d == axis || index.shape()[d] <= source[d]);
        if !fits {
            panic!(
                "{op}: index of shape {:?} does not fit shape {source:?} along axis {axis}",
                index.shape()
            );
        }
        debug_assert!(
            index.iter().all(|&i| i < source[axis]),
            "{op}: index out of range"
        );
        IndexMap { index, source }
    }

    /// Calls `f(source offset, index offset)` for every element of the index, both offsets row-major.
    fn each(&self, axis: usize, mut f: impl FnMut(usize, usize)) {
        let shape = self.index.shape();
        let (Some(index), true) = (
            self.index.as_slice(),
            (0..shape.len()).all(|d| d == axis || shape[d] == self.source[d]),
        ) else {
            return self.each_strided(axis, f);
        };
        // The common case: the index spans the source on every other axis, so both are
        // `[outer, len, inner]` row-major, differing only in the indexed axis's length.
        let inner: usize = shape[axis + 1..].iter().product();
        let (taken, len) = (shape[axis], self.source[axis]);
        let mut at = 0;
        for (block, lanes) in index.chunks_exact((taken * inner).max(1)).enumerate() {
            let base = block * len * inner;
            for lane in lanes.chunks_exact(inner.max(1)) {
                for (k, &i) in lane.iter().enumerate() {
                    f(base + i * inner + k, at);
                    at += 1;
                }
            }
        }
    }

    /// The index as rows of picks from rows of the source, when the last axis is indexed and the index spans
    /// the source on the others (max-pooling's argmax, `take_along_axis` on rows): the picks, their row length
    /// and the source's row length, both non-zero.
    fn rows(&self, axis: usize) -> Option<(&[usize], usize, usize)> {
        let shape = self.index.shape();
        let (taken, len) = (*shape.last()?, self.source[axis]);
        let spans = axis + 1 == shape.len() && shape[..axis] == self.source[..axis];
        match self.index.as_slice() {
            Some(index) if spans && taken > 0 && len > 0 => Some((index, taken, len)),
            _ => None,
        }
    }

    /// The elements of `source` (row-major, of the map's source shape) that the index takes along `axis`, in
    /// the index's order.
    fn gather<T: Float>(&self, axis: usize, source: &[T]) -> Vec<T> {
        let Some((index, taken, len)) = self.rows(axis) else {
            let mut out = vec![T::zero(); self.index.len()];
            self.each(axis, |from, to| out[to] = source[from]);
            return out;
        };
        // A loop with nothing to compute but the pick.
        let mut out = Vec::with_capacity(index.len());
        for (picks, row) in index.chunks_exact(taken).zip(source.chunks_exact(len)) {
            out.extend(picks.iter().map(|&i| row[i]));
        }
        out
    }

    /// Zeros of the map's source shape with each element of `values` (row-major, of the index's shape) added
    /// where the index takes it from: the adjoint of [`gather`](Self::gather).
    fn scatter_add<T: Float>(&self, axis: usize, values: &[T]) -> Vec<T> {
        let mut out = vec![T::zero(); self.source.iter().product()];
        match self.rows(axis) {
            Some((index, taken, len)) => {
                for ((picks, v), row) in index
                    .chunks_exact(taken)
                    .zip(values.chunks_exact(taken))
                    .zip(out.chunks_exact_mut(len))
                {
                    for (&i, &v) in picks.iter().zip(v) {
                        row[i] += v;
                    }
                }
            }
            None => self.each(axis, |to, from| out[to] += values[from]),
        }
        out
    }

    /// [`each`](Self::each) for any index: each position's offset computed from its coordinates.
    fn each_strided(&self, axis: usize, mut f: impl FnMut(usize, usize)) {
        let mut strides = vec![1; self.source.len()];
        for d in (1..self.source.len()).rev() {
            strides[d - 1] = strides[d] * self.source[d];
        }
        for (at, (position, &i)) in self.index.indexed_iter().enumerate() {
            let offset = (0..strides.len())
                .map(|d| strides[d] * if d == axis { i } else { position[d] })
                .sum();
            f(offset, at);
        }
    }
}

/// Output at position `p` is the operand at `p` with its `axis` coordinate replaced by `index[p]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gather {
    /// The axis indexed.
    pub axis: usize,
    /// The index and the operand's shape.
    pub map: Rc<IndexMap>,
}

impl<T: Float> Primitive<T> for Gather {
    const KINDS: &'static [&'static str] = &["gather"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        if x[0].shape() != self.map.source.as_slice() {
            panic!(
                "gather: operand of shape {:?}, index made for {:?}",
                x[0].shape(),
                self.map.source
            );
        }
        let out = x[0].with_view(|v| {
            let v = v.as_standard_layout();
            self.map
                .gather(self.axis, v.as_slice().expect("standard layout"))
        });
        Value::from_array(
            ArrayD::from_shape_vec(self.map.index.raw_dim(), out).expect("the index's shape"),
        )
    }

    /// Each element's gradient is added back where it was taken from.
    fn vjp<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let scatter = ScatterAdd {
            axis: self.axis,
            map: self.map.clone(),
        };
        smallvec![Some(g.apply(Op::ScatterAdd(scatter)))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gather(axis {})", self.axis)
    }
}

/// Zeros of the map's source shape, with each operand element added at the position its index names (the
/// adjoint of [`Gather`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScatterAdd {
    /// The axis indexed.
    pub axis: usize,
    /// The index (shaped as the operand) and the result's shape.
    pub map: Rc<IndexMap>,
}

impl<T: Float> Primitive<T> for ScatterAdd {
    const KINDS: &'static [&'static str] = &["scatter_add"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        if x[0].shape() != self.map.index.shape() {
            panic!(
                "scatter_add: source of shape {:?}, index of shape {:?}",
                x[0].shape(),
                self.map.index.shape()
            );
        }
        let out = x[0].with_view(|v| {
            let v = v.as_standard_layout();
            self.map
                .scatter_add(self.axis, v.as_slice().expect("standard layout"))
        });
        Value::from_array(
            ArrayD::from_shape_vec(self.map.source.clone(), out).expect("the source's shape"),
        )
    }

    fn vjp<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let gather = Gather {
            axis: self.axis,
            map: self.map.clone(),
        };
        smallvec![Some(g.apply(Op::Gather(gather)))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scatter_add(axis {})", self.axis)
    }
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// For every position `p` of `index`, the element at `p` with its `axis` coordinate replaced by `index[p]`
    /// (`torch.gather`; NumPy's `take_along_axis`). The result has the index's shape; repeated indices add
    /// their gradients up. Picking each row's label from log-probabilities is
    /// `logp.gather(1, &labels.insert_axis(Axis(1)))`.
    ///
    /// ```
    /// use autograd::Tape;
    /// use ndarray::array;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let picked = x.gather(1, &array![[2], [0]]);
    /// assert_eq!(picked.value(), array![[3.0], [4.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When the index has another number of axes, is longer than the value along an axis other than `axis`,
    /// or holds an index out of range.
    #[track_caller]
    pub fn gather<'i, D: Dimension>(self, axis: isize, index: impl AsArray<'i, usize, D>) -> Self {
        let axis = resolve_axis("gather", axis, self.ndim());
        let index = index.into().into_dyn().to_owned();
        let map = IndexMap::new("gather", axis, index, self.shape());
        self.gathered(axis, map)
    }

    /// [`gather`](Var::gather) along `axis` (resolved) of an index that its maker keeps in range (max-pooling's
    /// window argmax), taken by value and not scanned: the pooling's index is as large as its output.
    #[track_caller]
    pub(crate) fn gather_in_range(self, axis: usize, index: ArrayD<usize>) -> Self {
        let map = IndexMap::fitting("gather", axis, index, self.shape());
        self.gathered(axis, map)
    }

    fn gathered(self, axis: usize, map: IndexMap) -> Self {
        self.apply(Op::Gather(Gather {
            axis,
            map: Rc::new(map),
        }))
    }

    /// This value with each element of `src` added at the position `index` names along `axis`
    /// (`torch.Tensor.scatter_add`); `index` has `src`'s shape, and repeats add up.
    ///
    /// ```
    /// use autograd::Tape;
    /// use ndarray::array;
    /// let tape = Tape::<f64>::new();
    /// let counts = tape.var(array![0.0, 0.0, 0.0]);
    /// let votes = tape.var(array![1.0, 1.0, 1.0]);
    /// assert_eq!(counts.scatter_add(0, &array![2, 0, 2], votes).value(), array![1.0, 0.0, 2.0].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When `index` and `src` differ in shape, the index does not fit this value's shape, or an index is out
    /// of range.
    #[track_caller]
    pub fn scatter_add<'i, D: Dimension>(
        self,
        axis: isize,
        index: impl AsArray<'i, usize, D>,
        src: Self,
    ) -> Self {
        let axis = resolve_axis("scatter_add", axis, self.ndim());
        let index = index.into().into_dyn().to_owned();
        let map = IndexMap::new("scatter_add", axis, index, self.shape());
        self + src.apply(Op::ScatterAdd(ScatterAdd {
            axis,
            map: Rc::new(map),
        }))
    }
}
