//! Contract violations panic with the op's name and the shapes, at the caller's line: shape mismatches,
//! handles from different tapes, and gradient stores queried with another tape's handles.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use autograd::{Tape, Var};
use ndarray::{arr1, arr2, Array2, ArrayD, Axis, IxDyn};

// ---------------------------------------------------------------------------------------------------------------
// Shape errors name the op and the shapes

#[test]
#[should_panic(expected = "matmul: shapes [100, 784] and [50, 10] are incompatible")]
fn matmul_shape_mismatch_panics() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Array2::<f32>::zeros((100, 784)));
    let w = tape.var(Array2::<f32>::zeros((50, 10)));
    let _ = x.matmul(w);
}

#[test]
#[should_panic(expected = "matmul: shapes [3] and [2, 3] are incompatible")]
fn matmul_of_a_vector_of_the_wrong_length_panics() {
    let tape = Tape::<f64>::new();
    let v = tape.var(arr1(&[1.0, 2.0, 3.0]));
    let m = tape.var(Array2::<f64>::zeros((2, 3)));
    let _ = v.matmul(m);
}

#[test]
#[should_panic(expected = "matmul: shapes [2, 3, 4] and [3, 4, 5] are incompatible")]
fn matmul_batches_that_do_not_broadcast_panic() {
    let tape = Tape::<f64>::new();
    let a = tape.var(ndarray::Array3::<f64>::zeros((2, 3, 4)));
    let b = tape.var(ndarray::Array3::<f64>::zeros((3, 4, 5)));
    let _ = a.matmul(b);
}

#[test]
#[should_panic(expected = "add: shapes [2, 3] and [4] cannot be broadcast together")]
fn add_broadcast_mismatch_panics() {
    let tape = Tape::<f64>::new();
    let a = tape.var(Array2::<f64>::zeros((2, 3)));
    let b = tape.var(arr1(&[0.0; 4]));
    let _ = a + b;
}

/// Every binary op names itself.
#[test]
fn binary_broadcast_mismatch_names_the_op() {
    type BinOp = for<'t> fn(Var<'t, f64>, Var<'t, f64>) -> Var<'t, f64>;
    let ops: [(&str, BinOp); 6] = [
        ("sub", |a, b| a - b),
        ("mul", |a, b| a * b),
        ("div", |a, b| a / b),
        ("maximum", |a, b| a.maximum(b)),
        ("minimum", |a, b| a.minimum(b)),
        ("where", |a, b| {
            a.where_(ArrayD::from_elem(IxDyn(&[1]), true), b)
        }),
    ];
    for (name, op) in ops {
        let message = panic_message(|| {
            let tape = Tape::<f64>::new();
            let a = tape.var(Array2::<f64>::zeros((3, 2)));
            let b = tape.var(Array2::<f64>::zeros((2, 3)));
            op(a, b);
        });
        assert_eq!(
            message,
            format!("{name}: shapes [3, 2] and [2, 3] cannot be broadcast together")
        );
    }
}

#[test]
#[should_panic(expected = "reshape: cannot reshape [2, 3] into [4]")]
fn reshape_element_count_mismatch_panics() {
    let tape = Tape::<f64>::new();
    let _ = tape.var(Array2::<f64>::zeros((2, 3))).reshape(&[4]);
}

#[test]
#[should_panic(expected = "take_rows: index 3 out of range for 3 rows (shape [3, 2])")]
fn take_rows_out_of_range_panics() {
    let tape = Tape::<f64>::new();
    let _ = tape.var(Array2::<f64>::zeros((3, 2))).take_rows(&[0, 2, 3]);
}

/// The other movement and reduction ops reject bad arguments with messages naming op and shapes.
#[test]
fn movement_and_reduction_errors_name_op_and_shapes() {
    type Bad = for<'t> fn(Var<'t, f64>);
    let cases: [(&str, Bad); 8] = [
        (
            "take_rows: operand must have at least one axis, got shape []",
            |x| {
                x.sum().take_rows(&[0]);
            },
        ),
        (
            "scatter_rows: operand of shape [2, 3] does not have 3 rows",
            |x| {
                x.scatter_rows(4, &[0, 1, 2]);
            },
        ),
        (
            "scatter_rows: index 4 out of range for 4 rows (shape [4, 3])",
            |x| {
                x.scatter_rows(4, &[0, 4]);
            },
        ),
        (
            "permute: axes [0, 0] are not a permutation of the axes of shape [2, 3]",
            |x| {
                x.permute(&[0, 0]);
            },
        ),
        (
            "broadcast_to: shape [2, 3] cannot be broadcast to [3, 3]",
            |x| {
                x.broadcast_to(&[3, 3]);
            },
        ),
        ("sum_to: shape [4] does not broadcast to [2, 3]", |x| {
            x.sum_to(&[4]);
        }),
        ("sum_axis: axis 2 out of range for shape [2, 3]", |x| {
            x.sum_axis(Axis(2));
        }),
        ("max_axis: axis 5 out of range for shape [2, 3]", |x| {
            x.max_axis_keepdims(Axis(5));
        }),
    ];
    for (expected, bad) in cases {
        let message = panic_message(|| {
            let tape = Tape::<f64>::new();
            bad(tape.var(Array2::<f64>::zeros((2, 3))));
        });
        assert_eq!(message, expected);
    }
}

#[test]
#[should_panic(expected = "scalar: node has shape [2], not one element")]
fn scalar_of_a_vector_panics() {
    let tape = Tape::<f64>::new();
    let _ = tape.var(arr1(&[1.0, 2.0])).scalar();
}

/// Contract violations and misuses are reported at the caller's line (the API is `#[track_caller]`), not
/// inside the engine.
#[test]
fn errors_point_at_the_callers_line() {
    type Bad = for<'t> fn(&'t Tape<f64>);
    let cases: [(&str, Bad); 17] = [
        ("matmul", |t| {
            let _ = t
                .var(Array2::<f64>::zeros((2, 3)))
                .matmul(t.var(Array2::<f64>::zeros((2, 3))));
        }),
        ("matmul 1-D", |t| {
            let _ = t
                .var(arr1(&[1.0, 2.0]))
                .matmul(t.var(Array2::<f64>::zeros((1, 1))));
        }),
        ("add", |t| {
            let _ = t.var(arr1(&[1.0, 2.0])) + t.var(arr1(&[1.0, 2.0, 3.0]));
        }),
        ("reshape", |t| {
            let _ = t.var(arr1(&[1.0, 2.0])).reshape(&[3]);
        }),
        ("take_rows", |t| {
            let _ = t.var(arr1(&[1.0, 2.0])).take_rows(&[2]);
        }),
        ("sum_to", |t| {
            let _ = t.var(arr1(&[1.0, 2.0])).sum_to(&[3]);
        }),
        ("sum_axis", |t| {
            let _ = t.var(arr1(&[1.0, 2.0])).sum_axis(Axis(1));
        }),
        ("scalar", |t| {
            let _ = t.var(arr1(&[1.0, 2.0])).scalar();
        }),
        ("sum_to to a higher rank", |t| {
            let _ = t.var(arr1(&[1.0, 2.0])).sum_to(&[3, 2]);
        }),
        ("mixed tapes", |t| {
            let other = Tape::new();
            let _ = t.var(1.0) * other.var(2.0);
        }),
        ("backward on a vector", |t| {
            let _ = t.var(arr1(&[1.0, 2.0])).backward();
        }),
        ("seed shape", |t| {
            let _ = t.var(arr1(&[1.0, 2.0])).backward_with_seed(1.0);
        }),
        ("gradient of a constant", |t| {
            let c = t.constant(1.0);
            let _ = &(t.var(1.0) * c).backward()[c];
        }),
        ("Gradients::scalar without a gradient", |t| {
            let c = t.constant(1.0);
            let _ = (t.var(1.0) * c).backward().scalar(c);
        }),
        ("Gradients::scalar of a vector", |t| {
            let x = t.var(arr1(&[1.0, 2.0]));
            let _ = x.sum().backward().scalar(x);
        }),
        ("GradGraph index without a gradient", |t| {
            let c = t.constant(1.0);
            let _ = (t.var(1.0) * c).backward_graph()[c];
        }),
        ("gradient store from another tape", |t| {
            let other = Tape::new();
            let x = other.var(1.0);
            let _ = (t.var(1.0) * 2.0).backward().get(x);
        }),
    ];
    let inside_engine: Vec<String> = cases
        .iter()
        .filter_map(|(name, bad)| {
            let file = panic_file(|| bad(&Tape::<f64>::new()));
            (file.as_deref() != Some(file!())).then(|| format!("{name} at {file:?}"))
        })
        .collect();
    assert!(
        inside_engine.is_empty(),
        "panics reported inside the engine: {inside_engine:?}"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Tape identity

#[test]
#[should_panic(expected = "add: operands belong to different tapes")]
fn mixing_tapes_in_an_op_panics() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let _ = t1.var(1.0) + t2.var(2.0);
}

#[test]
fn mixing_tapes_panics_for_every_binary_op() {
    type BinOp = for<'t> fn(Var<'t, f64>, Var<'t, f64>) -> Var<'t, f64>;
    let ops: [(&str, BinOp); 5] = [
        ("mul", |a, b| a * b),
        ("matmul", |a, b| a.matmul(b)),
        ("maximum", |a, b| a.maximum(b)),
        ("where", |a, b| {
            a.where_(ArrayD::from_elem(IxDyn(&[]), true), b)
        }),
        ("hypot", |a, b| a.custom(common::Hypot, &[b])),
    ];
    for (name, op) in ops {
        let message = panic_message(|| {
            let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
            op(t1.var(arr2(&[[1.0]])), t2.var(arr2(&[[2.0]])));
        });
        assert_eq!(
            message,
            format!("{name}: operands belong to different tapes")
        );
    }
}

#[test]
#[should_panic(expected = "gradient store queried with a handle from another tape")]
fn querying_gradients_with_a_handle_from_another_tape_panics() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let x = t1.var(1.0);
    let other = t2.var(1.0);
    let grads = (x * 2.0).backward();
    let _ = grads.get(other);
}

/// A gradient store outlives its tape. A new tape that takes the old one's place in memory (as a boxed tape
/// usually does) must still be told apart, or its node 0 would be answered with the old tape's gradient.
#[test]
fn a_gradient_store_rejects_handles_of_a_new_tape_at_its_old_tapes_address() {
    let first = Box::new(Tape::<f64>::new());
    let old_address: *const Tape<f64> = &*first;
    let grads = {
        let x = first.var(2.0);
        (x * x).backward()
    };
    drop(first);
    let second = Box::new(Tape::<f64>::new());
    let same_address = std::ptr::eq(old_address, &*second);
    let y = second.var(5.0);
    let message = panic_message(|| {
        let _ = grads.get(y);
    });
    assert_eq!(
        message, "gradient store queried with a handle from another tape",
        "(the new tape reused the old one's address: {same_address})"
    );
}

/// A `GradGraph` must not answer for a node of another tape: node ids are only meaningful on their own tape.
#[test]
#[should_panic(expected = "gradient graph queried with a handle from another tape")]
fn querying_a_gradient_graph_with_a_handle_from_another_tape_panics() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let x = t1.var(3.0);
    let other = t2.var(1.0); // node 0 on its tape, like x
    let graph = (x * x).backward_graph();
    let _ = graph.get(other);
}

// ---------------------------------------------------------------------------------------------------------------
// Panic helpers

/// The message of the panic raised by `f`.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

thread_local! {
    static PANIC_FILE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The source file that the panic raised by `f` reports. Installs (once) a hook that records the location on
/// the panicking thread and then defers to the previous hook.
fn panic_file(f: impl FnOnce()) -> Option<String> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|l| l.file().to_string());
            PANIC_FILE.with(|p| *p.borrow_mut() = file);
            previous(info);
        }));
    });
    PANIC_FILE.with(|p| p.borrow_mut().take());
    let _ = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    PANIC_FILE.with(|p| p.borrow_mut().take())
}
