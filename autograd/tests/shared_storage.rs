//! Shared value storage: a reshape of a contiguous value, and a transpose of any stored value, copy no
//! element, in the forward pass and in the backward pass, and no write to one value ever shows in another that shares its buffer.

use autograd::{Tape, Var};
use ndarray::{array, ArcArray2, ArrayD};

fn address(v: Var<'_, f64>) -> *const f64 {
    v.with_value(|a| a.as_ptr())
}

/// A constant made from a shared array held elsewhere too reads that array's buffer, and gives it back when the
/// tape goes (a training loop reuses its batch buffers this way); an owned array moves in; a view is copied.
#[test]
fn shared_arrays_become_values_without_a_copy_and_come_back_unique() {
    let mut batch: ArcArray2<f64> = array![[1.0, 2.0], [3.0, 4.0]].into_shared();
    let owned = array![[5.0, 6.0]];
    let owned_address = owned.as_ptr();
    let view_source = array![7.0, 8.0];
    {
        let tape = Tape::new();
        let shared = tape.constant(batch.clone());
        assert_eq!(address(shared), batch.as_ptr());
        assert!(!batch.is_unique(), "the tape holds the buffer");
        assert_eq!(address(tape.constant(owned)), owned_address);
        let copied = tape.constant(view_source.view());
        assert_ne!(address(copied), view_source.as_ptr());
        assert_eq!(copied.value(), view_source.clone().into_dyn());
        assert_eq!(shared.value(), batch.to_owned().into_dyn());
    }
    assert!(batch.is_unique(), "the tape let go of the buffer");
    let before = batch.as_ptr();
    batch[[0, 0]] = 9.0;
    assert_eq!(
        batch.as_ptr(),
        before,
        "a unique buffer is written in place"
    );
}

#[test]
fn reshape_of_a_contiguous_value_shares_its_buffer() {
    let tape = Tape::new();
    let x = tape.var(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let y = x.reshape(&[3, 2]);
    let z = y.reshape(&[6]);
    assert_eq!(address(y), address(x));
    assert_eq!(address(z), address(x));
    assert_eq!(z.value(), array![1.0, 2.0, 3.0, 4.0, 5.0, 6.0].into_dyn());
}

/// `x · Wᵀ` as a linear layer computes it: `Wᵀ` is `W`'s buffer read with swapped strides, and `W`'s gradient
/// is the buffer of the product that made `Wᵀ`'s, transposed back.
#[test]
fn transpose_shares_the_buffer_forward_and_backward() {
    let tape = Tape::new();
    let w = tape.var(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let x = tape.constant(array![[1.0, -1.0, 0.5]]);
    let wt = w.t();
    assert_eq!(address(wt), address(w));
    assert_eq!(
        wt.value(),
        array![[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]].into_dyn()
    );
    let grads = x.matmul(wt).sum().backward();
    let (gw, gwt) = (grads.get(w).unwrap(), grads.get(wt).unwrap());
    assert_eq!(gw.as_ptr(), gwt.as_ptr());
    assert_eq!(gw, array![[1.0, -1.0, 0.5], [1.0, -1.0, 0.5]].into_dyn());
    assert!(gw.is_standard_layout(), "W's gradient is row-major");
}

/// A product's gradient comes out in its operand's layout, on the left as on the right, with the values of the
/// row-major rule: `dA = g · Bᵀ`, `dB = Aᵀ · g`.
#[test]
fn gradients_of_operands_stored_transposed_are_row_major_for_the_original() {
    let tape = Tape::new();
    let w = tape.var(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let v = tape.var(array![[0.5, -2.0], [1.5, 3.0]]);
    let seed = array![[1.0, 2.0], [3.0, -1.0], [0.0, 4.0]];
    // wᵀ · v: d(wᵀ) = seed · vᵀ, so dw = v · seedᵀ.
    let grads = w.t().matmul(v).backward_with_seed(seed.clone());
    let gw = grads.get(w).unwrap();
    assert!(gw.is_standard_layout());
    assert_eq!(gw, array![[-3.5, 3.5, -8.0], [7.5, 1.5, 12.0]].into_dyn());
    assert_eq!(
        grads.get(v).unwrap(),
        array![[7.0, 12.0], [19.0, 27.0]].into_dyn()
    );
}

#[test]
fn reshape_of_a_transposed_value_copies_in_row_major_order() {
    let tape = Tape::new();
    let x = tape.var(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let t = x.t();
    let y = t.reshape(&[6]);
    assert_ne!(address(y), address(x));
    assert_eq!(y.value(), array![1.0, 4.0, 2.0, 5.0, 3.0, 6.0].into_dyn());
}

#[test]
fn gradient_through_a_reshape_shares_the_upstream_gradient() {
    let tape = Tape::new();
    let x = tape.var(array![[1.0, 2.0], [3.0, 4.0]]);
    let y = x.reshape(&[4]);
    let c = tape.constant(array![1.0, -2.0, 3.0, -4.0]);
    let grads = (y * c).sum().backward();
    let (gx, gy) = (grads.get(x).unwrap(), grads.get(y).unwrap());
    assert_eq!(gx.as_ptr(), gy.as_ptr());
    assert_eq!(gx, array![[1.0, -2.0], [3.0, -4.0]].into_dyn());
}

#[test]
fn accumulating_into_a_shared_gradient_leaves_the_other_value_unchanged() {
    // x reaches the loss twice: through a product and through a reshape (whose gradient shares y's buffer).
    // The product is recorded first, so the backward pass reaches it last: x's gradient starts as the shared
    // one, and adding the product's contribution must copy the buffer first, not write into y's gradient.
    let tape = Tape::new();
    let x = tape.var(array![[1.0, 2.0], [3.0, 4.0]]);
    let d = tape.constant(array![[10.0, 20.0], [30.0, 40.0]]);
    let w = x * d;
    let y = x.reshape(&[4]);
    let c = tape.constant(array![1.0, -2.0, 3.0, -4.0]);
    let grads = ((y * c).sum() + w.sum()).backward();
    assert_eq!(
        grads.get(y).unwrap(),
        array![1.0, -2.0, 3.0, -4.0].into_dyn()
    );
    assert_eq!(
        grads.get(x).unwrap(),
        array![[11.0, 18.0], [33.0, 36.0]].into_dyn()
    );
}

#[test]
fn taking_a_shared_gradient_copies_and_leaves_the_store_intact() {
    let tape = Tape::new();
    let x = tape.var(array![[1.0, 2.0], [3.0, 4.0]]);
    let y = x.reshape(&[4]);
    let c = tape.constant(array![1.0, -2.0, 3.0, -4.0]);
    let mut grads = (y * c).sum().backward();
    let mut gx: ArrayD<f64> = grads.take(x).unwrap();
    gx.fill(0.0);
    assert_eq!(
        grads.get(y).unwrap(),
        array![1.0, -2.0, 3.0, -4.0].into_dyn()
    );
}
