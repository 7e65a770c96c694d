//! Function transforms, as `torch.func` and JAX offer them: derivatives of a closure that builds its result on
//! a tape, returned as plain arrays.
//!
//! Each transform takes `f: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>` — any number of inputs of any shape,
//! one output of any shape — and the inputs' values. Element type `f32` or `f64`.
//!
//! | transform | computes | how | cost |
//! | --- | --- | --- | --- |
//! | [`grad`], [`value_and_grad`] | `∇f` of a one-element output | reverse mode | one forward and one backward pass |
//! | [`vjp`] | `vᵀ J` | reverse mode | one forward and one backward pass |
//! | [`jvp`] | `J t` | forward mode (tangents, no graph) | one forward pass |
//! | [`jacrev`] | `J` | reverse mode | one forward pass, a backward pass per output element |
//! | [`jacfwd`] | `J` | forward mode | a forward pass per input element |
//! | [`jacobian`] | `J` | whichever of the two is cheaper for the shapes | |
//! | [`hvp`] | `H v` of a one-element output | forward over reverse | one forward and one backward pass, with tangents |
//! | [`hessian`] | `H` | forward over reverse | an `hvp` per input element |
//!
//! Jacobians have shape `output ++ input` for each input (PyTorch's and JAX's layout), Hessians
//! `input_j ++ input_k` for each pair.
//!
//! ```
//! use autograd::func;
//! use ndarray::array;
//!
//! // f(x, y) = Σ x² y, kept for two transforms (see `function`)
//! let f = func::function(|v| (v[0] * v[0] * v[1]).sum());
//! let (x, y) = (array![1.0, 2.0].into_dyn(), array![3.0, 4.0].into_dyn());
//! let g = func::grad(&f, &[x.clone(), y.clone()]);
//! assert_eq!(g[0], array![6.0, 16.0].into_dyn()); // 2xy
//! let h = func::hessian(&f, &[x, y]);
//! assert_eq!(h[0][1], array![[2.0, 0.0], [0.0, 4.0]].into_dyn()); // ∂²f/∂x∂y = 2x on the diagonal
//! ```

use ndarray::{ArrayD, IxDyn};

use crate::{Float, Tape, Var};

/// A closure, unchanged, with the signature the transforms take: for a closure kept in a variable (to be
/// given to several transforms, by reference), Rust infers a signature tied to one tape lifetime unless told
/// otherwise, and this tells it. A closure passed straight to a transform, or a `fn`, needs nothing.
///
/// ```
/// use autograd::func;
/// let f = func::function(|v| v[0].tanh().sum());
/// let x = [ndarray::arr1(&[0.5f64]).into_dyn()];
/// assert_eq!(func::grad(&f, &x)[0], func::jacrev(&f, &x)[0]);
/// ```
pub fn function<T: Float, F>(f: F) -> F
where
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    f
}

/// The gradient of a one-element output with respect to each input (zeros where an input does not matter).
///
/// # Panics
/// When the output has more than one element.
#[track_caller]
pub fn grad<T: Float, F>(f: F, inputs: &[ArrayD<T>]) -> Vec<ArrayD<T>>
where
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    value_and_grad(f, inputs).1
}

/// The value of a one-element output and its gradient with respect to each input.
///
/// ```
/// let (y, g) = autograd::func::value_and_grad(|v| v[0].exp().sum(), &[ndarray::arr1(&[0.0f32]).into_dyn()]);
/// assert_eq!((y, g[0][[0]]), (1.0, 1.0));
/// ```
///
/// # Panics
/// When the output has more than one element.
#[track_caller]
pub fn value_and_grad<T: Float, F>(f: F, inputs: &[ArrayD<T>]) -> (T, Vec<ArrayD<T>>)
where
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let tape = Tape::<T>::new();
    let vars = variables(&tape, inputs);
    let y = f(&vars);
    let grads = y.backward();
    (
        y.scalar(),
        gradients_of(&vars, |v| grads.get(v).map(|g| g.to_owned())),
    )
}

/// The output and the vector–Jacobian product `vᵀ J` with respect to each input, for a cotangent `v` of the
/// output's shape.
///
/// ```
/// use ndarray::array;
/// let (y, g) = autograd::func::vjp(|v| v[0] * v[0], &[array![1.0, 3.0].into_dyn()], &array![1.0, -1.0].into_dyn());
/// assert_eq!((y, g[0].clone()), (array![1.0, 9.0].into_dyn(), array![2.0, -6.0].into_dyn()));
/// ```
///
/// # Panics
/// When `cotangent`'s shape differs from the output's.
#[track_caller]
pub fn vjp<T: Float, F>(
    f: F,
    inputs: &[ArrayD<T>],
    cotangent: &ArrayD<T>,
) -> (ArrayD<T>, Vec<ArrayD<T>>)
where
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let tape = Tape::<T>::new();
    let vars = variables(&tape, inputs);
    let y = f(&vars);
    let grads = y.backward_with_seed(cotangent.clone());
    (
        y.value(),
        gradients_of(&vars, |v| grads.get(v).map(|g| g.to_owned())),
    )
}

/// The output and the Jacobian–vector product `J t = Σₖ Jₖ tₖ`, for one tangent per input (of its shape),
/// by forward mode: one forward pass on an inference tape, no graph.
///
/// ```
/// use ndarray::array;
/// let (y, t) = autograd::func::jvp(|v| v[0].sin(), &[array![0.0, 1.0].into_dyn()], &[array![1.0, 2.0].into_dyn()]);
/// assert_eq!(t, array![1.0, 2.0 * 1f64.cos()].into_dyn());
/// ```
///
/// # Panics
/// When the numbers of inputs and tangents, or their shapes, differ.
#[track_caller]
pub fn jvp<T: Float, F>(
    f: F,
    inputs: &[ArrayD<T>],
    tangents: &[ArrayD<T>],
) -> (ArrayD<T>, ArrayD<T>)
where
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    check_directions("jvp", inputs, tangents);
    let tape = Tape::<T>::inference();
    let vars: Vec<Var<'_, T>> = inputs
        .iter()
        .zip(tangents)
        .map(|(x, t)| tape.dual(x.view(), t.view()))
        .collect();
    let y = f(&vars);
    let shape = y.shape();
    (
        y.value(),
        y.tangent().unwrap_or_else(|| ArrayD::zeros(shape)),
    )
}

/// The Jacobian with respect to each input (shape `output ++ input`), by reverse mode: one recording of `f`
/// and one backward pass per output element — the cheap way for functions with few outputs.
///
/// ```
/// use ndarray::array;
/// let j = autograd::func::jacrev(|v| v[0] * v[0], &[array![1.0, 3.0].into_dyn()]);
/// assert_eq!(j[0], array![[2.0, 0.0], [0.0, 6.0]].into_dyn());
/// ```
pub fn jacrev<T: Float, F>(f: F, inputs: &[ArrayD<T>]) -> Vec<ArrayD<T>>
where
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let tape = Tape::<T>::new();
    let vars = variables(&tape, inputs);
    let y = f(&vars);
    let out_shape = y.shape();
    let mut jacobians: Vec<ArrayD<T>> = inputs
        .iter()
        .map(|x| ArrayD::zeros(concat(&out_shape, x.shape())))
        .collect();
    let outputs = out_shape.iter().product::<usize>();
    for j in 0..outputs {
        let grads = y.backward_with_seed(basis::<T>(&out_shape, j));
        for (jacobian, &v) in jacobians.iter_mut().zip(&vars) {
            if let Some(g) = grads.get(v) {
                row(jacobian, outputs, j)
                    .assign(&g.iter().copied().collect::<ndarray::Array1<T>>());
            }
        }
    }
    jacobians
}

/// The Jacobian with respect to each input (shape `output ++ input`), by forward mode: one forward pass per
/// input element, with no graph — the cheap way for functions with few inputs.
///
/// ```
/// use ndarray::array;
/// let j = autograd::func::jacfwd(|v| v[0] * v[0], &[array![1.0, 3.0].into_dyn()]);
/// assert_eq!(j[0], array![[2.0, 0.0], [0.0, 6.0]].into_dyn());
/// ```
pub fn jacfwd<T: Float, F>(f: F, inputs: &[ArrayD<T>]) -> Vec<ArrayD<T>>
where
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let mut jacobians: Vec<Option<ArrayD<T>>> = vec![None; inputs.len()];
    for (k, x) in inputs.iter().enumerate() {
        for i in 0..x.len() {
            let tape = Tape::<T>::inference();
            let vars = directed(&tape, inputs, k, i);
            let y = f(&vars);
            let out_shape = y.shape();
            let jacobian =
                jacobians[k].get_or_insert_with(|| ArrayD::zeros(concat(&out_shape, x.shape())));
            if let Some(t) = y.tangent() {
                column(jacobian, x.len(), i)
                    .assign(&t.iter().copied().collect::<ndarray::Array1<T>>());
            }
        }
    }
    // An input with no elements has a Jacobian with no elements; its output shape comes from one evaluation.
    let out_shape = || {
        let tape = Tape::<T>::inference();
        f(&variables(&tape, inputs)).shape()
    };
    jacobians
        .into_iter()
        .zip(inputs)
        .map(|(j, x)| j.unwrap_or_else(|| ArrayD::zeros(concat(&out_shape(), x.shape()))))
        .collect()
}

/// The Jacobian with respect to each input (shape `output ++ input`), by forward mode when the inputs have
/// fewer elements than the output and by reverse mode otherwise (the output's size comes from one evaluation
/// on an inference tape).
pub fn jacobian<T: Float, F>(f: F, inputs: &[ArrayD<T>]) -> Vec<ArrayD<T>>
where
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let outputs = {
        let tape = Tape::<T>::inference();
        f(&variables(&tape, inputs)).len()
    };
    let inputs_len: usize = inputs.iter().map(ArrayD::len).sum();
    if inputs_len < outputs {
        jacfwd(f, inputs)
    } else {
        jacrev(f, inputs)
    }
}

/// The Hessian–vector product `H v` of a one-element output, for one direction per input (of its shape):
/// the tangent of the gradient, computed in one pass (forward over reverse).
///
/// ```
/// use ndarray::array;
/// // f = Σ x³, H = diag(6x)
/// let hv = autograd::func::hvp(|v| (v[0] * v[0] * v[0]).sum(), &[array![1.0, 2.0].into_dyn()], &[array![1.0, 1.0].into_dyn()]);
/// assert_eq!(hv[0], array![6.0, 12.0].into_dyn());
/// ```
///
/// # Panics
/// When the output has more than one element, or the directions do not match the inputs.
#[track_caller]
pub fn hvp<T: Float, F>(f: F, inputs: &[ArrayD<T>], directions: &[ArrayD<T>]) -> Vec<ArrayD<T>>
where
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    check_directions("hvp", inputs, directions);
    let tape = Tape::<T>::new();
    let vars: Vec<Var<'_, T>> = inputs
        .iter()
        .zip(directions)
        .map(|(x, t)| tape.dual(x.view(), t.view()))
        .collect();
    let grads = f(&vars).backward_graph();
    gradients_of(&vars, |v| grads.get(v).and_then(Var::tangent))
}

/// The Hessian of a one-element output: block `[j][k]` is `∂²f/∂xⱼ∂xₖ`, of shape `input_j ++ input_k` — one
/// forward-over-reverse pass per input element.
///
/// # Panics
/// When the output has more than one element.
#[track_caller]
pub fn hessian<T: Float, F>(f: F, inputs: &[ArrayD<T>]) -> Vec<Vec<ArrayD<T>>>
where
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let mut blocks: Vec<Vec<ArrayD<T>>> = inputs
        .iter()
        .map(|xj| {
            inputs
                .iter()
                .map(|xk| ArrayD::zeros(concat(xj.shape(), xk.shape())))
                .collect()
        })
        .collect();
    for (k, xk) in inputs.iter().enumerate() {
        for i in 0..xk.len() {
            let tape = Tape::<T>::new();
            let vars = directed(&tape, inputs, k, i);
            let grads = f(&vars).backward_graph();
            for (j, &v) in vars.iter().enumerate() {
                if let Some(t) = grads.get(v).and_then(Var::tangent) {
                    let block = &mut blocks[j][k];
                    column(block, xk.len(), i)
                        .assign(&t.iter().copied().collect::<ndarray::Array1<T>>());
                }
            }
        }
    }
    blocks
}

/// The inputs as variables on `tape`.
fn variables<'t, T: Float>(tape: &'t Tape<T>, inputs: &[ArrayD<T>]) -> Vec<Var<'t, T>> {
    inputs.iter().map(|x| tape.var(x.view())).collect()
}

/// The inputs on `tape`, input `k` with the tangent that is 1 at element `i` (in row-major order) and 0
/// elsewhere, the others with none.
fn directed<'t, T: Float>(
    tape: &'t Tape<T>,
    inputs: &[ArrayD<T>],
    k: usize,
    i: usize,
) -> Vec<Var<'t, T>> {
    let mut vars = variables(tape, &inputs[..k]);
    vars.push(tape.dual(inputs[k].view(), basis::<T>(inputs[k].shape(), i)));
    vars.extend(variables(tape, &inputs[k + 1..]));
    vars
}

/// Each variable's array from `get`, or zeros of its shape.
fn gradients_of<'t, T: Float>(
    vars: &[Var<'t, T>],
    get: impl Fn(Var<'t, T>) -> Option<ArrayD<T>>,
) -> Vec<ArrayD<T>> {
    vars.iter()
        .map(|&v| get(v).unwrap_or_else(|| ArrayD::zeros(v.shape())))
        .collect()
}

/// The array of `shape` that is 1 at element `i` (row-major) and 0 elsewhere.
fn basis<T: Float>(shape: &[usize], i: usize) -> ArrayD<T> {
    let mut e = ArrayD::zeros(IxDyn(shape));
    e.as_slice_mut().expect("a new array is contiguous")[i] = T::one();
    e
}

fn concat(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter().chain(b).copied().collect()
}

/// Row `j` of a Jacobian seen as `outputs × inputs`.
fn row<T: Float>(
    jacobian: &mut ArrayD<T>,
    outputs: usize,
    j: usize,
) -> ndarray::ArrayViewMut1<'_, T> {
    let inputs = jacobian.len() / outputs.max(1);
    let flat = jacobian.as_slice_mut().expect("a new array is contiguous");
    ndarray::ArrayViewMut1::from(&mut flat[j * inputs..(j + 1) * inputs])
}

/// Column `i` of a Jacobian seen as `outputs × inputs`.
fn column<T: Float>(
    jacobian: &mut ArrayD<T>,
    inputs: usize,
    i: usize,
) -> ndarray::ArrayViewMut1<'_, T> {
    let outputs = jacobian.len() / inputs.max(1);
    let flat = jacobian.as_slice_mut().expect("a new array is contiguous");
    let matrix =
        ndarray::ArrayViewMut2::from_shape((outputs, inputs), flat).expect("outputs × inputs");
    matrix.index_axis_move(ndarray::Axis(1), i)
}

#[track_caller]
fn check_directions<T: Float>(what: &str, inputs: &[ArrayD<T>], directions: &[ArrayD<T>]) {
    if inputs.len() != directions.len() {
        panic!(
            "{what}: {} directions for {} inputs",
            directions.len(),
            inputs.len()
        );
    }
    for (k, (x, t)) in inputs.iter().zip(directions).enumerate() {
        if x.shape() != t.shape() {
            panic!(
                "{what}: direction {k} has shape {:?}, input {k} has shape {:?}",
                t.shape(),
                x.shape()
            );
        }
    }
}
