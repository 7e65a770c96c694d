//! The three implementations of each layer — composed from primitives, fused custom ops, manual lecture
//! structs — pass gradient checks and agree with each other, to first and second order.

use autograd::{gradcheck, Tape, Var};
use ndarray::{array, Array2, ArrayD};
use nn::layers::manual::{self, AddLayer, MulLayer};
use nn::layers::{composed, fused};
use nn::{Labels, LayerKind};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod common;

use common::{
    assert_close, assert_close_at_scale, away_from_zero, matrix, one_hot, random, rel_diff,
};

const KINDS: [LayerKind; 2] = [LayerKind::Composed, LayerKind::Fused];

// ---------------------------------------------------------------- gradient checks

#[test]
fn composed_and_fused_relu_pass_gradcheck() {
    let x = away_from_zero(&mut StdRng::seed_from_u64(1), &[4, 5]);
    for kind in KINDS {
        gradcheck(|v| kind.relu(v[0]), std::slice::from_ref(&x)).assert_within(1e-7);
    }
}

#[test]
fn composed_and_fused_sigmoid_pass_gradcheck() {
    let x = random(&mut StdRng::seed_from_u64(2), &[4, 5], 4.0);
    for kind in KINDS {
        gradcheck(|v| kind.sigmoid(v[0]), std::slice::from_ref(&x)).assert_within(1e-7);
    }
}

#[test]
fn composed_and_fused_affine_pass_gradcheck_for_x_w_and_b() {
    let rng = &mut StdRng::seed_from_u64(3);
    let inputs = [
        random(rng, &[4, 3], 1.0),
        random(rng, &[3, 5], 1.0),
        random(rng, &[5], 1.0),
    ];
    for kind in KINDS {
        gradcheck(|v| kind.affine(v[0], v[1], v[2]), &inputs).assert_within(1e-7);
    }
}

#[test]
fn composed_and_fused_softmax_pass_gradcheck() {
    let x = random(&mut StdRng::seed_from_u64(4), &[4, 6], 3.0);
    for kind in KINDS {
        gradcheck(|v| kind.softmax(v[0]), std::slice::from_ref(&x)).assert_within(1e-7);
    }
}

#[test]
fn composed_and_fused_softmax_with_loss_pass_gradcheck_for_both_label_forms() {
    let x = random(&mut StdRng::seed_from_u64(5), &[5, 4], 3.0);
    let index = [3, 0, 1, 3, 2];
    let t = one_hot(&index, 4);
    for kind in KINDS {
        gradcheck(
            |v| kind.softmax_with_loss(v[0], Labels::Indices(&index)),
            std::slice::from_ref(&x),
        )
        .assert_within(1e-7);
        gradcheck(
            |v| kind.softmax_with_loss(v[0], Labels::OneHot(t.view())),
            std::slice::from_ref(&x),
        )
        .assert_within(1e-7);
    }
}

#[test]
fn softmax_with_loss_passes_gradcheck_with_soft_labels() {
    let x = random(&mut StdRng::seed_from_u64(6), &[3, 4], 2.0);
    let t = array![
        [0.25, 0.25, 0.5, 0.0],
        [0.1, 0.2, 0.3, 0.4],
        [1.0, 0.0, 0.0, 0.0]
    ];
    for kind in KINDS {
        gradcheck(
            |v| kind.softmax_with_loss(v[0], Labels::OneHot(t.view())),
            std::slice::from_ref(&x),
        )
        .assert_within(1e-7);
    }
}

// ---------------------------------------------------------------- composed = fused = manual

/// Value of `layer(x)` and the gradient of `x` for upstream gradient `dout`, on a fresh tape.
fn value_and_grad(
    layer: impl for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>,
    x: &ArrayD<f64>,
    dout: &ArrayD<f64>,
) -> (ArrayD<f64>, ArrayD<f64>) {
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = layer(xv);
    let grads = y.backward_with_seed(dout.clone());
    (y.value(), grads.get(xv).unwrap().to_owned())
}

/// An element-wise layer's three versions agree on the output and on `dx`, for random `x` (spread `scale`)
/// and upstream gradient; `manual` runs the lecture's layer class, forward then backward.
fn assert_elementwise_layers_agree(
    seed: u64,
    scale: f64,
    composed: impl for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>,
    fused: impl for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>,
    manual: impl Fn(&ArrayD<f64>, &ArrayD<f64>) -> (ArrayD<f64>, ArrayD<f64>),
) {
    let rng = &mut StdRng::seed_from_u64(seed);
    let (x, dout) = (random(rng, &[6, 7], scale), random(rng, &[6, 7], 1.0));
    let (yc, gc) = value_and_grad(composed, &x, &dout);
    let (yf, gf) = value_and_grad(fused, &x, &dout);
    let (ym, gm) = manual(&x, &dout);
    for (what, a, b) in [
        ("fused y", &yf, &yc),
        ("manual y", &ym, &yc),
        ("fused dx", &gf, &gc),
        ("manual dx", &gm, &gc),
    ] {
        assert_close(what, a.view(), b.view());
    }
}

#[test]
fn relu_composed_fused_and_manual_agree() {
    assert_elementwise_layers_agree(10, 2.0, composed::relu, fused::relu, |x, dout| {
        let mut layer = manual::Relu::new();
        (layer.forward(x.view()), layer.backward(dout.view()))
    });
}

#[test]
fn sigmoid_composed_fused_and_manual_agree() {
    assert_elementwise_layers_agree(11, 5.0, composed::sigmoid, fused::sigmoid, |x, dout| {
        let mut layer = manual::Sigmoid::new();
        (layer.forward(x.view()), layer.backward(dout.view()))
    });
}

/// Affine's value and the gradients of x, W and b on a tape, for upstream gradient `dout`.
fn affine_on_tape(
    kind: LayerKind,
    x: &ArrayD<f64>,
    w: &ArrayD<f64>,
    b: &ArrayD<f64>,
    dout: &ArrayD<f64>,
) -> [ArrayD<f64>; 4] {
    let tape = Tape::new();
    let (xv, wv, bv) = (
        tape.var(x.clone()),
        tape.var(w.clone()),
        tape.var(b.clone()),
    );
    let y = kind.affine(xv, wv, bv);
    let mut grads = y.backward_with_seed(dout.clone());
    [
        y.value(),
        grads.take(xv).unwrap(),
        grads.take(wv).unwrap(),
        grads.take(bv).unwrap(),
    ]
}

#[test]
fn affine_composed_fused_and_manual_agree_on_y_dx_dw_db() {
    let rng = &mut StdRng::seed_from_u64(12);
    let (x, w, b, dout) = (
        random(rng, &[5, 4], 1.0),
        random(rng, &[4, 3], 1.0),
        random(rng, &[3], 1.0),
        random(rng, &[5, 3], 1.0),
    );
    let composed = affine_on_tape(LayerKind::Composed, &x, &w, &b, &dout);
    let fused = affine_on_tape(LayerKind::Fused, &x, &w, &b, &dout);
    let mut layer = manual::Affine::new(
        matrix(&w).to_owned(),
        b.clone().into_dimensionality().unwrap(),
    );
    let y = layer.forward(matrix(&x)).into_dyn();
    let dx = layer.backward(matrix(&dout)).into_dyn();
    let manual = [
        y,
        dx,
        layer.dw.unwrap().into_dyn(),
        layer.db.unwrap().into_dyn(),
    ];
    for (k, what) in ["y", "dx", "dW", "db"].into_iter().enumerate() {
        assert_close(
            &format!("fused {what}"),
            fused[k].view(),
            composed[k].view(),
        );
        assert_close(
            &format!("manual {what}"),
            manual[k].view(),
            composed[k].view(),
        );
    }
}

#[test]
fn softmax_composed_and_fused_agree_with_the_shared_array_function() {
    let rng = &mut StdRng::seed_from_u64(13);
    let (x, dout) = (random(rng, &[4, 6], 10.0), random(rng, &[4, 6], 1.0));
    let (yc, gc) = value_and_grad(composed::softmax, &x, &dout);
    let (yf, gf) = value_and_grad(fused::softmax, &x, &dout);
    let y = nn::functions::softmax(matrix(&x)).into_dyn();
    assert_close("fused y", yf.view(), yc.view());
    assert_close("functions::softmax", y.view(), yc.view());
    assert_close("fused dx", gf.view(), gc.view());
}

/// Loss and score gradient of Softmax-with-Loss on a tape, for upstream gradient `dout`.
fn loss_on_tape(
    kind: LayerKind,
    x: &ArrayD<f64>,
    t: Labels<'_, f64>,
    dout: f64,
) -> (f64, ArrayD<f64>) {
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let loss = kind.softmax_with_loss(xv, t);
    let grads = loss.backward_with_seed(dout);
    (loss.scalar(), grads.get(xv).unwrap().to_owned())
}

fn check_softmax_with_loss_agrees(x: &ArrayD<f64>, index: &[usize], dout: f64) {
    let t = one_hot(index, x.shape()[1]);
    let reference = loss_on_tape(LayerKind::Composed, x, Labels::OneHot(t.view()), dout);
    let mut results = vec![];
    for labels in [Labels::OneHot(t.view()), Labels::Indices(index)] {
        results.push((
            "composed",
            loss_on_tape(LayerKind::Composed, x, labels, dout),
        ));
        results.push(("fused", loss_on_tape(LayerKind::Fused, x, labels, dout)));
        let mut layer = manual::SoftmaxWithLoss::new();
        let loss = layer.forward(matrix(x), labels);
        results.push(("manual", (loss, layer.backward(dout).into_dyn())));
    }
    for (what, (loss, dx)) in results {
        let r = (loss - reference.0).abs() / reference.0.abs();
        assert!(r <= 1e-10, "{what} loss {loss} vs {}", reference.0);
        // dx = dout·(y − t)/N: its rounding is relative to dout/N (y and t are at most 1), not to a tiny
        // difference of a saturated softmax (a 2.6e-9 gradient once differed by 1.1e-9 of itself).
        let floor = dout / x.shape()[0] as f64;
        assert_close_at_scale(&format!("{what} dx"), dx.view(), reference.1.view(), floor);
    }
}

#[test]
fn softmax_with_loss_composed_fused_and_manual_agree_for_one_hot_and_index_labels() {
    let x = random(&mut StdRng::seed_from_u64(14), &[6, 5], 4.0);
    check_softmax_with_loss_agrees(&x, &[0, 4, 2, 2, 1, 3], 0.7);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_net_layers_agree_for_random_shapes_and_values(
        n in 1usize..6, d in 1usize..5, c in 2usize..6, seed in any::<u64>(), dout in 0.1f64..2.0,
    ) {
        let rng = &mut StdRng::seed_from_u64(seed);
        let (x, w, b, g) = (random(rng, &[n, d], 3.0), random(rng, &[d, c], 3.0), random(rng, &[c], 3.0), random(rng, &[n, c], 1.0));
        let composed = affine_on_tape(LayerKind::Composed, &x, &w, &b, &g);
        let fused = affine_on_tape(LayerKind::Fused, &x, &w, &b, &g);
        for k in 0..4 {
            prop_assert!(rel_diff(fused[k].view(), composed[k].view()) <= 1e-10);
        }
        let index: Vec<usize> = (0..n).map(|_| rng.random_range(0..c)).collect();
        check_softmax_with_loss_agrees(&composed[0], &index, dout);
    }
}

// ---------------------------------------------------------------- second order

/// The Hessian–vector product of `sum(c · layer(inputs))` in direction `v`, one array per input.
fn hvp(
    layer: impl for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
    inputs: &[ArrayD<f64>],
    c: &ArrayD<f64>,
    v: &[ArrayD<f64>],
) -> Vec<ArrayD<f64>> {
    let tape = Tape::new();
    let vars: Vec<_> = inputs.iter().map(|x| tape.var(x.clone())).collect();
    let y = layer(&vars);
    let first = y.backward_graph_with_seed(tape.constant(c.clone()));
    let mut directional = tape.constant(0.0);
    for (x, v) in vars.iter().zip(v) {
        directional += (first[*x] * tape.constant(v.clone())).sum();
    }
    let second = directional.backward();
    vars.iter()
        .map(|&x| {
            second
                .get(x)
                .map_or_else(|| ArrayD::zeros(x.shape()), |g| g.to_owned())
        })
        .collect()
}

const HVP_LABELS: [usize; 4] = [2, 0, 1, 2];

type Shape = &'static [usize];
type Shapes = &'static [Shape];

/// The layer `name` of `kind` applied to `v`.
fn layer<'t>(name: &str, kind: LayerKind, v: &[Var<'t, f64>]) -> Var<'t, f64> {
    match name {
        "sigmoid" => kind.sigmoid(v[0]),
        "affine" => kind.affine(v[0], v[1], v[2]),
        "softmax" => kind.softmax(v[0]),
        "softmax_with_loss" => kind.softmax_with_loss(v[0], Labels::Indices(&HVP_LABELS)),
        _ => unreachable!("no layer {name}"),
    }
}

#[test]
fn fused_layers_have_the_same_second_derivatives_as_composed_ones() {
    let rng = &mut StdRng::seed_from_u64(20);
    // The layer, its inputs' shapes, its output's shape.
    let cases: [(&str, Shapes, Shape); 4] = [
        ("sigmoid", &[&[4, 3]], &[4, 3]),
        ("affine", &[&[4, 2], &[2, 3], &[3]], &[4, 3]),
        ("softmax", &[&[4, 3]], &[4, 3]),
        ("softmax_with_loss", &[&[4, 3]], &[]),
    ];
    for (name, shapes, out_shape) in cases {
        let inputs: Vec<_> = shapes.iter().map(|s| random(rng, s, 2.0)).collect();
        let directions: Vec<_> = shapes.iter().map(|s| random(rng, s, 1.0)).collect();
        let c = random(rng, out_shape, 1.0);
        let composed = hvp(
            |v| layer(name, LayerKind::Composed, v),
            &inputs,
            &c,
            &directions,
        );
        let fused = hvp(
            |v| layer(name, LayerKind::Fused, v),
            &inputs,
            &c,
            &directions,
        );
        assert!(
            composed.iter().any(|h| h.iter().any(|&v| v != 0.0)),
            "{name}: the Hessian-vector product is zero, so the test proves nothing"
        );
        for (k, (f, c)) in fused.iter().zip(&composed).enumerate() {
            assert_close(&format!("{name}: input {k}"), f.view(), c.view());
        }
    }
}

#[test]
fn fused_second_derivatives_match_finite_differences_of_the_gradient() {
    // (∇f(x + εv) − ∇f(x − εv)) / 2ε ≈ H·v, for f = Σ c·layer(x).
    let rng = &mut StdRng::seed_from_u64(21);
    for (name, out_shape) in [
        ("sigmoid", &[4, 3][..]),
        ("softmax", &[4, 3]),
        ("softmax_with_loss", &[]),
    ] {
        let (x, v, c) = (
            random(rng, &[4, 3], 2.0),
            random(rng, &[4, 3], 1.0),
            random(rng, out_shape, 1.0),
        );
        let gradient =
            |x: &ArrayD<f64>| value_and_grad(|x| layer(name, LayerKind::Fused, &[x]), x, &c).1;
        let eps = 1e-5;
        let numeric = (gradient(&(&x + &(&v * eps))) - gradient(&(&x - &(&v * eps)))) / (2.0 * eps);
        let analytic = hvp(|vars| layer(name, LayerKind::Fused, vars), &[x], &c, &[v]);
        let r = rel_diff(analytic[0].view(), numeric.view());
        assert!(r < 1e-7, "{name}: relative difference {r:e}");
    }
}

#[test]
fn softmax_with_loss_shifts_each_row_by_its_own_maximum() {
    // One global maximum would underflow the second row to 0/0.
    let x = array![[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]].into_dyn();
    let index = [0, 2];
    let expected = nn::functions::cross_entropy(
        nn::functions::softmax(array![[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]].view()).view(),
        Labels::Indices(&index),
    );
    for kind in KINDS {
        let (loss, dx) = loss_on_tape(kind, &x, Labels::Indices(&index), 1.0);
        assert!(
            (loss - expected).abs() < 1e-12,
            "{kind:?}: loss {loss}, expected {expected}"
        );
        assert!(dx.iter().all(|v| v.is_finite()), "{kind:?}: {dx}");
    }
}

#[test]
fn index_labels_and_fused_one_hot_labels_never_take_the_log_of_an_underflowed_probability() {
    // exp(-800) underflows to 0: the non-target probabilities are exactly 0.
    let x = array![[800.0, 0.0, 0.0], [0.0, 800.0, 0.0]].into_dyn();
    let index = [0, 1];
    let t = one_hot(&index, 3);
    for (kind, labels) in [
        (LayerKind::Composed, Labels::Indices(&index)),
        (LayerKind::Fused, Labels::Indices(&index)),
        (LayerKind::Fused, Labels::OneHot(t.view())),
    ] {
        let (loss, dx) = loss_on_tape(kind, &x, labels, 1.0);
        assert_eq!(loss, 0.0, "{kind:?}");
        assert!(dx.iter().all(|v| v.is_finite()), "{kind:?}: {dx}");
    }
}

// ---------------------------------------------------------------- the manual layers

#[test]
fn manual_mul_and_add_layers_reproduce_the_lectures_apple_and_orange_example() {
    let (mut apple, mut orange, mut add, mut tax) = (
        MulLayer::new(),
        MulLayer::new(),
        AddLayer::new(),
        MulLayer::new(),
    );
    let price: f64 = tax.forward(
        add.forward(apple.forward(100.0, 2.0), orange.forward(150.0, 3.0)),
        1.1,
    );
    let (dall, dtax) = tax.backward(1.0);
    let (dapple_price, dorange_price) = add.backward(dall);
    let (dapple, dapple_num) = apple.backward(dapple_price);
    let (dorange, dorange_num) = orange.backward(dorange_price);
    let got = [price, dapple_num, dapple, dorange, dorange_num, dtax];
    let lecture = [715.0, 110.0, 2.2, 3.3, 165.0, 650.0];
    for (g, l) in got.iter().zip(lecture) {
        assert!((g - l).abs() < 1e-9, "{got:?} vs the lecture's {lecture:?}");
    }
}

#[test]
#[should_panic(expected = "Relu::backward called before forward")]
fn manual_backward_before_forward_panics_with_the_layer_name() {
    manual::Relu::<ndarray::Ix2>::new().backward(Array2::<f64>::zeros((1, 1)).view());
}
