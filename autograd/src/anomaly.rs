//! Anomaly detection: find the first NaN or infinity, and the line of code that made it.
//!
//! Off by default. Switched on ([`Tape::with_anomaly_detection`], [`Tape::set_anomaly_detection`]), the tape
//! records where each op was created (the `#[track_caller]` chain from [`Var`]'s methods and operators ends at
//! the user's line) and checks every value it computes:
//!
//! - **Forward**: a define-by-run op computes its value when it is called, and the call returns a [`Var`], so
//!   there is no `Result` to return: the op **panics** at once, at the caller's line, with a message such as
//!   `anomaly: log produced -inf at src/main.rs:12:17 (input shapes [3])`. Leaves are the user's data and are
//!   not checked; the first op fed a non-finite leaf is reported, and the message names the input that already
//!   held the bad value. Ops that make infinities on purpose (adding a `-inf` mask) are reported too: switch
//!   detection off around them.
//! - **Backward**: every gradient is checked as it is accumulated. [`Var::try_backward`] (and its `_with_seed`
//!   and `_graph` siblings) return the first bad one as an [`AnomalyError`]; [`Var::backward`] panics with the
//!   same message. The error names the op whose backward rule produced the gradient and where that op was
//!   created.
//!
//! With detection off the tape stores no locations, and each recorded node pays one test of a flag.
//!
//! ```
//! use autograd::Tape;
//!
//! let tape = Tape::<f64>::with_anomaly_detection();
//! let x = tape.var(0.0);
//! let y = x.sqrt(); // √0 = 0 is fine, but its slope 1/(2√x) is infinite
//! let Err(err) = y.try_backward() else { panic!("√x has an infinite slope at 0") };
//! assert_eq!(err.op, "sqrt");
//! assert!(err.to_string().starts_with("anomaly: backward of sqrt produced inf (gradient of input 0) at "));
//! assert_eq!(err.location.unwrap().line(), line!() - 4);
//! ```

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::Location;

use crate::ops::Op;
use crate::{Float, Operand, Tape, Value, Var};

/// The tape's anomaly-detection state. Locations are recorded only while detection is on.
#[derive(Default)]
pub(crate) struct Anomaly {
    enabled: Cell<bool>,
    /// Forward checks are paused while a graph-building backward pass records gradients: those are checked as
    /// gradients, with a message about the backward rule rather than the engine line that recorded them.
    paused: Cell<bool>,
    /// `(node id, creation site)`, in increasing id order.
    locations: RefCell<Vec<(usize, &'static Location<'static>)>>,
}

impl Anomaly {
    /// True when detection is on.
    #[inline]
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.get()
    }

    /// Checks the value of the op about to become node `id`, panicking at the caller's line when it is not
    /// finite, and records that line.
    #[cold]
    #[inline(never)]
    #[track_caller]
    pub(crate) fn check_forward<T: Float>(
        &self,
        id: usize,
        op: &Op<T>,
        inputs: &[Operand<'_, T>],
        value: &Value<T>,
    ) {
        let location = Location::caller();
        if !self.paused.get() {
            if let Some(found) = value.non_finite() {
                let error = AnomalyError {
                    pass: Pass::Forward,
                    op: op.to_string(),
                    node: id,
                    found,
                    input: None,
                    input_shapes: inputs.iter().map(|v| v.shape().to_vec()).collect(),
                    non_finite_inputs: non_finite_inputs(inputs),
                    location: Some(location),
                };
                panic!("{error}");
            }
        }
        self.locations.borrow_mut().push((id, location));
    }

    fn location(&self, id: usize) -> Option<&'static Location<'static>> {
        let locations = self.locations.borrow();
        let k = locations.binary_search_by_key(&id, |&(i, _)| i).ok()?;
        Some(locations[k].1)
    }
}

fn non_finite_inputs<T: Float>(inputs: &[Operand<'_, T>]) -> Vec<(usize, NonFinite)> {
    let found = inputs.iter().map(|v| v.non_finite());
    found
        .enumerate()
        .filter_map(|(k, f)| Some((k, f?)))
        .collect()
}

/// Checks gradients during one backward pass; exists only while anomaly detection is on.
pub(crate) struct Checker<'a, T: Float> {
    tape: &'a Tape<T>,
    was_paused: bool,
}

impl<'a, T: Float> Checker<'a, T> {
    /// A checker for a backward pass on `tape`, or `None` when detection is off.
    pub(crate) fn new(tape: &'a Tape<T>) -> Option<Self> {
        tape.anomaly.is_enabled().then(|| Checker {
            tape,
            was_paused: tape.anomaly.paused.replace(true),
        })
    }

    /// Checks `grad`, the gradient of node `input` after node `node`'s backward rule added to it.
    pub(crate) fn gradient(
        &self,
        node: usize,
        input: usize,
        grad: &impl Finite,
    ) -> Result<(), AnomalyError> {
        let Some(found) = grad.non_finite() else {
            return Ok(());
        };
        Err(self.tape.with_nodes(|nodes| {
            let n = &nodes[node];
            let inputs: Vec<Operand<'_, T>> =
                n.inputs.iter().map(|&j| nodes[j].value.operand()).collect();
            AnomalyError {
                pass: Pass::Backward,
                op: n.op.to_string(),
                node,
                found,
                input: n.inputs.iter().position(|&j| j == input),
                input_shapes: inputs.iter().map(|v| v.shape().to_vec()).collect(),
                non_finite_inputs: non_finite_inputs(&inputs),
                location: self.tape.anomaly.location(node),
            }
        }))
    }
}

impl<T: Float> Drop for Checker<'_, T> {
    fn drop(&mut self) {
        self.tape.anomaly.paused.set(self.was_paused);
    }
}

/// Returns the value, or panics at the caller's line with the anomaly's message.
#[track_caller]
pub(crate) fn or_panic<R>(result: Result<R, AnomalyError>) -> R {
    match result {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// Values that anomaly detection checks: numbers and arrays, or nodes holding them.
pub(crate) trait Finite {
    /// The first non-finite element, if any.
    fn non_finite(&self) -> Option<NonFinite>;
}

impl<T: Float> Finite for Value<T> {
    fn non_finite(&self) -> Option<NonFinite> {
        self.operand().non_finite()
    }
}

impl<T: Float> Finite for Operand<'_, T> {
    fn non_finite(&self) -> Option<NonFinite> {
        match self.array() {
            None => NonFinite::of(self.num()),
            Some(a) => a.iter().find_map(|&x| NonFinite::of(x)),
        }
    }
}

impl<T: Float> Finite for Var<'_, T> {
    fn non_finite(&self) -> Option<NonFinite> {
        self.tape().with_node(self.id(), |n| n.value.non_finite())
    }
}

/// Which non-finite value was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonFinite {
    /// Not a number, e.g. `0 · ∞` or `∞ − ∞`.
    NaN,
    /// Positive infinity, e.g. `e¹⁰⁰⁰` or `1/0`.
    Inf,
    /// Negative infinity, e.g. `ln 0`.
    NegInf,
}

impl NonFinite {
    fn of<T: Float>(x: T) -> Option<Self> {
        if x.is_nan() {
            Some(NonFinite::NaN)
        } else if x.is_infinite() {
            Some(if x > T::zero() {
                NonFinite::Inf
            } else {
                NonFinite::NegInf
            })
        } else {
            None
        }
    }
}

/// Prints `NaN`, `inf` or `-inf`, as Rust prints the numbers.
impl fmt::Display for NonFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NonFinite::NaN => "NaN",
            NonFinite::Inf => "inf",
            NonFinite::NegInf => "-inf",
        })
    }
}

/// The pass in which an anomaly was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// An op's value.
    Forward,
    /// A gradient produced by an op's backward rule.
    Backward,
}

/// The first NaN or infinity found in anomaly-detection mode: which op produced it, in which pass, and where
/// that op was created.
///
/// Its `Display` is the one-line message also used for panics, e.g.
/// `anomaly: × produced NaN at src/main.rs:9:13 (input shapes [], []; input 1 held inf)`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AnomalyError {
    /// Forward (the op's value) or backward (a gradient from the op's backward rule).
    pub pass: Pass,
    /// The op's label, as drawn in graphs: `exp`, `×`, `log`, `sqrt`, …
    pub op: String,
    /// The op's node id.
    pub node: usize,
    /// What was found.
    pub found: NonFinite,
    /// Backward: the input (by position) whose gradient was bad; `None` for forward anomalies.
    pub input: Option<usize>,
    /// The shapes of the op's inputs.
    pub input_shapes: Vec<Vec<usize>>,
    /// Inputs (by position) whose values were already not finite, e.g. a leaf holding `inf`.
    pub non_finite_inputs: Vec<(usize, NonFinite)>,
    /// Where the op was created; `None` when it was recorded before anomaly detection was switched on.
    pub location: Option<&'static Location<'static>>,
}

impl fmt::Display for AnomalyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, found) = (&self.op, self.found);
        match (self.pass, self.input) {
            (Pass::Backward, Some(k)) => write!(
                f,
                "anomaly: backward of {op} produced {found} (gradient of input {k})"
            )?,
            _ => write!(f, "anomaly: {op} produced {found}")?,
        }
        match self.location {
            Some(at) => write!(f, " at {at}")?,
            None => write!(
                f,
                " at node {} (recorded before anomaly detection was switched on)",
                self.node
            )?,
        }
        let shapes: Vec<String> = self.input_shapes.iter().map(|s| format!("{s:?}")).collect();
        write!(f, " (input shapes {}", shapes.join(", "))?;
        for (k, bad) in &self.non_finite_inputs {
            write!(f, "; input {k} held {bad}")?;
        }
        write!(f, ")")
    }
}

impl std::error::Error for AnomalyError {}

impl<T: Float> Tape<T> {
    /// An empty tape with anomaly detection on (see [`set_anomaly_detection`](Tape::set_anomaly_detection)).
    pub fn with_anomaly_detection() -> Self {
        let tape = Self::new();
        tape.set_anomaly_detection(true);
        tape
    }

    /// Switches anomaly detection on or off for the nodes recorded from now on and for backward passes.
    ///
    /// While on, every op records the source line that created it, a forward value that is NaN or infinite
    /// panics at that line, and a bad gradient makes [`Var::try_backward`] return an [`AnomalyError`] (and
    /// [`Var::backward`] panic with its message). It costs a location per node and a scan of every value; off,
    /// it costs nothing measurable.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// tape.set_anomaly_detection(true);
    /// let x = tape.var(0.0);
    /// let log = std::panic::AssertUnwindSafe(|| x.log()); let line = line!();
    /// let message = *std::panic::catch_unwind(log).unwrap_err().downcast::<String>().unwrap();
    /// assert!(message.starts_with("anomaly: log produced -inf at "));
    /// assert!(message.contains(&format!(":{line}:")) && message.ends_with("(input shapes [])"));
    /// ```
    pub fn set_anomaly_detection(&self, on: bool) {
        self.anomaly.enabled.set(on);
    }

    /// True while anomaly detection is on.
    pub fn is_anomaly_detection_enabled(&self) -> bool {
        self.anomaly.is_enabled()
    }
}

impl<T: Float> Var<'_, T> {
    /// Where the op that made this node was called, when it was recorded with anomaly detection on; `None`
    /// for leaves and for nodes recorded with detection off.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::with_anomaly_detection();
    /// let x = tape.var(2.0);
    /// let y = x.exp(); let line = line!();
    /// assert_eq!(y.created_at().unwrap().line(), line);
    /// assert!(x.created_at().is_none());
    /// ```
    pub fn created_at(self) -> Option<&'static Location<'static>> {
        self.tape().anomaly.location(self.id())
    }
}
