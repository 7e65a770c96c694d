//! The function transforms (`autograd::func`) against each other and against finite differences, over the
//! table of cases that together use every primitive: Jacobians by reverse mode = by forward mode = central
//! differences; `jvp = J·t`; `vjp = vᵀ·J`; Hessians symmetric, equal to central differences of the gradient,
//! and `hvp = H·v`. Custom ops: a given forward-mode rule is used, and without one the double-VJP fallback
//! gives the same tangent.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use autograd::{func, Backend, CustomOp, Float, Tangent, Tape, Var};
use common::cases::{table, Function};
use common::{normal, rng, Hypot};
use ndarray::{Array2, ArrayD, ArrayViewD};

const EPS: f64 = 1e-6;

/// `max |a − b| / max(max |a|, max |b|, 1)`.
fn rel_diff(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    let scale = a.iter().chain(b).fold(1.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

#[track_caller]
fn assert_close(what: &str, a: &ArrayD<f64>, b: &ArrayD<f64>, tol: f64) {
    let d = rel_diff(a, b);
    assert!(d <= tol, "{what}: relative difference {d:e}\n{a}\nvs\n{b}");
}

/// `f`'s value at `inputs`, on an inference tape.
fn value(f: Function, inputs: &[ArrayD<f64>]) -> ArrayD<f64> {
    let tape = Tape::<f64>::inference();
    let vars: Vec<Var<'_, f64>> = inputs.iter().map(|x| tape.var(x.clone())).collect();
    f(&vars).value()
}

/// The Jacobian by central differences, shape `output ++ input` for each input.
fn numeric_jacobian(f: Function, inputs: &[ArrayD<f64>]) -> Vec<ArrayD<f64>> {
    let out_shape = value(f, inputs).shape().to_vec();
    let mut probe = inputs.to_vec();
    (0..inputs.len())
        .map(|k| {
            let n = inputs[k].len();
            let m: usize = out_shape.iter().product();
            let mut j = Array2::<f64>::zeros((m, n));
            for i in 0..n {
                let x0 = inputs[k].as_slice().unwrap()[i];
                probe[k].as_slice_mut().unwrap()[i] = x0 + EPS;
                let up = value(f, &probe);
                probe[k].as_slice_mut().unwrap()[i] = x0 - EPS;
                let down = value(f, &probe);
                probe[k].as_slice_mut().unwrap()[i] = x0;
                let column = (up - down) / (2.0 * EPS);
                j.column_mut(i)
                    .assign(&column.iter().copied().collect::<ndarray::Array1<f64>>());
            }
            let shape: Vec<usize> = out_shape.iter().chain(inputs[k].shape()).copied().collect();
            j.into_shape_with_order(shape).unwrap().into_dyn()
        })
        .collect()
}

/// A Jacobian (`output ++ input`) as an `outputs × inputs` matrix.
fn as_matrix(j: &ArrayD<f64>, input: &ArrayD<f64>) -> Array2<f64> {
    let n = input.len();
    let m = j.len() / n.max(1);
    j.to_owned().into_shape_with_order((m, n)).unwrap()
}

fn flat(a: &ArrayD<f64>) -> ndarray::Array1<f64> {
    a.iter().copied().collect()
}

#[test]
fn jacobians_by_reverse_and_forward_mode_equal_finite_differences() {
    let mut r = rng(21);
    for case in table() {
        for inputs in (case.inputs)(&mut r) {
            let reverse = func::jacrev(case.f, &inputs);
            let forward = func::jacfwd(case.f, &inputs);
            let numeric = numeric_jacobian(case.f, &inputs);
            let chosen = func::jacobian(case.f, &inputs);
            for k in 0..inputs.len() {
                let what = format!("{} input {k}", case.name);
                assert_close(
                    &format!("{what}: reverse vs forward"),
                    &reverse[k],
                    &forward[k],
                    1e-12,
                );
                assert_close(
                    &format!("{what}: reverse vs numeric"),
                    &reverse[k],
                    &numeric[k],
                    1e-7,
                );
                assert_eq!(
                    chosen[k],
                    if inputs.iter().map(|x| x.len()).sum::<usize>() < value(case.f, &inputs).len()
                    {
                        forward[k].clone()
                    } else {
                        reverse[k].clone()
                    }
                );
            }
        }
    }
}

#[test]
fn jvp_is_the_jacobian_times_the_tangent_and_vjp_the_cotangent_times_the_jacobian() {
    let mut r = rng(22);
    for case in table() {
        for inputs in (case.inputs)(&mut r) {
            let jac = func::jacrev(case.f, &inputs);
            let tangents: Vec<ArrayD<f64>> =
                inputs.iter().map(|x| normal(&mut r, x.shape())).collect();
            let (y, jt) = func::jvp(case.f, &inputs, &tangents);
            assert_close(
                &format!("{}: jvp value", case.name),
                &y,
                &value(case.f, &inputs),
                0.0,
            );
            let mut expected = ndarray::Array1::<f64>::zeros(y.len());
            for k in 0..inputs.len() {
                expected += &as_matrix(&jac[k], &inputs[k]).dot(&flat(&tangents[k]));
            }
            assert_close(
                &format!("{}: jvp", case.name),
                &flat(&jt).into_dyn(),
                &expected.into_dyn(),
                1e-12,
            );

            let cotangent = normal(&mut r, y.shape());
            let (_, vj) = func::vjp(case.f, &inputs, &cotangent);
            for k in 0..inputs.len() {
                let expected = as_matrix(&jac[k], &inputs[k]).t().dot(&flat(&cotangent));
                assert_close(
                    &format!("{}: vjp {k}", case.name),
                    &flat(&vj[k]).into_dyn(),
                    &expected.into_dyn(),
                    1e-12,
                );
            }
        }
    }
}

/// `Σ w ⊙ f(x)` for a fixed `w`: a one-element function of every case, so that it has a Hessian.
fn contracted<'t>(f: Function, x: &[Var<'t, f64>]) -> Var<'t, f64> {
    let y = f(x);
    let n = y.len();
    let w =
        ArrayD::from_shape_vec(y.shape(), (0..n).map(|k| 0.5 + 0.1 * k as f64).collect()).unwrap();
    (y * y.constant_like(w)).sum()
}

#[test]
fn hessians_are_symmetric_and_equal_finite_differences_of_the_gradient() {
    let mut r = rng(23);
    for case in table() {
        for inputs in (case.inputs)(&mut r) {
            let f = case.f;
            let g = func::function(move |v| contracted(f, v));
            let h = func::hessian(g, &inputs);
            let n = inputs.len();
            for j in 0..n {
                for k in 0..n {
                    let hjk = as_matrix(&h[j][k], &inputs[k]);
                    let hkj = as_matrix(&h[k][j], &inputs[j]);
                    assert_close(
                        &format!("{} H[{j}][{k}] = H[{k}][{j}]ᵀ", case.name),
                        &hjk.into_dyn(),
                        &hkj.t().to_owned().into_dyn(),
                        1e-12,
                    );
                }
            }
            // Column i of the blocks [·][k]: the change of the gradient along input k's element i.
            let mut probe = inputs.clone();
            for k in 0..n {
                for i in 0..inputs[k].len() {
                    let x0 = inputs[k].as_slice().unwrap()[i];
                    probe[k].as_slice_mut().unwrap()[i] = x0 + EPS;
                    let up = func::grad(g, &probe);
                    probe[k].as_slice_mut().unwrap()[i] = x0 - EPS;
                    let down = func::grad(g, &probe);
                    probe[k].as_slice_mut().unwrap()[i] = x0;
                    for j in 0..n {
                        let numeric = ((&up[j] - &down[j]) / (2.0 * EPS)).into_dyn();
                        let analytic = as_matrix(&h[j][k], &inputs[k]).column(i).to_owned();
                        assert_close(
                            &format!("{} H[{j}][{k}] column {i}", case.name),
                            &flat(&numeric).into_dyn(),
                            &analytic.into_dyn(),
                            1e-6,
                        );
                    }
                }
            }
            // hvp is H·v.
            let directions: Vec<ArrayD<f64>> =
                inputs.iter().map(|x| normal(&mut r, x.shape())).collect();
            let hv = func::hvp(g, &inputs, &directions);
            for j in 0..n {
                let mut expected = ndarray::Array1::<f64>::zeros(inputs[j].len());
                for k in 0..n {
                    let block = h[j][k]
                        .to_owned()
                        .into_shape_with_order((inputs[j].len(), inputs[k].len()))
                        .unwrap();
                    expected += &block.dot(&flat(&directions[k]));
                }
                assert_close(
                    &format!("{} hvp {j}", case.name),
                    &flat(&hv[j]).into_dyn(),
                    &expected.into_dyn(),
                    1e-12,
                );
            }
        }
    }
}

/// `a · b` element-wise, with a forward-mode rule of its own that counts its calls.
struct CountedProduct(Rc<Cell<usize>>);

impl<T: Float> CustomOp<T> for CountedProduct {
    fn name(&self) -> &str {
        "counted_product"
    }

    fn forward(&self, x: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        &x[0] * &x[1]
    }

    fn backward<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        vec![needs[0].then(|| g * x[1]), needs[1].then(|| g * x[0])]
    }

    fn jvp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        dx: &[Option<Var<'a, T, B>>],
    ) -> Tangent<Var<'a, T, B>> {
        self.0.set(self.0.get() + 1);
        match (dx[0], dx[1]) {
            (Some(da), Some(db)) => Tangent::Of(da * x[1] + x[0] * db),
            (Some(da), None) => Tangent::Of(da * x[1]),
            (None, Some(db)) => Tangent::Of(x[0] * db),
            (None, None) => Tangent::Zero,
        }
    }
}

#[test]
fn a_custom_ops_forward_rule_is_used_and_the_fallback_agrees_with_it() {
    let mut r = rng(24);
    let inputs = [normal(&mut r, &[2, 3]), normal(&mut r, &[2, 3])];
    let tangents = [normal(&mut r, &[2, 3]), normal(&mut r, &[2, 3])];
    let calls = Rc::new(Cell::new(0));
    let (_, with_rule) = func::jvp(
        |v| v[0].custom(CountedProduct(calls.clone()), &[v[1]]),
        &inputs,
        &tangents,
    );
    assert_eq!(calls.get(), 1, "the op's own forward-mode rule runs once");
    let (_, primitive) = func::jvp(|v| v[0] * v[1], &inputs, &tangents);
    assert_close("own rule vs primitive", &with_rule, &primitive, 1e-15);
    // Hypot has no forward-mode rule: its tangent comes from its backward rule (double VJP).
    let positive = [
        inputs[0].mapv(f64::abs) + 0.5,
        inputs[1].mapv(f64::abs) + 0.5,
    ];
    let (_, fallback) = func::jvp(|v| v[0].custom(Hypot, &[v[1]]), &positive, &tangents);
    let (_, composed) = func::jvp(|v| (v[0] * v[0] + v[1] * v[1]).sqrt(), &positive, &tangents);
    assert_close(
        "double-VJP fallback vs composed",
        &fallback,
        &composed,
        1e-12,
    );
}

#[test]
fn transforms_work_in_f32() {
    let x = ndarray::arr1(&[0.3f32, -0.7]).into_dyn();
    let g = func::grad(|v| v[0].tanh().sum(), std::slice::from_ref(&x));
    let h = func::hessian(|v| v[0].tanh().sum(), std::slice::from_ref(&x));
    for i in 0..2 {
        let t = x[[i]].tanh();
        assert!((g[0][[i]] - (1.0 - t * t)).abs() < 1e-6);
        assert!((h[0][0][[i, i]] - (-2.0 * t * (1.0 - t * t))).abs() < 1e-6);
        assert_eq!(h[0][0][[i, 1 - i]], 0.0);
    }
}
