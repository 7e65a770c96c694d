//! The element-wise fast paths (same-shape operands in standard layout, worked on as slices) and the row-wise
//! paths of gather and scatter_add against plain ndarray arithmetic or the definition, for every layout and shape
//! they must hand over to the general path; and the custom-op check that lets the backward pass take a number as
//! a gradient without looking at the input.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use autograd::{Backend, CustomOp, Float, Tape, Var};
use ndarray::{Array2, ArrayD, ArrayViewD, IxDyn, ShapeBuilder};

/// A 3 x 4 array with distinct entries, in standard layout, and the same array in column-major layout.
fn layouts(seed: u64) -> [ArrayD<f64>; 2] {
    let mut r = common::rng(seed);
    let a = common::away_from_zero(&mut r, &[3, 4], 0.5, 2.0);
    let mut f = ArrayD::zeros(IxDyn(&[3, 4]).f()); // column-major
    f.assign(&a);
    assert!(!f.is_standard_layout());
    assert_eq!(a, f);
    [a, f]
}

#[test]
fn binary_ops_agree_with_ndarray_in_every_layout() {
    for (x, y) in layouts(1)
        .iter()
        .flat_map(|x| layouts(2).map(|y| (x.clone(), y)))
    {
        let tape = Tape::<f64>::new();
        let (a, b) = (tape.var(x.clone()), tape.var(y.clone()));
        assert_eq!((a + b).value(), &x + &y);
        assert_eq!((a - b).value(), &x - &y);
        assert_eq!((a * b).value(), &x * &y);
        assert_eq!((a / b).value(), &x / &y);
        let max = ndarray::Zip::from(&x)
            .and(&y)
            .map_collect(|&p, &q| p.max(q));
        assert_eq!(a.maximum(b).value(), max);
    }
}

#[test]
fn unary_ops_agree_with_ndarray_in_every_layout() {
    for x in layouts(3) {
        let tape = Tape::<f64>::new();
        let a = tape.var(x.clone());
        assert_eq!(a.exp().value(), x.mapv(f64::exp));
        assert_eq!((a * 3.0).value(), x.mapv(|v| v * 3.0));
        assert_eq!(a.relu().value(), x.mapv(|v| v.max(0.0)));
    }
}

/// Gradients of both layouts are accumulated into one slot: `x` is used directly and through a transpose.
#[test]
fn gradients_accumulate_across_layouts() {
    let [x, _] = layouts(4);
    let tape = Tape::<f64>::new();
    let a = tape.var(x.clone());
    let w = tape.constant(Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64));
    let loss = (a * w).sum() + (a.t() * w.t()).sum() + (a * a).sum();
    let grads = loss.backward();
    let expected = &w.value() * 2.0 + &x * 2.0;
    let got = grads.get(a).expect("a gradient");
    assert!((&got - &expected).iter().all(|d| d.abs() < 1e-12));
}

/// Operands that broadcast, or of which one is a number, keep the general path.
#[test]
fn broadcasting_and_numbers_are_unchanged() {
    let tape = Tape::<f64>::new();
    let m = tape.var(Array2::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as f64));
    let row = tape.var(ndarray::arr1(&[1.0, 2.0, 3.0]));
    let s = tape.var(2.0);
    assert_eq!((m + row).value(), &m.value() + &row.value());
    assert_eq!((m * s).value(), m.value().mapv(|v| v * 2.0));
    let grads = ((m + row) * s).sum().backward();
    assert_eq!(
        grads.get(row).unwrap(),
        ndarray::arr1(&[4.0, 4.0, 4.0]).into_dyn()
    );
    assert_eq!(grads.scalar(s), (m.value().sum() + 2.0 * row.value().sum()));
    assert!(grads.get(m).unwrap().iter().all(|&g| g == 2.0));
}

/// A custom op whose backward returns a number for an input of shape `[3]` (not a legal gradient).
struct NumberGradient;

impl<T: Float> CustomOp<T> for NumberGradient {
    fn name(&self) -> &str {
        "number_gradient"
    }
    fn forward(&self, x: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        x[0].to_owned()
    }
    fn backward<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        _g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        vec![Some(_g.constant_like(T::one()))]
    }
}

#[test]
fn a_number_as_the_gradient_of_an_array_input_is_refused() {
    let tape = Tape::<f64>::new();
    let x = tape.var(ndarray::arr1(&[1.0, 2.0, 3.0]));
    let y = x.custom(NumberGradient, &[]).sum();
    let payload = catch_unwind(AssertUnwindSafe(|| drop(y.backward()))).expect_err("a panic");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        message,
        "custom op number_gradient: backward returned a number as the gradient of input 0, of shape [3]"
    );
}

/// Sums over one axis (the op, and the reduction of broadcast gradients) equal ndarray's to the last bit, in
/// `f32` where the order of additions shows, for every axis of several shapes in both layouts.
#[test]
fn sums_over_an_axis_match_ndarray_exactly() {
    let mut r = common::rng(5);
    for shape in [
        &[100, 50][..],
        &[100, 1],
        &[1, 7],
        &[2, 3, 4],
        &[4, 1, 3],
        &[5],
    ] {
        let x64 = common::normal(&mut r, shape);
        let x = x64.mapv(|v| v as f32);
        let mut f = ArrayD::zeros(IxDyn(shape).f());
        f.assign(&x);
        for x in [x.clone(), f] {
            for axis in 0..shape.len() {
                let tape = Tape::<f32>::new();
                let v = tape.var(x.clone());
                let expected = x.sum_axis(ndarray::Axis(axis));
                assert_eq!(
                    v.sum_axis(ndarray::Axis(axis)).value(),
                    expected,
                    "{shape:?} axis {axis}"
                );
                let mut keep = shape.to_vec();
                keep[axis] = 1;
                let summed = v.sum_to(&keep).value();
                assert_eq!(
                    summed,
                    expected.insert_axis(ndarray::Axis(axis)),
                    "{shape:?} sum_to"
                );
            }
            let tape = Tape::<f32>::new();
            let v = tape.var(x.clone());
            assert_eq!(v.sum_to(&shape[1..]).value(), x.sum_axis(ndarray::Axis(0)));
        }
    }
}

/// Broadcasting whose rows (last axis) are long enough for the row-by-row path: each operand contiguous along
/// the row or one repeated element, on either side, and layouts that must fall back to the general path
/// (a transposed operand); every result against ndarray's own broadcasting arithmetic.
#[test]
fn broadcast_rows_agree_with_ndarray() {
    let mut r = common::rng(7);
    let mut array = |shape: &[usize]| common::away_from_zero(&mut r, shape, 0.5, 2.0);
    let big = array(&[2, 3, 17]);
    let transposed = array(&[17, 3, 2]).reversed_axes();
    // A conv2d's bias: rows of 4·5 once the two trailing axes are merged.
    let image = array(&[2, 3, 4, 5]);
    let channel = array(&[3, 1, 1]);
    let tape = Tape::<f64>::new();
    let (a, b) = (tape.var(image.clone()), tape.var(channel.clone()));
    assert_eq!((a - b).value(), &image - &channel);
    assert_eq!((b / a).value(), &channel / &image);
    let others = [
        array(&[3, 1]),
        array(&[17]),
        array(&[2, 1, 17]),
        array(&[2, 3, 1]),
        array(&[1]),
        array(&[2, 3, 17]),
        array(&[17, 3]).reversed_axes(),
    ];
    for x in [&big, &transposed] {
        for y in &others {
            let tape = Tape::<f64>::new();
            let (a, b) = (tape.var(x.clone()), tape.var(y.clone()));
            assert_eq!((a - b).value(), x - y, "{:?} - {:?}", x.shape(), y.shape());
            assert_eq!((b - a).value(), y - x, "{:?} - {:?}", y.shape(), x.shape());
            assert_eq!((b / a).value(), y / x, "{:?} / {:?}", y.shape(), x.shape());
        }
    }
}

/// `gather` and `scatter_add` along the last axis take a row-wise path when the index's rows are the source's
/// rows one for one; an index covering fewer rows (or another axis) must take the general path. Both against
/// the definition, element by element.
#[test]
fn gather_and_scatter_add_are_the_definition_with_and_without_the_row_path() {
    let mut r = common::rng(5);
    let source = common::normal(&mut r, &[2, 3, 4]);
    let indices = [
        ndarray::array![
            [[3, 0, 3], [1, 2, 2], [0, 0, 0]],
            [[0, 0, 1], [2, 3, 1], [3, 2, 1]]
        ]
        .into_dyn(), // rows one for one
        ndarray::array![[[3, 0, 3], [1, 2, 2]], [[0, 0, 1], [2, 3, 1]]].into_dyn(), // two of three rows
        ndarray::array![[[3, 0, 3]], [[2, 3, 1]]].into_dyn(), // one of three rows
    ];
    for index in indices {
        let tape = Tape::<f64>::new();
        let x = tape.var(source.clone());
        let gathered = x.gather(2, &index).value();
        let values = gathered.mapv(|v| v * 10.0 + 1.0);
        let scattered = tape
            .constant(ArrayD::<f64>::zeros(IxDyn(&[2, 3, 4])))
            .scatter_add(2, &index, tape.constant(values.clone()))
            .value();
        let mut expected_scatter = ArrayD::<f64>::zeros(IxDyn(&[2, 3, 4]));
        for ((b, i, j), &k) in index.indexed_iter().map(|(p, k)| ((p[0], p[1], p[2]), k)) {
            assert_eq!(
                gathered[[b, i, j]],
                source[[b, i, k]],
                "gather at {:?} with index {index:?}",
                (b, i, j)
            );
            expected_scatter[[b, i, k]] += values[[b, i, j]];
        }
        assert_eq!(
            scattered, expected_scatter,
            "scatter_add with index {index:?}"
        );
    }
}
