//! Convolution and pooling against naive loops over the definition, with stride and padding, and their
//! gradients against finite differences (the per-variant table checks both orders; these check the values).

mod common;

use autograd::Tape;
use common::{normal, rng};
use ndarray::{Array4, ArrayD, Ix4};

/// `y[n, o, i, j] = b[o] + Σ_{c, p, q} x_padded[n, c, i·sh + p, j·sw + q] · w[o, c, p, q]`.
fn conv_by_loops(
    x: &Array4<f64>,
    w: &Array4<f64>,
    b: &[f64],
    stride: (usize, usize),
    pad: (usize, usize),
) -> Array4<f64> {
    let (n, c, h, wd) = x.dim();
    let (o, _, kh, kw) = w.dim();
    let (oh, ow) = (
        (h + 2 * pad.0 - kh) / stride.0 + 1,
        (wd + 2 * pad.1 - kw) / stride.1 + 1,
    );
    let at = |b: usize, ch: usize, y: isize, x_: isize| -> f64 {
        let (y, x_) = (y - pad.0 as isize, x_ - pad.1 as isize);
        if y < 0 || x_ < 0 || y >= h as isize || x_ >= wd as isize {
            0.0
        } else {
            x[[b, ch, y as usize, x_ as usize]]
        }
    };
    Array4::from_shape_fn((n, o, oh, ow), |(bn, oc, i, j)| {
        let mut sum = b[oc];
        for ch in 0..c {
            for p in 0..kh {
                for q in 0..kw {
                    sum += at(
                        bn,
                        ch,
                        (i * stride.0 + p) as isize,
                        (j * stride.1 + q) as isize,
                    ) * w[[oc, ch, p, q]];
                }
            }
        }
        sum
    })
}

#[test]
fn conv2d_is_the_definition_for_strides_and_paddings() {
    let r = &mut rng(70);
    for (stride, pad) in [((1, 1), (0, 0)), ((2, 1), (1, 2)), ((3, 2), (2, 0))] {
        let x = normal(r, &[2, 3, 7, 6]);
        let w = normal(r, &[4, 3, 3, 2]);
        let b = normal(r, &[4]);
        let tape = Tape::<f64>::new();
        let y =
            tape.var(x.clone())
                .conv2d(tape.var(w.clone()), Some(tape.var(b.clone())), stride, pad);
        let expected = conv_by_loops(
            &x.into_dimensionality::<Ix4>().unwrap(),
            &w.into_dimensionality::<Ix4>().unwrap(),
            b.as_slice().unwrap(),
            stride,
            pad,
        );
        let got = y.value();
        assert_eq!(
            got.shape(),
            expected.shape(),
            "stride {stride:?}, padding {pad:?}"
        );
        let diff = (&got - &expected.into_dyn())
            .mapv(f64::abs)
            .fold(0.0, |m: f64, &d| m.max(d));
        assert!(diff < 1e-12, "stride {stride:?}, padding {pad:?}: {diff}");
    }
}

#[test]
fn pooling_is_the_definition() {
    let r = &mut rng(71);
    let x = normal(r, &[2, 3, 6, 5])
        .into_dimensionality::<Ix4>()
        .unwrap();
    let tape = Tape::<f64>::new();
    let v = tape.var(x.clone());
    let (max, avg) = (
        v.max_pool2d((2, 2), (2, 2), (1, 1)),
        v.avg_pool2d((3, 3), (1, 2), (1, 0)),
    );
    let padded = |y: isize, x_: isize, b: usize, c: usize, fill: f64, pad: (usize, usize)| {
        let (y, x_) = (y - pad.0 as isize, x_ - pad.1 as isize);
        if y < 0 || x_ < 0 || y >= 6 || x_ >= 5 {
            fill
        } else {
            x[[b, c, y as usize, x_ as usize]]
        }
    };
    let max_ref = ArrayD::from_shape_fn(vec![2, 3, 4, 3], |i| {
        let (b, c, oy, ox) = (i[0], i[1], i[2] as isize, i[3] as isize);
        (0..2)
            .flat_map(|p| (0..2).map(move |q| (p, q)))
            .map(|(p, q)| padded(oy * 2 + p, ox * 2 + q, b, c, f64::NEG_INFINITY, (1, 1)))
            .fold(f64::NEG_INFINITY, f64::max)
    });
    let avg_ref = ArrayD::from_shape_fn(vec![2, 3, 6, 2], |i| {
        let (b, c, oy, ox) = (i[0], i[1], i[2] as isize, i[3] as isize);
        let sum: f64 = (0..3)
            .flat_map(|p| (0..3).map(move |q| (p, q)))
            .map(|(p, q)| padded(oy + p, ox * 2 + q, b, c, 0.0, (1, 0)))
            .sum();
        sum / 9.0
    });
    assert_eq!(max.value(), max_ref);
    let diff = (&avg.value() - &avg_ref)
        .mapv(f64::abs)
        .fold(0.0, |m: f64, &d| m.max(d));
    assert!(diff < 1e-15, "{diff}");
}

/// A window's gradient goes to its first largest element (row-major), as in PyTorch, ties and NaN included;
/// overlapping windows that pick the same element add up.
#[test]
fn max_pool2d_gradient_goes_to_the_first_maximum() {
    let tape = Tape::<f64>::new();
    #[rustfmt::skip]
    let x = tape.var(ndarray::Array::from_shape_vec((1, 1, 3, 4), vec![
        1.0, 7.0, 7.0, 0.0,
        7.0, 7.0, f64::NAN, 2.0,
        5.0, 9.0, 3.0, 4.0,
    ]).unwrap());
    let y = x.max_pool2d((2, 2), (1, 2), (0, 0));
    let y_value = y.value();
    assert_eq!(y_value[[0, 0, 0, 0]], 7.0);
    assert!(y_value[[0, 0, 0, 1]].is_nan());
    assert_eq!(y_value[[0, 0, 1, 0]], 9.0);
    assert!(y_value[[0, 0, 1, 1]].is_nan());
    let weights = tape.constant(ndarray::array![[[[1.0, 10.0], [100.0, 1000.0]]]]);
    let g = (y * weights).sum().backward().get(x).unwrap().to_owned();
    #[rustfmt::skip]
    let expected = vec![
        0.0, 1.0, 0.0, 0.0,
        0.0, 0.0, 1010.0, 0.0,
        0.0, 100.0, 0.0, 0.0,
    ];
    assert_eq!(g.iter().copied().collect::<Vec<_>>(), expected);
}

/// Every 2×2 window over the values {0, 1, 2, NaN} (all 256 of them, side by side), pooled 2×2 by 2 (the
/// kernel's own path for the usual pooling): each window's gradient goes to the element the definition
/// picks, the first largest in row-major order with the first NaN counting as largest.
#[test]
fn max_pool2d_2x2_picks_the_first_maximum_of_every_window() {
    let values = [0.0, 1.0, 2.0, f64::NAN];
    let windows: Vec<[f64; 4]> = (0..256)
        .map(|k| [k & 3, (k >> 2) & 3, (k >> 4) & 3, k >> 6].map(|d| values[d]))
        .collect();
    let image = ndarray::Array4::from_shape_fn((1, 1, 2, 512), |(_, _, y, x)| {
        windows[x / 2][2 * y + x % 2]
    });
    let tape = Tape::<f64>::new();
    let x = tape.var(image);
    let g = x.max_pool2d((2, 2), (2, 2), (0, 0)).sum().backward();
    let g = g.get(x).unwrap();
    for (k, window) in windows.iter().enumerate() {
        let first_nan = window.iter().position(|v| v.is_nan());
        let largest = window.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let expected =
            first_nan.unwrap_or_else(|| window.iter().position(|&v| v == largest).unwrap());
        let picked: Vec<usize> = (0..4)
            .filter(|&i| g[[0, 0, i / 2, 2 * k + i % 2]] == 1.0)
            .collect();
        assert_eq!(picked, [expected], "window {window:?}");
    }
}

#[test]
#[should_panic(expected = "conv2d: input [1, 2, 5, 5] and filters [4, 3, 3, 3] do not fit")]
fn conv2d_names_the_shapes_that_do_not_fit() {
    let tape = Tape::<f64>::new();
    let x = tape.var(ndarray::Array4::<f64>::zeros((1, 2, 5, 5)));
    let w = tape.var(ndarray::Array4::<f64>::zeros((4, 3, 3, 3)));
    let _ = x.conv2d(w, None, (1, 1), (0, 0));
}
