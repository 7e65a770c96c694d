//! The table of cases that together use every primitive: each a function built from the op(s) under test and
//! the input sets to check it at, over several shapes with broadcasting where the op has it. The per-variant
//! check table (`op_table.rs`) and the transform tests (`transforms.rs`) run through it.

use autograd::Var;
use ndarray::{ArrayD, Axis};
use rand::rngs::StdRng;

use super::{away_from_zero, distinct, mixed_signs, normal, separated_pair, uniform, Hypot};

pub type Function = for<'t> fn(&[Var<'t, f64>]) -> Var<'t, f64>;
pub type Inputs = fn(&mut StdRng) -> Vec<Vec<ArrayD<f64>>>;

/// One row: a function built from the op(s) under test, and the input sets to check it at.
pub struct Case {
    pub name: &'static str,
    pub f: Function,
    pub inputs: Inputs,
}

/// Shapes for element-wise unary ops: a number, a vector, a matrix, a 3-D tensor.
const SHAPES: &[&[usize]] = &[&[], &[5], &[3, 4], &[2, 3, 2]];

/// Operand shape pairs for element-wise binary ops, broadcasting in every way.
const PAIRS: &[(&[usize], &[usize])] = &[
    (&[3, 4], &[3, 4]),
    (&[3, 1], &[1, 4]),
    (&[2, 3], &[3]),
    (&[], &[2, 3]),
    (&[2, 1, 4], &[3, 1]),
];

fn each_shape(
    gen: fn(&mut StdRng, &[usize]) -> ArrayD<f64>,
) -> impl Fn(&mut StdRng) -> Vec<Vec<ArrayD<f64>>> {
    move |r| SHAPES.iter().map(|s| vec![gen(r, s)]).collect()
}

fn unit(r: &mut StdRng, s: &[usize]) -> ArrayD<f64> {
    uniform(r, s, -1.5, 1.5)
}

fn positive(r: &mut StdRng, s: &[usize]) -> ArrayD<f64> {
    uniform(r, s, 0.5, 2.5)
}

fn wide(r: &mut StdRng, s: &[usize]) -> ArrayD<f64> {
    uniform(r, s, -6.0, 6.0)
}

fn nonzero(r: &mut StdRng, s: &[usize]) -> ArrayD<f64> {
    away_from_zero(r, s, 0.3, 2.0)
}

fn signs(r: &mut StdRng, s: &[usize]) -> ArrayD<f64> {
    mixed_signs(r, s, 0.2, 2.0)
}

fn pairs(r: &mut StdRng, b: fn(&mut StdRng, &[usize]) -> ArrayD<f64>) -> Vec<Vec<ArrayD<f64>>> {
    PAIRS
        .iter()
        .map(|(sa, sb)| vec![normal(r, sa), b(r, sb)])
        .collect()
}

fn separated(r: &mut StdRng) -> Vec<Vec<ArrayD<f64>>> {
    PAIRS[1..]
        .iter()
        .map(|(sa, sb)| {
            let (a, b) = separated_pair(r, sa, sb, 0.1);
            vec![a, b]
        })
        .collect()
}

/// A 5×4 sparse constant with an empty row, a repeated row and two entries in one column of a row (which add).
fn sparse_constant() -> autograd::SparseMatrix<f64> {
    autograd::SparseMatrix::from_rows(
        4,
        [
            vec![(1, 0.5), (3, -2.0)],
            vec![],
            vec![(0, 1.5), (1, -0.7), (1, 0.3)],
        ],
    )
    .select_rows([2, 0, 1, 2, 0])
}

fn matrix(r: &mut StdRng, rows: usize, cols: usize) -> ArrayD<f64> {
    normal(r, &[rows, cols])
}

macro_rules! cases {
    ($($name:literal: |$v:ident| $f:expr, |$r:ident| $inputs:expr;)*) => {
        vec![$(Case {
            name: $name,
            f: |$v| $f,
            inputs: |$r| $inputs,
        }),*]
    };
}

pub fn table() -> Vec<Case> {
    cases! {
        // Element-wise unary ops; a case of a linear op is squared so its rule meets a non-zero Hessian.
        "neg": |v| -v[0] * v[0], |r| each_shape(unit)(r);
        "exp": |v| v[0].exp(), |r| each_shape(unit)(r);
        "log": |v| v[0].log(), |r| each_shape(positive)(r);
        "recip": |v| v[0].recip(), |r| each_shape(nonzero)(r);
        "sqrt": |v| v[0].sqrt(), |r| each_shape(positive)(r);
        "tanh": |v| v[0].tanh(), |r| each_shape(unit)(r);
        "tan": |v| v[0].tan(), |r| each_shape(unit)(r);
        "sigmoid": |v| v[0].sigmoid(), |r| each_shape(wide)(r);
        "softplus": |v| v[0].softplus(), |r| each_shape(wide)(r);
        "log1p": |v| v[0].log1p(), |r| each_shape(positive)(r);
        "expm1": |v| v[0].expm1(), |r| each_shape(unit)(r);
        "square": |v| v[0].square(), |r| each_shape(unit)(r);
        "powi": |v| v[0].powi(3) + v[0].powi(-2) + v[0].powi(0) * v[0], |r| each_shape(nonzero)(r);
        "clamp": |v| v[0].clamp(-1.0, 1.0) * v[0], |r| each_shape(unit)(r);
        "floor": |v| (v[0].floor() + 2.5) * v[0] * v[0], |r| each_shape(unit)(r);
        "ceil": |v| (v[0].ceil() + 2.5) * v[0] * v[0], |r| each_shape(unit)(r);
        "round": |v| (v[0].round() + 2.5) * v[0] * v[0], |r| each_shape(unit)(r);
        "sin": |v| v[0].sin(), |r| each_shape(unit)(r);
        "cos": |v| v[0].cos(), |r| each_shape(unit)(r);
        "relu": |v| v[0].relu() * v[0], |r| each_shape(signs)(r);
        "abs": |v| v[0].abs() * v[0], |r| each_shape(signs)(r);
        "sign": |v| v[0].sign() * v[0] * v[0], |r| each_shape(signs)(r);
        "powf": |v| v[0].powf(2.5) + v[0].powf(-1.5), |r| each_shape(positive)(r);
        "add_scalar": |v| (v[0] + 1.5) * v[0], |r| each_shape(unit)(r);
        "sub_scalar": |v| (v[0] - 0.5) * v[0], |r| each_shape(unit)(r);
        "rsub_scalar": |v| (2.0 - v[0]) * v[0], |r| each_shape(unit)(r);
        "mul_scalar": |v| (v[0] * 3.0) * v[0], |r| each_shape(unit)(r);
        "div_scalar": |v| (v[0] / 4.0) * v[0], |r| each_shape(unit)(r);
        // Element-wise binary ops, broadcast.
        "add": |v| (v[0] + v[1]).tanh(), |r| pairs(r, normal);
        "sub": |v| (v[0] - v[1]).tanh(), |r| pairs(r, normal);
        "mul": |v| v[0] * v[1], |r| pairs(r, normal);
        "div": |v| v[0] / v[1], |r| pairs(r, nonzero);
        "pow": |v| v[0].pow(v[1]), |r| PAIRS.iter().map(|(sa, sb)| vec![positive(r, sa), normal(r, sb)]).collect();
        "maximum": |v| v[0].maximum(v[1]) * v[0], |r| separated(r);
        "minimum": |v| v[0].minimum(v[1]) * v[1], |r| separated(r);
        // Reductions.
        "sum_to": |v| { let s = v[0].sum_to(&[1, 4]); s * s }, |r| vec![vec![normal(r, &[3, 4])]];
        "sum": |v| { let s = v[0].sum(); s * s }, |r| each_shape(unit)(r);
        "sum_axis": |v| { let s = v[0].sum_axis(Axis(1)); s * s }, |r| vec![vec![normal(r, &[3, 4])], vec![normal(r, &[2, 3, 2])]];
        "sum_axis_keepdims": |v| v[0].sum_axis_keepdims(Axis(0)) * v[0], |r| vec![vec![normal(r, &[3, 4])]];
        "max_axis": |v| { let m = v[0].max_axis(Axis(1)); m * m }, |r| vec![vec![distinct(r, &[3, 4], 0.1)], vec![distinct(r, &[2, 3, 2], 0.1)]];
        "max_axis_keepdims": |v| v[0].max_axis_keepdims(Axis(0)) * v[0], |r| vec![vec![distinct(r, &[3, 4], 0.1)]];
        "cumsum": |v| { let y = v[0].cumsum(-1); y * y }, |r| vec![vec![normal(r, &[3, 4])], vec![normal(r, &[2, 3, 2])], vec![normal(r, &[5])]];
        "sum_axes": |v| v[0].sum_axes([0, 2], false).square().sum() + v[0].sum_axes(-1, true).sum(), |r| vec![vec![normal(r, &[2, 3, 4])]];
        "mean_axes": |v| { let y = v[0].mean_axes([2, 0], true); y * v[0] }, |r| vec![vec![normal(r, &[2, 3, 4])]];
        "max_axes": |v| v[0].max_axes([0, 2], false).square().sum() + v[0].max(), |r| vec![vec![distinct(r, &[2, 3, 4], 0.1)]];
        "min_axes": |v| (v[0].min_axes(1, true) * v[0]).sum() + v[0].min(), |r| vec![vec![distinct(r, &[3, 4], 0.1)]];
        "var_std": |v| v[0].var(1, 1, false) * v[0].std(.., 0, false), |r| vec![vec![normal(r, &[3, 4])], vec![normal(r, &[2, 3, 2])]];
        "norm": |v| v[0].norm(2.0, 1, false) + v[0].norm(3.0, .., false) + v[0].norm(1.0, 0, true).sum() * v[0].norm(f64::INFINITY, .., false), |r| vec![vec![away_from_zero(r, &[3, 4], 0.2, 2.0)]];
        "logsumexp": |v| v[0].logsumexp([0, 1], false) * v[0].logsumexp(-1, true), |r| vec![vec![normal(r, &[3, 4])], vec![normal(r, &[2, 3, 2])]];
        "softmax": |v| v[0].softmax(1) * v[0], |r| vec![vec![normal(r, &[3, 4])], vec![normal(r, &[2, 3, 2])]];
        "log_softmax": |v| v[0].log_softmax(0).square(), |r| vec![vec![normal(r, &[3, 4])], vec![normal(r, &[5])]];
        // Movement.
        "reshape": |v| { let y = v[0].reshape(&[2, 6]); y * y }, |r| vec![vec![normal(r, &[3, 4])], vec![normal(r, &[12])]];
        "permute": |v| { let y = v[0].permute(&[2, 0, 1]); y * y.exp() }, |r| vec![vec![normal(r, &[2, 3, 4])]];
        "transpose": |v| { let y = v[0].t(); y * y.exp() }, |r| vec![vec![normal(r, &[3, 4])]];
        "broadcast_to": |v| { let y = v[0].broadcast_to(&[2, 3, 4]); y * y }, |r| vec![vec![normal(r, &[3, 1])], vec![normal(r, &[])]];
        "slice": |v| { let y = v[0].slice(-1, 1, 5, 2) + v[0].slice(-1, 0, 2, 1); (y * y).sum() + v[0].slice(0, 1, 2, 1).exp().sum() }, |r| vec![vec![normal(r, &[3, 5])], vec![normal(r, &[2, 3, 4])]];
        "slice_scatter": |v| { let y = v[0].slice_scatter(v[1], 1, 0, 4, 2); y * y }, |r| vec![vec![normal(r, &[3, 4]), normal(r, &[3, 2])]];
        "concat": |v| { let y = Var::concat(&[v[0], v[1], v[0]], 1); y * y.exp() }, |r| vec![vec![normal(r, &[2, 3]), normal(r, &[2, 1])]];
        "stack_split_chunk": |v| {
            let parts = v[0].split(2, 1);
            let chunks = v[0].chunk(2, 0);
            Var::stack(&[parts[0], parts[1]], -1).square().sum() + (Var::stack(&chunks, 0) * v[0].sum()).tanh().sum()
        }, |r| vec![vec![normal(r, &[4, 5])]];
        "narrow_squeeze": |v| { let y = v[0].narrow(0, 1, 1).squeeze(0).unsqueeze(-1); y * y.exp() }, |r| vec![vec![normal(r, &[3, 4])]];
        "flatten_tile": |v| { let y = v[0].flatten(1, -1).tile(&[2, 1]); (y * y.exp()).sum() + v[0].tile(&[2]).square().sum() }, |r| vec![vec![normal(r, &[2, 3, 2])]];
        "pad": |v| { let y = v[0].pad(&[(1, 0), (2, 1)], 0.5); y * y.exp() }, |r| vec![vec![normal(r, &[2, 3])]];
        // Convolution and pooling (im2col).
        "unfold_fold": |v| { let c = v[0].unfold2d((2, 2), (1, 1)); (c * c.tanh()).sum() + c.fold2d((3, 4), (2, 2), (1, 1)).tanh().square().sum() }, |r| vec![vec![normal(r, &[2, 2, 3, 4])]];
        "conv2d": |v| v[0].conv2d(v[1], Some(v[2]), (2, 1), (1, 2)).tanh(), |r| vec![vec![normal(r, &[2, 3, 5, 4]), normal(r, &[2, 3, 3, 2]), normal(r, &[2])]];
        "max_pool2d": |v| v[0].max_pool2d((2, 2), (2, 1), (1, 0)).square(), |r| vec![vec![distinct(r, &[1, 2, 4, 5], 0.1)]];
        "avg_pool2d": |v| v[0].avg_pool2d((3, 2), (1, 2), (1, 1)).square(), |r| vec![vec![normal(r, &[2, 1, 4, 4])]];
        // Indexing and selection.
        "gather": |v| { let y = v[0].gather(1, &ndarray::array![[2, 0, 2], [1, 1, 0], [3, 3, 3]]); y * y }, |r| vec![vec![normal(r, &[3, 4])]];
        "scatter_add": |v| { let y = v[0].scatter_add(0, &ndarray::array![[1, 0], [1, 2]], v[1]); y * y.exp() }, |r| vec![vec![normal(r, &[3, 2]), normal(r, &[2, 2])]];
        "index_select": |v| { let y = v[0].index_select(-1, &[3, 0, 3]); y * y.exp() }, |r| vec![vec![normal(r, &[2, 3, 4])]];
        "take_rows": |v| { let y = v[0].take_rows(&[2, 0, 2, 1]); y * y }, |r| vec![vec![normal(r, &[3, 2])]];
        "scatter_rows": |v| { let y = v[0].scatter_rows(4, &[3, 0, 3]); y * y }, |r| vec![vec![normal(r, &[3, 2])]];
        "where": |v| {
            let mask = ndarray::array![[true, false, true, false]];
            v[0].where_(mask, v[1]) * v[0]
        }, |r| vec![vec![normal(r, &[3, 4]), normal(r, &[3, 1])]];
        // Linear algebra.
        "matmul": |v| { let y = v[0].matmul(v[1]); y * y }, |r| vec![
            vec![matrix(r, 3, 4), matrix(r, 4, 2)],
            vec![matrix(r, 1, 5), matrix(r, 5, 1)],
            vec![normal(r, &[2, 3, 4]), normal(r, &[2, 4, 2])],
            vec![normal(r, &[3, 4]), normal(r, &[2, 4, 2])],
            vec![normal(r, &[2, 1, 3, 4]), normal(r, &[3, 4, 2])],
            vec![normal(r, &[4]), normal(r, &[4, 3])],
            vec![normal(r, &[3, 4]), normal(r, &[4])],
            vec![normal(r, &[4]), normal(r, &[4])],
            vec![normal(r, &[4]), normal(r, &[2, 4, 3])],
        ];
        "outer": |v| { let y = v[0].outer(v[1]); y * y }, |r| vec![vec![normal(r, &[3]), normal(r, &[4])]];
        // Custom ops.
        "custom": |v| v[0].custom(Hypot, &[v[1]]), |r| vec![vec![positive(r, &[2, 3]), positive(r, &[2, 3])]];
        // Added last so that the cases above keep their random inputs. A gather whose index covers only some
        // of the source's rows (not the one-for-one rows of the fast path).
        "gather_some_rows": |v| { let y = v[0].gather(2, &ndarray::array![[[3, 0, 3], [1, 2, 2]], [[0, 0, 1], [2, 3, 1]]]); y * y.exp() }, |r| vec![vec![normal(r, &[2, 3, 4])]];
        // A constant sparse matrix times a dense node, and its transpose's product (each other's backward).
        "sparse_matmul": |v| { let y = sparse_constant().matmul(v[0]); y * y }, |r| vec![
            vec![matrix(r, 4, 3)],
            vec![matrix(r, 4, 1)],
        ];
        "sparse_matmul_t": |v| { let y = sparse_constant().transpose_matmul(v[0]); y * y.exp() }, |r| vec![
            vec![matrix(r, 5, 2)],
        ];
    }
}
