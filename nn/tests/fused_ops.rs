//! The fused custom ops themselves: which gradients they compute, which nodes they record, and how they
//! compare with the composed layers in size.

mod common;

use autograd::{Custom, CustomOp, Eager, Op, Tape, Value};
use ndarray::{array, Array2};
use nn::layers::{composed, fused};
use nn::Labels;
use rand::rngs::StdRng;
use rand::SeedableRng;

use common::{one_hot, random};

// ---------------------------------------------------------------- the fused ops themselves

#[test]
fn fused_affine_does_not_compute_dx_when_x_needs_no_gradient() {
    let rng = &mut StdRng::seed_from_u64(30);
    let [x, w, b, g] =
        [&[5, 4][..], &[4, 3], &[3], &[5, 3]].map(|s| Value::from_array(random(rng, s, 1.0)));
    let y = Op::Custom(Custom(std::rc::Rc::new(fused::AffineOp))).forward(&[&x, &w, &b]);
    let eager = Eager::new();
    let inputs = [&x, &w, &b].map(|v| eager.borrow(v));
    let grads = CustomOp::<f64>::backward(
        &fused::AffineOp,
        &inputs,
        eager.borrow(&y),
        eager.borrow(&g),
        &[false, true, true],
    );
    assert!(grads[0].is_none(), "dX was computed for a constant batch");
    assert_eq!(grads[1].as_ref().unwrap().shape(), [4, 3]);
    assert_eq!(grads[2].as_ref().unwrap().shape(), [3]);
}

#[test]
fn fused_affine_on_a_constant_batch_records_no_dx_product_in_a_gradient_graph() {
    let rng = &mut StdRng::seed_from_u64(31);
    let tape = Tape::new();
    let x = tape.constant(random(rng, &[5, 4], 1.0));
    let (w, b) = (
        tape.var(random(rng, &[4, 3], 1.0)),
        tape.var(random(rng, &[3], 1.0)),
    );
    let loss = fused::affine(x, w, b).sum();
    let before = tape.len();
    let grads = loss.backward_graph();
    assert_eq!(grads[w].shape(), [4, 3]);
    let products: Vec<_> = (before..tape.len())
        .map(|i| tape.node(i))
        .filter(|n| matches!(n.op(), Op::MatMul(_)))
        .collect();
    assert_eq!(products.len(), 1, "only dW = Xᵀ·dY is a matrix product");
    // Its left operand is Xᵀ: the transpose of the constant batch.
    let left = products[0].inputs()[0];
    assert!(matches!(left.op(), Op::Permute(_)));
    assert_eq!(left.inputs()[0].id(), x.id());
}

#[test]
fn composed_sigmoid_is_the_lectures_four_nodes_and_fused_sigmoid_is_one() {
    let composed_tape = Tape::<f64>::new();
    composed::sigmoid(composed_tape.var(array![1.0, 2.0]));
    let ops: Vec<String> = (1..composed_tape.len())
        .map(|i| composed_tape.node(i).op().to_string())
        .collect();
    assert_eq!(ops, ["×-1", "exp", "+1", "1/x"]);

    let fused_tape = Tape::<f64>::new();
    fused::sigmoid(fused_tape.var(array![1.0, 2.0]));
    assert_eq!((composed_tape.len(), fused_tape.len()), (5, 2));
    assert_eq!(fused_tape.node(1).op().to_string(), "Sigmoid");
}

#[test]
fn composed_softmax_with_loss_follows_the_lectures_graph() {
    let tape = Tape::<f64>::new();
    let t = one_hot(&[1, 0], 3);
    composed::softmax_with_loss(
        tape.var(array![[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),
        Labels::OneHot(t.view()),
    );
    let ops: Vec<String> = (0..tape.len())
        .map(|i| tape.node(i).op().to_string())
        .collect();
    // x, the row maximum (a constant), then: shift, exp, row sum, divide, log, ×t, sum, ×-1, ÷N.
    assert_eq!(
        ops,
        [
            "leaf",
            "leaf",
            "-",
            "exp",
            "sum(axis 1)",
            "/",
            "log",
            "leaf",
            "×",
            "sum",
            "×-1",
            "÷2"
        ]
    );
    assert!(
        !tape.node(1).requires_grad(),
        "the row maximum is a constant"
    );
}

#[test]
#[should_panic(expected = "softmax_with_loss: 2 labels for a batch of 3")]
fn fused_softmax_with_loss_rejects_a_label_count_that_differs_from_the_batch() {
    let tape = Tape::<f64>::new();
    fused::softmax_with_loss(tape.var(Array2::zeros((3, 4))), Labels::Indices(&[0, 1]));
}

#[test]
#[should_panic(expected = "cross_entropy: label 1 is class 4, but there are only 4 classes")]
fn composed_softmax_with_loss_rejects_an_out_of_range_class() {
    let tape = Tape::<f64>::new();
    composed::softmax_with_loss(tape.var(Array2::zeros((2, 4))), Labels::Indices(&[0, 4]));
}

#[test]
#[should_panic(expected = "label row 1 sums to 2, not 1")]
fn softmax_with_loss_rejects_one_hot_rows_that_are_not_distributions() {
    let tape = Tape::<f64>::new();
    let t = array![[1.0, 0.0], [1.0, 1.0]];
    fused::softmax_with_loss(tape.var(Array2::zeros((2, 2))), Labels::OneHot(t.view()));
}

#[test]
#[should_panic(expected = "affine: x [2, 3], W [4, 5] and b [5] do not fit")]
fn fused_affine_names_the_shapes_that_do_not_fit() {
    let tape = Tape::<f64>::new();
    fused::affine(
        tape.var(Array2::zeros((2, 3))),
        tape.var(Array2::zeros((4, 5))),
        tape.var(ndarray::Array1::zeros(5)),
    );
}
