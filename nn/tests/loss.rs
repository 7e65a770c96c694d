//! The losses of `nn::loss`: equal to the lecture's Softmax-with-Loss where they overlap, correct by finite
//! differences to second order, finite for logits far apart, and refusing targets that do not fit.

mod common;

use autograd::{gradcheck, gradgradcheck, Tape};
use ndarray::{array, ArrayD};
use nn::layers::composed;
use nn::loss::{
    binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss, Reduction, Target,
};
use nn::Labels;
use rand::rngs::StdRng;
use rand::SeedableRng;

use common::{assert_close, one_hot, random};

#[test]
fn cross_entropy_is_the_lectures_softmax_with_loss_for_indices_and_one_hot_rows() {
    let rng = &mut StdRng::seed_from_u64(40);
    let logits = random(rng, &[6, 4], 3.0);
    let classes = [3, 0, 1, 1, 2, 0];
    let t = one_hot(&classes, 4);
    let tape = Tape::<f64>::new();
    let x = tape.var(logits);
    let lecture = composed::softmax_with_loss(x, &classes[..]);
    for target in [Target::from(&classes[..]), Target::from(Labels::from(&t))] {
        let loss = cross_entropy(x, target, Reduction::Mean);
        assert!((loss.scalar() - lecture.scalar()).abs() < 1e-14);
        let (a, b) = (loss.backward()[x].clone(), lecture.backward()[x].clone());
        assert_close("d loss / d logits", a.view(), b.view());
    }
    let sum = cross_entropy(x, &classes[..], Reduction::Sum).scalar();
    assert!((sum - 6.0 * lecture.scalar()).abs() < 1e-12);
    let each = cross_entropy(x, &classes[..], Reduction::None);
    assert_eq!(each.shape(), [6]);
}

#[test]
fn every_loss_passes_first_and_second_order_checks() {
    let rng = &mut StdRng::seed_from_u64(41);
    let logits = random(rng, &[5, 3], 2.0);
    let pixels = [
        random(rng, &[2, 3, 2, 2], 2.0),
        random(rng, &[2, 3, 2, 2], 2.0),
    ];
    let probability = random(rng, &[4, 3], 0.5).mapv(|p| p + 0.5);
    type Loss = for<'t> fn(&[autograd::Var<'t, f64>]) -> autograd::Var<'t, f64>;
    let cases: Vec<(&str, Loss, Vec<ArrayD<f64>>)> = vec![
        (
            "cross_entropy, classes",
            |v| cross_entropy(v[0], &[2, 0, 1, 1, 0][..], Reduction::Mean),
            vec![logits.clone()],
        ),
        (
            "cross_entropy, probabilities",
            |v| {
                let t = array![
                    [0.2, 0.3, 0.5],
                    [1.0, 0.0, 0.0],
                    [0.1, 0.1, 0.8],
                    [0.5, 0.5, 0.0],
                    [0.3, 0.3, 0.4]
                ];
                cross_entropy(v[0], Target::Probabilities(t.into_dyn()), Reduction::Sum)
            },
            vec![logits.clone()],
        ),
        (
            "cross_entropy, [N, C, H, W] logits",
            |v| {
                let classes =
                    ArrayD::from_shape_vec(vec![2, 2, 2], vec![0, 2, 1, 1, 2, 0, 0, 1]).unwrap();
                cross_entropy(v[0], Target::Classes(classes), Reduction::Mean)
            },
            vec![pixels[0].clone()],
        ),
        (
            "nll_loss",
            |v| nll_loss(v[0].log_softmax(1), &[2, 0, 1, 1, 0][..], Reduction::Mean),
            vec![logits.clone()],
        ),
        (
            "mse_loss",
            |v| mse_loss(v[0], v[1], Reduction::Mean),
            vec![pixels[0].clone(), pixels[1].clone()],
        ),
        (
            "binary_cross_entropy_with_logits",
            |v| binary_cross_entropy_with_logits(v[0], v[1], Reduction::Mean),
            vec![random(rng, &[4, 3], 3.0), probability],
        ),
    ];
    for (name, f, inputs) in cases {
        let first = gradcheck(f, &inputs);
        assert!(first.max_rel_error() < 1e-7, "{name}:\n{first}");
        let second = gradgradcheck(f, &inputs);
        assert!(
            second.max_rel_error() < 1e-5,
            "{name}, second order:\n{second}"
        );
    }
}

#[test]
fn a_logit_gap_of_a_thousand_gives_a_finite_loss_and_gradient() {
    let tape = Tape::<f64>::new();
    let x = tape.var(array![[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]]);
    for classes in [[0, 1], [2, 0]] {
        let loss = cross_entropy(x, &classes[..], Reduction::Mean);
        assert!(loss.scalar().is_finite());
        assert!(loss
            .backward()
            .get(x)
            .unwrap()
            .iter()
            .all(|g| g.is_finite()));
    }
    let wrong = cross_entropy(x, &[2, 0][..], Reduction::Sum).scalar();
    assert!((wrong - 3000.0).abs() < 1e-9, "−log p = the gap: {wrong}");
    let t = tape.var(array![[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]);
    let bce = binary_cross_entropy_with_logits(x, t, Reduction::Sum);
    assert!(
        bce.scalar().is_finite() && bce.backward().get(x).unwrap().iter().all(|g| g.is_finite())
    );
}

#[test]
#[should_panic(
    expected = "nll_loss: classes of shape [3] for log-probabilities of shape [2, 3] (expected [2])"
)]
fn a_target_of_the_wrong_length_names_both_shapes() {
    let tape = Tape::<f64>::new();
    let x = tape.var(ndarray::Array2::<f64>::zeros((2, 3)));
    cross_entropy(x, &[0, 1, 2][..], Reduction::Mean);
}

#[test]
fn fused_and_composed_affine_accept_the_same_biases() {
    let rng = &mut StdRng::seed_from_u64(42);
    let (x, w) = (random(rng, &[4, 3], 1.0), random(rng, &[3, 2], 1.0));
    for bias_shape in [&[2][..], &[1, 2], &[4, 2], &[4, 1], &[]] {
        let b = random(rng, bias_shape, 1.0);
        let tape = Tape::<f64>::new();
        let (xv, wv, bv) = (tape.var(x.clone()), tape.var(w.clone()), tape.var(b));
        let fused = nn::layers::fused::affine(xv, wv, bv);
        let composed = composed::affine(xv, wv, bv);
        assert_close("y", fused.value().view(), composed.value().view());
        let (gf, gc) = (
            (fused * fused).sum().backward(),
            (composed * composed).sum().backward(),
        );
        assert_eq!(gf[bv].shape(), bias_shape);
        for v in [xv, wv, bv] {
            assert_close("gradient", gf[v].view(), gc[v].view());
        }
    }
}
