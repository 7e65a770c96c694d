//! Ops composed from primitives. Each is a [`Var`](crate::Var) method with no rule of its own: its value and
//! its derivatives (of any order, in both modes) come from the primitives it records, so it needs no
//! separate check beyond the function itself (`tests/common/cases.rs` checks each anyway).
//!
//! | file | methods |
//! | --- | --- |
//! | `reduce.rs` | reductions over any axes: `sum_axes`, `mean_axes`, `max_axes`, `min_axes`, `var`, `std`, `norm`; `argmax`, `argmin` |
//! | `softmax.rs` | `logsumexp`, `softmax`, `log_softmax` (stable for any logits) |
//! | `conv.rs` | `conv2d`, `max_pool2d`, `avg_pool2d` (im2col through `unfold2d`) |
//! | `shape.rs` | `squeeze`, `unsqueeze`, `flatten`, `narrow`, `split`, `chunk`, `stack`, `pad`, `tile`, `index_select` |

mod conv;
mod reduce;
mod shape;
mod softmax;
